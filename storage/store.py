"""Store: typed methods over the SQLite file; the only code that names tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from storage.admin_store import AdminMixin
from storage.base import json_tuple, parse_ts, ts
from storage.delivery import DeliveryMixin
from storage.records import Expert, MenuItem, NewOrder, Order, OrderState, Session

_DATED = {
    OrderState.COMPLETED: "completed_at",
    OrderState.RATED: "rated_at",
    OrderState.CANCELLED: "ended_at",
    OrderState.CLOSED: "ended_at",
}


class Store(DeliveryMixin, AdminMixin):
    """All reads and writes of the bot's state. Every change also writes an event."""

    # -- inbound dedupe ---------------------------------------------------------------------

    def seen(self, platform: str, msg_id: str) -> str | None:
        """The ref stored for an already handled message, or None if it is new."""
        row = self.db.execute(
            "SELECT ref FROM inbound WHERE platform = ? AND msg_id = ?", [platform, msg_id]
        ).fetchone()
        return None if row is None else str(row[0] or "")

    def mark_seen(self, platform: str, msg_id: str, ref: str = "") -> None:
        with self.tx():
            self.db.table("inbound").insert(
                {"platform": platform, "msg_id": msg_id, "at": ts(self.clock.now()), "ref": ref}
            )

    # -- orders -----------------------------------------------------------------------------

    def create_order(self, new: NewOrder, actor: str) -> Order:
        now = ts(self.clock.now())
        with self.tx():
            cur = self.db.execute(
                """INSERT INTO orders (created_at, updated_at, state, platform, chat_id,
                chat_kind, requester, requester_name, text, summary, enterprise, contact, phone,
                deadline, urgent, category, service_type, region, menu_no, private)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                [
                    now, now, OrderState.OPEN.value, new.platform, new.chat_id, new.chat_kind,
                    new.requester, new.requester_name, new.text, new.summary, new.enterprise,
                    new.contact, new.phone, new.deadline.isoformat() if new.deadline else None,
                    int(new.urgent), new.category, new.service_type, new.region, new.menu_no,
                    int(new.private),
                ],
            )
            no = int(cur.lastrowid or 0)
            self._event(actor, "order.created", no, summary=new.summary, chat=new.chat_id)
        order = self.get_order(no)
        assert order is not None
        return order

    def get_order(self, no: int) -> Order | None:
        rows = self._rows("SELECT * FROM orders WHERE no = ?", [no])
        return self._order(rows[0]) if rows else None

    def orders(
        self,
        states: Sequence[OrderState] = (),
        lead: str | None = None,
        requester: str | None = None,
        limit: int = 50,
    ) -> list[Order]:
        where: list[str] = []
        args: list[Any] = []
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(s.value for s in states)
        if lead is not None:
            where.append("lead = ?")
            args.append(lead)
        if requester is not None:
            where.append("requester = ?")
            args.append(requester)
        sql = "SELECT * FROM orders" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._rows(sql + " ORDER BY no DESC LIMIT ?", [*args, limit])
        return [self._order(r) for r in rows]

    def search_orders(
        self, *, states: Sequence[str] = (), category: str | None = None,
        region: str | None = None, text: str | None = None, expert: str | None = None,
        since: datetime | None = None, until: datetime | None = None,
        limit: int = 100, offset: int = 0,
    ) -> tuple[list[Order], int]:
        """Orders matching every given filter, newest first, and how many match in all."""
        where: list[str] = []
        args: list[Any] = []
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(states)
        for column, value in (("category", category), ("region", region)):
            if value:
                where.append(f"{column} LIKE ?")
                args.append(f"%{value}%")
        if text:
            where.append("(text LIKE ? OR enterprise LIKE ? OR contact LIKE ? OR summary LIKE ?)")
            args.extend([f"%{text}%"] * 4)
        if expert:
            where.append("no IN (SELECT order_no FROM order_experts WHERE expert_id = ?)")
            args.append(expert)
        if since:
            where.append("created_at >= ?")
            args.append(ts(since))
        if until:
            where.append("created_at < ?")
            args.append(ts(until))
        cond = " WHERE " + " AND ".join(where) if where else ""
        total = int(self.db.execute(f"SELECT count(*) FROM orders{cond}", args).fetchone()[0])
        rows = self._rows(f"SELECT * FROM orders{cond} ORDER BY no DESC LIMIT ? OFFSET ?",
                          [*args, limit, offset])
        return [self._order(r) for r in rows], total

    def reminder_candidates(self, now: datetime, window: timedelta) -> list[Order]:
        """Orders a reminder may concern: unfinished ones, and those completed within
        `window` before `now` (older ones were asked to rate long ago)."""
        rows = self._rows(
            "SELECT * FROM orders WHERE state IN ('open', 'claimed', 'scheduled') UNION ALL "
            "SELECT * FROM orders WHERE state = 'completed' AND completed_at >= ? "
            "AND completed_at <= ?", [ts(now - window), ts(now)])
        return [self._order(r) for r in rows]

    def claim(self, no: int, expert_id: str, actor: str) -> bool:
        """Make `expert_id` the lead of an open order; False if someone was first."""
        now = ts(self.clock.now())
        with self.tx():
            cur = self.db.execute(
                "UPDATE orders SET state = ?, lead = ?, claimed_at = ?, updated_at = ?, "
                "first_claimed_at = coalesce(first_claimed_at, ?) WHERE no = ? AND state = ?",
                [OrderState.CLAIMED.value, expert_id, now, now, now, no,
                 OrderState.OPEN.value],
            )
            if cur.rowcount != 1:
                return False
            self._join(no, expert_id, "lead")
            self._event(actor, "order.claimed", no, expert=expert_id)
        return True

    def _join(self, no: int, expert_id: str, role: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO order_experts (order_no, expert_id, role, joined_at) "
            "VALUES (?, ?, ?, ?)",
            [no, expert_id, role, ts(self.clock.now())],
        )

    def team_of(self, no: int) -> list[tuple[str, str]]:
        """The experts serving an order as (expert id, "lead" | "assist"), lead first."""
        rows = self.db.execute(
            "SELECT expert_id, role FROM order_experts WHERE order_no = ? "
            "ORDER BY role = 'assist', joined_at",
            [no],
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def transition(self, no: int, from_states: Sequence[OrderState], to: OrderState,
                   actor: str, kind: str, sets: dict[str, Any] | None = None,
                   **data: object) -> bool:
        """Move an order between states atomically; False if it was not in `from_states`."""
        now = ts(self.clock.now())
        values = {"state": to.value, "updated_at": now, **(sets or {})}
        if to in _DATED:  # the date a tally counts this transition by
            values.setdefault(_DATED[to], now)
        assign = ", ".join(f"{k} = ?" for k in values)
        marks = ",".join("?" * len(from_states))
        with self.tx():
            cur = self.db.execute(
                f"UPDATE orders SET {assign} WHERE no = ? AND state IN ({marks})",
                [*values.values(), no, *(s.value for s in from_states)],
            )
            if cur.rowcount != 1:
                return False
            self._event(actor, kind, no, **data)
        return True

    def update_order(self, no: int, actor: str, kind: str, sets: dict[str, Any],
                     **data: object) -> None:
        """Change fields of an order without a state change (补充, 进展, announcements)."""
        values = {"updated_at": ts(self.clock.now()), **sets}
        assign = ", ".join(f"{k} = ?" for k in values)
        with self.tx():
            self.db.execute(f"UPDATE orders SET {assign} WHERE no = ?", [*values.values(), no])
            copied = {k: v for k, v in sets.items() if k in ("category", "region", "enterprise")}
            if copied:  # sessions carry these for the tallies
                self.db.execute(
                    f"UPDATE sessions SET {', '.join(f'{k} = ?' for k in copied)} "
                    f"WHERE order_no = ?", [*copied.values(), no])
            self._event(actor, kind, no, **data)

    def assist(self, no: int, expert_id: str, actor: str) -> None:
        with self.tx():
            self._join(no, expert_id, "assist")
            self.db.execute("UPDATE orders SET updated_at = ? WHERE no = ?",
                            [ts(self.clock.now()), no])
            self._event(actor, "order.assisted", no, expert=expert_id)

    def leave(self, no: int, expert_id: str, actor: str, reason: str) -> None:
        """An assisting expert stops assisting."""
        with self.tx():
            self.db.execute("DELETE FROM order_experts WHERE order_no = ? AND expert_id = ?",
                            [no, expert_id])
            self._event(actor, "order.assist_left", no, expert=expert_id, reason=reason)

    def release(self, no: int, expert_id: str, actor: str, reason: str) -> bool:
        """The lead gives an order back: it is open again, assists stay."""
        with self.tx():
            ok = self.transition(
                no, (OrderState.CLAIMED, OrderState.SCHEDULED), OrderState.OPEN, actor,
                "order.released",
                {"lead": None, "claimed_at": None, "visit_at": None, "visit_mode": None},
                expert=expert_id, reason=reason,
            )
            if ok:
                self.db.execute(
                    "DELETE FROM order_experts WHERE order_no = ? AND expert_id = ?",
                    [no, expert_id],
                )
        return ok

    def reassign(self, no: int, expert_id: str, actor: str, reason: str = "") -> bool:
        """An admin makes `expert_id` the lead at once (指派 an open order, 改派 a claimed one)."""
        now = ts(self.clock.now())
        active = (OrderState.OPEN, OrderState.CLAIMED, OrderState.SCHEDULED)
        with self.tx():
            order = self.get_order(no)
            if order is None or order.state not in active:
                return False
            new_state = OrderState.CLAIMED if order.state is OrderState.OPEN else order.state
            self.db.execute("DELETE FROM order_experts WHERE order_no = ? AND expert_id IN (?, ?)",
                            [no, order.lead or "", expert_id])
            self.transition(no, active, new_state, actor, "order.assigned",
                            {"lead": expert_id, "claimed_at": (order.claimed_at and
                             ts(order.claimed_at)) or now},
                            expert=expert_id, previous=order.lead, reason=reason)
            self._join(no, expert_id, "lead")
        return True

    def add_session(self, no: int, actor: str, *, mode: str | None, hours: float | None,
                    suggestions: int | None, beneficiaries: int | None, note: str) -> int:
        """Log one service session with the experts serving the order now."""
        experts = [e for e, _ in self.team_of(no)]
        at = ts(self.clock.now())
        with self.tx():
            cur = self.db.execute(
                "INSERT INTO sessions (order_no, at, mode, hours, suggestions, beneficiaries, "
                "experts, note, actor, n_experts, category, region, enterprise) "
                "SELECT ?,?,?,?,?,?,?,?,?,?, category, region, enterprise FROM orders "
                "WHERE no = ?",
                [no, at, mode, hours, suggestions, beneficiaries, json.dumps(experts), note,
                 actor, len(experts), no],
            )
            sid = int(cur.lastrowid or 0)
            for eid in experts:
                self.db.execute(
                    "INSERT OR IGNORE INTO session_experts (session_id, expert_id, team, at, "
                    "hours, beneficiaries) SELECT ?, ?, (SELECT team FROM experts WHERE id = ?),"
                    " ?, ?, ?", [sid, eid, eid, at, hours or 0.0, beneficiaries or 0])
            self._event(actor, "session.logged", no, session=sid, experts=experts, hours=hours,
                        suggestions=suggestions, beneficiaries=beneficiaries, mode=mode)
        return sid

    def amend_session(self, sid: int, actor: str, **values: Any) -> None:
        """Fill in parts of a session reported later (补充)."""
        sets = {k: v for k, v in values.items() if v is not None}
        if not sets:
            return
        with self.tx():
            self.db.execute(
                f"UPDATE sessions SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                [*sets.values(), sid],
            )
            self.db.execute(
                "UPDATE session_experts SET hours = coalesce(se.hours, 0), "
                "beneficiaries = coalesce(se.beneficiaries, 0) FROM sessions se "
                "WHERE se.id = ? AND session_experts.session_id = se.id", [sid])
            row = self.db.execute("SELECT order_no FROM sessions WHERE id = ?", [sid]).fetchone()
            self._event(actor, "session.amended", row[0] if row else None, session=sid, **sets)

    def sessions(self, no: int) -> list[Session]:
        return [
            Session(r["id"], r["order_no"], datetime.fromisoformat(r["at"]), r["mode"],
                    r["hours"], r["suggestions"], r["beneficiaries"], json_tuple(r["experts"]),
                    r["note"] or "")
            for r in self._rows("SELECT * FROM sessions WHERE order_no = ? ORDER BY id", [no])
        ]

    def open_load(self, expert_id: str) -> int:
        """How many unfinished orders an expert serves (lead or assist)."""
        row = self.db.execute(
            "SELECT count(*) FROM order_experts oe JOIN orders o ON o.no = oe.order_no "
            "WHERE oe.expert_id = ? AND o.state IN ('claimed', 'scheduled')",
            [expert_id],
        ).fetchone()
        return int(row[0])

    @staticmethod
    def _order(r: dict[str, Any]) -> Order:
        created, updated = parse_ts(r["created_at"]), parse_ts(r["updated_at"])
        assert created is not None and updated is not None
        return Order(
            no=r["no"], created_at=created, updated_at=updated, state=OrderState(r["state"]),
            platform=r["platform"], chat_id=r["chat_id"], chat_kind=r["chat_kind"],
            requester=r["requester"], requester_name=r["requester_name"], text=r["text"],
            summary=r["summary"], enterprise=r["enterprise"], contact=r["contact"],
            phone=r["phone"],
            deadline=date.fromisoformat(r["deadline"]) if r["deadline"] else None,
            urgent=bool(r["urgent"]), category=r["category"], service_type=r["service_type"],
            region=r["region"], menu_no=r["menu_no"], lead=r["lead"],
            claimed_at=parse_ts(r["claimed_at"]), private=bool(r["private"]),
            announced=json_tuple(r["announced"]), visit_at=parse_ts(r["visit_at"]),
            visit_mode=r["visit_mode"], active_at=parse_ts(r["active_at"]),
            completed_at=parse_ts(r["completed_at"]), outcome=r["outcome"], rating=r["rating"],
            rating_stars=r["rating_stars"], rating_comment=r["rating_comment"],
            rated_at=parse_ts(r["rated_at"]), ended_at=parse_ts(r["ended_at"]),
            end_reason=r["end_reason"], excellent=bool(r["excellent"]),
            first_claimed_at=parse_ts(r.get("first_claimed_at")),
        )


    # -- experts ----------------------------------------------------------------------------

    def upsert_expert(self, e: Expert, actor: str) -> bool:
        """Add or update one expert and their chat accounts; True when newly added."""
        with self.tx():
            existed = self.get_expert(e.id) is not None
            self.db.table("experts").upsert(
                {
                    "id": e.id, "name": e.name, "phone": e.phone, "title": e.title,
                    "team": e.team, "region": e.region,
                    "skills": json.dumps(list(e.skills), ensure_ascii=False),
                    "tags": json.dumps(list(e.tags), ensure_ascii=False),
                    "capacity": e.capacity, "status": e.status,
                    "updated_at": ts(self.clock.now()),
                },
                pk="id",
            )
            self.db.execute("DELETE FROM expert_accounts WHERE expert_id = ?", [e.id])
            for acc in e.accounts:
                self.db.execute(
                    "INSERT OR REPLACE INTO expert_accounts (account, expert_id) VALUES (?, ?)",
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

    def expert_by_phone(self, phone: str) -> Expert | None:
        digits = "".join(c for c in phone if c.isdigit())
        for e in self.experts():
            if digits and "".join(c for c in e.phone if c.isdigit()).endswith(digits[-11:]):
                return e
        return None

    def open_loads(self) -> dict[str, int]:
        """Unfinished orders per expert (lead or assist)."""
        rows = self.db.execute(
            "SELECT oe.expert_id, count(*) FROM order_experts oe JOIN orders o "
            "ON o.no = oe.order_no WHERE o.state IN ('claimed', 'scheduled') "
            "GROUP BY oe.expert_id").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def served_texts(self, per_expert: int = 5, recent: int = 20_000) -> dict[str, list[str]]:
        """What each expert's latest completed orders asked for, newest first (to learn
        from), among the `recent` latest completions."""
        rows = self.db.execute(
            "SELECT oe.expert_id, coalesce(o.summary, substr(o.text, 1, 120)) FROM "
            "(SELECT no, summary, text FROM orders WHERE completed_at IS NOT NULL "
            "ORDER BY completed_at DESC LIMIT ?) o JOIN order_experts oe ON oe.order_no = o.no",
            [recent]).fetchall()
        out: dict[str, list[str]] = {}
        for eid, text in rows:
            texts = out.setdefault(eid, [])
            if text and len(texts) < per_expert:
                texts.append(text)
        return out

    def roster_version(self) -> str:
        """Changes whenever the roster or the menu changes (to rebuild the matching index)."""
        row = self.db.execute(
            "SELECT max(id) FROM events WHERE kind IN ('expert.added', 'expert.updated', "
            "'expert.status', 'expert.linked', 'menu.updated')").fetchone()
        count = self.db.execute("SELECT count(*) FROM experts").fetchone()
        return f"{row[0]}:{count[0]}"

    def _expert(self, r: dict[str, Any]) -> Expert:
        accounts = self.db.execute(
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
            self.db.table("menu_items").upsert(
                {
                    "no": item.no, "title": item.title, "description": item.description,
                    "provider": item.provider, "category": item.category, "mode": item.mode,
                    "active": int(item.active),
                },
                pk="no",
            )
            self._event(actor, "menu.updated", None, no=item.no, title=item.title)

    def menu(self, active_only: bool = True) -> list[MenuItem]:
        sql = "SELECT * FROM menu_items" + (" WHERE active = 1" if active_only else "")
        return [
            MenuItem(r["no"], r["title"], r["description"] or "", r["provider"] or "",
                     r["category"] or "", r["mode"] or "", bool(r["active"]))
            for r in self._rows(sql + " ORDER BY no")
        ]
