"""Browser test: Debian's Chromium (via Playwright) signs in, filters, opens an order, exports."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web

from bot.app import App
from bot.model import FrozenClock
from bot.web.server import make_web_app
from tests.test_dashboard import TOKEN, with_token
from tests.test_exports import seed

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _missing(chromium: Path) -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not (chromium.exists() and os.access(chromium, os.X_OK)):
        return f"{chromium} is missing (apt-get install -y chromium)"
    return None


def require_browser(chromium: Path = CHROMIUM) -> Path:
    """Skip without Chromium or Playwright, except under CI=true where that fails."""
    reason = _missing(chromium)
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(f"browser test skipped: {reason}")
    return chromium


@pytest.fixture
def chromium() -> Path:
    return require_browser()


def test_missing_browser_skips_locally_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    nowhere = tmp_path / "chromium"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="is missing"):
        require_browser(nowhere)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run in CI"):
        require_browser(nowhere)


@pytest.fixture
async def server(app: App, clock: FrozenClock) -> AsyncIterator[str]:
    """The bot's real HTTP server on 127.0.0.1, a random port."""
    seed(app, clock)
    with_token(app, TOKEN)
    app.ready = True
    runner = web.AppRunner(make_web_app(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


async def test_sign_in_filter_open_and_export(chromium: Path, server: str, app: App,
                                              artifacts: Path) -> None:
    from playwright.async_api import async_playwright

    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(chromium), headless=True,
                                           args=ARGS)
        try:
            context = await browser.new_context(accept_downloads=True, locale="zh-CN",
                                                viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            page.set_default_timeout(15_000)

            def note(msg: Any) -> None:
                if msg.type == "error" and "401" not in msg.text:
                    problems.append(msg.text)

            page.on("console", note)
            page.on("request", lambda r: None if r.url.startswith(server) else
                    problems.append(f"outside request: {r.url}"))

            # Signed out: the sign-in form and nothing else.
            resp = await page.goto(f"{server}/admin/orders")
            assert resp is not None and resp.status == 401
            assert "德清华盛" not in await page.content()
            await page.screenshot(path=str(artifacts / "dashboard-1-signin.png"))

            # Sign in with the token.
            await page.fill("#token", TOKEN)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{server}/admin/orders")
            assert await page.locator("table.orders tbody tr").count() == 3
            await page.screenshot(path=str(artifacts / "dashboard-2-orders.png"), full_page=True)

            # Filter: the welding orders only.
            await page.select_option("select[name=category]", "焊接")
            await page.click("form.filters button[type=submit]")
            await page.wait_for_url("**/admin/orders?*category=*")
            rows = page.locator("table.orders tbody tr")
            assert await rows.count() == 1
            assert "德清华盛钢构有限公司" in await rows.first.inner_text()
            await page.screenshot(path=str(artifacts / "dashboard-3-filtered.png"))

            # Open it: the timeline; unmark and re-mark it as an excellent case (a CSRF form).
            await rows.first.locator("a", has_text="#2").click()
            await page.wait_for_url(f"{server}/admin/orders/2")
            timeline = await page.locator("ol.timeline").inner_text()
            assert "提交点单" in timeline and "办结" in timeline and "师傅很专业" in timeline
            await page.screenshot(path=str(artifacts / "dashboard-4-order.png"), full_page=True)
            await page.click("text=取消优秀案例")
            await page.wait_for_selector("text=评为优秀案例")
            order = app.store.get_order(2)
            assert order is not None and not order.excellent
            await page.click("text=评为优秀案例")
            await page.wait_for_selector("text=取消优秀案例")

            # Tallies draw their charts.
            await page.goto(f"{server}/admin/tallies?month=2026-05")
            assert await page.locator("figure.chart svg").count() == 3
            await page.screenshot(path=str(artifacts / "dashboard-5-tallies.png"), full_page=True)

            # Download the ledger.
            await page.click("nav >> text=导出")
            await page.fill("input[name=month]", "2026-05")
            async with page.expect_download() as info:
                await page.click("#ledger-csv")
            download = await info.value
            target = artifacts / "dashboard-ledger-2026-05.csv"
            await download.save_as(str(target))
            assert download.suggested_filename.endswith(".csv")
            raw = target.read_bytes()
            assert raw.startswith(b"\xef\xbb\xbf")
            rows_out = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
            assert rows_out[0][0] == "编号" and [r[0] for r in rows_out[1:]] == ["2", "3"]
            await page.screenshot(path=str(artifacts / "dashboard-6-exports.png"))
            await context.close()

            # A fresh browser signs in by ?token= once; the token leaves the address bar.
            fresh = await browser.new_context()
            page = await fresh.new_page()
            page.on("console", note)
            await page.goto(f"{server}/admin/experts?token={quote(TOKEN)}")
            await page.wait_for_url(f"{server}/admin/experts")
            assert "叶卫东" in await page.locator("table.grid").inner_text()
            await page.goto(f"{server}/admin/orders/3")
            assert "变频器过流故障" in await page.content()
            await fresh.close()
        finally:
            await browser.close()
    assert problems == []
