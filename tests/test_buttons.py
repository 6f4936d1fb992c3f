"""Buttons under the bot's posts: what each post offers, and that a press is the typed verb."""

from __future__ import annotations

from bot.app import App
from bot.model import FrozenClock
from tests.fakes import FakeChat, add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
CLAIM = (("接单", "接单 1"), ("协助", "协助 1"))


async def test_an_announcement_offers_claim_and_assist(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    add_expert(app, "e2", "叶卫东", ("焊接", "薄板焊接"), groups=())
    replies = await chat.say(ORDER, sender="wu")
    [announce] = [r for r in replies if r.chat == "g1"]
    assert announce.buttons == CLAIM and announce.card == "order:1"
    [told] = [r for r in replies if r.to_user == "e2"]  # not in the group: told 1:1
    assert told.buttons == CLAIM and told.card == "order:1"
    # The text still says how to claim by typing (platforms without cards show only it).
    assert "接单 1" in announce.text


async def test_a_press_is_the_typed_verb(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    add_expert(app, "e2", "叶卫东", ("焊接", "薄板焊接"))
    [announce] = await chat.say(ORDER, sender="wu")
    claim, assist = (text for _label, text in announce.buttons)
    replies = await chat.say(claim, sender="e1")  # the platform sends the button's text
    assert any("接单成功 #1" in r.text for r in replies)
    [taken] = await chat.say(claim, sender="e2")
    assert taken.text.startswith("#1 已被沈国平接单")
    replies = await chat.say(assist, sender="e2")
    assert any("协助成功 #1" in r.text for r in replies)


async def test_the_rating_reminder_offers_the_three_words(chat: FakeChat, app: App,
                                                          clock: FrozenClock) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    await chat.say(ORDER, sender="wu")
    await chat.say("接单 1", sender="e1")
    await chat.say("办结 1 已解决 服务2小时 受益10人 现场 调整焊接顺序", sender="e1")
    clock.advance(days=3)
    await app.run_jobs()
    await app.outbox.drain()
    [ask] = [s for s in chat.sent if "评价 1" in s.text and s.buttons]
    assert ask.buttons == (("满意", "评价 1 满意"), ("基本满意", "评价 1 基本满意"),
                           ("不满意", "评价 1 不满意"))
    replies = await chat.say(ask.buttons[0][1], sender="wu")
    assert any("满意" in r.text for r in replies)
    order = app.store.get_order(1)
    assert order is not None and order.rating == "满意"
