"""DingTalk card presses and card refreshes: a press is the presser typing the button's text in
the card's chat; every card about an order shows the order's state (已由X接单, 已评价…)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import Any

from bot.core import Core
from bot.model import ChatKind, Incoming
from bot.platforms.base import SendError
from bot.platforms.dingtalk_api import DingTalkApi
from bot.platforms.dingtalk_cards import (
    CARD_REF,
    UPDATE_PATH,
    Press,
    callback_answer,
    card_params,
    item_of,
    order_of_card,
    order_status,
    parse_press,
    shown_buttons,
    track_matches,
    update_body,
)
from bot.platforms.dingtalk_inbound import PLATFORM, ReplyHandle
from bot.platforms.dingtalk_inbox import Inbox
from storage.db import DB_ERRORS
from storage.records import OutboxItem

log = logging.getLogger(__name__)

POLL_SECONDS = 15.0  # orders changed elsewhere (jobs, the dashboard) refresh their cards too
MAX_REFRESH = 200  # cards refreshed in one pass


class CardBoard:
    """Handles card presses and keeps the cards about orders up to date. The cards are found
    through the outbox: an item sent as a card has the ref "card:<outTrackId>", and its
    `card` extra names the order; an index of them is read once at start and grows as cards
    go out."""

    def __init__(self, app: Core, api: DingTalkApi, inbox: Inbox, secret: str) -> None:
        self.app = app
        self.api = api
        self.inbox = inbox
        self._secret = secret
        self._cards: dict[int, dict[str, int]] = {}  # order no -> {outTrackId: outbox id}
        self._shown: dict[str, dict[str, str]] = {}  # outTrackId -> what it shows
        self._stale: set[int] = set()  # orders whose last refresh failed
        self._seen_event = 0
        self._wake = asyncio.Event()

    # -- presses ----------------------------------------------------------------------------

    async def press(self, data: Any, message_id: str) -> dict[str, Any]:
        """Handle one card callback; the `response` its ACK carries (the card's new data)."""
        press = parse_press(data)
        if press is None:
            log.info("DingTalk card callback %.64r skipped: not a press on one of our cards",
                     message_id)
            return {}
        item = self._item(press)
        if item is None:
            log.info("DingTalk card callback %.64r skipped: card %.40s is not ours or gone",
                     message_id, press.track)
            return {}
        msg = self._incoming(press, item, message_id)
        handled = await self.inbox.take_turn(msg, kept=False)
        if handled is None:
            return {}
        params = self.render(item)
        if params is None:
            return {}
        self._shown[press.track] = params
        self.wake()
        return callback_answer(params)

    def _item(self, press: Press) -> OutboxItem | None:
        """The outbox item the pressed card was sent for, if the card is ours."""
        item_id = item_of(press.track)
        try:
            item = self.app.store.outbox_item(item_id) if item_id is not None else None
        except DB_ERRORS as exc:
            log.warning("DingTalk card press not handled, storage unavailable: %s", exc)
            return None
        if item is None or item.platform != PLATFORM or not track_matches(
                press.track, item.id, item.created_at, self._secret):
            return None
        return item if press.button < len(item.buttons) else None

    def _incoming(self, press: Press, item: OutboxItem, message_id: str) -> Incoming:
        """The press as the presser's message in the card's chat: the group, or their own
        1:1 chat with the bot."""
        store = self.app.store
        group = item.chat_kind == ChatKind.GROUP.value and not item.extra.get("to_user")
        handle = ""
        if group:
            chat_id = item.chat_id
        elif press.user in (item.extra.get("to_user"), self._user_of(item.chat_id)):
            chat_id = item.chat_id
            if item.extra.get("to_user"):
                handle = ReplyHandle(user=press.user).to_json()
        else:  # someone else's 1:1 card: answer the presser in their own chat
            chat_id, handle = press.user, ReplyHandle(user=press.user).to_json()
        expert = store.expert_by_account(f"{PLATFORM}:{press.user}")
        unique = message_id[:128] or hashlib.sha256(
            f"{press.track}|{press.user}|{press.button}".encode()).hexdigest()[:32]
        return Incoming(
            platform=PLATFORM, msg_id=f"card:{unique}", chat_id=chat_id,
            chat_kind=ChatKind.GROUP if group else ChatKind.SINGLE, sender_id=press.user,
            sender_name=expert.name if expert else press.user,
            text=item.buttons[press.button][1], sent_at=self.app.clock.now(),
            reply_handle=handle)

    def _user_of(self, chat_id: str) -> str:
        row = self.app.store.chat(PLATFORM, chat_id)
        return ReplyHandle.from_json(row.get("reply_handle")).user if row else ""

    # -- what a card shows ------------------------------------------------------------------

    def render(self, item: OutboxItem) -> dict[str, str] | None:
        """A card's data now, from its order's state; None for a card about no order."""
        no = order_of_card(item.card)
        if no is None:
            return None
        order = self.app.store.get_order(no)
        lead = self.app.store.get_expert(order.lead) if order and order.lead else None
        status, dropped = order_status(order, lead.name if lead else "")
        return card_params(item.text, shown_buttons(item.buttons, dropped), status)

    def sent(self, item: OutboxItem, ref: str) -> None:
        """Note a card that went out (the sender calls this)."""
        no = order_of_card(item.card)
        if no is not None and ref.startswith(CARD_REF):
            self._cards.setdefault(no, {})[ref[len(CARD_REF):]] = item.id

    # -- refreshes --------------------------------------------------------------------------

    async def start(self) -> None:
        """Index the cards sent before, and start after the newest event."""
        async with self.app.lock:
            try:
                rows = self.app.store.db.execute(
                    "SELECT id, last_error, json_extract(extra, '$.card') FROM outbox "
                    "WHERE platform = ? AND state = 'sent' AND last_error LIKE 'card:%'",
                    [PLATFORM]).fetchall()
                newest = self.app.store.db.execute("SELECT max(id) FROM events").fetchone()
            except DB_ERRORS as exc:
                log.warning("DingTalk cards sent before are not refreshed: %s", exc)
                return
        for item_id, ref, card in rows:
            no = order_of_card(card) if isinstance(card, str) else None
            if no is not None and isinstance(ref, str):
                self._cards.setdefault(no, {})[ref[len(CARD_REF):]] = int(item_id)
        self._seen_event = int(newest[0] or 0)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, poll_seconds: float = POLL_SECONDS) -> None:
        """Refresh cards after each handled message and every `poll_seconds`."""
        while True:
            with contextlib.suppress(TimeoutError):  # not wait_for: a stop is never lost
                async with asyncio.timeout(poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.refresh()
            except Exception:
                log.exception("DingTalk card refresh failed")

    async def refresh(self) -> int:
        """Update every card about an order that changed since the last pass; how many."""
        async with self.app.lock:
            try:
                newest = self.app.store.db.execute("SELECT max(id) FROM events").fetchone()
                top = int(newest[0] or 0)
                rows = self.app.store.db.execute(
                    "SELECT DISTINCT order_no FROM events WHERE id > ? AND id <= ? "
                    "AND order_no IS NOT NULL", [self._seen_event, top]).fetchall()
            except DB_ERRORS as exc:
                log.warning("DingTalk card refresh skipped: %s", exc)
                return 0
            self._seen_event = top
        orders = ({int(r[0]) for r in rows} | self._stale) & set(self._cards)
        self._stale -= orders
        done = 0
        for no in sorted(orders):
            for track, item_id in list(self._cards[no].items())[:MAX_REFRESH]:
                if await self._update(no, track, item_id):
                    done += 1
        return done

    async def _update(self, no: int, track: str, item_id: int) -> bool:
        try:
            item = self.app.store.outbox_item(item_id)
            params = self.render(item) if item is not None else None
        except DB_ERRORS as exc:
            log.warning("DingTalk card %s about #%d not updated (tried again later): %s",
                        track, no, exc)
            self._stale.add(no)
            return False
        if params is None or self._shown.get(track) == params:
            return False
        try:
            await self.api.openapi(UPDATE_PATH, update_body(track, params), method="PUT")
        except SendError as exc:
            log.warning("DingTalk card %s about #%d not updated (tried again later): %s",
                        track, no, exc)
            self._stale.add(no)
            return False
        self._shown[track] = params
        return True

    def shown(self, track: str) -> str:
        """What a card was last set to show (for logs and tests)."""
        return json.dumps(self._shown.get(track, {}), ensure_ascii=False)
