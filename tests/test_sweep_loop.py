"""A sweep over thousands of groups never holds the event loop: reports are made once per
scope off the loop, sends go out in slices, and messages are answered meanwhile."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import bot.app as app_module
import handlers.jobs as jobs_module
import storage.tallies as tallies_module
from bot.model import SHANGHAI, FrozenClock
from bot.router import Context
from handlers.jobs import due, send_one
from storage.records import NewOrder
from tests.fakes import FakeChat, add_expert, make_app

GROUPS = 240


async def test_monthly_reports_to_many_groups_leave_the_loop_free(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FrozenClock(datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI))
    app = make_app(tmp_path, clock)
    chat = FakeChat(app)
    for i in range(GROUPS):
        app.store.remember_chat("fake", f"g{i}", "group")
        if i % 3 == 0:
            app.store.set_setting("fake", f"g{i}", "region", "浙江省湖州市德清县", "fake:admin")
    app.store.create_order(NewOrder("fake", "g1", "group", "fake:c1", "吴", "焊接",
                                    region="浙江省湖州市德清县"), actor="fake:c1")
    clock.set(datetime(2026, 6, 1, 9, 30, tzinfo=SHANGHAI))

    tallies: list[str] = []
    real_tally = tallies_module.tally

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        tallies.append(threading.current_thread().name)
        return real_tally(*args, **kwargs)

    sent = {"n": 0}

    def counted_send(ctx: Context, r: jobs_module.Reminder) -> bool:
        ok = send_one(ctx, r)
        sent["n"] += ok
        return ok

    monkeypatch.setattr(jobs_module, "tally", counted)
    monkeypatch.setattr(app_module, "send_one", counted_send)
    monkeypatch.setattr(app_module, "SWEEP_SLICE", 0.0)  # one send per turn of the loop

    seen: list[int] = []
    answered_at: list[int] = []

    async def meanwhile() -> None:
        while not sweep.done():
            seen.append(sent["n"])
            if sent["n"] >= 10 and not answered_at:
                await chat.say("帮助", chat="g7", sender="c9")
                answered_at.append(sent["n"])
            await asyncio.sleep(0)

    sweep = asyncio.create_task(app.run_jobs())
    await meanwhile()
    done = await sweep
    while await app.outbox.drain():  # 200 items a pass
        pass

    posts = [s for s in chat.sent if "统计" in s.text and s.chat.startswith("g")]
    assert len([r for r in done if r.key.startswith("monthly:")]) == GROUPS
    assert sorted(s.chat for s in posts) == sorted(f"g{i}" for i in range(GROUPS))
    # two scopes (the whole service, and 德清), each this month and the last: four tallies
    assert len(tallies) == 4
    assert threading.main_thread().name not in tallies  # made off the loop
    assert len(set(seen)) > GROUPS // 2  # the loop turned between the sends
    assert answered_at and answered_at[0] < GROUPS  # a message answered mid-sweep
    assert any(s.chat == "g7" and "点单" in s.text and "统计" not in s.text for s in chat.sent)
    app.store.db.close()


async def test_a_reminder_is_dropped_when_its_order_changed_after_it_was_found(
        tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 5, 6, 10, 0, tzinfo=SHANGHAI))
    app = make_app(tmp_path, clock)
    FakeChat(app)
    add_expert(app, "e1", "沈国平", ("焊接",))
    no = app.store.create_order(NewOrder("fake", "g1", "group", "fake:c1", "吴", "焊接变形",
                                         summary="焊接变形"), actor="fake:c1").no
    clock.advance(hours=25)
    ctx = Context.for_job(app.store, app.clock, app.config, app.routing)
    [found] = [r for r in due(ctx) if r.order_no == no]
    assert found.key == f"reannounce:{no}"
    assert app.store.claim(no, "e1", "fake:e1")  # claimed between finding and sending
    assert not send_one(ctx, found)
    assert not app.store.reminder_sent(found.key)
    app.store.db.close()
