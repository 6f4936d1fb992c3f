"""Choosing the experts to @-mention for an order, from the roster in the store."""

from __future__ import annotations

from dataclasses import dataclass

from storage.records import Expert
from storage.store import Store


@dataclass(frozen=True)
class Suggestion:
    """An expert worth asking, with the reasons shown to people."""

    expert: Expert
    score: float
    reasons: tuple[str, ...]


def suggest(store: Store, text: str, region: str | None = None, top: int = 3,
            exclude: frozenset[str] = frozenset()) -> list[Suggestion]:
    """The active experts whose skills or tags the text names, best first."""
    found: list[Suggestion] = []
    for e in store.experts(active_only=True):
        if e.id in exclude:
            continue
        hits = [s for s in (*e.skills, *e.tags) if s and s in text]
        if not hits:
            continue
        reasons = [f"专长：{'、'.join(dict.fromkeys(hits))}"]
        score = float(len(hits))
        if region and e.region and e.region == region:
            reasons.append(f"同在{region}")
            score += 0.5
        found.append(Suggestion(e, score, tuple(reasons)))
    found.sort(key=lambda s: (-s.score, s.expert.id))
    return found[:top]
