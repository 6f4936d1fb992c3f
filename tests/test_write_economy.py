"""What a message writes is kept small: partial indexes, chats written again only when they
changed or an hour passed, savepoints named by depth."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.model import SHANGHAI, FrozenClock
from storage.schema import connect
from storage.store import Store

NOW = datetime(2026, 5, 6, 10, 0, tzinfo=SHANGHAI)


@pytest.mark.sqlite_only
def test_indexes_of_columns_a_new_order_leaves_empty_are_partial_and_used() -> None:
    db = connect(":memory:")
    sql = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                          "sql IS NOT NULL").fetchall())
    for name, column in (("idx_orders_lead", "lead"),
                         ("idx_orders_first_claimed_at", "first_claimed_at"),
                         ("idx_orders_completed_at_category_region_outcome", "completed_at"),
                         ("idx_orders_rated_at_rating", "rated_at"),
                         ("idx_orders_ended_at_state", "ended_at")):
        assert sql[name].endswith(f"WHERE {column} IS NOT NULL"), name
    assert sql["idx_local_messages_msg_id"].endswith("WHERE msg_id IS NOT NULL")
    plan = db.execute("EXPLAIN QUERY PLAN SELECT count(*) FROM orders o WHERE "
                      "o.completed_at >= ? AND o.completed_at < ?", ["a", "b"]).fetchall()
    assert "idx_orders_completed_at" in plan[0][3]
    plan = db.execute("EXPLAIN QUERY PLAN SELECT no FROM orders WHERE lead = ?",
                      ["e1"]).fetchall()
    assert "idx_orders_lead" in plan[0][3]


def test_a_chat_is_written_again_only_when_it_changed_or_an_hour_passed() -> None:
    clock = FrozenClock(NOW)
    store = Store(connect(":memory:"), clock)
    store.remember_chat("dingtalk", "c1", "group", "一群", "hook-1")
    first = store.chat("dingtalk", "c1")
    assert first is not None
    clock.advance(minutes=30)
    store.remember_chat("dingtalk", "c1", "group", "一群", "hook-1")
    assert store.chat("dingtalk", "c1") == first  # nothing new: not written
    store.remember_chat("dingtalk", "c1", "group", "", "hook-2")
    changed = store.chat("dingtalk", "c1")
    assert changed is not None and changed["reply_handle"] == "hook-2"
    assert changed["title"] == "一群" and changed["updated_at"] > first["updated_at"]
    clock.advance(minutes=61)
    store.remember_chat("dingtalk", "c1", "group", "", "")
    later = store.chat("dingtalk", "c1")
    assert later is not None and later["updated_at"] > changed["updated_at"]


@pytest.mark.sqlite_only
def test_nested_savepoints_roll_back_alone_and_reuse_their_names() -> None:
    store = Store(connect(":memory:"), FrozenClock(NOW))
    seen: list[str] = []
    store.db.conn.set_trace_callback(seen.append)
    with store.tx():
        store.remember_chat("local", "g1", "group")
        for _ in range(3):
            try:
                with store.savepoint(), store.savepoint():
                    store.remember_chat("local", "g2", "group")
                    raise RuntimeError("a handler failed")
            except RuntimeError:
                pass
    store.db.conn.set_trace_callback(None)
    assert store.chat("local", "g1") is not None and store.chat("local", "g2") is None
    assert {s for s in seen if s.startswith("SAVEPOINT")} == {"SAVEPOINT sp1", "SAVEPOINT sp2"}
