"""DingTalk (钉钉) platform: Stream mode (or HTTP callbacks) in, session webhook and OpenAPI out;
interactive cards with buttons (Stream mode), pictures and files both ways."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
from typing import Any

from aiohttp import web

from bot.cancel import cancel_and_wait
from bot.core import Core, Handled
from bot.model import Attachment, Incoming
from bot.platforms.dingtalk_api import DingTalkApi
from bot.platforms.dingtalk_board import CardBoard
from bot.platforms.dingtalk_inbound import PLATFORM, ReplyHandle, to_incoming
from bot.platforms.dingtalk_inbox import Inbox
from bot.platforms.dingtalk_media import Media
from bot.platforms.dingtalk_receive import StreamClient, StreamReceiver
from bot.platforms.dingtalk_send import DingTalkSender
from bot.platforms.dingtalk_sign import REPLAYED, SIGN_KIND, check_callback
from bot.web.jsonbody import BadRequest, read_json
from bot.web.responses import json_response
from storage.db import DB_ERRORS
from storage.files import media_file
from storage.records import OutboxItem

__all__ = ["DingTalkPlatform", "to_incoming"]

log = logging.getLogger(__name__)

STREAM, HTTP = "stream", "http"
DEFAULT_CALLBACK_PATH = "/dingtalk/callback"
STOP_SECONDS = 4.0  # for the stream thread and the messages being handled (the app allows 5)


class DingTalkPlatform:
    """An enterprise internal app robot. Messages arrive over the Stream websocket (run by the
    SDK in its own thread) or as signed HTTP callbacks; each is stored (see Inbox), ACKed within
    milliseconds, and handled on the bot's loop. Replies go out through the outbox (see
    DingTalkSender)."""

    name = PLATFORM
    rate_limited = True
    in_store = False
    sending = True
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
        robot = cfg.robot_code or cfg.client_id
        self.api = DingTalkApi(api_base=cfg.api_base, client_id=cfg.client_id,
                               client_secret=cfg.client_secret, clock=app.clock)
        self.media = Media(self.api, robot, app.config.storage.path)
        self.inbox = Inbox(app, keep_media=self._keep_media, on_handled=self._handled)
        self._tasks = self.inbox.tasks  # the messages in hand
        # Cards call back on the Stream only (互动卡片高级版, callbackType STREAM): in HTTP
        # mode items with buttons go out as text.
        self.board = CardBoard(app, self.api, self.inbox, cfg.client_secret)
        self.sender = DingTalkSender(
            api=self.api, robot_code=robot, clock=app.clock, handle_for=self.handle_for,
            cards=self.mode == STREAM, name_of=self._name_of, media=self.media,
            attachment_of=self._attachment, card_secret=cfg.client_secret,
        )
        self.client: StreamClient | None = None
        self.receiver: StreamReceiver | None = None
        if self.mode == STREAM:
            self.client = StreamClient(endpoint=cfg.api_base, client_id=cfg.client_id,
                                       client_secret=cfg.client_secret,
                                       on_message=self._from_stream, on_card=self._card_press,
                                       backoff=backoff)
            self.receiver = StreamReceiver(self.client)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refresher: asyncio.Task[None] | None = None

    # -- Platform protocol ------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        return [web.post(self.callback_path, self.callback)] if self.mode == HTTP else []

    async def start(self) -> None:
        cfg = self.app.config.dingtalk
        if not cfg.client_id or not cfg.client_secret:
            log.error("DingTalk is enabled but client_id or client_secret is empty")
        self._loop = asyncio.get_running_loop()
        await self.inbox.resume()  # what the last run left goes first
        if self.receiver is not None:
            await self.board.start()
            self._refresher = asyncio.create_task(self.board.run(), name="dingtalk-cards")
            self.receiver.start()
        log.info("DingTalk platform started (%s mode)", self.mode)

    async def stop(self) -> None:
        """Stop receiving; messages in hand get the rest of STOP_SECONDS, and those cut short
        stay stored for the next start (DingTalk would not push them again)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_SECONDS
        self.inbox.stopping = True  # from now on a new message is stored, ACKed, left
        if self.receiver is not None and not await asyncio.to_thread(
                self.receiver.stop, STOP_SECONDS / 2):
            log.warning("DingTalk stream thread did not stop in %.1f s", STOP_SECONDS / 2)
        await self.inbox.stop(deadline - loop.time())
        await cancel_and_wait(self._refresher)
        self._refresher = None
        await self.sender.close()

    async def send(self, item: OutboxItem) -> str:
        ref = await self.sender.send(item)
        self.board.sent(item, ref)
        return ref

    # -- inbound ----------------------------------------------------------------------------

    async def receive(self, payload: Any) -> Handled | None:
        """Handle one robot message (already ACKed); None when it was skipped or failed."""
        msg = self.inbox.readable(payload)
        return None if msg is None else await self.inbox.finish(msg)

    def _from_stream(self, payload: dict[str, Any]) -> concurrent.futures.Future[bool] | None:
        """Called in the stream thread: hand the message to the bot's loop, which stores it
        and then handles it; the future tells when it is stored (and may be ACKed)."""
        loop = self._loop
        stored: concurrent.futures.Future[bool] = concurrent.futures.Future()
        try:
            if loop is None:
                raise RuntimeError("not started")
            loop.call_soon_threadsafe(self.inbox.spawn, payload, stored)
        except RuntimeError:  # no loop, or it has closed
            log.error("DingTalk message %.64r arrived with no bot loop; dropped",
                      payload.get("msgId"))
            return None
        return stored

    def _card_press(self, data: dict[str, Any], message_id: str
                    ) -> concurrent.futures.Future[dict[str, Any]] | None:
        """Called in the stream thread for a card callback: the press is handled on the bot's
        loop; the future gives the answer for its ACK."""
        loop = self._loop
        answer: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()

        def begin() -> None:
            task = self.inbox.track(asyncio.create_task(self.board.press(data, message_id),
                                                        name="dingtalk-card-press"))
            task.add_done_callback(lambda done: _settle(answer, done))

        try:
            if loop is None:
                raise RuntimeError("not started")
            loop.call_soon_threadsafe(begin)
        except RuntimeError:
            log.error("DingTalk card press %.64r arrived with no bot loop; dropped", message_id)
            return None
        return answer

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
        # Accepted once: a replay of the headers is refused whatever its body. The message is
        # stored with the claim, so one cut short by a stop is finished at the next start.
        msg = None
        try:
            async with self.app.lock, self.app.store.turn():
                fresh = self.app.store.claim_once(SIGN_KIND, timestamp)
                msg = self.inbox.readable(payload) if fresh else None
                if msg is not None:
                    self.app.store.inbox_add(PLATFORM, msg.msg_id, json.dumps(payload))
        except DB_ERRORS as exc:  # not acknowledged: DingTalk will try again
            log.error("DingTalk callback not taken, storage unavailable: %s", exc)
            return json_response({"error": "storage unavailable"}, status=503)
        if not fresh:
            log.warning("DingTalk callback refused: %s", REPLAYED)
            return json_response({"error": REPLAYED}, status=403)
        if msg is not None:
            self.inbox.track(asyncio.create_task(self.inbox.take_turn(msg, kept=True),
                                                 name="dingtalk-callback"))
        return json_response({})

    # -- outbound helpers -------------------------------------------------------------------

    def handle_for(self, chat_id: str) -> ReplyHandle:
        """The reply handle remembered for a conversation (empty if it never wrote to us)."""
        row = self.app.store.chat(PLATFORM, chat_id)
        return ReplyHandle.from_json(row.get("reply_handle")) if row else ReplyHandle()

    def _name_of(self, user_id: str) -> str:
        """How a card's @ names someone: their name on the roster, else the name they gave
        on their latest order, else their id."""
        account = f"{PLATFORM}:{user_id}"
        expert = self.app.store.expert_by_account(account)
        if expert is not None:
            return expert.name
        try:
            row = self.app.store.db.execute(
                "SELECT requester_name FROM orders WHERE requester = ? ORDER BY no DESC "
                "LIMIT 1", [account]).fetchone()
        except DB_ERRORS:
            row = None
        return str(row[0]) if row and row[0] else user_id

    def _attachment(self, attachment_id: str) -> tuple[Attachment, bytes] | None:
        """An order's attachment and the bytes of its kept copy, if it has one."""
        if not attachment_id.isascii() or not attachment_id.isdigit():
            return None
        stored = self.app.store.attachment(int(attachment_id))
        path = media_file(self.app.config.storage.path, stored.attachment.path) \
            if stored and stored.attachment.path else None
        if stored is None or path is None:
            return None
        try:
            return stored.attachment, path.read_bytes()
        except OSError as exc:
            log.warning("attachment %s could not be read: %s", attachment_id, exc)
            return None

    async def _keep_media(self, msg: Incoming) -> Incoming:
        robot = ReplyHandle.from_json(msg.reply_handle).robot_code
        return await self.media.keep(msg, robot)

    def _handled(self) -> None:
        if self._refresher is not None:
            self.board.wake()


def _settle(answer: concurrent.futures.Future[dict[str, Any]],
            done: asyncio.Task[dict[str, Any]]) -> None:
    """Hand a press's answer (or its failure) to the stream thread."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if done.cancelled():
            answer.set_result({})
        elif done.exception() is not None:
            log.error("DingTalk card press failed: %r", done.exception())
            answer.set_result({})
        else:
            answer.set_result(done.result())
