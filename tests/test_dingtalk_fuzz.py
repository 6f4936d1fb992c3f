"""Property tests: arbitrary JSON in every field of a DingTalk card callback and of picture,
rich text, file, voice and video messages lets no exception escape and leaves no traceback in
the log (the style of test_fuzz_platforms.py)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.app import App
from bot.platforms.dingtalk import DingTalkPlatform
from bot.platforms.dingtalk_cards import CARD_TOPIC, parse_press
from bot.platforms.dingtalk_inbound import to_incoming
from bot.web.jsonbody import BadRequest, parse_json
from tests.doubles_dingtalk import DingTalkDouble, dingtalk_app
from tests.fakes import FrozenClock, add_expert
from tests.test_fuzz_platforms import FUZZ, JSON, ORDER, TEXT, dumps, ids, mutated, no_traceback

CARD_KEYS = ["outTrackId", "userId", "type", "content", "corpId", "extension", "spaceType",
             "spaceId", "userIdType"]
PRIVATE_KEYS = ["actionIds", "params"]
MEDIA_KEYS = ["msgtype", "content", "conversationType", "senderStaffId", "msgId"]
CONTENT = {"content": ["downloadCode", "pictureDownloadCode", "fileName", "richText",
                       "recognition", "duration", "videoType", "spaceId", "fileId"]}
KINDS = st.sampled_from(["picture", "richText", "file", "audio", "video"])


class FakeSocket:
    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []

    async def send(self, raw: str) -> None:
        self.acks.append(json.loads(raw))  # every ACK is JSON


@pytest.fixture
async def carded(tmp_path: Path, clock: FrozenClock, double: DingTalkDouble
                 ) -> AsyncIterator[tuple[App, DingTalkPlatform, dict[str, Any]]]:
    """A bot with one order announced as a card; the callback data of a real press on it."""
    app, platform = dingtalk_app(tmp_path, clock, double)
    add_expert(app, "staff-welder", "沈国平", ("焊接", "焊接变形", "不锈钢"), platform="dingtalk")
    await platform.receive(double.message(ORDER))
    await app.outbox.drain()
    card = double.cards.of("已收到点单 #1")
    button = card.buttons[0]
    press = {"extension": "{}", "corpId": "dingcorp0001", "userId": "staff-welder",
             "userIdType": 1, "outTrackId": card.track, "spaceType": card.space,
             "spaceId": card.target, "type": "actionCallback",
             "content": {"cardPrivateData": {"actionIds": [button["id"]],
                                             "params": button["params"]}}}
    yield app, platform, press
    await platform.sender.close()
    app.store.db.close()


@FUZZ
@given(data=st.data())
async def test_card_callbacks(carded: tuple[App, DingTalkPlatform, dict[str, Any]],
                              caplog: pytest.LogCaptureFixture, data: st.DataObject) -> None:
    caplog.clear()
    _app, platform, press = carded
    client = platform.client
    assert client is not None
    socket = FakeSocket()
    client.websocket = socket  # type: ignore[assignment]
    payload = data.draw(mutated(press, CARD_KEYS, {"content": ["cardPrivateData"]}))
    if isinstance(payload, dict) and isinstance(payload.get("content"), dict):
        inner = payload["content"]
        private = inner.get("cardPrivateData")
        if isinstance(private, dict) and data.draw(st.booleans()):
            inner["cardPrivateData"] = data.draw(mutated(private, PRIVATE_KEYS,
                                                         {"params": ["button", "x"]}))
        if data.draw(st.integers(0, 3)):  # as DingTalk sends it: a JSON string
            payload["content"] = dumps(inner)
    frame = {"specVersion": "1.0", "type": "CALLBACK", "data": dumps(payload),
             "headers": {"messageId": f"card-{next(ids)}", "topic": CARD_TOPIC,
                         "contentType": "application/json"}}
    seen: list[tuple[dict[str, Any], str]] = []

    def on_card(got: dict[str, Any], mid: str) -> concurrent.futures.Future[dict[str, Any]]:
        seen.append((got, mid))
        done: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        done.set_result({})
        return done

    client.on_card = on_card
    assert await client.handle_frame(dumps(frame)) == ""
    for got, mid in seen:  # the press itself, on the bot's loop
        answer = await platform.board.press(got, mid)
        assert isinstance(answer, dict)
        json.dumps(answer)
    await asyncio.gather(*client._answering)
    assert [ack["code"] for ack in socket.acks] == [200]
    assert isinstance(json.loads(socket.acks[0]["data"])["response"], dict)
    no_traceback(caplog)


@FUZZ
@given(data=st.data(), kind=KINDS)
async def test_picture_file_voice_and_video_messages(
        carded: tuple[App, DingTalkPlatform, dict[str, Any]], double: DingTalkDouble,
        caplog: pytest.LogCaptureFixture, data: st.DataObject, kind: str) -> None:
    caplog.clear()
    _app, platform, _press = carded
    contents: dict[str, dict[str, Any]] = {
        "picture": {"downloadCode": double.media.add_file(b"\xff\xd8\xff" + bytes(20))},
        "richText": {"richText": [{"text": "见图"}, {"downloadCode": "dc", "type": "picture"}]},
        "file": {"downloadCode": "dc", "fileName": "图纸.pdf"},
        "audio": {"downloadCode": "dc", "duration": 3000, "recognition": "查询 1"},
        "video": {"downloadCode": "dc", "duration": 5, "videoType": "mp4"},
    }
    content = contents[kind]
    base = double.media.message(kind, content, msg_id=f"fm{next(ids)}",
                                group=data.draw(st.booleans()))
    payload = data.draw(mutated(base, MEDIA_KEYS, CONTENT))
    try:
        decoded = parse_json(dumps(payload))  # as the Stream and the callback read it
    except BadRequest:
        return  # skipped there, with a warning
    await platform.receive(decoded)
    no_traceback(caplog)


@FUZZ
@given(value=JSON, content=JSON, user=st.one_of(TEXT, JSON))
def test_parsing_never_raises(value: Any, content: Any, user: Any) -> None:
    assert parse_press(value) is None or isinstance(value, dict)
    press = parse_press({"outTrackId": "dd1-" + "a" * 20, "userId": user,
                         "content": dumps(content)})
    assert press is None or 0 <= press.button < 100
    for kind in ("picture", "richText", "file", "audio", "video"):
        msg = to_incoming({"msgId": "m", "conversationId": "c", "senderStaffId": "s",
                           "conversationType": "1", "msgtype": kind, "content": value})
        assert msg is None or all(a.ref for a in msg.attachments)
