"""WeCom template cards: an item's buttons as a button_interaction card, presses, refreshes.

What WeCom takes (doc 模板卡片类型, developer.work.weixin.qq.com/document/path/101032; the
SDKs' TemplateCard type, @wecom/aibot-node-sdk dist/types/api.d.ts): `card_type`
"button_interaction" with a required `main_title` (title "建议不超过26个字", desc 30),
`sub_title_text` ("建议不超过112个字"), a required `button_list` of at most 6 buttons
`{text, style, key}` (key unique, at most 1024 bytes, echoed as the press's event_key) and a
required `task_id` (unique per bot, [0-9A-Za-z_-@], at most 128 bytes). Card fields are plain
text, not markdown; the bot's text is made unable to form a `<@…>` mention all the same.

A press arrives as a template_card_event (doc 接收事件, document/path/101027) carrying the card's
task_id and the button's key. The task id names the outbox item (whose stored buttons map each
key back to the button's text) and, for a card about an order, the order, so a card can be
rebuilt from the order's state after any restart.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.model import ChatKind, Incoming
from bot.platforms.stamps import message_time
from bot.platforms.wecom_markdown import as_text
from bot.platforms.wecom_payload import PLATFORM, RESPONSE_URL_LIFETIME, ReplyHandle
from storage.records import OrderState, OutboxItem
from storage.store import Store

CARD_TYPE = "button_interaction"
CARD_EVENT = "template_card_event"
UPDATE = "update_template_card"  # the response_type of a card update
MAX_BUTTONS = 6
TITLE_CHARS = 26
SUBTITLE_CHARS = 112
BUTTON_CHARS = 10  # "按钮文案，建议不超过10个字"
_TASK = re.compile(r"(?:o(\d{1,9})|m)-i(\d{1,12})-([fc])-[0-9a-f]{8}")
_KEY = re.compile(r"b([0-5])")
_ORDER_CARD = re.compile(r"order:(\d{1,9})")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class Task:
    """What a card's task id says: the outbox item it showed, its order, its layout."""

    item_id: int
    order: int | None
    full: bool  # the card carries the item's whole text (else the text went beside it)
    raw: str  # the task id itself, which a card update must carry again


def new_task_id(item: OutboxItem, full: bool) -> str:
    """A fresh task id for a card of `item` (WeCom refuses a task id used before)."""
    match = _ORDER_CARD.fullmatch(item.card)
    head = f"o{match.group(1)}" if match else "m"
    return f"{head}-i{item.id}-{'f' if full else 'c'}-{secrets.token_hex(4)}"


def order_of(item: OutboxItem) -> int | None:
    """The order a card is about ("order:12" → 12), if any."""
    match = _ORDER_CARD.fullmatch(item.card)
    return int(match.group(1)) if match else None


def parse_task(task_id: Any) -> Task | None:
    if not isinstance(task_id, str):
        return None
    match = _TASK.fullmatch(task_id)
    if match is None:
        return None
    order = int(match.group(1)) if match.group(1) else None
    return Task(int(match.group(2)), order, match.group(3) == "f", task_id)


def plain(text: str) -> str:
    """`text` for a card field: line ends as "\\n", no control characters, no `<@…>`."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return as_text(_CONTROLS.sub(" ", text))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def fits(item: OutboxItem) -> bool:
    """Whether the item's whole text fits in a card's body and needs no @-mention (a card
    cannot mention anyone): then the card alone can carry it."""
    return not item.mentions and len(plain(item.text).strip()) <= SUBTITLE_CHARS


def card(item: OutboxItem, task_id: str, full: bool, status: str = "",
         buttons: tuple[tuple[str, str], ...] | None = None) -> dict[str, Any]:
    """The button_interaction card for `item`: its order and status as the title (else its
    first line), its whole text as the body when `full`, and its buttons (or `buttons`)."""
    shown = item.buttons if buttons is None else buttons
    match = _ORDER_CARD.fullmatch(item.card)
    text = plain(item.text).strip()
    first, _, rest = text.partition("\n")
    title = f"点单 #{match.group(1)}" if match else _cut(first, TITLE_CHARS)
    main: dict[str, str] = {"title": title}
    if status:
        main["desc"] = _cut(status, 30)
    body: dict[str, Any] = {"card_type": CARD_TYPE, "main_title": main}
    # The body: the whole text, less a first line that is the title already.
    shown_text = rest.strip() if not match and title == first else text
    if full and shown_text:
        body["sub_title_text"] = shown_text
    body["button_list"] = [
        {"text": _cut(label, BUTTON_CHARS), "key": f"b{i}"}
        for i, (label, _) in enumerate(shown[:MAX_BUTTONS])]
    body["task_id"] = task_id
    return body


def status_of(store: Store, no: int | None) -> str:
    """A card's status line from its order: 待接单, 已由X接单, 已评价：满意 …"""
    order = store.get_order(no) if no is not None else None
    if order is None:
        return ""
    if order.state is OrderState.RATED and order.rating:
        return f"已评价：{order.rating}"
    if order.lead and order.state in (OrderState.CLAIMED, OrderState.SCHEDULED):
        expert = store.get_expert(order.lead)
        return f"已由{expert.name if expert else order.lead}接单"
    return order.state.word


def _useful(text: str, state: OrderState) -> bool:
    """Whether a button still makes sense for an order in `state`."""
    verb = text.split(" ", 1)[0]
    if verb == "接单":
        return state is OrderState.OPEN
    if verb == "协助":
        return state in (OrderState.OPEN, OrderState.CLAIMED, OrderState.SCHEDULED)
    if verb == "评价":
        return state is OrderState.COMPLETED
    return True


def refreshed(store: Store, task: Task) -> dict[str, Any] | None:
    """The card to replace a pressed one with: the order's status, and only the buttons that
    still make sense (查询 when none do). None for a card about no order."""
    item = store.outbox_item(task.item_id)
    order = store.get_order(task.order) if task.order is not None else None
    if item is None or order is None:
        return None
    buttons = tuple(b for b in item.buttons if _useful(b[1], order.state))
    if not buttons:
        buttons = (("查询", f"查询 {order.no}"),)
    return card(item, task.raw, task.full, status_of(store, order.no), buttons)


def update_body(template_card: dict[str, Any]) -> dict[str, Any]:
    """The answer that replaces a pressed card for everyone who sees it (no userids)."""
    return {"response_type": UPDATE, "template_card": template_card}


def press(payload: Any, store: Store, received_at: datetime | None) -> tuple[Incoming, Task] | None:
    """A template_card_event as the presser typing the button's text in the card's chat;
    None when it is not a press of one of the bot's cards."""
    if not isinstance(payload, dict):
        return None
    event = payload.get("event")
    detail = event.get(CARD_EVENT) if isinstance(event, dict) else None
    sender = payload.get("from")
    userid = sender.get("userid") if isinstance(sender, dict) else None
    msgid = payload.get("msgid")
    if not (isinstance(detail, dict) and isinstance(userid, str) and userid
            and isinstance(msgid, str) and msgid):
        return None
    task_id = detail.get("task_id")
    task = parse_task(task_id)
    key = detail.get("event_key")
    found = _KEY.fullmatch(key) if isinstance(key, str) else None
    item = store.outbox_item(task.item_id) if task is not None else None
    if task is None or found is None or item is None or item.platform != PLATFORM:
        return None
    buttons = item.buttons
    index = int(found.group(1))
    if index >= len(buttons):
        return None
    chatid = payload.get("chatid")
    group = payload.get("chattype") == "group" and isinstance(chatid, str) and bool(chatid)
    sent_at = message_time(payload.get("create_time"), millis=None, platform=PLATFORM,
                           field="create_time", msg_id=msgid)
    url = payload.get("response_url")
    base = received_at or sent_at
    handle = ReplyHandle(msgid=msgid, response_url=url if isinstance(url, str) else "",
                         expires_at=base + RESPONSE_URL_LIFETIME if base else None)
    msg = Incoming(
        platform=PLATFORM, msg_id=msgid,
        chat_id=chatid if group and isinstance(chatid, str) else userid,
        chat_kind=ChatKind.GROUP if group else ChatKind.SINGLE,
        sender_id=userid, sender_name=userid, text=buttons[index][1], at_bot=True,
        sent_at=sent_at, reply_handle=handle.encode())
    return msg, task
