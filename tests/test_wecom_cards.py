"""WeCom template cards: items with buttons shown as button_interaction cards where WeCom takes
them, a press handled as the typed verb, and the card updated in time from the order's state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.model import Button, ChatKind, FrozenClock, Outgoing
from bot.platforms.wecom_ws import RESPOND_UPDATE
from storage.records import OrderState
from tests.doubles_wecom import Rig, start_linked, until

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


@pytest.fixture
async def linked(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Rig]:
    """The bot on the long connection, no webhooks; welders e1 and e2 on the roster."""
    r = await start_linked(tmp_path, clock, ("e1", "e2"))
    yield r
    await r.close()


async def announced(rig: Rig) -> None:
    d = rig.double
    await d.push(d.message(ORDER, userid="wu"))
    await until(lambda: rig.app.store.get_order(1) is not None, "the order")
    await rig.settle()


def lead(rig: Rig) -> str | None:
    order = rig.app.store.get_order(1)
    return order.lead if order else None


# -- long connection ----------------------------------------------------------------------------


async def test_the_announcement_is_a_card_and_a_press_claims_and_updates_it(linked: Rig) -> None:
    d = linked.double
    await announced(linked)
    [reply] = d.sent
    assert reply.body["msgtype"] == "stream_with_template_card"
    card = d.card("接单")
    assert card.chat == "wrgroup1" and card.buttons == ["接单", "协助"]
    assert card.body["main_title"] == {"title": "点单 #1", "desc": "待接单"}
    req_id = await d.push_event(d.press(card, "接单", "e1", msgid="press-1"))
    await until(lambda: any(p.via == "update" for p in d.posts), "the card update")
    [update] = [p for p in d.posts if p.via == "update"]
    assert (update.target, update.errcode) == (req_id, 0)
    assert lead(linked) == "e1"  # the press went through the claim, first wins
    assert card.status == "已由沈国平接单" and card.buttons == ["协助"]
    await linked.settle()
    assert any("接单成功 #1" in p.content for p in d.sent)  # the claim's own replies
    assert linked.app.store.seen("wecom", "press-1") is not None  # deduped like a message


async def test_a_second_press_loses_the_race_and_a_repeated_event_is_handled_once(
        linked: Rig) -> None:
    d = linked.double
    await announced(linked)
    card = d.card("接单")
    first = d.press(card, "接单", "e1", msgid="press-a")
    second = d.press(card, "接单", "e2", msgid="press-b")  # pressed before the card changed
    await d.push_event(first)
    await until(lambda: lead(linked) == "e1", "the claim")
    await linked.settle()
    before = len(d.sent)
    await d.push_event(second)
    await d.push_event(first)  # WeCom may deliver an event again: handled once
    await until(lambda: len([p for p in d.posts if p.via == "update"]) == 3, "three updates")
    await linked.settle()
    assert lead(linked) == "e1"
    later = [p.content for p in d.sent[before:] if p.via != "update"]
    assert len(later) == 1 and "已被沈国平接单" in later[0]  # e2 told; the repeat silent
    assert all(p.errcode == 0 for p in d.posts if p.via == "update")
    assert card.status == "已由沈国平接单"


async def test_a_slow_handling_still_gets_its_update_in_time(linked: Rig) -> None:
    d = linked.double
    await announced(linked)
    card = d.card("接单")
    linked.platform.presses.budget = 0.0  # no time to wait: the update goes from what is known
    async with linked.app.lock:  # the store is busy: the press cannot be handled yet
        await d.push_event(d.press(card, "接单", "e1"))
        await until(lambda: any(p.via == "update" for p in d.posts), "the card update")
        assert lead(linked) is None
    [update] = [p for p in d.posts if p.via == "update"]
    assert update.errcode == 0 and card.status == "待接单"  # in time, from the known state
    await until(lambda: lead(linked) == "e1", "the claim after all")
    await linked.settle()
    assert any("接单成功 #1" in p.content for p in d.sent)


async def test_a_rating_press_rates_and_leaves_only_the_lookup_button(
        linked: Rig, clock: FrozenClock) -> None:
    d = linked.double
    await announced(linked)
    linked.app.store.claim(1, "e1", "wecom:e1")
    linked.app.store.transition(1, (OrderState.CLAIMED,), OrderState.COMPLETED, "wecom:e1",
                                "order.completed", {"outcome": "solved"})
    linked.app.store.enqueue(Outgoing(
        "wecom", "wrgroup1", "#1 已办结 3 天，欢迎评价：回复「评价 1 满意 / 基本满意 / 不满意」。",
        buttons=(Button("满意", "评价 1 满意"), Button("基本满意", "评价 1 基本满意"),
                 Button("不满意", "评价 1 不满意")), card="order:1"))
    await linked.settle()
    card = d.card("满意")
    assert card.via == "send_msg" and "sub_title_text" in card.body  # short: the card alone
    await d.push_event(d.press(card, "满意", "wu"))
    await until(lambda: card.updates != [], "the card update")
    order = linked.app.store.get_order(1)
    assert order is not None and order.rating == "满意"
    assert card.status == "已评价：满意" and card.buttons == ["查询"]


async def test_a_long_text_goes_as_markdown_then_a_compact_card(linked: Rig) -> None:
    d = linked.double
    d.ws_chats.add("e1")
    text = "新点单 #1（车间群）推荐了您：" + "不锈钢薄板焊接变形，" * 20 + "可回复「接单 1」认领。"
    linked.app.store.enqueue(Outgoing("wecom", "e1", text, chat_kind=ChatKind.SINGLE,
                                      to_user="e1", buttons=(Button("接单", "接单 1"),)))
    await linked.settle()
    kinds = [p.body["msgtype"] for p in d.sent]
    assert kinds == ["markdown", "template_card"]
    assert "sub_title_text" not in d.card("接单").body  # the text went beside it


async def test_a_refused_card_falls_back_to_text(linked: Rig) -> None:
    d = linked.double
    d.ws_chats.add("e1")
    d.card_code = 40058  # this WeCom takes no cards
    linked.app.store.enqueue(Outgoing("wecom", "e1", "#1 已接单 3 个工作日，还没有进展。",
                                      chat_kind=ChatKind.SINGLE, to_user="e1",
                                      buttons=(Button("查询", "查询 1"),)))
    await linked.settle()
    assert [(p.body["msgtype"], p.errcode) for p in d.posts] == [
        ("template_card", 40058), ("markdown", 0)]
    assert "已接单 3 个工作日" in d.sent[0].content


async def test_a_press_of_no_bot_card_is_ignored(linked: Rig,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    d = linked.double
    await announced(linked)
    card = d.card("接单")
    forged = d.press(card, "接单", "e1", msgid="forged")
    forged["event"]["template_card_event"]["event_key"] = "b5"  # no such button
    other = d.press(card, "接单", "e1", msgid="other")
    other["event"]["template_card_event"]["task_id"] = "t1"  # not a task id of the bot
    await d.push_event(forged)
    await d.push_event(other)
    await d.push_event(d.event("enter_chat", userid="e1"))  # to know both were handled
    await until(lambda: any(p.via == "welcome" for p in d.posts), "the welcome")
    await linked.settle()
    assert lead(linked) is None and card.updates == []
    assert linked.app.store.seen("wecom", "forged") is None
    assert "no press of a bot card" in caplog.text


async def test_the_double_takes_a_card_update_once_within_five_seconds(
        linked: Rig, clock: FrozenClock) -> None:
    conn = linked.platform.ws
    assert conn is not None
    d = linked.double
    await announced(linked)
    card = d.card("接单")
    body = {"response_type": "update_template_card", "template_card": card.body}
    late = d.event_frame(d.press(card, "协助", "e2"))["headers"]["req_id"]
    clock.advance(seconds=6)
    assert (await conn.request(RESPOND_UPDATE, body, req_id=late))["errcode"] != 0
    fresh = d.event_frame(d.press(card, "协助", "e2"))["headers"]["req_id"]
    other = {**body, "template_card": {**card.body, "task_id": "m-i1-c-00000000"}}
    assert (await conn.request(RESPOND_UPDATE, other, req_id=fresh))["errcode"] != 0
    assert (await conn.request(RESPOND_UPDATE, body, req_id=fresh))["errcode"] == 0
    assert (await conn.request(RESPOND_UPDATE, body, req_id=fresh))["errcode"] != 0
    d.violations.clear()  # the late one was logged as a violation on purpose


# -- URL callback -------------------------------------------------------------------------------


async def test_callback_groups_get_text_by_webhook_and_no_card(rig: Rig) -> None:
    d = rig.double
    await d.deliver(d.message(ORDER, userid="wu"))
    await rig.settle()
    assert d.sent and all(p.via == "webhook" for p in d.sent)
    assert d.cards == {}
    assert any("请回复「接单 1」认领" in p.content for p in d.sent)  # typed verbs still work


async def test_callback_1to1_card_by_response_url_and_its_press_updated_passively(
        rig: Rig) -> None:
    d = rig.double
    await d.deliver(d.message(ORDER, userid="wu"))
    await rig.settle()
    await d.deliver(d.message("你好", chattype="single", userid="e1"))
    await rig.platform.settle()  # e1's message handled, its answer not yet sent
    item_id = rig.app.store.enqueue(Outgoing(
        "wecom", "e1", "新点单 #1 推荐了您：不锈钢薄板焊接变形。"
        "可回复「接单 1」认领，或「协助 1」参与。",
        chat_kind=ChatKind.SINGLE, to_user="e1",
        buttons=(Button("接单", "接单 1"), Button("协助", "协助 1")), card="order:1"))
    item = rig.app.store.outbox_item(item_id)
    assert item is not None  # sent at once, so it gets e1's response_url before the greeting
    ref = await rig.platform.send(item)
    rig.app.store.mark_sent(item_id, ref)
    assert ref.startswith("response_url:")
    card = d.card("接单")
    assert (card.via, card.chattype, card.chat) == ("response_url", "single", "e1")
    attempt = await d.deliver_press(d.press(card, "接单", "e1", msgid="cb-press"))
    assert attempt.status == 200 and attempt.seconds < 5
    assert attempt.reply is not None and attempt.reply["response_type"] == "update_template_card"
    assert d.violations == []
    order = rig.app.store.get_order(1)
    assert order is not None and order.lead == "e1"
    assert card.status == "已由沈国平接单" and card.buttons == ["协助"]
    await rig.settle()
    await rig.app.outbox.drain()  # the next pass (e1's greeting had lost its response_url)
    assert any(p.via == "response_url" and "接单成功 #1" in p.content for p in d.sent)


async def test_callback_press_answers_in_time_while_the_store_is_busy(rig: Rig) -> None:
    d = rig.double
    await d.deliver(d.message(ORDER, userid="wu"))
    await rig.settle()
    await d.deliver(d.message("你好", chattype="single", userid="e1"))
    await rig.platform.settle()
    item_id = rig.app.store.enqueue(Outgoing(
        "wecom", "e1", "#1 推荐了您，可回复「接单 1」认领。", chat_kind=ChatKind.SINGLE,
        to_user="e1", buttons=(Button("接单", "接单 1"),), card="order:1"))
    item = rig.app.store.outbox_item(item_id)
    assert item is not None
    rig.app.store.mark_sent(item_id, await rig.platform.send(item))
    rig.platform.presses.budget = 0.0
    async with rig.app.lock:
        attempt = await d.deliver_press(d.press(d.card("接单"), "接单", "e1"))
    assert attempt.status == 200 and attempt.reply is not None and d.violations == []
    await rig.platform.settle()
    order = rig.app.store.get_order(1)
    assert order is not None and order.lead == "e1"  # handled after all
