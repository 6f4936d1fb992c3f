"""The store's roster part: experts, their chat accounts and loads, and the service menu."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from storage.base import StoreBase, json_tuple, ts, upsert
from storage.records import Expert, MenuItem
from storage.schema import SERVING


class AccountTaken(Exception):
    """A chat account another expert already holds: nothing was changed."""

    def __init__(self, account: str, holder: Expert) -> None:
        super().__init__(f"{account} belongs to expert {holder.id}")
        self.account = account
        self.holder = holder


def phone_key(phone: str) -> str:
    """A number as its digits alone, without the +86, 0086 or 86 before a mobile number."""
    digits = "".join(c for c in unicodedata.normalize("NFKC", phone)
                     if c.isascii() and c.isdigit())
    for prefix in ("0086", "86"):
        rest = digits.removeprefix(prefix)
        if rest != digits and len(rest) == 11 and rest.startswith("1"):
            return rest
    return digits


class RosterMixin(StoreBase):
    """Experts and the service menu."""

    # -- experts ----------------------------------------------------------------------------

    def upsert_expert(self, e: Expert, actor: str) -> bool:
        """Add or update one expert and their chat accounts; True when newly added. Raises
        AccountTaken, changing nothing, when another expert holds one of the accounts."""
        with self.tx():
            for account in e.accounts:
                holder = self.expert_by_account(account)
                if holder is not None and holder.id != e.id:
                    raise AccountTaken(account, holder)
            existed = self.get_expert(e.id) is not None
            upsert(
                self.db, "experts", {
                    "id": e.id, "name": e.name, "phone": e.phone, "title": e.title,
                    "team": e.team, "region": e.region,
                    "skills": json.dumps(list(e.skills), ensure_ascii=False),
                    "tags": json.dumps(list(e.tags), ensure_ascii=False),
                    "capacity": e.capacity, "status": e.status,
                    "updated_at": ts(self.clock.now()),
                },
                ("id",),
            )
            self.db.execute("DELETE FROM expert_accounts WHERE expert_id = ?", [e.id])
            for acc in e.accounts:
                self.db.execute(
                    "INSERT INTO expert_accounts (account, expert_id) VALUES (?, ?) "
                    "ON CONFLICT (account) DO UPDATE SET expert_id = excluded.expert_id",
                    [acc, e.id],
                )
            self._event(actor, "expert.updated" if existed else "expert.added", None,
                        expert=e.id, name=e.name)
        return not existed

    def get_expert(self, expert_id: str) -> Expert | None:
        rows = self._rows("SELECT * FROM experts WHERE id = ?", [expert_id])
        return self._expert(rows[0]) if rows else None

    def expert_by_account(self, account: str) -> Expert | None:
        row = self.db.execute(
            "SELECT expert_id FROM expert_accounts WHERE account = ?", [account]
        ).fetchone()
        return None if row is None else self.get_expert(row[0])

    def link_account_if_free(self, expert_id: str, account: str, actor: str) -> None:
        """Link a chat account to an expert and drop its pending link request. Raises
        AccountTaken, changing nothing, when another expert holds the account."""
        with self.tx():
            holder = self.expert_by_account(account)
            if holder is not None and holder.id != expert_id:
                raise AccountTaken(account, holder)
            self.db.execute(
                "INSERT INTO expert_accounts (account, expert_id) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                [account, expert_id])
            self.db.execute("DELETE FROM link_requests WHERE account = ?", [account])
            self._event(actor, "expert.linked", None, expert=expert_id, account=account)

    def experts(self, active_only: bool = False) -> list[Expert]:
        """The roster; with `active_only`, those available today (not paused or on leave)."""
        rows = self._rows("SELECT * FROM experts ORDER BY length(id), id")
        experts = [self._expert(r) for r in rows]
        if active_only:
            today = self.clock.now().date()
            experts = [e for e in experts if e.available(today)]
        return experts

    def set_expert_status(self, expert_id: str, status: str, actor: str) -> None:
        with self.tx():
            self.db.execute("UPDATE experts SET status = ?, updated_at = ? WHERE id = ?",
                            [status, ts(self.clock.now()), expert_id])
            self._event(actor, "expert.status", None, expert=expert_id, status=status)

    def find_experts(self, word: str) -> list[Expert]:
        """Experts whose id or name is `word` exactly, else whose name contains it."""
        exact = [e for e in self.experts() if word in (e.id, e.name)]
        return exact or [e for e in self.experts() if word and word in e.name]

    def experts_by_phone(self, phone: str) -> list[Expert]:
        """The experts registered with exactly this number (+86, spaces and dashes aside)."""
        key = phone_key(phone)
        return [e for e in self.experts() if key and phone_key(e.phone) == key]

    def open_loads(self) -> dict[str, int]:
        """Unfinished orders per expert (lead or assist)."""
        rows = self.db.execute(  # unfinished orders by their state, then each one's experts
            "SELECT oe.expert_id, count(*) FROM order_experts oe JOIN orders o "
            f"ON o.no = oe.order_no WHERE o.{SERVING} GROUP BY oe.expert_id").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def served_texts(self, per_expert: int = 5, recent: int = 20_000
                     ) -> dict[str, list[tuple[str, bool, str]]]:
        """What each expert's latest completed orders asked for (not those rated 不满意), and
        the orders admins gave them (指派, 改派), newest first (to learn from), among the
        `recent` latest of each: (text, private, category) each."""
        rows = self.db.execute(
            "SELECT oe.expert_id, coalesce(o.summary, substr(o.text, 1, 120)), o.private, "
            "coalesce(o.category, '') FROM "
            "(SELECT no, summary, text, private, category FROM orders "
            "WHERE completed_at IS NOT NULL AND coalesce(rating, '') != '不满意' "
            "ORDER BY completed_at DESC LIMIT ?) o "
            "JOIN order_experts oe ON oe.order_no = o.no",
            [recent]).fetchall()
        rows += self.db.execute(
            "SELECT json_extract(e.data, '$.expert'), coalesce(o.summary, substr(o.text, 1, 120)),"
            " o.private, coalesce(o.category, '') FROM "
            "(SELECT order_no, data, id FROM events WHERE kind = 'order.assigned' "
            "ORDER BY id DESC LIMIT ?) e JOIN orders o ON o.no = e.order_no "
            "WHERE o.completed_at IS NULL", [recent]).fetchall()
        out: dict[str, list[tuple[str, bool, str]]] = {}
        for eid, text, private, category in rows:
            texts = out.setdefault(eid, [])
            if text and len(texts) < per_expert:
                texts.append((text, bool(private), category))
        return out

    def avoided_texts(self, per_expert: int = 5, recent: int = 20_000) -> dict[str, list[str]]:
        """The orders each expert gave back (退单) or an admin moved away from them (改派),
        newest first, among the `recent` latest such events."""
        rows = self.db.execute(
            "SELECT CASE e.kind WHEN 'order.released' THEN json_extract(e.data, '$.expert') "
            "ELSE json_extract(e.data, '$.previous') END AS eid, "
            "coalesce(o.summary, substr(o.text, 1, 120)) FROM "
            "(SELECT kind, order_no, data, id FROM events WHERE kind IN ('order.released', "
            "'order.assigned') ORDER BY id DESC LIMIT ?) e JOIN orders o ON o.no = e.order_no",
            [recent]).fetchall()
        out: dict[str, list[str]] = {}
        for eid, text in rows:
            if eid and text:
                texts = out.setdefault(str(eid), [])
                if len(texts) < per_expert:
                    texts.append(str(text))
        return out

    def roster_version(self) -> str:
        """Changes whenever the roster or the menu changes (to rebuild the matching index)."""
        row = self.db.execute(
            "SELECT max(id) FROM events WHERE kind IN ('expert.added', 'expert.updated', "
            "'expert.status', 'expert.linked', 'menu.updated', 'lexicon.added')").fetchone()
        count = self.db.execute("SELECT count(*) FROM experts").fetchone()
        return f"{row[0]}:{count[0]}"

    def _expert(self, r: dict[str, Any]) -> Expert:
        accounts = self.db.execute(
            # In the order linked (rowid: a column of its own on PostgreSQL).
            "SELECT account FROM expert_accounts WHERE expert_id = ? ORDER BY rowid", [r["id"]]
        ).fetchall()
        return Expert(
            id=r["id"], name=r["name"], phone=r["phone"] or "", title=r["title"] or "",
            team=r["team"] or "", region=r["region"] or "", skills=json_tuple(r["skills"]),
            tags=json_tuple(r["tags"]), accounts=tuple(a[0] for a in accounts),
            capacity=r["capacity"] if r["capacity"] is not None else 3,
            status=r["status"] or "active",
        )

    # -- service menu -----------------------------------------------------------------------

    def upsert_menu_item(self, item: MenuItem, actor: str) -> None:
        with self.tx():
            upsert(
                self.db, "menu_items", {
                    "no": item.no, "title": item.title, "description": item.description,
                    "provider": item.provider, "category": item.category, "mode": item.mode,
                    "active": int(item.active),
                },
                ("no",),
            )
            self._event(actor, "menu.updated", None, no=item.no, title=item.title)

    def menu(self, active_only: bool = True) -> list[MenuItem]:
        sql = "SELECT * FROM menu_items" + (" WHERE active = 1" if active_only else "")
        return [
            MenuItem(r["no"], r["title"], r["description"] or "", r["provider"] or "",
                     r["category"] or "", r["mode"] or "", bool(r["active"]))
            for r in self._rows(sql + " ORDER BY no")
        ]
