"""A faithful local double of WeCom: AI-bot callbacks, response_url, webhooks, long connection,
template cards and their presses (doubles_wecom_cards.py), media both ways (doubles_wecom_media)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from bot.app import App, build_app
from bot.config import BotConfig, Config, DashboardConfig, LocalConfig, StorageConfig
from bot.model import FrozenClock
from bot.platforms.wecom import WeComPlatform, WeComSettings
from bot.platforms.wecom_crypto import WeComCrypto
from bot.web.server import make_web_app
from tests.doubles_wecom_cards import CardSide
from tests.doubles_wecom_media import MediaSide
from tests.doubles_wecom_messages import MessageSide
from tests.doubles_wecom_webhook import (
    BAD_IMAGE as BAD_IMAGE,
)
from tests.doubles_wecom_webhook import (
    BAD_KEY as BAD_KEY,
)
from tests.doubles_wecom_webhook import (
    MARKDOWN_LIMIT,
    TEXT_LIMIT,
    TOO_LONG,
    WebhookSide,
    json_body,
)
from tests.doubles_wecom_webhook import (
    RATE_LIMITED as RATE_LIMITED,
)
from tests.doubles_wecom_ws import (
    BAD_TYPE,
    CARD_EVENT,
    ENTER_CHAT,
    OK,
    PASSIVE_TYPES,
    URL_INVALID,
    WELCOME_TYPES,
    LongConnectionSide,
)
from tests.fakes import add_expert

RETRY_AFTER = 5.0  # WeCom resends a callback not answered within 5 s ...
RETRIES = 3  # ... up to three times
STREAM_POLL_SECONDS = 1.0
STREAM_MAX_SECONDS = 360.0  # refresh polls stop after 6 minutes
RESPONSE_URL_SECONDS = 3600.0
REPLY_LIMIT = 20480
UPDATE_CARD = "update_template_card"  # the answer to a template_card_event (response_type)


def passive_types(payload: Any) -> set[str]:
    """The passive replies WeCom takes to a callback (doc 101031): to a message a stream,
    template_card or both; to enter_chat a text or template_card; to a template card click
    an update of the card; to any other event nothing."""
    if not isinstance(payload, dict) or payload.get("msgtype") != "event":
        return PASSIVE_TYPES
    event = payload.get("event")
    kind = event.get("eventtype") if isinstance(event, dict) else None
    return WELCOME_TYPES if kind == ENTER_CHAT else {UPDATE_CARD} if kind == CARD_EVENT else set()


class ManualClock:
    """Epoch seconds that move only when told to (the double's clock in unit tests)."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


class RealClock:
    def now(self) -> float:
        return time.time()


@dataclass
class Post:
    """One message the bot sent to the double, accepted (errcode 0) or refused."""

    via: str  # "webhook" | "response_url" | "respond" | "send_msg"
    target: str  # chat id (webhook: the chat the key belongs to), msgid or ws chatid
    body: dict[str, Any]
    errcode: int

    @property
    def content(self) -> str:
        part = self.body.get(self.body.get("msgtype", ""), {})
        if self.via == "respond":
            part = self.body.get("stream", {})
        return str(part.get("content", "")) if isinstance(part, dict) else ""

    @property
    def image(self) -> bytes | None:
        """The picture of an accepted image post."""
        if self.body.get("msgtype") != "image" or self.errcode != OK:
            return None
        return base64.b64decode(self.body["image"]["base64"])


@dataclass
class Attempt:
    """One POST of a callback to the bot."""

    status: int
    seconds: float  # real time the bot took to answer
    reply: dict[str, Any] | None  # decrypted passive reply, if any
    text: str


@dataclass
class _ResponseUrl:
    chattype: str
    issued: float
    msgid: str
    chat: str = ""
    used: bool = False


@dataclass
class Delivery:
    attempts: list[Attempt] = field(default_factory=list)
    stream: dict[str, Any] | None = None  # the final state of a passive stream reply
    polls: int = 0


class WeComDouble(CardSide, MediaSide, MessageSide, WebhookSide, LongConnectionSide):
    """WeCom as the bot sees it. Start it, point the bot's `webhook_base` (and ws_url) at
    `base`, tell it the bot's callback URL, then `deliver()` messages and read `posts`."""

    def __init__(self, token: str, aes_key: str, *, webhook_keys: dict[str, str] | None = None,
                 clock: ManualClock | RealClock | _Follow | None = None, bot_id: str = "bot1",
                 secret: str = "s3cret") -> None:
        self.crypto = WeComCrypto(token, aes_key)
        self.clock = clock or RealClock()
        self.webhook_keys = dict(webhook_keys or {})  # key → chat id
        self.bot_id, self.secret = bot_id, secret
        self.callback_url = ""
        self.posts: list[Post] = []
        self.violations: list[str] = []
        self.text_limit, self.markdown_limit = TEXT_LIMIT, MARKDOWN_LIMIT
        self.fail_next: list[int] = []  # HTTP statuses for the next webhook posts (0: pass)
        self._urls: dict[str, _ResponseUrl] = {}
        self._sent_at: dict[str, list[float]] = {}
        self._ids = itertools.count(1)
        self._server: TestServer | None = None
        self._session: aiohttp.ClientSession | None = None
        self.mode = "callback"  # how the bot receives: "callback" or "websocket"
        self.init_long_connection()
        self.init_cards()
        self.init_media()

    # -- server -----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/cgi-bin/webhook/send", self._webhook)
        app.router.add_post("/aibot/response", self._response_url)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/media/{token}", self._media)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self._session = aiohttp.ClientSession()
        return self.base

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/ws"

    async def close(self) -> None:
        for ws in list(self.ws_live):
            await ws.close()
        if self._session is not None:
            await self._session.close()
        if self._server is not None:
            await self._server.close()

    @property
    def sent(self) -> list[Post]:
        """What WeCom accepted and showed to users."""
        return [p for p in self.posts if p.errcode == OK]

    # -- response_url -----------------------------------------------------------------------

    def mint_response_url(self, chattype: str, msgid: str, chat: str = "") -> str:
        code = secrets.token_hex(8)
        self._urls[code] = _ResponseUrl(chattype, self.clock.now(), msgid, chat)
        return f"{self.base}/aibot/response?code={code}"

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        url = self._urls.get(request.query.get("code", ""))
        if url is None or url.used or self.clock.now() - url.issued > RESPONSE_URL_SECONDS:
            return self._refuse("response_url", url.msgid if url else "?", body, URL_INVALID)
        kind = body.get("msgtype")
        allowed = {"markdown"} if url.chattype == "group" else {"markdown", "text",
                                                               "template_card"}
        part = body.get(kind) if isinstance(kind, str) else None
        if kind not in allowed or not isinstance(part, dict):
            return self._refuse("response_url", url.msgid, body, BAD_TYPE)
        if len(str(part.get("content", "")).encode("utf-8")) > REPLY_LIMIT:
            return self._refuse("response_url", url.msgid, body, TOO_LONG)
        if kind == "template_card":
            code = self.take_card(part, url.chat, url.chattype, "response_url")
            if code:
                return self._refuse("response_url", url.msgid, body, code)
        url.used = True
        return self._accept("response_url", url.msgid, body)

    def record(self, via: str, target: str, body: dict[str, Any], code: int) -> None:
        self.posts.append(Post(via, target, body, code))

    def _accept(self, via: str, target: str, body: dict[str, Any]) -> web.Response:
        self.posts.append(Post(via, target, body, OK))
        return web.json_response({"errcode": OK, "errmsg": "ok"})

    def _refuse(self, via: str, target: str, body: dict[str, Any], code: int) -> web.Response:
        self.posts.append(Post(via, target, body, code))
        return web.json_response({"errcode": code, "errmsg": "refused"})

    # -- callbacks to the bot ---------------------------------------------------------------

    async def deliver_press(self, payload: dict[str, Any]) -> Attempt:
        """A press by URL callback: one request only, never retried; its passive reply may
        update the card, once and within 5 s (doc 101027, 101031)."""
        self.expect_press(str(payload.get("msgid")), payload)
        attempt = await self.post_callback(*self.envelope(payload), passive={UPDATE_CARD})
        if attempt.reply is not None:
            code = self.take_update(str(payload.get("msgid")), attempt.reply, attempt.seconds)
            self.record("update", str(payload.get("msgid")), attempt.reply, code)
            if code:
                self.violations.append(f"card update refused: {code}")
        return attempt

    def envelope(self, payload: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        """Query and body of one callback, encrypted afresh (new nonce and timestamp)."""
        plain = json.dumps(payload, ensure_ascii=False)
        encrypt = self.crypto.encrypt(plain)
        ts, nonce = str(int(self.clock.now())), str(secrets.randbelow(10**10))
        query = {"msg_signature": self.crypto.signature(ts, nonce, encrypt),
                 "timestamp": ts, "nonce": nonce}
        return query, {"encrypt": encrypt}

    async def post_callback(self, query: dict[str, str], body: Any, *,
                            passive: set[str] | None = None) -> Attempt:
        """One POST; a passive reply must be one of `passive` (default: a message's)."""
        assert self._session is not None and self.callback_url
        started = time.monotonic()
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with self._session.post(self.callback_url, params=query, data=data,
                                      headers={"Content-Type": "application/json"}) as resp:
            text = await resp.text()
            status = resp.status
        seconds = time.monotonic() - started
        reply = (self._open_reply(text, query["nonce"], PASSIVE_TYPES if passive is None
                                  else passive) if status == 200 and text else None)
        return Attempt(status, seconds, reply, text)

    async def deliver_event(self, payload: dict[str, Any]) -> Attempt:
        """Post one event callback; its passive reply must be one the event allows."""
        return await self.post_callback(*self.envelope(payload), passive=passive_types(payload))

    def _open_reply(self, text: str, nonce: str, passive: set[str]) -> dict[str, Any] | None:
        try:
            env = json.loads(text)
            if env.get("nonce") != nonce:
                self.violations.append("passive reply nonce differs from the callback's")
            self.crypto.verify(env["msgsignature"], env["timestamp"], env["nonce"],
                               env["encrypt"])
            reply: dict[str, Any] = json.loads(self.crypto.decrypt(env["encrypt"]))
        except Exception as exc:
            self.violations.append(f"unreadable passive reply: {exc!r}")
            return None
        kind = reply.get("msgtype", reply.get("response_type"))
        if kind not in passive:
            self.violations.append(f"passive reply of type {kind}")
        return reply

    async def deliver(self, payload: dict[str, Any], *, lose_answers: int = 0) -> Delivery:
        """Send one message callback as WeCom does: retried (same msgid, encrypted afresh)
        while unanswered within 5 s — `lose_answers` answers are treated as lost — then
        poll a passive stream reply with refresh callbacks until it finishes."""
        out = Delivery()
        for attempt in range(1 + RETRIES):
            began = self.clock.now()
            out.attempts.append(await self.post_callback(*self.envelope(payload)))
            late = self.clock.now() - began > RETRY_AFTER or out.attempts[-1].seconds > RETRY_AFTER
            if out.attempts[-1].status == 200 and not late and attempt >= lose_answers:
                break
        reply = out.attempts[-1].reply
        if reply and reply.get("msgtype") in ("stream", "stream_with_template_card"):
            out.stream = reply.get("stream")
            started = self.clock.now()
            while out.stream and not out.stream.get("finish"):
                if self.clock.now() - started >= STREAM_MAX_SECONDS:
                    self.violations.append("stream never finished")
                    break
                if isinstance(self.clock, ManualClock | _Follow):
                    self.clock.advance(STREAM_POLL_SECONDS)
                refresh = {"msgid": f"r{next(self._ids)}", "aibotid": payload.get("aibotid"),
                           "chattype": payload.get("chattype"), "from": payload.get("from"),
                           "msgtype": "stream", "stream": {"id": out.stream.get("id")}}
                if "chatid" in payload:
                    refresh["chatid"] = payload["chatid"]
                out.polls += 1
                answer = await self.post_callback(*self.envelope(refresh))
                out.stream = answer.reply.get("stream") if answer.reply else None
        return out

    async def verify_url(self, echo: str = "", *, plus_raw: bool = True) -> tuple[int, str, str]:
        """WeCom's URL check: GET with an encrypted echostr; returns status, body, and the
        plaintext expected. With `plus_raw`, '+' in the echostr is sent unescaped."""
        assert self._session is not None and self.callback_url
        plain = echo or str(secrets.randbelow(10**19))
        echostr = self.crypto.encrypt(plain)
        while "+" not in echostr and plus_raw:  # make sure the '+' case is exercised
            echostr = self.crypto.encrypt(plain)
        ts, nonce = str(int(self.clock.now())), str(secrets.randbelow(10**10))
        sig = self.crypto.signature(ts, nonce, echostr)
        raw = echostr.replace("/", "%2F").replace("=", "%3D")
        if not plus_raw:
            raw = raw.replace("+", "%2B")
        url = f"{self.callback_url}?msg_signature={sig}&timestamp={ts}&nonce={nonce}&echostr={raw}"
        async with self._session.get(URL(url, encoded=True)) as resp:
            return resp.status, await resp.text(), plain


# -- a bot wired to the double, in-process ---------------------------------------------------

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
GROUP_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


@dataclass
class Rig:
    """The bot's app and WeCom adapter on a loopback server, talking to a WeComDouble."""

    app: App
    platform: WeComPlatform
    double: WeComDouble
    server: TestServer
    settings: WeComSettings

    async def settle(self) -> int:
        """Let pending handling finish, then one outbox pass; returns how many were sent."""
        await self.platform.settle()
        return await self.app.outbox.drain()

    async def close(self) -> None:
        await self.platform.stop()
        await self.server.close()
        await self.double.close()
        self.app.store.db.close()


async def start_rig(tmp_path: Path, clock: FrozenClock, *, webhooks: dict[str, str] | None = None,
                    mode: str = "callback", secret: str = "s3cret", url: str = "") -> Rig:
    """A fresh app with the WeCom adapter (callback or websocket mode) and a started double
    whose clock follows the app's frozen clock."""
    keys = {GROUP_KEY: "wrgroup1"} if webhooks is None else webhooks
    double = WeComDouble(TOKEN, AES_KEY, webhook_keys=keys, clock=_Follow(clock))
    double.mode = mode
    await double.start()
    config = replace(Config(), storage=StorageConfig(path=str(tmp_path / "bot.db"), url=url),
                     bot=BotConfig(admins=("wecom:admin",)), local=LocalConfig(enabled=False),
                     dashboard=DashboardConfig(enabled=False))
    app = build_app(config, clock)
    settings = WeComSettings(
        token=TOKEN, encoding_aes_key=AES_KEY, webhook_base=double.base,
        webhooks={chat: key for key, chat in keys.items()}, mode=mode, bot_id="bot1",
        secret=secret, ws_url=double.ws_url,
    )
    platform = WeComPlatform(app, settings)
    platform.media_in.allowed = (f"{double.base}/media/",)  # downloads from the double only
    app.add_platform(platform)
    server = TestServer(make_web_app(app), host="127.0.0.1")
    await server.start_server()
    double.callback_url = f"http://127.0.0.1:{server.port}{settings.callback_path}"
    app.ready = True
    return Rig(app, platform, double, server, settings)


WELDERS = {"e1": "沈国平", "e2": "李建华"}  # on the roster of start_linked, by id


async def until(cond: Callable[[], bool], what: str = "the double") -> None:
    """Bounded wait for the long connection to act (real I/O, not time logic)."""
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def start_linked(tmp_path: Path, clock: FrozenClock, experts: tuple[str, ...] = (), *,
                       ping_seconds: float | None = None) -> Rig:
    """The bot holding the long connection to the double (no webhooks), subscribed, with
    the welders `experts` (ids of WELDERS) on the roster."""
    r = await start_rig(tmp_path, clock, mode="websocket", webhooks={})
    assert r.platform.ws is not None
    if ping_seconds is not None:
        r.platform.ws.ping_seconds = ping_seconds
    for eid in experts:
        add_expert(r.app, eid, WELDERS[eid], ("焊接", "焊接变形", "不锈钢"), platform="wecom")
    await r.platform.start()
    await until(r.platform.ws.connected.is_set, "subscribe")
    return r


class _Follow:
    """The double's clock as epoch seconds of the app's frozen clock."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    def now(self) -> float:
        return self.clock.now().timestamp()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds=seconds)
