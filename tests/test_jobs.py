"""Reminder sweeps and the monthly tally: each fires once, at the right moment, never quiet."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from bot.app import App
from bot.model import SHANGHAI, FrozenClock
from bot.scheduler import jobs
from storage.records import NewOrder, OrderState
from tests.fakes import FakeChat, Sent, add_expert, make_app

WED = datetime(2026, 5, 6, 10, 0, tzinfo=SHANGHAI)


def _open(app: App, text: str = "焊接变形严重，请焊接师傅指导",
          deadline: date | None = None) -> int:
    return app.store.create_order(
        NewOrder("fake", "g1", "group", "fake:c1", "吴经理", text, summary=text,
                 deadline=deadline), actor="fake:c1").no


async def _sweep(app: App, chat: FakeChat) -> list[Sent]:
    before = len(chat.sent)
    await app.run_jobs()
    await app.outbox.drain()
    return chat.sent[before:]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[App, FakeChat, FrozenClock]:
    clock = FrozenClock(WED)
    app = make_app(tmp_path, clock)
    chat = FakeChat(app)
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    add_expert(app, "e2", "董振方", ("焊接", "不锈钢"))
    return app, chat, clock


async def test_unclaimed_reannounce_then_escalate_once(setup: tuple[App, FakeChat, FrozenClock]
                                                       ) -> None:
    app, chat, clock = setup
    no = _open(app)
    app.store.update_order(no, "bot", "order.announced", {"announced": '["e1"]'})
    clock.advance(hours=23)
    assert await _sweep(app, chat) == []
    clock.advance(hours=1)
    sent = await _sweep(app, chat)
    assert any("已超过 24 小时无人认领" in s.text for s in sent)
    assert any("e2" in s.mentions and "#1 重新待接单" in s.text for s in sent)  # the next best
    assert any(s.to_user == "e2" and "#1 还在等专家认领" in s.text for s in sent)  # and 1:1
    assert all("e1" not in s.mentions for s in sent)
    assert await _sweep(app, chat) == []  # a double fire sends nothing new
    clock.advance(hours=24)
    [admin] = await _sweep(app, chat)
    assert admin.to_user == "admin" and "#1 已超过 48 小时无人认领" in admin.text
    clock.advance(hours=24)
    assert await _sweep(app, chat) == []


async def test_quiet_hours_hold_reminders_until_morning(
        setup: tuple[App, FakeChat, FrozenClock]) -> None:
    app, chat, clock = setup
    clock.set(datetime(2026, 5, 6, 20, 30, tzinfo=SHANGHAI))
    _open(app)
    clock.set(datetime(2026, 5, 7, 21, 0, tzinfo=SHANGHAI))  # 24.5 h later, but quiet
    assert await _sweep(app, chat) == []
    clock.set(datetime(2026, 5, 8, 7, 59, tzinfo=SHANGHAI))
    assert await _sweep(app, chat) == []
    clock.set(datetime(2026, 5, 8, 8, 0, tzinfo=SHANGHAI))
    assert any("#1" in s.text for s in await _sweep(app, chat))


async def test_stale_claim_counts_working_days(setup: tuple[App, FakeChat, FrozenClock]) -> None:
    app, chat, clock = setup
    clock.set(datetime(2026, 4, 30, 10, 0, tzinfo=SHANGHAI))  # Thursday before the May holiday
    no = _open(app)
    app.store.claim(no, "e1", "fake:e1")
    # May 1–5 2026 are holidays; Saturday May 9 is a make-up working day.
    clock.set(datetime(2026, 5, 6, 9, 59, tzinfo=SHANGHAI))
    sent = await _sweep(app, chat)
    assert not any(s.to_user == "e1" for s in sent)
    clock.set(datetime(2026, 5, 7, 10, 0, tzinfo=SHANGHAI))  # 2nd working day after: May 6, 7
    sent = await _sweep(app, chat)
    assert [s.to_user for s in sent if "还没有预约或进展" in s.text] == ["e1"]
    assert not [s for s in await _sweep(app, chat) if "还没有预约或进展" in s.text]


async def test_visit_tomorrow_evening_before(setup: tuple[App, FakeChat, FrozenClock]) -> None:
    app, chat, clock = setup
    no = _open(app)
    app.store.claim(no, "e1", "fake:e1")
    visit = datetime(2026, 5, 8, 9, 0, tzinfo=SHANGHAI)
    app.store.transition(no, (OrderState.CLAIMED,), OrderState.SCHEDULED, "fake:e1",
                         "order.scheduled", {"visit_at": visit.isoformat(), "visit_mode": "现场",
                                             "active_at": app.store.stamp()})
    clock.set(datetime(2026, 5, 7, 17, 59, tzinfo=SHANGHAI))
    assert not [s for s in await _sweep(app, chat) if "明天" in s.text]
    clock.set(datetime(2026, 5, 7, 18, 0, tzinfo=SHANGHAI))
    sent = await _sweep(app, chat)
    assert {s.to_user for s in sent if "明天" in s.text} == {"e1", None}
    assert "c1" in next(s for s in sent if s.to_user is None).mentions


async def test_deadline_and_rating_reminders(setup: tuple[App, FakeChat, FrozenClock]) -> None:
    app, chat, clock = setup
    _open(app, deadline=date(2026, 5, 8))
    assert not await _sweep(app, chat)
    clock.set(datetime(2026, 5, 7, 9, 0, tzinfo=SHANGHAI))
    sent = await _sweep(app, chat)
    assert any("期限 2026-05-08（明天）" in s.text for s in sent)
    no = _open(app, text="不锈钢焊接")
    app.store.claim(no, "e2", "fake:e2")
    app.store.transition(no, (OrderState.CLAIMED,), OrderState.COMPLETED, "fake:e2",
                         "order.completed", {"completed_at": app.store.stamp()})
    clock.advance(days=2)
    rate = [s for s in await _sweep(app, chat) if "欢迎评价" in s.text]
    assert len(rate) == 1 and "#2" in rate[0].text and "c1" in rate[0].mentions
    clock.advance(days=5)
    assert not [s for s in await _sweep(app, chat) if "欢迎评价" in s.text]


async def test_monthly_tally_once_per_group_across_restart(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI))
    app = make_app(tmp_path, clock)
    chat = FakeChat(app)
    await chat.say("帮助", chat="g1")
    await chat.say("帮助", chat="g2")
    clock.set(datetime(2026, 6, 1, 8, 59, tzinfo=SHANGHAI))
    assert not [s for s in await _sweep(app, chat) if "统计" in s.text]
    clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI))
    posts = [s for s in await _sweep(app, chat) if "统计" in s.text]
    assert sorted(s.chat for s in posts) == ["g1", "g2"]
    assert "2026年5月" in posts[0].text and "收到需求 0 件" in posts[0].text
    app.store.db.close()
    again = make_app(tmp_path, clock)  # a restart, and the sweep fires again at once
    chat2 = FakeChat(again)
    clock.set(datetime(2026, 6, 3, 9, 0, tzinfo=SHANGHAI))
    assert not [s for s in await _sweep(again, chat2) if "统计" in s.text]
    again.store.db.close()


async def test_dry_run_writes_nothing(setup: tuple[App, FakeChat, FrozenClock]) -> None:
    app, _chat, clock = setup
    _open(app)
    clock.advance(hours=30)
    lines = await app.run_jobs(dry_run=True)
    assert [r.order_no for r in lines] == [1]
    assert app.store.pending_count() == 0 and not app.store.reminder_sent(lines[0].key)


def test_monthly_job_fires_on_the_first_across_month_ends() -> None:
    from bot.config import Config

    trigger = dict(jobs(Config()))["monthly"]
    after = datetime(2026, 1, 31, 12, 0, tzinfo=SHANGHAI)
    fire = trigger.get_next_fire_time(None, after)
    assert fire == datetime(2026, 2, 1, 9, 0, tzinfo=SHANGHAI)
    fire = trigger.get_next_fire_time(None, datetime(2026, 2, 28, 23, 0, tzinfo=SHANGHAI))
    assert fire == datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
    fire = trigger.get_next_fire_time(None, datetime(2026, 12, 1, 9, 0, 1, tzinfo=SHANGHAI))
    assert fire == datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI)


async def test_crash_mid_sweep_then_restart_sends_each_once(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    import handlers.jobs as jobs_module

    clock = FrozenClock(WED)
    app = make_app(tmp_path, clock)
    FakeChat(app)
    for _ in range(3):
        _open(app)
    clock.advance(hours=25)
    real = jobs_module._reannounce
    calls = {"n": 0}

    def flaky(o: object, hours: float) -> object:
        send = real(o, hours)  # type: ignore[arg-type]

        def maybe(ctx: object) -> None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("process killed here")
            send(ctx)  # type: ignore[arg-type]
        return maybe

    monkeypatch.setattr(jobs_module, "_reannounce", flaky)
    await app.run_jobs()  # the second reminder dies half way: its changes roll back
    app.store.db.close()
    monkeypatch.setattr(jobs_module, "_reannounce", real)
    again = make_app(tmp_path, clock)
    chat = FakeChat(again)
    await again.run_jobs()
    await again.outbox.drain()
    keys = [k for (k,) in again.store.db.execute("SELECT key FROM reminders_sent ORDER BY key")]
    assert keys == ["reannounce:1", "reannounce:2", "reannounce:3"]
    heads = [s.text.splitlines()[0] for s in chat.sent if "重新待接单" in s.text]
    assert sorted(heads) == ["#1 重新待接单", "#2 重新待接单", "#3 重新待接单"]
    again.store.db.close()


async def test_monthly_tally_uses_the_group_region(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI))
    app = make_app(tmp_path, clock)
    chat = FakeChat(app)
    await chat.say("/设置 地区 德清", sender="admin", chat="g1")
    app.store.create_order(NewOrder("fake", "g1", "group", "fake:c1", "吴", "焊接",
                                    region="浙江省湖州市德清县"), actor="fake:c1")
    app.store.create_order(NewOrder("fake", "g2", "group", "fake:c1", "吴", "鱼塘",
                                    region="浙江省金华市婺城区"), actor="fake:c1")
    clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI))
    [post] = [s for s in await _sweep(app, chat) if "统计" in s.text]
    assert "地区：浙江省湖州市德清县" in post.text and "收到需求 1 件" in post.text


async def test_a_sweep_with_reminders_due_waits_for_the_matcher_built_at_start_up(
        setup: tuple[App, FakeChat, FrozenClock], monkeypatch: pytest.MonkeyPatch) -> None:
    """A start-up sweep's re-announcements are ranked by the matcher being built, not by a
    lexical one built beside it; a sweep with nothing due does not wait."""
    app, chat, clock = setup
    waits: list[int] = []

    async def built() -> None:
        waits.append(1)

    monkeypatch.setattr(app.routing, "built", built)
    assert await _sweep(app, chat) == [] and waits == []  # nothing due: no wait
    no = _open(app)
    app.store.update_order(no, "bot", "order.announced", {"announced": '["e1"]'})
    clock.advance(hours=24)
    sent = await _sweep(app, chat)
    assert waits and any("e2" in s.mentions for s in sent)


async def test_every_message_waits_for_the_matcher_built_at_start_up_before_its_handling(
        setup: tuple[App, FakeChat, FrozenClock], monkeypatch: pytest.MonkeyPatch) -> None:
    """Not orders alone: an admin's /指派 or a requester's addition may rank experts too."""
    app, chat, _ = setup
    waits: list[int] = []

    async def built() -> None:
        waits.append(1)

    monkeypatch.setattr(app.routing, "built", built)
    await chat.say("帮助")
    assert waits  # awaited before the writer lock (at once when a matcher exists)
