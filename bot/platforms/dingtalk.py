"""DingTalk (钉钉) platform: Stream mode (or HTTP callbacks) in, session webhook and OpenAPI out."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
import threading
from typing import Any

from aiohttp import web

from bot.core import Core, Handled
from bot.platforms.dingtalk_inbound import PLATFORM, ReplyHandle, to_incoming
from bot.platforms.dingtalk_receive import StreamClient, StreamReceiver
from bot.platforms.dingtalk_send import DingTalkSender
from bot.platforms.dingtalk_sign import REPLAYED, SIGN_KIND, check_callback
from bot.web.jsonbody import BadRequest, read_json
from bot.web.responses import json_response
from storage.records import OutboxItem

__all__ = ["DingTalkPlatform", "to_incoming"]

log = logging.getLogger(__name__)

STREAM, HTTP = "stream", "http"
DEFAULT_CALLBACK_PATH = "/dingtalk/callback"
STOP_SECONDS = 3.0  # for the stream thread, then as long again for messages being handled


class DingTalkPlatform:
    """An enterprise internal app robot. Messages arrive over the Stream websocket (run by the
    SDK in its own thread) or as signed HTTP callbacks; each is ACKed at once and handled on
    the bot's loop. Replies go out through the outbox (see DingTalkSender)."""

    name = PLATFORM
    rate_limited = True
    in_store = False
    can_tell = True  # robot 1:1 messages (oToMessages/batchSend)

    def __init__(self, app: Core, *, mode: str | None = None, callback_path: str | None = None,
                 backoff: tuple[float, float] = (1.0, 60.0)) -> None:
        self.app = app
        cfg = app.config.dingtalk
        self._secret = cfg.client_secret
        # `mode` and `callback_path` are proposed config keys; until [dingtalk] has them the
        # constructor arguments (or the defaults) decide.
        self.mode: str = mode or cfg.mode or STREAM
        if self.mode not in (STREAM, HTTP):
            raise ValueError(f'dingtalk mode must be "{STREAM}" or "{HTTP}", not {self.mode!r}')
        self.callback_path: str = callback_path or str(
            cfg.callback_path or DEFAULT_CALLBACK_PATH)
        self.sender = DingTalkSender(
            api_base=cfg.api_base, client_id=cfg.client_id, client_secret=cfg.client_secret,
            robot_code=cfg.robot_code or cfg.client_id, clock=app.clock,
            handle_for=self.handle_for,
        )
        self.client: StreamClient | None = None
        self.receiver: StreamReceiver | None = None
        if self.mode == STREAM:
            self.client = StreamClient(endpoint=cfg.api_base, client_id=cfg.client_id,
                                       client_secret=cfg.client_secret,
                                       on_message=self._from_stream, backoff=backoff)
            self.receiver = StreamReceiver(self.client)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: set[concurrent.futures.Future[Handled | None]] = set()
        self._pending_lock = threading.Lock()
        self._tasks: set[asyncio.Task[Handled | None]] = set()

    # -- Platform protocol ------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.callback_path, self.callback)] if self.mode == HTTP else []

    async def start(self) -> None:
        cfg = self.app.config.dingtalk
        if not cfg.client_id or not cfg.client_secret:
            log.error("DingTalk is enabled but client_id or client_secret is empty")
        self._loop = asyncio.get_running_loop()
        if self.receiver is not None:
            self.receiver.start()
        log.info("DingTalk platform started (%s mode)", self.mode)

    async def stop(self) -> None:
        if self.receiver is not None and not await asyncio.to_thread(
                self.receiver.stop, STOP_SECONDS):
            log.warning("DingTalk stream thread did not stop in %.0f s", STOP_SECONDS)
        with self._pending_lock:
            waiting: list[asyncio.Future[Any]] = [asyncio.wrap_future(f) for f in self._pending]
        waiting.extend(self._tasks)
        if waiting:
            _done, late = await asyncio.wait(waiting, timeout=STOP_SECONDS)
            if late:
                log.warning("%d DingTalk messages still being handled at stop", len(late))
        await self.sender.close()

    async def send(self, item: OutboxItem) -> str:
        return await self.sender.send(item)

    # -- inbound ----------------------------------------------------------------------------

    async def receive(self, payload: Any) -> Handled | None:
        """Handle one robot message (already ACKed); None when it was skipped."""
        msg = to_incoming(payload, self.app.config.bot.name)
        if msg is None:
            info = payload if isinstance(payload, dict) else {}
            log.info("DingTalk message %.64r skipped: nothing readable (msgtype %.40r)",
                     info.get("msgId"), info.get("msgtype"))
            return None
        try:
            return await self.app.handle(msg)
        except Exception:
            log.exception("DingTalk message %s could not be handled", msg.msg_id)
            return None

    def _from_stream(self, payload: dict[str, Any]) -> None:
        """Called in the stream thread: hand the message to the bot's loop, do not wait."""
        loop = self._loop
        if loop is None or loop.is_closed():
            log.error("DingTalk message %.64r arrived with no bot loop; dropped",
                      payload.get("msgId"))
            return
        future = asyncio.run_coroutine_threadsafe(self.receive(payload), loop)
        with self._pending_lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: concurrent.futures.Future[Handled | None]) -> None:
        with self._pending_lock:
            self._pending.discard(future)

    async def callback(self, request: web.Request) -> web.Response:
        """HTTP callback mode: verify the sign, answer at once, handle after."""
        timestamp = request.headers.get("timestamp") or ""
        problem = check_callback(timestamp, request.headers.get("sign"), self._secret,
                                 self.app.clock.now())
        if problem:
            log.warning("DingTalk callback refused: %s", problem)
            return json_response({"error": problem}, status=403)
        try:
            payload = await read_json(request, json_type=False)
        except BadRequest as exc:
            log.warning("DingTalk callback refused: %s", exc.message)
            return json_response({"error": exc.message}, status=exc.status)
        # Accepted once: a replay of the headers is refused whatever its body.
        try:
            async with self.app.lock:
                fresh = self.app.store.claim_once(SIGN_KIND, timestamp)
        except sqlite3.Error as exc:  # not acknowledged: DingTalk will try again
            log.error("DingTalk callback not taken, storage unavailable: %s", exc)
            return json_response({"error": "storage unavailable"}, status=503)
        if not fresh:
            log.warning("DingTalk callback refused: %s", REPLAYED)
            return json_response({"error": REPLAYED}, status=403)
        task = asyncio.create_task(self.receive(payload), name="dingtalk-callback")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return json_response({})

    # -- outbound helpers -------------------------------------------------------------------

    def handle_for(self, chat_id: str) -> ReplyHandle:
        """The reply handle remembered for a conversation (empty if it never wrote to us)."""
        row = self.app.store.chat(PLATFORM, chat_id)
        return ReplyHandle.from_json(row.get("reply_handle")) if row else ReplyHandle()
