"""补充 N that says more about the problem reads the order again: its category and summary,
and the experts who fit it now are asked too."""

from __future__ import annotations

from bot.app import App
from tests.fakes import FakeChat, add_expert


async def test_a_described_problem_is_read_again_and_new_experts_asked(
        chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    add_expert(app, "e2", "叶卫东", ("液压系统", "注塑机维修", "液压油泄漏"))
    await chat.say("点单：我们厂设备出问题了，想请专家来看看，联系人吴经理", sender="wu")
    before = app.store.get_order(1)
    assert before is not None and "e2" not in before.announced
    replies = await chat.say("补充 1 是注塑机的液压系统一直漏油，压力上不去", sender="wu")
    after = app.store.get_order(1)
    assert after is not None and "e2" in after.announced
    assert after.category != before.category or after.summary != before.summary
    assert "液压" in (after.summary or "")
    [more] = [r for r in replies if "补充了需求" in r.text]
    assert "e2" in more.mentions and "叶卫东" in more.text
    assert more.buttons == (("接单", "接单 1"), ("协助", "协助 1"))
    assert any(r.text.startswith("已补充 #1") for r in replies)


async def test_a_phone_alone_reads_nothing_again(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    await chat.say("点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导", sender="wu")
    replies = await chat.say("补充 1 电话 13900001111", sender="wu")
    assert [r.text for r in replies] == ["已补充 #1：电话 139****1111"]  # masked in a group
    order = app.store.get_order(1)
    assert order is not None and order.phone == "13900001111"


async def test_a_claimed_order_is_read_again_without_new_experts(chat: FakeChat,
                                                                  app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    add_expert(app, "e2", "叶卫东", ("液压系统", "注塑机维修"))
    await chat.say("点单：设备出问题了，请专家看看", sender="wu")
    await chat.say("接单 1", sender="e1")
    replies = await chat.say("补充 1 是注塑机液压系统漏油", sender="wu")
    assert not [r for r in replies if "补充了需求" in r.text]
    order = app.store.get_order(1)
    assert order is not None and "液压" in (order.summary or "")
