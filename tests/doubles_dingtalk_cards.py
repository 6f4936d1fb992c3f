"""The DingTalk double's interactive cards: createAndDeliver, update, and presses on the Stream.

As the sources describe them (see /work/notes/platforms_dingtalk_cards_media.md): a card is
created and delivered in one call with a template id, an outTrackId, string variables
(cardParamMap) and an openSpaceId (dtv1.card//IM_GROUP.<cid> or IM_ROBOT.<userId>); only a
card created with callbackType STREAM calls back on the Stream topic
/v1.0/card/instances/callback; the ACK's `response` may carry the card's new data, which the
card then shows; PUT /v1.0/card/instances updates it later.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.doubles_dingtalk import DingTalkDouble

CARD_TOPIC = "/v1.0/card/instances/callback"
AI_TEMPLATE = "382e4302-551d-4880-bf29-a30acfab2e71.schema"  # public, in the SDK
PERMISSION_DENIED = {
    "code": "Forbidden.AccessDenied.AccessTokenPermissionDenied",
    "requestid": "e64a36ef-2fb4-4bc5-bbd8-80e0f54218f9",
    "message": "没有调用该接口的权限，接口权限申请参考：https://open.dingtalk.com/document/"
               "orgapp-server/add-api-permission",
    "accessdenieddetail": {"requiredScopes": ["Card.Instance.Write"]},
}
_SPACE = re.compile(r"dtv1\.card//(IM_GROUP|IM_ROBOT)\.(.+)")
_ESCAPE = re.compile(r"\\(.)")


def shown_text(markdown: str) -> str:
    """What a person reads of card markdown: escapes, hard breaks and bold undone."""
    text = markdown.replace("  \n", "\n").replace("**", "")
    return _ESCAPE.sub(r"\1", text)


@dataclass
class Card:
    """One card the bot delivered, as it shows now."""

    track: str
    space: str  # "IM_GROUP" or "IM_ROBOT"
    target: str  # the group's openConversationId, or the user of a 1:1 card
    params: dict[str, str]
    callback: str
    at: dict[str, str]
    updates: list[dict[str, str]] = field(default_factory=list)  # every later version

    @property
    def text(self) -> str:
        title = self.params.get("msgTitle", "")
        body = shown_text(self.params.get("staticMsgContent", ""))
        return f"{title}\n{body}" if title else body

    @property
    def buttons(self) -> list[dict[str, Any]]:
        try:
            found = json.loads(self.params.get("sys_full_json_obj", "{}")).get("msgButtons")
        except ValueError:
            return []
        return [b for b in found or [] if isinstance(b, dict)]

    @property
    def labels(self) -> list[str]:
        return [str(b.get("text")) for b in self.buttons]


class CardServer:
    """The card endpoints of the double; `double.cards` is the one instance."""

    def __init__(self, double: DingTalkDouble) -> None:
        self.double = double
        self.all: dict[str, Card] = {}  # outTrackId -> card
        self.deny = False  # answer as for an app without the Card.Instance.Write permission
        self.calls: list[dict[str, Any]] = []  # every createAndDeliver body

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1.0/card/instances/createAndDeliver", self._create_and_deliver),
                web.put("/v1.0/card/instances", self._update)]

    def of(self, text_part: str) -> Card:
        """The one card whose text holds `text_part`, newest first."""
        return next(c for c in reversed(self.all.values()) if text_part in c.text)

    async def press(self, card: Card, user: str, label: str, *,
                    message_id: str | None = None) -> dict[str, Any]:
        """Press a button the card shows, as `user`: a CALLBACK frame on the card topic; waits
        for its ACK and shows what the ACK's response sets. Returns that response."""
        assert card.callback == "STREAM", "only STREAM cards call back on the Stream"
        button = next(b for b in card.buttons if b.get("text") == label)
        assert button.get("request") is True
        content = {"cardPrivateData": {"actionIds": [button.get("id")],
                                       "params": button.get("params") or {}}}
        data = {"extension": "{}", "corpId": "dingcorp0001", "userId": user, "userIdType": 1,
                "outTrackId": card.track, "spaceType": card.space, "spaceId": card.target,
                "type": "actionCallback", "content": json.dumps(content, ensure_ascii=False)}
        return await self.push_raw(data, message_id=message_id, card=card)

    async def push_raw(self, data: Any, *, message_id: str | None = None,
                       card: Card | None = None) -> dict[str, Any]:
        """Push any card callback data; the response the bot's ACK carried."""
        double = self.double
        mid = await double.push(data, topic=CARD_TOPIC, message_id=message_id)
        await double.until(lambda: double.acked(mid), within=15.0)
        ack = double.frames[mid].ack
        assert ack is not None
        response = json.loads(ack["data"]).get("response")
        assert isinstance(response, dict), ack
        update = response.get("cardData")
        if card is not None and isinstance(update, dict):
            self._apply(card, update.get("cardParamMap"), response.get("cardUpdateOptions"))
        return response

    # -- the servers ------------------------------------------------------------------------

    async def _create_and_deliver(self, request: web.Request) -> web.Response:
        double = self.double
        body, refusal = await double.authorized(request, "card")
        if refusal is not None:
            return refusal
        self.calls.append(body)
        if self.deny:
            return await double.refuse("card: no Card.Instance.Write", 403, PERMISSION_DENIED)
        track, template = body.get("outTrackId"), body.get("cardTemplateId")
        params = (body.get("cardData") or {}).get("cardParamMap")
        if not template:
            return await double.refuse("card: no template", 400, {"code": "card.templateEmpty"})
        if template != AI_TEMPLATE:
            return await double.refuse("card: unknown template", 400,
                                       {"code": "cardInstance.wrong"})
        if not isinstance(track, str) or not track:
            return await double.refuse("card: no outTrackId", 400,
                                       {"code": "card.outTraceIdEmpty"})
        if not isinstance(params, dict) or not _strings(params):
            return await double.refuse("card: cardParamMap values must be strings", 400,
                                       {"code": "param.invalid"})
        space = _SPACE.fullmatch(str(body.get("openSpaceId")))
        if space is None or body.get("userIdType", 1) != 1:
            return await double.refuse("card: bad openSpaceId", 400, {"code": "param.invalid"})
        kind, target = space.groups()
        if not self._deliverable(kind, target, body):
            return web.json_response({"success": True, "result": {
                "outTrackId": track, "deliverResults": [{
                    "spaceType": kind, "spaceId": target, "success": False,
                    "errorMsg": "robot is not in this conversation"}]}})
        if kind == "IM_GROUP" and not double.room(target):
            return await double.refuse("card: send too fast", 200, double.too_fast)
        at = (body.get("imGroupOpenDeliverModel") or {}).get("atUserIds") or {}
        card = Card(track, kind, target, {str(k): str(v) for k, v in params.items()},
                    str(body.get("callbackType")),
                    {str(k): str(v) for k, v in at.items()})
        self.all[track] = card
        await double.record_card(card)
        return web.json_response({"success": True, "result": {
            "outTrackId": track, "deliverResults": [{
                "spaceType": kind, "spaceId": target, "success": True,
                "carrierId": uuid.uuid4().hex}]}})

    def _deliverable(self, kind: str, target: str, body: dict[str, Any]) -> bool:
        double = self.double
        if kind == "IM_GROUP":
            deliver = body.get("imGroupOpenDeliverModel") or {}
            at = deliver.get("atUserIds", {})
            return (target in double.conversations and deliver.get("robotCode")
                    == double.robot_code and isinstance(at, dict) and _strings(at))
        deliver = body.get("imRobotOpenDeliverModel") or {}
        return deliver.get("spaceType") == "IM_ROBOT" and target not in double.unknown_users

    async def _update(self, request: web.Request) -> web.Response:
        double = self.double
        body, refusal = await double.authorized(request, "card_update")
        if refusal is not None:
            return refusal
        card = self.all.get(str(body.get("outTrackId")))
        if card is None:
            return await double.refuse("card update: unknown card", 400,
                                       {"code": "param.invalid"})
        params = (body.get("cardData") or {}).get("cardParamMap")
        if not _strings(params):
            return await double.refuse("card update: bad cardParamMap", 400,
                                       {"code": "param.invalid"})
        self._apply(card, params, body.get("cardUpdateOptions"))
        await double.notify()
        return web.json_response({"success": True, "result": True})

    @staticmethod
    def _apply(card: Card, params: Any, options: Any) -> None:
        if not _strings(params):
            return
        by_key = isinstance(options, dict) and options.get("updateCardDataByKey") is True
        card.params = {**card.params, **params} if by_key else dict(params)
        card.updates.append(dict(card.params))


def _strings(params: Any) -> bool:
    return isinstance(params, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in params.items())
