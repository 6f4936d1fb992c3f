"""Order fields: enterprise, contact, region, category, urgency, summary, forms."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.text.normalize import normalize
from bot.text.orgs import find_enterprise
from bot.text.parse import parse
from bot.text.people import find_contact
from bot.text.phones import find_phones
from bot.text.regions import find_region

NOW = datetime(2026, 5, 6, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(("text", "want"), [
    ("湖州南浔精工机械有限公司的数控车床精度下降", "湖州南浔精工机械有限公司"),
    ("长兴县绿源水产养殖场鱼塘浮头", "长兴县绿源水产养殖场"),
    ("我是华星纺织的，染色有色差", "华星纺织"),
    ("我们是德清一家钢构企业", "德清一家钢构企业"),
    ("浙能长兴电厂锅炉结垢", "浙能长兴电厂"),
    ("我们厂的注塑机", None), ("我司需要", None), ("想请师傅来厂指导", None),
    ("加工中心主轴异响", None), ("3号厂房漏水", None), ("我们食品厂想办认证", None),
    ("点单：海宁市许村镇一家经编企业，布面有横条", "海宁市许村镇一家经编企业"),  # with its town
    ("我们是淳安县的一家山核桃合作社", "淳安县的一家山核桃合作社"),
    ("您好，我们是桐庐县一家小企业，遇到个难题", "桐庐县一家小企业"),
    ("我们是一家小企业，想请专家", None),  # no name and no place: nothing to record
])
def test_enterprise(text: str, want: str | None) -> None:
    assert find_enterprise(normalize(text)) == want


@pytest.mark.parametrize(("text", "want"), [
    ("联系人吴经理 13867201234", "吴经理"), ("联系人：王建国 电话13867201234", "王建国"),
    ("有事找老王", "老王"), ("请联系张工，电话0571-87654321", "张工"), ("联系人小芳", "小芳"),
    ("电话13867201234 王先生", "王先生"), ("联系方式：13588661234（张工）", "张工"),
    ("联系人：设备科 王科长", "王科长"), ("欧阳经理负责", "欧阳经理"),
    ("想请李师傅来看看", None), ("找个懂行的师傅", None), ("我们厂施工现场", None),
    ("小时工不够", None), ("联系电话13867201234", None),
])
def test_contact(text: str, want: str | None) -> None:
    n = normalize(text)
    assert find_contact(n, find_phones(n)) == want


@pytest.mark.parametrize(("text", "want"), [
    ("德清", "浙江省湖州市德清县"), ("柯桥的印染厂", "浙江省绍兴市柯桥区"),
    ("瑞安", "浙江省温州市瑞安市"), ("杭州萧山", "浙江省杭州市萧山区"), ("湖州", "浙江省湖州市"),
    ("织里童装", "浙江省湖州市吴兴区"),
    ("天台漏水", None), ("天台县", "浙江省台州市天台县"), ("景宁", "浙江省丽水市景宁畲族自治县"),
])
def test_region(text: str, want: str | None) -> None:
    assert find_region(normalize(text)) == want


@pytest.mark.parametrize(("text", "urgent"), [
    ("急！", True), ("尽快来", True), ("设备停机了", True), ("产线停产", True),
    ("马上", True), ("不急，下个月都行", False), ("想做急救培训", False), ("应急预案", False),
    ("急停按钮坏了", False),
])
def test_urgent(text: str, urgent: bool) -> None:
    assert parse("点单：" + text, NOW).urgent is urgent


@pytest.mark.parametrize(("text", "category"), [
    ("我们是做低压电器的，断路器装配线节拍跟不上，想请精益方面的老师梳理一下", "精益生产"),
    ("汽配厂机器人工作站焊偏，需要焊接专家调试", "焊接"),
    ("急求懂变频恒压供水的师傅，水泵频繁启停", "电气"),
    ("有懂电机维修的师傅吗？三相电机绕组烧了", "电气"),
])
def test_the_expertise_asked_for_decides_the_category(text: str, category: str) -> None:
    assert parse("点单：" + text, NOW).category == category


def test_summary_strips_boilerplate() -> None:
    p = parse("点单：我们是德清一家钢构企业，不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导。"
              "联系人吴经理 13867201234，下周三前", NOW)
    assert p.summary == "不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导"


@pytest.mark.parametrize("tail", ["电话13812345678（微信同号）", "13812345678、13987654321(同微信)",
                                  "王工 13812345678【手机】，0572-2345678（办公室）"])
def test_summary_drops_notes_beside_phone_numbers(tail: str) -> None:
    assert parse(f"点单：锅炉结垢严重，{tail}", NOW).summary == "锅炉结垢严重"


def test_summary_is_short_and_the_problem_is_whole() -> None:
    p = parse("点单：" + "焊接变形严重需要指导，" * 20, NOW)
    assert p.summary is not None and len(p.summary) <= 60
    assert p.problem is not None and p.problem.count("焊接变形") == 20


def test_form() -> None:
    p = parse("单位：德清县恒达钢构有限公司\n问题：不锈钢薄板焊接变形\n联系人：吴经理\n"
              "电话：13867201234\n时间：下周三前\n地点：德清县武康街道", NOW)
    assert p.is_request and p.intent == "new_order"
    assert (p.enterprise, p.contact, p.phone, p.location, p.summary) == (
        "德清县恒达钢构有限公司", "吴经理", "13867201234", "德清县武康街道", "不锈钢薄板焊接变形")


@pytest.mark.parametrize(("text", "unsure"), [
    ("电机有点问题", True), ("能帮我看看吗？", True), ("谢谢张师傅", False), ("大家好", False),
])
def test_unsure(text: str, unsure: bool) -> None:
    p = parse(text, NOW)
    assert (p.is_request, p.intent, p.unsure) == (False, "other", unsure)
