"""WeCom AI-bot long connection (no public IP): subscribe, heartbeat, callbacks, replies."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from bot.cancel import cancel_and_wait
from bot.platforms.base import SendError
from bot.platforms.wecom_payload import event_type
from bot.web.jsonbody import BadRequest, parse_json

log = logging.getLogger(__name__)

DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"
SUBSCRIBE = "aibot_subscribe"
PING = "ping"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
RESPOND = "aibot_respond_msg"
RESPOND_WELCOME = "aibot_respond_welcome_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"  # a card update, under a template_card_event's req_id
SEND_MSG = "aibot_send_msg"
UPLOAD_INIT = "aibot_upload_media_init"  # media upload: init, chunks, finish (Node SDK 1.0.7)
UPLOAD_CHUNK = "aibot_upload_media_chunk"
UPLOAD_FINISH = "aibot_upload_media_finish"
DISCONNECTED_EVENT = "disconnected_event"  # a newer connection of the same bot took over

OnMessage = Callable[[dict[str, Any], str], Coroutine[Any, Any, None]]


def new_req_id(cmd: str) -> str:
    return f"{cmd}_{uuid.uuid4().hex}"


class LongConnection:
    """One live websocket to WeCom per bot, reconnecting with exponential backoff.

    Frames are UTF-8 JSON `{cmd, headers: {req_id}, body}`, text or binary, with control
    characters possibly raw inside strings (the official SDKs decode binary frames and strip
    such characters); WeCom acknowledges our frames with `{headers: {req_id}, errcode,
    errmsg}` (no cmd) under the same req_id. Message callbacks go to `on_message`, event
    callbacks to `on_event`, both with the frame's req_id; a `disconnected_event` (another
    connection of this bot took over) ends the connection for good, as the Node SDK does.
    """

    def __init__(self, url: str, bot_id: str, secret: str, on_message: OnMessage, *,
                 on_event: OnMessage | None = None,
                 ping_seconds: float = 30.0, backoff_seconds: float = 1.0,
                 max_backoff_seconds: float = 30.0, ack_seconds: float = 5.0) -> None:
        self.url = url or DEFAULT_WS_URL
        self.bot_id = bot_id
        self.secret = secret
        self.on_message = on_message
        self.on_event = on_event
        self.ping_seconds = ping_seconds
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.ack_seconds = ack_seconds
        self.connected = asyncio.Event()  # set while subscribed
        self.connects = 0
        self.superseded = False  # another instance took the connection: stay stopped
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reply_locks: dict[str, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        """Whether the connection is kept up (reconnecting after failures)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None or self._task.done():  # one live connection per bot
            self._task = asyncio.create_task(self._run(), name="wecom-ws")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _run(self) -> None:
        failures = 0
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    subscribed = await self._session(session)
                    failures = 0 if subscribed else failures + 1
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("wecom long connection failed: %s", type(exc).__name__)
                    failures += 1
                except Exception:  # never let the receiver die: log and reconnect
                    log.exception("wecom long connection: unexpected error")
                    failures += 1
                finally:
                    self.connected.clear()
                    self._ws = None
                    self._fail_acks("connection closed")
                if self.superseded:  # reconnecting would only be disconnected again
                    log.error("wecom long connection: another instance took over this bot's "
                              "connection (WeCom sent disconnected_event); this instance no "
                              "longer receives or sends WeCom messages and will not reconnect. "
                              "Run only one bot per [wecom] bot_id, then restart this one")
                    return
                delay = min(self.backoff_seconds * 2 ** max(failures - 1, 0),
                            self.max_backoff_seconds)
                log.info("wecom long connection: reconnecting in %.1f s", delay)
                await asyncio.sleep(delay)

    async def _session(self, session: aiohttp.ClientSession) -> bool:
        """One connection's life; True when it got as far as being subscribed."""
        async with session.ws_connect(self.url, heartbeat=None, autoping=True) as ws:
            self._ws = ws
            req_id = new_req_id(SUBSCRIBE)
            await ws.send_str(json.dumps({"cmd": SUBSCRIBE, "headers": {"req_id": req_id},
                                          "body": {"bot_id": self.bot_id,
                                                   "secret": self.secret}}))
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns a result that
            # came as the task was cancelled, and the stop is lost (the connection lived on).
            async with asyncio.timeout(self.ack_seconds * 2):
                ack = await self._next_frame(ws)
            if ack is None or ack.get("errcode") != 0:
                code = ack.get("errcode") if ack else None
                log.error("wecom long connection: subscribe refused (errcode %s); check "
                          "[wecom] bot_id and secret", code)
                return False
            self.connects += 1
            self.connected.set()
            log.info("wecom long connection subscribed")
            pinger = asyncio.create_task(self._ping(ws))
            try:
                while True:
                    frame = await self._next_frame(ws)
                    if frame is None:
                        return True
                    self._dispatch(frame)
                    if self.superseded:
                        await ws.close()
                        return True
            finally:
                await cancel_and_wait(pinger)

    async def _next_frame(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | None:
        while True:
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                            aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return None
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                continue
            try:  # UTF-8 JSON either way; raw control characters in strings are accepted
                frame = parse_json(msg.data, strict=False)
            except BadRequest as exc:
                log.warning("wecom long connection: a %s frame was ignored (%s)",
                            msg.type.name.lower(), exc.message)
                continue
            if isinstance(frame, dict):
                return frame
            log.warning("wecom long connection: a frame that is not a JSON object was ignored")

    def _dispatch(self, frame: dict[str, Any]) -> None:
        headers = frame.get("headers")
        found = headers.get("req_id") if isinstance(headers, dict) else None
        req_id = found if isinstance(found, str) else ""
        cmd, body = frame.get("cmd"), frame.get("body")
        if cmd == MSG_CALLBACK and isinstance(body, dict):
            self._spawn(self.on_message(body, req_id))
            return
        if cmd == EVENT_CALLBACK:
            if event_type(body) == DISCONNECTED_EVENT:
                self.superseded = True
                self.connected.clear()
            elif isinstance(body, dict) and self.on_event is not None:
                self._spawn(self.on_event(body, req_id))
            else:
                log.info("wecom long connection: event callback of type %.40r ignored",
                         event_type(body))
            return
        waiter = self._acks.pop(req_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(frame)

    def _spawn(self, handling: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(handling)
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        missed = 0
        while True:
            await asyncio.sleep(self.ping_seconds)
            try:
                await self.request(PING, None)
                missed = 0
            except SendError:
                missed += 1
                if missed >= 2:
                    log.warning("wecom long connection: no heartbeat ack, reconnecting")
                    await ws.close()
                    return

    async def request(self, cmd: str, body: dict[str, Any] | None,
                      req_id: str | None = None) -> dict[str, Any]:
        """Send one frame and wait for its ack; SendError (transient) on failure."""
        ws = self._ws
        if ws is None or ws.closed or not self.connected.is_set():
            raise SendError("wecom long connection is not connected")
        rid = req_id or new_req_id(cmd)
        lock = self._reply_locks.setdefault(rid, asyncio.Lock())
        async with lock:  # replies under one req_id go one at a time, as the SDK does
            waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._acks[rid] = waiter
            frame: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": rid}}
            if body is not None:
                frame["body"] = body
            try:
                await ws.send_str(json.dumps(frame, ensure_ascii=False))
                async with asyncio.timeout(self.ack_seconds):  # a stop is never lost
                    ack = await waiter
            except (TimeoutError, ConnectionError, aiohttp.ClientError) as exc:
                raise SendError(f"wecom {cmd}: no ack ({type(exc).__name__})") from None
            finally:
                self._acks.pop(rid, None)
        if self._reply_locks.get(rid) is lock and not lock.locked():
            del self._reply_locks[rid]
        return ack

    def _fail_acks(self, reason: str) -> None:
        for waiter in self._acks.values():
            if not waiter.done():
                waiter.set_exception(SendError(f"wecom long connection: {reason}"))
        self._acks.clear()
