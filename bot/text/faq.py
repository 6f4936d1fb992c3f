"""Answers to common questions (收费吗, 怎么报名当志愿专家…) from an editable data file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.text.normalize import normalize

DEFAULT = Path(__file__).resolve().parent.parent / "data" / "faq.toml"


@dataclass(frozen=True)
class Entry:
    """One common question: the words that ask it, and the answer."""

    ask: tuple[str, ...]
    answer: str


@cache
def entries(path: str = "") -> tuple[Entry, ...]:
    """The entries of a FAQ file (the packaged one by default); a file that cannot be read
    gives none (the bot then answers as if it had no FAQ)."""
    try:
        data = tomllib.loads(Path(path or DEFAULT).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ()
    out = []
    for item in data.get("faq", []):
        if not isinstance(item, dict):
            continue
        ask = tuple(normalize(str(a)).lower() for a in item.get("ask", []) if str(a).strip())
        answer = str(item.get("answer", "")).strip()
        if ask and answer:
            out.append(Entry(ask, answer))
    return tuple(out)


def answer(text: str, path: str = "") -> str | None:
    """The answer to a common question `text` asks, or None."""
    norm = normalize(text).lower()
    for entry in entries(path):
        if any(a in norm for a in entry.ask):
            return entry.answer
    return None
