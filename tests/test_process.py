"""Process test: `diandan run` as a subprocess on a temp dir, driven over loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proc import Bot, call, cli

ROSTER = "编号,姓名,专长,账号\nX01,沈国平,焊接；焊接变形,local:e1\n"
ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    yield tmp_path


def test_run_serves_the_local_api_and_stops_on_sigterm(workdir: Path) -> None:
    assert cli(workdir, "experts", "import", "roster.csv").returncode == 0
    bot = Bot(workdir)
    try:
        status, first = call(bot.base + "/api/local/messages",
                              {"chat": "g1", "sender": "c1", "text": ORDER, "msg_id": "a1"})
        assert status == 200 and first["replies"][0]["text"].startswith("已收到点单 #1")
        status, claim = call(bot.base + "/api/local/messages",
                              {"chat": "g1", "sender": "e1", "text": "接单 1"})
        assert any("接单成功 #1" in r["text"] for r in claim["replies"])
        # A CLI command beside the running bot, on the same database.
        listed = cli(workdir, "experts", "list", "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout)["experts"][0]["id"] == "X01"
        assert call(bot.base + "/api/local/messages", {"chat": "g1"})[0] == 400
    finally:
        took = bot.stop()
    assert bot.proc.returncode == 0 and took < 10
    log = (workdir / "bot.log").read_text(encoding="utf-8")
    assert "Traceback" not in log

    again = Bot(workdir)  # a restart keeps everything and redelivery is still recognised
    try:
        status, dup = call(again.base + "/api/local/messages",
                            {"chat": "g1", "sender": "c1", "text": ORDER, "msg_id": "a1"})
        assert status == 200 and dup == {"id": first["id"], "replies": []}
        _, history = call(again.base + "/api/local/messages?chat=g1&after=0")
        assert len(history["messages"]) == 4
        _, nxt = call(again.base + "/api/local/messages",
                       {"chat": "g1", "sender": "c1", "text": ORDER})
        assert nxt["replies"][0]["text"].startswith("已收到点单 #2")
    finally:
        again.stop()
