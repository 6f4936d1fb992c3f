"""WeCom URL-callback endpoint: URL verification (GET) and encrypted callbacks (POST)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from bot.platforms.stamps import plain_stamp
from bot.platforms.wecom_crypto import CryptoError, WeComCrypto
from bot.web.jsonbody import BadRequest, parse_json

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024
_SIGNATURE = re.compile(r"[0-9a-fA-F]{40}")  # SHA-1, hex
_NONCE = re.compile(r"[!-~]{1,128}")  # printable ASCII (WeCom sends digits)
OnPayload = Callable[[dict[str, Any], str], Awaitable[dict[str, Any] | None]]


def raw_query(request: web.Request) -> dict[str, str]:
    """Query parameters percent-decoded without turning '+' into a space (aiohttp's
    request.query does, which breaks base64 echostr values sent unescaped)."""
    params: dict[str, str] = {}
    for pair in request.query_string.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        params.setdefault(unquote(name), unquote(value))
    return params


def _reject(status: int, reason: str, request: web.Request) -> web.Response:
    log.warning("wecom callback %s %s rejected: %s", request.method, request.path, reason)
    return web.Response(status=status, text=reason)


class CallbackEndpoint:
    """Verifies and decrypts callbacks, then hands the payload to `on_payload`, whose
    optional answer (a passive reply) is encrypted back with the callback's nonce."""

    def __init__(self, crypto: WeComCrypto, now: Callable[[], datetime], max_skew: float,
                 on_payload: OnPayload) -> None:
        self.crypto = crypto
        self.now = now
        self.max_skew = max_skew
        self.on_payload = on_payload

    def _check(self, request: web.Request, params: dict[str, str], *names: str
               ) -> web.Response | None:
        for name in ("msg_signature", "timestamp", "nonce", *names):
            if not params.get(name):
                return _reject(400, f"missing {name}", request)
        if not plain_stamp(params["timestamp"]):
            return _reject(400, "bad timestamp", request)
        if not _NONCE.fullmatch(params["nonce"]):
            return _reject(400, "bad nonce", request)
        if abs(self.now().timestamp() - int(params["timestamp"])) > self.max_skew:
            return _reject(403, "timestamp too far from now", request)
        if not _SIGNATURE.fullmatch(params["msg_signature"]):
            return _reject(403, "bad signature", request)
        return None

    async def verify_url(self, request: web.Request) -> web.Response:
        """GET: echo the decrypted echostr, as WeCom's URL check expects (within 1 s)."""
        params = raw_query(request)
        problem = self._check(request, params, "echostr")
        if problem:
            return problem
        echostr = params["echostr"].replace(" ", "+")  # a raw '+' may have become a space
        try:
            self.crypto.verify(params["msg_signature"], params["timestamp"], params["nonce"],
                               echostr)
        except CryptoError:
            return _reject(403, "bad signature", request)
        try:
            plain = self.crypto.decrypt(echostr)
        except CryptoError as exc:
            return _reject(400, f"cannot decrypt: {exc}", request)
        log.info("wecom callback URL verified")
        return web.Response(text=plain, content_type="text/plain")

    async def callback(self, request: web.Request) -> web.Response:
        """POST: an encrypted message or stream refresh; answered at once."""
        params = raw_query(request)
        problem = self._check(request, params)
        if problem:
            return problem
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _reject(413, "body too large", request)
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            return _reject(413, "body too large", request)
        try:
            body = parse_json(raw)
        except BadRequest as exc:
            return _reject(exc.status, f"body: {exc.message}", request)
        encrypt = body.get("encrypt") if isinstance(body, dict) else None
        if not isinstance(encrypt, str) or not encrypt:
            return _reject(400, 'body must be {"encrypt": "…"}', request)
        try:
            self.crypto.verify(params["msg_signature"], params["timestamp"], params["nonce"],
                               encrypt)
        except CryptoError:
            return _reject(403, "bad signature", request)
        try:
            payload = parse_json(self.crypto.decrypt(encrypt))
        except CryptoError as exc:
            return _reject(400, f"cannot decrypt: {exc}", request)
        except BadRequest as exc:
            return _reject(exc.status, f"decrypted message: {exc.message}", request)
        if not isinstance(payload, dict):
            return _reject(400, "decrypted message is not a JSON object", request)
        answer = await self.on_payload(payload, params["nonce"])
        if answer is None:
            return web.Response(status=200, text="")
        sealed = self.crypto.seal(json.dumps(answer, ensure_ascii=False),
                                  str(int(self.now().timestamp())), params["nonce"])
        return web.json_response(sealed)
