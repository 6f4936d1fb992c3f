"""The admin dashboard: sign-in (token, link), sessions, CSRF, and the pages' contents."""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from bot.app import App
from bot.config import DashboardConfig, ServerConfig, dashboard_url
from bot.exports import LEDGER_HEADER
from bot.model import FrozenClock
from bot.web.dashboard_auth import COOKIE, client_address
from bot.web.server import make_web_app
from tests.test_exports import WELD_ROW, seed

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]
TOKEN = "s3cret-令牌"
SECRET_BITS = ("德清华盛钢构有限公司", "不锈钢薄板", "瑞安长城机械", "13867201234", "青山渔场")
PAGES = ["/admin", "/admin/", "/admin/orders", "/admin/orders?state=open", "/admin/orders/2",
         "/admin/experts", "/admin/experts/e1", "/admin/tallies", "/admin/cases",
         "/admin/exports", "/admin/exports/ledger.csv", "/admin/exports/ledger.xlsx",
         "/admin/exports/cases.html", "/admin/exports/cases.docx", "/admin/nothing-here"]


def with_token(app: App, token: str) -> None:
    app.config = replace(app.config, dashboard=DashboardConfig(enabled=True, token=token))


@pytest.fixture
def seeded(app: App, clock: FrozenClock) -> App:
    seed(app, clock)
    with_token(app, TOKEN)
    return app


@pytest.fixture
async def client(seeded: App, aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(make_web_app(seeded))


def _csrf(html: str) -> str:
    m = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


async def sign_in(client: Client) -> str:
    """Sign in with ?token=; returns the orders page's HTML."""
    resp = await client.get("/admin/", params={"token": TOKEN})
    assert resp.status == 200
    return await resp.text()


def _no_secrets(body: str) -> None:
    for bit in SECRET_BITS:
        assert bit not in body


async def test_signed_out_pages_show_no_order_data(client: Client) -> None:
    for path in PAGES:
        resp = await client.get(path, allow_redirects=False)
        assert resp.status in (401, 403), path
        _no_secrets(await resp.text())
    resp = await client.post("/admin/orders/2/excellent", data={"excellent": "0"},
                             allow_redirects=False)
    assert resp.status in (401, 403)


async def test_signed_out_page_offers_the_sign_in_form(client: Client) -> None:
    resp = await client.get("/admin/orders")
    html = await resp.text()
    assert resp.status == 401 and 'name="token"' in html and "登录管理后台" in html


async def test_token_query_once_then_cookie(client: Client) -> None:
    resp = await client.get("/admin/orders", params={"token": TOKEN, "state": "rated"})
    html = await resp.text()
    assert resp.status == 200 and "德清华盛钢构有限公司" in html and "瑞安长城机械" not in html
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
    assert TOKEN not in html  # the page never echoes the token (links keep only filters)
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    for path in ("/admin", "/admin/experts"):
        page = await client.get(path)  # the cookie alone now
        assert page.status == 200 and "沈国平" in await page.text()
    client.session.cookie_jar.clear()
    again = await client.get("/admin/orders")
    assert again.status == 401


async def test_a_stale_secret_in_the_url_is_ignored_once_signed_in(seeded: App,
                                                                    client: Client) -> None:
    token = seeded.store.issue_login_token("fake:admin")
    assert (await client.get("/admin/", params={"login": token})).status == 200
    reload = await client.get("/admin/", params={"login": token})  # used up, but signed in
    assert reload.status == 200 and "德清华盛钢构有限公司" in await reload.text()


async def test_token_sign_in_form(client: Client) -> None:
    form_page = await client.get("/admin/login")
    html = await form_page.text()
    assert form_page.status == 200
    resp = await client.post("/admin/login", data={"token": TOKEN, "_csrf": _csrf(html),
                                                   "next": "/admin/experts"},
                             allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/admin/experts"
    page = await client.get("/admin/experts")
    assert page.status == 200 and "沈国平" in await page.text()


async def test_sign_in_form_never_sends_you_elsewhere(client: Client) -> None:
    html = await (await client.get("/admin/login")).text()
    resp = await client.post("/admin/login", data={"token": TOKEN, "_csrf": _csrf(html),
                                                   "next": "https://evil.example/"},
                             allow_redirects=False)
    assert resp.headers["Location"] == "/admin/"


async def test_wrong_token_is_refused(client: Client) -> None:
    resp = await client.get("/admin/", params={"token": "wrong"})
    body = await resp.text()
    assert resp.status == 403 and "令牌不正确" in body
    _no_secrets(body)
    html = await (await client.get("/admin/login")).text()
    bad = await client.post("/admin/login", data={"token": "s3cret", "_csrf": _csrf(html)})
    assert bad.status == 403
    _no_secrets(await bad.text())
    assert (await client.get("/admin/orders")).status == 401


async def test_sign_in_form_needs_its_csrf_value(client: Client) -> None:
    resp = await client.post("/admin/login", data={"token": TOKEN})
    assert resp.status == 403
    assert (await client.get("/admin/orders")).status == 401


async def test_empty_token_disables_token_sign_in(seeded: App, aiohttp_client: MakeClient
                                                  ) -> None:
    with_token(seeded, "")
    client = await aiohttp_client(make_web_app(seeded))
    for token in ("", "anything"):
        resp = await client.get("/admin/", params={"token": token})
        body = await resp.text()
        assert resp.status == 403 and "令牌登录已停用" in body
        _no_secrets(body)
    html = await (await client.get("/admin/login")).text()
    assert 'name="token"' not in html and "/后台" in html


async def test_one_time_link_works_once(seeded: App, client: Client,
                                        aiohttp_client: MakeClient) -> None:
    token = seeded.store.issue_login_token("fake:admin")
    resp = await client.get("/admin/", params={"login": token})
    assert resp.status == 200 and "德清华盛钢构有限公司" in await resp.text()
    other = await aiohttp_client(make_web_app(seeded))
    again = await other.get("/admin/", params={"login": token})
    body = await again.text()
    assert again.status == 403 and "登录链接无效" in body
    _no_secrets(body)
    assert [e.actor for e in seeded.store.events(kind="dashboard.signed_in")] == ["fake:admin"]


def login_url(app: App, account: str, page: str = "") -> str:
    """A sign-in link as /后台 sends it."""
    return app.store.login_link(account, dashboard_url(app.config), page)


async def test_login_url_names_the_server_and_page(seeded: App) -> None:
    seeded.config = replace(seeded.config, server=ServerConfig(host="0.0.0.0", port=9090))
    url = login_url(seeded, "fake:admin", "exports?month=2026-05")
    m = re.fullmatch(r"http://127\.0\.0\.1:9090/admin/exports\?month=2026-05&login=(\S+)", url)
    assert m
    assert seeded.store.use_login_token(m.group(1)) == "fake:admin"
    plain = login_url(seeded, "fake:admin")
    assert re.fullmatch(r"http://127\.0\.0\.1:9090/admin/\?login=\S+", plain)


async def test_csrf_is_checked_on_posts(seeded: App, client: Client) -> None:
    detail = await client.get("/admin/", params={"token": TOKEN})
    assert detail.status == 200
    page = await (await client.get("/admin/orders/2")).text()
    for data in ({"excellent": "0"}, {"excellent": "0", "_csrf": "forged"}):
        resp = await client.post("/admin/orders/2/excellent", data=data)
        assert resp.status == 403
    order = seeded.store.get_order(2)
    assert order is not None and order.excellent
    ok = await client.post("/admin/orders/2/excellent",
                           data={"excellent": "0", "_csrf": _csrf(page)}, allow_redirects=False)
    assert ok.status == 303 and ok.headers["Location"] == "/admin/orders/2"
    order = seeded.store.get_order(2)
    assert order is not None and not order.excellent
    cases = seeded.store.events(order_no=2, kind="order.case")
    [ev] = [e for e in cases if not e.data["excellent"]]
    assert ev.actor == "dashboard:token"


async def test_only_completed_orders_become_cases(seeded: App, client: Client) -> None:
    await sign_in(client)
    page = await (await client.get("/admin/orders/3")).text()
    assert "评为优秀案例" not in page
    resp = await client.post("/admin/orders/3/excellent",
                             data={"excellent": "1", "_csrf": _csrf(page)})
    assert resp.status == 400 and "办结后才能评为优秀案例" in await resp.text()


async def test_logout_ends_the_session(client: Client) -> None:
    html = await sign_in(client)
    resp = await client.post("/admin/logout", data={"_csrf": _csrf(html)},
                             allow_redirects=False)
    assert resp.status == 303
    assert (await client.get("/admin/orders")).status == 401


async def test_sessions_lapse(client: Client, clock: FrozenClock) -> None:
    await sign_in(client)
    clock.advance(hours=9)
    assert (await client.get("/admin/orders")).status == 401


async def test_guessing_tokens_is_throttled(client: Client) -> None:
    for _ in range(10):
        assert (await client.get("/admin/", params={"token": "guess"})).status == 403
    resp = await client.get("/admin/", params={"token": TOKEN})
    assert resp.status == 429


async def test_behind_a_trusted_proxy_each_client_is_throttled_alone(
        seeded: App, aiohttp_client: MakeClient) -> None:
    seeded.config = replace(seeded.config, dashboard=DashboardConfig(
        enabled=True, token=TOKEN, trusted_proxies=("127.0.0.0/8", "::1")))
    client = await aiohttp_client(make_web_app(seeded))
    guesser = {"X-Forwarded-For": "203.0.113.9"}
    for _ in range(10):
        resp = await client.get("/admin/", params={"token": "guess"}, headers=guesser)
        assert resp.status == 403
    assert (await client.get("/admin/", params={"token": TOKEN}, headers=guesser)).status == 429
    admin = {"X-Forwarded-For": "198.51.100.7"}  # another browser behind the same proxy
    assert (await client.get("/admin/", params={"token": TOKEN}, headers=admin)).status == 200
    # A client cannot dodge the throttle by writing the header itself: the proxy appends.
    client.session.cookie_jar.clear()  # not the admin's browser
    spoof = {"X-Forwarded-For": "192.0.2.1, 203.0.113.9"}
    assert (await client.get("/admin/", params={"token": TOKEN}, headers=spoof)).status == 429


async def test_without_trusted_proxies_the_header_is_ignored(client: Client) -> None:
    for i in range(10):
        fake = {"X-Forwarded-For": f"203.0.113.{i}"}
        assert (await client.get("/admin/", params={"token": "guess"}, headers=fake)).status \
            == 403
    assert (await client.get("/admin/", params={"token": TOKEN})).status == 429


def test_client_address_reads_the_nearest_untrusted_hop() -> None:
    proxies = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))
    assert client_address("127.0.0.1", "1.2.3.4", proxies) == "1.2.3.4"
    assert client_address("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.1.2.3", proxies) == "1.2.3.4"
    assert client_address("5.5.5.5", "1.2.3.4", proxies) == "5.5.5.5"  # not via a proxy
    assert client_address("127.0.0.1", "10.0.0.2, 10.0.0.3", proxies) == "10.0.0.2"
    assert client_address("127.0.0.1", "  ,", proxies) == "127.0.0.1"
    assert client_address("127.0.0.1", "unknown", proxies) == "unknown"
    assert client_address(None, "1.2.3.4", proxies) == "?"


def _listed(html: str) -> list[int]:
    return sorted({int(n) for n in re.findall(r'href="/admin/orders/(\d+)"', html)})


async def test_order_filters(client: Client) -> None:
    html = await sign_in(client)
    assert _listed(html) == [1, 2, 3] and "共 3 单" in html
    for params, expected in [
        ({"state": "cancelled"}, [1]), ({"category": "焊接"}, [2]), ({"region": "瑞安"}, [3]),
        ({"q": "变频器"}, [3]), ({"q": "吴经理", "month": "2026-05"}, [2, 3]),
        ({"month": "2026-04"}, [1]), ({"state": "rated", "category": "电气"}, []),
    ]:
        resp = await client.get("/admin/orders", params=params)
        assert resp.status == 200
        assert _listed(await resp.text()) == expected, params


async def test_bad_filters_do_not_break_the_page(client: Client) -> None:
    await sign_in(client)
    resp = await client.get("/admin/orders", params={"month": "2026-13", "page": "abc",
                                                     "state": "bogus"})
    html = await resp.text()
    assert resp.status == 200 and "没有 2026-13 这个月份" in html and _listed(html) == [1, 2, 3]


async def test_orders_list_columns(client: Client) -> None:
    html = await sign_in(client)
    for head in ("编号", "企业", "需求", "类别", "专家", "状态", "日期"):
        assert f"<th>{head}</th>" in html
    assert "#2" in html and "沈国平、叶卫东" in html and "已评价" in html and "2026-05-06" in html


async def test_order_detail_has_the_timeline_and_sessions(client: Client) -> None:
    await sign_in(client)
    resp = await client.get("/admin/orders/2")
    html = await resp.text()
    assert resp.status == 200 and "13867201234" in html and "吴经理" in html
    steps = ["提交点单", "接单", "加入协助", "记录进展", "办结", "评价", "标为优秀案例"]
    where = [html.index(f"<b>{s}</b>") for s in steps]
    assert where == sorted(where)
    assert "已远程指导调整焊接顺序" in html and "满意（5星）：师傅很专业" in html
    assert "焊接顺序调整后变形减少80%" in html
    assert "合计 2 场次，4 人次，志愿服务 6 小时，合理化建议 3 条，受益 35 人次" in html
    assert (await client.get("/admin/orders/999")).status == 404


async def test_experts_page_shows_load_and_history(client: Client) -> None:
    await sign_in(client)
    html = await (await client.get("/admin/experts")).text()
    row = html[html.index("叶卫东"):]
    row = row[:row.index("</tr>")]
    assert "1/3" in row and "2 单" in row  # serving #3 now; served #2 and #3
    page = await (await client.get("/admin/experts/e1")).text()
    assert 'href="/admin/orders/2"' in page and "牵头" in page
    assert (await client.get("/admin/experts/nobody")).status == 404


async def test_tallies_page_draws_charts(client: Client) -> None:
    await sign_in(client)
    resp = await client.get("/admin/tallies", params={"month": "2026-05"})
    html = await resp.text()
    assert resp.status == 200 and html.count("<svg") == 3
    fig = html[html.index('id="fig-requests"'):]
    assert '<div class="n">2</div>' in fig[:80]
    assert "按类别（2026年5月）" in html and ">焊接<" in html and "2026-04" in html
    assert "100%" in html  # one rating, 满意


async def test_every_asset_is_local(client: Client) -> None:
    for path in ("/admin/", "/admin/tallies", "/admin/orders/2", "/admin/login"):
        html = await (await client.get(path, params={"token": TOKEN})).text()
        assert re.findall(r'(?:src|href)="(https?:)?//', html) == []
    css = await client.get("/admin/static/admin.css")
    assert css.status == 200 and "--red" in await css.text()


async def test_exports_download(seeded: App, client: Client) -> None:
    await sign_in(client)
    page = await client.get("/admin/exports")
    assert page.status == 200 and "ledger.csv" in await page.text()
    resp = await client.get("/admin/exports/ledger.csv", params={"month": "2026-05"})
    assert resp.status == 200
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="ledger-2026-05')
    raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == LEDGER_HEADER and rows[1] == [str(v) for v in WELD_ROW] and len(rows) == 3
    xlsx = await client.get("/admin/exports/ledger.xlsx")
    ws = load_workbook(io.BytesIO(await xlsx.read())).active
    assert ws is not None and ws.max_row == 4
    html = await client.get("/admin/exports/cases.html")
    assert "attachment" in html.headers["Content-Disposition"]
    assert "德清华盛钢构有限公司" in await html.text()
    docx = await client.get("/admin/exports/cases.docx")
    assert (await docx.read()).startswith(b"PK")
    bad = await client.get("/admin/exports/ledger.csv", params={"month": "2026-13"})
    assert bad.status == 400
    kinds = [e.data["what"] for e in seeded.store.events(kind="dashboard.exported")]
    assert kinds == ["ledger", "ledger", "cases", "cases"]


async def test_cases_page_lists_excellent_orders(client: Client) -> None:
    await sign_in(client)
    html = await (await client.get("/admin/cases")).text()
    assert _listed(html) == [2] and "cases.docx" in html


async def test_session_cookie_is_random_and_server_side(client: Client) -> None:
    await sign_in(client)
    [cookie] = [c for c in client.session.cookie_jar if c.key == COOKIE]
    assert len(cookie.value) >= 40 and TOKEN not in cookie.value


async def test_a_restart_signs_no_one_out(seeded: App, client: Client,
                                           aiohttp_client: MakeClient,
                                           clock: FrozenClock) -> None:
    html = await sign_in(client)
    [cookie] = [c for c in client.session.cookie_jar if c.key == COOKIE]
    rows = seeded.store.db.execute("SELECT sid_hash, csrf FROM admin_sessions").fetchall()
    assert len(rows) == 1 and cookie.value not in rows[0][0]  # only a hash of the id is kept
    restarted = await aiohttp_client(make_web_app(seeded))  # a new server: empty memory
    restarted.session.cookie_jar.update_cookies({COOKIE: cookie.value})
    page = await restarted.get("/admin/orders")
    assert page.status == 200 and _csrf(await page.text()) == _csrf(html)
    clock.advance(hours=9)  # idle past SESSION_IDLE: gone in the new server too
    again = await aiohttp_client(make_web_app(seeded))
    again.session.cookie_jar.update_cookies({COOKIE: cookie.value})
    assert (await again.get("/admin/orders")).status == 401
    assert seeded.store.db.execute("SELECT count(*) FROM admin_sessions").fetchone()[0] == 0


async def test_signing_out_forgets_the_session_everywhere(seeded: App, client: Client,
                                                         aiohttp_client: MakeClient) -> None:
    html = await sign_in(client)
    [cookie] = [c for c in client.session.cookie_jar if c.key == COOKIE]
    await client.post("/admin/logout", data={"_csrf": _csrf(html)}, allow_redirects=False)
    assert seeded.store.db.execute("SELECT count(*) FROM admin_sessions").fetchone()[0] == 0
    assert [e.actor for e in seeded.store.events(kind="dashboard.signed_out")] == [
        "dashboard:token"]
    other = await aiohttp_client(make_web_app(seeded))
    other.session.cookie_jar.update_cookies({COOKIE: cookie.value})
    assert (await other.get("/admin/orders")).status == 401


async def test_cookie_is_secure_behind_an_https_proxy(seeded: App,
                                                      aiohttp_client: MakeClient) -> None:
    seeded.config = replace(seeded.config, dashboard=DashboardConfig(
        token=TOKEN, public_url="https://union.example.cn"))
    client = await aiohttp_client(make_web_app(seeded))
    resp = await client.get("/admin", params={"token": TOKEN})
    assert resp.status == 200 and "Secure" in resp.headers["Set-Cookie"]
    assert login_url(seeded, "fake:admin").startswith("https://union.example.cn/admin/?login=")


async def test_every_page_renders_on_an_empty_database(app: App,
                                                       aiohttp_client: MakeClient) -> None:
    with_token(app, TOKEN)
    client = await aiohttp_client(make_web_app(app))
    assert (await client.get("/admin", params={"token": TOKEN})).status == 200
    for path in ("/admin/", "/admin/orders", "/admin/experts", "/admin/tallies",
                 "/admin/cases", "/admin/exports", "/admin/exports/cases.docx"):
        resp = await client.get(path)
        assert resp.status == 200, path
    html = await (await client.get("/admin/tallies")).text()
    assert html.count("暂无数据") == 3 and "<svg" not in html
    csv_text = await (await client.get("/admin/exports/ledger.csv")).text()
    assert csv_text.lstrip("\ufeff").splitlines() == [",".join(LEDGER_HEADER)]
