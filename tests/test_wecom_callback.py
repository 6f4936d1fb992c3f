"""The WeCom callback endpoint against the double: URL check, messages, retries, rejections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.model import FrozenClock, Outgoing
from tests.doubles_wecom import AES_KEY, TOKEN, ManualClock, Rig, WeComDouble, start_rig
from tests.fakes import add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


async def test_url_verification_restores_a_raw_plus(rig: Rig) -> None:
    status, body, plain = await rig.double.verify_url(plus_raw=True)
    assert status == 200 and body == plain
    status, body, plain = await rig.double.verify_url(plus_raw=False)
    assert status == 200 and body == plain


async def test_order_answered_at_once_then_replied_with_the_number(rig: Rig) -> None:
    d = rig.double
    delivery = await d.deliver(d.message(ORDER, userid="wu"))
    [attempt] = delivery.attempts
    assert attempt.status == 200 and attempt.text == "" and attempt.seconds < 1.0
    await rig.settle()
    [announce] = d.sent
    # It @-mentions the welder, so it goes by the group webhook (text + mentioned_list).
    assert announce.via == "webhook" and announce.target == "wrgroup1"
    assert announce.body["msgtype"] == "text"
    assert announce.content.startswith("已收到点单 #1")
    assert announce.body["text"]["mentioned_list"] == ["e1"]
    assert "13867201234" not in announce.content

    await d.deliver(d.message("接单 1", userid="e1"))
    await rig.settle()
    claimed = [p for p in d.sent if "接单成功 #1" in p.content]
    assert [p.via for p in claimed] == ["webhook"]  # it @-mentions the requester
    assert claimed[0].body["text"]["mentioned_list"] == ["wu"]
    # The 1:1 notice with the contact cannot reach the expert in callback mode: it goes to
    # the order's group instead, @-mentioning him, without the phone (that stays 1:1).
    [told] = [p for p in d.sent if "您已接单 #1" in p.content]
    assert told.via == "webhook" and told.body["text"]["mentioned_list"] == ["e1"]
    assert "查询 1" in told.content and "13867201234" not in told.content
    assert not d.violations
    before = len(d.sent)

    await d.deliver(d.message("查询 1", userid="wu"))
    await rig.settle()
    [answer] = d.sent[before:]
    assert answer.via == "response_url" and answer.body["msgtype"] == "markdown"
    assert "#1" in answer.content


async def test_retry_with_the_same_msgid_is_not_handled_twice(rig: Rig) -> None:
    d = rig.double
    payload = d.message(ORDER, userid="wu")
    delivery = await d.deliver(payload, lose_answers=2)  # WeCom resends, encrypted afresh
    assert [a.status for a in delivery.attempts] == [200, 200, 200]
    await rig.settle()
    again = await d.deliver(payload)  # much later, after it was handled: still a 200
    assert again.attempts[0].status == 200
    await rig.settle()
    assert len([p for p in d.sent if "已收到点单" in p.content]) == 1
    assert rig.app.store.get_order(2) is None


async def test_rejections_leave_the_bot_healthy(rig: Rig, clock: FrozenClock) -> None:
    d = rig.double
    query, body = d.envelope(d.message(ORDER))
    forged = {**query, "msg_signature": "0" * 40}
    assert (await d.post_callback(forged, body)).status == 403
    assert (await d.post_callback({**query, "nonce": "changed"}, body)).status == 403
    old = {**query, "timestamp": str(int(clock.now().timestamp()) - 3700)}
    assert (await d.post_callback(old, body)).status == 403
    assert (await d.post_callback({k: v for k, v in query.items() if k != "nonce"},
                                  body)).status == 400
    assert (await d.post_callback(query, b"<xml>not json</xml>")).status == 400
    assert (await d.post_callback(query, {"Encrypt": body["encrypt"]})).status == 400
    assert (await d.post_callback(query, ["encrypt"])).status == 400
    other_key = WeComDouble(TOKEN, "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
                            clock=ManualClock(d.clock.now()))
    q2, b2 = other_key.envelope(d.message(ORDER))  # right token, wrong AES key
    assert (await d.post_callback(q2, b2)).status == 400
    encrypt = d.crypto.encrypt("not json at all")
    ts, nonce = query["timestamp"], "77"
    sig = d.crypto.signature(ts, nonce, encrypt)
    bad_plain = {"msg_signature": sig, "timestamp": ts, "nonce": nonce}
    assert (await d.post_callback(bad_plain, {"encrypt": encrypt})).status == 400
    await rig.settle()
    assert d.sent == [] and rig.app.store.get_order(1) is None
    # Still healthy: a good message goes through.
    await d.deliver(d.message(ORDER))
    await rig.settle()
    assert any(p.content.startswith("已收到点单 #1") for p in d.sent)


async def test_stream_refresh_is_answered_with_a_finished_stream(rig: Rig) -> None:
    d = rig.double
    refresh = {"msgid": "r1", "aibotid": "aib", "chattype": "group", "chatid": "wrgroup1",
               "from": {"userid": "u"}, "msgtype": "stream", "stream": {"id": "s1"}}
    attempt = await d.post_callback(*d.envelope(refresh))
    assert attempt.status == 200 and attempt.reply is not None
    assert attempt.reply["stream"] == {"id": "s1", "finish": True, "content": ""}
    assert d.violations == []


async def test_pictures_and_events_get_an_empty_200_and_a_picture_a_reply(rig: Rig) -> None:
    d = rig.double
    image = await d.deliver(d.picture(userid="u"))
    event = {"msgid": "ev1", "aibotid": "a", "chattype": "single", "from": {"userid": "u"},
             "msgtype": "event", "event": {"eventtype": "feedback_event"}}
    attempt = await d.post_callback(*d.envelope(event))
    assert image.attempts[0].status == 200 and attempt.status == 200 and attempt.text == ""
    assert image.attempts[0].text == ""  # answered at once; the picture is handled after
    assert await rig.settle() == 1  # never silence: the picture gets a hint, the event nothing
    [hint] = d.sent
    assert hint.via == "response_url" and "收到图片" in hint.content


async def test_group_without_webhook_key_answers_by_response_url_with_inline_mentions(
        tmp_path: Path, clock: FrozenClock) -> None:
    rig = await start_rig(tmp_path, clock, webhooks={})
    try:
        add_expert(rig.app, "e1", "沈国平", ("焊接", "焊接变形", "不锈钢"), platform="wecom")
        d = rig.double
        await d.deliver(d.message(ORDER, chatid="wrnokey"))
        await rig.settle()
        [reply] = d.sent
        assert reply.via == "response_url" and "已收到点单 #1" in reply.content
        assert "<@e1>" in reply.content
        await d.deliver(d.message("查询 1", chatid="wrnokey", msgid="m-q"))
        await rig.settle()
        assert len(d.sent) == 2 and "#1" in d.sent[1].content
        # A proactive post (a reminder) to that group has no way out: it fails for good.
        item_id = rig.app.store.enqueue(Outgoing("wecom", "wrnokey", "提醒：#1 待接单"))
        await rig.app.outbox.drain()
        item = rig.app.store.outbox_item(item_id)
        assert item is not None and item.state == "failed" and len(d.sent) == 2
    finally:
        await rig.close()


async def test_expired_response_url_falls_back_to_the_webhook(rig: Rig,
                                                               clock: FrozenClock) -> None:
    d = rig.double
    payload = d.message("帮助", userid="wu")
    await d.deliver(payload)
    await rig.platform.settle()
    clock.advance(minutes=61)  # the reply waited (e.g. rate limit): the URL is dead
    await rig.app.outbox.drain()
    assert [p.via for p in d.sent] == ["webhook"]


async def test_single_chat_batch_goes_in_one_response_url_post(rig: Rig) -> None:
    d = rig.double
    await d.deliver(d.message("帮助", chattype="single", userid="lisi"))
    await rig.settle()
    [reply] = d.sent
    assert reply.via == "response_url" and reply.body["msgtype"] == "markdown"
    assert json.dumps(reply.body, ensure_ascii=False).count("msgtype") == 1
    # A second 1:1 notice to the same user later has no channel left: permanent failure.
    assert AES_KEY and not d.violations


async def test_start_warns_of_known_groups_without_a_webhook(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.app.store.remember_chat("wecom", "wrgroup9", "group", "质检群")
    rig.app.store.remember_chat("wecom", "wu", "single")
    await rig.platform.start()
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and "wrgroup9" in warned[0] and "[wecom.webhooks]" in warned[0]
