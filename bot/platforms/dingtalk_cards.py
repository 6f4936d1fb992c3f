"""DingTalk interactive cards (互动卡片高级版): what a card holds, the API bodies, and presses.

Sources (see /work/notes/platforms_dingtalk_cards_media.md): cards are created and delivered in
one call, POST /v1.0/card/instances/createAndDeliver, with callbackType "STREAM" so presses come
on the Stream topic /v1.0/card/instances/callback (the normal edition, interactiveCards/send,
cannot call back on the Stream). The template is DingTalk's public AI card, the one the
dingtalk-stream SDK's own card helpers use, so no admin has to build one; its variables are
strings (cardParamMap), its buttons `sys_full_json_obj.msgButtons` with `request: true`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.records import Order, OrderState

CARD_TOPIC = "/v1.0/card/instances/callback"  # dingtalk-stream card_callback.py
CREATE_AND_DELIVER_PATH = "/v1.0/card/instances/createAndDeliver"
UPDATE_PATH = "/v1.0/card/instances"  # PUT
TEMPLATE_ID = "382e4302-551d-4880-bf29-a30acfab2e71.schema"  # card_instance.py AI cards
FINISHED = "3"  # card_replier.py AICardStatus.FINISHED: the card shows its content
CARD_REF = "card:"  # the outbox ref of an item sent as a card: "card:<outTrackId>"
BUTTON_ID = "ddbtn"  # a button's id: ddbtn<index into the item's buttons>
TITLE_MAX = 40
MAX_BUTTONS = 8
_TRACK = re.compile(r"dd([0-9]{1,12})-([0-9a-f]{20})")
_BUTTON = re.compile(BUTTON_ID + r"([0-9]{1,2})")
_MD = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START = re.compile(r"^(\s*)([#+\-=]|[0-9]+(?=[.)]))", re.MULTILINE)


def out_track_id(item_id: int, created_at: datetime, secret: str) -> str:
    """The card's outTrackId for an outbox item: its id and a keyed digest of the id and its
    creation time, so a retry sends the same card and another database never collides."""
    return f"dd{item_id}-{_digest(item_id, created_at, secret)}"


def item_of(track: str) -> int | None:
    """The outbox id an outTrackId names (None when it is not one of ours)."""
    found = _TRACK.fullmatch(track)
    return int(found.group(1)) if found else None


def track_matches(track: str, item_id: int, created_at: datetime, secret: str) -> bool:
    """Whether `track` is the outTrackId of that outbox item."""
    found = _TRACK.fullmatch(track)
    return found is not None and int(found.group(1)) == item_id and hmac.compare_digest(
        found.group(2), _digest(item_id, created_at, secret))


def _digest(item_id: int, created_at: datetime, secret: str) -> str:
    message = f"{item_id}|{created_at.isoformat()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:20]


# -- what a card shows -----------------------------------------------------------------------

def markdown(text: str) -> str:
    """Plain text as card markdown that shows it as it is: markup characters escaped, every
    line break kept (a hard break)."""
    escaped = _LINE_START.sub(_block_escape, _MD.sub(r"\\\1", text.strip()))
    return "  \n".join(escaped.splitlines())


def _block_escape(found: re.Match[str]) -> str:
    """A line start that markdown reads as a heading or a list item, made plain: `\\#`,
    `\\-`, and `1\\.` (a backslash before a digit is no escape)."""
    indent, mark = found.group(1), found.group(2)
    return f"{indent}{mark}\\" if mark.isdigit() else f"{indent}\\{mark}"


def card_params(text: str, buttons: Iterable[tuple[int, str]],
                status: str = "") -> dict[str, str]:
    """The card's variables: the text (its first line as the title when short), a status line
    once the order moved on, and the buttons, each named by its index in the outbox item."""
    lines = text.strip().splitlines() or [""]
    title, body = "", text
    if 0 < len(lines[0].strip()) <= TITLE_MAX and len(lines) > 1:
        title, body = lines[0].strip(), "\n".join(lines[1:])
    content = markdown(body)
    if status:
        bold = f"**{markdown(status)}**"
        content = f"{content}  \n  \n{bold}" if content else bold
    shown = [{"text": label[:20], "color": "blue" if not n else "gray",
              "id": f"{BUTTON_ID}{index}", "request": True, "params": {"button": str(index)}}
             for n, (index, label) in enumerate(list(buttons)[:MAX_BUTTONS])]
    order = [*(["msgTitle"] if title else []), "staticMsgContent",
             *(["msgButtons"] if shown else [])]
    return {
        "flowStatus": FINISHED,
        "msgTitle": title,
        "msgContent": "",
        "staticMsgContent": content,
        "sys_full_json_obj": json.dumps({"order": order, "msgButtons": shown},
                                        ensure_ascii=False),
    }


def order_status(order: Order | None, lead_name: str) -> tuple[str, frozenset[str]]:
    """What a card about `order` says now, and the verbs of the buttons that no longer make
    sense (claimed: 接单; done: 接单, 协助; rated or ended: rating too)."""
    if order is None or order.state is OrderState.OPEN:
        return "", frozenset()
    lead = lead_name or "专家"
    if order.state in (OrderState.CLAIMED, OrderState.SCHEDULED):
        status = f"已由{lead}接单" + ("，已预约" if order.state is OrderState.SCHEDULED else "")
        return status, frozenset({"接单"})
    if order.state is OrderState.COMPLETED:
        return f"已由{lead}办结", frozenset({"接单", "协助"})
    if order.state is OrderState.RATED:
        return (f"已评价：{order.rating}" if order.rating else "已评价",
                frozenset({"接单", "协助", "评价"}))
    return f"{order.state.word}", frozenset({"接单", "协助", "评价"})


def shown_buttons(buttons: tuple[tuple[str, str], ...],
                  dropped: frozenset[str]) -> list[tuple[int, str]]:
    """The (index, label) of the buttons still shown."""
    return [(i, label) for i, (label, text) in enumerate(buttons)
            if (text.split() or [""])[0] not in dropped]


def order_of_card(card: str) -> int | None:
    """The order number of a card key "order:12"."""
    kind, _, no = card.partition(":")
    return int(no) if kind == "order" and no.isascii() and no.isdigit() and len(no) < 10 \
        else None


# -- API bodies ------------------------------------------------------------------------------

def deliver_body(track: str, params: dict[str, str], *, group: bool, target: str, robot: str,
                 at: Mapping[str, str]) -> dict[str, Any]:
    """createAndDeliver for a group (openSpaceId dtv1.card//IM_GROUP.<openConversationId>,
    @ through atUserIds {userId: name}) or a 1:1 chat with the robot (IM_ROBOT.<userId>), as
    dingtalk-stream card_replier.py builds them; forwarding off, so a card is pressed only
    where it was sent."""
    body: dict[str, Any] = {
        "cardTemplateId": TEMPLATE_ID, "outTrackId": track, "callbackType": "STREAM",
        "cardData": {"cardParamMap": params}, "userIdType": 1,
    }
    if group:
        deliver: dict[str, Any] = {"robotCode": robot}
        if at:
            deliver["atUserIds"] = dict(at)
        body |= {"openSpaceId": f"dtv1.card//IM_GROUP.{target}",
                 "imGroupOpenSpaceModel": {"supportForward": False},
                 "imGroupOpenDeliverModel": deliver}
    else:
        body |= {"openSpaceId": f"dtv1.card//IM_ROBOT.{target}",
                 "imRobotOpenSpaceModel": {"supportForward": False},
                 "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": robot}}
    return body


def update_body(track: str, params: dict[str, str]) -> dict[str, Any]:
    """PUT /v1.0/card/instances (card_replier.py put_card_data)."""
    return {"outTrackId": track, "cardData": {"cardParamMap": params},
            "cardUpdateOptions": {"updateCardDataByKey": True}}


def callback_answer(params: dict[str, str] | None) -> dict[str, Any]:
    """The `response` of a card callback's ACK: the card's new data, or nothing to change
    (dingtalk-stream-sdk-go card/handler.go and model.go CardResponse)."""
    if params is None:
        return {}
    return {"cardData": {"cardParamMap": params},
            "cardUpdateOptions": {"updateCardDataByKey": True}}


def refused_deliveries(data: Mapping[str, Any]) -> str:
    """Why createAndDeliver did not deliver ("" when it did): success false, or a
    deliverResults entry with success false."""
    if data.get("success") is False:
        return "success false"
    result = data.get("result")
    results = result.get("deliverResults") if isinstance(result, Mapping) else None
    for entry in results if isinstance(results, list) else []:
        if isinstance(entry, Mapping) and entry.get("success") is False:
            msg = entry.get("errorMsg")
            return f"not delivered: {msg[:100] if isinstance(msg, str) else '?'}"
    return ""


# -- presses ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Press:
    """A button pressed on one of our cards."""

    track: str  # the card's outTrackId
    user: str  # the presser's userId (staffId, userIdType 1)
    button: int  # the button's index in the outbox item


def parse_press(data: Any) -> Press | None:
    """The press in a card callback's data ({outTrackId, userId, type, content: JSON string
    with cardPrivateData {actionIds, params}}: dingtalk-stream card_callback.py,
    dingtalk-stream-sdk-go card/model.go); None for anything else."""
    if not isinstance(data, Mapping) or data.get("type", "actionCallback") != "actionCallback":
        return None
    track, user = data.get("outTrackId"), data.get("userId")
    if not isinstance(track, str) or item_of(track) is None:
        return None
    if not isinstance(user, str) or not user.strip() or len(user) > 64:
        return None
    private = _object(_object(data.get("content")).get("cardPrivateData"))
    button = _button(private)
    return None if button is None else Press(track, user.strip(), button)


def _button(private: Mapping[str, Any]) -> int | None:
    ids = private.get("actionIds")
    for action in ids[:10] if isinstance(ids, list) else []:
        found = _BUTTON.fullmatch(action) if isinstance(action, str) else None
        if found:
            return int(found.group(1))
    value = _object(private.get("params")).get("button")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 2:
        return int(value)
    return None


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object given as itself or as JSON text; {} for anything else."""
    if isinstance(value, str) and len(value) <= 100_000:
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return {}
    return value if isinstance(value, Mapping) else {}
