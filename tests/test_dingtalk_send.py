"""DingTalk sending against the double: webhook with @, OpenAPI fallback, token, errors, outbox.

The bot here takes HTTP callbacks, where posts with buttons go out as text (cards call back on
the Stream only): these are the text paths; cards are in test_dingtalk_cards.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.model import ChatKind, Outgoing
from bot.platforms.dingtalk import DingTalkPlatform
from bot.platforms.dingtalk_send import THROTTLE_SECONDS
from tests.doubles_dingtalk import QPS_LIMIT, SEND_TOO_FAST, DingTalkDouble, dingtalk_app
from tests.fakes import FrozenClock, add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
GROUP = "cidGroupDeqing01"


@pytest.fixture
async def bot(tmp_path: Path, clock: FrozenClock,
              double: DingTalkDouble) -> AsyncIterator[tuple[App, DingTalkPlatform]]:
    app, platform = dingtalk_app(tmp_path, clock, double, mode="http")
    add_expert(app, "staff-welder", "沈国平", ("焊接", "焊接变形", "不锈钢"), platform="dingtalk")
    yield app, platform
    await platform.sender.close()
    app.store.db.close()


async def _say(app: App, platform: DingTalkPlatform, payload: dict[str, Any]) -> None:
    handled = await platform.receive(payload)
    assert handled is not None and not handled.duplicate


def _queue(app: App, text: str, chat: str = GROUP, **kw: Any) -> int:
    return app.store.enqueue(Outgoing("dingtalk", chat, text, **kw))


async def test_reply_goes_through_the_session_webhook_with_at(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble) -> None:
    app, platform = bot
    await _say(app, platform, double.message(ORDER))
    assert await app.outbox.drain() >= 1
    announce = next(d for d in double.sent if "已收到点单 #1" in d.text)
    assert announce.via == "webhook" and announce.conversation == GROUP
    assert announce.notified == ("staff-welder",)  # @id in the text and in atUserIds
    assert "13867201234" not in announce.text  # group posts are masked
    chats = app.store.chats("dingtalk")
    assert [(c["chat_id"], c["title"]) for c in chats] == [(GROUP, "德清钢构服务群")]
    assert double.token_requests == 0  # no OpenAPI call was needed


async def test_expired_webhook_by_the_bots_clock_uses_the_group_send(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble, clock: FrozenClock) -> None:
    app, platform = bot
    await _say(app, platform, double.message(ORDER))
    clock.advance(minutes=91)
    assert await app.outbox.drain() >= 1
    assert [d.via for d in double.sent] == ["group", "oto"]
    first = double.sent[0]
    assert first.kind == "sampleText" and first.robot_code == double.robot_code
    assert "已收到点单 #1" in double.texts()[0] and double.token_requests == 1
    assert "webhook: expired session" not in double.refused  # it did not even try
    # The group API cannot @: the welder the post @-mentions gets it 1:1 as well.
    copy = double.sent[1]
    assert copy.users == ("staff-welder",) and "已收到点单 #1" in copy.text
    assert "13867201234" not in copy.text


async def test_webhook_refused_with_300001_falls_back_to_the_openapi(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble) -> None:
    app, platform = bot
    await _say(app, platform, double.message(ORDER))
    double.sessions.clear()  # DingTalk ended the session early
    assert await app.outbox.drain() >= 1
    assert "webhook: expired session" in double.refused
    assert [d.via for d in double.sent] == ["group", "oto"]
    assert "已收到点单 #1" in double.sent[0].text
    assert double.sent[1].users == ("staff-welder",)


async def test_a_webhook_on_a_foreign_host_is_never_posted_to(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble) -> None:
    app, platform = bot
    payload = double.message("查询 1", sessionWebhook="http://169.254.169.254/latest/meta-data")
    await _say(app, platform, payload)
    assert await app.outbox.drain() == 1
    assert [d.via for d in double.sent] == ["group"]


async def test_proactive_posts_use_the_openapi_and_the_token_is_cached_then_refreshed(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble, clock: FrozenClock) -> None:
    app, platform = bot
    await _say(app, platform, double.message("查询 1"))
    await app.outbox.drain()
    before = len(double.sent)
    _queue(app, "【月度统计】收到需求 3 件")
    _queue(app, "【提醒】#1 已超过 3 天无人接单")
    assert await app.outbox.drain() == 2
    assert [d.via for d in double.sent[before:]] == ["group", "group"]
    assert double.token_requests == 1  # one token for both sends
    double.expire_tokens()  # DingTalk invalidated it: HTTP 400 InvalidAuthentication
    _queue(app, "第三条")
    assert await app.outbox.drain() == 1
    assert "group: bad or expired token" in double.refused and double.token_requests == 2
    clock.advance(seconds=7200 - 200)  # inside the 5-minute margin: refreshed beforehand
    _queue(app, "第四条")
    assert await app.outbox.drain() == 1
    assert double.token_requests == 3 and double.refused.count("group: bad or expired token") == 1
    assert double.texts()[before:] == [
        "【月度统计】收到需求 3 件", "【提醒】#1 已超过 3 天无人接单", "第三条", "第四条"]


async def test_missing_token_code_also_refreshes_once(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble) -> None:
    app, platform = bot
    await _say(app, platform, double.message("查询 1"))
    await app.outbox.drain()
    double.fail("group", 400, {"code": "MissingParameter",
                               "message": "x-acs-dingtalk-access-token is mandatory"})
    _queue(app, "提醒")
    assert await app.outbox.drain() == 1
    assert double.texts("group") == ["提醒"] and double.token_requests == 2


async def test_still_refused_after_a_refresh_is_retried_later_not_lost(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble, clock: FrozenClock) -> None:
    app, platform = bot
    await _say(app, platform, double.message("查询 1"))
    await app.outbox.drain()
    body = {"code": "InvalidAuthentication", "message": "不合法的access_token"}
    double.fail("group", 400, body, times=2)
    item = _queue(app, "提醒")
    assert await app.outbox.drain() == 0
    row = app.store.outbox_item(item)
    assert row is not None and row.state == "pending" and row.attempts == 1
    clock.advance(seconds=5)
    assert await app.outbox.drain() == 1 and double.texts("group") == ["提醒"]


@pytest.mark.parametrize(("api", "status", "body", "wait"), [
    ("webhook", 200, SEND_TOO_FAST, THROTTLE_SECONDS),
    ("group", 200, {"errcode": 660026, "errmsg": "robot send too fast"}, THROTTLE_SECONDS),
    ("group", 403, QPS_LIMIT, 2.0),
    ("group", 502, {"code": "ServiceUnavailable"}, 2.0),
])
async def test_rate_limits_and_server_errors_are_delivered_later_exactly_once(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble, clock: FrozenClock,
        api: str, status: int, body: dict[str, Any], wait: float) -> None:
    app, platform = bot
    await _say(app, platform, double.message("查询 1"))  # a reply: webhook
    await app.outbox.drain()
    sent = len(double.sent)
    if api == "webhook":
        item = _queue(app, "回复", mentions=("staff-wu",), in_reply_to="m1")
    else:
        item = _queue(app, "提醒")
    double.fail(api, status, body)
    assert await app.outbox.drain() == 0
    row = app.store.outbox_item(item)
    assert row is not None and row.state == "pending"
    assert row.next_at >= clock.now() + timedelta(seconds=wait)
    clock.advance(seconds=wait - 1)
    assert await app.outbox.drain() == 0  # not before its time
    clock.advance(seconds=2)
    assert await app.outbox.drain() == 1
    assert await app.outbox.drain() == 0
    assert len(double.sent) == sent + 1 and double.sent[-1].via == api
    assert app.store.outbox_item(item).state == "sent"  # type: ignore[union-attr]


async def test_a_timeout_is_retried(bot: tuple[App, DingTalkPlatform], double: DingTalkDouble,
                                    clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    app, platform = bot
    await _say(app, platform, double.message("查询 1"))
    await app.outbox.drain()
    platform.sender.timeout = 0.2
    await platform.sender.close()  # a new session picks up the short timeout
    platform.sender.reopen()
    double.hang("group")
    item = _queue(app, "提醒")
    assert await app.outbox.drain() == 0
    row = app.store.outbox_item(item)
    assert row is not None and row.state == "pending" and row.attempts == 1
    assert "TimeoutError" in caplog.text
    clock.advance(seconds=3)
    assert await app.outbox.drain() == 1 and double.texts("group") == ["提醒"]


async def test_one_to_one_messages_use_the_batch_send(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble, clock: FrozenClock) -> None:
    app, platform = bot
    app.store.enqueue(Outgoing("dingtalk", "staff-welder", "新的职工个人需求 #3",
                               chat_kind=ChatKind.SINGLE, to_user="staff-welder"))
    await _say(app, platform, double.message("我的单", group=False, conversation="cidDm1",
                                             sender="staff-wu"))
    clock.advance(minutes=91)  # the 1:1 chat's webhook is gone: its user is remembered
    assert await app.outbox.drain() == 2
    oto = [d for d in double.sent if d.via == "oto"]
    assert [d.users for d in oto] == [("staff-welder",), ("staff-wu",)]
    assert "#3" in oto[0].text


async def test_unknown_conversation_is_a_permanent_failure(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble) -> None:
    app, _platform = bot
    item = _queue(app, "提醒", chat="cidNeverSeen")
    assert await app.outbox.drain() == 1  # not retried: the admin is told instead
    row = app.store.outbox_item(item)
    assert row is not None and row.state == "failed"
    [report] = double.sent
    assert report.via == "oto" and report.users == ("admin-li",)
    assert "cidNeverSeen" in report.text and "提醒" in report.text


async def test_secrets_never_reach_the_logs(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble, clock: FrozenClock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app, platform = bot
    payload = double.message(ORDER)
    await _say(app, platform, payload)
    double.fail("webhook", 200, SEND_TOO_FAST)
    await app.outbox.drain()
    clock.advance(minutes=91)
    await app.outbox.drain()
    double.expire_tokens()
    _queue(app, "提醒")
    await app.outbox.drain()
    assert double.tokens and double.sent
    session = payload["sessionWebhook"].split("session=")[1]
    for secret in (double.client_secret, session, *double.tokens):
        assert secret not in caplog.text
    assert "rate limited" in caplog.text  # the logs did record what happened
