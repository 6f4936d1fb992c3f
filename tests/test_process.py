"""Process test: `diandan run` as a subprocess on a temp dir, driven over loopback."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROSTER = "编号,姓名,专长,账号\nX01,沈国平,焊接；焊接变形,local:e1\n"
ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _call(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


class Bot:
    """A running `diandan run` process."""

    def __init__(self, workdir: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = workdir / "config.toml"
        config.write_text(
            f'[storage]\npath = "{workdir / "bot.db"}"\n[server]\nport = {self.port}\n'
            '[bot]\nadmins = ["local:admin"]\n',
            encoding="utf-8",
        )
        self.config = config
        self.log = (workdir / "bot.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            stdout=self.log, stderr=self.log, cwd=workdir,
        )
        deadline = time.monotonic() + 30  # readiness of a real process: bounded polling
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "bot exited during start-up"
            try:
                if _call(self.base + "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("bot did not become healthy")

    def stop(self) -> float:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=15)
        self.log.close()
        return time.monotonic() - started


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    yield tmp_path


def _cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args, "--db", str(workdir / "bot.db")],
        capture_output=True, text=True, timeout=60, cwd=workdir,
    )


def test_run_serves_the_local_api_and_stops_on_sigterm(workdir: Path) -> None:
    assert _cli(workdir, "experts", "import", "roster.csv").returncode == 0
    bot = Bot(workdir)
    try:
        status, first = _call(bot.base + "/api/local/messages",
                              {"chat": "g1", "sender": "c1", "text": ORDER, "msg_id": "a1"})
        assert status == 200 and first["replies"][0]["text"].startswith("已收到点单 #1")
        status, claim = _call(bot.base + "/api/local/messages",
                              {"chat": "g1", "sender": "e1", "text": "接单 1"})
        assert any("接单成功 #1" in r["text"] for r in claim["replies"])
        # A CLI command beside the running bot, on the same database.
        listed = _cli(workdir, "experts", "list", "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout)["experts"][0]["id"] == "X01"
        assert _call(bot.base + "/api/local/messages", {"chat": "g1"})[0] == 400
    finally:
        took = bot.stop()
    assert bot.proc.returncode == 0 and took < 10
    log = (workdir / "bot.log").read_text(encoding="utf-8")
    assert "Traceback" not in log

    again = Bot(workdir)  # a restart keeps everything and redelivery is still recognised
    try:
        status, dup = _call(again.base + "/api/local/messages",
                            {"chat": "g1", "sender": "c1", "text": ORDER, "msg_id": "a1"})
        assert status == 200 and dup == {"id": first["id"], "replies": []}
        _, history = _call(again.base + "/api/local/messages?chat=g1&after=0")
        assert len(history["messages"]) == 4
        _, nxt = _call(again.base + "/api/local/messages",
                       {"chat": "g1", "sender": "c1", "text": ORDER})
        assert nxt["replies"][0]["text"].startswith("已收到点单 #2")
    finally:
        again.stop()
