"""Scenario tests: the whole life of an order in chat, for every role, with every refusal."""

from __future__ import annotations

import pytest

from bot.app import App
from storage.records import OrderState
from tests.fakes import FakeChat, FrozenClock, Sent

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234，下周三前"
pytestmark = pytest.mark.usefixtures("experts")


def texts(sent: list[Sent]) -> str:
    return "\n".join(s.text for s in sent)


@pytest.fixture
async def claimed(chat: FakeChat) -> FakeChat:
    await chat.say(ORDER, sender="wu", name="吴经理")
    await chat.say("接单 1", sender="e1")
    return chat


async def test_full_life_with_assist_schedule_progress_complete_rate(
        claimed: FakeChat, app: App, clock: FrozenClock) -> None:
    chat = claimed
    assist = await chat.say("协助 1", sender="e2")
    assert "协助成功 #1" in texts(assist) and "e1" in assist[0].mentions
    visit = await chat.say("预约 1 明天下午3点 现场", sender="e1")
    assert "#1 已预约：5月7日（周四）15:00 现场" in texts(visit)
    assert "wu" in visit[0].mentions  # the requester is told
    progress = await chat.say("进展 1 已远程指导调整焊接顺序", sender="e2")
    assert "已记录 #1 的进展" in texts(progress)
    clock.advance(days=1)
    done = await chat.say("办结 1 已解决 提出建议3条 服务2小时 受益职工30人 现场 变形减少80%",
                          sender="e1")
    assert "#1 已办结：已解决" in texts(done) and "评价 1" in texts(done)
    assert "还缺" not in texts(done)
    rate = await chat.say("评价 1 满意 师傅很专业", sender="wu")
    assert "感谢评价！#1 满意" in texts(rate)
    assert {s.to_user for s in rate if s.to_user} == {"e1", "e2"}  # both experts hear it
    [query] = await chat.say("查询 1")
    assert "#1 已评价" in query.text and "沈国平" in query.text and "满意" in query.text
    order = app.store.get_order(1)
    assert order is not None and order.state is OrderState.RATED and order.outcome == "solved"
    [session] = app.store.sessions(1)
    assert (session.hours, session.suggestions, session.beneficiaries) == (2.0, 3, 30)
    assert set(session.experts) == {"e1", "e2"}
    kinds = [e.kind for e in app.store.events(order_no=1)]
    for kind in ("order.claimed", "order.assisted", "order.scheduled", "order.progress",
                 "order.completed", "session.logged", "order.rated"):
        assert kind in kinds


async def test_release_reopens_and_reannounces(claimed: FakeChat, app: App) -> None:
    sent = await claimed.say("退单 1 临时出差", sender="e1")
    assert "#1 已由沈国平退单（临时出差），重新开放认领" in texts(sent)
    assert "#1 重新待接单" in texts(sent)
    order = app.store.get_order(1)
    assert order is not None and order.state is OrderState.OPEN and order.lead is None
    again = await claimed.say("接单 1", sender="e2")
    assert "接单成功 #1" in texts(again)


async def test_assist_can_leave(claimed: FakeChat, app: App) -> None:
    await claimed.say("协助 1", sender="e2")
    [left] = await claimed.say("退单 1", sender="e2")
    assert left.text == "您已退出协助 #1。"
    assert app.store.team_of(1) == [("e1", "lead")]


@pytest.mark.parametrize(("text", "sender", "expected"), [
    ("办结 1 已解决", "e2", "只有接单专家可以办结 #1"),
    ("预约 1 明天上午 现场", "e3", "只有接单或协助的专家可以预约 #1"),
    ("进展 1 好了", "wu", "只有接单或协助的专家可以记录进展 #1"),
    ("退单 1", "e2", "只有接单专家可以退单 #1"),
    ("协助 1", "e1", "您是 #1 的接单专家，无需协助。"),
    ("评价 1 满意", "wu", "#1 已接单，办结后才能评价。"),
    ("撤销 1", "e2", "只有点单人或管理员可以撤销 #1"),
    ("预约 1 现场", "e1", "请写明预约时间"),
    ("预约 1 昨天上午", "e1", "已经过去了"),
    ("进展 1", "e1", "请写上进展内容"),
    ("协助 99999", "e2", "#99999 不存在"),
    ("接单 1", "wu", "您还不是登记的专家"),
])
async def test_refusals(claimed: FakeChat, app: App, text: str, sender: str,
                        expected: str) -> None:
    before = len(app.store.events(order_no=1))
    replies = await claimed.say(text, sender=sender)
    assert len(replies) == 1 and expected in replies[0].text
    assert len(app.store.events(order_no=1)) == before  # a refusal changes nothing


async def test_rating_rules(claimed: FakeChat, app: App) -> None:
    chat = claimed
    await chat.say("办结 1 已解决 服务1小时 受益5人", sender="e1")
    [other] = await chat.say("评价 1 满意", sender="e2")
    assert other.text == "只有点单人可以评价 #1"
    [vague] = await chat.say("评价 1", sender="wu")
    assert "请选择" in vague.text
    stars = await chat.say("评价 1 2星 来得太晚", sender="wu")
    assert "#1 不满意（2星）" in texts(stars)
    [twice] = await chat.say("评价 1 满意", sender="wu")
    assert twice.text == "#1 已评价（不满意），感谢！"
    [after] = await chat.say("预约 1 明天上午", sender="e1")
    assert after.text == "#1 已评价，不能再预约。"


async def test_complete_asks_for_missing_parts_and_supplement_fills_them(
        claimed: FakeChat, app: App) -> None:
    done = await claimed.say("办结 1", sender="e1")
    ask = next(s for s in done if "还缺" in s.text)
    assert "解决情况、服务时长、受益人数" in ask.text
    [filled] = await claimed.say("补充 1 已解决 服务3小时 受益20人", sender="e1")
    assert "已补充 #1" in filled.text
    [session] = app.store.sessions(1)
    assert (session.hours, session.beneficiaries) == (3.0, 20)
    order = app.store.get_order(1)
    assert order is not None and order.outcome == "solved"


async def test_requester_supplements_and_cancels(chat: FakeChat, app: App) -> None:
    await chat.say("点单：设备有点问题", sender="wu", name="吴经理")
    sup = await chat.say("补充 1 空压机异响，联系电话 13912345678", sender="wu")
    assert "已补充 #1" in texts(sup) and "139****5678" in texts(sup)
    order = app.store.get_order(1)
    assert order is not None and order.phone == "13912345678"
    [stranger] = await chat.say("补充 1 我也要", sender="zz")
    assert stranger.text == "只有点单人或接单专家可以补充 #1"
    cancel = await chat.say("撤销 1 已自行解决", sender="wu")
    assert "#1 已撤销（已自行解决）" in texts(cancel)
    [late] = await chat.say("接单 1", sender="e1")
    assert late.text == "#1 已撤销，不能接单。"


async def test_cancel_tells_the_lead(claimed: FakeChat) -> None:
    sent = await claimed.say("撤销 1", sender="wu")
    assert any(s.to_user == "e1" and "#1 已被撤销" in s.text for s in sent)


async def test_claimers_others_are_told(chat: FakeChat, app: App) -> None:
    from tests.fakes import add_expert

    add_expert(app, "e4", "董振方", ("焊接", "焊接变形", "薄板"))
    [announce] = await chat.say(ORDER, sender="wu")
    assert {"e1", "e4"} <= set(announce.mentions)
    sent = await chat.say("接单 1", sender="e4")
    told = next(s for s in sent if "感谢关注" in s.text)
    assert "e1" in told.mentions and "e4" not in told.mentions


async def test_capacity_limits_claims(chat: FakeChat, app: App) -> None:
    from dataclasses import replace

    e1 = app.store.get_expert("e1")
    assert e1 is not None
    app.store.upsert_expert(replace(e1, capacity=1), "test")
    await chat.say(ORDER, sender="wu")
    await chat.say(ORDER, sender="wu")
    await chat.say("接单 1", sender="e1")
    [full] = await chat.say("接单 2", sender="e1")
    assert "上限 1 张" in full.text


async def test_lookups(claimed: FakeChat) -> None:
    [mine] = await claimed.say("我的单", sender="e1")
    assert "#1 已接单" in mine.text
    [mine_req] = await claimed.say("我的单", sender="wu")
    assert "#1" in mine_req.text
    [none] = await claimed.say("待接单", sender="e2")
    assert none.text == "目前没有待接单的点单。"


async def test_private_order_path(chat: FakeChat, app: App) -> None:
    text = "点单：想咨询劳动合同纠纷和工伤认定，电话 13912345678"
    await chat.say(text, sender="w9", name="王师傅", single=True)
    from tests.fakes import add_expert

    add_expert(app, "e5", "林律师", ("劳动合同", "工伤认定", "法律"))
    await chat.say(text, sender="w9", name="王师傅", single=True)  # #2 now has a lawyer
    order = app.store.get_order(2)
    assert order is not None and order.private
    group = await chat.say("接单 2", sender="e5", chat="g1")  # claimed from a group
    for s in group:
        if s.to_user is None and s.chat == "g1":
            assert "劳动合同" not in s.text and "13912345678" not in s.text
            assert "王师傅" not in s.text
    assert any(s.to_user == "e5" and "13912345678" in s.text for s in group)
    assert any(s.chat == "dm-w9" and "接单成功 #2" in s.text for s in group)
    [q] = await chat.say("查询 2", chat="g1")
    assert "职工个人需求" in q.text and "劳动合同" not in q.text


async def test_full_contact_by_query_only_in_private_to_the_team(claimed: FakeChat) -> None:
    [lead] = await claimed.say("查询 1", sender="e1", single=True)
    assert "13867201234" in lead.text
    [group] = await claimed.say("查询 1", sender="e1")
    assert "13867201234" not in group.text
    [stranger] = await claimed.say("查询 1", sender="e2", single=True)
    assert "13867201234" not in stranger.text and "联系人" not in stranger.text
