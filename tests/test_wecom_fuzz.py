"""Fuzzed WeCom card presses (template_card_event) and picture, file, voice and mixed messages,
by URL callback and over the long connection: arbitrary JSON in every field lets no exception
escape, leaves no traceback in the log, and a card update, when there is one, is one WeCom
takes."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.model import Button, FrozenClock, Outgoing
from bot.platforms.wecom_cards import card, new_task_id
from storage.records import NewOrder
from tests.doubles_wecom import UPDATE_CARD, Rig, passive_types, start_linked
from tests.doubles_wecom_cards import Card
from tests.doubles_wecom_messages import PNG
from tests.doubles_wecom_ws import raw_controls
from tests.fakes import add_expert
from tests.test_fuzz_platforms import FUZZ, JSON, dumps, mutated, no_traceback
from tests.test_wecom_events import FakeWs

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
PRESS_KEYS = ["msgid", "create_time", "aibotid", "from", "chatid", "chattype", "response_url",
              "msgtype", "event"]
DETAIL_KEYS = ["card_type", "event_key", "task_id", "selected_items"]
MEDIA_KEYS = ["msgid", "aibotid", "chatid", "chattype", "from", "response_url", "msgtype",
              "image", "file", "voice", "mixed", "quote", "create_time"]
MEDIA_NESTED = {"image": ["url", "aeskey"], "file": ["url", "aeskey"], "voice": ["content"],
                "mixed": ["msg_item"], "from": ["userid"]}
ids = itertools.count(1)


@pytest.fixture
async def linked(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Rig]:
    r = await start_linked(tmp_path, clock)
    yield r
    await r.close()


def bot_card(rig: Rig) -> Card:
    """A card of the bot about order #1 (made once per rig), as WeCom shows it."""
    if rig.app.store.get_order(1) is None:
        add_expert(rig.app, "e1", "沈国平", ("焊接", "焊接变形"), platform="wecom")
        rig.app.store.enqueue(Outgoing("wecom", "wrgroup1", "已收到点单 #1"))  # item 1
        rig.app.store.enqueue(Outgoing(
            "wecom", "wrgroup1", "#1 待接单", buttons=(Button("接单", "接单 1"),
                                                     Button("协助", "协助 1")),
            card="order:1"))
        rig.app.store.create_order(NewOrder("wecom", "wrgroup1", "group", "wecom:wu", "wu",
                                            ORDER), "wecom:wu")
    item = rig.app.store.outbox_item(2)
    assert item is not None
    task_id = new_task_id(item, False)
    return Card("wrgroup1", "group", card(item, task_id, False, "待接单"), "respond")


@st.composite
def press_payload(draw: st.DrawFn, rig: Rig) -> Any:
    """A press of the bot's card, with arbitrary JSON in some fields of it or of its event."""
    base = rig.double.press(bot_card(rig), draw(st.sampled_from(["接单", "协助"])),
                            draw(st.sampled_from(["e1", "wu"])), msgid=f"fp{next(ids)}")
    payload = draw(mutated(base, PRESS_KEYS, {"event": ["eventtype", "template_card_event"],
                                              "from": ["userid", "corpid"]}))
    detail = (payload.get("event") or {}).get("template_card_event") if isinstance(
        payload, dict) and isinstance(payload.get("event"), dict) else None
    if isinstance(detail, dict):
        for key in draw(st.sets(st.sampled_from(DETAIL_KEYS), max_size=2)):
            detail[key] = draw(JSON)
    return payload


def callback_query(rig: Rig, payload: Any) -> tuple[dict[str, str], dict[str, str]]:
    d = rig.double
    encrypt = d.crypto.encrypt(dumps(payload))
    ts, nonce = str(int(d.clock.now())), "4711"
    return ({"msg_signature": d.crypto.signature(ts, nonce, encrypt), "timestamp": ts,
             "nonce": nonce}, {"encrypt": encrypt})


@FUZZ
@given(data=st.data())
async def test_fuzz_press_callbacks(rig: Rig, caplog: pytest.LogCaptureFixture,
                                    data: st.DataObject) -> None:
    caplog.clear()
    d = rig.double
    payload = data.draw(press_payload(rig))
    msgid = payload.get("msgid") if isinstance(payload, dict) else None
    d.expect_press(str(msgid), payload)
    attempt = await d.post_callback(*callback_query(rig, payload),
                                    passive=passive_types(payload))
    assert attempt.status in (200, 400), attempt.text
    assert attempt.seconds < 5
    if attempt.reply is not None and UPDATE_CARD in passive_types(payload):
        assert d.take_update(str(msgid), attempt.reply) == 0  # of the pressed card, well formed
    assert d.violations == []
    await rig.settle()
    no_traceback(caplog)


@FUZZ
@given(data=st.data())
async def test_fuzz_press_frames(linked: Rig, caplog: pytest.LogCaptureFixture,
                                 data: st.DataObject) -> None:
    caplog.clear()
    conn = linked.platform.ws
    assert conn is not None
    d = linked.double
    frame: Any = d.event_frame(data.draw(press_payload(linked)))
    if data.draw(st.integers(0, 3)) == 0:
        frame = data.draw(mutated(frame, ["cmd", "headers", "body"], {"headers": ["req_id"]}))
    raw = dumps(frame)
    if data.draw(st.booleans()):
        raw = raw_controls(raw)
    got = await conn._next_frame(FakeWs([raw.encode() if data.draw(st.booleans()) else raw]))  # type: ignore[arg-type]
    if got is not None:
        conn._dispatch(got)
        while conn._handlers:
            await next(iter(conn._handlers))
    await linked.platform.settle()
    assert conn.connected.is_set() and not conn.superseded
    d.violations.clear()  # a mutated req_id may answer an older press late: refused, logged
    no_traceback(caplog)


@st.composite
def media_payload(draw: st.DrawFn, rig: Rig) -> Any:
    d = rig.double
    kind = draw(st.sampled_from(["picture", "document", "voice", "mixed"]))
    if kind == "picture":
        base = d.picture(PNG, msgid=f"fm{next(ids)}")
    elif kind == "document":
        base = d.document(b"%PDF-1.4 " * 20, "图纸.pdf")
    elif kind == "voice":
        base = d.voice(draw(st.sampled_from(["", "查询 1", ORDER])))
    else:
        base = d.mixed(ORDER, [PNG], chattype=draw(st.sampled_from(["group", "single"])))
    return draw(mutated(json.loads(json.dumps(base)), MEDIA_KEYS, MEDIA_NESTED))


@FUZZ
@given(data=st.data())
async def test_fuzz_media_callbacks(rig: Rig, caplog: pytest.LogCaptureFixture,
                                    data: st.DataObject) -> None:
    caplog.clear()
    d = rig.double
    attempt = await d.post_callback(*callback_query(rig, data.draw(media_payload(rig))))
    assert attempt.status in (200, 400), attempt.text
    assert d.violations == []
    await rig.settle()
    no_traceback(caplog)


@FUZZ
@given(data=st.data())
async def test_fuzz_media_frames(linked: Rig, caplog: pytest.LogCaptureFixture,
                                 data: st.DataObject) -> None:
    caplog.clear()
    conn = linked.platform.ws
    assert conn is not None
    frame = {"cmd": "aibot_msg_callback", "headers": {"req_id": f"r{next(ids)}"},
             "body": data.draw(media_payload(linked))}
    got = await conn._next_frame(FakeWs([dumps(frame)]))  # type: ignore[arg-type]
    if got is not None:
        conn._dispatch(got)
        while conn._handlers:
            await next(iter(conn._handlers))
    await linked.settle()
    assert conn.connected.is_set()
    no_traceback(caplog)
