"""Shared checks of the symptom-rule tests (tests/test_symptoms_*.py): which specialty a request
reads strongest, and that a family's cases try every specialty its rule file names."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path

from bot.text.match_lexicon import default_lexicon

SYMPTOMS = Path(__file__).resolve().parent.parent / "bot" / "data" / "symptoms"


def strongest(text: str) -> set[str]:
    """The specialties the request reads with the highest weight (empty if none)."""
    specs = default_lexicon().read(text).specs
    best = max(specs.values(), default=0.0)
    return {s for s, v in specs.items() if v == best and best > 0.0}


def assert_family_tried(family: str, reads: Sequence[tuple[str, str]],
                        near: Sequence[tuple[str, str]]) -> None:
    """Every specialty named by the rules of symptoms/<family>.toml is a known one, with at
    least two requests read as it and one near-miss that must not be."""
    rules = tomllib.loads((SYMPTOMS / f"{family}.toml").read_text("utf-8"))["symptom"]
    named = {r["spec"] for r in rules}
    assert named <= set(default_lexicon().specialties)
    for spec in named:
        assert sum(s == spec for s, _ in reads) >= 2, spec
        assert any(s == spec for s, _ in near), spec
