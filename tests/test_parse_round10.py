"""Reading, tenth round (blind set 27): a union's notice to pass on, questions about the service
and about ordering some day, an expert's arrival told to the client, carpooling to a training,
a question to another member about their matter, availability that is no deadline, and an
English name after a department."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.model import SHANGHAI
from bot.text.parse import parse

NOW = datetime(2026, 9, 14, 10, 0, tzinfo=SHANGHAI)  # a Monday


@pytest.mark.parametrize("text", [
    "国庆前，平阳县总工会联合县人民医院开展“职工健康行”义诊，时间10月8日上午，"
    "地点昆阳镇文化中心，请互相转告",
    "下周六上午，镇工会联合农技站在文化礼堂办一期茶叶修剪讲座，有兴趣的职工请相互转告",
])
def test_a_notice_to_pass_on_is_no_order(text: str) -> None:
    p = parse(text, NOW)
    assert not p.is_request and p.intent == "other"
    assert not p.unsure  # a notice: the bot does not ask whether it is an order


def test_a_trade_union_and_a_peoples_hospital_are_no_ask_for_someone_who_knows() -> None:
    # 工会 … 人民医院 once read as "会 … 人" (someone who can …).
    p = parse("县总工会联合人民医院开展职工体检", NOW)
    assert not p.is_request
    assert parse("有没有会修空压机的人？我们厂的空压机老是跳闸，联系人张工 13857312345",
                 NOW).is_request


@pytest.mark.parametrize("text", [
    "这个月的点单截止到什么时候？",
    "今年的点单几号截止啊？",
    "点单什么时候结束？",
    "如果我们公司想点单，需要先入会吗？",
    "要是我们村想求助，得先找镇工会吗？",
    "假如下个月想点单，要不要提前登记？",
])
def test_a_question_about_the_service_is_no_order(text: str) -> None:
    p = parse(text, NOW)
    assert not p.is_request and p.intent == "other"


def test_an_order_with_a_question_stays_an_order() -> None:
    p = parse("如果可以点单的话，我们厂的空压机老是跳闸，能不能派个师傅来看看？"
              "联系人张工 13857312345", NOW)
    assert p.is_request and p.contact == "张工"
    assert parse("点单：我们想请专家下午就到厂里看看注塑机，联系人王工 13857312345",
                 NOW).is_request


@pytest.mark.parametrize("text", [
    "吴经理，你们那个注塑机的问题师傅明天上午就到，记得安排人在门口接一下",
    "沈厂长，锅炉的事专家下午会到，麻烦安排个人带一下路",
])
def test_an_expert_on_the_way_told_to_the_client_is_no_order(text: str) -> None:
    p = parse(text, NOW)
    assert not p.is_request and p.contact is None


def test_a_wish_for_an_expert_to_come_stays_an_order() -> None:
    p = parse("我们厂的空压机跳闸了，希望专家明天就到，联系人张工 13857312345", NOW)
    assert p.is_request


@pytest.mark.parametrize("text", [
    "嘉善有没有人下个月要去参加焊工复审培训的？拼个车",
    "海盐这边谁明天去市里听安全培训？搭个车",
])
def test_carpooling_to_a_training_is_no_order(text: str) -> None:
    assert not parse(text, NOW).is_request


def test_a_status_question_to_another_member_about_their_matter_is_no_order_query() -> None:
    p = parse("@老王 上次你说的那个空压机异响后来怎么样了？需要我再过去看看吗", NOW)
    assert p.intent == "other" and not p.is_request
    p = parse("@李师傅 上次你讲的那个模具问题后来怎么样了", NOW)
    assert p.intent == "other"
    assert parse("上次你说的那个冷却塔漏水后来怎么样了？", NOW).intent == "other"
    # The sender's own order still is one.
    assert parse("上次我们报的那个单子怎么样了？", NOW).intent == "my_orders"


@pytest.mark.parametrize("text", [
    "我在嘉兴一家厂里上班，腰椎不太好，想找医生咨询一下，周末我都有空",
    "我想学电焊，你们有没有培训班？我在秀洲打工，晚上和周六有空",
    "想请律师咨询一下劳动合同的事，我周日有时间，电话13857312345",
])
def test_when_the_sender_is_free_is_no_deadline(text: str) -> None:
    assert parse(text, NOW).deadline is None


def test_a_deadline_stays_a_deadline() -> None:
    p = parse("点单：空压机跳闸，周末前要修好，联系人张工 13857312345", NOW)
    assert p.deadline == date(2026, 9, 19)
    p = parse("点单：空压机跳闸，希望周六来，联系人张工 13857312345", NOW)
    assert p.deadline == date(2026, 9, 19)


@pytest.mark.parametrize(("text", "contact"), [
    ("#点单 平阳一家泵业公司 水泵振动大 设备科王Tony 15990775318 越快越好", "王Tony"),
    ("点单 乐清一家电器厂 检测工位误判 品管部陈Kevin 13857312345", "陈Kevin"),
    ("点单：温州一家鞋厂，流水线老是卡，生产车间李Amy联系，13857312345", "李Amy"),
])
def test_an_english_name_after_a_department_is_the_contact(text: str, contact: str) -> None:
    assert parse(text, NOW).contact == contact


def test_a_menu_order_takes_no_category_from_the_firms_name_alone() -> None:
    p = parse("点单 清单第5项 海宁一家经编厂要，联系人小沈 13567341209", NOW)
    assert p.intent == "menu_order" and p.category is None
    p = parse("点单 清单第5项 海宁一家经编厂要，经编机断纱严重，联系人小沈 13567341209", NOW)
    assert p.category is not None


def test_asking_an_expert_of_a_trade_is_an_ask_but_asking_a_member_by_name_is_not() -> None:
    p = parse("老家亲戚被人骗去买了所谓的理财产品，钱要不回来了，"
              "想问下工会的法律专家这个还能追回来吗", NOW)
    assert p.is_request
    p = parse("最近老是失眠，上班没精神，听说可以找心理老师聊聊，我想试试。我在嘉兴上班。", NOW)
    assert p.is_request
    p = parse("想问下张师傅，上次那台注塑机的问题后来解决了吗？", NOW)
    assert not p.is_request
