"""WeCom HTTP senders: group webhook posts and response_url replies, with errcode handling."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from typing import Any

import aiohttp

from bot.platforms.base import SendError
from bot.platforms.wecom_markdown import (
    ZWSP,
    as_markdown,
    as_text,
    mention_tags,
    mentionable,
    split_markdown,
)
from bot.platforms.wecom_payload import split_utf8

log = logging.getLogger(__name__)

TEXT_LIMIT = 2048  # bytes, webhook text
MARKDOWN_LIMIT = 4096  # bytes, webhook markdown
RESPONSE_LIMIT = 20480  # bytes, response_url / stream markdown
IMAGE_LIMIT = 2 * 1024 * 1024  # bytes of a webhook image before base64
RATE_LIMITED = 45009
TOO_LONG = 40058
BAD_TYPE = 40008
BAD_KEY = 93000
RATE_RETRY_SECONDS = 60.0


class ResponseUrlSpent(Exception):
    """The response_url was refused (used, expired or wrong type): fall back to another path."""


def webhook_bodies(text: str, mentions: tuple[str, ...], limit_scale: float = 1.0
                   ) -> list[dict[str, Any]]:
    """The webhook posts for one message: text with mentioned_list when someone is to be
    notified (the documented way to @ in a group), else markdown; split by UTF-8 bytes."""
    mentions = mentionable(mentions)
    if mentions:
        limit = max(64, int(TEXT_LIMIT * limit_scale))
        bodies: list[dict[str, Any]] = []
        for i, piece in enumerate(split_utf8(as_text(text), limit)):
            body: dict[str, Any] = {"content": piece}
            if i == 0:
                body["mentioned_list"] = list(mentions)
            bodies.append({"msgtype": "text", "text": body})
        return bodies
    limit = max(64, int(MARKDOWN_LIMIT * limit_scale))
    return [{"msgtype": "markdown", "markdown": {"content": piece}}
            for piece in split_markdown(as_markdown(text), limit)]


def image_body(png: bytes) -> dict[str, Any]:
    """A webhook image post: the picture as base64 and the MD5 of its bytes."""
    return {"msgtype": "image", "image": {
        "base64": base64.b64encode(png).decode("ascii"),
        "md5": hashlib.md5(png, usedforsecurity=False).hexdigest()}}


def response_body(text: str, mentions: tuple[str, ...]) -> dict[str, Any]:
    """One response_url post: markdown (the only type groups accept), mentions inline."""
    content = as_markdown(text)
    tags = mention_tags(mentions)
    if tags:
        content = f"{content}\n{tags}"
    return {"msgtype": "markdown", "markdown": {"content": one_reply(content)}}


CUT = "\n（内容过长，其余部分未能发出）"


def one_reply(content: str) -> str:
    """Markdown that fits the one reply WeCom allows (RESPONSE_LIMIT bytes); what is cut is
    said in the message and logged, never dropped silently."""
    pieces = split_markdown(content, RESPONSE_LIMIT - len(CUT.encode("utf-8")))
    if len(pieces) == 1:
        return pieces[0]
    log.warning("WeCom reply of %d bytes cut to one message of at most %d bytes",
                len(content.encode("utf-8")), RESPONSE_LIMIT)
    return pieces[0] + CUT


class WeComHttp:
    """Posts to WeCom over one aiohttp session; never logs webhook keys or URLs with keys."""

    def __init__(self, webhook_base: str, timeout: float = 10.0) -> None:
        self.webhook_base = webhook_base.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, url: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        try:
            async with self.session().post(url, json=body) as resp:
                if resp.status >= 500:
                    raise SendError(f"{what}: HTTP {resp.status}")
                if resp.status != 200:
                    raise SendError(f"{what}: HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SendError(f"{what}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise SendError(f"{what}: unexpected answer")
        return data

    async def webhook(self, key: str, chat_id: str, text: str, mentions: tuple[str, ...],
                      start: int = 0, progress: list[int] | None = None,
                      image: bytes | None = None) -> str:
        """Post one message to a group webhook, split as needed, then its `image` (a PNG) if
        any. `start` skips pieces a previous attempt already delivered; `progress` gets the
        count delivered so far."""
        url = f"{self.webhook_base}/cgi-bin/webhook/send?key={key}"
        what = f"webhook for chat {chat_id}"
        scale = 1.0
        tail: list[dict[str, Any]] = []
        if image is not None and len(image) > IMAGE_LIMIT:
            log.warning("%s: image of %d bytes is over the 2 MB limit; sending the text only",
                        what, len(image))
        elif image is not None:
            tail = [image_body(image)]
        bodies = webhook_bodies(text, mentions, scale) + tail
        done = start
        while done < len(bodies):
            data = await self._post(url, bodies[done], what)
            code = data.get("errcode", 0)
            if code == 0:
                done += 1
                if progress is not None:
                    progress[:] = [done]
                continue
            is_image = bodies[done]["msgtype"] == "image"
            if code == TOO_LONG and scale > 0.2 and not is_image:
                # WeCom counts differently than we do: cut the rest smaller and go on.
                scale /= 2
                texts = [b for b in bodies[done:] if b["msgtype"] != "image"]
                rest = webhook_bodies(_joined(texts), mentions if done == 0 else (), scale)
                bodies = bodies[:done] + rest + tail
                log.warning("%s: message too long (40058), splitting smaller", what)
                continue
            if is_image and code not in (RATE_LIMITED, BAD_KEY):
                # The text is out; a refused picture is not worth failing the message for.
                log.warning("%s: image refused (errcode %s); the text was sent", what, code)
                done += 1
                continue
            if code == RATE_LIMITED:
                raise SendError(f"{what}: rate limited (45009)", retry_after=RATE_RETRY_SECONDS)
            if code == BAD_KEY:
                raise SendError(f"{what}: webhook key refused (93000); check [wecom.webhooks]",
                                permanent=True)
            if code == BAD_TYPE:
                raise SendError(f"{what}: message type refused (40008)", permanent=True)
            raise SendError(f"{what}: errcode {code}")
        return f"webhook:{chat_id}:{len(bodies)}"

    async def respond(self, url: str, text: str, mentions: tuple[str, ...]) -> None:
        """One POST to a response_url; ResponseUrlSpent when WeCom refuses it."""
        await self._respond(url, response_body(text, mentions))

    async def respond_card(self, url: str, card: dict[str, Any]) -> None:
        """A template card through a response_url (1:1 chats only, doc 101138)."""
        await self._respond(url, {"msgtype": "template_card", "template_card": card})

    async def _respond(self, url: str, body: dict[str, Any]) -> None:
        data = await self._post(url, body, "response_url")
        code = data.get("errcode", 0)
        if code != 0:
            raise ResponseUrlSpent(f"response_url refused: errcode {code}")


def _joined(bodies: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for body in bodies:
        part = body.get(body["msgtype"], {})
        parts.append(str(part.get("content", "")))
    return "".join(parts).replace(ZWSP, "")


async def gather_quietly(tasks: set[asyncio.Task[Any]]) -> None:
    """Await background tasks, logging (not raising) their failures."""
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            log.error("wecom background task failed: %r", result)
