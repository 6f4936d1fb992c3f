"""The DingTalk double's robot messages: session webhook replies, group and 1:1 OpenAPI sends.

Text and markdown, and pictures (msgKey sampleImageMsg, photoURL a media_id or a link) and files
(sampleFile: mediaId, fileName, fileType), as DingTalk's robot message types describe them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.doubles_dingtalk import DingTalkDouble

SESSION_EXPIRED = {"errcode": 300001, "errmsg": "session expired"}
SEND_TOO_FAST = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}


@dataclass(frozen=True)
class Delivery:
    """One message the bot sent to DingTalk."""

    via: str  # "webhook", "group", "oto" or "card"
    conversation: str  # openConversationId ("" for 1:1 sends)
    users: tuple[str, ...]  # the userIds of a 1:1 send
    kind: str  # "text"/"markdown" (webhook), the msgKey (OpenAPI), or "card"
    text: str  # what it shows (a picture's media id, a file's name)
    at_user_ids: tuple[str, ...] = ()
    robot_code: str = ""
    media: str = ""  # the media_id a picture or file message shows

    @property
    def notified(self) -> tuple[str, ...]:
        """Users DingTalk would notify: in atUserIds and written `@<id>` in the text (a
        card's at-list notifies by itself)."""
        if self.via == "card":
            return self.at_user_ids
        return tuple(u for u in self.at_user_ids if f"@{u}" in self.text)



class RobotServer:
    """Robot message endpoints of the double; `double.robot` is the one instance."""

    def __init__(self, double: DingTalkDouble) -> None:
        self.double = double

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/robot/sendBySession", self._webhook),
                web.post("/v1.0/robot/groupMessages/send", self._group_send),
                web.post("/v1.0/robot/oToMessages/batchSend", self._oto_send)]

    async def _webhook(self, request: web.Request) -> web.Response:
        double = self.double
        session = double.sessions.get(request.query.get("session", ""))
        body = await json_body(request)
        if session is None or double.now_ms() > session[1]:
            return await double.refuse("webhook: expired session", 200, SESSION_EXPIRED)
        injected = await double.injected("webhook")
        if injected is not None:
            return injected
        if not double.room(session[0]):
            return await double.refuse("webhook: send too fast", 200, SEND_TOO_FAST)
        kind = body.get("msgtype")
        part = body.get(kind) if isinstance(kind, str) else None
        text = (part or {}).get("content" if kind == "text" else "text")
        if kind not in ("text", "markdown") or not isinstance(text, str):
            return await double.refuse("webhook: bad body", 200,
                                       {"errcode": 40035, "errmsg": "missing parameter"})
        at = body.get("at") or {}
        await double.record(Delivery("webhook", session[0], (), kind, text,
                                     tuple(at.get("atUserIds") or ())))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _group_send(self, request: web.Request) -> web.Response:
        double = self.double
        body, refusal = await self._openapi(request, "group")
        if refusal is not None:
            return refusal
        cid = body.get("openConversationId")
        if cid not in double.conversations:
            return await double.refuse("group: unknown conversation", 400,
                                       {"code": "invalidParameter.openConversationId"})
        if not double.room(cid):
            return await double.refuse("group: send too fast", 200, SEND_TOO_FAST)
        await double.record(Delivery("group", cid, (), body["msgKey"], _param_text(body),
                                     robot_code=body["robotCode"], media=_param_media(body)))
        return web.json_response({"processQueryKey": uuid.uuid4().hex})

    async def _oto_send(self, request: web.Request) -> web.Response:
        double = self.double
        body, refusal = await self._openapi(request, "oto")
        if refusal is not None:
            return refusal
        users = body.get("userIds")
        if not isinstance(users, list) or not users or len(users) > 20:
            return await double.refuse("oto: bad userIds", 400,
                                       {"code": "invalidParameter.userIds"})
        unknown = [u for u in users if u in double.unknown_users]
        known = tuple(u for u in users if u not in double.unknown_users)
        if known:
            await double.record(Delivery("oto", "", known, body["msgKey"], _param_text(body),
                                         robot_code=body["robotCode"],
                                        media=_param_media(body)))
        return web.json_response({"processQueryKey": uuid.uuid4().hex,
                                  "invalidStaffIdList": unknown, "flowControlledStaffIdList": []})

    async def _openapi(self, request: web.Request,
                       api: str) -> tuple[dict[str, Any], web.Response | None]:
        """The checks of a robot message send: the common ones, the robot, the message."""
        double = self.double
        body, refusal = await double.authorized(request, api)
        if refusal is not None:
            return body, refusal
        if body.get("robotCode") != double.robot_code:
            return body, await double.refuse(f"{api}: wrong robotCode", 400,
                                             {"code": "resource.not.found"})
        if not self._valid_message(body):
            return body, await double.refuse(f"{api}: bad msgKey/msgParam", 400,
                                             {"code": "invalidParameter.msgParam"})
        return body, None

    def _valid_message(self, body: dict[str, Any]) -> bool:
        """Text and markdown need their text; a picture a photoURL (an uploaded image's
        media_id, or a link), a file an uploaded file's mediaId with its name and type."""
        double = self.double
        key, param = body.get("msgKey"), _param(body)
        if key in ("sampleText", "sampleMarkdown"):
            return bool(_param_text(body))
        if key == "sampleImageMsg":
            url = param.get("photoURL")
            return double.media.known(url, "image") or str(url).startswith("http")
        if key == "sampleFile":
            return (double.media.known(param.get("mediaId"), "file")
                    and bool(param.get("fileName")) and bool(param.get("fileType")))
        return False


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _param(body: dict[str, Any]) -> dict[str, Any]:
    try:
        param = json.loads(body.get("msgParam") or "")
    except (json.JSONDecodeError, TypeError):
        return {}
    return param if isinstance(param, dict) else {}


def _param_text(body: dict[str, Any]) -> str:
    """The text of an OpenAPI msgParam (a JSON string): content, markdown text, a picture's
    photoURL, a file's name."""
    param, key = _param(body), body.get("msgKey")
    if key == "sampleMarkdown":
        return str(param.get("text") or "") if param.get("title") else ""
    if key == "sampleImageMsg":
        return str(param.get("photoURL") or "")
    if key == "sampleFile":
        return str(param.get("fileName") or "")
    return str(param.get("content") or "")


def _param_media(body: dict[str, Any]) -> str:
    param = _param(body)
    return str(param.get("photoURL") or param.get("mediaId") or "")
