"""Checking what admins add to the routing knowledge (CLI, dashboard): sizes and shapes."""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_ITEMS = 30   # terms or symptoms in one addition
MAX_CHARS = 40   # characters of one name, term or symptom
_CLEAN = re.compile(r"\s+")


class LexiconError(ValueError):
    """An addition that cannot be taken; the message is for the admin (Chinese)."""


def _one(text: str) -> str:
    return _CLEAN.sub(" ", text).strip()


def check_addition(name: str, terms: list[str], symptoms: list[str]
                   ) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The cleaned (name, terms, symptoms), or LexiconError saying what is wrong."""
    name = _one(name)
    kept_terms = tuple(dict.fromkeys(t for t in map(_one, terms) if t))
    kept_symptoms = tuple(dict.fromkeys(s for s in map(_one, symptoms) if s))
    if not name:
        raise LexiconError("请写专长名称（--name）")
    if not kept_terms and not kept_symptoms:
        raise LexiconError("请至少写一条名单里的写法（--term）或问题说法（--symptom）")
    if len(kept_terms) > MAX_ITEMS or len(kept_symptoms) > MAX_ITEMS:
        raise LexiconError(f"一次最多 {MAX_ITEMS} 条写法、{MAX_ITEMS} 条说法")
    for text in (name, *kept_terms, *kept_symptoms):
        if len(text) > MAX_CHARS:
            raise LexiconError(f"每条最多 {MAX_CHARS} 个字：{text[:MAX_CHARS]}…")
    return name, kept_terms, kept_symptoms


def unknown_specialties(skills: Iterable[str],
                        added: Iterable[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = ()
                        ) -> list[str]:
    """The roster's specialties that neither the symptom lexicon nor the taxonomy (with what
    admins added) knows: routing reads them only by their words and the embedding, so the
    admins are told and may add how workers describe their problems."""
    from bot.text.match_lexicon import default_lexicon
    from bot.text.match_taxonomy import Entry, default_taxonomy, extended

    taxonomy = extended(default_taxonomy(), (Entry(n, f, t, s) for n, f, t, s in added))
    lexicon = default_lexicon()
    out: list[str] = []
    for skill in dict.fromkeys(s.strip() for s in skills if s.strip()):
        if not taxonomy.for_skills((skill,)) and not lexicon.profile_specs((skill,), ""):
            out.append(skill)
    return out
