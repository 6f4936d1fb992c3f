"""Scenario tests: a whole conversation of ordering and claiming, through FakeChat."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.app import App
from bot.router import BotError, Context, Router
from storage.records import OrderState
from tests.fakes import FakeChat, add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234，下周三前"
pytestmark = pytest.mark.usefixtures("experts")


async def test_order_is_numbered_announced_and_masked(chat: FakeChat, app: App) -> None:
    [announce] = await chat.say(ORDER, sender="wu", name="吴经理")
    assert announce.text.startswith("已收到点单 #1")
    assert "e1" in announce.mentions  # the welder is @-mentioned
    assert "请回复「接单 1」认领" in announce.text
    assert "13867201234" not in announce.text and "138****1234" in announce.text
    order = app.store.get_order(1)
    assert order is not None and order.phone == "13867201234"  # the full number is stored
    assert [e.kind for e in app.store.events(order_no=1)] == ["order.created", "order.announced"]


@pytest.mark.parametrize(("given", "shown", "full"), [
    ("电话87654321", "****4321", "87654321"),  # a local number: no 电话 before it in the post
    ("0571-87654321转123", "0571-****4321转123", "87654321"),
    ("400-820-1234", "400-***-1234", "8201234"),
])
async def test_every_kind_of_number_is_masked_in_the_group_post(
        chat: FakeChat, app: App, given: str, shown: str, full: str) -> None:
    order_text = f"点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 {given}"
    [announce] = await chat.say(order_text, sender="wu", name="吴经理")
    assert f"联系人：吴经理 {shown}" in announce.text
    assert full not in re.sub(r"\D", "", announce.text)
    order = app.store.get_order(1)
    assert order is not None and full in re.sub(r"\D", "", order.phone or "")


async def test_claim_first_wins_and_others_are_told(chat: FakeChat, app: App) -> None:
    await chat.say(ORDER, sender="wu", name="吴经理")
    replies = await chat.say("接单 1", sender="e1")
    group = [r for r in replies if r.to_user is None]
    private = [r for r in replies if r.to_user == "e1"]
    assert "接单成功 #1" in group[0].text and "wu" in group[0].mentions
    assert "13867201234" in private[0].text  # the full number only in the 1:1 message
    [second] = await chat.say("认领1", sender="e2")
    assert second.text == "#1 已被沈国平接单，可回复「协助 1」参与服务。"
    order = app.store.get_order(1)
    assert order is not None and order.state is OrderState.CLAIMED and order.lead == "e1"
    assert [e.kind for e in app.store.events(order_no=1)] == [
        "order.created", "order.announced", "order.claimed"]


async def test_claim_by_quoting_the_announcement(chat: FakeChat, app: App) -> None:
    [announce] = await chat.say(ORDER, sender="wu")
    [reply, _private] = await chat.say("接单", sender="e1", quote_text=announce.text)
    assert "接单成功 #1" in reply.text


@pytest.mark.parametrize(
    ("text", "sender", "expected"),
    [
        ("接单 99999", "e1", "#99999 不存在"),
        ("接单", "e1", "请写明单号，例如「接单 12」。"),
        ("接单 1", "stranger", "您还不是登记的专家"),
    ],
)
async def test_claim_refusals(chat: FakeChat, text: str, sender: str, expected: str) -> None:
    await chat.say(ORDER, sender="wu")
    [reply] = await chat.say(text, sender=sender)
    assert expected in reply.text


async def test_claiming_twice_is_not_a_second_claim(chat: FakeChat, app: App) -> None:
    await chat.say(ORDER, sender="wu")
    await chat.say("接单 1", sender="e1")
    [again] = await chat.say("接单 1", sender="e1")
    assert again.text == "#1 已由您接单，无需重复认领。"
    assert len(app.store.events(order_no=1, kind="order.claimed")) == 1


async def test_twenty_experts_claim_at_once_exactly_one_wins(chat: FakeChat, app: App) -> None:
    for i in range(20):
        add_expert(app, f"x{i}", f"专家{i}", ("焊接",))
    await chat.say(ORDER, sender="wu")
    before = len(chat.sent)
    # Handled in one turn of the loop, they share a commit: count the replies they all got.
    await asyncio.gather(*(chat.say("接单 1", sender=f"x{i}") for i in range(20)))
    wins = [s for s in chat.sent[before:] if "接单成功 #1" in s.text]
    losses = [s for s in chat.sent[before:] if "#1 已被" in s.text]
    assert len(wins) == 1 and len(losses) == 19
    assert len(app.store.events(order_no=1, kind="order.claimed")) == 1


async def test_order_numbers_are_never_reused(chat: FakeChat, app: App) -> None:
    await chat.say(ORDER, sender="wu")
    await chat.say(ORDER, sender="wu")
    app.store.db.execute("DELETE FROM orders WHERE no = 2")  # even if the newest row vanished
    app.store.db.conn.commit()
    [announce] = await chat.say(ORDER, sender="wu")
    assert re.match(r"已收到点单 #3", announce.text)


async def test_redelivered_message_is_handled_once(chat: FakeChat, app: App) -> None:
    first = await chat.say(ORDER, sender="wu", msg_id="dup-1")
    again = await chat.say(ORDER, sender="wu", msg_id="dup-1")
    assert len(first) == 1 and again == []
    assert len(app.store.orders()) == 1


async def test_private_order_keeps_details_out_of_groups(chat: FakeChat) -> None:
    text = "点单：想咨询劳动合同纠纷，电话 13912345678，焊接车间工伤"
    replies = await chat.say(text, sender="w9", single=True)
    assert replies[0].chat == "dm-w9" and replies[0].to_user is None and "#1" in replies[0].text
    for r in replies[1:]:
        assert r.to_user is not None and "13912345678" not in r.text


async def test_help_lists_commands_from_docstrings(chat: FakeChat) -> None:
    [reply] = await chat.say("帮助")
    assert "接单 N" in reply.text and "点单" in reply.text and "查询 N" in reply.text
    assert "/帮助" not in reply.text  # admin commands only for admins
    [admin] = await chat.say("帮助", sender="admin", single=True)
    assert "/帮助" in admin.text


async def test_query_shows_state_and_lead(chat: FakeChat) -> None:
    await chat.say(ORDER, sender="wu")
    await chat.say("接单 1", sender="e1")
    [reply] = await chat.say("查询 1")
    assert "#1 已接单" in reply.text and "沈国平" in reply.text


@pytest.mark.parametrize("text", ["", "   ", "你好", "🙂🙂🙂", "x" * 20_000, "<script>1</script>",
                                  "'; DROP TABLE orders; --"])
async def test_anything_gets_an_answer_and_opens_nothing(chat: FakeChat, app: App,
                                                         text: str) -> None:
    replies = await chat.say(text)
    assert len(replies) == 1 and replies[0].text
    assert app.store.orders() == []


async def test_non_admin_slash_command_is_refused(chat: FakeChat) -> None:
    [reply] = await chat.say("/指派 1 e1")
    assert reply.text == "只有管理员可以使用 /指派"


async def test_handler_crash_is_answered_and_not_rerun(chat: FakeChat, app: App,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    boom = Router("boom")
    calls: list[str] = []

    @boom.message("help")
    async def explode(msg: object, ctx: Context) -> None:
        calls.append("x")
        ctx.store.record("t", "half.change")
        raise RuntimeError("bug")

    app.routers = (boom, *app.routers)
    [reply] = await chat.say("帮助", msg_id="crash-1")
    assert "抱歉" in reply.text
    assert "bug" in caplog.text and "Traceback" in caplog.text
    assert app.store.events(kind="half.change") == []  # the half change was rolled back
    assert await chat.say("帮助", msg_id="crash-1") == [] and calls == ["x"]


async def test_bot_error_becomes_a_reply(chat: FakeChat, app: App) -> None:
    r = Router("err")

    @r.message("help")
    async def refuse(msg: object, ctx: Context) -> None:
        raise BotError("不行")

    app.routers = (r, *app.routers)
    [reply] = await chat.say("帮助")
    assert reply.text == "不行"


async def test_unsure_message_is_asked_about_then_ordered_on_yes(chat: FakeChat, app: App
                                                                 ) -> None:
    [ask] = await chat.say("最近焊缝老是有气孔", sender="wu")
    assert ask.text.startswith("需要我帮您派单吗？") and app.store.orders() == []
    [other] = await chat.say("是", sender="someone-else")  # only the asker's yes counts
    assert "需要点单时" in other.text and app.store.orders() == []
    [announce] = await chat.say("是的", sender="wu")
    assert announce.text.startswith("已收到点单 #1") and "气孔" in announce.text
    assert "e1" in announce.mentions
    [again] = await chat.say("好的", sender="wu")  # the question was answered once
    assert "需要点单时" in again.text and len(app.store.orders()) == 1


@pytest.mark.parametrize(("text", "start"), [
    ("谢谢大家", "不客气"), ("辛苦了！", "不客气"), ("您好", "您好！我是匠心点单"),
    ("在吗", "您好！我是匠心点单"), ("今天天气不错", "没太明白"),
])
async def test_small_talk_gets_a_friendly_answer(chat: FakeChat, text: str, start: str) -> None:
    [reply] = await chat.say(text)
    assert reply.text.startswith(start)


async def test_a_senders_enterprise_carries_over_to_their_next_orders(
        chat: FakeChat, app: App, experts: None) -> None:
    [first, *_] = await chat.say("点单：我们是德清华宇钢构有限公司，焊缝有气孔，联系人吴经理",
                                 sender="wu")
    assert "企业：德清华宇钢构有限公司" in first.text
    [again, *_] = await chat.say("点单：焊接变形严重，想请师傅来指导", sender="wu", chat="g2")
    assert "企业：德清华宇钢构有限公司" in again.text  # named once, remembered in any group
    assert "地区：浙江省湖州市德清县" in again.text  # and where it is
    [other, *_] = await chat.say("点单：焊接变形严重，想请师傅来指导", sender="li", chat="g2")
    assert "企业：" not in other.text and "地区：" not in other.text  # not someone else's
    await chat.say("/设置 企业 湖州某机械厂", sender="admin", chat="g2")
    [li, *_] = await chat.say("点单：焊接变形严重，想请师傅来指导", sender="li", chat="g2")
    [wu, *_] = await chat.say("点单：焊接变形严重，想请师傅来指导", sender="wu", chat="g2")
    assert "企业：湖州某机械厂" in li.text and "企业：德清华宇钢构有限公司" in wu.text
    await chat.say("点单：想咨询一下劳动合同续签的问题", sender="wu", single=True)
    own = app.store.get_order(6)  # a worker's own need, 1:1: their employer is not assumed
    assert own is not None and own.private and own.enterprise is None


async def test_only_experts_never_seen_in_the_group_are_told_one_to_one(
        chat: FakeChat, app: App) -> None:
    """The @ reaches experts the bot has seen in the group; the others get the order 1:1."""
    add_expert(app, "w1", "王建平", ("焊接", "焊接变形"), groups=("g1",))
    add_expert(app, "w2", "李海涛", ("焊接", "不锈钢"), groups=("g-other",))
    replies = await chat.say(ORDER, sender="wu", name="吴经理")
    announced = set(replies[0].mentions)
    assert {"e1", "w1", "w2"} <= announced  # the three welders
    told = {r.to_user for r in replies if r.to_user}
    assert told == {"w2"}  # e1 and w1 were seen in g1
    [dm] = [r for r in replies if r.to_user == "w2"]
    assert dm.text.startswith("新点单 #1") and "13867201234" not in dm.text
