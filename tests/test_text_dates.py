"""Deadlines and visit times read against the message's own time (Asia/Shanghai)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.text.dates import parse_deadline, parse_visit_time

SH = ZoneInfo("Asia/Shanghai")
WED = datetime(2026, 5, 6, 10, 0, tzinfo=SH)  # a Wednesday


@pytest.mark.parametrize(("text", "want"), [
    ("今天要", date(2026, 5, 6)),
    ("明天", date(2026, 5, 7)),
    ("后天前", date(2026, 5, 8)),
    ("大后天", date(2026, 5, 9)),
    ("本周五", date(2026, 5, 8)),
    ("周五前", date(2026, 5, 8)),
    ("这周内", date(2026, 5, 10)),
    ("下周三", date(2026, 5, 13)),
    ("下周一之前", date(2026, 5, 11)),
    ("下星期二以前", date(2026, 5, 12)),
    ("下下周三", date(2026, 5, 20)),
    ("3天内", date(2026, 5, 9)),
    ("三天内", date(2026, 5, 9)),
    ("两三天内", date(2026, 5, 9)),
    ("一周内", date(2026, 5, 13)),
    ("两周之内", date(2026, 5, 20)),
    ("半个月内", date(2026, 5, 21)),
    ("一个月内", date(2026, 6, 6)),
    ("3个工作日内", date(2026, 5, 11)),
    ("24小时内", date(2026, 5, 7)),
    ("月底前", date(2026, 5, 31)),
    ("本月底", date(2026, 5, 31)),
    ("下个月10号", date(2026, 6, 10)),
    ("下月底", date(2026, 6, 30)),
    ("5月20日前", date(2026, 5, 20)),
    ("五月二十日", date(2026, 5, 20)),
    ("6月10日", date(2026, 6, 10)),
    ("6.10前", date(2026, 6, 10)),
    ("6/15之前", date(2026, 6, 15)),
    ("20号前", date(2026, 5, 20)),
    ("5号前", date(2026, 6, 5)),  # the 5th has passed: next month's
    ("3月1日前", date(2027, 3, 1)),  # no year: the next such date
    ("2026年6月1日", date(2026, 6, 1)),
    ("2026-07-01", date(2026, 7, 1)),
    ("六月中旬", date(2026, 6, 20)),
    ("年底前", date(2026, 12, 31)),
    ("国庆前", date(2026, 9, 30)),  # the day before the holiday
    ("元旦之前", date(2026, 12, 31)),
    ("五一节前", date(2027, 4, 30)),
])
def test_deadline(text: str, want: date) -> None:
    assert parse_deadline(text, WED) == want


@pytest.mark.parametrize("text", [
    "已经停机3天了", "上周三开始漏油", "昨天坏的", "每周三例会", "3号车间", "2号机", "5.5万元",
    "2号包装线老是断", "5号生产线", "1号工位", "4号模具",
    "1.5mm 钢板", "受益职工30人", "接单 12", "老周 13957201234", "5月份以来一直这样", "",
    "国庆后再来也可以，不急", "5月10日以后来都行", "月底之后再安排",  # when it may start
    "年底了，想请专家讲讲理财",  # it is the end of the year now
])
def test_no_deadline(text: str) -> None:
    assert parse_deadline(text, WED) is None


@pytest.mark.parametrize(("text", "want"), [
    ("明天之前", date(2026, 5, 7)),
    ("后天上午前", date(2026, 5, 8)),
    ("7月1日前", date(2026, 7, 1)),
    ("下下周四", date(2026, 5, 21)),
    ("月中", date(2026, 5, 15)),
    ("端午前", date(2026, 6, 18)),  # 2026: 6月19日–21日 off
    ("中秋前", date(2026, 9, 24)),  # 2026: 9月25日–27日 off
    ("端午后一周内", date(2026, 6, 28)),  # the last day off, then seven days
    ("国庆后两周内", date(2026, 10, 21)),
    ("五一后一周内", date(2026, 5, 12)),  # 五一 ended yesterday: this one, not next year's
    ("节后10天内", date(2026, 5, 15)),
    ("节前", date(2026, 6, 18)),  # the next holiday is 端午
    ("春节前", date(2027, 2, 5)),  # the calendar knows no 2027 yet: the festival day
    ("年前", date(2027, 2, 5)),
    ("元旦后一周内", date(2027, 1, 8)),
    ("过年前", date(2027, 2, 5)),
    ("0577-62203318转606 月底前", date(2026, 5, 31)),  # the extension is no month
    ("5月12号护士节之前", date(2026, 5, 12)),  # 护士节 is no holiday break
    ("年前还有一批货要发，师傅今晚或者明天能过来吗", date(2026, 5, 7)),  # the visit asked for
])
def test_holidays_and_spoken_spans(text: str, want: date) -> None:
    assert parse_deadline(text, WED) == want


@pytest.mark.parametrize("text", [
    "节后来就行", "国庆以后", "中秋以后安排就行", "端午后再说",
    "马上要过年了，工资还没发", "今年过年没回老家",  # 过年 as the event, not a date
    "厂址在兴业路8号", "0577-62203318转606",  # an address, an extension
])
def test_an_earliest_start_is_no_deadline(text: str) -> None:
    assert parse_deadline(text, WED) is None


def test_a_corrected_deadline_is_the_later_one() -> None:
    from bot.text.parse import parse

    p = parse("点单：粉尘大，想请安全专家来查查，下周三前，哦不对下周三老板不在，改成下周四前", WED)
    assert p.deadline == date(2026, 5, 14)
    q = parse("点单：拉伸件开裂，联系人马经理，哦不对马经理出差了，找技术部小屠 15958512345", WED)
    assert q.contact == "小屠"


def test_a_start_date_is_skipped_for_the_deadline() -> None:
    assert parse_deadline("月底之后再来，下周五前给个答复", WED) == date(2026, 5, 15)


def test_past_date_is_skipped_for_a_later_one() -> None:
    assert parse_deadline("上周三开始漏油，希望周五前来", WED) == date(2026, 5, 8)


@pytest.mark.parametrize(("text", "now", "want"), [
    ("3天内", datetime(2026, 12, 29, 15, tzinfo=SH), date(2027, 1, 1)),
    ("下周一之前", datetime(2026, 12, 31, 16, tzinfo=SH), date(2027, 1, 4)),
    ("1月5日前", datetime(2026, 12, 20, tzinfo=SH), date(2027, 1, 5)),
    ("月底前", datetime(2026, 2, 10, tzinfo=SH), date(2026, 2, 28)),
    ("月底前", datetime(2028, 2, 10, tzinfo=SH), date(2028, 2, 29)),
    ("明天", datetime(2026, 2, 28, 18, tzinfo=SH), date(2026, 3, 1)),
    ("后天", datetime(2026, 5, 30, tzinfo=SH), date(2026, 6, 1)),
    ("下周三", datetime(2026, 5, 10, 20, tzinfo=SH), date(2026, 5, 13)),  # Sunday ends a week
    ("本周五", datetime(2026, 5, 4, 8, tzinfo=SH), date(2026, 5, 8)),
    ("一个月内", datetime(2026, 1, 31, tzinfo=SH), date(2026, 2, 28)),
    ("12月31日前", datetime(2026, 12, 31, 23, 30, tzinfo=SH), date(2026, 12, 31)),
])
def test_deadline_across_month_and_year(text: str, now: datetime, want: date) -> None:
    assert parse_deadline(text, now) == want


@pytest.mark.parametrize(("text", "want"), [
    ("5月20日上午", datetime(2026, 5, 20, 9, 0, tzinfo=SH)),
    ("5月20日下午", datetime(2026, 5, 20, 14, 0, tzinfo=SH)),
    ("明天下午3点", datetime(2026, 5, 7, 15, 0, tzinfo=SH)),
    ("后天上午10点半", datetime(2026, 5, 8, 10, 30, tzinfo=SH)),
    ("下周一 14:00 远程", datetime(2026, 5, 11, 14, 0, tzinfo=SH)),
    ("周五晚上7点", datetime(2026, 5, 8, 19, 0, tzinfo=SH)),
    ("明天", datetime(2026, 5, 7, 9, 0, tzinfo=SH)),
    ("下午三点", datetime(2026, 5, 6, 15, 0, tzinfo=SH)),
    ("6月3日 上午九点", datetime(2026, 6, 3, 9, 0, tzinfo=SH)),
])
def test_visit_time(text: str, want: datetime) -> None:
    assert parse_visit_time(text, WED) == want


def test_visit_time_absent() -> None:
    assert parse_visit_time("现场", WED) is None
