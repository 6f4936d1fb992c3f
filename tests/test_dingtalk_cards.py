"""DingTalk interactive cards against the double: posts with buttons go out as cards (in groups
with their at-list, and 1:1), a press is the presser typing the button's text, every card about
an order shows its state, and without the permission the post goes out as text."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.charts import image_extra
from bot.model import Button, Outgoing
from tests.doubles_dingtalk import Card, DingTalkDouble, Running, dingtalk_app
from tests.fakes import FrozenClock, add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
GROUP = "cidGroupDeqing01"


class Bot(Running):
    """The app, its DingTalk platform (started: Stream, presses, card refreshes) and the
    outbox worker, against the double."""

    async def start(self) -> None:
        await super().start()
        await self.double.until(lambda: self.double.ws is not None)

    async def card(self, text_part: str) -> Card:
        await self.double.until(lambda: any(text_part in c.text
                                            for c in self.double.cards.all.values()))
        return self.double.cards.of(text_part)

    async def text(self, part: str) -> None:
        await self.double.until(lambda: any(part in t for t in self.double.texts()))


def _bot(tmp_path: Path, clock: FrozenClock, double: DingTalkDouble,
         groups: tuple[str, ...] | None = None) -> Bot:
    app, platform = dingtalk_app(tmp_path, clock, double)
    if app.store.get_expert("staff-welder") is None:
        add_expert(app, "staff-welder", "沈国平", ("焊接", "焊接变形", "不锈钢"),
                   platform="dingtalk", groups=groups)
    return Bot(app, platform, double)


@pytest.fixture
async def bot(tmp_path: Path, clock: FrozenClock, double: DingTalkDouble) -> AsyncIterator[Bot]:
    running = _bot(tmp_path, clock, double)
    await running.start()
    yield running
    await running.stop()
    running.app.store.db.close()


async def test_an_order_announcement_is_a_card_with_buttons_and_the_at_list(
        bot: Bot, double: DingTalkDouble, clock: FrozenClock) -> None:
    clock.advance(minutes=91)  # even after the session webhook expired
    await bot.say(ORDER)
    card = await bot.card("已收到点单 #1")
    assert card.space == "IM_GROUP" and card.target == GROUP and card.callback == "STREAM"
    assert card.labels == ["接单", "协助"]
    assert "13867201234" not in card.text and "请回复「接单 1」认领" in card.text
    item = bot.app.store.outbox_item(1)
    assert item is not None and card.text == item.text  # the whole text, nothing else
    [delivery] = [d for d in double.sent if d.via == "card"]
    assert delivery.notified == ("staff-welder",)  # the card's at-list, not a 1:1 copy
    assert card.at == {"staff-welder": "沈国平"}
    assert not [d for d in double.sent if d.via == "oto"]
    body = double.cards.calls[0]
    assert body["imGroupOpenSpaceModel"] == {"supportForward": False}
    assert body["imGroupOpenDeliverModel"]["robotCode"] == double.robot_code


async def test_a_press_claims_like_the_typed_verb_and_the_card_shows_who(
        bot: Bot, double: DingTalkDouble) -> None:
    add_expert(bot.app, "staff-iron", "叶卫东", ("焊接",), platform="dingtalk")
    await bot.say(ORDER)
    card = await bot.card("已收到点单 #1")
    answer = await double.cards.press(card, "staff-welder", "接单", message_id="press-1")
    assert "已由沈国平接单" in answer["cardData"]["cardParamMap"]["staticMsgContent"]
    assert answer["cardUpdateOptions"] == {"updateCardDataByKey": True}
    assert "已由沈国平接单" in card.text and card.labels == ["协助"]  # 接单 went away
    await bot.text("接单成功 #1")
    order = bot.app.store.get_order(1)
    assert order is not None and order.lead == "staff-welder"
    assert [e.actor for e in bot.app.store.events(1, "order.claimed")] == [
        "dingtalk:staff-welder"]
    # The same callback again (same stream id) is not handled twice.
    await double.cards.push_raw(json.loads(double.frames["press-1"].data),
                                message_id="press-1")
    # A late press by another expert loses the race, as a typed 接单 would.
    late = await double.cards.press(card, "staff-iron", "协助")
    assert "已由沈国平接单" in late["cardData"]["cardParamMap"]["staticMsgContent"]
    await bot.text("协助成功 #1")
    assert sum("接单成功 #1" in t for t in double.texts()) == 1


async def test_a_press_on_a_one_to_one_offer_claims_and_refreshes_the_group_card(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble) -> None:
    bot = _bot(tmp_path, clock, double, groups=())  # never seen in the group: told 1:1
    await bot.start()
    try:
        await bot.say(ORDER)
        group_card = await bot.card("已收到点单 #1")
        await double.until(lambda: any(c.space == "IM_ROBOT"
                                       for c in double.cards.all.values()))
        offer = next(c for c in double.cards.all.values() if c.space == "IM_ROBOT")
        assert offer.target == "staff-welder" and offer.labels == ["接单", "协助"]
        await double.cards.press(offer, "staff-welder", "接单")
        assert "已由沈国平接单" in offer.text
        await double.until(lambda: "已由沈国平接单" in group_card.text)  # PUT by the bot
        assert group_card.labels == ["协助"] and group_card.updates
        await bot.text("您已接单 #1")  # the contact details, 1:1
        contact = next(d for d in double.sent if "您已接单 #1" in d.text)
        assert contact.via == "oto" and contact.users == ("staff-welder",)
    finally:
        await bot.stop()
        bot.app.store.db.close()


async def test_a_typed_claim_refreshes_the_cards_and_they_survive_a_restart(
        tmp_path: Path, clock: FrozenClock, double: DingTalkDouble) -> None:
    first = _bot(tmp_path, clock, double)
    await first.start()
    await first.say(ORDER)
    card = await first.card("已收到点单 #1")
    await first.stop()
    first.app.store.db.close()
    again = _bot(tmp_path, clock, double)  # the same database after a restart
    await again.start()
    try:
        await again.say("接单 1", sender="staff-welder", nick="沈国平")
        await double.until(lambda: "已由沈国平接单" in card.text)
        assert card.labels == ["协助"]
    finally:
        await again.stop()
        again.app.store.db.close()


async def test_a_rating_card_is_rated_by_a_press_and_its_buttons_go(
        bot: Bot, double: DingTalkDouble, clock: FrozenClock) -> None:
    await bot.say(ORDER)
    await bot.card("已收到点单 #1")
    await bot.say("接单 1", sender="staff-welder", nick="沈国平")
    await bot.say("办结 1 已解决 服务2小时 受益30人", sender="staff-welder", nick="沈国平")
    clock.advance(days=3)
    clock.set(clock.now().replace(hour=10))
    await bot.app.run_jobs()
    bot.app.outbox.wake()
    card = await bot.card("满意")
    assert card.labels == ["满意", "基本满意", "不满意"] and card.at == {"staff-wu": "吴经理"}
    await double.cards.press(card, "staff-wu", "基本满意")
    assert "已评价：基本满意" in card.text and card.labels == []
    order = bot.app.store.get_order(1)
    assert order is not None and order.rating == "基本满意"


async def test_presses_on_cards_not_ours_change_nothing(bot: Bot, double: DingTalkDouble,
                                                        ) -> None:
    await bot.say(ORDER)
    card = await bot.card("已收到点单 #1")
    forged = "dd1-" + "0" * 20  # item 1, but not our digest
    for data in ({"outTrackId": forged, "userId": "staff-welder", "type": "actionCallback",
                  "content": json.dumps({"cardPrivateData": {"actionIds": ["ddbtn0"]}})},
                 {"outTrackId": card.track, "userId": "staff-welder",
                  "content": json.dumps({"cardPrivateData": {"actionIds": ["ddbtn9"]}})},
                 {"outTrackId": card.track, "userId": "", "content": "{}"}):
        assert await double.cards.push_raw(data) == {}
    order = bot.app.store.get_order(1)
    assert order is not None and order.lead is None and card.labels == ["接单", "协助"]


async def test_without_the_card_permission_posts_go_as_text_with_one_warning(
        bot: Bot, double: DingTalkDouble, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    double.cards.deny = True
    await bot.say(ORDER)
    await bot.text("已收到点单 #1")
    announce = next(d for d in double.sent if "已收到点单 #1" in d.text)
    assert announce.via == "webhook" and announce.notified == ("staff-welder",)
    await bot.say("点单：变频器报过流故障，想请电气师傅，联系人吴经理", msg_id="msgSecond")
    await bot.text("已收到点单 #2")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "Card.Instance.Write" in w]) == 1, warnings
    assert double.cards.all == {}


def test_a_card_refused_for_another_reason_names_no_permission(
        bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    no = bot.app.store.enqueue(Outgoing("dingtalk", GROUP, "#1 待接单"))
    item = bot.app.store.outbox_item(no)
    assert item is not None
    bot.platform.sender._warn_card(item, "createAndDeliver: HTTP 400 InvalidParameter", "")
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "HTTP 400" in warning and "Card.Instance.Write" not in warning


async def test_a_tally_is_a_card_then_its_chart_and_its_button_works(
        bot: Bot, double: DingTalkDouble) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(100)
    await bot.say("帮助")  # the bot now knows the group
    bot.app.store.enqueue(Outgoing("dingtalk", GROUP, "2026年5月 服务统计\n收到需求 3 件",
                                   buttons=(Button("待接单", "待接单"),),
                                   extra=image_extra(png, "tally.png")))
    bot.app.outbox.wake()
    card = await bot.card("2026年5月 服务统计")
    assert card.labels == ["待接单"] and card.space == "IM_GROUP"
    await double.until(lambda: any(d.kind == "sampleImageMsg" for d in double.sent))
    kinds = [d.kind for d in double.sent if d.conversation == GROUP]
    assert kinds.index("card") < kinds.index("sampleImageMsg")  # the chart after its text
    assert await double.cards.press(card, "staff-welder", "待接单") == {}  # about no order
    await bot.text("目前没有待接单的点单。")

