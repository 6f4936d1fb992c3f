"""Store: typed methods over the SQLite file; the only code that names tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from storage.admin_store import AdminMixin
from storage.attachments import AttachmentsMixin
from storage.base import json_tuple, parse_ts, ts
from storage.contacts import ContactsMixin
from storage.delivery import DeliveryMixin
from storage.inbox_store import InboxMixin
from storage.lexicon_store import LexiconMixin
from storage.members import MembersMixin
from storage.records import NewOrder, Order, OrderState, Session
from storage.replicas import ReplicasMixin
from storage.roster_store import RosterMixin
from storage.schema import SERVING
from storage.vector_cache import VectorCacheMixin

_DATED = {
    OrderState.COMPLETED: "completed_at",
    OrderState.RATED: "rated_at",
    OrderState.CANCELLED: "ended_at",
    OrderState.CLOSED: "ended_at",
}


class Store(DeliveryMixin, AdminMixin, RosterMixin, MembersMixin, InboxMixin, ReplicasMixin,
            AttachmentsMixin, ContactsMixin, LexiconMixin, VectorCacheMixin):
    """All reads and writes of the bot's state. Every change also writes an event."""

    # -- inbound dedupe ---------------------------------------------------------------------

    def seen(self, platform: str, msg_id: str) -> str | None:
        """The ref stored for an already handled message, or None if it is new."""
        row = self.db.execute(
            "SELECT ref FROM inbound WHERE platform = ? AND msg_id = ?", [platform, msg_id]
        ).fetchone()
        return None if row is None else str(row[0] or "")

    def claim_once(self, kind: str, key: str) -> bool:
        """Record `key` of `kind` (e.g. a signed callback's timestamp); True the first time
        only, also across restarts."""
        with self.tx():
            cur = self.db.execute(
                "INSERT INTO inbound (platform, msg_id, at, ref) VALUES (?, ?, ?, '') "
                "ON CONFLICT DO NOTHING",
                [kind, key, ts(self.clock.now())])
        return cur.rowcount == 1

    def mark_seen(self, platform: str, msg_id: str, ref: str = "") -> bool:
        """Record a message as handled; False when it already was (another process won the
        race to it: the unique key decides)."""
        with self.tx():
            cur = self.db.execute(
                "INSERT INTO inbound (platform, msg_id, at, ref) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [platform, msg_id, ts(self.clock.now()), ref],
            )
        return cur.rowcount == 1

    # -- orders -----------------------------------------------------------------------------

    def create_order(self, new: NewOrder, actor: str) -> Order:
        now = ts(self.clock.now())
        with self.tx():
            rows = self._rows(
                """INSERT INTO orders (created_at, updated_at, state, platform, chat_id,
                chat_kind, requester, requester_name, text, summary, enterprise, contact, phone,
                deadline, urgent, category, service_type, region, menu_no, private)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING *""",
                [
                    now, now, OrderState.OPEN.value, new.platform, new.chat_id, new.chat_kind,
                    new.requester, new.requester_name, new.text, new.summary, new.enterprise,
                    new.contact, new.phone, new.deadline.isoformat() if new.deadline else None,
                    int(new.urgent), new.category, new.service_type, new.region, new.menu_no,
                    int(new.private),
                ],
            )
            order = self._order(rows[0])  # as stored, defaults included
            self._event(actor, "order.created", order.no, summary=new.summary,
                        chat=new.chat_id)
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
        limit: int = 100, offset: int = 0, scope: str = "", public: bool = False,
        excellent: bool = False,
    ) -> tuple[list[Order], int]:
        """Orders matching every given filter, newest first, and how many match in all;
        only those an admin `scope` covers (see Order.in_scope), and no private ones when
        `public`."""
        where: list[str] = []
        args: list[Any] = []
        kind, _, within = scope.partition(":")
        if scope and kind == "group":
            where.append("chat_id = ?")
            args.append(within)
        elif scope:  # a region: its name within the order's region (no scope matches nothing)
            where.append("instr(coalesce(region, ''), ?) > 0 AND ? != '' AND ? = 'region'")
            args.extend([within, within, kind])
        if public:
            where.append("private = 0")
        if excellent:
            where.append("excellent = 1")
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
            "INSERT INTO order_experts (order_no, expert_id, role, joined_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (order_no, expert_id) DO UPDATE SET "
            "role = excluded.role, joined_at = excluded.joined_at",
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
                "WHERE no = ? RETURNING id",
                [no, at, mode, hours, suggestions, beneficiaries, json.dumps(experts), note,
                 actor, len(experts), no],
            )
            sid = int(cur.fetchone()[0])
            for eid in experts:
                self.db.execute(
                    "INSERT INTO session_experts (session_id, expert_id, team, at, "
                    "hours, beneficiaries) SELECT ?, ?, (SELECT team FROM experts WHERE id = ?),"
                    " ?, ?, ? ON CONFLICT DO NOTHING",
                    [sid, eid, eid, at, hours or 0.0, beneficiaries or 0])
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

    def last_enterprise(self, requester: str) -> tuple[str, str | None] | None:
        """The enterprise (and the order's region) of `requester`'s latest group order that
        named one (a 1:1 request is a worker's own: it names no enterprise to reuse)."""
        row = self.db.execute(
            "SELECT enterprise, region FROM orders WHERE requester = ? AND enterprise IS NOT "
            "NULL AND enterprise != '' AND private = 0 ORDER BY no DESC LIMIT 1",
            [requester]).fetchone()
        return (str(row[0]), row[1]) if row else None

    def open_load(self, expert_id: str) -> int:
        """How many unfinished orders an expert serves (lead or assist)."""
        # SQLite's planner is told the two indexes; PostgreSQL's finds them itself.
        hint = self.db.kind == "sqlite"
        row = self.db.execute(
            "SELECT count(*) FROM order_experts oe "
            + ("INDEXED BY idx_order_experts_expert_order " if hint else "")
            + "JOIN orders o " + ("INDEXED BY idx_orders_serving " if hint else "")
            + f"ON o.no = oe.order_no WHERE oe.expert_id = ? AND o.{SERVING}",
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
