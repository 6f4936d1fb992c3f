"""When the matcher asks the embedding, and how its similarities join the lexical fit."""

from __future__ import annotations

from collections.abc import Mapping

from bot.text.match_vectors import Nearest

# The embedding is asked when the lexical ranking is unsure: the best fit is weak (the order
# is in plain words the profiles and lexicon do not share), or the runner-up is within
# CASCADE_MARGIN (share of the best fit) of it.
CASCADE_WEAK = 0.35
CASCADE_MARGIN = 0.15
# Weight of the embedding: W_SEM for a weak lexical fit; W_TIE among strong near-ties, small
# enough that a same-county or same-city expert stays first when the skills fit equally.
W_SEM = 0.45
W_TIE = 0.03
# An expert within SEM_GAP cosine of the closest profile gains up to the weight, scaled by
# how clearly the closest profile stands out from the roster (z-score from Z_LO to Z_HI).
SEM_GAP = 0.03
Z_LO, Z_HI = 1.0, 2.5
# With no lexical fit at all, the closest profile must stand out this much to be shown, as a
# z-score and in cosine above the roster mean (greetings and notices mostly stay under it).
Z_ALONE = 1.8
GAP_ALONE = 0.02
SEM_TOP = 10    # experts at most that gain from the embedding in one query


def weight(fits: Mapping[str, float]) -> float:
    """How much the embedding may add for these lexical fits; 0.0 means do not ask it."""
    first = second = 0.0
    for v in fits.values():
        if v > first:
            first, second = v, first
        elif v > second:
            second = v
    if first < CASCADE_WEAK:
        return W_SEM
    if second > (1.0 - CASCADE_MARGIN) * first:
        return W_TIE
    return 0.0


def boosts(near: Nearest, lexical_fit: bool, weight: float = W_SEM) -> dict[str, float]:
    """The fit each expert gains from the embedding (empty when it says nothing clear)."""
    if near.size < 2 or not near.top:
        return {}
    top = max(near.top.values())
    z = (top - near.mean) / (near.sd or 1.0)
    if not lexical_fit and (z < Z_ALONE or top - near.mean < GAP_ALONE):
        return {}
    conf = min(1.0, max(0.0, (z - Z_LO) / (Z_HI - Z_LO)))
    if conf <= 0.0:
        return {}
    return {eid: weight * conf * (1.0 - (top - s) / SEM_GAP)
            for eid, s in near.top.items() if s > top - SEM_GAP}
