"""DingTalk end to end: `diandan run` as a subprocess against the DingTalk double."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.model import SystemClock
from tests.doubles_dingtalk import QPS_LIMIT, DingTalkDouble
from tests.proc import free_port

ROSTER = "编号,姓名,专长,账号\nX01,沈国平,焊接；焊接变形；不锈钢,dingtalk:staff-welder\n"
ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


class BotProcess:
    """A running `diandan run` with DingTalk enabled and the local platform off."""

    def __init__(self, workdir: Path, double: DingTalkDouble, *args: str,
                 rate_per_minute: int = 20) -> None:
        self.workdir, self.double, self.args = workdir, double, args
        self.port = free_port()
        self.config = workdir / "config.toml"
        # The secret comes from the environment, as in production; the file holds the rest.
        self.config.write_text(
            f'[storage]\npath = "{workdir / "bot.db"}"\n'
            f"[server]\nport = {self.port}\n"
            '[bot]\nadmins = ["dingtalk:admin-li"]\n'
            "[local]\nenabled = false\n"
            f"[outbox]\nbase_delay_seconds = 0.2\nrate_per_minute = {rate_per_minute}\n"
            f'[dingtalk]\nenabled = true\nclient_id = "{double.client_id}"\n'
            f'api_base = "{double.base_url}"\n',
            encoding="utf-8",
        )
        self.log_path = workdir / "bot.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        connections = self.double.connections
        env = {**os.environ, "DIANDAN_DINGTALK_CLIENT_SECRET": self.double.client_secret}
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(self.config), *self.args,
                stdout=log, stderr=log, cwd=self.workdir, env=env,
            )
        deadline = time.monotonic() + 30  # readiness of a real process: bounded polling
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc.returncode is None, self.log_path.read_text(encoding="utf-8")
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("bot did not become healthy")
        await self.double.until(lambda: self.double.connections > connections
                                and self.double.ws is not None)

    async def stop(self) -> float:
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.proc.wait(), timeout=15)
        return time.monotonic() - started

    async def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a power cut."""
        assert self.proc is not None
        self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), timeout=15)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")


@pytest.fixture
async def double() -> AsyncIterator[DingTalkDouble]:
    d = await DingTalkDouble(SystemClock()).start()
    yield d
    await d.close()


async def _cli(workdir: Path, *args: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, "--db", str(workdir / "bot.db"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=workdir)
    return await asyncio.wait_for(proc.wait(), timeout=60)


async def _said(double: DingTalkDouble, payload: dict[str, object] | str,
                message_id: str | None = None) -> str:
    mid = await double.push(payload, message_id=message_id)
    await double.until(lambda: double.acked(mid))
    return mid


async def test_stream_message_in_reply_with_at_dedupe_and_clean_stop(
        tmp_path: Path, double: DingTalkDouble) -> None:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    assert await _cli(tmp_path, "experts", "import", "roster.csv") == 0
    bot = BotProcess(tmp_path, double)
    await bot.start()
    try:
        order = double.message(ORDER, msg_id="msgE2EOrder01")
        first = await _said(double, order)
        await double.until(lambda: any("已收到点单 #1" in t for t in double.texts()))
        announce = next(d for d in double.sent if "已收到点单 #1" in d.text)
        assert announce.via == "card" and "staff-welder" in announce.notified  # its at-list
        await _said(double, order, message_id=first)  # redelivered under the same stream id
        await _said(double, order)  # and under a new one
        await _said(double, double.message(None))  # no text: a usage-limit notice
        await _said(double, double.message(None, msgtype="picture",
                                           content={"downloadCode": "dc"}))
        await _said(double, "{broken")
        card = double.cards.of("已收到点单 #1")
        answer = await double.cards.press(card, "staff-welder", "接单")  # the button
        assert "已由沈国平接单" in card.text and card.labels == ["协助"], answer
        await double.until(lambda: any("接单成功" in t and "#1" in t for t in double.texts()))
        assert sum("已收到点单" in t for t in double.texts()) == 1
    finally:
        took = await bot.stop()
    assert bot.proc is not None and bot.proc.returncode == 0 and took < 10
    log = bot.log()
    assert "Traceback" not in log
    for secret in (double.client_secret, *double.tokens):
        assert secret not in log

    again = BotProcess(tmp_path, double)  # after a restart the message is still known
    await again.start()
    try:
        sent = len(double.sent)
        await _said(double, order)
        await _said(double, double.message("查询 1"))
        await double.until(lambda: len(double.sent) > sent)
        assert all("已收到点单" not in t for t in double.texts()[sent:])
        assert "#1" in double.texts()[-1]
    finally:
        await again.stop()


async def test_expired_webhook_token_refresh_and_errors_end_to_end(
        tmp_path: Path, double: DingTalkDouble) -> None:
    bot = BotProcess(tmp_path, double)
    await bot.start()
    try:
        gone = timedelta(seconds=-1)  # the session webhook has already expired
        double.fail("group", 503, {"code": "ServiceUnavailable"})
        double.fail("group", 403, QPS_LIMIT)
        await _said(double, double.message(ORDER, webhook_ttl=gone))
        await double.until(lambda: any("已收到点单 #1" in t for t in double.texts("group")))
        assert {"group: injected 503", "group: injected 403"} <= set(double.refused)
        double.expire_tokens()
        await _said(double, double.message("查询 1", webhook_ttl=gone))
        await double.until(lambda: len(double.texts("group")) >= 2)
        assert "group: bad or expired token" in double.refused
        assert double.token_requests == 2
        group = double.texts("group")
        assert len(group) == len(set(group)) == 2 and "#1" in group[1]  # each once
        # No expert fits: the admin is told 1:1 (batch send), since the OpenAPI cannot @.
        await double.until(lambda: bool(double.texts("oto")))
        assert [d.users for d in double.sent if d.via == "oto"] == [("admin-li",)]
        assert {d.via for d in double.sent} == {"group", "oto"}
    finally:
        took = await bot.stop()
    assert took < 10 and "Traceback" not in bot.log()


async def test_platform_down_for_a_while_then_back_delivers_each_message_once_in_order(
        tmp_path: Path, double: DingTalkDouble) -> None:
    bot = BotProcess(tmp_path, double)
    await bot.start()
    try:
        gone = timedelta(seconds=-1)  # replies go through the OpenAPI group send
        double.fail("group", 503, {"code": "ServiceUnavailable"}, times=4)  # down: 4 tries
        for i in range(3):  # three orders arrive while it is down, each acknowledged at once
            await _said(double, double.message(f"点单：第{i + 1}台焊机焊缝有气孔，请师傅看看",
                                               webhook_ttl=gone))
        await double.until(lambda: len(double.texts("group")) >= 3, within=20)
        group = double.texts("group")
        assert [t.splitlines()[0] for t in group] == [
            "已收到点单 #1", "已收到点单 #2", "已收到点单 #3"]  # each once, in order
        assert double.refused.count("group: injected 503") == 4
    finally:
        took = await bot.stop()
    assert took < 10 and "Traceback" not in bot.log()


async def test_a_backlog_after_an_outage_goes_out_at_the_allowed_rate_across_a_restart(
        tmp_path: Path, double: DingTalkDouble) -> None:
    bot = BotProcess(tmp_path, double, rate_per_minute=3)  # an admin's stricter limit
    await bot.start()
    gone = timedelta(seconds=-1)  # replies go through the OpenAPI group send
    try:
        double.fail("group", 503, {"code": "ServiceUnavailable"}, times=4)
        for i in range(5):
            await _said(double, double.message(f"点单：第{i + 1}台焊机焊缝有气孔，请师傅看看",
                                               webhook_ttl=gone))
        await double.until(lambda: len(double.texts("group")) >= 3, within=20)
        states: dict[str, int] = {}
        for _ in range(200):  # the bot records the third send a moment after DingTalk has it
            with sqlite3.connect(tmp_path / "bot.db") as db:
                states = dict(db.execute(
                    "SELECT state, count(*) FROM outbox WHERE chat_id = ? GROUP BY state",
                    ["cidGroupDeqing01"]).fetchall())
            if states.get("sent") == 3:
                break
            await asyncio.sleep(0.05)
        assert states == {"sent": 3, "pending": 2}  # the rest queued, not failed or dropped
    finally:
        await bot.stop()

    # A minute later (the clock given to the restarted bot), the rest goes out.
    later = (datetime.now().astimezone() + timedelta(seconds=61)).isoformat()
    again = BotProcess(tmp_path, double, "--now", later, rate_per_minute=3)
    await again.start()
    try:
        await double.until(lambda: len(double.texts("group")) >= 5, within=20)
        heads = [t.splitlines()[0] for t in double.texts("group")]
        assert heads == [f"已收到点单 #{n}" for n in range(1, 6)]  # each once, in order
    finally:
        await again.stop()
    with sqlite3.connect(tmp_path / "bot.db") as db:
        sent = [datetime.fromisoformat(r[0]) for r in db.execute(
            "SELECT sent_at FROM outbox WHERE chat_id = ? ORDER BY sent_at",
            ["cidGroupDeqing01"])]
    assert len(sent) == 5  # and no more than three in any minute:
    assert all(b - a >= timedelta(seconds=60) for a, b in zip(sent, sent[3:], strict=False))
    assert "Traceback" not in bot.log()


async def test_sigkill_right_after_the_acks_loses_no_message_and_repeats_none(
        tmp_path: Path, double: DingTalkDouble) -> None:
    """DingTalk never pushes a robot message again: whatever was ACKed must survive a crash."""
    bot = BotProcess(tmp_path, double)
    await bot.start()
    burst = 10  # within the group's 20 robot messages a minute, announcements included
    texts = [f"点单：第{i + 1}台焊机焊缝有气孔，请师傅看看" for i in range(burst)]
    ids = [await double.push(double.message(text)) for text in texts]
    await double.until(lambda: all(double.acked(i) for i in ids), within=20)
    await bot.kill()  # at once: most of the burst is still being handled
    again = BotProcess(tmp_path, double)
    await again.start()
    try:
        deadline = time.monotonic() + 20  # the other process's progress: bounded polling
        stored: list[str] = []
        while time.monotonic() < deadline:
            with sqlite3.connect(tmp_path / "bot.db") as db:
                stored = [r[0] for r in db.execute("SELECT text FROM orders ORDER BY no")]
            if len(stored) >= len(texts):
                break
            await asyncio.sleep(0.05)
        assert sorted(stored) == sorted(texts)  # every message handled, none twice
        await double.until(lambda: all(
            any(f"已收到点单 #{n}" in t for t in double.texts()) for n in range(1, burst + 1)))
    finally:
        took = await again.stop()
    assert took < 10 and "Traceback" not in again.log()
