"""Arbitrary JSON values in every field of the local API, and in its query: never a 5xx."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.web.server import make_web_app
from tests.fakes import add_expert, make_app

Client = TestClient[web.Request, web.Application]
FIELDS = ("chat", "chat_type", "sender", "sender_name", "text", "at_bot", "quote", "msg_id")
# Every JSON value, with what breaks naive code: huge and negative integers, 1e300, lone
# surrogates and other odd text, and nesting.
HOSTILE = st.sampled_from(["\ud800", "点单\udfff", "²³", "٣", "group", "single", "点单：焊接变形",
                           "接单 1", "/统计 9999-12-31~9999-12-31", 2**63, 2**64, -1, 1e300, 1e20])
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**62)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30) | HOSTILE)
JSON = st.one_of(HOSTILE, SCALARS, st.recursive(
    SCALARS, lambda kids: st.lists(kids, max_size=3)
    | st.dictionaries(st.text(max_size=8), kids, max_size=3), max_leaves=12))
VALID = {"chat": "g1", "sender": "c1", "text": "查询 1"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[asyncio.AbstractEventLoop, Client, App]]:
    """The bot's server on a loop of the test's own (hypothesis drives a sync test)."""
    loop = asyncio.new_event_loop()
    app = make_app(tmp_path, local=True, admins=("local:admin",))
    add_expert(app, "e1", "沈国平", ("焊接",), platform="local")
    app.ready = True
    client: Client = TestClient(TestServer(make_web_app(app)), loop=loop)
    loop.run_until_complete(client.start_server())
    yield loop, client, app
    loop.run_until_complete(client.close())
    app.store.db.close()
    loop.close()


def _post(loop: asyncio.AbstractEventLoop, client: Client, body: Any) -> int:
    async def go() -> int:
        resp = await client.post("/api/local/messages", data=json.dumps(body),
                                 headers={"Content-Type": "application/json"})
        await resp.read()
        return resp.status

    return loop.run_until_complete(go())


def test_any_value_in_any_field(served: tuple[asyncio.AbstractEventLoop, Client, App],
                                caplog: pytest.LogCaptureFixture) -> None:
    loop, client, _app = served
    caplog.set_level(logging.WARNING)

    @settings(max_examples=400, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=4), st.booleans())
    def check(changes: dict[str, Any], start_valid: bool) -> None:
        body = {**VALID, **changes} if start_valid else changes
        status = _post(loop, client, body)
        assert status in (200, 400), (body, status)

    check()
    assert "Traceback" not in caplog.text


def test_any_body_at_all(served: tuple[asyncio.AbstractEventLoop, Client, App]) -> None:
    loop, client, _app = served

    @settings(max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(JSON)
    def check(body: Any) -> None:
        assert _post(loop, client, body) in (200, 400)

    check()


def test_any_query(served: tuple[asyncio.AbstractEventLoop, Client, App]) -> None:
    loop, client, _app = served

    async def get(params: dict[str, str]) -> int:
        resp = await client.get("/api/local/messages", params=params)
        await resp.read()
        return resp.status

    text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)

    @settings(max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.sampled_from(["chat", "after"]),
                           text | st.integers().map(str), max_size=2))
    def check(params: dict[str, str]) -> None:
        assert loop.run_until_complete(get(params)) in (200, 400)

    check()
