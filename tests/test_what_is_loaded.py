"""What a bot loads only when it needs it: the chart library (never on the event loop) and the
PostgreSQL driver."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot import charts
from tests.fakes import FakeChat

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads `charts.prepare` ran in (it still loads the library)."""
    seen: list[str] = []
    real = charts.prepare

    def prepare() -> charts.ChartFont:
        seen.append(threading.current_thread().name)
        return real()

    monkeypatch.setattr(charts, "prepare", prepare)
    return seen


async def test_stats_loads_the_chart_library_in_a_worker_thread(
        chat: FakeChat, experts: None, loads: list[str]) -> None:
    [answer] = await chat.say("/统计 本月", sender="admin")
    assert "收到需求" in answer.text and "图：①收到需求" in answer.text
    assert len(loads) == 1 and loads[0] != threading.current_thread().name


async def test_orders_and_other_commands_do_not_load_it(
        chat: FakeChat, experts: None, loads: list[str]) -> None:
    replies = await chat.say("点单：不锈钢薄板焊接后变形严重，联系人吴经理 13867201234")
    assert any("沈国平" in r.text or "e1" in r.mentions for r in replies)
    await chat.say("/专家", sender="admin")
    assert loads == []


def test_a_bot_on_sqlite_that_draws_no_chart_loads_neither_library(tmp_path: Path) -> None:
    """Served with its start-up sweep done and an order handled: neither Pillow and fontTools
    (10 MiB) nor psycopg (8.6 MiB) is loaded."""
    code = (
        "import asyncio, sys\n"
        "from dataclasses import replace\n"
        "from pathlib import Path\n"
        "from bot.config import ServerConfig\n"
        "from tests.fakes import FakeChat, make_app\n"
        "async def main():\n"
        f"    app = make_app(Path({str(tmp_path)!r}))\n"
        "    app.config = replace(app.config, server=ServerConfig(host='127.0.0.1', port=0))\n"
        "    stop = asyncio.Event()\n"
        "    serving = asyncio.create_task(app.serve(stop))\n"
        "    while not app.ready or any(t.get_name() == 'catch-up-sweep' and not t.done()\n"
        "                               for t in asyncio.all_tasks()):\n"
        "        await asyncio.sleep(0.01)\n"
        "    await FakeChat(app).say('点单：车床主轴异响，联系人王工 13867201234')\n"
        "    stop.set()\n"
        "    await serving\n"
        "asyncio.run(main())\n"
        "print(any(m in sys.modules for m in ('PIL', 'fontTools')), 'psycopg' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", "False"], done.stderr
