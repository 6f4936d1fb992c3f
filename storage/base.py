"""The store's foundation: connection, clock, transactions, audit events, row helpers."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Any

from bot.model import SHANGHAI, Clock
from storage.db import Database, read_only
from storage.records import Event

WRITER_POLL = 0.002  # seconds between tries for the writer another process holds

__all__ = ["StoreBase", "json_tuple", "parse_ts", "read_only", "ts", "upsert"]


def ts(dt: datetime) -> str:
    """A sortable ISO timestamp in Asia/Shanghai (all stored times share the offset)."""
    return dt.astimezone(SHANGHAI).isoformat(timespec="microseconds")


def parse_ts(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def json_tuple(s: str | None) -> tuple[str, ...]:
    return tuple(json.loads(s)) if s else ()


def upsert(db: Database, table: str, row: dict[str, Any], key: Sequence[str]) -> None:
    """Insert `row`, or update the row with the same `key` columns to it."""
    cols = list(row)
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in key) or None
    db.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT ({', '.join(key)}) DO "
        + (f"UPDATE SET {sets}" if sets else "NOTHING"),
        [row[c] for c in cols],
    )


# Changes of who serves an order, and of orders leaving the active states.
LOAD_KINDS = frozenset({
    "order.claimed", "order.assisted", "order.assist_left", "order.released", "order.assigned",
    "order.completed", "order.cancelled", "order.closed",
})


class StoreBase:
    """Connection, clock, transactions and the audit trail shared by the store's parts."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        # Bumped by this process's changes of the roster and of who serves what, so caches
        # (the expert matcher) know when to look again; other processes show in changes().
        self.roster_epoch = 0
        self.load_epoch = 0
        self.touched_experts: set[str] = set()  # whose open load may have changed here
        self.touched_orders: set[int] = set()  # orders whose whole team's load may have
        self._savepoints = 0
        # PostgreSQL's hint of other processes' commits: the events' sequence less our own.
        self._own_events = 0
        self._pg_seen: tuple[int | None, int] = (None, 0)  # (sequence seen, version said)

    def changes(self) -> tuple[int, int, int]:
        """(roster epoch, load epoch, data_version): differs after any relevant change here,
        or after any commit by another connection to the same file."""
        value = self.db.data_version()
        if self.db.kind == "sqlite":  # counts only other connections' commits already
            return self.roster_epoch, self.load_epoch, value
        seen, version = self._pg_seen
        if seen is None or value - seen != self._own_events:  # events not ours were written
            version += 1
        self._pg_seen, self._own_events = (value, version), 0
        return self.roster_epoch, self.load_epoch, version

    @contextmanager
    def reader(self) -> Iterator[Database | None]:
        """A read-only connection of its own to the same database, for work in another
        thread (None when the database is in memory and has no second connection)."""
        db = self.db.reader()
        try:
            yield db
        finally:
            if db is not None:
                db.close()

    # -- transactions and audit -------------------------------------------------------------

    def stamp(self) -> str:
        """The current time as stored."""
        return ts(self.clock.now())

    @contextmanager
    def tx(self, writer: bool = True) -> Iterator[None]:
        """One write transaction (writers take turns). Inside an open transaction it adds
        nothing: a failure propagates to whoever opened it (or set a `savepoint`), which
        rolls back, so a store method is never left half done."""
        if self.db.in_transaction:
            yield
            return
        self.db.begin(writer)
        with self._committed():
            yield

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """`tx()` for the loop: while another process holds the database's writer (replicas
        on PostgreSQL), wait without holding the loop, so it keeps answering meanwhile."""
        if self.db.in_transaction:
            yield
            return
        await self.begin_turn()
        with self._committed():
            yield

    @contextmanager
    def _committed(self) -> Iterator[None]:
        """The transaction just begun: committed at the end, rolled back on any failure."""
        try:
            yield
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    async def begin_turn(self) -> None:
        """Open the loop's write transaction (`turn`, a group commit): once another process
        lets go of the writer, wait without holding the loop."""
        self.db.begin(writer=False)
        try:
            for _ in itertools.count():  # another process's lock: nothing here to wait on
                if self.db.take_writer():
                    break
                await asyncio.sleep(WRITER_POLL)
        except BaseException:
            self.db.rollback()
            raise

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the open transaction that rolls back alone when it fails (a handler)."""
        self._savepoints += 1  # named by depth: the same few statements, prepared once
        name = f"sp{self._savepoints}"
        try:
            self.db.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                self.db.execute(f"ROLLBACK TO {name}")
                self.db.execute(f"RELEASE {name}")
                raise
            self.db.execute(f"RELEASE {name}")
        finally:
            self._savepoints -= 1

    def _event(
        self, actor: str, kind: str, order_no: int | None = None, **data: object
    ) -> None:
        assert self.db.in_transaction, "events are written inside the change's transaction"
        if kind.startswith(("expert.", "menu.", "lexicon.")):
            self.roster_epoch += 1
        elif kind in LOAD_KINDS:
            self.load_epoch += 1
            if isinstance(data.get("expert"), str):
                self.touched_experts.add(str(data["expert"]))
            if isinstance(data.get("previous"), str):
                self.touched_experts.add(str(data["previous"]))
            if order_no is not None:
                self.touched_orders.add(order_no)
        self._own_events += 1
        # Plain SQL: the hottest insert of all (every change writes one).
        self.db.execute(
            "INSERT INTO events (at, actor, kind, order_no, data) VALUES (?, ?, ?, ?, ?)",
            [ts(self.clock.now()), actor, kind, order_no,
             json.dumps(data, ensure_ascii=False, default=str)],
        )

    def record(self, actor: str, kind: str, order_no: int | None = None, **data: object) -> None:
        """Write an audit event on its own (for actions that change nothing else)."""
        with self.tx():
            self._event(actor, kind, order_no, **data)

    def events(self, order_no: int | None = None, kind: str | None = None) -> list[Event]:
        where: list[str] = []
        args: list[Any] = []
        if order_no is not None:
            where.append("order_no = ?")
            args.append(order_no)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        return [
            Event(r[0], datetime.fromisoformat(r[1]), r[2], r[3], r[4], json.loads(r[5]))
            for r in rows
        ]

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.db.execute(sql, list(args))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
