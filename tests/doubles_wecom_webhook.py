"""The WeCom double's group robot webhooks: text, markdown and image posts, limits and errcodes.

Doc 群机器人配置说明 (developer.work.weixin.qq.com/document/path/91770): text (≤ 2048 bytes,
mentioned_list), markdown (≤ 4096 bytes), image (base64 + md5 of a JPG or PNG of at most 2 MB);
20 posts a minute per robot; errcodes 93000 bad key, 40058 too long, 40008 bad type, 45009
rate limit. A webhook takes no button_interaction card (that needs the AI bot's callback)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any, Protocol

from aiohttp import web

WEBHOOK_PER_MINUTE = 20
TEXT_LIMIT, MARKDOWN_LIMIT = 2048, 4096
TOO_LONG, RATE_LIMITED, BAD_KEY, BAD_TYPE = 40058, 45009, 93000, 40008
BAD_IMAGE = 40009  # assumed code for an image that is not valid base64, or md5 or size is wrong
IMAGE_LIMIT = 2 * 1024 * 1024  # bytes of a webhook image before base64


class _Clock(Protocol):
    def now(self) -> float: ...


class WebhookSide:
    """The webhook endpoint of WeComDouble (which supplies the keys, clock and post log)."""

    clock: _Clock
    webhook_keys: dict[str, str]
    fail_next: list[int]
    text_limit: int
    markdown_limit: int
    _sent_at: dict[str, list[float]]

    def _accept(self, via: str, target: str, body: dict[str, Any]) -> web.Response:
        raise NotImplementedError

    def _refuse(self, via: str, target: str, body: dict[str, Any], code: int) -> web.Response:
        raise NotImplementedError

    # -- webhook ----------------------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        status = self.fail_next.pop(0) if self.fail_next else 0
        if status:  # 0 lets this post through
            return web.Response(status=status, text="busy")
        key = request.query.get("key", "")
        body = await json_body(request)
        chat = self.webhook_keys.get(key)
        if chat is None:
            return self._refuse("webhook", key[:4] + "…", body, BAD_KEY)
        now = self.clock.now()
        recent = [t for t in self._sent_at.get(key, []) if t > now - 60]
        if len(recent) >= WEBHOOK_PER_MINUTE:
            return self._refuse("webhook", chat, body, RATE_LIMITED)
        kind = body.get("msgtype")
        part = body.get(kind) if isinstance(kind, str) else None
        if kind not in ("text", "markdown", "image") or not isinstance(part, dict):
            return self._refuse("webhook", chat, body, BAD_TYPE)
        if kind == "image":
            if not valid_image(part):
                return self._refuse("webhook", chat, body, BAD_IMAGE)
            self._sent_at[key] = [*recent, now]
            return self._accept("webhook", chat, body)
        limit = self.text_limit if kind == "text" else self.markdown_limit
        if len(str(part.get("content", "")).encode("utf-8")) > limit:
            return self._refuse("webhook", chat, body, TOO_LONG)
        self._sent_at[key] = [*recent, now]
        return self._accept("webhook", chat, body)


def valid_image(part: dict[str, Any]) -> bool:
    """An image post as WeCom takes it: base64 of a JPG or PNG of at most 2 MB, with the
    MD5 (hex) of the bytes before base64."""
    try:
        raw = base64.b64decode(str(part.get("base64", "")), validate=True)
    except (binascii.Error, ValueError):
        return False
    picture = raw.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"))
    md5 = hashlib.md5(raw, usedforsecurity=False).hexdigest()
    return picture and 0 < len(raw) <= IMAGE_LIMIT and part.get("md5") == md5


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}
