"""Group commit: messages handled in one turn of the loop share one commit, and each is
answered only once that commit made it durable."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from bot.app import App
from bot.group_commit import GroupCommit, StorageUnavailable
from bot.model import ChatKind, Incoming
from storage.db import Database
from storage.store import Store
from tests.fakes import Client, add_expert, post_local

T = TypeVar("T")

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


def order(n: int, msg_id: str | None = None) -> Incoming:
    return Incoming(platform="fake", msg_id=msg_id or f"m{n}", chat_id="g1",
                    chat_kind=ChatKind.GROUP, sender_id=f"c{n}", sender_name=f"c{n}",
                    text=f"{ORDER}（第{n}批）", at_bot=True)


def committed(reader: Database, msg_id: str, platform: str = "fake") -> bool:
    """Whether another connection sees the message handled (its commit is done)."""
    row = reader.execute("SELECT ref FROM inbound WHERE platform = ? AND msg_id = ?",
                         [platform, msg_id]).fetchone()
    return row is not None


async def within(aw: Awaitable[T]) -> T:
    """`aw`, or a failure if it hangs (a commit nobody makes)."""
    return await asyncio.wait_for(aw, 10)


async def until(condition: Callable[[], bool], turns: int = 1000) -> None:
    """Let the loop turn until `condition` holds (fails rather than spin for ever)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


@pytest.fixture
def reader(app: App) -> Any:
    db = app.store.db.reader()
    assert db is not None
    yield db
    db.close()


@pytest.fixture
def commit_held(monkeypatch: pytest.MonkeyPatch) -> Iterator[asyncio.Event]:
    """The commit of the loop's next turn waits until the event is set (it is at the end), so
    an open batch stays open until someone else takes the writer lock."""
    held = asyncio.Event()

    async def late(self: GroupCommit) -> None:
        await held.wait()
        await self.settled()

    monkeypatch.setattr(GroupCommit, "_flush_in_turn", late)
    yield held
    held.set()


async def test_messages_handled_in_one_turn_share_one_commit(app: App, reader: Database
                                                             ) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    before = app.batch.commits
    durable_when_answered: list[bool] = []

    async def one(n: int) -> None:
        handled = await app.handle(order(n))
        assert not handled.duplicate
        durable_when_answered.append(committed(reader, f"m{n}"))

    await within(asyncio.gather(*(one(n) for n in range(8))))
    assert app.batch.commits - before == 1  # eight messages, one commit
    assert durable_when_answered == [True] * 8  # none answered before it
    assert len(app.store.orders()) == 8
    assert not app.batch.open and not app.store.db.in_transaction


async def test_one_message_alone_is_committed_before_its_answer(app: App, reader: Database
                                                                ) -> None:
    before = app.batch.commits
    await within(app.handle(order(1)))
    assert committed(reader, "m1") and app.batch.commits - before == 1


async def test_a_failed_commit_answers_none_of_its_batch_and_loses_nothing(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    db = app.store.db
    real_commit = db.commit
    failures = [sqlite3.OperationalError("disk I/O error")]

    def commit() -> None:
        if failures:
            raise failures.pop()
        real_commit()

    monkeypatch.setattr(db, "commit", commit)
    results = await within(asyncio.gather(*(app.handle(order(n)) for n in range(4)),
                                          return_exceptions=True))
    assert all(isinstance(r, StorageUnavailable) for r in results)
    assert app.store.orders() == [] and app.store.seen("fake", "m0") is None
    assert not db.in_transaction
    again = await within(asyncio.gather(*(app.handle(order(n)) for n in range(4))))  # resent
    assert [h.duplicate for h in again] == [False] * 4 and len(app.store.orders()) == 4


async def test_a_message_that_raced_another_replica_rolls_back_alone(
        app: App, monkeypatch: pytest.MonkeyPatch, reader: Database) -> None:
    real = Store.mark_seen

    def mark_seen(store: Store, platform: str, msg_id: str, ref: str = "") -> bool:
        if msg_id == "m1":  # another process recorded it first
            return False
        return real(store, platform, msg_id, ref)

    monkeypatch.setattr(Store, "mark_seen", mark_seen)

    def record(store: Store) -> str:  # the platform's own log, in the message's savepoint
        store.db.execute("INSERT INTO events (at, actor, kind, data) VALUES "
                         "('2026-01-01', 'test', 'test.logged', '{}')")
        return ""

    results = await within(asyncio.gather(*(app.handle(order(n), record) for n in range(3))))
    assert [h.duplicate for h in results] == [False, True, False]
    assert committed(reader, "m0") and committed(reader, "m2")
    logged = app.store.db.execute(
        "SELECT COUNT(*) FROM events WHERE kind = 'test.logged'").fetchone()[0]
    assert logged == 2  # the raced message's own write was rolled back
    assert len(app.store.orders()) == 2


async def test_a_redelivery_of_a_message_in_the_open_batch_waits_for_its_commit(
        app: App, reader: Database) -> None:
    async def second() -> bool:
        handled = await app.handle(order(1))
        return handled.duplicate and committed(reader, "m1")

    first, dup_after_commit = await within(asyncio.gather(app.handle(order(1)), second()))
    assert not first.duplicate and dup_after_commit
    assert len(app.store.orders()) == 1


async def test_others_who_take_the_writer_lock_find_the_batch_committed(
        app: App, reader: Database, commit_held: asyncio.Event) -> None:
    task = asyncio.create_task(app.handle(order(1)))
    await until(lambda: app.batch.open)
    assert not committed(reader, "m1") and not task.done()  # handled, not yet answered
    async with app.lock:  # e.g. the outbox worker
        assert not app.batch.open and committed(reader, "m1")
    handled = await within(task)
    assert not handled.duplicate


async def test_a_message_cancelled_while_waiting_for_its_commit_is_still_kept(
        app: App, reader: Database) -> None:
    task = asyncio.create_task(app.handle(order(1)))
    await until(lambda: app.batch.open)
    task.cancel()  # e.g. its HTTP client went away
    with pytest.raises(asyncio.CancelledError):
        await task
    await until(lambda: not app.batch.open)
    assert committed(reader, "m1")
    again = await within(app.handle(order(1)))  # the sender's retry finds it handled
    assert again.duplicate and len(app.store.orders()) == 1


async def test_local_api_answers_a_duplicate_only_once_the_first_is_durable(
        client: Client, local_app: App, commit_held: asyncio.Event) -> None:
    reader = local_app.store.db.reader()
    assert reader is not None
    body = {"chat": "g1", "sender": "c1", "text": ORDER, "msg_id": "dup-1"}
    first = asyncio.create_task(post_local(client, **body))
    await until(lambda: local_app.batch.open)
    again = await within(post_local(client, **body))  # a retry while the first waits
    rows = reader.execute("SELECT COUNT(*) FROM local_messages WHERE msg_id = 'dup-1'")
    assert rows.fetchone()[0] == 1  # answered after the first copy was committed
    data = await within(first)
    assert again == {"id": data["id"], "replies": []}
    assert data["replies"][0]["text"].startswith("已收到点单 #1")
    reader.close()
