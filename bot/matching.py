"""Choosing the experts to @-mention for an order: the matcher over the store's roster."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from bot.text.match import ExpertProfile, Match, Matcher
from storage.records import Expert, MenuItem
from storage.store import Store


@dataclass(frozen=True)
class Suggestion:
    """An expert worth asking, with the reasons shown to people."""

    expert: Expert
    score: float
    reasons: tuple[str, ...]


def _profile(e: Expert, today: date, menu: list[MenuItem], history: list[str],
             load: int) -> ExpertProfile:
    offered = [f"{m.title} {m.description}" for m in menu
               if m.active and m.provider in (e.id, e.name, e.team) and m.provider]
    return ExpertProfile(
        id=e.id, name=e.name, skills=e.skills, tags=e.tags, title=e.title, team=e.team,
        region=e.region, bio="；".join(offered), history=tuple(history),
        capacity=max(e.capacity, 1), open_load=load, active=e.available(today),
    )


class Routing:
    """Keeps a Matcher in step with the roster: rebuilt when the roster or menu changes
    (also by another process, e.g. `diandan experts import`), loads refreshed per query."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._version: tuple[str, date] | None = None
        self._matcher: Matcher | None = None
        self._profiles: dict[str, ExpertProfile] = {}
        self._experts: dict[str, Expert] = {}

    def _fresh(self) -> Matcher:
        today = self.store.clock.now().date()
        version = (self.store.roster_version(), today)
        if self._matcher is None or version != self._version:
            self._rebuild(today)
            self._version = version
        assert self._matcher is not None
        loads = self.store.open_loads()
        for eid, p in self._profiles.items():
            load = loads.get(eid, 0)
            if load != p.open_load:
                self._profiles[eid] = replace(p, open_load=load)
                self._matcher.update(self._profiles[eid])
        return self._matcher

    def _rebuild(self, today: date) -> None:
        experts = self.store.experts()
        menu = self.store.menu()
        history = self.store.served_texts()
        loads = self.store.open_loads()
        self._experts = {e.id: e for e in experts}
        self._profiles = {
            e.id: _profile(e, today, menu, history.get(e.id, []), loads.get(e.id, 0))
            for e in experts
        }
        self._matcher = Matcher(list(self._profiles.values()))

    def learned(self, expert_ids: list[str], text: str) -> None:
        """An order these experts served was completed: learn from it now."""
        if self._matcher is None:
            return
        for eid in expert_ids:
            p = self._profiles.get(eid)
            if p is not None:
                self._profiles[eid] = replace(p, history=(text, *p.history)[:20])
                self._matcher.update(self._profiles[eid])

    def rank(self, text: str, region: str | None = None, top: int = 3,
             exclude: frozenset[str] = frozenset()) -> list[Match]:
        return self._fresh().rank(text, region, top, exclude)

    def suggest(self, text: str, region: str | None = None, top: int = 3,
                exclude: frozenset[str] = frozenset()) -> list[Suggestion]:
        """The experts to @-mention for an order, best first, with their reasons."""
        return [Suggestion(self._experts[m.id], m.score, m.reasons)
                for m in self.rank(text, region, top, exclude) if m.id in self._experts]
