"""The WeCom double's long connection: subscribe, ping, callbacks and events, replies, takeover.

As the official SDKs read it (wecom-aibot-python-sdk 1.0.2 aibot/ws.py, @wecom/aibot-node-sdk
1.0.7 dist/index.cjs.js; see /work/notes/platforms_wecom_ws.md): frames are UTF-8 JSON, text or
binary, with control characters possibly raw inside strings; one live connection per bot, the
older one told by a disconnected_event and closed; a welcome answers an enter_chat event under
its req_id within 5 s; a card update answers a template_card_event likewise (cards: see
doubles_wecom_cards.py); media are uploaded in chunks and sent by media_id (see
doubles_wecom_media.py)."""

from __future__ import annotations

import itertools
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from aiohttp import web

OK, BAD_TYPE = 0, 40008
URL_INVALID = 40029  # assumed code for a used or expired reply handle (undocumented)
BAD_SECRET = 40001  # assumed code for a refused aibot_subscribe (undocumented)
# aibot_send_msg to a person who never talked to the bot 1:1 is refused (a third-party summary
# of the long-connection doc; the code is assumed: WeCom's "不合法的UserID列表").
NEVER_TALKED = 40031
PASSIVE_TYPES = {"stream", "template_card", "stream_with_template_card"}
CARD_TYPES = {"template_card", "stream_with_template_card"}
MEDIA_TYPES = {"image", "file"}  # by media_id, in a reply or a send (see doubles_wecom_media)
UPLOADS = ("aibot_upload_media_init", "aibot_upload_media_chunk", "aibot_upload_media_finish")
WELCOME_TYPES = {"text", "template_card"}  # the answers to an enter_chat event (doc 101031)
WELCOME_SECONDS = 5.0  # a welcome must answer its enter_chat event within 5 s
ENTER_CHAT, CARD_EVENT, FEEDBACK, DISCONNECTED = (
    "enter_chat", "template_card_event", "feedback_event", "disconnected_event")
_ESCAPED_CONTROL = re.compile(r'(?<!\\)((?:\\\\)*)\\(u00[01][0-9a-fA-F]|[bfnrt])')
_CONTROL = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def raw_controls(text: str) -> str:
    """JSON text with the control characters inside its strings written raw, unescaped, as
    WeCom's long connection may send them (the Node SDK strips them before parsing)."""
    def unescape(m: re.Match[str]) -> str:
        code = m.group(2)
        return m.group(1) + (chr(int(code[1:], 16)) if code.startswith("u") else _CONTROL[code])
    return _ESCAPED_CONTROL.sub(unescape, text)


class _Clock(Protocol):
    def now(self) -> float: ...


@dataclass
class _Event:
    """An event pushed over the long connection, answerable under its req_id."""

    eventtype: Any
    at: float
    answered: bool = False


class LongConnectionSide:
    """WeCom's end of the AI bot's long connection (a part of WeComDouble, which serves
    `_ws` at /ws and supplies the clock, the bot's credentials and the post log)."""

    clock: _Clock
    bot_id: str
    secret: str
    _ids: itertools.count[int]

    def init_long_connection(self) -> None:
        self.ws_live: list[web.WebSocketResponse] = []
        self.ws_subscribes: list[dict[str, Any]] = []
        self.pings = 0
        self.binary_every = 2  # every n-th frame to the bot goes as a binary frame (0: never)
        self.raw_controls = True  # control characters inside strings go raw, unescaped
        self.kicked = 0  # connections closed after a disconnected_event
        self._ws_frames = 0
        self._ws_reqs: set[str] = set()
        self._ws_events: dict[str, _Event] = {}
        self.ws_chats: set[str] = set()  # group chats and 1:1 talkers seen in callbacks
        self.ws_groups: set[str] = set()  # the group chats among them
        self._ws_origin: dict[str, tuple[str, str]] = {}  # req_id → (chat, chattype)
        self.upload_frames: list[tuple[str, Any, int]] = []

    def record(self, via: str, target: str, body: dict[str, Any], code: int) -> None:
        """Log one message the bot sent (WeComDouble keeps them in `posts`)."""
        raise NotImplementedError

    def take_card(self, body: Any, chat: str, chattype: str, via: str) -> int:
        raise NotImplementedError

    def take_update(self, handle: str, body: Any, seconds: float = 0.0) -> int:
        raise NotImplementedError

    def expect_press(self, handle: str, payload: Any) -> None:
        raise NotImplementedError

    def upload_step(self, cmd: str, body: Any) -> tuple[int, dict[str, Any] | None]:
        raise NotImplementedError

    def media_message(self, body: dict[str, Any]) -> int:
        raise NotImplementedError

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive_json()
        rid = first.get("headers", {}).get("req_id", "")
        body = first.get("body", {})
        self.ws_subscribes.append(body)
        if (first.get("cmd") != "aibot_subscribe" or body.get("bot_id") != self.bot_id
                or body.get("secret") != self.secret):
            await self._send(ws, {"headers": {"req_id": rid}, "errcode": BAD_SECRET,
                                  "errmsg": "invalid bot_id or secret"})
            await ws.close()
            return ws
        # One live connection per bot: the newest wins; the older ones are told so by a
        # disconnected_event, then closed (Node SDK ws handling of disconnected_event).
        for old in list(self.ws_live):
            await self._send(old, self._event_frame(self._disconnected()))
            await old.close()
            self.kicked += 1
        self.ws_live = [ws]
        await self._send(ws, {"headers": {"req_id": rid}, "errcode": OK, "errmsg": "ok"})
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            rid = frame.get("headers", {}).get("req_id", "")
            cmd, fbody = frame.get("cmd"), frame.get("body") or {}
            code, answer = OK, None
            if cmd == "ping":
                self.pings += 1
            elif cmd == "aibot_respond_msg":
                code = self._respond(rid, fbody)
                self.record("respond", rid, fbody, code)
            elif cmd == "aibot_send_msg":
                code = self._send_msg(fbody)
                self.record("send_msg", str(fbody.get("chatid")), fbody, code)
            elif cmd == "aibot_respond_welcome_msg":
                code = self._welcome(rid, fbody)
                self.record("welcome", rid, fbody, code)
            elif cmd == "aibot_respond_update_msg":
                code = self.take_update(rid, fbody)
                self.record("update", rid, fbody, code)
            elif cmd in UPLOADS:
                code, answer = self.upload_step(cmd, fbody)
                self.upload_frames.append((str(cmd), fbody, code))
            reply: dict[str, Any] = {"headers": {"req_id": rid}, "errcode": code, "errmsg": "ok"}
            if answer is not None:
                reply["body"] = answer
            await self._send(ws, reply)
        if ws in self.ws_live:
            self.ws_live.remove(ws)
        return ws

    def _respond(self, rid: str, body: dict[str, Any]) -> int:
        """A reply under a message's req_id: a stream, a card, both, or an image or file."""
        if rid not in self._ws_reqs:
            return URL_INVALID
        kind = body.get("msgtype")
        if kind in MEDIA_TYPES:
            return self.media_message(body)
        if kind not in PASSIVE_TYPES:
            return BAD_TYPE
        if kind in CARD_TYPES:
            chat, chattype = self._ws_origin.get(rid, ("", "single"))
            return self.take_card(body.get("template_card"), chat, chattype, "respond")
        return OK

    def _send_msg(self, body: dict[str, Any]) -> int:
        """A proactive message: markdown, a card, or an image or file by media_id."""
        kind, chatid = body.get("msgtype"), str(body.get("chatid"))
        if kind not in ("markdown", "template_card", *MEDIA_TYPES):
            return BAD_TYPE
        if chatid not in self.ws_chats:
            return NEVER_TALKED
        if kind in MEDIA_TYPES:
            return self.media_message(body)
        if kind == "template_card":
            chattype = "group" if chatid in self.ws_groups else "single"
            return self.take_card(body.get("template_card"), chatid, chattype, "send_msg")
        return OK

    def _welcome(self, rid: str, body: dict[str, Any]) -> int:
        """A welcome is taken once, under an enter_chat event's req_id, within 5 s of the
        event, as text (non-empty) or a template card (SDKs' reply_welcome / replyWelcome)."""
        event = self._ws_events.get(rid)
        if event is None or event.eventtype != ENTER_CHAT or event.answered:
            return URL_INVALID
        if self.clock.now() - event.at > WELCOME_SECONDS:
            return URL_INVALID
        kind = body.get("msgtype")
        part = body.get(kind) if isinstance(kind, str) else None
        if kind not in WELCOME_TYPES or not isinstance(part, dict):
            return BAD_TYPE
        if kind == "text" and not (isinstance(part.get("content"), str) and part["content"]):
            return BAD_TYPE
        event.answered = True
        return OK

    async def _send(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        """One frame to the bot: UTF-8 JSON, every `binary_every`-th as a binary frame, with
        raw control characters inside strings when `raw_controls` is on."""
        text = json.dumps(frame, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: only an escape can carry it
            text = json.dumps(frame)
        if self.raw_controls:
            text = raw_controls(text)
        self._ws_frames += 1
        if self.binary_every and self._ws_frames % self.binary_every == 0:
            await ws.send_bytes(text.encode("utf-8"))
        else:
            await ws.send_str(text)

    async def send_raw(self, data: bytes | str) -> None:
        """Any frame at all over the live long connection (bytes go as a binary frame)."""
        assert self.ws_live, "no live long connection"
        if isinstance(data, bytes):
            await self.ws_live[-1].send_bytes(data)
        else:
            await self.ws_live[-1].send_str(data)

    async def push(self, payload: dict[str, Any]) -> str:
        """Deliver a message over the live long connection; returns its req_id."""
        assert self.ws_live, "no live long connection"
        rid = f"aibot_msg_callback_{next(self._ids)}"
        self._ws_reqs.add(rid)
        sender = payload.get("from") if isinstance(payload, dict) else None
        if isinstance(payload, dict) and payload.get("chattype") == "group":
            self.ws_chats.add(str(payload.get("chatid")))
            self.ws_groups.add(str(payload.get("chatid")))
            self._ws_origin[rid] = (str(payload.get("chatid")), "group")
        elif isinstance(sender, dict):
            self.ws_chats.add(str(sender.get("userid")))
            self._ws_origin[rid] = (str(sender.get("userid")), "single")
        await self._send(self.ws_live[-1], {"cmd": "aibot_msg_callback",
                                            "headers": {"req_id": rid}, "body": payload})
        return rid

    def _event_frame(self, payload: Any) -> dict[str, Any]:
        """An aibot_event_callback frame, its req_id answerable (welcome) from now."""
        rid = f"aibot_event_callback_{next(self._ids)}"
        event = payload.get("event") if isinstance(payload, dict) else None
        kind = event.get("eventtype") if isinstance(event, dict) else None
        self._ws_events[rid] = _Event(kind, self.clock.now())
        if kind == CARD_EVENT:
            self.expect_press(rid, payload)
        return {"cmd": "aibot_event_callback", "headers": {"req_id": rid}, "body": payload}

    def event_frame(self, payload: Any) -> dict[str, Any]:
        """The frame `push_event` would send (for feeding the bot's parser directly)."""
        return self._event_frame(payload)

    async def push_event(self, payload: dict[str, Any]) -> str:
        """Deliver an event over the live long connection; returns its req_id."""
        assert self.ws_live, "no live long connection"
        frame = self._event_frame(payload)
        await self._send(self.ws_live[-1], frame)
        return str(frame["headers"]["req_id"])

    def _disconnected(self) -> dict[str, Any]:
        """The event telling an older connection that a newer one took over."""
        return {"msgid": f"ev{next(self._ids)}{secrets.token_hex(4)}",
                "create_time": int(self.clock.now()), "aibotid": "aib" + self.bot_id,
                "msgtype": "event", "event": {"eventtype": DISCONNECTED}}
