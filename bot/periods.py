"""Tally periods from words: 2026-05, 上月, 本月, 2026-05-01~2026-05-31, 今年, campaign names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.model import SHANGHAI


class PeriodError(ValueError):
    """A period that cannot be read; the message is Chinese, for the user."""


@dataclass(frozen=True)
class Period:
    """[start, end) in Asia/Shanghai, and how to name it."""

    start: datetime
    end: datetime
    label: str

    def previous(self) -> Period:
        """The period of the same kind just before (the month before a month)."""
        if self.start.day == 1 and _next_month(self.start.date()) == self.end.date():
            prev = _prev_month(self.start.date())
            return month(prev.year, prev.month)
        length = self.end - self.start
        return Period(self.start - length, self.start, "上一期")


def _at(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=SHANGHAI)


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _prev_month(d: date) -> date:
    return date(d.year - (d.month == 1), (d.month - 2) % 12 + 1, 1)


FIRST_YEAR, LAST_YEAR = 2000, 2100  # tallies cover the service's own years


def month(year: int, mon: int) -> Period:
    if not 1 <= mon <= 12 or not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(f"没有 {year}-{mon:02d} 这个月份")
    first = date(year, mon, 1)
    return Period(_at(first), _at(_next_month(first)), f"{year}年{mon}月")


def days(first: date, last: date) -> Period:
    """From the first day to the last day, both included."""
    if last < first:
        raise PeriodError("结束日期早于开始日期")
    return Period(_at(first), _at(last + timedelta(days=1)), f"{first}～{last}")


_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_BARE_MONTH = re.compile(r"^(\d{1,2})\s*月(份)?$")
_YEAR = re.compile(r"^(\d{4})\s*年?$")
_DAY = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
_RANGE = re.compile(rf"^{_DAY}\s*(?:~|至|到|—|－|--)\s*{_DAY}$")


def _date(y: str, m: str, d: str) -> date:
    try:
        day = date(int(y), int(m), int(d))
    except ValueError:
        raise PeriodError(f"日期 {y}-{m}-{d} 不存在") from None
    _year(day.year)
    return day


def _year(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(f"年份 {year} 超出范围（{FIRST_YEAR}–{LAST_YEAR} 年）")
    return year


def parse_period(text: str, now: datetime,
                 campaigns: Mapping[str, str] | None = None) -> Period:
    """Read a period; an empty text is this month. Raises PeriodError in Chinese."""
    t = unicodedata.normalize("NFKC", text).strip()
    today = now.astimezone(SHANGHAI).date()
    if t in ("", "本月", "这个月", "当月"):
        return month(today.year, today.month)
    if t in ("上月", "上个月"):
        prev = _prev_month(today)
        return month(prev.year, prev.month)
    if t in ("今年", "本年", "年初至今", "本年度"):
        return Period(_at(date(today.year, 1, 1)), _at(today + timedelta(days=1)),
                      f"{today.year}年（截至{today.month}月{today.day}日）")
    if campaigns and t in campaigns:
        return campaign(t, campaigns[t], today)
    if m := _MONTH.match(t):
        return month(int(m.group(1)), int(m.group(2)))
    if m := _BARE_MONTH.match(t):
        mon = int(m.group(1))
        year = today.year if mon <= today.month else today.year - 1
        return month(year, mon)
    if m := _YEAR.match(t):
        year = _year(int(m.group(1)))
        return Period(_at(date(year, 1, 1)), _at(date(year + 1, 1, 1)), f"{year}年")
    if m := _RANGE.match(t):
        g = m.groups()
        return days(_date(*g[:3]), _date(*g[3:]))
    raise PeriodError(f"看不懂时间段「{text}」，"
                      "可写 2026-05、上月、本月、今年或 2026-05-01~2026-05-31")


def campaign(name: str, spec: str, today: date) -> Period:
    """A campaign from config: "05-01~05-31" (every year; the latest that has begun)
    or "2026-05-01~2026-05-31"."""
    parts = [p.strip() for p in re.split(r"~|至", spec)]
    if len(parts) != 2:
        raise PeriodError(f"活动「{name}」的时间配置有误：{spec}")
    if all(re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", p) for p in parts):
        first, last = (_date(*p.split("-")) for p in parts)
    else:
        (m1, d1), (m2, d2) = (p.split("-") for p in parts)
        year = today.year if (int(m1), int(d1)) <= (today.month, today.day) else today.year - 1
        first = _date(str(year), m1, d1)
        last = _date(str(year + (int(m2) < int(m1))), m2, d2)
    p = days(first, last)
    return Period(p.start, p.end, f"{name}（{first}～{last}）")
