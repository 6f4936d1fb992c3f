"""The Chinese working calendar (holidays and make-up workdays), with a weekend fallback."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar


def is_workday(d: date) -> bool:
    """True on working days; years the calendar does not know fall back to Mon–Fri."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5


def add_workdays(start: datetime, n: int) -> datetime:
    """The same clock time `n` working days after `start`."""
    t = start
    left = n
    while left > 0:
        t += timedelta(days=1)
        if is_workday(t.date()):
            left -= 1
    return t
