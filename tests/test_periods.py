"""Tally periods read from words."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.model import SHANGHAI
from bot.periods import PeriodError, parse_period

NOW = datetime(2026, 1, 15, 10, 0, tzinfo=SHANGHAI)
CAMPAIGNS = {"劳模工匠志愿服务月": "05-01~05-31"}


@pytest.mark.parametrize(("text", "first", "last"), [
    ("", date(2026, 1, 1), date(2026, 1, 31)),
    ("上月", date(2025, 12, 1), date(2025, 12, 31)),
    ("2026-02", date(2026, 2, 1), date(2026, 2, 28)),
    ("2024年2月", date(2024, 2, 1), date(2024, 2, 29)),
    ("12月", date(2025, 12, 1), date(2025, 12, 31)),
    ("2026-05-01~2026-05-31", date(2026, 5, 1), date(2026, 5, 31)),
    ("2026-05-01至2026-05-10", date(2026, 5, 1), date(2026, 5, 10)),
    ("今年", date(2026, 1, 1), date(2026, 1, 15)),
    ("2025", date(2025, 1, 1), date(2025, 12, 31)),
    ("劳模工匠志愿服务月", date(2025, 5, 1), date(2025, 5, 31)),
])
def test_periods(text: str, first: date, last: date) -> None:
    p = parse_period(text, NOW, CAMPAIGNS)
    assert p.start.date() == first and p.start.tzinfo == SHANGHAI
    assert (p.end.date() - p.start.date()).days == (last - first).days + 1


@pytest.mark.parametrize("text", ["2026-13", "下个世纪", "2026-02-30~2026-03-01",
                                  "2026-05-10~2026-05-01"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text, NOW, CAMPAIGNS)


def test_previous_of_a_month_is_the_month_before() -> None:
    p = parse_period("2026-03", NOW).previous()
    assert (p.start.date(), p.end.date()) == (date(2026, 2, 1), date(2026, 3, 1))
