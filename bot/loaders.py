"""Loading roster and menu files into the store, and seeding the demo with sample data."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from bot.roster import RowError, read_menu, read_roster
from storage.records import Expert, MenuItem
from storage.store import Store

DEMO = Path(str(resources.files("bot") / "data" / "demo"))


def import_roster(store: Store, path: Path, actor: str) -> tuple[int, int, list[RowError]]:
    """Load a roster file; returns (added, updated, bad rows). Re-import updates by id."""
    result = read_roster(path)
    added = updated = 0
    for row in result.rows:
        old = store.get_expert(row.id)
        expert = Expert(
            id=row.id, name=row.name, phone=row.phone, title=row.title, team=row.team,
            region=row.region, skills=row.skills, tags=row.tags, accounts=row.accounts,
            capacity=row.capacity if row.capacity is not None else (old.capacity if old else 3),
            status=row.status or (old.status if old else "active"),
        )
        if store.upsert_expert(expert, actor):
            added += 1
        else:
            updated += 1
    return added, updated, result.errors


def import_menu(store: Store, path: Path, actor: str) -> tuple[int, list[RowError]]:
    """Load a service menu file; items without a number get the next free one."""
    rows, errors = read_menu(path)
    taken = {m.no for m in store.menu(active_only=False)}
    count = 0
    for row in rows:
        no = row.no if row.no is not None else max(taken, default=0) + 1
        taken.add(no)
        store.upsert_menu_item(
            MenuItem(no, row.title, row.description, row.provider, row.category, row.mode), actor
        )
        count += 1
    return count, errors


def seed(store: Store) -> None:
    """Give an empty demo database the sample experts and service menu."""
    if not store.experts():
        import_roster(store, DEMO / "experts.csv", actor="demo")
    if not store.menu(active_only=False):
        import_menu(store, DEMO / "menu.csv", actor="demo")
