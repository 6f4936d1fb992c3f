"""A scoped admin (a group's, or a region's) acts only inside its scope, through every door:
chat verbs, 1:1 look-ups, settings, tallies, the dashboard and its exports."""

from __future__ import annotations

import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import bot.exports as exports_module
import bot.web.dashboard_pages as pages_module
from bot.app import App
from bot.web.server import make_web_app
from tests.fakes import FakeChat, add_expert

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]
HUZHOU = "点单：我们是德清一家钢构厂，不锈钢薄板焊接后变形严重，联系人吴经理 13867201234"
WENZHOU = "点单：我们是瑞安一家机械厂，变频器老是报过流故障，联系人陈经理 13957712345"
PRIVATE = "点单：我叫王小明，公司拖欠我三个月工资，想咨询怎么维权，电话 13912345678"


@pytest.fixture
async def scoped(chat: FakeChat, app: App) -> FakeChat:
    """#1 from group g1 (Huzhou), #2 from group g2 (Wenzhou), #3 a worker's private need;
    li is admin of group g1, hu of the region 湖州."""
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形", "变频器"))
    add_expert(app, "e5", "林律师", ("劳动法", "欠薪维权"))
    await chat.say(HUZHOU, sender="wu", chat="g1")
    await chat.say(WENZHOU, sender="chen", chat="g2")
    await chat.say(PRIVATE, sender="w9", single=True)
    await chat.say("/管理员 添加 fake:li 群:g1", sender="admin")
    await chat.say("/管理员 添加 fake:hu 地区:湖州", sender="admin")
    o1, o2 = app.store.get_order(1), app.store.get_order(2)
    assert o1 and o2 and "湖州" in (o1.region or "") and "温州" in (o2.region or "")
    return chat


async def test_cancel_by_chat_verb_stays_in_scope(scoped: FakeChat, app: App) -> None:
    [out] = await scoped.say("撤销 2", sender="li", chat="g1")
    assert out.text == "只有点单人或管理员可以撤销 #2"
    [out] = await scoped.say("撤销 2", sender="hu", chat="g1")
    assert out.text == "只有点单人或管理员可以撤销 #2"
    o2 = app.store.get_order(2)
    assert o2 is not None and o2.state.value == "open"
    replies = await scoped.say("撤销 1 企业已自行解决", sender="hu", chat="g2")
    assert any("#1 已撤销" in r.text for r in replies)


async def test_a_1to1_query_shows_the_phone_only_in_scope(scoped: FakeChat) -> None:
    [outside] = await scoped.say("查询 2", sender="hu", single=True)
    assert "13957712345" not in outside.text and "#2" in outside.text
    [inside] = await scoped.say("查询 1", sender="hu", single=True)
    assert "13867201234" in inside.text
    [private] = await scoped.say("查询 3", sender="hu", single=True)  # no region: not covered
    assert "13912345678" not in private.text and "拖欠" not in private.text
    [super_] = await scoped.say("查询 3", sender="admin", single=True)
    assert "13912345678" in super_.text


async def test_expert_groups_and_regions_only_inside_the_scope(scoped: FakeChat,
                                                               app: App) -> None:
    [out] = await scoped.say("/设置 专家群 湖州", sender="li", chat="g1")
    assert out.text == "只有超级管理员或地区管理员可以设置专家群"
    [out] = await scoped.say("/设置 专家群 温州", sender="hu", chat="g3")
    assert out.text.startswith("您只能把专家群设在您管理的地区（湖州）以内")
    [out] = await scoped.say("/设置 专家群 全部", sender="hu", chat="g3")
    assert out.text.startswith("您只能把专家群设在")
    [out] = await scoped.say("/设置 地区 瑞安", sender="hu", chat="g3")
    assert out.text.startswith("您只能把地区设在")
    assert app.store.settings("fake", "g3") == {}
    [ok] = await scoped.say("/设置 专家群 德清", sender="hu", chat="g3")
    assert ok.text == "已设置本群专家群：浙江省湖州市德清县"
    [own] = await scoped.say("/设置 地区 德清", sender="li", chat="g1")  # their own group
    assert own.text.startswith("已设置本群地区")


async def test_tallies_cover_only_the_scope(scoped: FakeChat) -> None:
    [group] = await scoped.say("/统计", sender="li", chat="g1")
    assert "群：g1" in group.text and "收到需求 1 件" in group.text
    [region] = await scoped.say("/统计", sender="hu", chat="g9")
    assert "地区：湖州" in region.text and "收到需求 1 件" in region.text
    [out] = await scoped.say("/统计 地区:温州", sender="hu", chat="g9")
    assert out.text == "您只能查看您管理范围（地区：湖州）内的统计"
    [narrower] = await scoped.say("/统计 地区:湖州市德清县", sender="hu", chat="g9")
    assert "收到需求 1 件" in narrower.text
    [all_] = await scoped.say("/统计", sender="admin", chat="g9")
    assert "收到需求 3 件" in all_.text


async def test_a_far_range_is_a_clear_reply(scoped: FakeChat) -> None:
    [out] = await scoped.say("/统计 9999-12-31~9999-12-31", sender="admin")
    assert out.text.startswith("年份 9999 超出范围")


# -- the dashboard and its exports ---------------------------------------------------------

async def _signed_in(chat: FakeChat, app: App, aiohttp_client: MakeClient, who: str,
                     where: str) -> Client:
    replies = await chat.say("/后台", sender=who, chat=where)
    [link] = [r for r in replies if r.to_user == who]
    token = re.search(r"login=(\S+)", link.text)
    assert token is not None
    client = await aiohttp_client(make_web_app(app))
    resp = await client.get("/admin/orders", params={"login": token.group(1)})
    assert resp.status == 200
    return client


async def test_a_group_admins_dashboard_shows_only_its_group(
        scoped: FakeChat, app: App, aiohttp_client: MakeClient) -> None:
    client = await _signed_in(scoped, app, aiohttp_client, "li", "g1")
    html = await (await client.get("/admin/orders")).text()
    assert "#1" in html or "/admin/orders/1" in html
    assert "瑞安" not in html and "拖欠" not in html and "/admin/orders/2" not in html
    assert (await client.get("/admin/orders/2")).status == 404
    assert (await client.get("/admin/orders/3")).status == 404
    assert (await client.get("/admin/orders/1")).status == 200
    csv = (await (await client.get("/admin/exports/ledger.csv")).read()).decode("utf-8-sig")
    assert len(csv.strip().splitlines()) == 2 and "瑞安" not in csv
    tallies = await (await client.get("/admin/tallies", params={"month": "2026-05"})).text()
    assert re.search(r'id="fig-requests"><div class="n">1</div>', tallies)
    expert = await (await client.get("/admin/experts/e1")).text()
    assert "瑞安" not in expert


async def test_the_first_page_of_a_link_is_already_scoped(
        scoped: FakeChat, app: App, aiohttp_client: MakeClient) -> None:
    replies = await scoped.say("/后台", sender="li", chat="g1")
    [link] = [r for r in replies if r.to_user == "li"]
    token = re.search(r"login=(\S+)", link.text)
    assert token is not None
    client = await aiohttp_client(make_web_app(app))
    first = await client.get("/admin/orders/2", params={"login": token.group(1)})
    assert first.status == 404


async def test_an_admin_removed_is_signed_out(scoped: FakeChat, app: App,
                                               aiohttp_client: MakeClient) -> None:
    client = await _signed_in(scoped, app, aiohttp_client, "hu", "g1")
    assert (await client.get("/admin/orders/1")).status == 200
    await scoped.say("/管理员 删除 fake:hu", sender="admin")
    resp = await client.get("/admin/orders/1")
    assert resp.status == 403 and "吴经理" not in await resp.text()


async def test_exports_are_made_off_the_loop_over_a_connection_of_their_own(
        scoped: FakeChat, app: App, aiohttp_client: MakeClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    on_loop: list[bool] = []
    real = exports_module.ledger_bytes

    def spy(store: Any, *args: Any, **kwargs: Any) -> tuple[bytes, int]:
        on_loop.append(threading.current_thread() is threading.main_thread()
                       or store is app.store)
        return real(store, *args, **kwargs)

    monkeypatch.setattr(pages_module, "ledger_bytes", spy)
    client = await _signed_in(scoped, app, aiohttp_client, "li", "g1")
    csv = (await (await client.get("/admin/exports/ledger.csv")).read()).decode("utf-8-sig")
    assert len(csv.strip().splitlines()) == 2 and "瑞安" not in csv  # still scoped
    assert on_loop == [False]


async def test_far_periods_on_the_tallies_page_are_no_500(
        scoped: FakeChat, app: App, aiohttp_client: MakeClient) -> None:
    client = await _signed_in(scoped, app, aiohttp_client, "admin", "g1")
    for month in ("9999-12-31~9999-12-31", "2000-03", "0001-01-01~0001-01-02", "2100-12"):
        resp = await client.get("/admin/tallies", params={"month": month})
        assert resp.status == 200, month
    for path in ("/admin/exports/ledger.csv", "/admin/orders"):
        resp = await client.get(path, params={"month": "9999-12-31~9999-12-31"})
        assert resp.status in (200, 400), path


# -- assisting is claiming a share of the work -----------------------------------------------

async def test_a_paused_or_full_expert_cannot_assist(scoped: FakeChat, app: App) -> None:
    add_expert(app, "e2", "叶卫东", ("焊接",))
    await scoped.say("接单 1", sender="e1", chat="g1")
    await scoped.say("/专家 停用 e2", sender="admin")
    [paused] = await scoped.say("协助 1", sender="e2", chat="g1")
    assert paused.text == "您目前暂停，暂不能协助。"
    await scoped.say("/专家 启用 e2", sender="admin")
    app.store.db.execute("UPDATE experts SET capacity = 1 WHERE id = 'e2'")
    await scoped.say("接单 2", sender="e2", chat="g2")
    [full] = await scoped.say("协助 1", sender="e2", chat="g1")
    assert full.text.startswith("您手上已有 1 张未办结的点单（上限 1 张）")
    assert [e for e, _ in app.store.team_of(1)] == ["e1"]
