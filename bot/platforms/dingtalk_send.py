"""DingTalk sending with aiohttp: session webhook replies, OpenAPI group and 1:1 sends, token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.model import Clock
from bot.platforms.base import SendError
from bot.platforms.dingtalk_inbound import ReplyHandle
from bot.platforms.stamps import plain_int
from storage.records import OutboxItem

log = logging.getLogger(__name__)

TOKEN_PATH = "/v1.0/oauth2/accessToken"
GROUP_PATH = "/v1.0/robot/groupMessages/send"
ONE_TO_ONE_PATH = "/v1.0/robot/oToMessages/batchSend"
TOKEN_HEADER = "x-acs-dingtalk-access-token"

SESSION_EXPIRED = 300001
THROTTLE_CODES = frozenset({130101, 660026, 410100})  # "too many messages": throttled ~10 min
THROTTLE_SECONDS = 600.0
QPS_RETRY_SECONDS = 2.0
TOKEN_EARLY = timedelta(minutes=5)  # refresh the token this long before it expires
WEBHOOK_MARGIN_SECONDS = 60.0  # a session webhook this close to its expiry is not used
WEBHOOK_HOSTS = frozenset({"oapi.dingtalk.com", "api.dingtalk.com"})
TIMEOUT_SECONDS = 10.0
MENTION_COPY = "【群消息，与您有关】\n{text}"


def with_mentions(text: str, mentions: tuple[str, ...]) -> str:
    """The text with `@<staffId>` for every mention it does not already hold (DingTalk only
    notifies a user whose @id is both in the text and in atUserIds)."""
    missing = [f"@{m}" for m in dict.fromkeys(mentions) if f"@{m}" not in text]
    return f"{text}\n{' '.join(missing)}" if missing else text


def webhook_body(item: OutboxItem) -> dict[str, Any]:
    """The JSON a session webhook takes for one outbox item."""
    users = list(dict.fromkeys(item.mentions))
    content = with_mentions(item.text, item.mentions)
    at = {"atUserIds": users, "isAtAll": False}
    if item.extra.get("format") == "markdown":
        return {"msgtype": "markdown", "markdown": {"title": _title(item.text), "text": content},
                "at": at}
    return {"msgtype": "text", "text": {"content": content}, "at": at}


def message_param(item: OutboxItem) -> tuple[str, str]:
    """The OpenAPI (msgKey, msgParam) pair for one outbox item (the OpenAPI cannot @)."""
    if item.extra.get("format") == "markdown":
        param = {"title": _title(item.text), "text": item.text}
        return "sampleMarkdown", json.dumps(param, ensure_ascii=False)
    return "sampleText", json.dumps({"content": item.text}, ensure_ascii=False)


class DingTalkSender:
    """Delivers outbox items to DingTalk; raises SendError on failures the outbox retries."""

    def __init__(self, *, api_base: str, client_id: str, client_secret: str, robot_code: str,
                 clock: Clock, handle_for: Callable[[str], ReplyHandle],
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self.api_base = api_base.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.robot_code = robot_code or client_id
        self.clock = clock
        self.handle_for = handle_for
        self.timeout = timeout
        # Session webhooks are only posted to DingTalk's hosts (or the configured API host, for
        # a stand-in): an HTTP callback's sign does not cover its body, so a URL in it is data.
        self.webhook_hosts = WEBHOOK_HOSTS | {urlsplit(self.api_base).hostname or ""}
        self._http: aiohttp.ClientSession | None = None
        self._token = ""
        self._token_until: datetime | None = None
        self._token_lock = asyncio.Lock()
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    async def close(self, grace: float = 2.0) -> None:
        """Let sends under way finish (a send cut off midway might be delivered and then sent
        again after a restart), refuse new ones, and close the HTTP session."""
        self._closed = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace)
        if self._http is not None:
            await self._http.close()
            self._http = None

    def reopen(self) -> None:
        """Accept sends again after close() (tests reuse one sender)."""
        self._closed = False

    async def send(self, item: OutboxItem) -> str:
        """Send one item: a 1:1 message, a reply through the live session webhook (the only way
        to @ someone), or else an OpenAPI send to the group or the 1:1 chat."""
        if self._closed:
            raise SendError("DingTalk sender is stopping")
        self._inflight += 1
        self._idle.clear()
        try:
            return await self._send(item)
        finally:
            self._inflight -= 1
            if not self._inflight:
                self._idle.set()

    async def _send(self, item: OutboxItem) -> str:
        to_user = item.extra.get("to_user")
        if to_user:
            return await self._to_users([to_user], item, self.robot_code)
        handle = self.handle_for(item.chat_id)
        robot = handle.robot_code or self.robot_code
        wants_webhook = item.in_reply_to is not None or bool(item.mentions)
        if (wants_webhook and handle.live(self.clock.now(), WEBHOOK_MARGIN_SECONDS)
                and self._trusted(handle.webhook, item)):
            ref = await self._webhook(handle.webhook, item)
            if ref is not None:
                return ref
        if item.chat_kind == "single":
            if not handle.user:
                raise SendError(f"no DingTalk user known for 1:1 chat {item.chat_id}",
                                permanent=True)
            return await self._to_users([handle.user], item, robot)
        ref = await self._group(item, robot)
        if item.mentions:
            await self._mention_copies(item, robot)
        return ref

    async def _mention_copies(self, item: OutboxItem, robot: str) -> None:
        """The group API cannot @ anyone: once the session webhook is gone, the people a post
        @-mentions get it 1:1 as well (the group post has gone out: a failure here is logged,
        never retried, so the group never sees it twice)."""
        copy = replace(item, text=MENTION_COPY.format(text=item.text), mentions=())
        try:
            await self._to_users(list(item.mentions), copy, robot)
        except SendError as exc:
            log.warning("outbox item %s: group post sent, but its 1:1 copies to the people "
                        "it @-mentions failed: %s", item.id, exc)

    # -- session webhook --------------------------------------------------------------------

    def _trusted(self, url: str, item: OutboxItem) -> bool:
        parts = urlsplit(url)
        if parts.scheme in ("https", "http") and parts.hostname in self.webhook_hosts:
            return True
        log.warning("outbox item %s: session webhook on an unexpected host %s; using the OpenAPI",
                    item.id, parts.hostname)
        return False

    async def _webhook(self, url: str, item: OutboxItem) -> str | None:
        """Post through the session webhook; None when it refused (expired), so the caller
        falls back to the OpenAPI."""
        status, data = await self._post(url, webhook_body(item), {}, "session webhook")
        if status >= 500:
            raise SendError(f"session webhook: HTTP {status}")
        code = _errcode(data)
        if status == 200 and code == 0:
            return f"webhook:{item.id}"
        if code in THROTTLE_CODES:
            raise SendError(f"session webhook: rate limited ({code})", retry_after=THROTTLE_SECONDS)
        if code == SESSION_EXPIRED:
            log.info("outbox item %s: session webhook expired; using the OpenAPI", item.id)
        else:
            log.warning("outbox item %s: session webhook refused (HTTP %s, errcode %s); "
                        "using the OpenAPI", item.id, status, code)
        return None

    # -- OpenAPI ----------------------------------------------------------------------------

    async def _group(self, item: OutboxItem, robot: str) -> str:
        key, param = message_param(item)
        data = await self._openapi(GROUP_PATH, {
            "robotCode": robot, "openConversationId": item.chat_id,
            "msgKey": key, "msgParam": param,
        })
        return _ref(data, item)

    async def _to_users(self, users: list[str], item: OutboxItem, robot: str) -> str:
        key, param = message_param(item)
        data = await self._openapi(ONE_TO_ONE_PATH, {
            "robotCode": robot, "userIds": users[:20], "msgKey": key, "msgParam": param,
        })
        if _listed(data, "flowControlledStaffIdList", users):
            raise SendError("1:1 send: user is flow controlled", retry_after=THROTTLE_SECONDS)
        if _listed(data, "invalidStaffIdList", users):
            raise SendError("1:1 send: unknown DingTalk user", permanent=True)
        return _ref(data, item)

    async def _openapi(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST an OpenAPI call with the token, refreshing it once on an authentication error."""
        refused = ""
        for attempt in (1, 2):
            token = await self._access_token(stale=refused)
            status, data = await self._post(self.api_base + path, body, {TOKEN_HEADER: token},
                                            path)
            if status == 200 and _errcode(data) in (None, 0):
                return data
            if attempt == 1 and _auth_error(status, data):
                log.info("DingTalk token refused on %s; refreshing it", path)
                refused = token
                continue
            raise _send_error(path, status, data)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _access_token(self, stale: str = "") -> str:
        """The cached token, fetched again when it is near expiry or equals `stale`."""
        async with self._token_lock:
            now = self.clock.now()
            fresh = self._token_until is not None and now < self._token_until
            if self._token and fresh and self._token != stale:
                return self._token
            status, data = await self._post(
                self.api_base + TOKEN_PATH,
                {"appKey": self.client_id, "appSecret": self._secret}, {}, TOKEN_PATH,
            )
            token = data.get("accessToken")
            if status != 200 or not isinstance(token, str) or not token:
                raise SendError(f"DingTalk access token: HTTP {status} {_code(data)}".rstrip())
            expire_in = data.get("expireIn")
            seconds = expire_in if isinstance(expire_in, int) and expire_in > 0 else 7200
            self._token = token
            self._token_until = now + timedelta(seconds=seconds) - TOKEN_EARLY
            log.info("DingTalk access token obtained (valid %s s)", seconds)
            return token

    # -- HTTP -------------------------------------------------------------------------------

    async def _post(self, url: str, body: dict[str, Any], headers: dict[str, str],
                    what: str) -> tuple[int, dict[str, Any]]:
        """POST JSON; the status and the JSON object answered ({} when there is none).
        Network failures and timeouts become transient SendErrors. `what` names the call in
        errors and logs instead of the URL, which may hold a secret."""
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._http.post(url, json=body, headers=headers) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SendError(f"{what}: {type(exc).__name__}") from None
        try:
            data = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            data = {}
        return status, data if isinstance(data, dict) else {}


def _send_error(path: str, status: int, data: dict[str, Any]) -> SendError:
    """The SendError for a failed OpenAPI call, transient unless no retry can fix it."""
    code, errcode = _code(data), _errcode(data)
    what = f"{path}: HTTP {status} {code or errcode or ''}".rstrip()
    if errcode in THROTTLE_CODES:
        return SendError(f"{what} (rate limited)", retry_after=THROTTLE_SECONDS)
    if status == 429 or "qpslimit" in code.lower() or "throttl" in code.lower():
        return SendError(f"{what} (QPS limit)", retry_after=QPS_RETRY_SECONDS)
    if status >= 500 or status == 200 or _auth_error(status, data):
        return SendError(what)  # server trouble, or still refused after a fresh token
    # A malformed request or unknown target stays wrong; anything else (e.g. a permission the
    # admin has yet to grant) is retried, so nothing is lost once it is fixed.
    return SendError(what, permanent=status in (400, 404))


def _auth_error(status: int, data: dict[str, Any]) -> bool:
    """Whether DingTalk refused the access token (bad, expired or missing): HTTP 400/401."""
    if status not in (400, 401):
        return False
    text = f"{_code(data)} {data.get('message', '')}".lower().replace("-", "").replace("_", "")
    return "authentication" in text or "accesstoken" in text or "token" in _code(data).lower()


def _code(data: dict[str, Any]) -> str:
    code = data.get("code")
    return code if isinstance(code, str) else ""


def _errcode(data: dict[str, Any]) -> int | None:
    code = data.get("errcode")
    return plain_int(code)  # "²³".isdigit() is True, but int("²³") raises


def _listed(data: dict[str, Any], key: str, users: list[str]) -> bool:
    listed = data.get(key)
    return isinstance(listed, list) and any(u in listed for u in users)


def _ref(data: dict[str, Any], item: OutboxItem) -> str:
    key = data.get("processQueryKey")
    return key if isinstance(key, str) and key else f"openapi:{item.id}"


def _title(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "通知"
    return first[:30]
