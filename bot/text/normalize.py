"""Position-preserving text normalisation: full-width ASCII to half-width, controls to spaces."""

from __future__ import annotations

import re

# Longest text the parser reads; the rest of a huge message is ignored.
MAX_CHARS = 4000

_TABLE: dict[int, str] = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}
_TABLE[0x3000] = " "  # ideographic space
for _cp in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]:
    _TABLE[_cp] = " "
_TABLE[ord("\n")] = "\n"
for _cp, _ch in {0x2014: "-", 0x2013: "-", 0x2212: "-", 0xFE63: "-", 0x2010: "-", 0x2011: "-",
                 0x3002: "。", 0xFF61: "。"}.items():
    _TABLE[_cp] = _ch

# Leading @-mentions, with a call for attention before them (在吗 @匠心点单 …).
_MENTION = re.compile(r"^(?:\s*(?:在吗|在不在|有人吗)[\s,，!！?？~。]*(?=@))?"
                      r"(?:\s*@[^\s@]{1,20}(?:[\s\u2005]+|$))+")


def normalize(text: str, limit: int | None = MAX_CHARS) -> str:
    """The first `limit` characters of `text`, full-width ASCII made half-width, controls spaces.

    Each character maps to one character, so a span found in the result cuts the original text.
    """
    return (text if limit is None else text[:limit]).translate(_TABLE)


def mention_prefix(norm: str) -> int:
    """Length of the leading @-mentions (`@匠心点单 `) the platforms leave in the text, with
    a call for attention typed before them (`在吗 @匠心点单 `)."""
    m = _MENTION.match(norm)
    return m.end() if m else 0
