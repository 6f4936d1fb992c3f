"""The routing floor: a lexicon-free baseline the ranker must never score below, tier by tier.

Per query, 0.8 × z(e5 cosine) + 0.2 × z(character 1–3-gram TF-IDF), both over each expert's
专长 and 标签 (z = standardised over the roster for that query). No region, load or lexicon.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bot.text.match_embed import Embedder
from bot.text.normalize import normalize

E5_WEIGHT, NGRAM_WEIGHT = 0.8, 0.2


def _grams(text: str) -> Counter[str]:
    chars = [c for c in normalize(text) if not c.isspace() and c not in "，,；;、。.:：()（）"]
    out: Counter[str] = Counter()
    for n in (1, 2, 3):
        for i in range(len(chars) - n + 1):
            out["".join(chars[i:i + n])] += 1
    return out


def _z(values: Sequence[float]) -> list[float]:
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
    return [(v - mean) / sd for v in values]


class Floor:
    """The baseline ranker over a roster CSV (the Contracts' Chinese headers)."""

    def __init__(self, roster: Path, embedder: Embedder) -> None:
        with roster.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        self.ids = [r["编号"] for r in rows]
        docs = [f"{r.get('专长', '')} {r.get('标签', '')}" for r in rows]
        self.embedder = embedder
        self.vectors = [list(v) for v in embedder.embed(docs, query=False)]
        counts = [_grams(d) for d in docs]
        df: Counter[str] = Counter(g for c in counts for g in c)
        self.idf = {g: math.log((1 + len(docs)) / (1 + k)) + 1 for g, k in df.items()}
        self.docs = [self._weigh(c) for c in counts]

    def _weigh(self, counts: Counter[str]) -> dict[str, float]:
        vec = {g: (1 + math.log(k)) * self.idf.get(g, 0.0) for g, k in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {g: v / norm for g, v in vec.items()}

    def rank(self, text: str, top: int = 3) -> list[str]:
        """The `top` expert ids for an order text."""
        [q] = self.embedder.embed([text], query=True)
        cos = [sum(a * b for a, b in zip(q, v, strict=True)) for v in self.vectors]
        query = self._weigh(_grams(text))
        tfidf = [sum(w * doc.get(g, 0.0) for g, w in query.items()) for doc in self.docs]
        score = [E5_WEIGHT * a + NGRAM_WEIGHT * b for a, b in zip(_z(cos), _z(tfidf),
                                                                  strict=True)]
        order = sorted(range(len(self.ids)), key=lambda i: -score[i])
        return [self.ids[i] for i in order[:top]]
