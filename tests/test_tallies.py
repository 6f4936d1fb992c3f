"""Tallies over a seeded history equal figures computed by hand (DOMAIN.md definitions)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from bot.model import SHANGHAI, FrozenClock
from bot.periods import month
from storage.records import Expert, NewOrder, OrderState
from storage.schema import connect
from storage.store import Store
from storage.tallies import Scope, tally

APRIL_30 = datetime(2026, 4, 30, 15, 0, tzinfo=SHANGHAI)
MAY_6 = datetime(2026, 5, 6, 10, 0, tzinfo=SHANGHAI)


def _order(store: Store, text: str, category: str, region: str, chat: str = "g1") -> int:
    return store.create_order(NewOrder("fake", chat, "group", "fake:c1", "吴经理", text,
                                       summary=text, category=category, region=region),
                              actor="fake:c1").no


def _complete(store: Store, no: int, outcome: str, hours: float, sugg: int, people: int) -> None:
    store.transition(no, (OrderState.CLAIMED, OrderState.SCHEDULED), OrderState.COMPLETED,
                     "x", "order.completed", {"completed_at": store.stamp(), "outcome": outcome})
    store.add_session(no, "x", mode="现场", hours=hours, suggestions=sugg, beneficiaries=people,
                      note="")


def _rate(store: Store, no: int, word: str) -> None:
    store.transition(no, (OrderState.COMPLETED,), OrderState.RATED, "c", "order.rated",
                     {"rating": word, "rated_at": store.stamp()})


def seeded(tmp_path: Path) -> Store:
    """A history across April and May, written as the handlers would write it."""
    clock = FrozenClock(APRIL_30)
    store = Store(connect(tmp_path / "t.db"), clock)
    for eid, name, team in (("e1", "沈国平", "电仪组"), ("e2", "叶卫东", "电仪组"),
                            ("e3", "陈水根", "综合组")):
        store.upsert_expert(Expert(eid, name, team=team), "t")
    a = _order(store, "焊接变形", "焊接", "浙江省湖州市德清县")       # #1 April, claimed April
    store.claim(a, "e1", "x")
    clock.set(MAY_6)
    b = _order(store, "变频器过流", "电气", "浙江省杭州市西湖区")      # #2 May
    c = _order(store, "鱼塘缺氧", "农业养殖", "浙江省金华市婺城区")     # #3 May
    d = _order(store, "重复提交", "电气", "浙江省杭州市西湖区")         # #4 May, cancelled
    _order(store, "还没人接", "焊接", "浙江省湖州市德清县")             # #5 May, open
    store.transition(d, (OrderState.OPEN,), OrderState.CANCELLED, "c", "order.cancelled")
    store.claim(b, "e2", "x")
    store.assist(b, "e1", "x")
    store.claim(c, "e3", "x")
    clock.advance(days=1)
    _complete(store, a, "solved", 2, 3, 30)       # 1 expert  → 1 person-time, 2 h
    _complete(store, b, "partial", 3, 1, 10)      # 2 experts → 2 person-times, 6 h
    store.add_session(c, "x", mode="线上", hours=1.5, suggestions=None, beneficiaries=None,
                      note="进展")                  # a progress session, order still open
    clock.advance(days=1)
    _complete(store, c, "solved", 1, 0, 5)        # 1 expert
    _rate(store, a, "满意")
    _rate(store, b, "不满意")
    _rate(store, c, "基本满意")
    return store


def test_may_tally_matches_hand_counts(tmp_path: Path) -> None:
    store = seeded(tmp_path)
    may = month(2026, 5)
    t = tally(store.db, may.start, may.end)
    assert (t["requests"], t["cancelled"], t["claimed"]) == (4, 1, 2)  # #1 was claimed in April
    assert (t["completed"], t["solved"]) == (3, 2)
    assert t["sessions"] == 4 and t["person_times"] == 5
    assert t["experts"] == 3
    assert t["hours"] == 2 * 1 + 3 * 2 + 1.5 * 1 + 1 * 1
    assert t["suggestions"] == 4 and t["beneficiaries"] == 45
    assert t["satisfaction"] == round(2 / 3, 4)
    assert t["by_category"]["电气"]["requests"] == 2
    assert t["by_category"]["焊接"]["completed"] == 1
    assert t["by_team"]["电仪组"]["person_times"] == 3
    assert "by_enterprise" not in t
    with_ent = tally(store.db, may.start, may.end, enterprises=True)
    assert with_ent["by_enterprise"]["未填企业"]["requests"] == 4
    assert with_ent["by_team"]["电仪组"]["sessions"] == 2
    # 2 sessions each; e1 served more people
    assert [p["id"] for p in t["honour_roll"]][:2] == ["e1", "e3"]


def test_april_and_empty_periods(tmp_path: Path) -> None:
    store = seeded(tmp_path)
    april = month(2026, 4)
    t = tally(store.db, april.start, april.end)
    assert (t["requests"], t["claimed"], t["completed"], t["sessions"]) == (1, 1, 0, 0)
    june = month(2026, 6)
    empty = tally(store.db, june.start, june.end)
    assert empty["requests"] == 0 and empty["satisfaction"] is None
    assert empty["by_category"] == {} and empty["honour_roll"] == []


def test_scopes(tmp_path: Path) -> None:
    store = seeded(tmp_path)
    may = month(2026, 5)
    hz = tally(store.db, may.start, may.end, Scope.parse("region:湖州市"))
    assert hz["requests"] == 1 and hz["completed"] == 1
    team = tally(store.db, may.start, may.end, Scope.parse("team:综合组"))
    assert team["completed"] == 1 and team["sessions"] == 2
    group = tally(store.db, may.start, may.end, Scope.parse("group:g2"))
    assert group["requests"] == 0


def test_period_boundaries_are_shanghai_months(tmp_path: Path) -> None:
    store = seeded(tmp_path)
    # 23:30 on April 30 in Shanghai is still April, though it is already May 1 in no zone west.
    store.clock = FrozenClock(datetime(2026, 4, 30, 23, 30, tzinfo=SHANGHAI))
    _order(store, "late", "焊接", "")
    april = month(2026, 4)
    assert tally(store.db, april.start, april.end)["requests"] == 2
    assert april.end - april.start == timedelta(days=30)
