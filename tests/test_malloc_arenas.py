"""The bot limits glibc's malloc arenas (resident memory with many worker threads)."""

from __future__ import annotations

import platform

from bot.app import limit_malloc_arenas


def test_malloc_arenas_are_limited_where_glibc_allows_it() -> None:
    assert limit_malloc_arenas() is (platform.libc_ver()[0] == "glibc")
