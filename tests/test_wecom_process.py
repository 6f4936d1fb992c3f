"""End to end: `diandan run` with WeCom enabled as a subprocess, driven by the WeCom double."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp

from tests.doubles_wecom import AES_KEY, GROUP_KEY, TOKEN, WeComDouble
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


async def test_run_with_wecom_callbacks_and_webhook(tmp_path: Path) -> None:
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    db = str(tmp_path / "bot.db")
    imported = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "experts", "import", "roster.csv", "--db", db,
        cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    assert await imported.wait() == 0

    double = WeComDouble(TOKEN, AES_KEY, webhook_keys={GROUP_KEY: "wrgroup1"})
    await double.start()
    port = free_port()
    (tmp_path / "config.toml").write_text(
        f'[storage]\npath = "{db}"\n[server]\nport = {port}\n[local]\nenabled = false\n'
        f'[dashboard]\nenabled = false\n'
        f'[wecom]\nenabled = true\ntoken = "{TOKEN}"\nencoding_aes_key = "{AES_KEY}"\n'
        f'webhook_base = "{double.base}"\n[wecom.webhooks]\nwrgroup1 = "{GROUP_KEY}"\n',
        encoding="utf-8")
    log = (tmp_path / "bot.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", "config.toml", cwd=tmp_path,
        stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    double.callback_url = base + "/wecom/callback"
    try:
        for _ in range(300):  # readiness of a real process: bounded polling
            assert proc.returncode is None, "bot exited during start-up"
            if await _healthy(base):
                break
            await asyncio.sleep(0.05)
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
        assert forged.status == 403 and await _healthy(base)
        assert double.violations == []
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), timeout=15)
        log.close()
        await double.close()
    assert code == 0
    text = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert "Traceback" not in text and GROUP_KEY not in text and AES_KEY not in text
    assert TOKEN not in text
