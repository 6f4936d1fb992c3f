"""Property tests: arbitrary JSON in every field of every WeCom and DingTalk entry point gives a
2xx or 4xx, lets no exception escape, and leaves no traceback in the log."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from bot.app import App
from bot.model import FrozenClock
from bot.platforms.dingtalk import DingTalkPlatform
from bot.platforms.dingtalk_sign import callback_sign
from tests.doubles_dingtalk import BOT_TOPIC, DingTalkDouble, dingtalk_app
from tests.doubles_wecom import Rig, start_rig

Client = TestClient[web.Request, web.Application]
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"

# Any JSON value, and then some: huge integers, 1e300, strings with lone surrogates, and
# DEEP, which `dumps` writes as arrays nested 5,000 deep.
DEEP = "\x00deep\x00"
TEXT = st.text(st.characters(exclude_categories=()), max_size=30)
HOSTILE = st.sampled_from([1e300, -1e300, 1e20, 10**20, 10**30, 2**63, -1, 0, 1.5, "1e20",
                           "\u00b2\u00b3", "9" * 30, "", "\ud800", "a\udfffb", DEEP,
                           "<@all> [点我](http://evil) # 标题"])
SCALARS = st.one_of(HOSTILE, HOSTILE, st.none(), st.booleans(), st.integers(),
                    st.integers(min_value=-(10**400), max_value=10**400),
                    st.floats(allow_nan=False, allow_infinity=False), TEXT,
                    st.sampled_from([ORDER, "查询 1", "@匠心点单 我的单", "group", "single",
                                     "text", "stream", "mixed", "voice"]))
JSON = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(TEXT, kids, max_size=4), max_leaves=12)
HEADER_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40)
ids = itertools.count(1)


def dumps(value: Any) -> str:
    """JSON text as a client would send it (ASCII escapes keep lone surrogates sendable)."""
    return json.dumps(value, ensure_ascii=True).replace(
        json.dumps(DEEP), "[" * 5000 + "]" * 5000)


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info], caplog.text[-2000:]
    assert "Traceback" not in caplog.text


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], keys: list[str],
            nested: dict[str, list[str]]) -> Any:
    """`base` with arbitrary JSON in some of its fields (or inside some of its objects), or
    now and then an arbitrary JSON value instead of the whole payload."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    payload = json.loads(json.dumps(base))
    for key in draw(st.sets(st.sampled_from(keys), max_size=4)):
        payload[key] = draw(JSON)
    for key in draw(st.sets(st.sampled_from(sorted(nested)), max_size=2)):
        inner = payload.get(key) if isinstance(payload.get(key), dict) else {}
        inner[draw(st.sampled_from(nested[key]))] = draw(JSON)
        payload[key] = inner
    return payload


# -- WeCom ---------------------------------------------------------------------------------------

WECOM_KEYS = ["msgid", "aibotid", "chatid", "chattype", "from", "response_url", "msgtype",
              "text", "voice", "mixed", "quote", "stream", "create_time", "event", "image"]
WECOM_NESTED = {"text": ["content"], "from": ["userid"], "stream": ["id"],
                "quote": ["msgtype", "text"], "mixed": ["msg_item"]}


@FUZZ
@given(data=st.data())
async def test_wecom_decrypted_payload_fields(rig: Rig, caplog: pytest.LogCaptureFixture,
                                              data: st.DataObject) -> None:
    caplog.clear()
    d = rig.double
    base = d.message(ORDER, msgid=f"fz{next(ids)}")
    payload = data.draw(mutated(base, WECOM_KEYS, WECOM_NESTED))
    encrypt = d.crypto.encrypt(dumps(payload))
    ts, nonce = str(int(d.clock.now())), "4711"
    query = {"msg_signature": d.crypto.signature(ts, nonce, encrypt), "timestamp": ts,
             "nonce": nonce}
    attempt = await d.post_callback(query, {"encrypt": encrypt})
    assert attempt.status in (200, 400), attempt.text
    assert d.violations == []  # any passive reply is well formed
    await rig.settle()
    no_traceback(caplog)


def raw_query(params: dict[str, str]) -> str:
    return "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                    for k, v in params.items())


@FUZZ
@given(data=st.data())
async def test_wecom_query_parameters_and_body(rig: Rig, caplog: pytest.LogCaptureFixture,
                                               data: st.DataObject) -> None:
    caplog.clear()
    d = rig.double
    query, body = d.envelope(d.message(ORDER, msgid=f"fq{next(ids)}"))
    query["echostr"] = d.crypto.encrypt("12345")
    for name in data.draw(st.sets(st.sampled_from(sorted(query)), min_size=1, max_size=3)):
        value = data.draw(JSON)
        # Kept under aiohttp's 8 KB request line: past it aiohttp itself answers 400 (and
        # logs a traceback of its own, before any route runs).
        query[name] = (value if isinstance(value, str) else json.dumps(value))[:600]
    sent: Any = body if data.draw(st.booleans()) else data.draw(JSON)
    url = URL(f"{d.callback_url}?{raw_query(query)}", encoded=True)
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            assert resp.status in (200, 400, 403), await resp.text()
        async with http.post(url, data=dumps(sent).encode()) as resp:
            assert resp.status in (200, 400, 403, 413), await resp.text()
    await rig.settle()
    no_traceback(caplog)


class FakeWs:
    """The long connection's websocket, feeding the given text frames, then closing."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = frames

    async def receive(self) -> aiohttp.WSMessage:
        if not self.frames:
            return aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, None, None)
        return aiohttp.WSMessage(aiohttp.WSMsgType.TEXT, self.frames.pop(0), None)


@pytest.fixture
async def ws_rig(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Rig]:
    r = await start_rig(tmp_path, clock, mode="websocket", webhooks={})
    yield r
    await r.close()


@FUZZ
@given(data=st.data())
async def test_wecom_long_connection_frames(ws_rig: Rig, caplog: pytest.LogCaptureFixture,
                                            data: st.DataObject) -> None:
    caplog.clear()
    conn = ws_rig.platform.ws
    assert conn is not None
    body = data.draw(mutated(ws_rig.double.message(ORDER, msgid=f"fw{next(ids)}"),
                             WECOM_KEYS, WECOM_NESTED))
    frame: Any = {"cmd": "aibot_msg_callback", "headers": {"req_id": "r1"}, "body": body}
    if data.draw(st.integers(0, 3)) == 0:  # mostly the message, now and then the frame
        frame = data.draw(mutated(frame, ["cmd", "headers", "errcode"], {"headers": ["req_id"]}))
    raw = dumps(frame) if data.draw(st.integers(0, 9)) else data.draw(TEXT)
    got = await conn._next_frame(FakeWs([raw]))  # type: ignore[arg-type]
    if got is not None:
        conn._dispatch(got)
        while conn._handlers:
            await next(iter(conn._handlers))
    await ws_rig.platform.settle()
    no_traceback(caplog)


# -- DingTalk ------------------------------------------------------------------------------------

DINGTALK_KEYS = ["conversationId", "conversationType", "msgId", "senderStaffId", "senderId",
                 "senderNick", "text", "msgtype", "content", "createAt", "sessionWebhook",
                 "sessionWebhookExpiredTime", "isInAtList", "robotCode", "conversationTitle",
                 "atUsers"]
DINGTALK_NESTED = {"text": ["content", "repliedMsg", "isReplyMsg"],
                   "content": ["richText", "recognition", "downloadCode"]}


@pytest.fixture
async def dingtalk(tmp_path: Path, clock: FrozenClock, double: DingTalkDouble,
                   aiohttp_client: Callable[[web.Application], Awaitable[Client]]
                   ) -> AsyncIterator[tuple[App, DingTalkPlatform, Client]]:
    app, platform = dingtalk_app(tmp_path, clock, double, mode="http")
    web_app = web.Application()
    web_app.add_routes(platform.routes())
    yield app, platform, await aiohttp_client(web_app)
    await platform.stop()
    app.store.db.close()


@FUZZ
@given(data=st.data())
async def test_dingtalk_signed_callback_body_fields(
        dingtalk: tuple[App, DingTalkPlatform, Client], double: DingTalkDouble,
        clock: FrozenClock, caplog: pytest.LogCaptureFixture, data: st.DataObject) -> None:
    caplog.clear()
    _app, platform, client = dingtalk
    payload = data.draw(mutated(double.message(ORDER, msg_id=f"fd{next(ids)}"),
                                DINGTALK_KEYS, DINGTALK_NESTED))
    ts = str(int(clock.now().timestamp() * 1000) + next(ids))  # a fresh pair each time
    resp = await client.post("/dingtalk/callback", data=dumps(payload).encode(), headers={
        "Content-Type": data.draw(st.sampled_from(
            ["application/json", "application/json; charset=bogus", "text/plain", ""])),
        "timestamp": ts, "sign": callback_sign(ts, double.client_secret)})
    assert resp.status in (200, 400), await resp.text()
    while platform._tasks:
        await next(iter(platform._tasks))
    no_traceback(caplog)


@FUZZ
@given(timestamp=st.one_of(HEADER_TEXT, st.integers().map(str)), sign=HEADER_TEXT)
async def test_dingtalk_callback_headers(
        dingtalk: tuple[App, DingTalkPlatform, Client], double: DingTalkDouble,
        caplog: pytest.LogCaptureFixture, timestamp: str, sign: str) -> None:
    caplog.clear()
    _app, _platform, client = dingtalk
    resp = await client.post("/dingtalk/callback", json=double.message("查询 1"),
                             headers={"timestamp": timestamp, "sign": sign})
    assert resp.status == 403
    no_traceback(caplog)


class FakeSocket:
    async def send(self, raw: str) -> None:
        json.loads(raw)  # every ACK is JSON


@pytest.fixture
async def stream(tmp_path: Path, clock: FrozenClock, double: DingTalkDouble
                 ) -> AsyncIterator[tuple[App, DingTalkPlatform]]:
    app, platform = dingtalk_app(tmp_path, clock, double)
    assert platform.client is not None
    platform.client.websocket = FakeSocket()  # type: ignore[assignment]
    yield app, platform
    await platform.sender.close()
    app.store.db.close()


@FUZZ
@given(data=st.data())
async def test_dingtalk_stream_frames(stream: tuple[App, DingTalkPlatform],
                                      caplog: pytest.LogCaptureFixture,
                                      double: DingTalkDouble, data: st.DataObject) -> None:
    caplog.clear()
    _app, platform = stream
    client = platform.client
    assert client is not None
    payload = data.draw(mutated(double.message(ORDER, msg_id=f"fs{next(ids)}"),
                                DINGTALK_KEYS, DINGTALK_NESTED))
    frame: Any = {"specVersion": "1.0", "type": "CALLBACK", "data": dumps(payload),
                  "headers": {"messageId": "m1", "topic": BOT_TOPIC,
                              "contentType": "application/json"}}
    if data.draw(st.integers(0, 3)) == 0:  # mostly the message, now and then the frame
        frame = data.draw(mutated(frame, ["type", "data", "headers", "specVersion"],
                                  {"headers": ["messageId", "topic", "time"]}))
    raw = dumps(frame) if data.draw(st.integers(0, 9)) else data.draw(TEXT)
    got: list[dict[str, Any]] = []
    client.on_message = got.append
    assert await client.handle_frame(raw) in ("", "disconnect")
    for message in got:
        await platform.receive(message)
    no_traceback(caplog)


def test_the_log_check_would_see_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("bot.platforms").exception("failed")
    with pytest.raises(AssertionError):
        no_traceback(caplog)
