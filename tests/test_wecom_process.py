"""End to end: `diandan run` with WeCom enabled as a subprocess, driven by the WeCom double."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import aiohttp

from tests.doubles_wecom import AES_KEY, GROUP_KEY, RATE_LIMITED, TOKEN, ManualClock, WeComDouble
from tests.proc import free_port

ROSTER = "编号,姓名,专长,账号\nX01,沈国平,焊接；焊接变形；不锈钢,wecom:e1\n"
ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


async def _until(cond: Callable[[], bool], what: str, seconds: float = 15) -> None:
    """Bounded polling of a real process's effects."""
    for _ in range(int(seconds / 0.05)):
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _healthy(base: str) -> bool:
    try:
        async with aiohttp.ClientSession() as s, s.get(base + "/healthz") as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False


class WeComBot:
    """A running `diandan run` with WeCom (callbacks and one group webhook) enabled."""

    def __init__(self, workdir: Path, double: WeComDouble) -> None:
        self.workdir, self.port = workdir, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        (workdir / "config.toml").write_text(
            f'[storage]\npath = "{workdir / "bot.db"}"\n[server]\nport = {self.port}\n'
            f'[local]\nenabled = false\n[dashboard]\nenabled = false\n'
            "[outbox]\nbase_delay_seconds = 0.2\n"
            f'[wecom]\nenabled = true\ntoken = "{TOKEN}"\nencoding_aes_key = "{AES_KEY}"\n'
            f'webhook_base = "{double.base}"\n[wecom.webhooks]\nwrgroup1 = "{GROUP_KEY}"\n',
            encoding="utf-8")
        double.callback_url = self.base + "/wecom/callback"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> None:
        with (self.workdir / "bot.log").open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", "config.toml", *args,
                cwd=self.workdir, stdout=log, stderr=log)
        for _ in range(300):  # readiness of a real process: bounded polling
            assert self.proc.returncode is None, "bot exited during start-up"
            if await _healthy(self.base):
                return
            await asyncio.sleep(0.05)
        raise AssertionError("bot did not become healthy")

    async def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), timeout=15)

    def log(self) -> str:
        return (self.workdir / "bot.log").read_text(encoding="utf-8")


async def _import_roster(workdir: Path) -> None:
    (workdir / "roster.csv").write_text(ROSTER, encoding="utf-8")
    imported = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "experts", "import", "roster.csv", "--db",
        str(workdir / "bot.db"), cwd=workdir,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    assert await imported.wait() == 0


async def test_run_with_wecom_callbacks_and_webhook(tmp_path: Path) -> None:
    await _import_roster(tmp_path)
    double = WeComDouble(TOKEN, AES_KEY, webhook_keys={GROUP_KEY: "wrgroup1"})
    await double.start()
    bot = WeComBot(tmp_path, double)
    try:
        await bot.start()
        status, body, plain = await double.verify_url()
        assert status == 200 and body == plain

        order = double.message(ORDER, userid="wu")
        first = await double.deliver(order)
        assert first.attempts[0].status == 200 and first.attempts[0].seconds < 1.0
        await _until(lambda: any("已收到点单 #1" in p.content for p in double.sent), "order")
        [announce] = double.sent
        assert announce.via == "webhook" and announce.body["text"]["mentioned_list"] == ["e1"]

        again = await double.deliver(order)  # a retry of the same msgid, encrypted afresh
        assert again.attempts[0].status == 200
        await double.deliver(double.message("查询 1", userid="wu"))
        await _until(lambda: len(double.sent) >= 2, "query answer")
        assert double.sent[1].via == "response_url" and "#1" in double.sent[1].content
        assert sum("已收到点单" in p.content for p in double.sent) == 1

        query, enc = double.envelope(double.message(ORDER))
        forged = await double.post_callback({**query, "msg_signature": "f" * 40}, enc)
        assert forged.status == 403 and await _healthy(bot.base)
        assert double.violations == []
    finally:
        code = await bot.stop()
        await double.close()
    assert code == 0
    text = bot.log()
    assert "Traceback" not in text and GROUP_KEY not in text and AES_KEY not in text
    assert TOKEN not in text


async def test_webhook_down_then_a_backlog_past_the_rate_limit_delivers_each_once(
        tmp_path: Path) -> None:
    await _import_roster(tmp_path)
    clock = ManualClock(time.time())  # WeCom's clock, moved with the bot's below
    double = WeComDouble(TOKEN, AES_KEY, webhook_keys={GROUP_KEY: "wrgroup1"}, clock=clock)
    await double.start()
    bot = WeComBot(tmp_path, double)
    orders = 22  # two more than WeCom takes from one webhook in a minute
    try:
        await bot.start()
        double.fail_next = [502, 503, 502]  # the webhook is down for a while
        for i in range(orders):
            answer = await double.deliver(double.message(
                f"点单：第{i + 1}台焊机焊缝有气孔，请师傅看看", userid="wu"))
            assert answer.attempts[0].status == 200  # every callback answered at once
        await _until(lambda: len(double.sent) >= 20, "the first minute's posts")
        assert await bot.stop() == 0

        # A minute on for both sides: the restarted bot sends the last two.
        clock.at = time.time() + 61
        later = datetime.fromtimestamp(clock.now()).astimezone().isoformat()
        await bot.start("--now", later)
        await _until(lambda: len(double.sent) >= orders, "the rest of the backlog")
    finally:
        await bot.stop()
        await double.close()
    heads = [p.content.splitlines()[0] for p in double.sent]
    assert heads == [f"已收到点单 #{n}" for n in range(1, orders + 1)]  # each once, in order
    assert not [p for p in double.posts if p.errcode == RATE_LIMITED]  # never over the limit
    assert double.fail_next == [] and "Traceback" not in bot.log()
