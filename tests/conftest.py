"""Shared fixtures: an app on a temp database with a frozen clock and a FakeChat.

With DIANDAN_TEST_BACKEND=postgresql the suite runs on PostgreSQL: a throwaway server is
started once, and every database a test opens by path becomes a schema of its own there
(tests marked `sqlite_only` are about the SQLite file itself and are skipped)."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from aiohttp import web

from bot.app import App
from bot.web.server import make_web_app
from tests.doubles_dingtalk import DingTalkDouble
from tests.doubles_wecom import Rig, start_rig
from tests.fakes import T0, Client, FakeChat, FrozenClock, add_expert, make_app

POSTGRESQL = os.environ.get("DIANDAN_TEST_BACKEND", "") == "postgresql"


def pytest_configure(config: pytest.Config) -> None:
    if POSTGRESQL:  # stores a test leaves open are closed by the collector, as on SQLite
        config.addinivalue_line("filterwarnings", "ignore::ResourceWarning")
        config.addinivalue_line("filterwarnings",
                                "ignore::pytest.PytestUnraisableExceptionWarning")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not POSTGRESQL:
        return
    skip = pytest.mark.skip(reason="about the SQLite file itself")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pg_base() -> Iterator[str]:
    """The URL of a database on a throwaway PostgreSQL server (skipped without one)."""
    from tests.pg_server import start_or_skip

    server = start_or_skip(durable=False)  # faster DDL; the tests never crash the server
    try:
        yield server.create_database("diandan_tests")
    finally:
        server.stop()


def pg_schema_url(base: str, key: str) -> str:
    """`base` with its own schema for `key` (created when missing) on the search path."""
    import psycopg

    schema = "t_" + hashlib.sha1(key.encode()).hexdigest()[:20]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    return f"{base}?options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(autouse=True)
def _on_postgresql(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the PostgreSQL leg, every database opened by path is a schema on the server."""
    if not POSTGRESQL:
        return
    import storage.schema
    from storage.schema_pg import connect_pg

    base: str = request.getfixturevalue("pg_base")
    fresh = itertools.count()

    def open_pg(path: str | Path) -> object:
        key = f"{request.node.nodeid}:{path}"
        if str(path) == ":memory:":
            key += f":{next(fresh)}"
        return connect_pg(pg_schema_url(base, key), storage.schema.MIGRATIONS)

    monkeypatch.setattr(storage.schema, "connect_sqlite", open_pg)


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
