"""WeCom events: enter_chat is answered with a welcome (long connection: aibot_respond_welcome_msg
under the event's req_id; URL callback: the passive reply), every other event is logged and
ignored; fuzzed event payloads on both paths let nothing escape and leave no traceback."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.model import FrozenClock
from bot.platforms.wecom_events import welcome_body
from bot.platforms.wecom_payload import event_type
from tests.doubles_wecom import Rig, passive_types, start_linked, until
from tests.doubles_wecom_ws import raw_controls
from tests.test_fuzz_platforms import FUZZ, JSON, dumps, mutated, no_traceback

WELCOME = "aibot_respond_welcome_msg"
EVENTS = ["enter_chat", "template_card_event", "feedback_event", "some_new_event", ""]
EVENT_KEYS = ["msgid", "create_time", "aibotid", "chatid", "chattype", "from", "msgtype",
              "event", "response_url"]
EVENT_NESTED = {"event": ["eventtype", "enter_chat", "template_card_event", "feedback_event"],
                "from": ["userid", "corpid"]}
ids = itertools.count(1)


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def nothing_stored(rig: Rig, msgid: str) -> None:
    """An event makes no order, no message row and nothing to send later."""
    assert rig.app.store.get_order(1) is None
    assert rig.app.store.seen("wecom", msgid) is None


def is_welcome(content: str) -> bool:
    return "匠心点单" in content and "「点单：问题描述」" in content and "「帮助」" in content


@pytest.fixture
async def linked(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Rig]:
    """The bot holding the long connection to the double."""
    r = await start_linked(tmp_path, clock)
    yield r
    await r.close()


# -- long connection ----------------------------------------------------------------------------


async def test_enter_chat_gets_the_welcome_under_its_req_id(
        linked: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    d = linked.double
    req_id = await d.push_event(d.event("enter_chat", userid="wu", msgid="ev-enter"))
    await until(lambda: bool(d.posts), "the welcome")
    [post] = d.posts
    assert (post.via, post.target, post.errcode) == ("welcome", req_id, 0)
    assert post.body["msgtype"] == "text" and is_welcome(post.content)
    await linked.settle()
    assert len(d.posts) == 1  # nothing went through the outbox
    nothing_stored(linked, "ev-enter")
    assert problems(caplog) == []


async def test_a_repeated_enter_chat_is_welcomed_once(linked: Rig) -> None:
    d = linked.double
    event = d.event("enter_chat", userid="wu", msgid="ev-twice")
    first = await d.push_event(event)
    await until(lambda: len(d.posts) == 1, "the welcome")
    await d.push_event(event)  # WeCom may deliver an event again (doc: dedupe on msgid)
    last = await d.push_event(d.event("enter_chat", userid="li", msgid="ev-other"))
    await until(lambda: len(d.posts) == 2, "the other welcome")
    assert [p.target for p in d.posts] == [first, last]
    assert all(p.errcode == 0 for p in d.posts)


async def test_other_events_are_logged_and_ignored(
        linked: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    d = linked.double
    await d.push_event(d.event("template_card_event", chattype="group", msgid="ev-card",
                               detail={"card_type": "button_interaction", "event_key": "k1",
                                       "task_id": "t1"}))
    await d.push_event(d.event("feedback_event", msgid="ev-feedback",
                               detail={"id": "fb1", "type": 1}))
    last = await d.push_event(d.event("enter_chat", msgid="ev-last"))
    await until(lambda: bool(d.posts), "the welcome after them")
    await linked.settle()
    assert [(p.via, p.target) for p in d.posts] == [("welcome", last)]  # no "不明白"
    text = caplog.text
    assert "template_card_event" in text and "feedback_event" in text
    nothing_stored(linked, "ev-card")
    assert linked.app.store.seen("wecom", "ev-feedback") is None
    assert problems(caplog) == []


async def test_the_double_takes_a_welcome_once_and_within_five_seconds(
        linked: Rig, clock: FrozenClock) -> None:
    conn = linked.platform.ws
    assert conn is not None
    d = linked.double
    body = {"msgtype": "text", "text": {"content": "您好"}}
    late = d.event_frame(d.event("enter_chat"))["headers"]["req_id"]
    clock.advance(seconds=6)
    assert (await conn.request(WELCOME, body, req_id=late))["errcode"] != 0
    fresh = d.event_frame(d.event("enter_chat"))["headers"]["req_id"]
    card = d.event_frame(d.event("template_card_event"))["headers"]["req_id"]
    markdown = {"msgtype": "markdown", "markdown": {"content": "您好"}}
    assert (await conn.request(WELCOME, markdown, req_id=fresh))["errcode"] != 0
    assert (await conn.request(WELCOME, body, req_id=card))["errcode"] != 0
    assert (await conn.request(WELCOME, body, req_id=fresh))["errcode"] == 0
    assert (await conn.request(WELCOME, body, req_id=fresh))["errcode"] != 0


# -- URL callback ---------------------------------------------------------------------------------


async def test_enter_chat_by_callback_gets_the_welcome_as_the_passive_reply(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    d = rig.double
    attempt = await d.deliver_event(d.event("enter_chat", userid="wu", msgid="cb-enter"))
    assert attempt.status == 200 and attempt.reply is not None
    assert attempt.reply["msgtype"] == "text" and is_welcome(attempt.reply["text"]["content"])
    assert attempt.seconds < 1.0  # well within WeCom's 5 s
    assert d.violations == []
    await rig.settle()
    assert d.posts == []
    nothing_stored(rig, "cb-enter")
    assert problems(caplog) == []


async def test_other_events_by_callback_get_an_empty_answer(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    d = rig.double
    for kind in ("template_card_event", "feedback_event", "some_new_event"):
        attempt = await d.deliver_event(d.event(kind, msgid=f"cb-{kind}"))
        assert (attempt.status, attempt.text) == (200, "")
    await rig.settle()
    assert d.posts == [] and d.violations == []
    assert "template_card_event" in caplog.text and "feedback_event" in caplog.text
    nothing_stored(rig, "cb-template_card_event")
    assert problems(caplog) == []


# -- fuzz -----------------------------------------------------------------------------------------


@st.composite
def event_payload(draw: st.DrawFn, rig: Rig) -> Any:
    """An event (enter_chat weighted in) with arbitrary JSON in some fields."""
    kind = draw(st.one_of(st.just("enter_chat"), st.sampled_from(EVENTS)))
    base = rig.double.event(kind, msgid=f"fe{next(ids)}",
                            chattype=draw(st.sampled_from(["single", "group"])))
    return draw(mutated(base, EVENT_KEYS, EVENT_NESTED))


def enter_chat(payload: Any) -> bool:
    return isinstance(payload, dict) and event_type(payload) == "enter_chat"


@FUZZ
@given(data=st.data())
async def test_fuzz_event_callbacks(rig: Rig, caplog: pytest.LogCaptureFixture,
                                    data: st.DataObject) -> None:
    caplog.clear()
    d = rig.double
    payload = data.draw(event_payload(rig))
    encrypt = d.crypto.encrypt(dumps(payload))
    ts, nonce = str(int(d.clock.now())), "4711"
    query = {"msg_signature": d.crypto.signature(ts, nonce, encrypt), "timestamp": ts,
             "nonce": nonce}
    attempt = await d.post_callback(query, {"encrypt": encrypt}, passive=passive_types(payload))
    assert attempt.status in (200, 400), attempt.text
    assert d.violations == []  # a welcome only to enter_chat, nothing to other events
    if attempt.status == 200 and enter_chat(payload) and payload.get("msgtype") == "event":
        assert attempt.reply == welcome_body()  # whatever else the event holds
    await rig.settle()
    assert rig.app.store.get_order(1) is None
    no_traceback(caplog)


class FakeWs:
    """Feeds the long connection the given frames (bytes as binary frames), then a close."""

    def __init__(self, frames: list[str | bytes]) -> None:
        self.frames = frames

    async def receive(self) -> aiohttp.WSMessage:
        if not self.frames:
            return aiohttp.WSMessage(aiohttp.WSMsgType.CLOSE, None, None)
        data = self.frames.pop(0)
        kind = aiohttp.WSMsgType.BINARY if isinstance(data, bytes) else aiohttp.WSMsgType.TEXT
        return aiohttp.WSMessage(kind, data, None)


welcomed: dict[int, set[str]] = {}  # per connection: the msgids whose welcome was taken


@FUZZ
@given(data=st.data())
async def test_fuzz_event_frames(linked: Rig, caplog: pytest.LogCaptureFixture,
                                 data: st.DataObject) -> None:
    caplog.clear()
    conn = linked.platform.ws
    assert conn is not None
    d = linked.double
    frame: Any = d.event_frame(data.draw(event_payload(linked)))
    req_id = frame["headers"]["req_id"]
    if data.draw(st.integers(0, 3)) == 0:  # mostly the event, now and then the frame
        frame = data.draw(mutated(frame, ["cmd", "headers", "body"], {"headers": ["req_id"]}))
    raw = dumps(frame) if data.draw(st.integers(0, 9)) else dumps(data.draw(JSON))
    if data.draw(st.booleans()):
        raw = raw_controls(raw)  # control characters raw inside strings
    sent: str | bytes = raw
    if data.draw(st.booleans()):  # a binary frame: UTF-8 JSON, or now and then garbage
        sent = raw.encode("utf-8") if data.draw(st.integers(0, 5)) else \
            data.draw(st.binary(max_size=40))
    accepted = sum(p.errcode == 0 for p in d.posts)
    got = await conn._next_frame(FakeWs([sent]))  # type: ignore[arg-type]
    if got is not None:
        conn._dispatch(got)
        while conn._handlers:
            await next(iter(conn._handlers))
    await linked.platform.settle()
    assert conn.connected.is_set() and not conn.superseded
    seen = welcomed.setdefault(id(conn), set())
    body = got.get("body") if got else None
    msgid = body.get("msgid") if isinstance(body, dict) else None
    headers = got.get("headers") if got else None
    expected = (got is not None and got.get("cmd") == "aibot_event_callback"
                and enter_chat(body) and isinstance(headers, dict)
                and headers.get("req_id") == req_id
                and not (isinstance(msgid, str) and msgid in seen))
    assert sum(p.errcode == 0 for p in d.posts) == accepted + expected
    if expected and isinstance(msgid, str) and msgid:
        seen.add(msgid)
    assert linked.app.store.get_order(1) is None
    no_traceback(caplog)
