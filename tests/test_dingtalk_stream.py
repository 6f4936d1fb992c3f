"""DingTalk Stream receiving against the double: ACKs, dedupe, bad frames, reconnects, and no
message lost on stop or crash (stored before the ACK, finished after the next start)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientSession

import tests.doubles_dingtalk as doubles
from bot.app import App
from bot.core import Handled
from bot.model import Incoming
from bot.platforms import dingtalk
from bot.platforms.dingtalk_inbound import PLATFORM
from tests.doubles_dingtalk import DingTalkDouble, dingtalk_app
from tests.fakes import FrozenClock, add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


class Running(doubles.Running):
    """The running bot, and the replies the double received."""

    async def replies(self, count: int) -> list[str]:
        await self.double.until(lambda: len(self.double.sent) >= count)
        return self.double.texts()


def _running(tmp_path: Path, clock: FrozenClock, double: DingTalkDouble) -> Running:
    """An app on `tmp_path`'s database (a later call is the same bot after a restart)."""
    app, platform = dingtalk_app(tmp_path, clock, double)
    if app.store.get_expert("staff-welder") is None:
        add_expert(app, "staff-welder", "沈国平", ("焊接", "焊接变形", "不锈钢"),
                   platform="dingtalk")
    return Running(app, platform, double)


@pytest.fixture
async def bot(tmp_path: Path, clock: FrozenClock,
              double: DingTalkDouble) -> AsyncIterator[Running]:
    running = _running(tmp_path, clock, double)
    await running.start()
    yield running
    await running.stop()
    running.app.store.db.close()


async def test_message_is_acked_then_answered_with_at(bot: Running,
                                                      double: DingTalkDouble) -> None:
    await double.until(lambda: double.ws is not None)
    opened = double.opens[0]
    assert opened["clientId"] == double.client_id and "clientSecret" not in opened
    assert opened["subscriptions"] == [
        {"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"},
        {"type": "CALLBACK", "topic": "/v1.0/card/instances/callback"}]  # card presses
    mid = await bot.say(ORDER, msg_id="msgOrder01")
    ack = double.frames[mid].ack
    assert ack is not None and ack["headers"]["messageId"] == mid
    assert json.loads(ack["data"]) == {"response": "OK"}
    texts = await bot.replies(1)
    assert texts[0].startswith("已收到点单 #1")
    assert double.sent[0].notified == ("staff-welder",)


async def test_redelivery_is_acked_but_not_handled_twice(bot: Running,
                                                         double: DingTalkDouble) -> None:
    payload = double.message(ORDER, msg_id="msgOrder02")
    first = await double.push(payload)
    await bot.replies(1)
    again = await double.push(payload, message_id=first)  # same stream id
    renamed = await double.push(payload)  # a redelivery under a new stream id
    await double.until(lambda: double.acked(again) and double.acked(renamed))
    await bot.say("查询 1", sender="staff-wu")
    texts = await bot.replies(2)
    assert sum("已收到点单" in t for t in texts) == 1
    assert "#1" in texts[-1] and len(texts) == 2


async def test_unusable_frames_are_acked_and_skipped(bot: Running,
                                                     double: DingTalkDouble) -> None:
    ids = [
        await double.push(double.message(None)),  # a usage-limit notice without text
        await double.push(double.message(None, msgtype="picture", content={"x": "dc1"})),
        await double.push(double.message("hi", msgtype="interactiveCard")),
        await double.push("{not json"),
        await double.push("[1, 2]"),
        await double.push(json.dumps({"x": 1}), topic="/v1.0/card/instances/callback"),
        await double.push(json.dumps({"eventType": "chat_update"}), type="EVENT",
                          topic="*"),
    ]
    await double.until(lambda: all(double.acked(i) for i in ids))
    await bot.say("查询 1")
    texts = await bot.replies(1)
    assert len(texts) == 1 and "#1" in texts[0]  # still alive, and nothing else was answered
    assert double.refused == []  # every ACK named a frame the double had sent
    card_ack = double.frames[ids[5]].ack
    assert card_ack is not None and json.loads(card_ack["data"]) == {"response": {}}


async def test_ping_is_echoed_and_disconnect_reconnects_with_a_new_ticket(
        bot: Running, double: DingTalkDouble) -> None:
    ping = await double.ping()
    await double.until(lambda: double.acked(ping))
    ack = double.frames[ping].ack
    assert ack is not None and json.loads(ack["data"]) == json.loads(double.frames[ping].data)
    bye = await double.ask_disconnect()
    await double.until(lambda: double.acked(bye) and double.connections == 2
                       and double.ws is not None)
    assert len(double.opens) == 2 and double.tickets == {}  # each ticket used once
    await bot.say("查询 1")
    assert len(await bot.replies(1)) == 1


async def test_a_lost_ack_and_a_dropped_connection_lose_nothing_and_repeat_nothing(
        bot: Running, double: DingTalkDouble) -> None:
    await double.until(lambda: double.ws is not None)
    double.lose_acks = True  # the bot's ACK never reaches DingTalk
    lost = await double.push(double.message(ORDER, msg_id="msgLostAck01"))
    await double.until(lambda: lost in double.lost_acks)
    await bot.replies(1)
    double.lose_acks = False
    await double.drop()
    await double.until(lambda: double.connections == 2 and double.ws is not None)
    assert await double.redeliver() == []  # robot messages are never pushed again
    await bot.say("查询 1")
    texts = await bot.replies(2)
    assert sum("已收到点单" in t for t in texts) == 1 and len(texts) == 2


async def test_the_double_pushes_again_only_unacked_events_never_robot_messages(
        bot: Running, double: DingTalkDouble) -> None:
    """protocol.md FAQ: robot messages are fire-and-forget; only event subscriptions are
    pushed again when not ACKed."""
    double.lose_acks = True
    robot = await double.push(double.message("查询 1"))
    event = await double.push(json.dumps({"eventType": "chat_update"}), type="EVENT", topic="*")
    await double.until(lambda: double.lost_acks == [robot, event])
    await bot.replies(1)  # handled, though DingTalk never saw its ACK
    double.lose_acks = False
    again = await double.redeliver()
    assert again == [event]
    await double.until(lambda: double.acked(event))
    assert not double.acked(robot) and len(double.sent) == 1


async def test_bad_credentials_back_off_and_stop_promptly(tmp_path: Path, clock: FrozenClock,
                                                          double: DingTalkDouble) -> None:
    app, platform = dingtalk_app(tmp_path, clock, double)
    double.client_secret = "rotated-secret"  # the bot still has the old one
    await platform.start()
    try:
        await double.until(lambda: double.refused.count("open: bad credentials") >= 3)
    finally:
        await asyncio.wait_for(platform.stop(), timeout=5)
        app.store.db.close()
    assert platform.receiver is not None and platform.receiver._thread is not None
    assert not platform.receiver._thread.is_alive()
    assert double.connections == 0


async def test_the_sdk_runs_off_the_bots_loop(tmp_path: Path, clock: FrozenClock,
                                              double: DingTalkDouble) -> None:
    """A blocking call inside the stream client must not stall the bot's event loop."""
    app, platform = dingtalk_app(tmp_path, clock, double)
    assert platform.client is not None
    release = threading.Event()
    blocked = threading.Event()

    def blocking_probe() -> str:
        blocked.set()
        release.wait(10)  # blocks its thread, as the SDK's requests calls do
        return "10.0.0.8"

    platform.client.get_host_ip = blocking_probe
    await platform.start()
    try:
        await asyncio.to_thread(blocked.wait, 5)
        # The bot's loop still serves HTTP while the stream thread is blocked.
        async with ClientSession() as http, http.post(
                double.base_url + "/v1.0/oauth2/accessToken",
                json={"appKey": double.client_id, "appSecret": double.client_secret}) as resp:
            assert resp.status == 200
        release.set()
        await double.until(lambda: double.ws is not None)
        assert double.opens[0]["localIp"] == "10.0.0.8"
    finally:
        release.set()
        await platform.stop()
        app.store.db.close()


async def test_http_callback_mode_checks_the_sign(tmp_path: Path, clock: FrozenClock,
                                                  double: DingTalkDouble,
                                                  aiohttp_client: object) -> None:
    from aiohttp import web

    from bot.platforms.dingtalk_sign import callback_sign

    app, platform = dingtalk_app(tmp_path, clock, double, mode="http")
    assert platform.receiver is None and [r.path for r in platform.routes()] == [
        "/dingtalk/callback"]
    web_app = web.Application()
    web_app.add_routes(platform.routes())
    client = await aiohttp_client(web_app)  # type: ignore[operator]
    ts = str(int(clock.now().timestamp() * 1000))
    good = {"timestamp": ts, "sign": callback_sign(ts, double.client_secret)}
    payload = double.message("查询 1")
    old_ts = str(int(clock.now().timestamp() * 1000) - 2 * 3600 * 1000)
    for headers in ({}, {"timestamp": ts, "sign": "AAAA"},
                    {"timestamp": old_ts, "sign": callback_sign(old_ts, double.client_secret)}):
        resp = await client.post("/dingtalk/callback", json=payload, headers=headers)
        assert resp.status == 403
    resp = await client.post("/dingtalk/callback", data=b"{oops", headers=good)
    assert resp.status == 400
    resp = await client.post("/dingtalk/callback", json=payload, headers=good)
    assert resp.status == 200
    await platform.stop()  # waits for the message being handled
    platform.sender.reopen()
    assert app.store.seen("dingtalk", payload["msgId"]) is not None
    assert await app.outbox.drain() == 1 and "#1" in double.texts()[0]
    await platform.sender.close()
    app.store.db.close()


async def test_the_double_enforces_single_use_tickets_that_expire(
        double: DingTalkDouble, clock: FrozenClock) -> None:
    body = {"clientId": double.client_id, "clientSecret": double.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]}
    async with ClientSession() as http:
        tickets = []
        for _ in range(2):
            async with http.post(double.base_url + "/v1.0/gateway/connections/open",
                                 json=body) as resp:
                tickets.append((await resp.json())["ticket"])
        url = double.base_url + "/connect?ticket="
        async with http.ws_connect(url + tickets[0]) as ws:
            assert not ws.closed
        with pytest.raises(aiohttp.WSServerHandshakeError):  # used already
            await http.ws_connect(url + tickets[0])
        clock.advance(seconds=91)
        with pytest.raises(aiohttp.WSServerHandshakeError):  # expired
            await http.ws_connect(url + tickets[1])
    assert double.refused.count("connect: bad, used or expired ticket") == 2


# -- nothing lost on stop or crash: stored before the ACK, finished after the next start -------


def _stall(app: App) -> asyncio.Event:
    """From now on the app's handling hangs before it commits anything, as a process that
    stops or dies mid-message; the event is set once a message has reached it."""
    reached = asyncio.Event()

    async def hang(msg: Incoming, record: Any = None) -> Handled:
        reached.set()
        await asyncio.Event().wait()
        raise AssertionError("never reached")

    app.handle = hang  # type: ignore[method-assign]
    return reached


async def test_a_message_cut_short_by_a_stop_is_handled_once_after_the_next_start(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dingtalk, "STOP_SECONDS", 0.3)  # the stop budget, shortened
    first = _running(tmp_path, clock, double)
    reached = _stall(first.app)
    await first.start()
    mid = await first.say(ORDER, msg_id="msgCutShort01")
    await asyncio.wait_for(reached.wait(), 5)
    await first.stop()  # the budget runs out with the message still being handled
    first.app.store.db.close()
    assert double.acked(mid) and double.sent == []

    again = _running(tmp_path, clock, double)
    await again.start()
    try:
        await again.say("查询 1")
        texts = await again.replies(2)
        assert texts[0].startswith("已收到点单 #1") and len(texts) == 2 and "#1" in texts[1]
        assert len(again.app.store.events(kind="order.created")) == 1
        assert again.app.store.inbox(PLATFORM) == []
    finally:
        await again.stop()
        again.app.store.db.close()


async def test_the_backlog_is_finished_in_arrival_order_before_new_messages(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dingtalk, "STOP_SECONDS", 0.3)
    first = _running(tmp_path, clock, double)
    await first.start()
    handled = double.message("查询 1", msg_id="msgHandledBefore")
    await first.double.push(handled)
    await first.replies(1)
    _stall(first.app)
    for n in (1, 2):
        await first.say(f"点单：第{n}台焊机焊缝有气孔，请师傅看看", msg_id=f"msgBacklog{n}")
    await first.stop()
    # A row whose message was in fact handled (its reply went out) is a dedupe no-op.
    first.app.store.inbox_add(PLATFORM, "msgHandledBefore", json.dumps(handled))
    first.app.store.db.close()

    again = _running(tmp_path, clock, double)
    await again.start()
    try:
        await again.say("查询 2")
        texts = (await again.replies(4))[1:]
        assert [t.splitlines()[0] for t in texts[:2]] == ["已收到点单 #1", "已收到点单 #2"]
        assert len(texts) == 3 and "#2" in texts[2]
        order = again.app.store.get_order(1)
        assert order is not None and "第1台" in order.text
        assert again.app.store.inbox(PLATFORM) == []
    finally:
        await again.stop()
        again.app.store.db.close()


async def test_a_frame_that_arrives_as_the_stream_stops_is_stored_acked_and_handled(
        bot: Running, double: DingTalkDouble) -> None:
    assert bot.platform.client is not None
    await double.until(lambda: double.ws is not None)
    bot.platform.client.stopping.set()  # on its way down: no re-push would save the frame
    await bot.say("查询 1")
    assert "#1" in (await bot.replies(1))[0]


async def test_a_message_that_cannot_be_stored_is_still_acked_and_handled(
        bot: Running, double: DingTalkDouble, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    def refuse(*_args: Any) -> bool:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(bot.app.store, "inbox_add", refuse)
    await bot.say("查询 1", msg_id="msgNotStored01")
    assert "#1" in (await bot.replies(1))[0]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("msgNotStored01" in e for e in errors)


async def test_a_message_left_over_by_three_starts_is_given_up_with_an_error(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble,
        caplog: pytest.LogCaptureFixture) -> None:
    """A message whose handling killed the bot at every start must not stop it for good."""
    app, _platform = dingtalk_app(tmp_path, clock, double)
    poison = double.message("查询 1", msg_id="msgPoison01")
    app.store.inbox_add(PLATFORM, "msgPoison01", json.dumps(poison))
    app.store.db.execute("UPDATE inbox SET starts = 3")
    app.store.db.close()
    again = _running(tmp_path, clock, double)
    await again.start()
    try:
        await again.say("查询 2")
        texts = await again.replies(1)
        assert len(texts) == 1 and "#2" in texts[0]
        assert again.app.store.inbox(PLATFORM) == []
        assert [e.data for e in again.app.store.events(kind="inbound.abandoned")] == [
            {"platform": PLATFORM, "msg_id": "msgPoison01", "starts": 3}]
    finally:
        await again.stop()
        again.app.store.db.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("msgPoison01" in e for e in errors)


async def test_an_http_callback_cut_short_by_a_stop_is_handled_after_the_next_start(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble, aiohttp_client: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp import web

    from bot.platforms.dingtalk_sign import callback_sign

    monkeypatch.setattr(dingtalk, "STOP_SECONDS", 0.3)
    app, platform = dingtalk_app(tmp_path, clock, double, mode="http")
    reached = _stall(app)
    web_app = web.Application()
    web_app.add_routes(platform.routes())
    client = await aiohttp_client(web_app)
    ts = str(int(clock.now().timestamp() * 1000))
    resp = await client.post("/dingtalk/callback", json=double.message("查询 1"), headers={
        "timestamp": ts, "sign": callback_sign(ts, double.client_secret)})
    assert resp.status == 200
    await asyncio.wait_for(reached.wait(), 5)
    await platform.stop()
    app.store.db.close()
    again = Running(*dingtalk_app(tmp_path, clock, double, mode="http"), double)
    await again.start()
    try:
        assert "#1" in (await again.replies(1))[0]
        assert again.app.store.inbox(PLATFORM) == []
    finally:
        await again.stop()
        again.app.store.db.close()
