"""A worker's private request stays private: never quoted where a group, a booklet or a
stranger can read it, and never an excellent case."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from bot.cases import cases
from bot.exports import ledger
from bot.exports_booklet import write_cases
from bot.matching import Routing
from tests.fakes import FakeChat, add_expert

STORY = "点单：我叫王小明，在德清一家厂打工，公司拖欠我三个月工资，想咨询怎么维权"
SECRETS = ("王小明", "拖欠我三个月", "德清一家厂")
GROUP_ORDER = "点单：我们厂有工人被拖欠工资好几个月，想请律师来讲讲怎么维权"


@pytest.fixture
async def served(chat: FakeChat, app: App) -> FakeChat:
    """#1: a worker's private request, claimed and completed by lawyer e5 (all 1:1)."""
    add_expert(app, "e5", "林律师", ("劳动法", "劳动合同", "欠薪维权", "工伤认定"))
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    await chat.say(STORY, sender="w9", single=True)
    order = app.store.get_order(1)
    assert order is not None and order.private
    await chat.say("接单 1", sender="e5", single=True)
    await chat.say("办结 1 已解决 服务1小时 受益1人 线上 指导申请劳动仲裁", sender="e5",
                   single=True)
    return chat


def _clean(text: str) -> bool:
    return not any(s in text for s in SECRETS)


async def test_reasons_in_a_group_name_only_the_category(served: FakeChat, app: App) -> None:
    """The matcher learned from #1 as it was completed (in memory) ..."""
    [announce] = await served.say(GROUP_ORDER, sender="c1")
    assert "曾办结类似点单：职工个人需求（法律）" in announce.text
    assert _clean(announce.text), announce.text


async def test_reasons_after_a_restart_name_only_the_category(served: FakeChat,
                                                              app: App) -> None:
    """... and from the store, as a new process builds it."""
    [best, *_] = Routing(app.store).rank("工人被拖欠工资几个月，怎么维权", None, 3)
    assert best.id == "e5" and "曾办结类似点单：职工个人需求（法律）" in best.reasons
    assert all(_clean(r) for r in best.reasons)


async def test_a_public_order_is_still_quoted(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    await chat.say("点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导", sender="c1")
    await chat.say("接单 1", sender="e1")
    await chat.say("办结 1 已解决 服务2小时 受益10人 现场 调整焊接顺序", sender="e1")
    [best, *_] = Routing(app.store).rank("薄板焊接变形严重，请师傅指导", None, 3)
    assert any(r.startswith("曾办结类似点单：") and "焊接" in r for r in best.reasons)


async def test_a_private_order_is_no_excellent_case(served: FakeChat, app: App) -> None:
    [refused] = await served.say("/案例 1", sender="admin")
    assert refused.text == "#1 是职工个人需求，为保护个人隐私，不能评为优秀案例。"
    order = app.store.get_order(1)
    assert order is not None and not order.excellent


async def test_one_marked_before_stays_out_of_the_list_and_the_booklet(
        served: FakeChat, app: App, tmp_path: Path) -> None:
    app.store.update_order(1, "fake:admin", "order.case", {"excellent": 1}, excellent=True)
    [listed] = await served.say("/案例 列表", sender="admin")
    assert listed.text == "还没有优秀案例。"
    assert cases(app.store) == []
    assert write_cases(app.store, tmp_path / "b.html", "html") == 0
    assert _clean((tmp_path / "b.html").read_text("utf-8"))


async def test_the_ledger_names_a_private_need_by_its_category(served: FakeChat,
                                                               app: App) -> None:
    _, rows = ledger(app.store)
    [row] = rows
    assert row[1] == "" and row[2] == "职工个人需求（法律）"
    assert all(_clean(str(cell)) for cell in row)


async def test_strangers_in_a_1to1_chat_learn_nothing_of_it(served: FakeChat,
                                                            app: App) -> None:
    await served.say(STORY.replace("王小明", "李四") + "，电话 13912345678", sender="w8",
                     single=True)  # #2, open
    for sender in ("nosy", "e1"):  # a stranger, and an expert it was never offered to
        [query] = await served.say("查询 2", sender=sender, single=True)
        assert "职工个人需求" in query.text and _clean(query.text), query.text
        [pending] = await served.say("待接单", sender=sender, single=True)
        assert "#2 职工个人需求" in pending.text and "拖欠" not in pending.text
    [offered] = await served.say("查询 2", sender="e5", single=True)  # it was offered to e5
    assert "拖欠" in offered.text and "13912345678" not in offered.text  # contact: claim first
    [own] = await served.say("查询 2", sender="w8", single=True)
    assert "拖欠" in own.text


async def test_admin_help_in_a_group_goes_1to1(chat: FakeChat) -> None:
    replies = await chat.say("帮助", sender="admin")
    [group] = [r for r in replies if r.chat == "g1" and r.to_user is None]
    [private] = [r for r in replies if r.to_user == "admin"]
    assert "/" not in group.text and "管理员指令一览已私聊发给您" in group.text
    assert "/指派" in private.text and "/统计" in private.text
    replies = await chat.say("/帮助", sender="admin")
    assert [r.to_user for r in replies if "/指派" in r.text] == ["admin"]
