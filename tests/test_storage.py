"""Storage: migrations, WAL, transactions with their audit events, typed rows."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bot.model import FrozenClock
from storage.db import SqliteDatabase
from storage.records import Expert, NewOrder, OrderState
from storage.schema import MIGRATIONS, connect
from storage.store import Store
from tests.fakes import T0


def _plan(store: Store, query: Callable[[], object]) -> str:
    """SQLite's query plan of the last statement `query` runs."""
    sql: list[str] = []
    store.db.conn.set_trace_callback(sql.append)
    query()
    store.db.conn.set_trace_callback(None)
    return " ".join(str(r) for r in store.db.execute(f"EXPLAIN QUERY PLAN {sql[-1]}"))


def _new(text: str = "焊接变形") -> NewOrder:
    return NewOrder("fake", "g1", "group", "fake:u1", "吴经理", text, summary=text)


@pytest.mark.sqlite_only
def test_migrations_run_once_and_wal_is_on(tmp_path: Path) -> None:
    db = connect(tmp_path / "a.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    again = connect(tmp_path / "a.db")  # a second open migrates nothing and loses nothing
    assert set(again.table_names()) >= {"orders", "events", "outbox", "inbound", "experts"}
    again.close()


@pytest.mark.sqlite_only
def test_an_up_to_date_database_opens_without_the_migration_library(tmp_path: Path) -> None:
    connect(tmp_path / "a.db").close()  # created and migrated here, with sqlite-utils
    probe = (
        "import sys; from storage.schema import connect; db = connect(sys.argv[1]); "
        "print('sqlite_utils' in sys.modules, *(db.execute(f'PRAGMA {p}').fetchone()[0] "
        "for p in ('journal_mode', 'foreign_keys', 'recursive_triggers', 'synchronous')))")
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "a.db")], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    # A library a serving bot need not keep; the connection is set as before all the same.
    assert out.stdout.split() == ["False", "wal", "1", "1", "1"]


def test_order_and_its_event_commit_together(tmp_path: Path) -> None:
    store = Store(connect(tmp_path / "a.db"), FrozenClock(T0))
    with pytest.raises(RuntimeError), store.tx():
        store.create_order(_new(), actor="fake:u1")
        raise RuntimeError("crash before commit")
    assert store.orders() == [] and store.events() == []
    order = store.create_order(_new(), actor="fake:u1")
    # PostgreSQL's sequences are not transactional: the rolled-back number stays unused.
    first = 1 if store.db.kind == "sqlite" else 2
    assert order.no == first and order.state is OrderState.OPEN and order.created_at == T0
    [event] = store.events(order_no=first)
    assert (event.kind, event.actor, event.at) == ("order.created", "fake:u1", T0)


def test_claim_is_atomic_first_wins(tmp_path: Path) -> None:
    store = Store(connect(tmp_path / "a.db"), FrozenClock(T0))
    store.create_order(_new(), actor="u")
    assert store.claim(1, "e1", "fake:e1") is True
    assert store.claim(1, "e2", "fake:e2") is False
    order = store.get_order(1)
    assert order is not None and order.lead == "e1" and order.claimed_at == T0


def test_claim_from_a_second_connection_sees_the_first(tmp_path: Path) -> None:
    a = Store(connect(tmp_path / "a.db"), FrozenClock(T0))
    b = Store(connect(tmp_path / "a.db"), FrozenClock(T0))
    a.create_order(_new(), actor="u")
    assert b.claim(1, "e2", "x") is True
    assert a.claim(1, "e1", "y") is False


def test_expert_upsert_replaces_accounts(tmp_path: Path) -> None:
    store = Store(connect(tmp_path / "a.db"), FrozenClock(T0))
    e = Expert("X01", "沈国平", skills=("焊接",), accounts=("local:e1", "dingtalk:123"))
    assert store.upsert_expert(e, "cli") is True
    assert store.expert_by_account("dingtalk:123") == e
    moved = Expert("X01", "沈国平", skills=("焊接", "氩弧焊"), accounts=("wecom:shen",))
    assert store.upsert_expert(moved, "cli") is False
    assert store.expert_by_account("dingtalk:123") is None
    assert store.get_expert("X01") == moved
    assert [ev.kind for ev in store.events()] == ["expert.added", "expert.updated"]


def test_dedupe_record_survives_reopen(tmp_path: Path) -> None:
    store = Store(connect(tmp_path / "a.db"), FrozenClock(T0))
    store.mark_seen("dingtalk", "msg-1", "ref")
    store.db.close()
    reopened = Store(connect(tmp_path / "a.db"), FrozenClock(T0))
    assert reopened.seen("dingtalk", "msg-1") == "ref"
    assert reopened.seen("dingtalk", "msg-2") is None


def test_a_v1_database_is_migrated_to_the_latest(tmp_path: Path) -> None:
    from storage.schema import _v1, migrate

    path = tmp_path / "old.db"
    import sqlite3

    import sqlite_utils

    db = sqlite_utils.Database(sqlite3.connect(str(path)))
    db.execute("BEGIN IMMEDIATE")
    _v1(db)
    db.execute("PRAGMA user_version = 1")
    db.execute("COMMIT")
    store = Store(SqliteDatabase(db.conn), FrozenClock(T0))
    store.create_order(_new(), actor="u")
    store.record("fake:e1", "order.claimed", 1, expert="e1")  # as a v1 bot claimed it
    db.execute("UPDATE orders SET state = 'claimed', lead = 'e1'")
    db.conn.commit()
    assert migrate(db) == len(MIGRATIONS)
    first = db.execute("SELECT first_claimed_at FROM orders WHERE no = 1").fetchone()[0]
    assert first is not None and first.startswith("2026-05-06T10:00")  # filled from the events
    assert "image" in {r[1] for r in db.execute("PRAGMA table_info(local_messages)")}


@pytest.mark.sqlite_only
def test_open_load_counts_unfinished_orders_from_indexes_alone(tmp_path: Path) -> None:
    store = Store(connect(tmp_path / "a.db"), FrozenClock(T0))
    for _ in range(4):
        store.create_order(_new(), actor="u")
    for no in (1, 2, 3):
        assert store.claim(no, "e1", "fake:e1")
    store.assist(1, "e2", "fake:e2")
    store.transition(2, [OrderState.CLAIMED], OrderState.SCHEDULED, "fake:e1", "order.scheduled")
    store.transition(3, [OrderState.CLAIMED], OrderState.COMPLETED, "fake:e1", "order.completed")
    assert (store.open_load("e1"), store.open_load("e2"), store.open_load("e3")) == (2, 1, 0)
    assert store.open_loads() == {"e1": 2, "e2": 1}
    sql: list[str] = []
    store.db.conn.set_trace_callback(sql.append)
    store.open_load("e1")
    store.db.conn.set_trace_callback(None)
    plan = " ".join(str(r) for r in store.db.execute(f"EXPLAIN QUERY PLAN {sql[-1]}"))
    assert "COVERING INDEX idx_order_experts_expert_order" in plan
    assert "idx_orders_serving" in plan and "PRIMARY KEY" not in plan


@pytest.mark.sqlite_only
def test_a_senders_last_enterprise_is_one_index_probe(tmp_path: Path) -> None:
    store = Store(connect(tmp_path / "a.db"), FrozenClock(T0))
    for enterprise in ("甲厂", None, "乙厂", ""):
        store.create_order(replace(_new(), enterprise=enterprise, region="浙江省湖州市德清县"),
                           actor="u")
    assert store.last_enterprise("fake:u1") == ("乙厂", "浙江省湖州市德清县")
    assert store.last_enterprise("fake:nobody") is None
    plan = _plan(store, lambda: store.last_enterprise("fake:u1"))
    assert "idx_orders_requester_named" in plan and "TEMP B-TREE" not in plan


@pytest.mark.sqlite_only
def test_the_groups_with_a_setting_are_found_without_reading_every_groups_settings(
        tmp_path: Path) -> None:
    # Each new order asks for the expert groups; a province has thousands of groups, each
    # with its region set.
    store = Store(connect(tmp_path / "a.db"), FrozenClock(T0))
    for i in range(30):
        store.set_setting("fake", f"g{i:02d}", "region", "浙江省湖州市", "admin")
    store.set_setting("fake", "experts", "expert_group", "全部", "admin")
    assert store.chats_with("expert_group") == [("fake", "experts", "全部")]
    plan = _plan(store, lambda: store.chats_with("expert_group"))
    assert "COVERING INDEX idx_chat_settings_key" in plan and "TEMP B-TREE" not in plan
