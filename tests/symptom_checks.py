"""Shared checks of the symptom-rule tests (tests/test_symptoms_*.py): which specialty a request
reads strongest, near misses, roster lines, and that a family's cases try every specialty its
rule file names or defines (`family_tests` binds them all for one family file), and that older
specialties keep the roster items they held (`keep_tests`)."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from bot.text.match_lexicon import Lexicon, default_lexicon

SYMPTOMS = Path(__file__).resolve().parent.parent / "bot" / "data" / "symptoms"


def strongest(text: str, lexicon: Lexicon | None = None) -> set[str]:
    """The specialties the request reads with the highest weight (empty if none), by the
    shipped lexicon or the one given."""
    specs = (lexicon or default_lexicon()).read(text).specs
    best = max(specs.values(), default=0.0)
    return {s for s, v in specs.items() if v == best and best > 0.0}


def assert_family_tried(family: str, reads: Sequence[tuple[str, str]],
                        near: Sequence[tuple[str, str]]) -> None:
    """Every specialty the rules of symptoms/<family>.toml name, or the file defines, is a known
    one, with at least two requests read as it and one near-miss that must not be."""
    data = tomllib.loads((SYMPTOMS / f"{family}.toml").read_text("utf-8"))
    named = {r["spec"] for r in data["symptom"]} | set(data.get("specialty", {}))
    assert named <= set(default_lexicon().specialties)
    for spec in named:
        assert sum(s == spec for s, _ in reads) >= 2, spec
        assert any(s == spec for s, _ in near), spec


def assert_reads_as(spec: str, text: str, *, by_rule: bool = True) -> None:
    """The request reads `spec` as its single strongest specialty; with `by_rule`, at full
    weight (a rule or a term, not cues alone)."""
    specs = default_lexicon().read(text).specs
    assert strongest(text) == {spec}, specs
    if by_rule:
        assert specs[spec] >= 0.99, specs


def assert_not_read_as(spec: str, text: str, share: float = 1.0) -> None:
    """A near miss: `spec` is not the request's strongest reading nor tied for it, and weighs
    at most `share` of the strongest."""
    specs = default_lexicon().read(text).specs
    best, mine = max(specs.values(), default=0.0), specs.get(spec, 0.0)
    assert mine == 0.0 or (mine < best and mine <= share * best), (spec, specs)


def assert_roster_holds(spec: str, items: str | Sequence[str]) -> None:
    """An expert with these 专长/标签 items holds `spec` fully, and nothing more strongly."""
    held = default_lexicon().profile_specs([items] if isinstance(items, str) else items)
    assert held.get(spec, 0.0) >= 1.0, held
    assert max(held.values()) == held[spec], held


Case = tuple[str, str]
Roster = Sequence[tuple[str, str]] | Sequence[tuple[str, list[str]]]


def assert_still_held(item: str, spec: str) -> None:
    """A roster item an older specialty held keeps it fully after a new family came."""
    assert default_lexicon().profile_specs([item]).get(spec, 0.0) >= 1.0


def keep_tests(kept: Sequence[tuple[str, str]]) -> Callable[..., None]:
    """The test that items existing specialties held before a family keep them: the new
    specialties take only their own longer words. Bind it to a test_* name."""

    @pytest.mark.parametrize(("item", "spec"), kept)
    def keeps(item: str, spec: str) -> None:
        assert_still_held(item, spec)

    return keeps


def family_tests(family: str, reads: Sequence[Case], near: Sequence[Case],
                 roster: Roster = (), *, by_rule: bool = True,
                 near_share: float = 1.0) -> tuple[Callable[..., None], ...]:
    """The tests of symptoms/<family>.toml, to bind to test_* names in its test module:
    requests read as their specialty, near misses not, roster lines hold the specialties it
    defines, and every specialty it names or defines is tried both ways."""

    @pytest.mark.parametrize(("spec", "text"), reads)
    def reads_as(spec: str, text: str) -> None:
        assert_reads_as(spec, text, by_rule=by_rule)

    @pytest.mark.parametrize(("spec", "text"), near)
    def near_misses(spec: str, text: str) -> None:
        assert_not_read_as(spec, text, near_share)

    @pytest.mark.parametrize(("spec", "items"), roster)
    def roster_lines(spec: str, items: str | list[str]) -> None:
        assert_roster_holds(spec, items)

    def tried() -> None:
        assert_family_tried(family, reads, near)
        if roster:
            defined = tomllib.loads((SYMPTOMS / f"{family}.toml").read_text("utf-8"))
            assert set(defined.get("specialty", {})) <= {s for s, _ in roster}

    return (reads_as, near_misses, roster_lines, tried) if roster else (
        reads_as, near_misses, tried)
