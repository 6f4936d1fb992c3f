"""Profile vectors of the roster and the order's similarity to them (numpy when importable)."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from array import array
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.heap import TRIM_FROM_BYTES, trim_heap
from bot.text.match_embed import Embedder, model_id

log = logging.getLogger(__name__)

# Orders are embedded from their head only (cost grows with length; the need comes first).
QUERY_CHARS = 200
# A stored vector checked against the model's for its text is the same above this cosine
# (the same model gives a text nearly the same vector whatever else is in its batch).
SAME_COS = 0.999

# numpy, imported with the first semantic index (the lexical matcher never needs it);
# None means the pure-Python fallback, fine for small rosters and fake embedders.
np: Any = None
_np_tried = False


def _load_numpy() -> None:
    global np, _np_tried
    if not _np_tried:
        _np_tried = True
        try:
            import numpy

            np = numpy
        except ImportError:
            np = None


class VectorCache(Protocol):
    """Where profile vectors outlive the process (the store: bot.stored_vectors): float32
    bytes by model and text key. Only roster texts (profiles, their items and widening
    passages) are ever given to it, never an order's text."""

    def load(self, model: str, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """The vectors kept for these keys (missing ones left out)."""
        ...

    def save(self, model: str, rows: Sequence[tuple[bytes, bytes]]) -> None:
        """Keep these (key, vector) rows; may defer, batch or skip the writing."""
        ...


def text_key(text: str) -> bytes:
    """The key of a profile text's vector: a hash of the exact text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _to_bytes(v: Any) -> bytes:
    if np is not None:
        return bytes(np.asarray(v, dtype=np.float32).tobytes())
    return array("f", v).tobytes()


def _from_bytes(blob: bytes) -> Any:
    if np is not None:
        return np.frombuffer(blob, dtype=np.float32)
    return tuple(array("f", blob))


@dataclass
class Nearest:
    """The order against the roster: the closest experts' similarities, roster statistics."""

    top: dict[str, float] = field(default_factory=dict)  # best `k` experts → cosine
    mean: float = 0.0
    sd: float = 0.0
    size: int = 0
    query: Sequence[float] = ()


@dataclass
class _Doc:
    key: str                        # hash of the texts, to skip unchanged updates
    whole: str
    items: tuple[str, ...]          # skills and tags, then passages that widen the profile
    labels: tuple[str, ...]         # what a reason may name for each item
    vecs: list[Any] | None = None   # whole, then one per item (until the next build)
    rows: array[int] | None = None  # after a build: its row in the whole-profile matrix,
    #                                 then each item's row in the item matrix


def _vec(v: Sequence[float]) -> Any:
    return np.asarray(v, dtype=np.float32) if np is not None else tuple(float(x) for x in v)


class SemanticIndex:
    """Vectors of the roster: one for the whole profile and one per skill/tag.

    An expert's similarity to an order is the mean of the whole-profile cosine and the best
    item cosine. Profiles are embedded by `embed_pending` (the matcher calls it at index time
    for small rosters, and for the candidates it needs on big ones). Items shared by several
    experts (焊接, 电工…) are scored once per order.
    """

    def __init__(self, embedder: Embedder, cache: VectorCache | None = None) -> None:
        _load_numpy()
        self.embedder = embedder
        self.cache = cache
        self.model = model_id(embedder) if cache is not None else ""
        self._size = 0  # bytes of one vector, once known (a stored one of another size misses)
        self._distrust = False  # stored vectors found unlike the model's: not read again
        self._docs: dict[str, _Doc] = {}
        self._pending: dict[str, None] = {}
        self._lock = threading.RLock()
        self._dirty = True
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._whole: Any = None
        self._items: Any = None       # unique item vectors
        self._item_of: Any = None     # per (expert, item) pair: row in _items
        self._owner: Any = None       # per pair: expert row

    def __len__(self) -> int:
        return len(self._docs)

    @property
    def pending(self) -> int:
        """Profiles not embedded yet."""
        return len(self._pending)

    @property
    def ready(self) -> int:
        """Profiles with vectors."""
        return len(self._docs) - len(self._pending)

    def put(self, eid: str, whole: str, items: Iterable[str],
            extra: Iterable[tuple[str, str]] = ()) -> None:
        """Add or replace one profile; unchanged texts keep their vectors. `extra` are
        (label, passage) pairs compared like items, named by their label in reasons."""
        pairs = {i: i for i in items if i}
        for label, text in extra:
            if text and text not in pairs:
                pairs[text] = label
        its, labels = tuple(pairs), tuple(pairs.values())
        key = hashlib.blake2b("\x1f".join((whole, *its, *labels)).encode("utf-8"),
                              digest_size=16).hexdigest()
        with self._lock:
            old = self._docs.get(eid)
            if old is not None and old.key == key:
                return
            self._docs[eid] = _Doc(key, whole, its, labels)
            self._pending[eid] = None
            self._dirty = True

    def remove(self, eid: str) -> None:
        """Forget one profile (no-op if unknown)."""
        with self._lock:
            if self._docs.pop(eid, None) is not None:
                self._pending.pop(eid, None)
                self._dirty = True

    def embed_pending(self, only: Iterable[str] | None = None, limit: int | None = None,
                      batch: int = 64) -> int:
        """Embed pending profiles (all, or those in `only`, at most `limit`); returns count."""
        with self._lock:
            todo = [e for e in (list(self._pending) if only is None else only)
                    if e in self._pending]
        if limit is not None:
            todo = todo[:max(limit, 0)]
        done = 0
        for start in range(0, len(todo), batch):
            with self._lock:
                docs = [(e, self._docs[e]) for e in todo[start:start + batch] if e in self._docs]
            texts: list[str] = []
            for _, d in docs:
                texts.append(d.whole)
                texts.extend(d.items)
            vecs = self._passages(texts) if texts else []
            at = 0
            with self._lock:
                for e, d in docs:
                    n = 1 + len(d.items)
                    if self._docs.get(e) is d:  # not replaced meanwhile
                        d.vecs = vecs[at:at + n]
                        self._pending.pop(e, None)
                        self._dirty = True
                        done += 1
                    at += n
        return done

    def adopt_stored(self) -> int:
        """Give every pending profile whose texts all have stored vectors those vectors, with
        no model call (a big roster a bot has served before, or one warmed by an earlier
        run); returns how many. The rest stay pending, to be embedded."""
        if self.cache is None or self._distrust:
            return 0
        with self._lock:
            docs = [(e, self._docs[e]) for e in self._pending]
        have = self._stored({text_key(t): t for _, d in docs for t in (d.whole, *d.items)})
        done = 0
        with self._lock:
            for e, d in docs:
                blobs = [have.get(text_key(t)) for t in (d.whole, *d.items)]
                if self._docs.get(e) is not d or None in blobs:
                    continue
                d.vecs = [_from_bytes(b) for b in blobs if b is not None]
                self._pending.pop(e, None)
                self._dirty = True
                done += 1
        return done

    def _passages(self, texts: list[str]) -> list[Any]:
        """Vectors of profile texts: from the cache where it has them, the rest from the model
        (each distinct text once), which the cache then keeps. A cached vector is the very
        float32 vector computed before, so rankings are the same whether it was cached. New
        ones go through the embedder's in-memory cache too: a profile text an order's
        prefetch embedded in its thread, or another expert's same item, is found there before
        the store has written it (without it the bot embedded such texts again under its
        writer lock: 39 -> 14 orders/s)."""
        if self.cache is None:
            return [_vec(v) for v in self.embedder.embed(texts, query=False)]
        keys = [text_key(t) for t in texts]
        have = self._stored(dict(zip(keys, texts, strict=True)))
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in have}
        if missing:
            new = [(k, _to_bytes(v)) for k, v in zip(
                missing, self.embedder.embed(list(missing.values()), query=False), strict=True)]
            have.update(new)
            self._size = self._size or len(new[0][1])
            try:
                self.cache.save(self.model, new)
            except Exception:
                log.warning("could not keep profile vectors", exc_info=True)
        return [_from_bytes(have[k]) for k in keys]

    def _stored(self, texts: dict[bytes, str]) -> dict[bytes, bytes]:
        """The stored vectors of these texts (by key) that this model's vectors can stand
        beside: the first ones found are checked against the model (`_check`); none once
        they were found unlike it, or when the store cannot be read."""
        if self.cache is None or self._distrust:
            return {}
        try:
            found = self.cache.load(self.model, list(texts))
        except Exception:  # a cache must never take routing down: embed as without one
            log.warning("could not read stored profile vectors", exc_info=True)
            return {}
        if found and not self._size:
            self._check(found, texts)
        if self._distrust:
            return {}
        return {k: b for k, b in found.items() if len(b) == self._size}

    def _check(self, found: dict[bytes, bytes], texts: dict[bytes, str]) -> None:
        """Before the first stored vectors are used, embed the shortest of their texts and
        compare: vectors of another size, or far from the model's (a model changed under
        the same name), are not used in this index, and the model's replace them."""
        key = min(found, key=lambda k: (len(texts[k]), k))
        fresh = _to_bytes(self.embedder.embed([texts[key]], query=False)[0])
        self._size = len(fresh)
        a, b = array("f", fresh), array("f", found[key])
        norm = math.sqrt(math.fsum(x * x for x in a) * math.fsum(y * y for y in b))
        close = len(a) == len(b) and norm > 0 and \
            math.fsum(x * y for x, y in zip(a, b, strict=True)) / norm >= SAME_COS
        if not close:
            log.warning("stored profile vectors of %s differ from the model's; embedding "
                        "the roster anew", self.model)
            self._distrust = True

    def keys(self) -> set[bytes]:
        """The cache keys of every text of the indexed profiles (what the roster needs)."""
        with self._lock:
            return {text_key(t) for d in self._docs.values() for t in (d.whole, *d.items)}

    def _build(self) -> None:
        ids: list[str] = []
        whole: list[Any] = []
        uniq: dict[str, int] = {}
        items: list[Any] = []
        item_of: list[int] = []
        owner: list[int] = []
        loose = 0  # bytes of vectors held on their own, not rows of the last matrices
        for eid, d in self._docs.items():
            if d.vecs is not None:
                vecs = d.vecs
                if np is not None:
                    loose += sum(v.nbytes for v in vecs)
            elif d.rows is not None:  # rows of the last build's matrices
                vecs = [self._whole[d.rows[0]], *(self._items[r] for r in d.rows[1:])]
            else:
                continue  # not embedded yet
            row = len(ids)
            ids.append(eid)
            whole.append(vecs[0])
            for text, v in zip(d.items, vecs[1:], strict=True):
                j = uniq.setdefault(text, len(items))
                if j == len(items):
                    items.append(v)
                item_of.append(j)
                owner.append(row)
        self._ids, self._pos = ids, {e: i for i, e in enumerate(ids)}
        if np is not None:
            self._whole = np.stack(whole) if whole else np.zeros((0, 1), np.float32)
            self._items = np.stack(items) if items else np.zeros((0, 1), np.float32)
            self._item_of = np.asarray(item_of, dtype=np.intp)
            # Pairs are grouped by expert row: reduce each group from its first pair.
            own = np.asarray(owner, dtype=np.intp)
            starts = np.flatnonzero(np.r_[True, own[1:] != own[:-1]]) if len(own) else own
            self._owner = (own[starts], starts)
            # Each profile's vectors become rows of the matrices, not copies beside them
            # (about 10 MiB for 1,000 experts), nor views of them (1.4 MiB); the next build
            # stacks those rows again.
            for row, eid in enumerate(ids):
                d = self._docs[eid]
                d.rows = array("i", (row, *(uniq[t] for t in d.items)))
                d.vecs = None
            whole.clear()  # the last references to the vectors read one by one
            items.clear()
            if loose >= TRIM_FROM_BYTES:  # thousands of small blocks just freed
                trim_heap()
        else:
            self._whole, self._items, self._item_of, self._owner = whole, items, item_of, owner
        self._dirty = False

    def search(self, text: str, k: int, exclude: Collection[str] = ()) -> Nearest:
        """The `k` embedded experts closest to the order, and the roster's mean and spread."""
        qv = _vec(self.embedder.embed([text[:QUERY_CHARS]], query=True)[0])
        with self._lock:
            if self._dirty:
                self._build()
            ids, pos = self._ids, self._pos
            whole, items, item_of, owner = self._whole, self._items, self._item_of, self._owner
        skip = [pos[e] for e in exclude if e in pos]
        if len(ids) - len(skip) < 1:
            return Nearest(query=qv)
        if np is not None:
            return self._search_np(qv, ids, skip, k, whole, items, item_of, owner)
        return self._search_py(qv, ids, skip, k, whole, items, item_of, owner)

    @staticmethod
    def _search_np(qv: Any, ids: list[str], skip: list[int], k: int, whole: Any, items: Any,
                   item_of: Any, owner: Any) -> Nearest:
        # einsum, not `@`: BLAS threads spin badly on a busy host (8 ms instead of 0.4 for 10k).
        w = np.einsum("ij,j->i", whole, qv)
        best = w.copy()  # an expert without items counts the whole profile twice
        rows, starts = owner
        if len(rows):
            best[rows] = np.maximum.reduceat(np.einsum("ij,j->i", items, qv)[item_of], starts)
        sims = (w + best) / 2.0
        keep = np.ones(len(ids), dtype=bool)
        keep[skip] = False
        vals = sims[keep]
        masked = np.where(keep, sims, -np.inf)
        k = min(k, int(keep.sum()))
        top = np.argpartition(-masked, k - 1)[:k]
        return Nearest({ids[i]: float(sims[i]) for i in top}, float(vals.mean()),
                       float(vals.std()), len(vals), qv)

    @staticmethod
    def _search_py(qv: Any, ids: list[str], skip: list[int], k: int, whole: Any, items: Any,
                   item_of: Any, owner: Any) -> Nearest:
        def dot(a: Sequence[float]) -> float:
            return math.fsum(x * y for x, y in zip(a, qv, strict=True))

        w = [dot(v) for v in whole]
        isims = [dot(v) for v in items]
        best: dict[int, float] = {}
        for j, row in zip(item_of, owner, strict=True):
            best[row] = max(best.get(row, -3.0), isims[j])
        dropped = set(skip)
        sims = {ids[r]: (w[r] + best.get(r, w[r])) / 2.0
                for r in range(len(ids)) if r not in dropped}
        vals = list(sims.values())
        mean = math.fsum(vals) / len(vals)
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in vals) / len(vals))
        top = sorted(sims, key=lambda e: -sims[e])[:k]
        return Nearest({e: sims[e] for e in top}, mean, sd, len(vals), qv)

    def similarities(self, text: str) -> tuple[dict[str, float], Sequence[float]]:
        """Every embedded expert's similarity to the order (the mean of the whole-profile
        cosine and the best item cosine), and the order's vector."""
        qv = _vec(self.embedder.embed([text[:QUERY_CHARS]], query=True)[0])
        with self._lock:
            if self._dirty:
                self._build()
            ids, whole, items = self._ids, self._whole, self._items
            item_of, owner = self._item_of, self._owner
        if not ids:
            return {}, qv
        if np is not None:
            w = np.einsum("ij,j->i", whole, qv)
            best = w.copy()
            rows, starts = owner
            if len(rows):
                best[rows] = np.maximum.reduceat(np.einsum("ij,j->i", items, qv)[item_of],
                                                 starts)
            return dict(zip(ids, ((w + best) / 2.0).tolist(), strict=True)), qv
        near = self._search_py(qv, ids, [], len(ids), whole, items, item_of, owner)
        return near.top, qv

    def closest_item(self, eid: str, qv: Sequence[float], least: float = -1.0) -> str:
        """The expert's skill, tag or widening passage nearest to the order, by its label
        ("" if unknown, or if even the nearest is less similar than `least`)."""
        with self._lock:  # a build replaces the matrices and the rows together
            doc = self._docs.get(eid)
            if doc is None or not doc.items:
                return ""
            if doc.rows is not None:
                items = self._items[np.asarray(doc.rows[1:], dtype=np.intp)]
            elif doc.vecs is not None:
                items = doc.vecs[1:]
            else:
                return ""  # not embedded yet
        if np is not None:
            q = np.asarray(qv, dtype=np.float32)
            sims = np.einsum("ij,j->i", np.asarray(items, dtype=np.float32), q).tolist()
        else:
            sims = [math.fsum(float(x) * float(y) for x, y in zip(v, qv, strict=True))
                    for v in items]
        best = max(range(len(sims)), key=sims.__getitem__)
        return doc.labels[best] if sims[best] >= least else ""
