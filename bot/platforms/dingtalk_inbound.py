"""DingTalk inbound: the pure robot-message payload → Incoming conversion, and reply handles."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bot.model import Attachment, ChatKind, Incoming
from bot.platforms.stamps import message_time, plain_int

PLATFORM = "dingtalk"
BOT_TOPIC = "/v1.0/im/bot/messages/get"  # the Stream topic of robot messages
MAX_TEXT = 20_000
MAX_ATTACHMENTS = 10
MAX_CODE = 4096  # a downloadCode is a few hundred characters
_LEADING_AT = re.compile(r"^\s*@(\S+)\s*")


@dataclass(frozen=True)
class ReplyHandle:
    """What the bot keeps about a conversation so it can answer there later."""

    webhook: str = ""  # the session webhook of the latest message (a bearer URL: never log it)
    expires_ms: int = 0  # sessionWebhookExpiredTime, epoch milliseconds
    robot_code: str = ""  # the robot that received the message
    user: str = ""  # in a 1:1 chat, the other person's staffId (for the OpenAPI 1:1 send)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | None) -> ReplyHandle:
        """The handle stored as `raw`; an empty handle when it is missing or unreadable."""
        try:
            data = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        return cls(webhook=_str(data.get("webhook")), expires_ms=_int(data.get("expires_ms")),
                   robot_code=_str(data.get("robot_code")), user=_str(data.get("user")))

    def live(self, now: datetime, margin_seconds: float = 0.0) -> bool:
        """Whether the session webhook is still valid at `now` (by the bot's clock)."""
        return bool(self.webhook) and self.expires_ms > (now.timestamp() + margin_seconds) * 1000


def to_incoming(payload: Any, bot_name: str = "") -> Incoming | None:
    """The Incoming for one robot message (the decoded `data` of a Stream frame or the body of
    an HTTP callback); None when the payload carries nothing the bot can read."""
    if not isinstance(payload, Mapping):
        return None
    msg_id = _str(payload.get("msgId"))
    chat_id = _str(payload.get("conversationId"))
    sender = _str(payload.get("senderStaffId")) or _str(payload.get("senderId"))
    text = message_text(payload)
    attachments = attachments_of(payload)
    if not (msg_id and chat_id and sender and (text or attachments)):
        return None
    group = _str(payload.get("conversationType")) == "2"
    if group:
        text = strip_at(text, bot_name)
        if not text and not attachments:
            return None
    quote_id, quote_text = _quoted(payload)
    at_bot = not group or payload.get("isInAtList") is not False
    handle = ReplyHandle(
        webhook=_str(payload.get("sessionWebhook")),
        expires_ms=_int(payload.get("sessionWebhookExpiredTime")),
        robot_code=_str(payload.get("robotCode")),
        user="" if group else sender,
    )
    sent_at = message_time(payload.get("createAt"), millis=True, platform=PLATFORM,
                           field="createAt", msg_id=msg_id)
    return Incoming(
        platform=PLATFORM,
        msg_id=msg_id,
        chat_id=chat_id,
        chat_kind=ChatKind.GROUP if group else ChatKind.SINGLE,
        sender_id=sender,
        sender_name=_str(payload.get("senderNick")) or sender,
        text=text[:MAX_TEXT],
        at_bot=at_bot,
        quote_id=quote_id,
        quote_text=quote_text,
        sent_at=sent_at,
        chat_title=_str(payload.get("conversationTitle")),
        reply_handle=handle.to_json(),
        mentions=_mentions(payload),
        attachments=attachments,
    )


def attachments_of(payload: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """The pictures, files, voice and video a message carries, each by its downloadCode
    (content.downloadCode of picture, file, audio and video messages; the picture parts of rich
    text: dingtalk-stream 0.24.3 chatbot.py ImageContent, RichTextContent, get_image_list;
    file names and voice from DingTalk's "receive messages" page)."""
    content = payload.get("content")
    if not isinstance(content, Mapping):
        return ()
    kind = payload.get("msgtype")
    found: list[Attachment] = []
    if kind == "richText":
        parts = content.get("richText")
        for part in parts[:50] if isinstance(parts, list) else []:
            code = _code(part.get("downloadCode")) if isinstance(part, Mapping) else ""
            if code:
                found.append(Attachment("image", "", code))
    elif kind in ("picture", "file", "audio", "video"):
        code = _code(content.get("downloadCode")) or _code(content.get("pictureDownloadCode"))
        if code:
            name = _file_name(content.get("fileName")) if kind == "file" else ""
            found.append(Attachment({"picture": "image", "audio": "voice"}.get(kind, kind),
                                    name, code))
    return tuple(found[:MAX_ATTACHMENTS])


def _file_name(value: Any) -> str:
    """A file's name as shown to people: printable, no folders."""
    name = "".join(c for c in _str(value) if c.isprintable() and c not in "/\\")
    return name.strip()[:200]


def _code(value: Any) -> str:
    code = value.strip() if isinstance(value, str) else ""
    return code if 0 < len(code) <= MAX_CODE and code.isprintable() else ""


def _mentions(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """The staff ids a group message @-mentions, the bot left out: `atUsers` is a list of
    {dingtalkId, staffId}, the bot's entry being the one whose dingtalkId is chatbotUserId
    (dingtalk-stream 0.24.3 chatbot.py ChatbotMessage.from_dict / AtUser)."""
    users = payload.get("atUsers")
    if not isinstance(users, list):
        return ()
    bot = _str(payload.get("chatbotUserId"))
    out: list[str] = []
    for user in users[:50]:
        if not isinstance(user, Mapping) or (bot and _str(user.get("dingtalkId")) == bot):
            continue
        staff = _str(user.get("staffId"))
        if staff and len(staff) <= 64 and staff not in out:
            out.append(staff)
    return tuple(out)


def message_text(payload: Mapping[str, Any]) -> str:
    """The readable text of a message: plain text, the text parts of rich text, or the speech
    recognition of a voice message; "" for pictures, files and unknown types."""
    kind = payload.get("msgtype")
    if kind == "text":
        text = payload.get("text")
        return _str(text.get("content")).strip() if isinstance(text, Mapping) else ""
    content = payload.get("content")
    if not isinstance(content, Mapping):
        return ""
    if kind == "richText":
        parts = content.get("richText")
        if not isinstance(parts, list):
            return ""
        return "".join(_str(p.get("text")) for p in parts if isinstance(p, Mapping)).strip()
    if kind == "audio":
        return _str(content.get("recognition")).strip()
    return ""


def strip_at(text: str, bot_name: str = "") -> str:
    """A group message without the @ of the bot DingTalk may leave at its start."""
    text = text.strip()
    found = _LEADING_AT.match(text)
    if found and bot_name and found.group(1) == bot_name:
        text = text[found.end():]
    return text.strip()


def _quoted(payload: Mapping[str, Any]) -> tuple[str | None, str]:
    """The id and text of the message a reply quotes (field names unverified: tolerant)."""
    text = payload.get("text")
    replied = text.get("repliedMsg") if isinstance(text, Mapping) else None
    if not isinstance(replied, Mapping):
        return None, ""
    content = replied.get("content")
    if isinstance(content, Mapping):
        quoted = _str(content.get("text")) or _str(content.get("content"))
    else:
        quoted = _str(content)
    return _str(replied.get("msgId")) or None, quoted


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _int(value: Any) -> int:
    return plain_int(value) or 0
