"""Hostile input at the WeCom and DingTalk doors: 4xx (or handled), one warning, no traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from bot.app import App
from bot.model import FrozenClock
from bot.platforms.dingtalk import DingTalkPlatform
from bot.platforms.dingtalk_receive import StreamClient
from bot.platforms.dingtalk_sign import callback_sign
from tests.doubles_dingtalk import DingTalkDouble, dingtalk_app
from tests.doubles_wecom import Rig, WeComDouble, start_rig

Client = TestClient[web.Request, web.Application]
ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
DEEP = b"[" * 100_000 + b"]" * 100_000
SURROGATE = b'{"encrypt": "\\ud800"}'
BAD_STAMPS = ["9" * 300, "9" * 400, "\u00b2\u00b3", "\u0661\u0662\u0663", "12_3", " 123",
              "+123", "-1", "1e3"]


def clean(caplog: pytest.LogCaptureFixture) -> None:
    """No traceback anywhere in the log (no log.exception, no aiohttp 500 handler)."""
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert "Traceback" not in caplog.text


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# -- WeCom URL callback ------------------------------------------------------------------------


def sealed(d: WeComDouble, plain: str) -> tuple[dict[str, str], dict[str, str]]:
    """A callback whose decrypted text is `plain`, correctly encrypted and signed."""
    encrypt = d.crypto.encrypt(plain)
    ts, nonce = str(int(d.clock.now())), "4711"
    return ({"msg_signature": d.crypto.signature(ts, nonce, encrypt), "timestamp": ts,
             "nonce": nonce}, {"encrypt": encrypt})


async def wecom_get(d: WeComDouble, query: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(
            URL(f"{d.callback_url}?{query}", encoded=True)) as resp:
        return resp.status


async def test_wecom_body_that_is_not_safe_json_is_400_before_the_signature(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    d = rig.double
    query, _ = d.envelope(d.message(ORDER))
    for body in (SURROGATE, DEEP, b'{"encrypt": NaN}'):
        caplog.clear()
        assert (await d.post_callback(query, body)).status == 400
        assert len(warnings(caplog)) == 1
        clean(caplog)


async def test_wecom_timestamp_must_be_plain_digits(rig: Rig,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    d = rig.double
    query, body = d.envelope(d.message(ORDER))
    for stamp in BAD_STAMPS:
        caplog.clear()
        attempt = await d.post_callback({**query, "timestamp": stamp}, body)
        assert attempt.status == 400, stamp
        assert len(warnings(caplog)) == 1
        clean(caplog)
    got = await wecom_get(d, f"msg_signature=ab&timestamp={'9' * 300}&nonce=1&echostr=x")
    assert got == 400
    clean(caplog)


async def test_wecom_signature_that_is_not_hex_is_refused(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    d = rig.double
    query, body = d.envelope(d.message(ORDER))
    for sig in ("\u00e9" * 40, "x", query["msg_signature"] + "0"):
        assert (await d.post_callback({**query, "msg_signature": sig}, body)).status in (400,
                                                                                         403)
    ts = query["timestamp"]
    assert await wecom_get(d, f"msg_signature=%C3%A9&timestamp={ts}&nonce=1&echostr=x") in (
        400, 403)
    clean(caplog)


async def test_wecom_decrypted_payload_that_is_not_safe_json_is_400(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    d = rig.double
    good = json.dumps(d.message(ORDER), ensure_ascii=False)
    hostile = [good.replace(ORDER, "\\ud800"), "[" * 50_000 + "]" * 50_000,
               good.replace('"msgtype"', '"n": NaN, "msgtype"')]
    for plain in hostile:
        caplog.clear()
        assert (await d.post_callback(*sealed(d, plain))).status == 400
        assert len(warnings(caplog)) == 1
        clean(caplog)
    await rig.settle()
    assert d.sent == [] and rig.app.store.get_order(1) is None


async def test_wecom_create_time_out_of_range_is_handled_with_the_receive_time(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    d = rig.double
    for n, stamp in enumerate((1e300, -5, 10**30, "昨天", [1])):
        caplog.clear()
        payload = {**d.message(ORDER, msgid=f"m-time-{n}"), "create_time": stamp}
        attempt = await d.post_callback(*d.envelope(payload))
        assert attempt.status == 200
        await rig.settle()
        assert rig.app.store.seen("wecom", f"m-time-{n}") is not None
        assert len([w for w in warnings(caplog) if "create_time" in w]) == 1
        clean(caplog)
    assert rig.app.store.get_order(1) is not None


async def test_wecom_charset_in_the_content_type_does_not_matter(rig: Rig) -> None:
    d = rig.double
    query, body = d.envelope(d.message(ORDER))
    async with aiohttp.ClientSession() as http, http.post(
            d.callback_url, params=query, data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json; charset=bogus"}) as resp:
        assert resp.status == 200


# -- DingTalk HTTP callback --------------------------------------------------------------------


@dataclass
class Http:
    app: App
    platform: DingTalkPlatform
    client: Client
    double: DingTalkDouble
    clock: FrozenClock

    def headers(self, ts: str | None = None) -> dict[str, str]:
        stamp = ts or str(int(self.clock.now().timestamp() * 1000))
        return {"timestamp": stamp, "sign": callback_sign(stamp, self.double.client_secret)}

    async def post(self, body: Any, headers: dict[str, str] | None = None, *,
                   content_type: str = "application/json") -> int:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        resp = await self.client.post("/dingtalk/callback", data=data, headers={
            "Content-Type": content_type, **(headers or self.headers())})
        return resp.status


@pytest.fixture
async def http(tmp_path: Path, clock: FrozenClock, double: DingTalkDouble,
               aiohttp_client: Callable[[web.Application], Awaitable[Client]]
               ) -> AsyncIterator[Http]:
    app, platform = dingtalk_app(tmp_path, clock, double, mode="http")
    web_app = web.Application()
    web_app.add_routes(platform.routes())
    yield Http(app, platform, await aiohttp_client(web_app), double, clock)
    await platform.stop()
    app.store.db.close()


async def test_dingtalk_timestamp_must_be_plain_digits(
        http: Http, caplog: pytest.LogCaptureFixture) -> None:
    payload = http.double.message("查询 1")
    for stamp in [*BAD_STAMPS, "9" * 5000]:
        caplog.clear()
        assert await http.post(payload, {"timestamp": stamp, "sign": "AAAA"}) == 403, stamp
        assert len(warnings(caplog)) == 1
        clean(caplog)


async def test_dingtalk_sign_that_is_not_ascii_is_refused(
        http: Http, caplog: pytest.LogCaptureFixture) -> None:
    headers = {**http.headers(), "sign": "\u00e9"}
    assert await http.post(http.double.message("查询 1"), headers) == 403
    clean(caplog)


async def test_dingtalk_signed_body_that_is_not_safe_json_is_400(
        http: Http, caplog: pytest.LogCaptureFixture) -> None:
    payload = json.dumps(http.double.message("查询 1"), ensure_ascii=False)
    hostile = [DEEP, payload.replace("查询 1", "\\ud800").encode(), b"{oops",
               payload.replace('"msgtype"', '"n": Infinity, "msgtype"').encode()]
    for n, body in enumerate(hostile):
        caplog.clear()
        stamp = str(int(http.clock.now().timestamp() * 1000) + n)  # a fresh pair each time
        assert await http.post(body, http.headers(stamp)) == 400
        assert len(warnings(caplog)) == 1
        clean(caplog)
    await http.platform.stop()
    assert http.app.store.get_order(1) is None and http.app.store.pending_count() == 0


async def test_dingtalk_bogus_charset_is_ignored(http: Http,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    payload = http.double.message("查询 1")
    status = await http.post(payload, content_type="application/json; charset=bogus")
    assert status == 200
    await http.platform.stop()
    assert http.app.store.seen("dingtalk", payload["msgId"]) is not None
    clean(caplog)


async def test_dingtalk_create_at_out_of_range_is_handled_with_the_receive_time(
        http: Http, caplog: pytest.LogCaptureFixture) -> None:
    stamps: list[Any] = [10**20, "100000000000000000000", -(10**20), 1e20]
    sent = []
    for n, created in enumerate(stamps):
        payload = http.double.message("查询 1", createAt=created)
        stamp = str(int(http.clock.now().timestamp() * 1000) + n)
        assert await http.post(payload, http.headers(stamp)) == 200
        sent.append(payload["msgId"])
    await http.platform.stop()
    assert all(http.app.store.seen("dingtalk", mid) is not None for mid in sent)
    assert len([w for w in warnings(caplog) if "createAt" in w]) == len(stamps)
    clean(caplog)


async def test_dingtalk_timestamp_and_sign_are_accepted_once(
        http: Http, caplog: pytest.LogCaptureFixture) -> None:
    headers = http.headers()
    first, second = http.double.message("查询 1"), http.double.message("我的单")
    assert await http.post(first, headers) == 200
    caplog.clear()
    assert await http.post(second, headers) == 403  # a replay, even with another body
    assert await http.post(first, headers) == 403
    assert len(warnings(caplog)) == 2 and all("replay" in w for w in warnings(caplog))
    other = http.headers(str(int(headers["timestamp"]) + 1))
    assert await http.post(second, other) == 200  # the next millisecond is a new pair
    await http.platform.stop()
    assert http.app.store.seen("dingtalk", second["msgId"]) is not None
    clean(caplog)


async def test_dingtalk_replay_is_refused_after_a_restart_too(
        http: Http, tmp_path: Path, clock: FrozenClock, double: DingTalkDouble,
        aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> None:
    headers = http.headers()
    assert await http.post(http.double.message("查询 1"), headers) == 200
    await http.platform.stop()
    app, platform = dingtalk_app(tmp_path, clock, double, mode="http")  # the same database
    try:
        web_app = web.Application()
        web_app.add_routes(platform.routes())
        again = Http(app, platform, await aiohttp_client(web_app), double, clock)
        assert await again.post(double.message("我的单"), headers) == 403
        clock.advance(minutes=61)  # an hour on, the age check refuses it as well
        assert await again.post(double.message("我的单"), headers) == 403
        assert await again.post(double.message("我的单")) == 200  # a fresh pair
    finally:
        await platform.stop()
        app.store.db.close()


async def test_dingtalk_errcode_of_odd_digits_falls_back_without_a_crash(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble,
        caplog: pytest.LogCaptureFixture) -> None:
    app, platform = dingtalk_app(tmp_path, clock, double)
    try:
        await platform.receive(double.message("查询 1"))
        double.fail("webhook", 200, {"errcode": "\u00b2\u00b3", "errmsg": "?"})
        assert await app.outbox.drain() == 1
        assert [d.via for d in double.sent] == ["group"]  # the OpenAPI took over
        clean(caplog)
    finally:
        await platform.sender.close()
        app.store.db.close()


# -- DingTalk stream frames --------------------------------------------------------------------


class FakeSocket:
    """Collects what the stream client sends back (its ACKs)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, raw: str) -> None:
        self.sent.append(json.loads(raw))


def stream_client() -> tuple[StreamClient, FakeSocket, list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []
    client = StreamClient(endpoint="http://127.0.0.1:9", client_id="id", client_secret="s",
                          on_message=got.append)
    sock = FakeSocket()
    client.websocket = sock  # type: ignore[assignment]
    return client, sock, got


def frame(data: str, *, mid: str = "m1", topic: str = "/v1.0/im/bot/messages/get") -> str:
    return json.dumps({"type": "CALLBACK", "data": data,
                       "headers": {"messageId": mid, "topic": topic}})


async def test_dingtalk_stream_frames_that_are_not_safe_json_are_skipped(
        caplog: pytest.LogCaptureFixture) -> None:
    client, sock, got = stream_client()
    good = json.dumps({"msgId": "x", "text": {"content": "hi"}})
    cases: list[str | bytes] = [
        DEEP.decode(), b"\xff\xfe", "\udc00",
        frame(good).replace('"CALLBACK"', '"\\udc00"'),  # a lone surrogate in the frame
        frame("[" * 50_000 + "]" * 50_000, mid="m1"),  # data too deep: ACKed, skipped
        frame(good.replace('"x"', '"\\udc00"'), mid="m2"),  # data with a lone surrogate
    ]
    for raw in cases:
        caplog.clear()
        assert await client.handle_frame(raw) == ""
        assert len(warnings(caplog)) == 1, raw[:40]
        clean(caplog)
    assert got == []
    assert [a["headers"]["messageId"] for a in sock.sent] == ["m1", "m2"]


async def test_dingtalk_stream_message_with_create_at_out_of_range_is_handled(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble,
        caplog: pytest.LogCaptureFixture) -> None:
    app, platform = dingtalk_app(tmp_path, clock, double)
    try:
        payload = double.message("查询 1", createAt=10**20)
        handled = await platform.receive(payload)
        assert handled is not None and not handled.duplicate
        assert app.store.seen("dingtalk", payload["msgId"]) is not None
        assert len([w for w in warnings(caplog) if "createAt" in w]) == 1
        clean(caplog)
    finally:
        await platform.sender.close()
        app.store.db.close()


# -- WeCom long connection ---------------------------------------------------------------------


class FakeWs:
    """Feeds the long connection text frames, then a close."""

    def __init__(self, *frames: str) -> None:
        self.frames = list(frames)

    async def receive(self) -> aiohttp.WSMessage:
        if not self.frames:
            return aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, None, None)
        return aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, self.frames.pop(0), None)


async def test_wecom_long_connection_frames_that_are_not_safe_json_are_skipped(
        tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    r = await start_rig(tmp_path, clock, mode="websocket", webhooks={})
    try:
        assert r.platform.ws is not None
        good = json.dumps({"cmd": "ping", "headers": {"req_id": "r1"}, "errcode": 0})
        ws = FakeWs("[" * 50_000 + "]" * 50_000, good.replace('"r1"', '"\\ud800"'),
                    '{"n": NaN}', "[1, 2]", good)
        frame = await r.platform.ws._next_frame(ws)  # type: ignore[arg-type]
        assert frame == json.loads(good)  # the four bad ones were skipped
        assert len(warnings(caplog)) == 4
        clean(caplog)
    finally:
        await r.close()


async def test_wecom_long_connection_message_with_create_time_out_of_range_is_handled(
        tmp_path: Path, clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    r = await start_rig(tmp_path, clock, mode="websocket", webhooks={})
    try:
        body = {**r.double.message("查询 1", msgid="m-ws-time"), "create_time": 1e300}
        await r.platform.on_ws_message(body, "req-1")
        await r.platform.settle()
        assert r.app.store.seen("wecom", "m-ws-time") is not None
        assert len([w for w in warnings(caplog) if "create_time" in w]) == 1
        clean(caplog)
    finally:
        await r.close()
