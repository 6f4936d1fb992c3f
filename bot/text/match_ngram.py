"""Character n-gram TF-IDF index with incremental add/remove, used by the expert matcher."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

# A run of CJK characters, or a run of ASCII letters/digits (kept as one token: PLC, 5S, ISO9001).
_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[a-z0-9][a-z0-9+#.\-]*")
_HAS_LETTER = re.compile(r"[a-z]")

# Relative weight of 1-, 2- and 3-grams: single characters are weak evidence in Chinese.
GRAM_WEIGHTS = (0.35, 1.0, 1.2)


def normalize(text: str) -> str:
    """Full-width to half-width, lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def grams(text: str, weight: float = 1.0,
          out: dict[str, float] | None = None) -> dict[str, float]:
    """Weighted character 1–3-grams of the CJK runs and whole ASCII words of `text`."""
    acc: dict[str, float] = {} if out is None else out
    get = acc.get
    for run in _RUNS.findall(normalize(text)):
        if run[0].isascii():
            word = run.strip(".-")
            if _HAS_LETTER.search(word):
                acc[word] = get(word, 0.0) + weight * GRAM_WEIGHTS[2]
            continue
        n_chars = len(run)
        for n in (1, 2, 3):
            w = weight * GRAM_WEIGHTS[n - 1]
            for i in range(n_chars - n + 1):
                g = run[i:i + n]
                acc[g] = get(g, 0.0) + w
    return acc


def sublinear(counts: Mapping[str, float]) -> dict[str, float]:
    """Dampen repeated grams: w → 1 + log w for w ≥ 1."""
    return {g: (1.0 + math.log(w)) if w >= 1.0 else w for g, w in counts.items()}


class NgramIndex(Generic[K]):
    """Inverted index of sublinear-tf gram weights; cosine similarity against a weighted query.

    Document norms use the IDF at the time a document is added and are refreshed for all
    documents once enough changes have accumulated, so updates stay cheap.
    """

    def __init__(self) -> None:
        self._postings: dict[str, dict[K, float]] = {}
        self._docs: dict[K, dict[str, float]] = {}
        self._norms: dict[K, float] = {}
        self._changes = 0

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, key: object) -> bool:
        return key in self._docs

    def idf(self, gram: str) -> float:
        """Inverse document frequency; near zero for a gram in every document."""
        df = len(self._postings.get(gram, ()))
        return math.log((len(self._docs) + 1.0) / (df + 0.5))

    def add(self, key: K, counts: Mapping[str, float]) -> None:
        """Add or replace one document given its raw gram counts."""
        if key in self._docs:
            self.remove(key)
        vec = sublinear(counts)
        self._docs[key] = vec
        for g, w in vec.items():
            self._postings.setdefault(g, {})[key] = w
        self._norms[key] = self._norm(vec)
        self._changes += 1
        if self._changes > max(32, len(self._docs) // 8):
            self.refresh()

    def add_many(self, items: Iterable[tuple[K, Mapping[str, float]]]) -> None:
        """Bulk load: add every document, then compute all norms once."""
        for key, counts in items:
            if key in self._docs:
                self.remove(key)
            vec = sublinear(counts)
            self._docs[key] = vec
            for g, w in vec.items():
                self._postings.setdefault(g, {})[key] = w
        self.refresh()

    def remove(self, key: K) -> None:
        """Drop one document (no-op if absent)."""
        vec = self._docs.pop(key, None)
        if vec is None:
            return
        for g in vec:
            post = self._postings.get(g)
            if post is not None:
                post.pop(key, None)
                if not post:
                    del self._postings[g]
        self._norms.pop(key, None)
        self._changes += 1

    def refresh(self) -> None:
        """Recompute every document norm with the current IDF."""
        self._norms = {k: self._norm(v) for k, v in self._docs.items()}
        self._changes = 0

    def _norm(self, vec: Mapping[str, float]) -> float:
        total = 0.0
        for g, w in vec.items():
            x = w * self.idf(g)
            total += x * x
        return math.sqrt(total) or 1.0

    def doc(self, key: K) -> Mapping[str, float]:
        """The stored (sublinear) gram weights of one document."""
        return self._docs.get(key, {})

    def search(self, query: Mapping[str, float], max_df: float = 1.0,
               min_len: int = 1, known_only: bool = False) -> dict[K, float]:
        """Cosine similarity of every document sharing a gram with `query` (weights before IDF).

        Grams found in more than `max_df` of the documents, or shorter than `min_len`
        characters, are not scanned (they carry little IDF weight and cost the most); they
        still count in the query's norm. With `known_only`, grams no document holds are left
        out of the query's norm (for small collections such as past orders).
        """
        n_docs = len(self._docs)
        if not n_docs:
            return {}
        limit = max(50, int(max_df * n_docs))
        scores: dict[K, float] = {}
        q_norm = 0.0
        for g, qw in query.items():
            post = self._postings.get(g)
            if known_only and not post:
                continue
            idf = self.idf(g)
            if idf <= 0.0:
                continue
            qx = qw * idf
            q_norm += qx * qx
            if not post or len(post) > limit or len(g) < min_len:
                continue
            f = qx * idf
            get = scores.get
            for key, w in post.items():
                scores[key] = get(key, 0.0) + f * w
        if not scores:
            return {}
        q_len = math.sqrt(q_norm) or 1.0
        norms = self._norms
        return {k: s / (q_len * norms[k]) for k, s in scores.items()}
