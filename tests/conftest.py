"""Shared fixtures: an app on a temp database with a frozen clock and a FakeChat."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from bot.app import App
from bot.web.server import make_web_app
from tests.doubles_dingtalk import DingTalkDouble
from tests.doubles_wecom import Rig, start_rig
from tests.fakes import T0, Client, FakeChat, FrozenClock, add_expert, make_app


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
async def double(clock: FrozenClock) -> AsyncIterator[DingTalkDouble]:
    """The DingTalk double on the frozen clock (process tests override it with a real one)."""
    d = await DingTalkDouble(clock).start()
    yield d
    await d.close()


@pytest.fixture
async def app(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[App]:
    a = make_app(tmp_path, clock)
    yield a
    a.store.db.close()


@pytest.fixture
def chat(app: App) -> FakeChat:
    return FakeChat(app)


@pytest.fixture
def experts(app: App) -> None:
    """Three experts: a welder, an electrician and an aquaculture expert."""
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形", "不锈钢"))
    add_expert(app, "e2", "叶卫东", ("变频器", "电气", "PLC"), region="浙江省杭州市西湖区")
    add_expert(app, "e3", "陈水根", ("水产养殖", "溶解氧"), region="浙江省金华市婺城区")


@pytest.fixture
async def rig(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Rig]:
    """The bot on WeCom URL callbacks against the WeCom double, welder e1 on the roster
    (test files that need another set-up define their own `rig`)."""
    r = await start_rig(tmp_path, clock)
    add_expert(r.app, "e1", "沈国平", ("焊接", "焊接变形", "不锈钢"), platform="wecom")
    yield r
    await r.close()


@pytest.fixture
async def local_app(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[App]:
    """An app with the local platform on, `local:admin` as admin and welder e1 on the roster."""
    app = make_app(tmp_path, clock, local=True, admins=("local:admin",))
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"), platform="local")
    app.ready = True
    yield app
    app.store.db.close()


@pytest.fixture
async def client(local_app: App,
                 aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> Client:
    """aiohttp's test client on the bot's HTTP server."""
    return await aiohttp_client(make_web_app(local_app))
