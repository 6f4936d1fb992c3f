"""Command messages: order numbers and the details after them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.text.parse import parse

NOW = datetime(2026, 5, 6, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(("text", "intent", "order_no"), [
    ("接单 12", "claim", 12), ("接 #12", "claim", 12), ("认领12", "claim", 12),
    ("接单", "claim", None), ("接单＃１２", "claim", 12), ("12号单我接了", "claim", 12),
    ("协助 12", "assist", 12), ("退单 12 临时出差", "release", 12), ("撤销 #7", "cancel", 7),
    ("查询 12", "query", 12), ("补充 12 电话13800001111", "supplement", 12),
    ("进展 12 已远程指导", "progress", 12), ("办结 #3 已解决", "complete", 3),
    ("评价 12 满意", "rate", 12), ("预约 12 明天上午", "schedule", 12),
])
def test_order_numbers(text: str, intent: str, order_no: int | None) -> None:
    p = parse(text, NOW)
    assert (p.intent, p.order_no, p.is_request) == (intent, order_no, False)


@pytest.mark.parametrize("text", ["接下来怎么办", "查一下原因", "完成了", "进展如何",
                                  "评价一下张师傅", "取消预约", "预约一场讲座"])
def test_words_that_are_not_commands(text: str) -> None:
    p = parse(text, NOW)
    assert p.intent in ("other", "new_order")
    assert p.order_no is None


def test_release_reason() -> None:
    p = parse("退单 12 临时出差", NOW)
    assert p.reason == "临时出差"


def test_schedule() -> None:
    p = parse("预约 #12 明天下午3点 线上", NOW)
    assert p.visit_time == datetime(2026, 5, 7, 15, 0, tzinfo=NOW.tzinfo)
    assert p.mode == "线上"
    assert parse("预约 12 5月20日上午 现场", NOW).mode == "现场"


def test_complete_outcome() -> None:
    p = parse("办结 12 已解决 提出建议3条 服务2小时 受益职工30人 现场 变形减少80%", NOW)
    assert p.outcome is not None
    o = p.outcome
    assert (o.result, o.solved, o.suggestions, o.hours, o.beneficiaries, o.mode) == (
        "已解决", True, 3, 2.0, 30, "现场")
    o2 = parse("办结 #9 部分解决 建议2条 服务1.5小时 线上", NOW).outcome
    assert o2 is not None
    assert (o2.result, o2.solved, o2.suggestions, o2.hours, o2.mode) == (
        "部分解决", False, 2, 1.5, "线上")
    o3 = parse("办结12：已解决，讲座受益职工60人，服务半天", NOW).outcome
    assert o3 is not None
    assert (o3.beneficiaries, o3.hours) == (60, 4.0)


@pytest.mark.parametrize(("text", "rating", "stars"), [
    ("评价 12 满意 师傅很专业", "满意", None), ("评价 #12 基本满意", "基本满意", None),
    ("评价12 不满意 来得太晚", "不满意", None), ("评价 7 5星", "满意", 5),
    ("评价 #3 ★★★ 一般", "基本满意", 3), ("评分 10 2分", "不满意", 2),
])
def test_rating(text: str, rating: str, stars: int | None) -> None:
    p = parse(text, NOW)
    assert (p.intent, p.rating, p.stars) == ("rate", rating, stars)


@pytest.mark.parametrize(("text", "command", "args"), [
    ("/指派 12 X01", "assign", ("12", "X01")), ("/assign 12 X01", "assign", ("12", "X01")),
    ("／统计 2026-05", "stats", ("2026-05",)), ("/help", "help", ()), ("/改派 3 X02", "reassign",
                                                                      ("3", "X02")),
])
def test_admin(text: str, command: str, args: tuple[str, ...]) -> None:
    p = parse(text, NOW)
    assert (p.intent, p.command, p.args) == ("admin", command, args)


def test_menu_and_menu_order() -> None:
    assert parse("服务清单 焊接", NOW).note == "焊接"
    p = parse("点单 3号 我们厂想给职工做一次健康讲座", NOW)
    assert (p.intent, p.menu_no, p.is_request) == ("menu_order", 3, True)
    assert p.service_type == "职工生活"
    q = parse("点单：3台注塑机都漏油，急", NOW)
    assert (q.intent, q.menu_no) == ("new_order", None)


def test_supplement_carries_fields() -> None:
    p = parse("补充 12 联系人王建国 电话 0571-87654321，下周五前", NOW)
    assert (p.contact, p.phone, p.deadline) == ("王建国", "0571-87654321", date(2026, 5, 15))


@pytest.mark.parametrize(("text", "menu_no"), [
    ("点单 3", 3), ("从服务清单里点第7项——点单 7，电话 0571-86915530", 7), ("清单里点5号", 5),
    ("清单里第2项，帮我们安排一下", 2),
])
def test_ordering_from_the_menu(text: str, menu_no: int | None) -> None:
    p = parse(text, NOW)
    assert (p.intent == "menu_order", p.menu_no) == (menu_no is not None, menu_no)


def test_a_range_after_dian_is_not_a_menu_number() -> None:
    assert parse("点3-4个焊工来支援一下", NOW).intent != "menu_order"


@pytest.mark.parametrize(("text", "intent", "order_no"), [
    ("接单一", "claim", 1), ("查询十二", "query", 12), ("评价 三号 满意", "rate", 3),
    ("协助 #6号", "assist", 6), ("接 6号单", "claim", 6), ("办结二十一 已解决", "complete", 21),
    ("6号单什么情况了", "query", 6), ("#6 进度怎么样", "query", 6),
    ("九号单有人接了没", "query", 9),
    ("7号单不用了", "cancel", 7), ("十九号那个单子撤了吧", "cancel", 19),
    ("协助一下十五号单", "assist", 15), ("好的，这块我熟，接单十五", "claim", 15),
    ("我们那个19号单到底什么情况了", "query", 19), ("31号单还没人接吗 都三天了", "query", 31),
])
def test_order_numbers_as_people_write_them(text: str, intent: str, order_no: int) -> None:
    p = parse(text, NOW)
    assert (p.intent, p.order_no, p.is_request) == (intent, order_no, False)


@pytest.mark.parametrize("text", ["接一下电话", "查一下原因", "评价一下张师傅"])
def test_a_word_number_must_stand_alone(text: str) -> None:
    assert parse(text, NOW).order_no is None


@pytest.mark.parametrize("text", ["上次那个师傅还没来啊", "昨天报的那个怎么还没人接",
                                  "我们那个单进度怎么样了", "我报的那几个单子现在啥状态",
                                  "前天发的那个注塑的需求 怎么一直没人理",
                                  "昨天下午报的那个问题怎么还没人接？"])
def test_asking_after_ones_own_orders(text: str) -> None:
    p = parse(text, NOW)
    assert (p.intent, p.is_request) == ("my_orders", False)


@pytest.mark.parametrize("text", ["点单", "点单：", "我要点单", "@匠心点单 点单"])
def test_a_bare_order_word_opens_nothing(text: str) -> None:
    p = parse(text, NOW)
    assert not p.is_request and p.bare_order


@pytest.mark.parametrize(("text", "intent", "menu_no"), [
    ("#点单 清单10号 临平一家食品厂", "menu_order", 10), ("点单 十一", "menu_order", 11),
    ("我们点清单里第四个 绿色养殖那个", "menu_order", 4),
    ("麻烦发一下服务清单，我看看有啥能点的", "menu", None),
    ("看看还有哪些待接单的", "open_orders", None),
])
def test_the_menu_and_the_open_orders_as_people_ask(text: str, intent: str,
                                                   menu_no: int | None) -> None:
    p = parse(text, NOW)
    assert (p.intent, p.menu_no) == (intent, menu_no)
