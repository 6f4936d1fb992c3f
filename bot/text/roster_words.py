"""Splitting a list of words as people type them: 焊接、氩弧焊；不锈钢,PLC."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[;；、,，/\s]+")


def split_words(text: str) -> tuple[str, ...]:
    """The non-empty words of `text`, in order, without repeats."""
    return tuple(dict.fromkeys(w for w in _SEPARATORS.split(text) if w))
