"""Who may drive the bot through the local API and the server: defaults, token, Host, types."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import App, build_app
from bot.config import (
    Config,
    ConfigError,
    DashboardConfig,
    LocalConfig,
    ServerConfig,
    StorageConfig,
    load,
)
from bot.model import FrozenClock
from bot.web.access import host_name
from bot.web.server import make_web_app
from tests.doubles_wecom import start_rig
from tests.fakes import T0, add_expert

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]
PATH = "/api/local/messages"
ORDER = {"chat": "g1", "sender": "c1", "text": "点单：焊接变形严重，请师傅指导"}


def _config(tmp_path: Path, token: str = "") -> Config:
    return replace(Config(), storage=StorageConfig(path=str(tmp_path / "bot.db")),
                   local=LocalConfig(enabled=True, token=token))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Callable[[Config], App]]:
    apps: list[App] = []

    def make(config: Config) -> App:
        app = build_app(config, FrozenClock(T0))
        add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"), platform="local")
        app.ready = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.store.db.close()


# -- off by default in `run`, on in `demo`, never open to the network without a token --------

def test_run_serves_no_local_api_unless_the_config_turns_it_on(tmp_path: Path) -> None:
    assert load(None, env={}).local.enabled is False
    config = replace(Config(), storage=StorageConfig(path=str(tmp_path / "bot.db")))
    app = build_app(config, FrozenClock(T0))
    try:
        assert "local" not in app.platforms
        paths = {r.resource.canonical for r in make_web_app(app).router.routes()
                 if r.resource is not None}
        assert not any(p.startswith("/api/local") for p in paths)
    finally:
        app.store.db.close()


async def test_without_local_the_api_answers_404(tmp_path: Path,
                                                 aiohttp_client: MakeClient) -> None:
    config = replace(Config(), storage=StorageConfig(path=str(tmp_path / "bot.db")))
    app = build_app(config, FrozenClock(T0))
    app.ready = True
    client = await aiohttp_client(make_web_app(app))
    assert (await client.post(PATH, json=ORDER)).status == 404
    assert (await client.get("/healthz")).status == 200
    app.store.db.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "bot.example.org"])
def test_a_network_host_needs_a_token(tmp_path: Path, host: str) -> None:
    config = replace(_config(tmp_path), server=ServerConfig(host=host))
    with pytest.raises(ConfigError, match=r"\[local\] token"):
        build_app(config, FrozenClock(T0))
    build_app(replace(config, local=LocalConfig(enabled=False)), FrozenClock(T0)).store.db.close()
    build_app(replace(config, local=LocalConfig(enabled=True, token="s3cret")),
              FrozenClock(T0)).store.db.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_need_no_token(tmp_path: Path, host: str) -> None:
    config = replace(_config(tmp_path), server=ServerConfig(host=host))
    build_app(config, FrozenClock(T0)).store.db.close()


def test_demo_refuses_a_network_host_without_a_token_and_says_why(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--host", "0.0.0.0", "--port", "1",
         "--db", str(tmp_path / "demo.db")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DIANDAN_NO_EMBED": "1"})
    assert proc.returncode == 2
    assert "[local] token" in proc.stderr and "管理员" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "http://" not in proc.stdout  # never announced as serving


def test_the_local_token_can_come_from_the_environment() -> None:
    assert load(None, env={"DIANDAN_LOCAL_TOKEN": "abc"}).local.token == "abc"


# -- the token ---------------------------------------------------------------------------------

async def test_with_a_token_every_local_api_request_carries_it(
        tmp_path: Path, served: Callable[[Config], App], aiohttp_client: MakeClient) -> None:
    app = served(_config(tmp_path, token="s3cret"))
    client = await aiohttp_client(make_web_app(app))
    refused = [
        await client.post(PATH, json=ORDER),
        await client.post(PATH, json=ORDER, headers={"Authorization": "Bearer wrong"}),
        await client.post(PATH, json=ORDER, headers={"Authorization": "s3cret"}),
        await client.get(PATH, params={"chat": "g1"}),
        await client.get("/api/local/directory"),
    ]
    assert [r.status for r in refused] == [401] * 5
    assert all(r.headers["WWW-Authenticate"] == "Bearer" for r in refused)
    assert app.store.local_messages("g1") == []  # nothing was handled or stored
    ok = {"Authorization": "Bearer s3cret"}
    resp = await client.post(PATH, json=ORDER, headers=ok)
    assert resp.status == 200 and (await resp.json())["replies"][0]["text"].startswith(
        "已收到点单 #1")
    assert (await client.get(PATH, params={"chat": "g1"}, headers=ok)).status == 200
    assert (await client.get("/healthz")).status == 200  # health tells nothing private


# -- JSON only: no "simple" cross-site request reaches the handler --------------------------

@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/json; charset=bogus", "application/json; charset=latin-1", "text/json",
])
async def test_posts_must_be_declared_json(tmp_path: Path, served: Callable[[Config], App],
                                           aiohttp_client: MakeClient,
                                           content_type: str | None) -> None:
    app = served(_config(tmp_path))
    client = await aiohttp_client(make_web_app(app))
    headers = {"Content-Type": content_type} if content_type else {}
    body = '{"chat": "g1", "sender": "c1", "text": "点单：焊接变形严重"}'.encode()
    resp = await client.post(PATH, data=body, headers=headers, skip_auto_headers=["Content-Type"])
    assert resp.status == 415, await resp.text()
    assert app.store.local_messages("g1") == []


async def test_json_in_utf8_is_accepted_whatever_the_case(
        tmp_path: Path, served: Callable[[Config], App], aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(make_web_app(served(_config(tmp_path))))
    body = '{"chat": "g1", "sender": "c1", "text": "查询 1"}'.encode()
    for ct in ("application/json", "application/json; charset=UTF-8", "Application/JSON"):
        resp = await client.post(PATH, data=body, headers={"Content-Type": ct})
        assert resp.status == 200, (ct, await resp.text())


# -- Host header (DNS rebinding) ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/healthz", PATH + "?chat=g1", "/", "/admin/", "/static/chat.js"])
async def test_a_foreign_host_header_is_refused_everywhere(
        tmp_path: Path, served: Callable[[Config], App], aiohttp_client: MakeClient,
        path: str) -> None:
    client = await aiohttp_client(make_web_app(served(_config(tmp_path))))
    for host in ("evil.example.com", "evil.example.com:8080", "127.0.0.1.evil.com", ""):
        resp = await client.get(path, headers={"Host": host})
        assert resp.status == 421, (host, resp.status)
    resp = await client.post(PATH, json=ORDER, headers={"Host": "attacker.test"})
    assert resp.status == 421
    for host in ("localhost:8080", "127.0.0.1", "[::1]:8080", "LOCALHOST"):
        resp = await client.get("/healthz", headers={"Host": host})
        assert resp.status == 200, host


async def test_configured_and_public_hosts_are_answered(
        tmp_path: Path, served: Callable[[Config], App], aiohttp_client: MakeClient) -> None:
    config = replace(_config(tmp_path, token="t"),
                     server=ServerConfig(host="0.0.0.0", allowed_hosts=("bot.lan",)),
                     dashboard=DashboardConfig(public_url="https://bot.union.example/"))
    client = await aiohttp_client(make_web_app(served(config)))
    for host in ("bot.lan", "bot.union.example", "bot.union.example:443", "localhost"):
        assert (await client.get("/healthz", headers={"Host": host})).status == 200, host
    assert (await client.get("/healthz", headers={"Host": "0.0.0.0"})).status == 421


def test_host_names_are_read_strictly() -> None:
    assert host_name("Example.COM:8080") == "example.com"
    assert host_name("[::1]:8080") == "::1"
    assert host_name("[::1]") == "::1"
    assert host_name("[::1]x") == ""
    assert host_name("localhost.") == "localhost"


# -- no input gives a 500 -----------------------------------------------------------------------

@pytest.mark.parametrize("field", ["chat", "sender", "sender_name", "text", "msg_id"])
async def test_a_lone_surrogate_in_any_field_is_a_400(
        tmp_path: Path, served: Callable[[Config], App], aiohttp_client: MakeClient,
        caplog: pytest.LogCaptureFixture, field: str) -> None:
    app = served(_config(tmp_path))
    client = await aiohttp_client(make_web_app(app))
    body = {**ORDER, field: "点单\ud800"}
    resp = await client.post(PATH, data=json.dumps(body), headers={
        "Content-Type": "application/json"})
    assert resp.status == 400
    assert "Traceback" not in caplog.text
    assert [r.message for r in caplog.records].count(
        "local API: refused a message: string is not valid Unicode") == 1


async def test_deep_json_big_ids_and_odd_digits_are_4xx(
        tmp_path: Path, served: Callable[[Config], App], aiohttp_client: MakeClient,
        caplog: pytest.LogCaptureFixture) -> None:
    client = await aiohttp_client(make_web_app(served(_config(tmp_path))))
    deep = b"[" * 100_000 + b"]" * 100_000
    ct = {"Content-Type": "application/json"}
    assert (await client.post(PATH, data=deep, headers=ct)).status == 400
    nested = b"[" * 5000 + b"]" * 5000
    deep_field = b'{"chat": "g1", "sender": "c1", "text": "x", "quote": ' + nested + b"}"
    assert (await client.post(PATH, data=deep_field, headers=ct)).status == 400
    for quote in (2**64, 2**63, -1, 0, 10**400):
        body = f'{{"chat": "g1", "sender": "c1", "text": "x", "quote": {quote}}}'
        resp = await client.post(PATH, data=body, headers=ct)
        assert resp.status == 400, quote
    for after in (str(2**70), "²³", "٣", "-1", "1e3", " 1", "9" * 19):
        resp = await client.get(PATH, params={"chat": "g1", "after": after})
        assert resp.status == 400, after
    assert (await client.get(PATH, params={"chat": "g1", "after": str(2**62)})).status == 200
    assert "Traceback" not in caplog.text


async def test_platform_callbacks_answer_whatever_the_host(tmp_path: Path,
                                                           clock: FrozenClock) -> None:
    """A WeCom callback comes through whatever proxy or name the admin set up: its signature
    authenticates it, so the Host check leaves it alone (and nothing else on the server)."""
    rig = await start_rig(tmp_path, clock)
    try:
        query, body = rig.double.envelope(rig.double.message("帮助", userid="wu"))
        async with aiohttp.ClientSession() as http:
            url = rig.double.callback_url
            async with http.post(url, params=query, json=body,
                                 headers={"Host": "bot.example.org"}) as resp:
                assert resp.status == 200
            async with http.post(url, params=query, json={"encrypt": "x"},
                                 headers={"Host": "bot.example.org"}) as resp:
                assert 400 <= resp.status < 500 and resp.status != 421
            health = url.replace(rig.app.config.wecom.callback_path, "/healthz")
            async with http.get(health, headers={"Host": "bot.example.org"}) as resp:
                assert resp.status == 421
    finally:
        await rig.close()


async def test_a_request_too_malformed_to_parse_is_one_warning(
        tmp_path: Path, served: Callable[[Config], App], aiohttp_client: MakeClient,
        caplog: pytest.LogCaptureFixture) -> None:
    client = await aiohttp_client(make_web_app(served(_config(tmp_path))))
    resp = await client.get("/healthz", headers={"X-Long": "a" * 10_000})
    assert resp.status == 400
    refused = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert [r.levelname for r in refused] == ["WARNING"]
    assert "Traceback" not in caplog.text and refused[0].exc_info is None
