"""The built-in local chat: the HTTP API of the Contracts, backed by the bot's own database."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from aiohttp import web

from bot.charts import image_of
from bot.core import Core
from bot.group_commit import StorageUnavailable
from bot.model import ChatKind, Incoming, Outgoing
from bot.web.jsonbody import BadRequest, read_json
from bot.web.responses import json_response
from storage.db import DB_ERRORS
from storage.records import OutboxItem
from storage.store import Store

MAX_TEXT = 20_000
MAX_NAME = 200  # chat, sender and message ids, and display names
BOT_ID = "bot"
MAX_ID = 2**63 - 1  # SQLite's integer range: a larger id names no message
MESSAGE_ID = re.compile(r"[0-9]{1,19}")  # ASCII digits only ("²³".isdigit() is true)
log = logging.getLogger(__name__)


def dm_chat(user_id: str) -> str:
    """The local chat id of a user's 1:1 chat with the bot."""
    return f"dm-{user_id}"


class LocalPlatform:
    """Messages posted to /api/local/messages; the bot's answers land in the same log."""

    name = "local"
    rate_limited = False
    in_store = True
    sending = True
    can_tell = True

    def __init__(self, app: Core) -> None:
        self.app = app
        self.store: Store = app.store

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, item: OutboxItem) -> str:
        """An outbox item (queued by a job, or when writing at once failed) as a chat row."""
        return self._row(item.extra.get("to_user"), item.chat_id, item.chat_kind, item.text,
                         item.mentions, item.extra)

    def write(self, out: Outgoing) -> str:
        """A reply, written in the transaction that handles its message (no outbox row)."""
        return self._row(out.to_user, out.chat_id, out.chat_kind.value, out.text, out.mentions,
                         out.extra)

    def _row(self, to_user: str | None, chat_id: str, kind: str, text: str,
             mentions: tuple[str, ...], extra: dict[str, str]) -> str:
        local_id = self.store.add_local_message(
            dm_chat(to_user) if to_user else chat_id, "single" if to_user else kind, BOT_ID,
            self.app.config.bot.name, text, mentions=mentions, from_bot=True,
            image=image_of(extra),
        )
        return str(local_id)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/local/messages", self.post_message),
            web.get("/api/local/messages", self.get_messages),
            web.get(r"/api/local/images/{id:\d{1,18}}.png", self.get_image),
        ]

    async def post_message(self, request: web.Request) -> web.Response:
        try:
            body = await read_json(request)
        except BadRequest as exc:
            log.warning("local API: refused a message: %s", exc.message)
            return _error(exc.status, exc.message)
        problem = _check(body)
        if problem:
            log.warning("local API: refused a message: %s", problem)
            return _error(400, problem)
        chat: str = body["chat"]
        sender: str = body["sender"]
        text: str = body["text"]
        kind = ChatKind(body.get("chat_type", "group"))
        name: str = body.get("sender_name") or sender
        at_bot = kind is ChatKind.SINGLE or bool(body.get("at_bot", True))
        msg_id: str = body.get("msg_id") or uuid.uuid4().hex
        quote: int | None = body.get("quote")

        existing = self.store.local_id_for(msg_id)
        if existing is not None:  # durable before it is answered (it may await a commit)
            await self.app.batch.settled()
            existing = self.store.local_id_for(msg_id)
        if existing is not None:
            return json_response({"id": existing, "replies": []})

        def record(store: Store) -> str:
            return str(store.add_local_message(
                chat, kind.value, sender, name, text, at_bot=at_bot, quote=quote, msg_id=msg_id,
            ))

        if not at_bot:  # shown in the group, but the bot is not told (as on real platforms)
            try:
                async with self.app.lock, self.store.turn():
                    existing = self.store.local_id_for(msg_id)
                    local_id = existing if existing is not None else int(record(self.store))
            except DB_ERRORS as exc:
                return _error(503, f"storage unavailable: {exc}")
            return json_response({"id": local_id, "replies": []})

        quoted = self.store.local_message(quote) if quote is not None else None
        msg = Incoming(
            platform=self.name, msg_id=msg_id, chat_id=chat, chat_kind=kind, sender_id=sender,
            sender_name=name, text=text[:MAX_TEXT], at_bot=True,
            quote_id=str(quote) if quote is not None else None,
            quote_text=quoted["text"] if quoted else "",
        )
        try:
            handled = await self.app.handle(msg, record)
        except StorageUnavailable as exc:  # not acknowledged: the sender may post it again
            return _error(503, f"storage unavailable: {exc}")
        if handled.duplicate:
            return json_response({"id": int(handled.ref), "replies": []})
        replies = [_reply(out, int(ref)) for out, ref in handled.written]
        return json_response({"id": int(handled.ref), "replies": replies})

    async def get_messages(self, request: web.Request) -> web.Response:
        chat = request.query.get("chat")
        if not chat:
            return _error(400, "query parameter chat is required")
        after_text = request.query.get("after", "0")
        if not MESSAGE_ID.fullmatch(after_text) or int(after_text) > MAX_ID:
            return _error(400, "after must be a message id (0 or a positive integer)")
        after = int(after_text)
        rows = self.store.local_messages(chat, after)
        for row in rows:
            row["image"] = image_url(row["id"], row.pop("has_image"))
        return json_response({"messages": rows})

    async def get_image(self, request: web.Request) -> web.Response:
        png = self.store.local_image(int(request.match_info["id"]))
        if png is None:
            return _error(404, "no image for this message")
        return web.Response(body=png, content_type="image/png",
                            headers={"Cache-Control": "private, max-age=86400",
                                     "X-Content-Type-Options": "nosniff"})


def _reply(out: Outgoing, local_id: int) -> dict[str, Any]:
    """A reply as the API returns it: the same as its row in the chat log."""
    return {"id": local_id, "chat": dm_chat(out.to_user) if out.to_user else out.chat_id,
            "text": out.text, "mentions": list(out.mentions),
            "image": image_url(local_id, image_of(out.extra) is not None)}


def image_url(local_id: int, has_image: bool) -> str | None:
    """The same-origin path of a message's image, or None when it has none."""
    return f"/api/local/images/{local_id}.png" if has_image else None


def _check(body: Any) -> str:
    """What is wrong with a posted message, or "" when it is well formed."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    for key in ("chat", "sender", "text"):
        if not isinstance(body.get(key), str):
            return f"{key} is required and must be a string"
    if not body["chat"].strip() or not body["sender"].strip():
        return "chat and sender must not be empty"
    for key in ("chat", "sender", "sender_name", "msg_id"):
        if isinstance(body.get(key), str) and len(body[key]) > MAX_NAME:
            return f"{key} is longer than {MAX_NAME} characters"
    if body.get("chat_type", "group") not in ("group", "single"):
        return 'chat_type must be "group" or "single"'
    types = {"sender_name": str, "at_bot": bool, "quote": int, "msg_id": str}
    for key, typ in types.items():
        value = body.get(key)
        if value is not None and (not isinstance(value, typ) or (isinstance(value, bool)
                                  and typ is int)):
            return f"{key} must be a {typ.__name__}"
    quote = body.get("quote")
    if quote is not None and not 0 < quote <= MAX_ID:
        return "quote must be the id of a message"
    if len(body["text"]) > MAX_TEXT:
        return f"text is longer than {MAX_TEXT} characters"
    return ""


def _error(status: int, message: str) -> web.Response:
    return json_response({"error": message}, status=status)
