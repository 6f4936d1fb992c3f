"""Browser test of the local web chat: quoting the bot's post to claim, and the hint for a
group message the bot does not receive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import App
from bot.model import FrozenClock
from bot.web.server import make_web_app
from tests.fakes import add_expert, make_app
from tests.test_browser_dashboard import ARGS, require_browser

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导"


@pytest.fixture
async def server(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[tuple[str, App]]:
    app = make_app(tmp_path, clock, local=True, admins=("local:admin",))
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"), platform="local", groups=("g-huzhou",))
    app.ready = True
    runner = web.AppRunner(make_web_app(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}", app
    await runner.cleanup()
    app.store.db.close()


async def test_quote_to_claim_and_the_hint_for_a_message_without_the_at(
        server: tuple[str, App]) -> None:
    from playwright.async_api import async_playwright

    url, app = server
    chromium = require_browser()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(chromium), headless=True,
                                           args=ARGS)
        try:
            page = await browser.new_page(locale="zh-CN")
            page.set_default_timeout(15_000)
            await page.goto(url + "/")
            await page.select_option("#who", "c1")
            await page.click("#chat-list >> text=湖州企业服务群")
            await page.fill("#input", ORDER)
            await page.click("#send")
            announce = page.locator("li.msg.bot", has_text="已收到点单 #1")
            await announce.wait_for()

            await page.select_option("#who", "e1")
            await page.click("#chat-list >> text=湖州企业服务群")
            await page.locator("li.msg.bot", has_text="已收到点单 #1").locator(
                ".quote-btn").click()
            assert "已收到点单 #1" in await page.locator("#quote-text").inner_text()
            await page.fill("#input", "接单")
            await page.click("#send")
            await page.locator("li.msg", has_text="接单成功 #1").first.wait_for()
            claimed = page.locator("li.msg.mine", has_text="接单").last
            assert "已收到点单 #1" in await claimed.locator(".quoted").inner_text()
            assert await page.locator("#quote-bar").is_hidden()
            order = app.store.get_order(1)
            assert order is not None and order.lead == "e1"

            await page.uncheck("#at-bot")
            await page.fill("#input", "大家好")
            await page.click("#send")
            hint = page.locator("#hint")
            await hint.wait_for()
            assert "没有 @匠心点单" in await hint.inner_text()
        finally:
            await browser.close()
