"""WeCom AI-bot events: enter_chat gets a welcome, a card press its update; others are logged."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from bot.platforms.base import SendError
from bot.platforms.wecom_cards import CARD_EVENT
from bot.platforms.wecom_payload import event_type
from bot.platforms.wecom_ws import RESPOND_UPDATE, RESPOND_WELCOME, LongConnection
from handlers.lookup import HELLO

log = logging.getLogger(__name__)

ENTER_CHAT = "enter_chat"  # a user opened the 1:1 chat with the bot, first time that day
WELCOME = HELLO  # the greeting the bot also gives to "你好": who it is and how to order
REMEMBERED = 1024  # enter_chat msgids kept to welcome a redelivered event only once
OnPress = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


def welcome_body() -> dict[str, Any]:
    """The welcome, in the one form both answers take: a text message."""
    return {"msgtype": "text", "text": {"content": WELCOME}}


def callback_reply(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The passive reply to an event callback (URL-callback mode): the welcome to enter_chat,
    nothing (an empty 200) to every other event. The callback is answered at once, well
    within WeCom's 5 s; a redelivery means the first answer was lost, so it is answered too."""
    kind = event_type(payload)
    if kind == ENTER_CHAT:
        log.info("wecom enter_chat: welcome sent as the passive reply")
        return welcome_body()
    log.info("wecom event callback of type %.40r ignored", kind)
    return None


class LongConnectionEvents:
    """Answers the long connection's event callbacks: enter_chat gets the welcome through
    aibot_respond_welcome_msg under the event's req_id (WeCom takes it within 5 s of the
    event, so it is sent at once, never queued); a card press is handled by `on_press`,
    whose card update goes back through aibot_respond_update_msg under the event's req_id;
    other events are logged and ignored."""

    def __init__(self, conn: LongConnection, on_press: OnPress | None = None) -> None:
        self.conn = conn
        self.on_press = on_press
        self._welcomed: OrderedDict[str, None] = OrderedDict()

    async def __call__(self, body: dict[str, Any], req_id: str) -> None:
        kind = event_type(body)
        if kind == CARD_EVENT and self.on_press is not None:
            await self._press(body, req_id)
            return
        if kind != ENTER_CHAT:
            log.info("wecom long connection: event of type %.40r ignored", kind)
            return
        if not req_id:
            log.info("wecom long connection: enter_chat without a req_id cannot be answered")
            return
        msgid = body.get("msgid")
        key = msgid if isinstance(msgid, str) and msgid else None
        if key is not None:
            if key in self._welcomed:
                log.info("wecom long connection: enter_chat delivered again; welcomed once")
                return
            self._welcomed[key] = None
            while len(self._welcomed) > REMEMBERED:
                self._welcomed.popitem(last=False)
        try:
            ack = await self.conn.request(RESPOND_WELCOME, welcome_body(), req_id=req_id)
        except SendError as exc:
            log.warning("wecom long connection: welcome not sent (%s)", exc)
            if key is not None:  # a redelivery may still be welcomed
                self._welcomed.pop(key, None)
            return
        code = ack.get("errcode")
        if code != 0:
            log.warning("wecom long connection: welcome refused (errcode %.40r)", code)
            if key is not None:
                self._welcomed.pop(key, None)
            return
        log.info("wecom long connection: enter_chat welcomed")

    async def _press(self, body: dict[str, Any], req_id: str) -> None:
        update = await self.on_press(body) if self.on_press is not None else None
        if update is None:
            return
        if not req_id:
            log.info("wecom long connection: a card press without a req_id: card not updated")
            return
        try:
            ack = await self.conn.request(RESPOND_UPDATE, update, req_id=req_id)
        except SendError as exc:
            log.warning("wecom long connection: card update not sent (%s)", exc)
            return
        if ack.get("errcode") != 0:
            log.warning("wecom long connection: card update refused (errcode %.40r)",
                        ack.get("errcode"))
