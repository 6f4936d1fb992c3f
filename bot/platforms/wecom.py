"""WeCom (企业微信) AI bot: receive by URL callback or long connection, send by reply or webhook."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.charts import image_of
from bot.config import ConfigError, WeComConfig
from bot.core import Core
from bot.lease import Lease
from bot.model import ChatKind, Incoming
from bot.platforms.base import SendError
from bot.platforms.wecom_callback import CallbackEndpoint
from bot.platforms.wecom_cards import CARD_EVENT
from bot.platforms.wecom_crypto import CryptoError, WeComCrypto
from bot.platforms.wecom_events import LongConnectionEvents, callback_reply
from bot.platforms.wecom_media import MediaIn, MediaRef, media_refs
from bot.platforms.wecom_payload import (
    PLATFORM,
    RESPONSE_URL_LIFETIME,
    ReplyHandle,
    event_type,
    to_incoming,
)
from bot.platforms.wecom_press import Presses
from bot.platforms.wecom_send import ResponseUrlSpent, WeComHttp, gather_quietly
from bot.platforms.wecom_ws import DEFAULT_WS_URL, LongConnection
from bot.platforms.wecom_ws_send import WsSend, card_plan, markdown_content
from storage.records import OutboxItem

log = logging.getLogger(__name__)

CALLBACK = "callback"
WEBSOCKET = "websocket"
WS_REPLY_WINDOW = timedelta(minutes=5)  # answer a long-connection callback by req_id within it
MAX_STREAM_ID = 256  # a refresh poll's stream id is echoed back only if it is a short string


@dataclass(frozen=True)
class WeComSettings:
    """Everything the adapter reads from `[wecom]` (keys not in the config yet default)."""

    token: str = ""
    encoding_aes_key: str = ""
    callback_path: str = "/wecom/callback"
    webhook_base: str = "https://qyapi.weixin.qq.com"
    webhooks: dict[str, str] = field(default_factory=dict)
    mode: str = CALLBACK
    bot_id: str = ""
    secret: str = ""
    ws_url: str = DEFAULT_WS_URL
    max_clock_skew_seconds: float = 3600.0

    @classmethod
    def from_config(cls, cfg: WeComConfig) -> WeComSettings:
        return cls(
            token=cfg.token, encoding_aes_key=cfg.encoding_aes_key,
            callback_path=cfg.callback_path, webhook_base=cfg.webhook_base,
            webhooks=dict(cfg.webhooks), mode=cfg.mode, bot_id=cfg.bot_id, secret=cfg.secret,
            ws_url=cfg.ws_url or DEFAULT_WS_URL,
            max_clock_skew_seconds=cfg.max_clock_skew_seconds,
        )


class WeComPlatform:
    """The WeCom AI bot (智能机器人) plus the group webhooks of `[wecom.webhooks]`.

    Replies to a message go, in order of preference: through the message's own reply
    channel (callback mode: its single-use response_url; long connection: aibot_respond_msg
    under its req_id), carrying the message's whole batch of replies at once; then through
    the group's webhook key; then (long connection) aibot_send_msg. A reply that @-mentions
    someone goes by webhook when the group has a key, since only that notifies for sure.
    An item with buttons is shown with a button_interaction card where WeCom takes one (the
    long connection's reply and aibot_send_msg; a response_url in a 1:1 chat), else as text.
    An item's picture (a chart) or forwarded attachment follows its text: by webhook, or on
    the long connection uploaded and sent as an image or file; in callback mode without a
    webhook the text goes alone. Inbound pictures and files are downloaded before handling.
    """

    name = PLATFORM
    rate_limited = True
    in_store = False
    sending = True  # False while another replica holds the long connection

    def __init__(self, app: Core, settings: WeComSettings | None = None) -> None:
        self.app = app
        self.settings = settings or WeComSettings.from_config(app.config.wecom)
        s = self.settings
        if s.mode not in (CALLBACK, WEBSOCKET):
            raise ConfigError('wecom.mode 应为 "callback" 或 "websocket"')
        self.http = WeComHttp(s.webhook_base)
        self.endpoint: CallbackEndpoint | None = None
        self.ws: LongConnection | None = None
        self.ws_send: WsSend | None = None
        self.presses = Presses(app, self._spawn)
        callback_key: bytes | None = None
        if s.mode == CALLBACK:
            if not s.token or not s.encoding_aes_key:
                raise ConfigError("企业微信回调模式需要配置 wecom.token 和 "
                                  "wecom.encoding_aes_key")
            try:
                crypto = WeComCrypto(s.token, s.encoding_aes_key)
            except CryptoError as exc:
                raise ConfigError(f"wecom.encoding_aes_key: {exc}") from None
            self.endpoint = CallbackEndpoint(crypto, app.clock.now, s.max_clock_skew_seconds,
                                             self.on_callback)
            callback_key = crypto.media_key
        else:
            if not s.bot_id or not s.secret:
                raise ConfigError("企业微信长连接模式需要配置 wecom.bot_id 和 wecom.secret")
            self.ws = LongConnection(s.ws_url, s.bot_id, s.secret, self.on_ws_message)
            # enter_chat: the welcome; template_card_event: the press and its card update
            self.ws.on_event = LongConnectionEvents(self.ws, self.presses.answer)
            self.ws_send = WsSend(self.ws, app.store, app.config.storage.path)
        # Replicas on one PostgreSQL database: WeCom keeps one long connection per bot, so
        # one process holds it (a lease); another takes over when that one dies.
        self.lease: Lease | None = None
        if self.ws is not None and app.store.db.kind == "postgresql":
            self.lease = Lease(app.store, app.lock, app.clock, f"wecom:{s.bot_id}",
                               app.holder)
            self.sending = False
        self.media_in = MediaIn(app.config.storage.path, callback_key)
        self._handles: dict[str, ReplyHandle] = {}  # msgid → how to answer it
        self._spent: set[str] = set()  # msgids whose reply channel is used up
        self._batches: dict[str, list[int]] = {}  # msgid → its reply items to its own chat
        self._item_msg: dict[int, str] = {}  # item id → the message whose handling queued it
        self._covered: dict[int, str] = {}  # item id → ref of the post that carried it
        self._progress: dict[int, int] = {}  # item id → pieces already posted
        self._chats: dict[str, tuple[str, str]] = {}  # msgid → (chat id, kind)
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def can_tell(self) -> bool:
        """Only the long connection can message a person (aibot_send_msg); URL callbacks can
        only answer."""
        return self.ws is not None

    def routes(self) -> list[web.RouteDef]:
        if self.endpoint is None:
            return []
        path = self.settings.callback_path
        return [web.get(path, self.endpoint.verify_url), web.post(path, self.endpoint.callback)]

    async def start(self) -> None:
        if self.ws is not None:
            if self.lease is None:
                self.ws.start()
            else:
                self.lease.keep(self._connect, self._disconnect)
            return
        hooks = self.settings.webhooks
        for chat in self.app.store.chats(PLATFORM):  # callback mode: groups need a webhook
            if chat["kind"] == ChatKind.GROUP.value and chat["chat_id"] not in hooks:
                log.warning("wecom group %s (%s) has no webhook key: reminders and reports "
                            "cannot reach it; add its group robot's key under [wecom.webhooks]",
                            chat["chat_id"], chat["title"] or "no title")

    async def _connect(self) -> None:
        """This replica took the lease: hold the long connection and send through it."""
        assert self.ws is not None
        self.ws.superseded = False
        self.ws.start()
        self.sending = True
        self.app.outbox.wake()

    async def _disconnect(self) -> None:
        """Another replica holds the lease now: let go of the connection."""
        assert self.ws is not None
        self.sending = False
        await self.ws.stop()

    async def stop(self) -> None:
        if self.lease is not None:
            await self.lease.release()
        if self.ws is not None:
            await self.ws.stop()
        await self.settle()
        await self.http.close()

    async def settle(self) -> None:
        """Wait until every message received so far has been handled (tests, shutdown)."""
        while self._tasks:
            await gather_quietly(set(self._tasks))

    # -- inbound ----------------------------------------------------------------------------

    async def on_callback(self, payload: dict[str, Any], nonce: str) -> dict[str, Any] | None:
        """A decrypted callback; returns a passive reply or None for an empty 200."""
        kind = payload.get("msgtype")
        if kind == "stream":  # a refresh poll: this bot never leaves a stream open
            stream = payload.get("stream")
            sid = stream.get("id") if isinstance(stream, dict) else ""
            sid = sid if isinstance(sid, str) and len(sid) <= MAX_STREAM_ID else ""
            return {"msgtype": "stream", "stream": {"id": sid, "finish": True, "content": ""}}
        if kind == "event":  # enter_chat: the welcome; a press: its card update; others: nothing
            if event_type(payload) == CARD_EVENT:
                return await self.presses.answer(payload)
            return callback_reply(payload)
        msg = to_incoming(payload, self.app.clock.now())
        if msg is None:
            log.info("wecom callback of type %.40r not handled", kind)
            return None
        self._spawn(msg, media_refs(payload))
        return None

    async def on_ws_message(self, body: dict[str, Any], req_id: str) -> None:
        msg = to_incoming(body, self.app.clock.now(), req_id=req_id)
        if msg is None:
            log.info("wecom long-connection callback of type %.40r not handled",
                     body.get("msgtype"))
            return
        self._spawn(msg, media_refs(body))

    def _spawn(self, msg: Incoming, media: list[MediaRef] | None = None
               ) -> asyncio.Task[None] | None:
        """Handle after answering; a retry of a message still in flight is dropped here,
        one already handled is dropped by app.handle's durable dedupe. The handling task
        (None for a dropped retry)."""
        if msg.msg_id in self._inflight:
            log.info("wecom retry of message %s while it is being handled", msg.msg_id)
            return None
        task = asyncio.create_task(self._handle(msg, media or []))
        self._inflight[msg.msg_id] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _handle(self, msg: Incoming, media: list[MediaRef]) -> None:
        try:
            if media:  # WeCom's download URLs live 5 minutes: fetch before anything else
                kept = await self.media_in.keep(media, msg.msg_id)
                voice = tuple(a for a in msg.attachments if a.kind == "voice" and not a.ref)
                msg = replace(msg, attachments=kept + voice)
            handle = ReplyHandle.decode(msg.reply_handle)
            if handle is not None:
                self._handles[msg.msg_id] = handle
                self._chats[msg.msg_id] = (msg.chat_id, msg.chat_kind.value)
            handled = await self.app.handle(msg)
            if not handled.duplicate:  # no await between here and app.handle's return
                self._batches[msg.msg_id] = self._batch(msg, handled.sent)
        except Exception:
            log.exception("wecom message %s could not be handled", msg.msg_id)
        finally:
            self._inflight.pop(msg.msg_id, None)
            self._prune()

    def _batch(self, msg: Incoming, sent: list[int]) -> list[int]:
        ids = []
        for item_id in sent:
            item = self.app.store.outbox_item(item_id)
            if (item is not None and item.platform == PLATFORM and item.chat_id == msg.chat_id
                    and not item.extra.get("to_user")):
                ids.append(item_id)
                self._item_msg[item_id] = msg.msg_id
        return ids

    def _prune(self) -> None:
        now = self.app.clock.now()
        for msgid, handle in list(self._handles.items()):
            if handle.expires_at is not None and handle.expires_at < now - timedelta(hours=1):
                self._handles.pop(msgid, None)
                for item_id in self._batches.pop(msgid, []):
                    self._item_msg.pop(item_id, None)
                self._spent.discard(msgid)
                self._chats.pop(msgid, None)

    # -- outbound ---------------------------------------------------------------------------

    async def send(self, item: OutboxItem) -> str:
        to_user = item.extra.get("to_user")
        ref = await self._send_text(item, to_user)
        if self.ws_send is not None and not ref.startswith("webhook:"):
            await self.ws_send.media.deliver(item, to_user or item.chat_id)  # after the text
        return ref

    async def _send_text(self, item: OutboxItem, to_user: str | None) -> str:
        if item.id in self._covered:  # already carried by an earlier post of its batch
            self._item_msg.pop(item.id, None)
            return self._covered.pop(item.id)
        key = None if to_user else self.settings.webhooks.get(item.chat_id)
        prefer_webhook = bool(item.mentions) and key is not None
        if not prefer_webhook:
            ref = await self._reply(item, to_user)
            if ref is not None:
                return ref
        if key is not None:
            return await self._webhook(item, key)
        if self.ws_send is not None:
            return await self.ws_send.send(item, to_user or item.chat_id)
        if to_user or item.chat_kind == ChatKind.SINGLE.value:
            log.error("wecom: cannot deliver 1:1 message (item %s) to user %s: in callback "
                      "mode the AI bot can only answer a 1:1 chat through the message's "
                      "response_url (unused, within 1 hour); use long-connection mode for "
                      "1:1 notices", item.id, to_user or item.chat_id)
            raise SendError("wecom: no way to reach this user 1:1 in callback mode",
                            permanent=True)
        log.error("wecom: no webhook key for group %s (item %s); add it under "
                  "[wecom.webhooks]", item.chat_id, item.id)
        raise SendError(f"wecom: no webhook key for group {item.chat_id}", permanent=True)

    def _reply_handle(self, item: OutboxItem, to_user: str | None) -> ReplyHandle | None:
        """The unused reply channel this item may take, if any."""
        if to_user:  # a 1:1 notice: the user's latest 1:1 message may still be answerable
            candidates = [h for h in self._handles.values()
                          if h.msgid not in self._spent
                          and self._chats.get(h.msgid) == (to_user, ChatKind.SINGLE.value)]
            handle = candidates[-1] if candidates else self._stored_handle(to_user, "single")
        elif item.id in self._item_msg or item.in_reply_to:
            msgid = self._item_msg.get(item.id) or item.in_reply_to or ""
            handle = self._handles.get(msgid)
            if handle is None:
                stored = self._stored_handle(item.chat_id, item.chat_kind)
                handle = stored if stored and stored.msgid == msgid else None
        else:
            return None
        if handle is None or handle.msgid in self._spent:
            return None
        now = self.app.clock.now()
        if self.ws is not None:
            received = handle.expires_at - RESPONSE_URL_LIFETIME if handle.expires_at else None
            fresh = received is None or now < received + WS_REPLY_WINDOW
            return handle if handle.req_id and fresh else None
        return handle if handle.usable(now) else None

    def _stored_handle(self, chat_id: str, kind: str) -> ReplyHandle | None:
        """After a restart: the chat's latest reply handle, remembered by app.handle."""
        for row in self.app.store.chats(PLATFORM):
            if row["chat_id"] == chat_id and row["kind"] == kind:
                return ReplyHandle.decode(row.get("reply_handle") or "")
        return None

    def _run(self, item: OutboxItem, handle: ReplyHandle) -> list[OutboxItem]:
        """This item and the later pending items of its batch that can share its post."""
        run = [item]
        batch = self._batches.get(handle.msgid, [])
        if item.id not in batch:
            return run
        for later_id in batch[batch.index(item.id) + 1:]:
            later = self.app.store.outbox_item(later_id)
            if later is None or later.state != "pending":
                continue
            if later.mentions and item.chat_id in self.settings.webhooks:
                break  # goes by webhook; keep the order
            run.append(later)
        return run

    async def _reply(self, item: OutboxItem, to_user: str | None) -> str | None:
        handle = self._reply_handle(item, to_user)
        if handle is None:
            return None
        run = self._run(item, handle)
        text = "\n\n".join(i.text for i in run)
        mentions = tuple(dict.fromkeys(m for i in run for m in i.mentions))
        self._spent.add(handle.msgid)  # single use: never try it twice
        try:
            if self.ws_send is not None:
                if not await self.ws_send.respond(handle.req_id, handle.msgid, run,
                                                  f"s{item.id}",
                                                  markdown_content(text, mentions)):
                    return None
                ref = f"respond:{handle.msgid}"
            else:
                await self._respond(handle, run, text, mentions)
                ref = f"response_url:{handle.msgid}"
        except ResponseUrlSpent as exc:
            log.warning("wecom reply to %s: %s; falling back", handle.msgid, exc)
            return None
        except SendError:
            self._spent.discard(handle.msgid)  # not delivered: the channel is still unused
            raise
        for other in run[1:]:
            self._covered[other.id] = ref
        return ref

    async def _respond(self, handle: ReplyHandle, run: list[OutboxItem], text: str,
                       mentions: tuple[str, ...]) -> None:
        """Answer through a response_url: a card when WeCom takes one there (a 1:1 chat,
        doc 主动回复消息 101138) and the card alone can carry the text, else markdown."""
        single = self._chats.get(handle.msgid, ("", run[0].chat_kind))[1] == "single"
        plan = card_plan(self.app.store, run, True) if single else None
        if plan is not None and plan.full:
            try:
                await self.http.respond_card(handle.response_url, plan.body)
                return
            except ResponseUrlSpent as exc:
                log.warning("wecom reply to %s: card refused (%s); sending text",
                            handle.msgid, exc)
        await self.http.respond(handle.response_url, text, mentions)

    async def _webhook(self, item: OutboxItem, key: str) -> str:
        progress = [self._progress.get(item.id, 0)]
        try:
            ref = await self.http.webhook(key, item.chat_id, item.text, item.mentions,
                                          start=progress[0], progress=progress,
                                          image=image_of(item.extra))
        except SendError:
            self._progress[item.id] = progress[0]
            raise
        self._progress.pop(item.id, None)
        return ref
