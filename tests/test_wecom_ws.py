"""WeCom long-connection mode against the double: subscribe, ping, callbacks, replies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.model import FrozenClock, Outgoing
from tests.doubles_wecom import Rig, start_rig
from tests.fakes import add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


async def until(cond: Callable[[], bool], what: str) -> None:
    """Bounded wait for the websocket task to act (real I/O, not time logic)."""
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def rig(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Rig]:
    r = await start_rig(tmp_path, clock, mode="websocket", webhooks={})
    assert r.platform.ws is not None
    r.platform.ws.ping_seconds = 0.05
    add_expert(r.app, "e1", "沈国平", ("焊接", "焊接变形", "不锈钢"), platform="wecom")
    await r.platform.start()
    await until(r.platform.ws.connected.is_set, "subscribe")
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
    assert reply.body["msgtype"] == "stream" and reply.body["stream"]["finish"] is True
    assert "已收到点单 #1" in reply.content and "<@e1>" in reply.content
    # The expert claims in the group; the 1:1 notice goes by aibot_send_msg to the user.
    await d.push(d.message("接单 1", userid="e1"))
    await until(lambda: getattr(rig.app.store.get_order(1), "lead", None) is not None,
                "the claim")
    await rig.settle()
    vias = {(p.via, p.target) for p in d.sent}
    assert ("send_msg", "e1") in vias
    assert any("接单成功 #1" in p.content for p in d.sent)
    assert all(p.errcode == 0 for p in d.posts)


async def test_proactive_post_goes_by_aibot_send_msg(rig: Rig) -> None:
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
