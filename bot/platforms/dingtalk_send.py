"""DingTalk sending: session webhook replies, OpenAPI group and 1:1 sends, cards, pictures."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from bot.charts import IMAGE_NAME, image_of
from bot.model import Attachment, Clock
from bot.platforms.base import SendError
from bot.platforms.dingtalk_api import (
    THROTTLE_CODES,
    THROTTLE_SECONDS,
    ApiError,
    DingTalkApi,
    errcode_of,
)
from bot.platforms.dingtalk_cards import (
    CARD_REF,
    CREATE_AND_DELIVER_PATH,
    card_params,
    deliver_body,
    out_track_id,
    refused_deliveries,
)
from bot.platforms.dingtalk_inbound import ReplyHandle
from bot.platforms.dingtalk_media import Media
from storage.records import ATTACHMENT, OutboxItem

__all__ = ["THROTTLE_SECONDS", "DingTalkSender", "message_param", "webhook_body", "with_mentions"]

log = logging.getLogger(__name__)

GROUP_PATH = "/v1.0/robot/groupMessages/send"
ONE_TO_ONE_PATH = "/v1.0/robot/oToMessages/batchSend"
SESSION_EXPIRED = 300001
WEBHOOK_MARGIN_SECONDS = 60.0  # a session webhook this close to its expiry is not used
WEBHOOK_HOSTS = frozenset({"oapi.dingtalk.com", "api.dingtalk.com"})
MENTION_COPY = "【群消息，与您有关】\n{text}"
CARD_PERMISSION = "Card.Instance.Write"
CARD_WARNING = ("DingTalk refused an interactive card (%s); outbox item %s goes out as text. "
                "To show buttons, grant the app the permission %s (互动卡片实例写权限) in the "
                "DingTalk developer console (权限管理), then publish the app again")
CARD_REFUSED = "DingTalk refused an interactive card (%s); outbox item %s goes out as text"

# (msgKey, msgParam, what) of a picture or file that follows a message's text
Follow = tuple[str, str, str]


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
    """Delivers outbox items to DingTalk; raises SendError on failures the outbox retries.
    An item with buttons goes out as an interactive card when `cards` is on (Stream mode),
    else, or when DingTalk refuses the card, as text."""

    def __init__(self, *, api: DingTalkApi, robot_code: str, clock: Clock,
                 handle_for: Callable[[str], ReplyHandle], cards: bool = False,
                 name_of: Callable[[str], str] = str, media: Media | None = None,
                 attachment_of: Callable[[str], tuple[Attachment, bytes] | None]
                 | None = None, card_secret: str = "") -> None:
        self.api = api
        self.robot_code = robot_code or api.client_id
        self.clock = clock
        self.handle_for = handle_for
        self.cards = cards
        self.name_of = name_of
        self.media = media
        self.attachment_of = attachment_of
        self._card_secret = card_secret
        self._card_warned: set[str] = set()
        # Session webhooks are only posted to DingTalk's hosts (or the configured API host, for
        # a stand-in): an HTTP callback's sign does not cover its body, so a URL in it is data.
        self.webhook_hosts = WEBHOOK_HOSTS | {urlsplit(api.api_base).hostname or ""}
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    @property
    def timeout(self) -> float:
        return self.api.timeout

    @timeout.setter
    def timeout(self, seconds: float) -> None:
        self.api.timeout = seconds

    async def close(self, grace: float = 2.0) -> None:
        """Let sends under way finish (a send cut off midway might be delivered and then sent
        again after a restart), refuse new ones, and close the HTTP session."""
        self._closed = True
        with contextlib.suppress(TimeoutError):  # not wait_for: a stop is never lost
            async with asyncio.timeout(grace):
                await self._idle.wait()
        await self.api.close()

    def reopen(self) -> None:
        """Accept sends again after close() (tests reuse one sender)."""
        self._closed = False

    async def send(self, item: OutboxItem) -> str:
        """Send one item: a card, a 1:1 message, a reply through the live session webhook
        (the only way to @ someone in text), or else an OpenAPI send to the group or the 1:1
        chat; then the picture or file it carries."""
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
        to_user = item.extra.get("to_user") or ""
        handle = ReplyHandle() if to_user else self.handle_for(item.chat_id)
        robot = self.robot_code if to_user else handle.robot_code or self.robot_code
        follows = await self._uploads(item, bool(to_user))  # before anything is sent
        ref = await self._message(item, handle, robot, to_user)
        if follows:
            await self._follow(item, follows, robot, to_user or handle.user)
        return ref

    async def _message(self, item: OutboxItem, handle: ReplyHandle, robot: str,
                       to_user: str) -> str:
        if item.buttons and self.cards:
            ref = await self._card(item, robot, to_user or handle.user)
            if ref is not None:
                return ref
        if to_user:
            return await self._to_users([to_user], item, robot)
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
        """The group API cannot @ anyone: once the session webhook is gone, the people a text
        post @-mentions get it 1:1 as well (the group post has gone out: a failure here is
        logged, never retried, so the group never sees it twice). A card carries its own
        at-list instead."""
        copy = replace(item, text=MENTION_COPY.format(text=item.text), mentions=())
        try:
            await self._to_users(list(item.mentions), copy, robot)
        except SendError as exc:
            log.warning("outbox item %s: group post sent, but its 1:1 copies to the people "
                        "it @-mentions failed: %s", item.id, exc)

    # -- cards ------------------------------------------------------------------------------

    async def _card(self, item: OutboxItem, robot: str, user: str) -> str | None:
        """Deliver the item as a card with its buttons; None when DingTalk refuses cards (the
        caller sends text). Transient failures raise, so the card is tried again."""
        group = item.chat_kind == "group" and not item.extra.get("to_user")
        target = item.chat_id if group else user
        if not target:
            return None
        track = out_track_id(item.id, item.created_at, self._card_secret)
        params = card_params(item.text, enumerate(label for label, _ in item.buttons))
        at = {u: self.name_of(u) for u in dict.fromkeys(item.mentions)} if group else {}
        body = deliver_body(track, params, group=group, target=target, robot=robot, at=at)
        try:
            answer = await self.api.openapi(CREATE_AND_DELIVER_PATH, body)
        except ApiError as exc:
            if not (exc.missing_scopes or exc.permanent):
                raise
            scopes = ", ".join(exc.missing_scopes) or (CARD_PERMISSION if exc.status == 403 else "")
            self._warn_card(item, str(exc), scopes)
            return None
        refused = refused_deliveries(answer)
        if refused:  # this chat or person only (e.g. the robot left the group)
            log.info("outbox item %s: card %s; sent as text", item.id, refused)
            return None
        return CARD_REF + track

    def _warn_card(self, item: OutboxItem, why: str, scopes: str) -> None:
        """One warning per reason and permission; later refusals are logged at INFO."""
        key = f"{why.split(':')[0]}|{scopes}"
        if key in self._card_warned:
            log.info("outbox item %s: card refused (%s); sent as text", item.id, why)
            return
        self._card_warned.add(key)
        if scopes:
            log.warning(CARD_WARNING, why, item.id, scopes)
        else:  # not a permission: a request DingTalk calls wrong (400/404)
            log.warning(CARD_REFUSED, why, item.id)

    # -- pictures and files -----------------------------------------------------------------

    async def _uploads(self, item: OutboxItem, one_to_one: bool) -> list[Follow]:
        """Upload what the item carries (a chart; an order's attachment, 1:1 only) before its
        text goes: a failed upload is retried with nothing sent twice."""
        if self.media is None:
            return []
        follows: list[Follow] = []
        png = image_of(item.extra)
        if png is not None:
            try:
                follows.append((*await self.media.picture(
                    png, item.extra.get(IMAGE_NAME) or "chart.png"), "picture"))
            except SendError as exc:
                if not exc.permanent:
                    raise
                log.warning("outbox item %s: its picture cannot go to DingTalk (%s); the "
                            "text goes alone", item.id, exc)
        found = (self.attachment_of(item.extra[ATTACHMENT])
                 if one_to_one and item.extra.get(ATTACHMENT) and self.attachment_of else None)
        if found is not None:
            message = await self.media.attachment(*found)
            if message is None:
                log.info("outbox item %s: a %s DingTalk robots cannot send; the text says it",
                         item.id, found[0].kind)
            else:
                follows.append((*message, "attachment"))
        return follows

    async def _follow(self, item: OutboxItem, follows: list[Follow], robot: str,
                      user: str) -> None:
        """Send the pictures and files after the text (which has gone out: a failure here is
        logged, never retried, so the text is never sent twice)."""
        group = item.chat_kind == "group" and not item.extra.get("to_user")
        for key, param, what in follows:
            try:
                if group:
                    await self._post(GROUP_PATH, {"robotCode": robot, "msgKey": key,
                                                  "msgParam": param,
                                                  "openConversationId": item.chat_id}, item)
                elif user:
                    await self._oto([user], key, param, robot, item)
            except SendError as exc:
                log.warning("outbox item %s: text sent, but its %s was not: %s", item.id, what,
                            exc)

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
        status, data = await self.api.request("POST", url, webhook_body(item), {},
                                              "session webhook")
        if status >= 500:
            raise SendError(f"session webhook: HTTP {status}")
        code = errcode_of(data)
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
        return await self._post(GROUP_PATH, {"robotCode": robot, "msgKey": key,
                                             "msgParam": param,
                                             "openConversationId": item.chat_id}, item)

    async def _to_users(self, users: list[str], item: OutboxItem, robot: str) -> str:
        key, param = message_param(item)
        return await self._oto(users, key, param, robot, item)

    async def _oto(self, users: list[str], key: str, param: str, robot: str,
                   item: OutboxItem) -> str:
        data = await self.api.openapi(ONE_TO_ONE_PATH, {
            "robotCode": robot, "userIds": users[:20], "msgKey": key, "msgParam": param,
        })
        if _listed(data, "flowControlledStaffIdList", users):
            raise SendError("1:1 send: user is flow controlled", retry_after=THROTTLE_SECONDS)
        if _listed(data, "invalidStaffIdList", users):
            raise SendError("1:1 send: unknown DingTalk user", permanent=True)
        return _ref(data, item)

    async def _post(self, path: str, body: dict[str, Any], item: OutboxItem) -> str:
        return _ref(await self.api.openapi(path, body), item)


def _listed(data: dict[str, Any], key: str, users: list[str]) -> bool:
    listed = data.get(key)
    return isinstance(listed, list) and any(u in listed for u in users)


def _ref(data: dict[str, Any], item: OutboxItem) -> str:
    key = data.get("processQueryKey")
    return key if isinstance(key, str) and key else f"openapi:{item.id}"


def _title(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "通知"
    return first[:30]
