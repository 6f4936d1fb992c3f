"""Reading, twelfth round (blind sets 29 and 30): time words that date an event or describe a
situation are no deadlines, a worker's own legal question, contacts after 找我： and after a role
or a team, a group's rule notice, a registered name after its county, a landmark that is no firm,
status questions about a numbered order, a measured value that is no date."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.model import SHANGHAI
from bot.text.parse import parse

WINTER = datetime(2026, 1, 21, 10, 0, tzinfo=SHANGHAI)  # a Wednesday, before the Spring Festival
SUMMER = datetime(2026, 6, 10, 9, 0, tzinfo=SHANGHAI)  # a Wednesday, before 端午


@pytest.mark.parametrize("text", [
    # a season word describing how things are
    "我在上虞一家电子厂上班，老板说年底手头紧，加班费要拖到年后再给，这样合法吗？能不能帮我问问律师",
    "厂里年底订单多，天天加班到半夜，整个人都快崩溃了，有没有心理老师能聊聊",
    "车间在赶春节前的货，天天加班，睡不着觉，想找个心理老师聊一聊",
    "年前厂里人手紧张，两台冲床又老是卡料，想请机械方面的师傅有空来看看",
    "中秋还在赶月饼，烤炉温度一直不稳，有没有懂温控的师傅帮忙看看，联系人老周 13857312345",
    # when the asker wants to talk, not by when
    "一个人在杭州过年，心里很难受，想找心理老师聊聊，春节那几天能聊吗",
    # an event of this morning
    "求助：空压机今天早上一启动就跳闸，想请电工师傅来看看，联系人王工 13857312345",
    "急！塘里今天凌晨死了一批鱼，想请水产专家远程指导一下，电话13757621096",
])
def test_a_time_word_that_describes_the_situation_is_no_deadline(text: str) -> None:
    now = SUMMER if "中秋" in text else WINTER
    p = parse(text, now)
    assert p.is_request and p.deadline is None


@pytest.mark.parametrize(("text", "due"), [
    # the ask's own time wins over someone else's schedule
    ("一家模具厂，数控车床主轴异响，厂家说年前排不上。明天下午前能有人来看看吗？联系人毛工 "
     "13356782014", date(2026, 1, 22)),
    ("注塑机液压站漏油，供应商说月底才有空。后天上午前能派人来吗，联系人陈工 13857312345",
     date(2026, 1, 23)),
    # season words still set a deadline when the ask hangs on them
    ("空压机老是跳闸，想请电工师傅年前来看看，联系人王工 13857312345", date(2026, 2, 14)),
    ("车间想搞一次消防培训，年前能安排最好，联系人王工 13857312345", date(2026, 2, 14)),
    ("点单：想年前在厂里办一场消防讲座，联系人王工 13857312345", date(2026, 2, 14)),
    ("点单：空压机异响，想请师傅来看看，春节前还来得及吗？联系人王工 13857312345",
     date(2026, 2, 14)),
    ("点单：锅炉结垢严重，想请热能专家指导，年前，联系人王工 13857312345", date(2026, 2, 14)),
    ("点单：车间要做安全巡查，时间：春节前，联系人王工 13857312345", date(2026, 2, 14)),
    ("点单：年底前想完成车间的节能改造，请专家给个方案，联系人王工 13857312345",
     date(2026, 12, 31)),
])
def test_the_time_attached_to_the_ask_is_the_deadline(text: str, due: date) -> None:
    assert parse(text, WINTER).deadline == due


def test_a_day_told_of_the_past_is_no_date_next_year() -> None:
    p = parse("点单：设备厂家来过两次（1月8日、1月15日），调了也没用，想请机修师傅来看看，"
              "联系人王工 13857312345", WINTER)
    assert p.deadline is None


def test_a_measured_value_is_no_date() -> None:
    p = parse("点单：一家对虾养殖场，塘水pH降到6.8左右，虾不吃料，想请养殖专家远程指导，"
              "联系人老陈 13906771234", SUMMER)
    assert p.deadline is None


def test_a_dotted_date_is_still_a_date() -> None:
    p = parse("点单：注塑机漏油，6.20前来一趟，联系人老陈 13906771234", SUMMER)
    assert p.deadline == date(2026, 6, 20)


@pytest.mark.parametrize(("text", "contact"), [
    ("你好，我在慈溪做家电装配，年前老板说要扣我们押金，说年后不回来就不退，这合法吗？"
     "想找个懂劳动法的人问问。我叫张秀英", "张秀英"),
    ("请问厂里不签劳动合同还扣押金，这违法吗？想问问懂法律的老师，我叫李建军", "李建军"),
])
def test_a_workers_own_legal_question_is_an_order(text: str, contact: str) -> None:
    p = parse(text, WINTER)
    assert p.is_request and p.intent == "new_order" and p.contact == contact


@pytest.mark.parametrize(("text", "contact", "phone"), [
    ("海宁一家经编厂，经编机断纱多，请纺织老师帮忙。找我：小姚 / 0573-87654321 / 13606758843",
     "小姚", "0573-87654321"),
    ("空压机异响，想请机修师傅来看看。有事找我: 老郑 13906771234", "老郑", "13906771234"),
])
def test_a_contact_after_find_me_is_read(text: str, contact: str, phone: str) -> None:
    p = parse(text, WINTER)
    assert p.is_request and (p.contact, p.phone) == (contact, phone)


@pytest.mark.parametrize(("text", "contact"), [
    ("鱼塘今天水发黑，浮头厉害，塘主是老应，电话13757621096，能不能远程指导一下", "老应"),
    ("我们是路桥一家机械厂，想请专家讲讲数控车床保养，我是设备科小应，电话13857312345", "小应"),
    ("我们一家化工厂的在线pH计读数漂移，想请仪表专家来看看。联系人是仪表班的徐师傅，"
     "电话13857312345", "徐师傅"),
])
def test_a_contact_after_a_role_or_a_team_is_read(text: str, contact: str) -> None:
    p = parse(text, SUMMER)
    assert p.is_request and p.contact == contact


@pytest.mark.parametrize("text", [
    "@全体成员 本群仅用于点单和服务对接，请勿发广告，谢谢配合。",
    "群规：本群只用于点单和专家对接，请勿闲聊刷屏，感谢配合",
    "吴兴区这个月点单的企业好多啊，专家们忙不过来了吧",
    "今年点单的厂家真不少，服务队辛苦了",
])
def test_group_rules_and_talk_about_orders_are_no_orders(text: str) -> None:
    p = parse(text, SUMMER)
    assert not p.is_request and p.intent == "other"


@pytest.mark.parametrize(("text", "firm"), [
    ("点单：天台县浙江天盛机械有限公司，焊工安全培训，联系人陈师傅 13858627781",
     "浙江天盛机械有限公司"),
    ("点单：鹿城区温州市瓯江阀门有限公司，铸件气孔多，联系人黄经理 13957703362",
     "温州市瓯江阀门有限公司"),
    ("求助 长兴县煤山镇浙江煤山机械铸造有限公司 新职工不会看图纸 联系人Lisa 13857312345",
     "浙江煤山机械铸造有限公司"),
    ("我们是长兴县泗安镇的一家耐火材料厂（长兴宏远耐火材料有限公司），隧道窑能耗偏高，"
     "想请热能专家看看，联系人王工 13857312345", "长兴宏远耐火材料有限公司"),
    # a county before a name of its own stays
    ("点单：德清县新市镇华丰食品有限公司，杀菌锅温度不稳，联系人王工 13857312345",
     "德清县新市镇华丰食品有限公司"),
])
def test_a_registered_name_after_its_place_is_the_firm(text: str, firm: str) -> None:
    assert parse(text, SUMMER).enterprise == firm


def test_a_forms_firm_after_its_place_is_the_registered_name() -> None:
    p = parse("单位：天台县浙江天盛机械有限公司\n问题：焊工安全培训\n联系人：陈师傅\n"
              "电话：13858627781", SUMMER)
    assert p.is_request and p.enterprise == "浙江天盛机械有限公司"


def test_a_landmark_is_no_firm() -> None:
    p = parse("急急急！仙居杨梅基地旁边的鱼塘死了好多鱼，能不能远程指导一下，电话13757621096",
              SUMMER)
    assert p.is_request and p.enterprise is None
    assert p.region == "浙江省台州市仙居县"


@pytest.mark.parametrize(("text", "no"), [
    ("15号单什么时候来人啊", 15),
    ("#6号 现在谁在跟？", 6),
    ("8号单谁在负责", 8),
])
def test_asking_about_a_numbered_order_is_a_query(text: str, no: int) -> None:
    p = parse(text, SUMMER)
    assert (p.intent, p.order_no) == ("query", no)


def test_a_day_asked_about_is_no_query() -> None:
    p = parse("15号什么时候来人比较方便，我们想请焊接师傅来看看，联系人王工 13857312345", SUMMER)
    assert p.intent == "new_order"


@pytest.mark.parametrize("text", [
    "点单：一家印刷厂，空压机房温度高，电机经常过热停机，想请机械师傅来看下，找老方 13506771983",
    "我是一家电池厂的职工，孩子马上中考了，压力大得整晚哭，有没有心理老师能帮忙疏导一下",
])
def test_a_recurring_trouble_or_a_coming_exam_is_not_urgent(text: str) -> None:
    p = parse(text, SUMMER)
    assert p.is_request and not p.urgent


def test_a_stopped_line_is_still_urgent() -> None:
    assert parse("点单：空压机坏了，整条线停机了，想请师傅马上来，联系人王工 13857312345",
                 SUMMER).urgent


def test_a_place_after_we_is_the_region() -> None:
    p = parse("端午还在赶货，我们路桥一家注塑厂机械手夹具断了，有没有师傅能帮忙焊一下，"
              "我是老卢 13216688903，急", SUMMER)
    assert p.region == "浙江省台州市路桥区" and p.deadline is None
