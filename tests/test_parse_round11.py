"""Reading, eleventh round (blind set 28): booking a service for oneself, a forward naming the
firm in 【】 and asking the group to look, an authority's notice inside a request, 来个 + an
expert of a trade, a place phrase before a full firm name, a worker's employer in their own
matter, described firms (养殖户, 充装站), 这个月月底, a street number that is no date, and a
question about how to order."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.model import SHANGHAI
from bot.text import faq
from bot.text.parse import parse

NOW = datetime(2026, 4, 13, 10, 0, tzinfo=SHANGHAI)  # a Monday


@pytest.mark.parametrize("text", [
    "最近晚上老是睡不着，车间三班倒压力很大，脾气也越来越差，听说工会有心理咨询，我能约一次吗",
    "听说工会有律师免费咨询，劳动合同的问题我可以约一次吗？我叫陈小兵",
])
def test_asking_to_book_a_service_for_oneself_is_an_order(text: str) -> None:
    p = parse(text, NOW)
    assert p.is_request and p.intent == "new_order"


def test_booking_without_a_need_is_no_order() -> None:
    assert not parse("周末能约一起吃个饭吗", NOW).is_request


@pytest.mark.parametrize(("text", "firm", "contact", "phone"), [
    ("转发：【常山县辉埠镇某石灰钙业公司】回转窑托轮轴承温度偏高，已经换过一次油还是不行，"
     "想请机械方面专家现场会诊。联系人：钱工 13967012478。请各位帮忙看看",
     "常山县辉埠镇某石灰钙业公司", "钱工", "13967012478"),
    ("转发：【新昌县某轴承厂】磨床主轴异响，想请机械专家来看看。联系人：王工 13867512345。"
     "请各位老师帮忙看看",
     "新昌县某轴承厂", "王工", "13867512345"),
])
def test_a_forward_asking_the_group_to_look_is_the_order_it_forwards(
        text: str, firm: str, contact: str, phone: str) -> None:
    p = parse(text, NOW)
    assert p.is_request and p.intent == "new_order"
    assert (p.enterprise, p.contact, p.phone) == (firm, contact, phone)


def test_a_forwarded_notice_stays_a_notice() -> None:
    p = parse("转发：【县总工会】关于举办职工技能大赛的通知，请各位会员积极报名", NOW)
    assert not p.is_request


@pytest.mark.parametrize("text", [
    "急！江山一家水泥厂，窑尾除尘器排放超标，环保局已经下了整改通知，3天内必须整改完，"
    "求环保方面专家！联系人汪科长 13867092233",
    "我们厂收到了应急管理局的限期整改通知书，消防通道和配电房都要改，想请安全生产专家来看看，"
    "联系人周经理 13905712345",
])
def test_an_authoritys_notice_inside_a_request_keeps_it_a_request(text: str) -> None:
    p = parse(text, NOW)
    assert p.is_request and p.contact is not None and p.phone is not None


def test_the_unions_notice_stays_a_notice() -> None:
    assert not parse("【通知】下周三下午召开服务队工作会议，请各位专家准时参加", NOW).is_request


@pytest.mark.parametrize(("text", "region"), [
    ("来个焊工老师 定海 船体分段焊接变形 急", "浙江省舟山市定海区"),
    ("来位电工师傅 柯桥 配电柜老是跳闸", "浙江省绍兴市柯桥区"),
    ("派个钳工师傅 新昌 减速机漏油", "浙江省绍兴市新昌县"),
])
def test_asking_for_an_expert_of_a_trade_tersely_is_an_order(text: str, region: str) -> None:
    p = parse(text, NOW)
    assert p.is_request and p.region == region


def test_an_expert_who_came_before_is_no_ask() -> None:
    assert not parse("上次来个师傅看了一下就修好了，谢谢大家", NOW).is_request


@pytest.mark.parametrize(("text", "firm"), [
    ("喂你好我是定海白泉那边舟山海鑫水产冷冻有限公司的王大姐我们冷库的氨制冷机组最近压力老是偏高"
     "想请懂制冷的师傅过来看一下", "舟山海鑫水产冷冻有限公司"),
    ("各位老师好，我是富阳银湖这边杭州富春光电科技有限公司的生产主管老蒋，贴片线MES系统老是"
     "报错，想请数字化方面的专家指导", "杭州富春光电科技有限公司"),
    ("我们是柯桥那边绍兴华美印染有限公司，定型机废气超标，想请环保专家来看看，联系人王工 "
     "13867512345", "绍兴华美印染有限公司"),
])
def test_a_place_phrase_before_a_full_name_is_no_part_of_it(text: str, firm: str) -> None:
    assert parse(text, NOW).enterprise == firm


@pytest.mark.parametrize("text", [
    "老板已经拖了我们三个月工资了，一共十几个人，在余杭仁和一家家具厂，能不能帮我们找个律师"
    "咨询下怎么讨薪，我叫周建华，电话 136-5710-8842",
    "想问问工伤的事，在萧山一家汽配厂，手被冲床压伤了，厂里不给报工伤，能不能找个律师，"
    "我叫李强 13588012345",
])
def test_a_workers_employer_in_their_own_matter_is_no_requester(text: str) -> None:
    p = parse(text, NOW)
    assert p.is_request and p.enterprise is None


def test_a_manager_at_a_described_firm_keeps_the_firm() -> None:
    p = parse("各位老师好，我是徐副总，在武义一家做电动工具的企业管生产，装配线节拍对不上，"
              "想请精益生产的专家来指导，联系人徐总 13867512345", NOW)
    assert p.enterprise == "武义一家做电动工具的企业"


@pytest.mark.parametrize(("text", "firm"), [
    ("岱山东沙一家大黄鱼网箱养殖户，溶解氧老是偏低，想请专家线上远程指导一下，"
     "电话一五九 六八零二 三三四五，我姓贺叫我贺师傅", "岱山东沙一家大黄鱼网箱养殖户"),
    ("点单：定海一家液化气充装站，想请安全生产专家来做一次隐患排查，4月25日前完成，"
     "联系人：杜站长 13967203311", "定海一家液化气充装站"),
    ("点单：象山一家加油站，油气回收装置老是报警，联系人：林站长 13967203311",
     "象山一家加油站"),
])
def test_described_farms_and_stations_are_firms(text: str, firm: str) -> None:
    assert parse(text, NOW).enterprise == firm


@pytest.mark.parametrize(("text", "due"), [
    ("点单：萧山一家电子厂，想请心理老师来做一次团体辅导。联系人小金 13588123344。"
     "这个月月底之前", date(2026, 4, 30)),
    ("点单：空压机跳闸，下个月月初前来一趟，联系人张工 13857312345", date(2026, 5, 5)),
    ("点单：空压机跳闸，本月的月底前来，联系人张工 13857312345", date(2026, 4, 30)),
])
def test_a_months_end_named_after_the_month_is_a_deadline(text: str, due: date) -> None:
    assert parse(text, NOW).deadline == due


@pytest.mark.parametrize("text", [
    "补充 20 现场地址是金塘镇沥港工业区3号，进门右手边第二个车间",
    "补充 26 厂址在平湖新埭镇工业园5号，进门左转",
])
def test_a_street_number_is_no_date(text: str) -> None:
    assert parse(text, NOW).deadline is None


def test_a_day_number_is_still_a_date() -> None:
    p = parse("点单：空压机跳闸，20号前来一趟，联系人张工 13857312345", NOW)
    assert p.deadline == date(2026, 4, 20)


@pytest.mark.parametrize("text", [
    "点单怎么点？要写哪些东西",
    "怎么点单？",
    "请问如何点单啊",
    "点单要写什么？",
    "怎么点单，谁能教一下",
])
def test_how_to_order_is_a_common_question_answered_from_the_faq(text: str) -> None:
    p = parse(text, NOW)
    assert p.intent == "other" and not p.is_request and not p.unsure
    assert faq.answer(text) is not None and "点单：" in (faq.answer(text) or "")


@pytest.mark.parametrize("text", ["帮助", "help", "这个机器人怎么用"])
def test_help_stays_help(text: str) -> None:
    assert parse(text, NOW).intent == "help"


def test_an_order_after_not_knowing_how_to_order_stays_an_order() -> None:
    p = parse("不知道怎么点单，我们厂空压机老是跳闸，想请师傅来看看，联系人张工 13857312345", NOW)
    assert p.is_request and p.contact == "张工"
