"""WeCom long-connection mode against the double: subscribe, ping, callbacks, replies, frames
(binary, raw control characters, garbage), and another instance taking the connection over."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.model import FrozenClock, Outgoing
from bot.platforms.base import SendError
from bot.platforms.wecom_ws import LongConnection
from bot.web.jsonbody import MAX_DEPTH, BadRequest, parse_json
from tests.doubles_wecom import Rig, start_linked, start_rig, until
from tests.doubles_wecom_ws import raw_controls

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


@pytest.fixture
async def rig(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Rig]:
    r = await start_linked(tmp_path, clock, ("e1",), ping_seconds=0.05)
    yield r
    await r.close()


async def test_subscribe_ping_and_no_callback_routes(rig: Rig) -> None:
    assert rig.double.ws_subscribes == [{"bot_id": "bot1", "secret": "s3cret"}]
    assert rig.platform.routes() == []
    await until(lambda: rig.double.pings >= 2, "two pings")


async def test_message_in_reply_out_under_the_same_req_id(rig: Rig) -> None:
    d = rig.double
    req_id = await d.push(d.message(ORDER, userid="wu"))
    await until(lambda: rig.app.store.get_order(1) is not None, "the order")
    await rig.settle()
    [reply] = d.sent
    assert reply.via == "respond" and reply.target == req_id
    # The announcement @-mentions the expert, so its text goes as a finished stream with its
    # card (接单 / 协助) beside it, in the one reply.
    assert reply.body["msgtype"] == "stream_with_template_card"
    assert reply.body["stream"]["finish"] is True
    assert "已收到点单 #1" in reply.content and "<@e1>" in reply.content
    assert d.card("接单").buttons == ["接单", "协助"]
    # The expert, who has talked to the bot 1:1 before, claims in the group; the 1:1 notice
    # goes by aibot_send_msg to the user.
    d.ws_chats.add("e1")
    await d.push(d.message("接单 1", userid="e1"))
    await until(lambda: getattr(rig.app.store.get_order(1), "lead", None) is not None,
                "the claim")
    await rig.settle()
    vias = {(p.via, p.target) for p in d.sent}
    assert ("send_msg", "e1") in vias
    assert any("接单成功 #1" in p.content for p in d.sent)
    assert all(p.errcode == 0 for p in d.posts)


async def test_a_refused_1to1_goes_to_the_group_and_is_not_retried(rig: Rig) -> None:
    d = rig.double
    await d.push(d.message(ORDER, userid="wu"))
    await until(lambda: rig.app.store.get_order(1) is not None, "the order")
    await d.push(d.message("接单 1", userid="e1"))  # e1 never talked to the bot 1:1
    await until(lambda: getattr(rig.app.store.get_order(1), "lead", None) is not None,
                "the claim")
    await rig.settle()
    await rig.app.outbox.drain()
    refused = [p for p in d.posts if p.via == "send_msg" and p.target == "e1"]
    assert len(refused) == 1 and refused[0].errcode != 0  # tried once, never again
    [told] = [p for p in d.sent if p.via == "send_msg" and "您已接单 #1" in p.content]
    assert told.target == "wrgroup1" and "<@e1>" in told.content
    assert "13867201234" not in told.content


async def test_proactive_post_goes_by_aibot_send_msg(rig: Rig) -> None:
    rig.double.ws_chats.add("wrgroup1")  # a group the bot is in
    rig.app.store.enqueue(Outgoing("wecom", "wrgroup1", "提醒：#1 已 2 天无人接单"))
    assert await rig.app.outbox.drain() == 1
    [post] = rig.double.sent
    assert post.via == "send_msg" and post.target == "wrgroup1"
    assert post.body == {"chatid": "wrgroup1", "msgtype": "markdown",
                         "markdown": {"content": "提醒：#1 已 2 天无人接单"}}


async def test_reconnects_after_the_server_drops_the_connection(rig: Rig) -> None:
    assert rig.platform.ws is not None
    rig.platform.ws.backoff_seconds = 0.01
    for ws in list(rig.double.ws_live):
        await ws.close()
    await until(lambda: rig.platform.ws is not None and rig.platform.ws.connects >= 2,
                "reconnect")
    assert len(rig.double.ws_live) == 1  # one live connection


async def test_a_stop_while_a_dropped_connection_cleans_up_ends_it_for_good(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stopping while a closed connection waits for its pinger to end: the stop is not
    swallowed by that wait (it was: the connection reconnected, and the stop never ended)."""
    ws = rig.platform.ws
    assert ws is not None
    ws.backoff_seconds = 0.01
    cleaning, finish = asyncio.Event(), asyncio.Event()
    ping = LongConnection._ping

    async def slow_to_end(self: LongConnection, sock: Any) -> None:
        try:
            await ping(self, sock)
        finally:  # a pinger that takes a moment to end
            cleaning.set()
            await finish.wait()

    monkeypatch.setattr(LongConnection, "_ping", slow_to_end)
    for sock in list(rig.double.ws_live):
        await sock.close()
    await until(lambda: ws.connects >= 2, "reconnect")  # its pinger is the slow one
    for sock in list(rig.double.ws_live):
        await sock.close()
    await asyncio.wait_for(cleaning.wait(), timeout=5)  # the connection waits for it
    stopping = asyncio.create_task(ws.stop())
    await asyncio.sleep(0.05)
    finish.set()
    done, _ = await asyncio.wait({stopping}, timeout=5)
    ws.superseded = True  # a stop that did not take must not leave it reconnecting
    assert stopping in done and not ws.running
    assert ws.connects == 2  # no connection made after the stop


async def test_a_stop_that_comes_with_the_subscribe_ack_is_not_lost(
        tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection is stopped in the very turn its subscribe ack arrives. (On Python 3.11
    asyncio.wait_for then returned the ack and dropped the stop: the connection lived on.)"""
    r = await start_rig(tmp_path, clock, mode="websocket", webhooks={})
    ws = r.platform.ws
    assert ws is not None
    frame = LongConnection._next_frame

    async def ack_and_stop(self: LongConnection, sock: Any) -> dict[str, Any] | None:
        got = await frame(self, sock)
        if self.connects == 0 and self._task is not None:
            self._task.cancel()  # the stop, as the ack arrives
        return got

    monkeypatch.setattr(LongConnection, "_next_frame", ack_and_stop)
    try:
        await r.platform.start()
        await until(lambda: r.double.ws_subscribes != [], "the subscription")
        task = ws._task
        assert task is not None
        done, _ = await asyncio.wait({task}, timeout=5)
        ws.superseded = True  # a stop that was lost must not outlive the test
        assert task in done and task.cancelled()
        assert not ws.connected.is_set() and len(r.double.ws_subscribes) == 1
    finally:
        await r.close()


async def test_a_wrong_secret_is_refused_and_retried_with_backoff(tmp_path: Path,
                                                                  clock: FrozenClock) -> None:
    r = await start_rig(tmp_path, clock, mode="websocket", secret="wrong")
    try:
        assert r.platform.ws is not None
        r.platform.ws.backoff_seconds = 0.01
        await r.platform.start()
        await until(lambda: len(r.double.ws_subscribes) >= 3, "retries")
        assert not r.platform.ws.connected.is_set()
    finally:
        await r.close()


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_binary_frames_with_raw_control_characters_are_read(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    d = rig.double
    d.binary_every, d.raw_controls = 1, True  # every frame binary, control characters raw
    text = "点单：不锈钢薄板焊接后变形严重\r\n想请焊接师傅来厂指导\x07\t联系人吴经理 13867201234"
    await d.push(d.message(text, userid="wu"))
    await until(lambda: rig.app.store.get_order(1) is not None, "the order")
    await rig.settle()
    [reply] = d.sent  # its ack came back as a binary frame too
    assert reply.via == "respond" and "已收到点单 #1" in reply.content
    assert problems(caplog) == []
    # What the double sends is what a strict parser refuses (the Node SDK strips such
    # characters, the Python SDK decodes binary frames).
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw_controls(json.dumps({"t": text}, ensure_ascii=False)))


async def test_a_binary_frame_that_is_not_utf8_json_is_skipped_with_one_warning(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    assert rig.platform.ws is not None
    d = rig.double
    await d.send_raw(b"\xff\xfe\x00not UTF-8")
    await d.send_raw(b'{"cmd": "aibot_msg_callback", ')
    await d.push(d.message(ORDER, userid="wu"))
    await until(lambda: rig.app.store.get_order(1) is not None, "the order")
    await rig.settle()
    assert [p.via for p in d.sent] == ["respond"]
    warned = problems(caplog)
    assert len(warned) == 2, warned  # one line for each bad frame, no traceback
    assert all("frame was ignored" in w for w in warned)
    assert not [r for r in caplog.records if r.exc_info]
    assert rig.platform.ws.connects == 1  # the connection was kept


async def noop(body: dict[str, Any], req_id: str) -> None:
    """A second instance's handler: it only needs to hold the connection."""


async def test_another_instance_taking_over_stops_this_one_for_good(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    first = rig.platform.ws
    assert first is not None
    first.backoff_seconds = 0.0  # a reconnect, were one made, would come at once
    second = LongConnection(rig.double.ws_url, "bot1", "s3cret", noop)
    second.start()
    try:
        await until(lambda: rig.double.kicked >= 1 and not first.running, "the first to stop")
        await until(second.connected.is_set, "the second to hold the connection")
        assert first.superseded and not first.connected.is_set()
        assert len(rig.double.ws_subscribes) == 2  # nobody came back to take it again
        assert rig.double.kicked == 1 and len(rig.double.ws_live) == 1
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, errors
        assert "another instance" in errors[0] and "[wecom] bot_id" in errors[0]
        assert not [r for r in caplog.records if r.exc_info]
        with pytest.raises(SendError):  # sending fails at once; the outbox keeps the items
            await first.request("aibot_send_msg", {"chatid": "wrgroup1"})
    finally:
        await second.stop()


def test_frames_are_parsed_leniently_about_control_characters_only() -> None:
    raw = '{"t": "a\x01\r\nb\x1f"}'
    assert parse_json(raw, strict=False) == {"t": "a\x01\r\nb\x1f"}
    assert parse_json(raw.encode(), strict=False) == {"t": "a\x01\r\nb\x1f"}
    with pytest.raises(BadRequest):
        parse_json(raw)  # the default stays strict (HTTP bodies, the local API)
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    for bad in (deep, '{"t": "\\ud800"}', '{"n": NaN}', b"\xff{}", '{"t": "a\x01"'):
        with pytest.raises(BadRequest):
            parse_json(bad, strict=False)
