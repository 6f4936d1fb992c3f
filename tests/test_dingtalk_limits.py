"""DingTalk's own limits, enforced by the double: the bot stays within them, and nothing is lost
when it is pushed past them (20 posts a minute per group, 20 calls a second per OpenAPI)."""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from bot.model import ChatKind, Outgoing
from bot.platforms.dingtalk import DingTalkPlatform
from tests.doubles_dingtalk import DingTalkDouble, dingtalk_app
from tests.fakes import FrozenClock

GROUP = "cidGroupDeqing01"


async def _app(tmp_path: Path, clock: FrozenClock, double: DingTalkDouble,
               rate: int) -> tuple[App, DingTalkPlatform]:
    app, platform = dingtalk_app(tmp_path, clock, double, rate_per_minute=rate)
    handled = await platform.receive(double.message("查询 1"))  # the group, with a webhook
    assert handled is not None
    return app, platform


async def _close(app: App, platform: DingTalkPlatform) -> None:
    await platform.sender.close()
    app.store.db.close()


def _posts(double: DingTalkDouble) -> list[str]:
    return [d.text for d in double.sent if d.conversation == GROUP]


async def test_the_outbox_keeps_a_group_within_twenty_posts_a_minute(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble) -> None:
    app, platform = await _app(tmp_path, clock, double, rate=20)
    try:
        assert await app.outbox.drain() == 1  # the reply to 查询 1
        for i in range(25):
            app.store.enqueue(Outgoing("dingtalk", GROUP, f"提醒 {i}"))
        assert await app.outbox.drain() == 19  # 20 in this minute, the reply included
        assert await app.outbox.drain() == 0
        clock.advance(seconds=61)
        assert await app.outbox.drain() == 6
        assert _posts(double)[1:] == [f"提醒 {i}" for i in range(25)]  # each once, in order
        assert not any("too fast" in r for r in double.refused)  # DingTalk never objected
    finally:
        await _close(app, platform)


async def test_a_rate_set_above_dingtalks_is_throttled_and_still_delivers_everything(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble) -> None:
    app, platform = await _app(tmp_path, clock, double, rate=30)  # misconfigured
    try:
        for i in range(25):
            app.store.enqueue(Outgoing("dingtalk", GROUP, f"提醒 {i}"))
        assert await app.outbox.drain() == 20  # the reply and 19 reminders
        assert double.refused == ["group: send too fast"]  # 130101: throttled 10 minutes
        clock.advance(minutes=5)
        assert await app.outbox.drain() == 0  # the bot waits out the throttle
        clock.advance(minutes=5, seconds=1)
        assert await app.outbox.drain() == 6
        assert _posts(double)[1:] == [f"提醒 {i}" for i in range(25)]
        states = app.store.db.execute("SELECT DISTINCT state FROM outbox").fetchall()
        assert states == [("sent",)]
    finally:
        await _close(app, platform)


async def test_a_burst_of_one_to_one_messages_past_the_qps_limit_is_sent_a_moment_later(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble) -> None:
    app, platform = await _app(tmp_path, clock, double, rate=20)
    try:
        await app.outbox.drain()
        users = [f"staff-{i:02d}" for i in range(25)]
        for user in users:
            app.store.enqueue(Outgoing("dingtalk", user, f"请查看 {user}",
                                       chat_kind=ChatKind.SINGLE, to_user=user))
        assert await app.outbox.drain() == 20
        assert double.refused.count("oto: QPS limit") == 5
        clock.advance(seconds=3)
        assert await app.outbox.drain() == 5
        sent = [d.users for d in double.sent if d.via == "oto"]
        assert sorted(sent) == [(u,) for u in users]  # each once
    finally:
        await _close(app, platform)
