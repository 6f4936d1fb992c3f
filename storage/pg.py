"""PostgreSQL behind the store's connection shape: placeholders, number types, the writer lock.

The store's SQL is written once in the dialect SQLite and PostgreSQL share; `?` placeholders
become psycopg's `%s` here. Writers take turns exactly as SQLite's BEGIN IMMEDIATE makes
them, through one transaction-scoped advisory lock, so every read-then-write the store does
(first-wins claims, order numbers, dedupe) keeps its meaning across several bot processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import TransactionStatus

from storage.db import DatabaseError

# pg_advisory_xact_lock key of the one writer at a time (b"dian" as an integer).
WRITER_LOCK = 0x6469616E
Buffer = bytes | bytearray | memoryview


class _Number(Loader):
    """numeric (what sum() of integers gives) as int when whole, else float: the types
    SQLite gives, so tallies format the same."""

    def load(self, data: Buffer) -> int | float:
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


class _BoolAsInt(Dumper):
    """True/False stored as 1/0, as in SQLite's integer flag columns."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


@lru_cache(maxsize=4096)
def pg_sql(sql: str) -> str:
    """`?` placeholders outside string literals become `%s`; a literal `%` is doubled."""
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "?" and not quoted:
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)


def _storable(params: Sequence[Any]) -> list[Any]:
    """PostgreSQL's text cannot hold NUL (SQLite's can): a NUL a hostile or broken client
    sends is kept as U+FFFD, so the message is handled rather than refused."""
    return [p.replace("\x00", "\ufffd") if isinstance(p, str) and "\x00" in p else p
            for p in params]


_OURS: dict[type[psycopg.Error], type[psycopg.Error]] = {}


def _ours(kind: type[psycopg.Error]) -> type[psycopg.Error]:
    """`kind` that is also a `DatabaseError`, as the store's callers catch it."""
    made = _OURS.get(kind)
    if made is None:
        made = _OURS[kind] = type(kind.__name__, (kind, DatabaseError),
                                  {"__module__": kind.__module__})
    return made


def _plain(exc: psycopg.Error) -> psycopg.Error:
    """The same error with its primary message alone: PostgreSQL's DETAIL may quote the row
    (a phone number in it) and must reach no log, no answer and no screen."""
    primary = exc.diag.message_primary if exc.diag else None
    return _ours(type(exc))(primary or str(exc).split("\n", 1)[0])


def open_connection(url: str) -> psycopg.Connection[Any]:
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise _plain(exc) from None
    conn.adapters.register_loader("numeric", _Number)
    conn.adapters.register_dumper(bool, _BoolAsInt)
    return conn


class PgDatabase:
    """One connection to a PostgreSQL database, autocommit outside explicit transactions."""

    kind = "postgresql"

    def __init__(self, url: str, read_only: bool = False) -> None:
        self.url = url
        self.conn = open_connection(url)
        if read_only:
            self.execute("SET default_transaction_read_only = on")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        try:
            return self.conn.execute(pg_sql(sql), _storable(params))
        except psycopg.Error as exc:
            raise _plain(exc) from None

    def script(self, sql: str) -> None:
        """Several statements, no parameters, in one round trip (placeholders untouched)."""
        try:
            self.conn.execute(sql.encode())
        except psycopg.Error as exc:
            raise _plain(exc) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        try:
            with self.conn.cursor() as cur:
                cur.executemany(pg_sql(sql), [_storable(r) for r in rows])
                return cur.rowcount
        except psycopg.Error as exc:
            raise _plain(exc) from None

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != TransactionStatus.IDLE

    def begin(self, writer: bool = True) -> None:
        self.execute("BEGIN")
        if writer:
            self.execute("SELECT pg_advisory_xact_lock(?)", [WRITER_LOCK])

    def take_writer(self) -> bool:
        row = self.execute("SELECT pg_try_advisory_xact_lock(?)", [WRITER_LOCK]).fetchone()
        return bool(row and row[0])

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()

    def table_names(self) -> list[str]:
        return [r[0] for r in self.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name")]

    def data_version(self) -> int:
        # Every change writes an event: the events' sequence moves with any commit here or
        # in another process (and with our own, which the store's epochs count anyway).
        row = self.execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END "
                                "FROM events_id_seq").fetchone()
        return int(row[0]) if row else 0

    def reader(self) -> PgDatabase:
        return PgDatabase(self.url, read_only=True)

    def try_lock(self, key: int) -> bool:
        row = self.execute("SELECT pg_try_advisory_lock(?)", [key]).fetchone()
        return bool(row and row[0])

    def unlock(self, key: int) -> None:
        self.execute("SELECT pg_advisory_unlock(?)", [key])
