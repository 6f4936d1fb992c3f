"""Holidays in dates: 国庆前, 春节后两周内, 节前, 年前 and the official days off."""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.text.cnnum import NUM, cn_int

_HOLIDAY = re.compile(r"(五一|劳动节|国庆节?|元旦|十一|清明节?)\s*(?:节)?\s*(前|之前|以前)?")
# A span after a holiday: 国庆后一周内, 春节后两周内, 节后10天内 (the days off ended, then N days).
_AFTER_HOLIDAY = re.compile(
    r"(春节|过年|端午节?|中秋节?|五一|劳动节|国庆节?|元旦|十一|清明节?|节)\s*(?:假期|长假)?\s*"
    r"(?:后|之后|以后|过后)\s*(" + NUM + r"|两三|半)\s*(?:个)?\s*(周|星期|礼拜|天|日)\s*"
    r"(?:之内|以内|内)")
# 年前 is before the Spring Festival; 节前 before the next holiday.
# (节 alone, or 过节: 护士节之前 is not the next holiday)
_BEFORE_NEXT = re.compile(r"(?:(?<![今去明当])(年)|(?:(?<![\u4e00-\u9fff])|(?<=过))(节))\s*"
                          r"(前|之前|以前)(?!天|最后|的最后)")
# Lunar holidays by Gregorian year (春节 = the first day of the lunar year).
_LUNAR: dict[str, dict[int, tuple[int, int]]] = {
    "春节": {2025: (1, 29), 2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13),
             2030: (2, 3), 2031: (1, 23)},
    "端午": {2025: (5, 31), 2026: (6, 19), 2027: (6, 9), 2028: (5, 28), 2029: (6, 16),
             2030: (6, 5), 2031: (6, 24)},
    "中秋": {2025: (10, 6), 2026: (9, 25), 2027: (9, 15), 2028: (10, 3), 2029: (9, 22),
             2030: (9, 12), 2031: (10, 1)},
}
_LUNAR_RE = re.compile(
    # 过年 alone is the event (马上要过年了), not a date: only 过年前 is one
    r"(春节|过年(?=\s*(?:前|之前|以前))|大年初一|端午节?|中秋节?)\s*(?:节)?\s*(?:放假)?\s*"
    r"(前|之前|以前)?"
)


def _next_day(today: date, month: int, day: int) -> date:
    """The next `month`/`day` on or after today."""
    got = date(today.year, month, day)
    return got if got >= today else date(today.year + 1, month, day)


_FIXED = {"五一": (5, 1), "劳动节": (5, 1), "国庆": (10, 1), "十一": (10, 1), "元旦": (1, 1)}
_NAMES = {"春节": "Spring Festival", "端午": "Dragon Boat Festival",
          "中秋": "Mid-autumn Festival", "五一": "Labour Day", "国庆": "National Day",
          "元旦": "New Year's Day", "清明": "Tomb-sweeping Day"}


def _key(name: str) -> str:
    if name in ("春节", "过年", "大年初一", "年"):
        return "春节"
    if name in ("劳动节", "五一"):
        return "五一"
    if name in ("国庆", "国庆节", "十一"):
        return "国庆"
    return name.rstrip("节")[:2]


def _festival(today: date, key: str) -> date | None:
    """The next day of the festival `key` on or after today (清明: its day off in April)."""
    if key in _FIXED:
        return _next_day(today, *_FIXED[key])
    if key == "清明":
        for y in (today.year, today.year + 1):
            for d in range(4, 7):
                day = date(y, 4, d)
                if _holiday_name(day) == _NAMES["清明"] and day >= today:
                    return day
        return _next_day(today, 4, 5)
    return _lunar_holiday(today, key)


def _holiday_name(day: date) -> str | None:
    """The official holiday `day` is a day off of, where the calendar knows the year."""
    try:
        import chinese_calendar

        on, name = chinese_calendar.get_holiday_detail(day)
    except (NotImplementedError, ValueError, ImportError):
        return None
    return str(name) if on and name else None


def holiday_break(today: date, name: str) -> tuple[date, date] | None:
    """The first and last day off of the next holiday `name` (春节, 国庆, 端午…) that has not
    ended yet, from the official calendar (the festival day alone where it does not know the
    year yet)."""
    key = _key(name)
    day = _festival(today - timedelta(days=10), key)
    while day is not None and day < today - timedelta(days=10):
        day = _festival(day + timedelta(days=1), key)
    if day is None:
        return None
    official = _holiday_name(day)
    first = last = day
    if official:
        while _holiday_name(first - timedelta(days=1)) == official:
            first -= timedelta(days=1)
        while _holiday_name(last + timedelta(days=1)) == official:
            last += timedelta(days=1)
    if last < today:
        nxt = _festival(last + timedelta(days=1), key)
        return holiday_break(nxt, name) if nxt and nxt > last else None
    return first, last


def _next_break(today: date) -> tuple[date, date] | None:
    """The nearest holiday break that has not ended (节前, 节后)."""
    found = [b for k in _NAMES for b in [holiday_break(today, k)] if b]
    return min(found, default=None)


def _lunar_holiday(today: date, name: str) -> date | None:
    """The next 春节/端午/中秋 on or after today (dates from the official calendar)."""
    key = "春节" if name in ("春节", "过年", "大年初一") else name[:2]
    for y in (today.year, today.year + 1):
        md = _LUNAR.get(key, {}).get(y)
        if md and date(y, *md) >= today:
            return date(y, *md)
    return None


def _before_holiday(day: date | None, before: str | None, today: date | None = None,
                    name: str = "") -> date | None:
    """国庆前, 春节前: the day before the first day off of the holiday (no one is served
    during it); without 前, the festival day itself."""
    if day is None or not before:
        return day
    if today is not None and name:
        found = holiday_break(today, name)
        if found and found[0] > today:
            return found[0] - timedelta(days=1)
    return day - timedelta(days=1)


def _after_holiday(today: date, m: re.Match[str]) -> date | None:
    """国庆后一周内, 节后10天内: the last day off, then that many days. A holiday that ended
    lately counts while its span runs (五一后一周内, said on 5月6日: by 5月12日)."""
    raw = m.group(2)
    n = {"两三": 3, "半": 0}.get(raw)
    n = cn_int(raw) if n is None else n
    if n is None or n > 60:
        return None
    days = (n * 7 if m.group(3) in ("周", "星期", "礼拜") else n) or 3
    since = today - timedelta(days=days)
    span = holiday_break(since, m.group(1)) if m.group(1) != "节" else _next_break(since)
    return span[1] + timedelta(days=days) if span else None


Span = tuple[int, int, date | None]


def holiday_spans(norm: str, today: date) -> list[Span]:
    """Spans around holidays in normalised text: 国庆后一周内, 年前, 节前, 春节前, 端午 (start,
    end, the date or None when it cannot be read)."""
    raw: list[Span] = []
    for m in _AFTER_HOLIDAY.finditer(norm):
        raw.append((m.start(), m.end(), _after_holiday(today, m)))
    for m in _BEFORE_NEXT.finditer(norm):
        span = holiday_break(today, "春节") if m.group(1) == "年" else _next_break(today)
        raw.append((m.start(), m.end(),
                    span[0] - timedelta(days=1) if span and span[0] > today else None))
    for m in _LUNAR_RE.finditer(norm):
        raw.append((m.start(), m.end(),
                    _before_holiday(_lunar_holiday(today, m.group(1)), m.group(2), today,
                                    m.group(1))))
    return raw


def named_holidays(norm: str, today: date) -> list[Span]:
    """Fixed-date holidays named in normalised text: 五一前, 国庆, 元旦之前, 清明."""
    raw: list[Span] = []
    for m in _HOLIDAY.finditer(norm):
        name = m.group(1)
        if name == "十一" and not m.group(2):
            continue
        raw.append((m.start(), m.end(), _before_holiday(_festival(today, _key(name)),
                                                        m.group(2), today, name)))
    return raw
