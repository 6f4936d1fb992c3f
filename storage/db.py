"""One connection shape over two backends: SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol


class DatabaseError(Exception):
    """What the PostgreSQL backend's errors also are (storage/pg.py), so that catching a
    failing database needs no PostgreSQL driver loaded where SQLite alone is used."""


# What a failing database raises, whichever the backend.
DB_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, DatabaseError)
DB_OR_OS_ERRORS: tuple[type[Exception], ...] = (*DB_ERRORS, OSError)


class Cursor(Protocol):
    """What the store reads of a cursor, the same on both backends."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """A connection as the store uses it: SQL with `?` placeholders in the dialect both
    backends share, one writer at a time, read-only twins for work in other threads."""

    kind: str  # "sqlite" or "postgresql"
    conn: Any  # the driver's own connection (sqlite3's or psycopg's), for what only it does

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int: ...

    @property
    def in_transaction(self) -> bool: ...

    def begin(self, writer: bool = True) -> None:
        """Open a write transaction: `writer`s across all connections take turns (SQLite's
        are always so); others lock only the rows they touch (PostgreSQL)."""

    def take_writer(self) -> bool:
        """Inside a transaction begun with `writer=False`: become the writer if no other
        connection is (False: try again later)."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...

    def table_names(self) -> list[str]:
        """The store's tables."""

    def data_version(self) -> int:
        """A number that differs after another connection's commit (a cache's hint)."""

    def reader(self) -> Database | None:
        """A new read-only connection to the same database for another thread; None when
        there is none (SQLite in memory)."""

    def try_lock(self, key: int) -> bool:
        """Take a lock named by `key` that other processes sharing the database respect,
        without waiting; held until `unlock` or this connection closes."""

    def unlock(self, key: int) -> None: ...


class SqliteDatabase:
    """The embedded default: one file in WAL mode (or memory, in tests)."""

    kind = "sqlite"

    def __init__(self, conn: sqlite3.Connection, path: str = "") -> None:
        self.conn = conn
        self.path = path  # "" in memory

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        return self.conn.executemany(sql, rows).rowcount

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def begin(self, writer: bool = True) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def take_writer(self) -> bool:
        return True  # BEGIN IMMEDIATE made this connection the writer

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]

    def data_version(self) -> int:
        version: int = self.conn.execute("PRAGMA data_version").fetchone()[0]
        return version

    def reader(self) -> SqliteDatabase | None:
        if not self.path:
            return None
        return SqliteDatabase(read_only(self.path), self.path)

    def try_lock(self, key: int) -> bool:
        return True  # one process writes a SQLite file (bot/runlock.py sees to it)

    def unlock(self, key: int) -> None:
        return None


def read_only(path: str) -> sqlite3.Connection:
    """A read-only connection to the database file at `path`, usable from any one thread at
    a time (work off the event loop: builds, sweeps, tallies, exports)."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=15, check_same_thread=False)


def is_url(target: str) -> bool:
    """Whether a storage target names a PostgreSQL server rather than a SQLite file."""
    return target.startswith(("postgresql://", "postgres://"))
