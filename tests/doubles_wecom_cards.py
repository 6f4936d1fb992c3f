"""The WeCom double's template cards: what WeCom takes, the cards it shows, presses and updates.

As WeCom's docs and SDKs describe them (see /work/notes/platforms_wecom_cards_media.md):
- a button_interaction card needs `main_title`, a `button_list` of 1 to 6 buttons `{text, key}`
  (keys unique in the card, at most 1024 bytes) and a `task_id` (unique per bot, digits,
  letters and "_-@", at most 128 bytes) — doc 模板卡片类型 (document/path/101032);
- a press sends a template_card_event `{card_type, event_key, task_id}` in the common event
  format with a response_url — doc 接收事件 (document/path/101027);
- the card may be updated once, within 5 s of the press: in URL-callback mode as the passive
  reply `{response_type: "update_template_card", template_card}` to the event's single
  callback (never retried), on the long connection by aibot_respond_update_msg under the
  event's req_id; the new card's task_id must be the event's — doc 被动回复消息 (101031), Node
  SDK updateTemplateCard.
Error codes for refusals are assumed (undocumented), as elsewhere in the double."""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

BAD_CARD = 40058  # "invalid Request Parameter" (seen for malformed bodies; assumed for cards)
TASK_USED = 40058  # assumed: a task_id the bot used before
UPDATE_SECONDS = 5.0
_TASK_ID = re.compile(r"[0-9A-Za-z_\-@]{1,128}")


def card_problems(card: Any, *, update_of: str | None = None) -> list[str]:
    """What WeCom would refuse in a button_interaction card (empty: it takes it). An update
    must carry the pressed card's task id `update_of`."""
    if not isinstance(card, dict):
        return ["template_card is not an object"]
    problems = []
    if card.get("card_type") != "button_interaction":
        problems.append(f"card_type {card.get('card_type')!r}")
    main = card.get("main_title")
    if not isinstance(main, dict) or not any(isinstance(main.get(k), str) and main[k]
                                             for k in ("title", "desc")):
        problems.append("main_title missing")
    for name in ("sub_title_text",):
        if name in card and not isinstance(card[name], str):
            problems.append(f"{name} is not text")
    buttons = card.get("button_list")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
        problems.append("button_list must hold 1 to 6 buttons")
    else:
        keys = [b.get("key") if isinstance(b, dict) else None for b in buttons]
        if not all(isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"]
                   for b in buttons):
            problems.append("a button without text")
        if not all(isinstance(k, str) and k and len(k.encode()) <= 1024 for k in keys):
            problems.append("a button key missing or over 1024 bytes")
        elif len(set(keys)) != len(keys):
            problems.append("button keys repeat")
    task_id = card.get("task_id")
    if not isinstance(task_id, str) or not _TASK_ID.fullmatch(task_id):
        problems.append(f"task_id {task_id!r}")
    elif update_of is not None and task_id != update_of:
        problems.append("an update must carry the pressed card's task_id")
    return problems


@dataclass
class Card:
    """A card WeCom showed: where, and what it shows now."""

    chat: str  # the group's chatid, or the user's id in a 1:1 chat
    chattype: str
    body: dict[str, Any]
    via: str
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def buttons(self) -> list[str]:
        return [b["text"] for b in self.body.get("button_list", [])]

    @property
    def status(self) -> str:
        return str(self.body.get("main_title", {}).get("desc", ""))


@dataclass
class _Press:
    task_id: str
    at: float
    answered: bool = False


class _Clock(Protocol):
    def now(self) -> float: ...


class CardSide:
    """Template cards in WeComDouble (which supplies the clock, ids, response_urls)."""

    clock: _Clock
    bot_id: str
    _ids: itertools.count[int]
    violations: list[str]

    def init_cards(self) -> None:
        self.cards: dict[str, Card] = {}  # task_id → the card
        self.presses: dict[str, _Press] = {}  # event msgid or req_id → the press
        self.card_code = 0  # when set, every card the bot sends is refused with this code

    def mint_response_url(self, chattype: str, msgid: str) -> str:
        raise NotImplementedError

    def take_card(self, body: Any, chat: str, chattype: str, via: str) -> int:
        """A card the bot sends (0: shown; else the refusal's errcode)."""
        if self.card_code:
            return self.card_code
        if card_problems(body):
            return BAD_CARD
        if body["task_id"] in self.cards:
            return TASK_USED
        self.cards[body["task_id"]] = Card(chat, chattype, body, via)
        return 0

    def card(self, text: str = "") -> Card:
        """The newest card whose buttons include one labelled `text` (any card if empty)."""
        found = [c for c in self.cards.values() if not text or text in c.buttons]
        assert found, f"no card with a button {text!r}"
        return found[-1]

    def press(self, card: Card, label: str, userid: str,
              msgid: str | None = None) -> dict[str, Any]:
        """The template_card_event WeCom sends when `userid` presses `label` on `card`."""
        [key] = [b["key"] for b in card.body["button_list"] if b["text"] == label]
        mid = msgid or f"press{next(self._ids)}{secrets.token_hex(4)}"
        payload: dict[str, Any] = {
            "msgid": mid, "create_time": int(self.clock.now()), "aibotid": "aib" + self.bot_id,
            "from": {"userid": userid}, "chattype": card.chattype,
            "response_url": self.mint_response_url(card.chattype, mid), "msgtype": "event",
            "event": {"eventtype": "template_card_event", "template_card_event": {
                "card_type": "button_interaction", "event_key": key,
                "task_id": card.body["task_id"]}},
        }
        if card.chattype == "group":
            payload["chatid"] = card.chat
        return payload

    def expect_press(self, handle: str, payload: Any) -> None:
        """Remember a press delivered under `handle` (its msgid or req_id) for its update."""
        event = payload.get("event") if isinstance(payload, dict) else None
        detail = event.get("template_card_event") if isinstance(event, dict) else None
        task_id = detail.get("task_id") if isinstance(detail, dict) else None
        if isinstance(task_id, str):
            self.presses[handle] = _Press(task_id, self.clock.now())

    def take_update(self, handle: str, body: Any, seconds: float = 0.0) -> int:
        """An update of a pressed card (0: applied): once, within 5 s, well formed."""
        pressed = self.presses.get(handle)
        if pressed is None or pressed.answered:
            return 40029  # assumed, as for other used or unknown reply handles
        late = self.clock.now() - pressed.at > UPDATE_SECONDS or seconds > UPDATE_SECONDS
        if late:
            self.violations.append("card update after WeCom's 5 s")
            return 40029
        if not isinstance(body, dict) or body.get("response_type") != "update_template_card":
            return 40008
        userids = body.get("userids")
        if userids is not None and not (isinstance(userids, list)
                                        and all(isinstance(u, str) for u in userids)):
            return BAD_CARD
        if card_problems(body.get("template_card"), update_of=pressed.task_id):
            return BAD_CARD
        pressed.answered = True
        shown = self.cards.get(pressed.task_id)
        if shown is not None:
            shown.updates.append(shown.body)
            shown.body = body["template_card"]
        return 0
