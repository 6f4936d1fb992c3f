"""Loading roster and menu files into the store, and seeding the demo with sample data."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from bot.roster import RowError, account_taken, read_menu, read_roster
from bot.text.normalize import normalize
from bot.text.regions import find_region
from storage.records import Expert, MenuItem
from storage.roster_store import AccountTaken
from storage.store import Store

DEMO = Path(str(resources.files("bot") / "data" / "demo"))


def import_roster(store: Store, path: Path, actor: str) -> tuple[int, int, list[RowError]]:
    """Load a roster file; returns (added, updated, refused rows by line). Re-import updates
    by id. A row giving an account another expert holds (in the database, or from an earlier
    row of the file) is refused: the holder keeps it. Rows load in order, so a file may move
    an account from one expert to another by listing the giver first."""
    result = read_roster(path, refuse_repeated_accounts=False)
    errors = list(result.errors)
    stored: dict[str, int] = {}  # expert id → its line in this file, once stored
    added = updated = 0
    for row in result.rows:
        old = store.get_expert(row.id)
        expert = Expert(
            id=row.id, name=row.name, phone=row.phone, title=row.title, team=row.team,
            region=row.region, skills=row.skills, tags=row.tags, accounts=row.accounts,
            capacity=row.capacity if row.capacity is not None else (old.capacity if old else 3),
            status=row.status or (old.status if old else "active"),
        )
        try:
            new = store.upsert_expert(expert, actor)
        except AccountTaken as exc:
            why = account_taken(exc.account, exc.holder.id, exc.holder.name)
            where = stored.get(exc.holder.id)
            errors.append(RowError(row.line, why + (f"（第 {where} 行）" if where else "")))
            continue
        stored[row.id] = row.line
        if new:
            added += 1
        else:
            updated += 1
    return added, updated, sorted(errors, key=lambda e: e.line)


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
    """Give an empty demo database the sample experts and service menu, and tell it who is
    in the demo's group chats (as a platform would, by the messages it sees)."""
    if not store.experts():
        import_roster(store, DEMO / "experts.csv", actor="demo")
    if not store.menu(active_only=False):
        import_menu(store, DEMO / "menu.csv", actor="demo")
    directory = json.loads((DEMO / "directory.json").read_text(encoding="utf-8"))
    for user in directory.get("users", []):  # the enterprise contacts' roster
        org = str(user.get("org") or "")
        account = f"local:{user['id']}"
        if org and store.contact_of(account) is None:
            store.set_contact(account, str(user.get("name", "")), org,
                              find_region(normalize(org)), actor="demo")
    for chat in directory.get("chats", []):
        if chat.get("type") == "group":
            store.saw("local", str(chat["id"]), tuple(str(m) for m in chat.get("members", [])))
