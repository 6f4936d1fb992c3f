"""DingTalk's HTTP APIs with aiohttp: the access token, OpenAPI calls, media upload and download."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from bot.model import Clock
from bot.platforms.base import SendError
from bot.platforms.stamps import plain_int

log = logging.getLogger(__name__)

TOKEN_PATH = "/v1.0/oauth2/accessToken"
UPLOAD_PATH = "/media/upload"  # on the old API host (oapi), token in the query
TOKEN_HEADER = "x-acs-dingtalk-access-token"
THROTTLE_CODES = frozenset({130101, 660026, 410100})  # "too many messages": throttled ~10 min
OAPI_TOKEN_CODES = frozenset({40014, 42001})  # oapi: token invalid / expired (unverified)
THROTTLE_SECONDS = 600.0
QPS_RETRY_SECONDS = 2.0
TOKEN_EARLY = timedelta(minutes=5)  # refresh the token this long before it expires
TIMEOUT_SECONDS = 10.0
OAPI_HOST = "oapi.dingtalk.com"
PERMISSION_DENIED = "Forbidden.AccessDenied.AccessTokenPermissionDenied"


class ApiError(SendError):
    """A refused OpenAPI call, with what DingTalk answered (for callers that look closer)."""

    def __init__(self, message: str, status: int, data: dict[str, Any], *,
                 retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message, retry_after=retry_after, permanent=permanent)
        self.status = status
        self.data = data

    @property
    def missing_scopes(self) -> list[str]:
        """The permissions DingTalk says the app lacks (accessdenieddetail.requiredScopes of a
        403 Forbidden.AccessDenied.AccessTokenPermissionDenied), [] for other refusals."""
        if code_of(self.data) != PERMISSION_DENIED:
            return []
        detail = self.data.get("accessdenieddetail")
        scopes = detail.get("requiredScopes") if isinstance(detail, dict) else None
        found = [s for s in scopes if isinstance(s, str)][:5] if isinstance(scopes, list) else []
        return [s[:60] for s in found] or ["?"]


def oapi_base(api_base: str) -> str:
    """The old API host for `api_base`: oapi.dingtalk.com for DingTalk's own API host, the
    same host otherwise (a stand-in serves both)."""
    parts = urlsplit(api_base)
    if parts.hostname == "api.dingtalk.com":
        return urlunsplit((parts.scheme, OAPI_HOST, "", "", ""))
    return api_base.rstrip("/")


class DingTalkApi:
    """One HTTP session, the cached access token, and DingTalk's calls; failures raise
    SendError (transient unless no retry can fix them)."""

    def __init__(self, *, api_base: str, client_id: str, client_secret: str, clock: Clock,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self.api_base = api_base.rstrip("/")
        self.oapi_base = oapi_base(self.api_base)
        self.client_id = client_id
        self._secret = client_secret
        self.clock = clock
        self.timeout = timeout
        self._http: aiohttp.ClientSession | None = None
        self._token = ""
        self._token_until: datetime | None = None
        self._token_lock = asyncio.Lock()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._http

    # -- OpenAPI ----------------------------------------------------------------------------

    async def openapi(self, path: str, body: dict[str, Any],
                      method: str = "POST") -> dict[str, Any]:
        """Call an OpenAPI with the token, refreshing it once on an authentication error."""
        refused = ""
        for attempt in (1, 2):
            token = await self.access_token(stale=refused)
            status, data = await self.request(method, self.api_base + path, body,
                                              {TOKEN_HEADER: token}, path)
            if status == 200 and errcode_of(data) in (None, 0):
                return data
            if attempt == 1 and auth_error(status, data):
                log.info("DingTalk token refused on %s; refreshing it", path)
                refused = token
                continue
            raise api_error(path, status, data)
        raise AssertionError("unreachable")  # pragma: no cover

    async def access_token(self, stale: str = "") -> str:
        """The cached token, fetched again when it is near expiry or equals `stale`."""
        async with self._token_lock:
            now = self.clock.now()
            fresh = self._token_until is not None and now < self._token_until
            if self._token and fresh and self._token != stale:
                return self._token
            status, data = await self.request(
                "POST", self.api_base + TOKEN_PATH,
                {"appKey": self.client_id, "appSecret": self._secret}, {}, TOKEN_PATH)
            token = data.get("accessToken")
            if status != 200 or not isinstance(token, str) or not token:
                raise SendError(f"DingTalk access token: HTTP {status} {code_of(data)}".rstrip())
            expire_in = data.get("expireIn")
            seconds = expire_in if isinstance(expire_in, int) and expire_in > 0 else 7200
            self._token = token
            self._token_until = now + timedelta(seconds=seconds) - TOKEN_EARLY
            log.info("DingTalk access token obtained (valid %s s)", seconds)
            return token

    # -- media ------------------------------------------------------------------------------

    async def upload(self, kind: str, name: str, data: bytes, mime: str) -> str:
        """Upload a media file (multipart field `media`, form field `type`, token in the
        query, on the oapi host: dingtalk-stream 0.24.3 stream.py upload_to_dingtalk); its
        media_id."""
        refused = ""
        for attempt in (1, 2):
            token = await self.access_token(stale=refused)
            form = aiohttp.FormData()
            form.add_field("type", kind)
            form.add_field("media", data, filename=name, content_type=mime)
            try:
                async with self.http().post(self.oapi_base + UPLOAD_PATH,
                                            params={"access_token": token},
                                            data=form) as resp:
                    status, raw = resp.status, await resp.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise SendError(f"{UPLOAD_PATH}: {type(exc).__name__}") from None
            answer = _json_object(raw)
            media_id = answer.get("media_id")
            if status == 200 and errcode_of(answer) in (None, 0) and isinstance(media_id, str) \
                    and media_id:
                return media_id
            if attempt == 1 and (auth_error(status, answer)
                                 or errcode_of(answer) in OAPI_TOKEN_CODES):
                refused = token
                continue
            raise api_error(UPLOAD_PATH, status, answer)
        raise AssertionError("unreachable")  # pragma: no cover

    async def fetch(self, url: str, limit: int) -> bytes:
        """GET a temporary download link; at most `limit` bytes (ValueError past that)."""
        if urlsplit(url).scheme not in ("https", "http"):
            raise ValueError("not an http(s) link")
        chunks: list[bytes] = []
        try:
            async with self.http().get(url) as resp:
                if resp.status != 200:
                    raise ValueError(f"HTTP {resp.status}")
                if (resp.content_length or 0) > limit:
                    raise ValueError(f"larger than {limit} bytes")
                size = 0
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise ValueError(f"larger than {limit} bytes")
                    chunks.append(chunk)
        except aiohttp.ClientError as exc:
            raise ValueError(type(exc).__name__) from None
        return b"".join(chunks)

    # -- HTTP -------------------------------------------------------------------------------

    async def request(self, method: str, url: str, body: dict[str, Any],
                      headers: dict[str, str], what: str) -> tuple[int, dict[str, Any]]:
        """Send JSON; the status and the JSON object answered ({} when there is none).
        Network failures and timeouts become transient SendErrors. `what` names the call in
        errors and logs instead of the URL, which may hold a secret."""
        try:
            async with self.http().request(method, url, json=body, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"{what}: {type(exc).__name__}") from None
        return status, _json_object(raw)


def api_error(path: str, status: int, data: dict[str, Any]) -> ApiError:
    """The error for a failed call, transient unless no retry can fix it."""
    code, errcode = code_of(data), errcode_of(data)
    what = f"{path}: HTTP {status} {code or errcode or ''}".rstrip()
    if errcode in THROTTLE_CODES:
        return ApiError(f"{what} (rate limited)", status, data, retry_after=THROTTLE_SECONDS)
    if status == 429 or "qpslimit" in code.lower() or "throttl" in code.lower():
        return ApiError(f"{what} (QPS limit)", status, data, retry_after=QPS_RETRY_SECONDS)
    if status == 200 and isinstance(errcode, int) and 40000 <= errcode < 41000 \
            and errcode not in OAPI_TOKEN_CODES:
        # The oapi's "invalid request" codes (40004 media type, 40005 file type, 40006 file
        # size …) answer a request that stays wrong: retrying cannot help.
        return ApiError(what, status, data, permanent=True)
    if status >= 500 or status == 200 or auth_error(status, data):
        return ApiError(what, status, data)  # server trouble, or refused after a fresh token
    # A malformed request or unknown target stays wrong; anything else (e.g. a permission the
    # admin has yet to grant) is retried, so nothing is lost once it is fixed.
    return ApiError(what, status, data, permanent=status in (400, 404))


def auth_error(status: int, data: dict[str, Any]) -> bool:
    """Whether DingTalk refused the access token (bad, expired or missing): HTTP 400/401."""
    if status not in (400, 401):
        return False
    text = f"{code_of(data)} {data.get('message', '')}".lower().replace("-", "").replace("_", "")
    return "authentication" in text or "accesstoken" in text or "token" in code_of(data).lower()


def code_of(data: dict[str, Any]) -> str:
    code = data.get("code")
    return code if isinstance(code, str) else ""


def errcode_of(data: dict[str, Any]) -> int | None:
    return plain_int(data.get("errcode"))  # "²³".isdigit() is True, but int("²³") raises


def _json_object(raw: bytes) -> dict[str, Any]:
    with contextlib.suppress(json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        data = json.loads(raw or b"{}")
        return data if isinstance(data, dict) else {}
    return {}
