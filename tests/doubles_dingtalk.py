"""A faithful local double of DingTalk: Stream gateway and frames, session webhooks, OpenAPI;
cards and files in doubles_dingtalk_cards.py and doubles_dingtalk_media.py."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from bot.config import (
    BotConfig,
    Config,
    DingTalkConfig,
    LocalConfig,
    OutboxConfig,
    StorageConfig,
)
from bot.model import Clock
from tests.doubles_dingtalk_cards import Card, CardServer
from tests.doubles_dingtalk_media import MediaServer
from tests.doubles_dingtalk_robot import SEND_TOO_FAST, Delivery, RobotServer, json_body

__all__ = [
    "BOT_TOPIC",
    "QPS_LIMIT",
    "SEND_TOO_FAST",
    "Card",
    "Delivery",
    "DingTalkDouble",
    "Running",
    "dingtalk_app",
]

if TYPE_CHECKING:
    from bot.app import App
    from bot.platforms.dingtalk import DingTalkPlatform

BOT_TOPIC = "/v1.0/im/bot/messages/get"
TICKET_TTL = timedelta(seconds=90)
TOKEN_TTL_SECONDS = 7200
WEBHOOK_TTL = timedelta(minutes=90)
QPS_LIMIT = {"code": "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
             "message": "the QPS limit of this API has been reached"}
ROBOT_PER_MINUTE = 20  # robot messages per group per minute; the next is refused with 130101
THROTTLE_SECONDS = 600.0  # ...and the group is then throttled this long
OPENAPI_QPS = 20  # calls per second per app per OpenAPI, then 403 QpsLimit


@dataclass
class Frame:
    """One frame the double pushed, and the ACK the bot gave for it."""

    message_id: str
    type: str
    topic: str
    data: str
    ack: dict[str, Any] | None = None


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    hang: bool = False  # never answer (the client times out)


@dataclass
class DingTalkDouble:
    """DingTalk's servers on 127.0.0.1 (random port), driven and inspected by tests."""

    clock: Clock
    client_id: str = "dingtestappkey"
    client_secret: str = "test-app-secret-9f3Kq"
    robot_code: str = "dingtestappkey"
    base_url: str = ""
    frames: dict[str, Frame] = field(default_factory=dict)
    sent: list[Delivery] = field(default_factory=list)
    opens: list[dict[str, Any]] = field(default_factory=list)  # connection-open bodies
    refused: list[str] = field(default_factory=list)  # why requests were refused
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch s)
    token_requests: int = 0
    tickets: dict[str, float] = field(default_factory=dict)  # unused ticket -> expiry
    sessions: dict[str, tuple[str, int]] = field(default_factory=dict)  # -> (cid, expiry ms)
    conversations: set[str] = field(default_factory=set)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    ws: web.WebSocketResponse | None = None
    connections: int = 0
    lose_acks: bool = False  # drop the bot's ACKs, as a flaky network would
    lost_acks: list[str] = field(default_factory=list)  # messageIds whose ACK was dropped
    posted: dict[str, list[float]] = field(default_factory=dict)  # cid -> robot sends (epoch s)
    throttled: dict[str, float] = field(default_factory=dict)  # cid -> throttled until
    calls: dict[str, list[float]] = field(default_factory=dict)  # OpenAPI -> call times
    unknown_users: set[str] = field(default_factory=set)  # userIds this corp does not have

    def __post_init__(self) -> None:
        self.robot = RobotServer(self)
        self.cards = CardServer(self)
        self.media = MediaServer(self)
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._ids = itertools.count(1)

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> DingTalkDouble:
        app = web.Application()
        app.add_routes([
            web.post("/v1.0/gateway/connections/open", self._open),
            web.get("/connect", self._connect),
            web.post("/v1.0/oauth2/accessToken", self._token),
            *self.robot.routes(), *self.cards.routes(), *self.media.routes(),
        ])
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        self._closing.set()
        if self.ws is not None:
            await self.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests drive -------------------------------------------------------------------

    def message(self, text: str | None, *, sender: str = "staff-wu", nick: str = "吴经理",
                conversation: str = "cidGroupDeqing01", group: bool = True,
                title: str = "德清钢构服务群", msg_id: str | None = None,
                webhook_ttl: timedelta = WEBHOOK_TTL, msgtype: str = "text",
                **extra: Any) -> dict[str, Any]:
        """A robot message as DingTalk sends it, with a fresh session webhook."""
        now_ms = self.now_ms()
        session = uuid.uuid4().hex
        expires = now_ms + int(webhook_ttl.total_seconds() * 1000)
        self.sessions[session] = (conversation, expires)
        self.conversations.add(conversation)
        payload: dict[str, Any] = {
            "conversationId": conversation,
            "conversationType": "2" if group else "1",
            "msgId": msg_id or f"msg{uuid.uuid4().hex[:20]}==",
            "createAt": now_ms,
            "senderStaffId": sender,
            "senderNick": nick,
            "senderId": f"$:LWCP_v1:${sender}",
            "senderCorpId": "dingcorp0001",
            "isAdmin": False,
            "chatbotCorpId": "dingcorp0001",
            "chatbotUserId": "$:LWCP_v1:$robot",
            "robotCode": self.robot_code,
            "sessionWebhook": f"{self.base_url}/robot/sendBySession?session={session}",
            "sessionWebhookExpiredTime": expires,
            "msgtype": msgtype,
        }
        if group:
            payload |= {"conversationTitle": title, "isInAtList": True,
                        "atUsers": [{"dingtalkId": "$:LWCP_v1:$robot"}]}
        if text is not None:
            payload["text"] = {"content": f" {text}" if group else text}
        payload.update(extra)
        return payload

    async def push(self, data: dict[str, Any] | str, *, message_id: str | None = None,
                   type: str = "CALLBACK", topic: str = BOT_TOPIC) -> str:
        """Send one frame on the live connection; returns its stream messageId."""
        await self.until(lambda: self.ws is not None and not self.ws.closed)
        mid = message_id or f"stream-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
        raw = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        self.frames[mid] = Frame(mid, type, topic, raw)
        frame = {
            "specVersion": "1.0", "type": type,
            "headers": {"appId": "app-1", "connectionId": f"conn-{self.connections}",
                        "contentType": "application/json", "messageId": mid,
                        "time": str(self.now_ms()), "topic": topic},
            "data": raw,
        }
        assert self.ws is not None
        await self.ws.send_str(json.dumps(frame, ensure_ascii=False))
        return mid

    async def ping(self) -> str:
        return await self.push(json.dumps({"opaque": uuid.uuid4().hex}), type="SYSTEM",
                               topic="ping")

    async def ask_disconnect(self) -> str:
        """SYSTEM disconnect: the client must ACK it and reconnect with a new ticket."""
        return await self.push(json.dumps({"reason": "server restart"}), type="SYSTEM",
                               topic="disconnect")

    async def drop(self) -> None:
        """Cut the connection without notice."""
        if self.ws is not None:
            await self.ws.close(code=1011)

    async def redeliver(self, *, new_ids: bool = False) -> list[str]:
        """Push every un-ACKed EVENT frame again, as DingTalk does on its timeout. Robot
        messages (CALLBACK frames) are fire-and-forget and never pushed again (protocol.md FAQ,
        open-dingtalk/developerpedia); a test that wants a repeat pushes the payload again."""
        ids = []
        for frame in [f for f in self.frames.values() if f.ack is None and f.type == "EVENT"]:
            ids.append(await self.push(frame.data, topic=frame.topic,
                                       message_id=None if new_ids else frame.message_id))
        return ids

    def fail(self, api: str, status: int, body: dict[str, Any], times: int = 1) -> None:
        """Make the next `times` calls to `api` ("open", "token", "webhook", "group", "oto")
        fail with this status and body (after the credential and token checks)."""
        self.failures.setdefault(api, []).extend(Failure(status, body) for _ in range(times))

    def hang(self, api: str) -> None:
        """Make the next call to `api` never answer, so the client times out."""
        self.failures.setdefault(api, []).append(Failure(0, {}, hang=True))

    def expire_tokens(self) -> None:
        self.tokens = dict.fromkeys(self.tokens, 0.0)

    def acked(self, message_id: str) -> bool:
        frame = self.frames.get(message_id)
        return frame is not None and frame.ack is not None

    def texts(self, via: str | None = None) -> list[str]:
        return [d.text for d in self.sent if via is None or d.via == via]

    async def until(self, check: Callable[[], bool], within: float = 10.0) -> None:
        """Wait (bounded) until `check()` holds; the double re-checks on every change."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), within)

    # -- the servers ------------------------------------------------------------------------

    async def _open(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        self.opens.append({k: v for k, v in body.items() if k != "clientSecret"})
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return await self.refuse("open: bad credentials", 401,
                                      {"code": "InvalidAuthentication",
                                       "message": "clientId or clientSecret is wrong"})
        subs = body.get("subscriptions")
        if not isinstance(subs, list) or {"type": "CALLBACK", "topic": BOT_TOPIC} not in subs:
            return await self.refuse("open: no robot subscription", 400,
                                      {"code": "invalidParameter.subscriptions"})
        injected = await self.injected("open")
        if injected is not None:
            return injected
        ticket = uuid.uuid4().hex
        self.tickets[ticket] = self.clock.now().timestamp() + TICKET_TTL.total_seconds()
        return web.json_response({"endpoint": self.base_url.replace("http", "ws") + "/connect",
                                  "ticket": ticket})

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        expiry = self.tickets.pop(ticket, None)  # single use
        if expiry is None or self.clock.now().timestamp() > expiry:
            return await self.refuse("connect: bad, used or expired ticket", 401,
                                      {"code": "InvalidTicket"})
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        self.ws = ws
        self.connections += 1
        await self.notify()
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await self._on_ack(msg.data)
        if self.ws is ws:
            self.ws = None
        await self.notify()
        return ws

    async def _on_ack(self, raw: str) -> None:
        ack = json.loads(raw)
        mid = ack.get("headers", {}).get("messageId")
        if self.lose_acks:
            self.lost_acks.append(str(mid))
            await self.notify()
            return
        frame = self.frames.get(mid)
        if frame is None or ack.get("code") != 200:
            self.refused.append(f"ack: unexpected {raw[:80]}")
        else:
            json.loads(ack["data"])  # an ACK's data is a JSON string
            frame.ack = ack
        await self.notify()

    async def _token(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        self.token_requests += 1
        if body.get("appKey") != self.client_id or body.get("appSecret") != self.client_secret:
            return await self.refuse("token: bad credentials", 400,
                                      {"code": "invalidClientIdOrSecret",
                                       "message": "无效的clientId或者clientSecret"})
        injected = await self.injected("token")
        if injected is not None:
            return injected
        token = uuid.uuid4().hex
        self.tokens[token] = self.clock.now().timestamp() + TOKEN_TTL_SECONDS
        await self.notify()
        return web.json_response({"accessToken": token, "expireIn": TOKEN_TTL_SECONDS})

    async def authorized(self, request: web.Request,
                         api: str) -> tuple[dict[str, Any], web.Response | None]:
        """The checks every OpenAPI call makes: token, injected failure, QPS."""
        token = request.headers.get("x-acs-dingtalk-access-token")
        body = await json_body(request)
        if not token:
            return body, await self.refuse(f"{api}: no token", 400, {
                "code": "MissingParameter",
                "message": "x-acs-dingtalk-access-token is mandatory for this action."})
        if self.tokens.get(token, 0.0) < self.clock.now().timestamp():
            return body, await self.refuse(f"{api}: bad or expired token", 400, {
                "code": "InvalidAuthentication", "message": "不合法的access_token"})
        injected = await self.injected(api)
        if injected is not None:
            return body, injected
        now = self.clock.now().timestamp()
        recent = [t for t in self.calls.get(api, []) if t > now - 1.0]
        self.calls[api] = [*recent, now]
        if len(recent) >= OPENAPI_QPS:
            return body, await self.refuse(f"{api}: QPS limit", 403, QPS_LIMIT)
        return body, None

    async def record_card(self, card: Card) -> None:
        group = card.space == "IM_GROUP"
        await self.record(Delivery("card", card.target if group else "",
                                    () if group else (card.target,), "card", card.text,
                                    tuple(card.at), self.robot_code))

    @property
    def too_fast(self) -> dict[str, Any]:
        return SEND_TOO_FAST

    # -- helpers ----------------------------------------------------------------------------

    def room(self, conversation: str) -> bool:
        """Whether the robot may post to this group now (20 a minute, else 10 min throttle);
        counts the post when it may."""
        now = self.clock.now().timestamp()
        if self.throttled.get(conversation, 0.0) > now:
            return False
        recent = [t for t in self.posted.get(conversation, []) if t > now - 60.0]
        if len(recent) >= ROBOT_PER_MINUTE:
            self.throttled[conversation] = now + THROTTLE_SECONDS
            return False
        self.posted[conversation] = [*recent, now]
        return True

    def _failure(self, api: str) -> Failure | None:
        queue = self.failures.get(api)
        return queue.pop(0) if queue else None

    async def injected(self, api: str) -> web.Response | None:
        """The injected answer for this call of `api`, if one is queued."""
        failure = self._failure(api)
        if failure is None:
            return None
        self.refused.append(f"{api}: injected {failure.status or 'hang'}")
        await self.notify()
        if failure.hang:
            await self._closing.wait()
        return web.json_response(failure.body, status=failure.status)

    async def refuse(self, why: str, status: int, body: dict[str, Any]) -> web.Response:
        self.refused.append(why)
        await self.notify()
        return web.json_response(body, status=status)

    async def record(self, delivery: Delivery) -> None:
        self.sent.append(delivery)
        await self.notify()

    async def notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)


def dingtalk_app(tmp_path: Path, clock: Clock, double: DingTalkDouble, *,
                 backoff: tuple[float, float] = (0.05, 0.2), mode: str | None = None,
                 admins: tuple[str, ...] = ("dingtalk:admin-li",),
                 rate_per_minute: int = 20) -> tuple[App, DingTalkPlatform]:
    """An app on a fresh database whose DingTalk platform talks to `double`."""
    from bot.app import build_app
    from bot.platforms.dingtalk import DingTalkPlatform

    config = replace(
        Config(),
        storage=StorageConfig(path=str(tmp_path / "bot.db")),
        bot=BotConfig(admins=admins),
        local=LocalConfig(enabled=False),
        outbox=OutboxConfig(rate_per_minute=rate_per_minute),
        dingtalk=DingTalkConfig(enabled=False, client_id=double.client_id,
                                client_secret=double.client_secret, api_base=double.base_url),
    )
    app = build_app(config, clock)
    platform = DingTalkPlatform(app, backoff=backoff, mode=mode)
    app.add_platform(platform)
    return app, platform


class Running:
    """An app whose DingTalk platform and outbox worker run against the double."""

    def __init__(self, app: App, platform: DingTalkPlatform, double: DingTalkDouble) -> None:
        self.app, self.platform, self.double = app, platform, double
        self.worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.worker = asyncio.create_task(self.app.outbox.run(poll_seconds=0.02))
        await self.platform.start()

    async def stop(self) -> None:
        await self.platform.stop()
        assert self.worker is not None
        self.worker.cancel()
        await asyncio.gather(self.worker, return_exceptions=True)

    async def say(self, text: str | None, **kw: Any) -> str:
        """Push a message and wait for its ACK; returns the stream message id."""
        mid = await self.double.push(self.double.message(text, **kw))
        await self.double.until(lambda: self.double.acked(mid))
        return mid
