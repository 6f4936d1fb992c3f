"""Position-preserving text normalisation: full-width ASCII to half-width, controls to spaces,
traditional characters to simplified ones (for reading; the original is kept for display)."""

from __future__ import annotations

import re
from importlib import resources

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


def _traditional() -> dict[int, str]:
    """Traditional → simplified, character by character (OpenCC's TSCharacters table, its
    preferred reading of each: 點單 → 点单, 聯繫 → 联系, 鄭經理 → 郑经理): one character for one
    character, so positions still cut the original text."""
    path = resources.files("opencc") / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        source, _, targets = line.partition("\t")
        first = targets.split(" ")[0] if targets else ""
        if len(source) == 1 and len(first) == 1 and first != source:
            table[ord(source)] = first
    return table


_TABLE.update({cp: ch for cp, ch in _traditional().items() if cp not in _TABLE})

# Leading @-mentions, with a call for attention before them (在吗 @匠心点单 …).
_MENTION = re.compile(r"^(?:\s*(?:在吗|在不在|有人吗)[\s,，!！?？~。]*(?=@))?"
                      r"(?:\s*@[^\s@]{1,20}(?:[\s\u2005]+|$))+")


def simplified(text: str) -> str:
    """The text with traditional characters read as simplified ones (and the rest of the
    position-preserving table: full-width forms, controls)."""
    return text.translate(_TABLE)


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
