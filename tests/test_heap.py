"""The C heap under the bot: fewer malloc arenas, and freed memory handed back."""

from __future__ import annotations

import platform

import pytest

from bot.heap import limit_malloc_arenas, trim_heap
from bot.text import match_vectors
from bot.text.match_embed import CachedEmbedder
from bot.text.match_vectors import SemanticIndex
from tests.test_match_semantic import ConceptEmbedder

GLIBC = platform.libc_ver()[0] == "glibc"


def test_malloc_arenas_are_limited_where_glibc_allows_it() -> None:
    assert limit_malloc_arenas() is GLIBC


def _anon_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssAnon:"))


def test_freed_blocks_between_live_ones_go_back_to_the_system() -> None:
    """Blocks freed between blocks still in use stay resident until the heap is trimmed:
    what a rebuilt index leaves behind."""
    blocks = [bytes(1500) + i.to_bytes(4, "little") for i in range(24_000)]  # ~36 MB
    kept = blocks[::16]  # one in sixteen lives on, pinning the heap's pages around it
    del blocks
    before = _anon_kib() if GLIBC else 0
    assert trim_heap() is GLIBC
    if GLIBC:
        assert before - _anon_kib() > 16 * 1024  # most of the freed 34 MB went back
    assert len(kept) == 1500


def test_an_index_built_from_vectors_read_one_by_one_trims_the_heap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("numpy")
    calls: list[int] = []

    def trim() -> bool:
        calls.append(1)
        return True

    monkeypatch.setattr(match_vectors, "trim_heap", trim)
    model = ConceptEmbedder()
    index = SemanticIndex(CachedEmbedder(model))
    for i in range(40):
        index.put(f"e{i}", f"专家{i} 焊接", [f"薄板焊接{i}", f"管道焊接{i}"])
    assert index.embed_pending() == 40
    one = 40 * 3 * 4 * 5  # 40 profiles of three vectors, 4-byte floats, 5 dimensions
    monkeypatch.setattr(match_vectors, "TRIM_FROM_BYTES", one // 4)
    index.search("焊接变形", 3)  # the first build stacks 120 loose vectors
    assert calls == [1]
    index.put("e0", "专家0 焊接", ["薄板焊接0", "鱼塘增氧"])  # one profile changed
    assert index.embed_pending() == 1
    index.search("焊接变形", 3)  # the rest are rows already: too little freed to trim
    assert calls == [1]
    # Its vectors, read back through the rows the build gave it.
    assert index.closest_item("e0", model.embed(["水产"], query=True)[0]) == "鱼塘增氧"
    assert index.closest_item("e1", model.embed(["焊工"], query=True)[0]) == "薄板焊接1"
