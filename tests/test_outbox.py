"""Outbox: stored first, per-destination rate limit, retries with backoff, survives restarts."""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from bot.model import ChatKind, FrozenClock, Outgoing
from bot.outbox import TAKE_FOR
from bot.platforms.base import SendError
from storage.records import OutboxItem
from tests.fakes import FakeChat, make_app


def _queue(app: App, n: int, chat: str = "g1") -> list[int]:
    return [app.store.enqueue(Outgoing("fake", chat, f"消息{i}", (), ChatKind.GROUP))
            for i in range(n)]


class LimitedChat(FakeChat):
    """A fake platform that, like DingTalk and WeCom, is rate limited per chat."""

    rate_limited = True


async def test_rate_limit_20_per_minute_per_chat(app: App, clock: FrozenClock) -> None:
    chat = LimitedChat(app)
    _queue(app, 25, "g1")
    _queue(app, 3, "g2")
    assert await app.outbox.drain() == 23  # 20 to g1, 3 to g2
    assert [s.text for s in chat.sent if s.chat == "g1"] == [f"消息{i}" for i in range(20)]
    assert await app.outbox.drain() == 0  # still the same minute
    clock.advance(seconds=61)
    assert await app.outbox.drain() == 5
    assert [s.text for s in chat.sent if s.chat == "g1"][-5:] == [f"消息{i}" for i in range(20, 25)]
    assert app.store.pending_count() == 0


async def test_retry_with_backoff_keeps_order(app: App, clock: FrozenClock) -> None:
    chat = FakeChat(app)
    chat.fail_next = [SendError("rate limited 45009", retry_after=30)]
    _queue(app, 2)
    assert await app.outbox.drain() == 0  # the first failed; the second waits behind it
    assert chat.sent == []
    clock.advance(seconds=10)
    assert await app.outbox.drain() == 0  # not yet due
    clock.advance(seconds=25)
    assert await app.outbox.drain() == 2
    assert [s.text for s in chat.sent] == ["消息0", "消息1"]


async def test_backoff_grows_and_permanent_errors_stop(app: App, clock: FrozenClock) -> None:
    chat = FakeChat(app)
    [item_id] = _queue(app, 1)
    chat.fail_next = [SendError("5xx"), SendError("5xx")]
    await app.outbox.drain()
    first = app.store.outbox_item(item_id)
    clock.advance(seconds=3)
    await app.outbox.drain()
    second = app.store.outbox_item(item_id)
    assert first is not None and second is not None
    assert (second.next_at - clock.now()) > (first.next_at - first.created_at)
    chat.fail_next = [SendError("bad key 93000", permanent=True)]
    clock.advance(seconds=60)
    await app.outbox.drain()
    final = app.store.outbox_item(item_id)
    assert final is not None and final.state == "failed"
    assert app.store.events(kind="outbox.failed")
    # Never silently dropped: the admins hear of it (1:1), with the group and the text.
    [report] = chat.sent
    assert report.to_user == "admin" and "g1" in report.text and "消息0" in report.text


async def test_pending_messages_survive_a_restart(tmp_path: Path, clock: FrozenClock) -> None:
    first = make_app(tmp_path, clock)
    _queue(first, 3)
    first.store.db.close()  # the process dies before sending
    second = make_app(tmp_path, clock)
    chat = FakeChat(second)
    assert await second.outbox.drain() == 3
    assert [s.text for s in chat.sent] == ["消息0", "消息1", "消息2"]
    assert await second.outbox.drain() == 0  # nothing twice
    second.store.db.close()


async def test_unknown_platform_items_wait(app: App) -> None:
    app.store.enqueue(Outgoing("dingtalk", "cid", "稍后发送"))
    FakeChat(app)
    assert await app.outbox.drain() == 0
    assert app.store.pending_count() == 1


class FlakyChat(LimitedChat):
    """A rate-limited platform that is down (5xx) until told otherwise."""

    down = True

    async def send(self, item: OutboxItem) -> str:
        if self.down:
            raise SendError("HTTP 503")
        return await super().send(item)


async def test_platform_down_then_back_delivers_everything_once_at_the_rate(
        app: App, clock: FrozenClock) -> None:
    chat = FlakyChat(app)
    _queue(app, 50, "g1")
    sent_at: list[float] = []
    for step in range(120):  # 20 minutes in 10-second steps; down for the first 5
        chat.down = step < 30
        before = len(chat.sent)
        await app.outbox.drain()
        sent_at += [step * 10.0] * (len(chat.sent) - before)
        clock.advance(seconds=10)
    assert [s.text for s in chat.sent] == [f"消息{i}" for i in range(50)]  # once, in order
    for t in sent_at:  # never more than 20 in any minute
        assert sum(1 for u in sent_at if t <= u < t + 60) <= 20
    assert app.store.pending_count() == 0


async def test_items_a_killed_process_was_sending_go_out_after_a_restart(
        tmp_path: Path, clock: FrozenClock) -> None:
    first = make_app(tmp_path, clock)
    for n in range(3):
        first.store.enqueue(Outgoing("fake", "g1", f"第{n}条", chat_kind=ChatKind.GROUP))
    assert first.store.take_outbox(1, "a-process-killed-mid-send", clock.now() + TAKE_FOR)
    first.store.db.close()  # killed while sending the first
    again = make_app(tmp_path, clock)
    chat = FakeChat(again)
    if again.store.db.kind == "postgresql":  # another replica may still be sending it
        assert await again.outbox.drain() == 0  # the later ones wait behind it, in order
        clock.advance(seconds=TAKE_FOR.total_seconds() + 1)
    # (a SQLite file has one sender: nothing was held, it all goes at once)
    assert await again.outbox.drain() == 3
    assert [s.text for s in chat.sent] == ["第0条", "第1条", "第2条"]
    again.store.db.close()

