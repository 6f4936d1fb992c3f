"""Copying the whole store into another, empty database (either backend), checked by checksums.

The source is read in one snapshot, each table in insertion order (SQLite's rowid,
PostgreSQL's `rowid` column where it has one, else the primary key), and written to the target
in batches inside one transaction. Before that transaction commits, every table's row count
and checksum are compared on both sides; a difference rolls everything back. A table's
checksum is the sha256 of its column names and then its rows in primary-key order, each a
JSON array of canonical values (`checksum`), so the same data gives the same digest on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from storage.db import Database

BATCH = 1000
# Tables that track the schema, not the store's data; each backend keeps its own.
TRACKING = frozenset({"schema_version"})
# PostgreSQL's stand-in for SQLite's implicit rowid (storage/schema_pg.py): generated there.
ROWID = "rowid"


@dataclass(frozen=True)
class TableCopy:
    """One table's rows and checksum in the source and in the target."""

    name: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def ok(self) -> bool:
        return (self.source_rows, self.source_sha256) == (self.target_rows, self.target_sha256)


class CopyError(Exception):
    """The copy was refused or did not check out (a Chinese message); the target's data was
    left as it was. `tables` holds the comparison when it got that far."""

    def __init__(self, message: str, tables: Sequence[TableCopy] = ()) -> None:
        super().__init__(message)
        self.tables = list(tables)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def data_tables(db: Database) -> list[str]:
    """The store's tables holding data (not the schema's bookkeeping), by name."""
    return sorted(t for t in db.table_names()
                  if t not in TRACKING and not t.startswith("sqlite_"))


def columns(db: Database, table: str) -> list[str]:
    cur = db.execute(f"SELECT * FROM {_q(table)} LIMIT 0")
    return [str(d[0]) for d in cur.description]


def primary_key(db: Database, table: str) -> list[str]:
    """The primary key's columns in key order (all columns when there is none)."""
    if db.kind == "sqlite":
        info = db.execute(f"PRAGMA table_info({_q(table)})").fetchall()
        key = [str(c[1]) for c in sorted(info, key=lambda c: int(c[5])) if c[5]]
    else:
        key = [str(r[0]) for r in db.execute(
            "SELECT k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
            "AND k.table_schema = c.table_schema AND k.table_name = c.table_name "
            "WHERE c.table_schema = current_schema() AND c.table_name = ? "
            "AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position", [table])]
    return key or sorted(c for c in columns(db, table) if c != ROWID)


def _insertion_order(db: Database, table: str, key: list[str]) -> list[str]:
    """The columns giving the order rows were inserted in (which some reads rely on)."""
    if db.kind == "sqlite":
        if len(key) == 1:  # an INTEGER PRIMARY KEY is the rowid itself
            info = db.execute(f"PRAGMA table_info({_q(table)})").fetchall()
            if any(c[1] == key[0] and str(c[2]).upper() == "INTEGER" for c in info):
                return key
        return [ROWID]
    return [ROWID] if ROWID in columns(db, table) else key


def _pages(db: Database, table: str, cols: Sequence[str], order: Sequence[str],
           batch: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows' `cols` in `order`, a batch at a time: each page starts after the last key
    seen (memory stays bounded on both backends; psycopg fetches a whole result)."""
    keys = ", ".join(_q(c) for c in order)
    select = f"SELECT {', '.join(_q(c) for c in (*order, *cols))} FROM {_q(table)}"
    after: list[Any] = []
    while True:
        where = f" WHERE ({keys}) > ({', '.join('?' * len(order))})" if after else ""
        rows = db.execute(f"{select}{where} ORDER BY {keys} LIMIT {batch}", after).fetchall()
        if rows:
            yield [tuple(r[len(order):]) for r in rows]
        if len(rows) < batch:
            return
        after = list(rows[-1][:len(order)])


def canonical(value: Any) -> Any:
    """A value as the checksum sees it: the same whichever backend gave it."""
    if value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return int(value)  # bool too
    if isinstance(value, bytes | bytearray | memoryview):
        return {"hex": bytes(value).hex()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return {type(value).__name__: str(value)}


_JSON = json.JSONEncoder(separators=(",", ":"))
_PLAIN = frozenset({str, int, float, type(None)})  # canonical already (not bool: a subclass)


class _Digest:
    """sha256 of a table's column names, then its rows (in primary-key order)."""

    def __init__(self, cols: Sequence[str]) -> None:
        self.order = sorted(range(len(cols)), key=lambda i: cols[i])
        self.hash = hashlib.sha256(self._line([cols[i] for i in self.order]))
        self.rows = 0

    @staticmethod
    def _line(values: list[Any]) -> bytes:
        return (_JSON.encode(values) + "\n").encode()

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        order, update, line = self.order, self.hash.update, self._line
        for row in rows:
            update(line([v if type(v) in _PLAIN else canonical(v)
                         for v in (row[i] for i in order)]))
        self.rows += len(rows)


def checksum(db: Database, table: str, cols: Sequence[str], key: Sequence[str],
             batch: int = BATCH) -> tuple[int, str]:
    """(rows read, sha256 hex) of `cols` of `table` in `key` order."""
    digest = _Digest(cols)
    for rows in _pages(db, table, cols, key, batch):
        digest.add(rows)
    return digest.rows, digest.hash.hexdigest()


def _count(db: Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()[0])


@dataclass(frozen=True)
class _Plan:
    table: str
    cols: list[str]  # what is copied: the source's columns (never PostgreSQL's rowid)
    key: list[str]  # the checksum's order: the primary key
    order: list[str]  # the copy's order: insertion order


def _plan(source: Database, target: Database, table: str) -> _Plan:
    cols = [c for c in columns(source, table) if c != ROWID]
    missing = [c for c in cols if c not in set(columns(target, table))]
    if missing:
        raise CopyError(f"目标库的表 {table} 缺少列 {'、'.join(missing)}（两边的程序版本不同？）")
    key = primary_key(source, table)
    return _Plan(table, cols, key, _insertion_order(source, table, key))


def _high_water(db: Database) -> dict[str, int]:
    """The largest number each table's counter (its integer primary key's) has handed out,
    which may be past the largest kept: a number once given is never given again."""
    if db.kind == "sqlite":
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            return {}
        return {str(n): int(s) for n, s in db.execute("SELECT name, seq FROM sqlite_sequence")}
    out: dict[str, int] = {}
    for table, column in _identities(db):
        row = db.execute("SELECT pg_sequence_last_value(pg_get_serial_sequence(?, ?)::regclass)",
                         [table, column]).fetchone()
        if row and row[0] is not None:
            out[table] = int(row[0])
    return out


def _identities(db: Database) -> list[tuple[str, str]]:
    """PostgreSQL's identity columns that stand for SQLite's integer primary keys (not the
    generated `rowid`): (table, column)."""
    return [(str(t), str(c)) for t, c in db.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND is_identity = 'YES' "
        "AND identity_generation = 'BY DEFAULT' ORDER BY table_name")]


def _advance_counters(target: Database, tables: Sequence[str], high: dict[str, int]) -> None:
    """Make the target's counters continue after the copied numbers (and after any the
    source had handed out), so no order number is ever given twice."""
    copied = set(tables)
    if target.kind == "sqlite":
        # SQLite's AUTOINCREMENT counter follows explicit ids by itself; only a number
        # handed out in the source but no longer kept needs carrying over.
        for name, sql in target.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall():
            if name not in copied or name not in high or "AUTOINCREMENT" not in str(sql).upper():
                continue
            row = target.execute("SELECT seq FROM sqlite_sequence WHERE name = ?",
                                 [name]).fetchone()
            if row is None:
                target.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                               [name, high[name]])
            elif int(row[0]) < high[name]:
                target.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?",
                               [high[name], name])
        return
    for table, column in _identities(target):
        if table not in copied:
            continue
        row = target.execute(f"SELECT max({_q(column)}) FROM {_q(table)}").fetchone()
        top = max(int(row[0] or 0) if row else 0, high.get(table, 0))
        if top > 0:
            target.execute("SELECT setval(pg_get_serial_sequence(?, ?), ?)",
                           [table, column, top])


def _snapshot(db: Database) -> None:
    """Begin reading `db` in one consistent snapshot, taking no writer's turn."""
    if db.kind == "sqlite":
        db.execute("BEGIN")  # deferred: the snapshot is taken at the first read
    else:
        db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")


def copy_database(source: Database, target: Database, batch: int = BATCH) -> list[TableCopy]:
    """Copy every table of `source` into `target`, whose tables must all be empty; the
    result compares the two, table by table. Raises CopyError, writing nothing, when the
    target is not empty or lacks a table or column, or when a count or checksum differs."""
    tables = data_tables(source)
    missing = sorted(set(tables) - set(data_tables(target)))
    if missing:
        raise CopyError(f"目标库缺少表 {'、'.join(missing)}（两边的程序版本不同？）")
    _snapshot(source)
    try:
        target.begin()
        try:
            result = _copy(source, target, tables, batch)
            target.commit()
        except BaseException:
            target.rollback()
            raise
    finally:
        source.rollback()  # ends the read snapshot
    return result


def _copy(source: Database, target: Database, tables: list[str], batch: int
          ) -> list[TableCopy]:
    full = [t for t in data_tables(target)
            if target.execute(f"SELECT 1 FROM {_q(t)} LIMIT 1").fetchone()]
    if full:
        shown = "、".join(full[:5]) + (f" 等 {len(full)} 张" if len(full) > 5 else " ")
        raise CopyError(f"目标库不是空的（{shown}表里已有数据），不能复制进去：请给出一个空库")
    plans = [_plan(source, target, t) for t in tables]
    result: list[TableCopy] = []
    for p in plans:
        insert = (f"INSERT INTO {_q(p.table)} ({', '.join(_q(c) for c in p.cols)}) "
                  f"VALUES ({', '.join('?' * len(p.cols))})")
        # Read in insertion order; when that is the key order, the checksum comes along.
        digest = _Digest(p.cols) if p.order == p.key else None
        for rows in _pages(source, p.table, p.cols, p.order, batch):
            target.executemany(insert, rows)
            if digest is not None:
                digest.add(rows)
        read, source_sum = ((digest.rows, digest.hash.hexdigest()) if digest is not None
                            else checksum(source, p.table, p.cols, p.key, batch))
        written, target_sum = checksum(target, p.table, p.cols, p.key, batch)
        counts = _count(source, p.table), _count(target, p.table)
        if (read, written) != counts:  # a key with NULL in it (SQLite allows that)
            raise CopyError(f"表 {p.table} 有主键含空值的行，无法按主键核对")
        result.append(TableCopy(p.table, *counts, source_sum, target_sum))
    bad = [r.name for r in result if not r.ok]
    if bad:
        raise CopyError(f"复制后核对不一致（{'、'.join(bad)}），已撤销，目标库未写入任何数据",
                        result)
    _advance_counters(target, tables, _high_water(source))
    return result
