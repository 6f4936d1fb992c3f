"""Character n-gram TF-IDF index with incremental add/remove, used by the expert matcher."""

from __future__ import annotations

import math
import re
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Mapping
from itertools import compress
from operator import mul
from typing import Generic, TypeVar

from bot.text.normalize import simplified

K = TypeVar("K", bound=Hashable)

# A run of CJK characters, or a run of ASCII letters/digits (kept as one token: PLC, 5S, ISO9001).
_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z0-9][a-z0-9+#.\-]*")
_HAS_LETTER = re.compile(r"[a-z]")

# Relative weight of 1-, 2- and 3-grams: single characters are weak evidence in Chinese.
GRAM_WEIGHTS = (0.35, 1.0, 1.2)

# Removed documents tolerated (or as many as are live) before ids are renumbered.
_MIN_DEAD = 1024
# Shared empty arrays for removed documents and unused grams: never appended to.
_NO_GRAMS: array[int] = array("i")
_NO_DOCS: array[int] = array("i")
_NO_WEIGHTS: array[float] = array("d")


def normalize(text: str) -> str:
    """Full-width to half-width, traditional characters to simplified ones, lower case."""
    return unicodedata.normalize("NFKC", simplified(text)).lower()


def grams(text: str, weight: float = 1.0,
          out: dict[str, float] | None = None) -> dict[str, float]:
    """Weighted character 1–3-grams of the CJK runs and whole ASCII words of `text`."""
    acc: dict[str, float] = {} if out is None else out
    get = acc.get
    w1, w2, w3 = (weight * w for w in GRAM_WEIGHTS)
    for run in _RUNS.findall(normalize(text)):
        if run[0].isascii():
            word = run.strip(".-")
            if _HAS_LETTER.search(word):
                acc[word] = get(word, 0.0) + w3
            continue
        for g in run:
            acc[g] = get(g, 0.0) + w1
        for i in range(len(run) - 1):
            g = run[i:i + 2]
            acc[g] = get(g, 0.0) + w2
        for i in range(len(run) - 2):
            g = run[i:i + 3]
            acc[g] = get(g, 0.0) + w3
    return acc


def sublinear(counts: Mapping[str, float]) -> dict[str, float]:
    """Dampen repeated grams: w → 1 + log w for w ≥ 1."""
    return {g: (1.0 + math.log(w)) if w >= 1.0 else w for g, w in counts.items()}


class NgramIndex(Generic[K]):
    """Inverted index of sublinear-tf gram weights; cosine similarity against a weighted query.

    Document norms use the IDF at the time a document is added and are refreshed for all
    documents once enough changes have accumulated, so updates stay cheap.

    Storage is compact: grams and keys map to small ints, each gram's posting is a pair of
    typed arrays (document ids ascending, weights as doubles), each document a pair of arrays
    (gram ids and weights in its own order). Document ids only grow, so a posting lists its
    documents in the order they were added, as a dict would; ids are renumbered densely once
    many documents have been removed. Ids of grams no document holds any more are reused.
    """

    def __init__(self) -> None:
        # Grams: id ↔ text (unused ids are "" and listed in _free), live document frequency.
        self._gid: dict[str, int] = {}
        self._gram: list[str] = []
        self._free: list[int] = []
        self._df: array[int] = array("i")
        self._pdoc: list[array[int]] = []
        self._pw: list[array[float]] = []
        # Documents by id: key, liveness, gram ids and weights, norm.
        self._ids: dict[K, int] = {}
        self._keys: list[K] = []
        self._live = bytearray()
        self._dg: list[array[int]] = []
        self._dw: list[array[float]] = []
        self._norms: array[float] = array("d")
        self._changes = 0

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def shared(self, gram: str) -> str:
        """The index's own copy of `gram` when it holds one (one string in memory for all
        who keep the gram), else `gram` itself."""
        i = self._gid.get(gram)
        return gram if i is None else self._gram[i]

    def idf(self, gram: str) -> float:
        """Inverse document frequency; near zero for a gram in every document."""
        i = self._gid.get(gram)
        df = 0 if i is None else self._df[i]
        return math.log((len(self._ids) + 1.0) / (df + 0.5))

    def add(self, key: K, counts: Mapping[str, float]) -> None:
        """Add or replace one document given its raw gram counts."""
        if key in self._ids:
            self.remove(key)
        d = self._append(key, counts)
        self._norms[d] = self._norm(d)
        self._changes += 1
        if self._changes > max(32, len(self._ids) // 8):
            self.refresh()

    def add_many(self, items: Iterable[tuple[K, Mapping[str, float]]]) -> None:
        """Bulk load: add every document, then compute all norms once."""
        for key, counts in items:
            if key in self._ids:
                self.remove(key)
            self._append(key, counts)
        self.refresh()

    def remove(self, key: K) -> None:
        """Drop one document (no-op if absent)."""
        d = self._ids.pop(key, None)
        if d is None:
            return
        df, pdoc, pw = self._df, self._pdoc, self._pw
        for i in self._dg[d]:
            left = df[i] - 1
            df[i] = left
            if left:
                post = pdoc[i]
                at = bisect_left(post, d)
                del post[at]
                del pw[i][at]
            else:
                del self._gid[self._gram[i]]
                self._gram[i] = ""
                pdoc[i] = _NO_DOCS
                pw[i] = _NO_WEIGHTS
                self._free.append(i)
        self._live[d] = 0
        self._dg[d] = _NO_GRAMS
        self._dw[d] = _NO_WEIGHTS
        self._changes += 1
        if len(self._keys) - len(self._ids) > max(_MIN_DEAD, len(self._ids)):
            self._renumber()

    def refresh(self) -> None:
        """Recompute every document norm with the current IDF."""
        n1 = len(self._ids) + 1.0
        log = math.log
        idfs = [log(n1 / (df + 0.5)) for df in self._df]
        norms, dg, dw = self._norms, self._dg, self._dw
        sqrt = math.sqrt
        for d, live in enumerate(self._live):
            if live:
                total = 0.0
                for x in map(mul, dw[d], map(idfs.__getitem__, dg[d])):
                    total += x * x
                norms[d] = sqrt(total) or 1.0
        self._changes = 0

    def doc(self, key: K) -> Mapping[str, float]:
        """The stored (sublinear) gram weights of one document."""
        d = self._ids.get(key)
        if d is None:
            return {}
        return dict(zip(map(self._gram.__getitem__, self._dg[d]), self._dw[d], strict=True))

    def search(self, query: Mapping[str, float], max_df: float = 1.0,
               min_len: int = 1, known_only: bool = False) -> dict[K, float]:
        """Cosine similarity of every document sharing a gram with `query` (weights before IDF).

        Grams found in more than `max_df` of the documents, or shorter than `min_len`
        characters, are not scanned (they carry little IDF weight and cost the most); they
        still count in the query's norm. With `known_only`, grams no document holds are left
        out of the query's norm (for small collections such as past orders).
        """
        n_docs = len(self._ids)
        if not n_docs:
            return {}
        n1 = n_docs + 1.0
        limit = max(50, int(max_df * n_docs))
        scores: dict[int, float] = {}
        get = scores.get
        q_norm = 0.0
        gid, dfs, pdoc, pw = self._gid, self._df, self._pdoc, self._pw
        for g, qw in query.items():
            i = gid.get(g)
            df = 0 if i is None else dfs[i]
            if known_only and not df:
                continue
            idf = math.log(n1 / (df + 0.5))
            if idf <= 0.0:
                continue
            qx = qw * idf
            q_norm += qx * qx
            if i is None or not df or df > limit or len(g) < min_len:
                continue
            f = qx * idf
            for d, w in zip(pdoc[i], pw[i], strict=True):
                scores[d] = get(d, 0.0) + f * w
        if not scores:
            return {}
        q_len = math.sqrt(q_norm) or 1.0
        keys, norms = self._keys, self._norms
        return {keys[d]: s / (q_len * norms[d]) for d, s in scores.items()}

    # ── storage ──
    def _append(self, key: K, counts: Mapping[str, float]) -> int:
        """Store a new document (sublinear weights) and its postings; returns its id."""
        d = len(self._keys)
        self._keys.append(key)
        self._ids[key] = d
        self._live.append(1)
        self._norms.append(1.0)
        gid, df, pdoc, pw = self._gid, self._df, self._pdoc, self._pw
        log = math.log
        gs: list[int] = []
        ws: list[float] = []
        for g, c in counts.items():
            w = (1.0 + log(c)) if c >= 1.0 else c  # as in sublinear()
            i = gid.get(g)
            if i is None:
                i = gid[g] = self._new_gram(g)
            pdoc[i].append(d)
            pw[i].append(w)
            df[i] += 1
            gs.append(i)
            ws.append(w)
        self._dg.append(array("i", gs))
        self._dw.append(array("d", ws))
        return d

    def _new_gram(self, gram: str) -> int:
        if self._free:
            i = self._free.pop()
            self._gram[i] = gram
            self._pdoc[i] = array("i")
            self._pw[i] = array("d")
            return i
        self._gram.append(gram)
        self._df.append(0)
        self._pdoc.append(array("i"))
        self._pw.append(array("d"))
        return len(self._gram) - 1

    def _norm(self, d: int) -> float:
        n1 = len(self._ids) + 1.0
        dfs = self._df
        log = math.log
        total = 0.0
        for i, w in zip(self._dg[d], self._dw[d], strict=True):
            x = w * log(n1 / (dfs[i] + 0.5))
            total += x * x
        return math.sqrt(total) or 1.0

    def _renumber(self) -> None:
        """Give the live documents dense ids, in the same order, and drop the removed ones."""
        live = self._live
        remap = [-1] * len(self._keys)
        n = 0
        for d, alive in enumerate(live):
            if alive:
                remap[d] = n
                n += 1
        self._pdoc = [array("i", [remap[d] for d in post]) for post in self._pdoc]
        self._keys = list(compress(self._keys, live))
        self._dg = list(compress(self._dg, live))
        self._dw = list(compress(self._dw, live))
        self._norms = array("d", compress(self._norms, live))
        self._ids = {k: remap[d] for k, d in self._ids.items()}
        self._live = bytearray(b"\x01") * n
