"""The fusion's pool of a big roster: the same experts with numpy's sort as with heaps."""

from __future__ import annotations

import builtins
import random
from typing import Any

import pytest

from bot.text.match_fusion import pool

Roster = tuple[list[float], list[float], list[float], int]


def rosters(count: int) -> list[Roster]:
    rnd = random.Random(3)
    out = []
    for _ in range(count):
        n, size = rnd.randint(1, 400), rnd.randint(1, 60)
        # many ties, zeros and negatives, as real signals have
        sem, fit, gram = ([rnd.choice((0.0, 0.1, 0.5, -0.1)) if rnd.random() < 0.5
                           else round(rnd.random(), 2) for _ in range(n)] for _ in range(3))
        out.append((sem, fit, gram, size))
    return out


def by_heap(cases: list[Roster], monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The pools `pool` picks without numpy: heapq.nlargest by each signal, ties to the
    earlier expert (the pool as first written)."""
    real = builtins.__import__

    def no_numpy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "numpy":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(builtins, "__import__", no_numpy)
        return [pool(*case) for case in cases]


def test_the_pool_is_the_same_experts_as_by_heaps(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = rosters(2000)
    assert sum(len(s) > size for s, _, _, size in cases) > 1500  # most are pooled
    heaps = by_heap(cases, monkeypatch)
    assert [pool(*case) for case in cases] == heaps
    # The heaps' pools are the best by each signal (spot check of the reference itself).
    sem, fit, gram, size = next(c for c in cases if len(c[0]) > 3 * c[3])
    best = sorted(range(len(sem)), key=lambda i: -sem[i])[:size]
    assert set(best) <= set(heaps[cases.index((sem, fit, gram, size))])
