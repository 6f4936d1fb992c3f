"""How the matcher joins its signals when it has the embedding: each standardised per order.

Every signal is turned into a z-score over the roster for the order at hand, then weighed:
no signal wins by default. Where the lexicon is sure of one specialty and the embedding of
another, the weighed sum decides. Weights and thresholds were set on the labelled routing
sets (tests/data/route_cases.jsonl and two retired blind sets; see docs/BENCHMARKS.md).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

W_FIT = 0.10      # the lexical fit: profile n-grams with the lexicon's reading, and history
W_SEM = 0.50      # the embedding: mean of the whole-profile and the best-item cosine
W_GRAM = 0.05     # the profile n-grams alone (the words the order shares with the profile)
W_KIND = 0.05     # the taxonomy entry whose plain words the order shares, if the expert has it
W_PLACE = 0.4     # per level of nearness (same province, city, county): local first on a tie
# Over a pool of thousands the skill scores spread wider (the best stand 4-5 deviations out,
# not 2-3), and two experts of the same craft differ by more than a level of nearness for
# small differences in wording: there nearness counts in proportion to the best skill score
# above this one (chosen on R21 and R22 at scale, where it kept the local expert first on
# every tie; paraphrase top-1 unchanged on five other sets, R20 +1).
PLACE_REF = 2.5
LOAD_Z = 0.3      # lost at a load just below capacity, pro rata
FULL_Z = 1.5      # lost at capacity: a free near-equal goes first
CANDIDATES = 50   # the best by skill weighed for place and load (place lifts 3 levels of nearness)
# On a big roster the signals are standardised over a pool of this many nearest experts by the
# embedding, and as many by the words, not over everyone: over thousands of other trades a
# word shared by chance stands out far more than over a county's roster.
POOL = 300
# The order is routed without hedging when its best skill score stands out this much, unless
# neither the embedding nor the words say much (a trade nobody on the roster has). Over a
# county's roster a little less stands out enough (chosen on the blind sets' rosters: 1.4 hedged
# up to 17% of answerable orders there, most of them ranked right); standardised over a pool
# of thousands, the bar stays higher (there precision, not hedging, is short).
SURE_SKILL = 1.3
SURE_SKILL_POOLED = 1.4
SURE_COS = 0.89
SURE_FIT = 0.15
SURE_SHARE = 0.6  # of the highest skill score a roster this small allows
# A reason quotes the expert's closest item ("语义相近") only when the embedding stands out.
SEM_REASON_Z = 1.5
# ... and the item it names is itself this close to the order (e5 cosine; chosen on the blind
# sets' rosters: it keeps the reason for 70% of the right experts and drops it for 88% of
# those shown for orders nobody on the roster can serve).
SEM_REASON_COS = 0.91
# Second and third places must still fit the order somewhat (z above the roster's mean).
MIN_SHOWN = 0.5


def zscores(values: Sequence[float]) -> list[float]:
    """Each value's distance from the mean in standard deviations (0.0 for a flat list)."""
    n = len(values)
    if n == 0:
        return []
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / n)
    if sd <= 1e-12:
        return [0.0] * n
    return [(v - mean) / sd for v in values]


def skill_scores(fit: Sequence[float], sem: Sequence[float], gram: Sequence[float],
                 kind: Sequence[float] = ()) -> list[float]:
    """How well each expert's skills fit the order, all signals standardised and weighed."""
    out = [W_FIT * a + W_SEM * b + W_GRAM * c
           for a, b, c in zip(zscores(fit), zscores(sem), zscores(gram), strict=True)]
    if kind:
        out = [x + W_KIND * k for x, k in zip(out, zscores(kind), strict=True)]
    return out


def pool(sem: Sequence[float], fit: Sequence[float], gram: Sequence[float],
         size: int) -> list[int]:
    """The experts (indices) the signals are standardised over: everyone on a roster of up
    to `size`, else the `size` nearest by the embedding and the `size` best by each lexical
    signal (those with any)."""
    n = len(sem)
    if n <= size:
        return list(range(n))
    try:
        import numpy as np
    except ImportError:  # the same pool, slower
        keep = set(heapq.nlargest(size, range(n), key=sem.__getitem__))
        for signal in (fit, gram):
            keep.update(heapq.nlargest(size, (i for i in range(n) if signal[i] > 0.0),
                                       key=signal.__getitem__))
        return sorted(keep)
    # A stable sort of the negated values keeps, among equals, the earlier index first, as
    # heapq.nlargest does: the same pool.
    chosen = [np.argsort(-np.asarray(sem, dtype=np.float64), kind="stable")[:size]]
    for signal in (fit, gram):
        arr = np.asarray(signal, dtype=np.float64)
        some = np.flatnonzero(arr > 0.0)
        chosen.append(some[np.argsort(-arr[some], kind="stable")[:size]])
    return sorted(set(np.concatenate(chosen).tolist()))


def is_sure(best_skill: float, top_sem: float, top_fit: float, size: int,
            pooled: bool = False) -> bool:
    """Whether the first expert can be announced without hedging. In a small roster no
    z-score can exceed √(n − 1): there the bar is a share of the highest score possible."""
    most = (W_FIT + W_SEM + W_GRAM) * math.sqrt(max(size - 1, 1))
    bar = min(SURE_SKILL_POOLED if pooled else SURE_SKILL, SURE_SHARE * most)
    return best_skill >= bar and not (top_sem < SURE_COS and top_fit < SURE_FIT)


def nearness_weight(best_skill: float, pooled: bool) -> float:
    """What each level of nearness adds to an expert's score: W_PLACE, or on a big roster
    standardised over a pool, W_PLACE in proportion to the best skill score above PLACE_REF."""
    return W_PLACE * max(1.0, best_skill / PLACE_REF) if pooled else W_PLACE


def load_penalty(open_load: int, capacity: int) -> float:
    """What an expert's load costs in the fused score."""
    cap = max(capacity, 0)
    if open_load >= cap:
        return FULL_Z
    return LOAD_Z * max(open_load, 0) / cap
