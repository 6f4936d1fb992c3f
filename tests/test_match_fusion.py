"""The fusion's pool of a big roster: the same experts, however it is computed."""

from __future__ import annotations

import builtins
import heapq
import random
from typing import Any

import pytest

from bot.text.match_fusion import pool


def by_heap(sem: list[float], fit: list[float], gram: list[float], size: int) -> list[int]:
    """The pool as first written: the `size` best by each signal, ties to the earlier."""
    n = len(sem)
    if n <= size:
        return list(range(n))
    keep = set(heapq.nlargest(size, range(n), key=sem.__getitem__))
    for signal in (fit, gram):
        keep.update(heapq.nlargest(size, (i for i in range(n) if signal[i] > 0.0),
                                   key=signal.__getitem__))
    return sorted(keep)


def rosters(count: int) -> list[tuple[list[float], list[float], list[float], int]]:
    rnd = random.Random(3)
    out = []
    for _ in range(count):
        n, size = rnd.randint(1, 400), rnd.randint(1, 60)

        # many ties, zeros and negatives, as real signals have
        sem, fit, gram = ([rnd.choice((0.0, 0.1, 0.5, -0.1)) if rnd.random() < 0.5
                           else round(rnd.random(), 2) for _ in range(n)] for _ in range(3))
        out.append((sem, fit, gram, size))
    return out


def test_the_pool_is_the_same_experts_as_by_heaps() -> None:
    cases = rosters(2000)
    assert sum(len(s) > size for s, _, _, size in cases) > 1500  # most are pooled
    for sem, fit, gram, size in cases:
        assert pool(sem, fit, gram, size) == by_heap(sem, fit, gram, size)


def test_without_numpy_the_pool_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builtins.__import__

    def no_numpy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "numpy":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numpy)
    for sem, fit, gram, size in rosters(200):
        assert pool(sem, fit, gram, size) == by_heap(sem, fit, gram, size)
