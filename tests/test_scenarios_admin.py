"""Scenario tests: admin slash commands, roles, the service menu and account linking."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import App
from storage.records import MenuItem, OrderState
from tests.fakes import FakeChat, FrozenClock, Sent

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
pytestmark = pytest.mark.usefixtures("experts")


def texts(sent: list[Sent]) -> str:
    return "\n".join(s.text for s in sent)


async def test_assign_and_reassign(chat: FakeChat, app: App) -> None:
    await chat.say(ORDER, sender="wu", name="吴经理")
    [refused] = await chat.say("/指派 1 e2", sender="wu")
    assert refused.text == "只有管理员可以使用 /指派"
    sent = await chat.say("/指派 1 叶卫东", sender="admin")
    assert "#1 已由管理员指派给 叶卫东" in texts(sent) and "e2" in sent[0].mentions
    order = app.store.get_order(1)
    assert order is not None and order.lead == "e2" and order.state is OrderState.CLAIMED
    [again] = await chat.say("/指派 1 e1", sender="admin")
    assert "请用「/改派 1 专家」" in again.text
    sent = await chat.say("/改派 1 e1", sender="admin")
    assert "#1 已由管理员改派给 沈国平" in texts(sent)
    assert any(s.to_user == "e2" and "无需再跟进" in s.text for s in sent)
    assert app.store.team_of(1) == [("e1", "lead")]
    kinds = [e.kind for e in app.store.events(order_no=1)]
    assert kinds.count("order.assigned") == 2


async def test_close_cancel_and_case(chat: FakeChat, app: App) -> None:
    await chat.say(ORDER, sender="wu")
    await chat.say(ORDER, sender="wu")
    assert "#1 已由管理员关闭（企业已自行解决）" in texts(
        await chat.say("/关闭 1 企业已自行解决", sender="admin"))
    assert "#2 已由管理员撤销" in texts(await chat.say("/撤销 2", sender="admin"))
    [bad] = await chat.say("/关闭 1", sender="admin")
    assert bad.text == "#1 已关闭，不能关闭。"
    [not_done] = await chat.say("/案例 2", sender="admin")
    assert "办结后才能评为优秀案例" in not_done.text
    await chat.say(ORDER, sender="wu")
    await chat.say("接单 3", sender="e1")
    await chat.say("办结 3 已解决 服务2小时 受益10人", sender="e1")
    [marked] = await chat.say("/案例 3", sender="admin")
    assert "已把 #3 标为优秀案例" in marked.text
    order = app.store.get_order(3)
    assert order is not None and order.excellent
    [listed] = await chat.say("/案例 列表", sender="admin")
    assert "#3" in listed.text


async def test_experts_commands(chat: FakeChat, app: App, clock: FrozenClock) -> None:
    [listing] = await chat.say("/专家 列表", sender="admin")
    assert "e1 沈国平" in listing.text and "负载 0/3" in listing.text
    [show] = await chat.say("/专家 详情 沈国平", sender="admin")
    assert "编号 e1" in show.text and "fake:e1" in show.text
    [paused] = await chat.say("/专家 停用 e1 至 2026-05-10", sender="admin")
    assert "2026-05-10 后自动恢复" in paused.text
    announce = (await chat.say(ORDER, sender="wu"))[0]
    assert "e1" not in announce.mentions  # on leave: not recommended
    [busy] = await chat.say("接单 1", sender="e1")
    assert busy.text == "您目前请假至2026-05-10，暂不能接单。"
    clock.advance(days=5)
    assert app.store.get_expert("e1") is not None
    assert any(e.id == "e1" for e in app.store.experts(active_only=True))  # leave is over
    [added] = await chat.say("/专家 添加 X09 董振方 焊接、薄板 浙江省湖州市德清县 综合组",
                             sender="admin")
    assert "已添加专家 董振方（X09）" in added.text
    linked = await chat.say("/专家 绑定 X09 fake:dong", sender="admin")
    assert "已把账号 fake:dong 绑定到专家 董振方" in linked[0].text
    assert linked[1].to_user == "dong" and "现在可以接单了" in linked[1].text
    e = app.store.expert_by_account("fake:dong")
    assert e is not None and e.id == "X09"


async def test_menu_browse_and_order_goes_to_the_provider(chat: FakeChat, app: App) -> None:
    app.store.upsert_menu_item(MenuItem(1, "池塘增氧与水质诊断", "溶解氧、pH 远程指导", "e3",
                                        "农业养殖", "线上"), "test")
    app.store.upsert_menu_item(MenuItem(2, "变频器故障诊断", "", "综合组", "电气", "线上/现场"),
                               "test")
    [menu] = await chat.say("服务清单")
    assert "1. 池塘增氧与水质诊断（农业养殖 · 线上）" in menu.text
    [filtered] = await chat.say("服务清单 电气")
    assert "变频器" in filtered.text and "池塘" not in filtered.text
    [order] = await chat.say("点单 1 我们鱼塘凌晨浮头", sender="wu")
    assert order.text.startswith("已收到点单 #1") and order.mentions == ("e3",)
    assert "服务清单第 1 项的提供者" in order.text
    stored = app.store.get_order(1)
    assert stored is not None and stored.menu_no == 1 and stored.category == "农业养殖"
    [team] = await chat.say("点单 2", sender="wu")
    assert set(team.mentions) <= {"e1", "e2", "e3"} and team.mentions
    [missing] = await chat.say("点单 9", sender="wu")
    assert missing.text == "服务清单没有第 9 项，发送「服务清单」查看全部。"
    [admin_menu] = await chat.say("/清单 添加 数控编程培训|技能培训|e2|现场|五轴编程入门",
                                  sender="admin")
    assert "第 3 项" in admin_menu.text
    [removed] = await chat.say("/清单 下架 1", sender="admin")
    assert "已下架" in removed.text
    [menu] = await chat.say("服务清单")
    assert "池塘" not in menu.text


async def test_link_own_account_confirmed_by_admin(chat: FakeChat, app: App) -> None:
    from dataclasses import replace

    e3 = app.store.get_expert("e3")
    assert e3 is not None
    app.store.upsert_expert(replace(e3, phone="13905720118", accounts=()), "test")
    [group] = await chat.say("绑定 13905720118", sender="newbie")
    assert "请私聊我" in group.text
    sent = await chat.say("绑定 13905720118", sender="newbie", single=True)
    [answer] = [s for s in sent if s.to_user is None]
    assert "已收到绑定申请" in answer.text and "陈水根" not in answer.text  # never named
    assert any(s.to_user == "admin" and "/专家 确认 fake:newbie e3" in s.text for s in sent)
    assert app.store.expert_by_account("fake:newbie") is None  # not before the admin says so
    [unknown] = await chat.say("绑定 13800000000", sender="other", single=True)
    assert unknown.text == answer.text  # the same answer: nothing tells who is on the roster
    await chat.say("/专家 确认 fake:newbie", sender="admin")
    linked = app.store.expert_by_account("fake:newbie")
    assert linked is not None and linked.id == "e3"


async def test_admins_added_in_chat_and_scopes(chat: FakeChat, app: App) -> None:
    [denied] = await chat.say("/管理员 添加 fake:li", sender="wu")
    assert denied.text == "只有管理员可以使用 /管理员"
    [added] = await chat.say("/管理员 添加 fake:li 群:g1", sender="admin")
    assert "已添加管理员 fake:li（群：g1）" in added.text
    [ok] = await chat.say("/统计", sender="li", chat="g1")
    assert "收到需求" in ok.text
    [elsewhere] = await chat.say("/统计", sender="li", chat="g2")
    assert elsewhere.text == "只有管理员可以使用 /统计"
    [cannot] = await chat.say("/管理员 添加 fake:zhao", sender="li", chat="g1")
    assert "只有超级管理员" in cannot.text
    assert [e.kind for e in app.store.events(kind="admin.added")] == ["admin.added"]


async def test_settings_give_a_group_its_region(chat: FakeChat, app: App) -> None:
    [set_] = await chat.say("/设置 地区 德清", sender="admin")
    assert "浙江省湖州市德清县" in set_.text
    await chat.say("点单：车间焊接变形，请师傅指导", sender="wu")
    order = app.store.get_order(1)
    assert order is not None and order.region == "浙江省湖州市德清县"


async def test_stats_and_remind_commands(chat: FakeChat, app: App) -> None:
    await chat.say(ORDER, sender="wu")
    [stats] = await chat.say("/统计 2026-05", sender="admin")
    assert "2026年5月" in stats.text and "收到需求 1 件" in stats.text
    [bad] = await chat.say("/统计 2026-13", sender="admin")
    assert "2026-13" in bad.text
    [started] = await chat.say("/提醒", sender="admin")
    assert started.text == "正在检查到期的提醒，发送完毕后在这里告诉您结果。"
    await asyncio.gather(*app.sweeps)  # the sweep runs as the scheduled one does
    await app.outbox.drain()
    assert chat.sent[-1].text == "目前没有到期的提醒。" and chat.sent[-1].chat == "g1"


async def test_remind_sends_what_is_due_off_the_loop_and_then_says_what(
        chat: FakeChat, app: App, clock: FrozenClock) -> None:
    await chat.say(ORDER, sender="wu")
    clock.advance(hours=30)  # #1 waited long enough unclaimed to be announced again
    before = len(chat.sent)
    await chat.say("/提醒", sender="admin")
    await asyncio.gather(*app.sweeps)
    await app.outbox.drain()
    said = [s.text for s in chat.sent[before:]]
    assert any("#1" in t and "重新" in t for t in said)  # the reminder itself
    assert said[-1].startswith("已发送 1 条提醒。") and "#1" in said[-1]
    assert app.store.reminder_sent("reannounce:1")


async def test_dashboard_link_is_sent_privately(chat: FakeChat, app: App) -> None:
    sent = await chat.say("/后台", sender="admin")
    link = next(s for s in sent if s.to_user == "admin")
    assert "/admin/?login=" in link.text
    token = link.text.split("login=")[1].split()[0]
    assert app.store.use_login_token(token) == "fake:admin"
    assert app.store.use_login_token(token) is None  # only once
    assert any(s.to_user is None and "已私聊发送" in s.text for s in sent)


async def test_expert_group_of_a_region_gets_the_announcement(chat: FakeChat, app: App) -> None:
    [set_] = await chat.say("/设置 专家群 湖州", sender="admin", chat="experts")
    assert "浙江省湖州市" in set_.text
    sent = await chat.say("点单：德清一家钢构厂不锈钢焊接变形严重，请师傅指导", sender="wu")
    there = [s for s in sent if s.chat == "experts"]
    assert len(there) == 1 and "#1" in there[0].text and "e1" in there[0].mentions
    sent = await chat.say("点单：婺城的鱼塘凌晨缺氧浮头，请专家指导", sender="wu")
    assert not [s for s in sent if s.chat == "experts"]  # another region


async def test_group_quiet_hours_hold_its_reminders(chat: FakeChat, app: App,
                                                    clock: FrozenClock) -> None:
    [bad] = await chat.say("/设置 免打扰 晚上", sender="admin")
    assert "21:00-08:00" in bad.text
    await chat.say("/设置 免打扰 12:00-14:00", sender="admin")
    await chat.say(ORDER, sender="wu")
    clock.advance(hours=26)  # 12:00 the next day: inside this group's quiet hours
    await app.run_jobs()
    assert not app.store.reminder_sent("reannounce:1")
    clock.advance(hours=2)
    await app.run_jobs()
    assert app.store.reminder_sent("reannounce:1")
