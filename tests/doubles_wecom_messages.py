"""The WeCom double's inbound messages and events, built as WeCom sends them.

Formats from doc 接收消息 (developer.work.weixin.qq.com/document/path/100719) and 接收事件
(101027): text and mixed messages in groups and 1:1 chats, image, file and voice messages in
1:1 chats only; pictures and files as a download url (see doubles_wecom_media.py)."""

from __future__ import annotations

import itertools
import secrets
from typing import Any, Protocol

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # a picture a user sends


class _Clock(Protocol):
    def now(self) -> float: ...


class MessageSide:
    """Message and event builders of WeComDouble (which supplies ids, clock, urls, media)."""

    clock: _Clock
    bot_id: str
    _ids: itertools.count[int]

    def mint_response_url(self, chattype: str, msgid: str, chat: str = "") -> str:
        raise NotImplementedError

    def media_part(self, data: bytes, name: str = "") -> dict[str, str]:
        raise NotImplementedError

    def message(self, text: str | None, *, chattype: str = "group", chatid: str = "wrgroup1",
                userid: str = "zhangsan", msgid: str | None = None, bot_name: str = "匠心点单",
                quote: str | None = None, msgtype: str = "text") -> dict[str, Any]:
        """A message callback as WeCom builds it (groups carry "@BotName " in the text)."""
        mid = msgid or f"msg{next(self._ids)}{secrets.token_hex(4)}"
        payload: dict[str, Any] = {
            "msgid": mid, "aibotid": "aib" + self.bot_id, "chattype": chattype,
            "from": {"userid": userid},
            "response_url": self.mint_response_url(
                chattype, mid, chatid if chattype == "group" else userid),
            "msgtype": msgtype,
        }
        if chattype == "group":
            payload["chatid"] = chatid
        if msgtype == "text":
            content = text or ""
            payload["text"] = {"content": f"@{bot_name} {content}" if chattype == "group"
                               else content}
        elif msgtype == "image":
            payload["image"] = self.media_part(PNG)
        if quote is not None:
            payload["quote"] = {"msgtype": "text", "text": {"content": quote}}
        return payload

    def picture(self, data: bytes = PNG, *, userid: str = "zhangsan",
                msgid: str | None = None) -> dict[str, Any]:
        """An image message (1:1 only, doc 100719)."""
        payload = self.message(None, chattype="single", userid=userid, msgid=msgid,
                               msgtype="image")
        payload["image"] = self.media_part(data)
        return payload

    def document(self, data: bytes, name: str, *, userid: str = "zhangsan") -> dict[str, Any]:
        """A file message (1:1 only); the file's name comes with its download."""
        payload = self.message(None, chattype="single", userid=userid, msgtype="file")
        payload["file"] = self.media_part(data, name)
        return payload

    def voice(self, content: str, *, userid: str = "zhangsan") -> dict[str, Any]:
        """A voice message (1:1 only): WeCom sends the transcript, no sound."""
        payload = self.message(None, chattype="single", userid=userid, msgtype="voice")
        payload["voice"] = {"content": content}
        return payload

    def mixed(self, text: str, pictures: list[bytes], *, chattype: str = "group",
              chatid: str = "wrgroup1", userid: str = "zhangsan",
              bot_name: str = "匠心点单") -> dict[str, Any]:
        """A text-and-pictures message (groups carry "@BotName " in its text)."""
        payload = self.message(None, chattype=chattype, chatid=chatid, userid=userid,
                               msgtype="mixed")
        words = f"@{bot_name} {text}" if chattype == "group" else text
        payload["mixed"] = {"msg_item": [{"msgtype": "text", "text": {"content": words}}] + [
            {"msgtype": "image", "image": self.media_part(p)} for p in pictures]}
        return payload

    def event(self, eventtype: str, *, chattype: str = "single", chatid: str = "wrgroup1",
              userid: str = "zhangsan", msgid: str | None = None,
              detail: dict[str, Any] | None = None) -> dict[str, Any]:
        """An event callback in WeCom's common format (doc 101027); enter_chat comes from a
        user opening the 1:1 chat with the bot for the first time that day."""
        payload: dict[str, Any] = {
            "msgid": msgid or f"ev{next(self._ids)}{secrets.token_hex(4)}",
            "create_time": int(self.clock.now()), "aibotid": "aib" + self.bot_id,
            "chattype": chattype, "from": {"userid": userid}, "msgtype": "event",
            "event": {"eventtype": eventtype, eventtype: detail or {}},
        }
        if chattype == "group":
            payload["chatid"] = chatid
        return payload
