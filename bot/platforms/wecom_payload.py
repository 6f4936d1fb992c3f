"""Pure WeCom AI-bot payload functions: inbound message → Incoming, reply handles, byte splits."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.model import Attachment, ChatKind, Incoming
from bot.platforms.stamps import message_time
from bot.platforms.wecom_media import media_refs

PLATFORM = "wecom"
RESPONSE_URL_LIFETIME = timedelta(hours=1)
MAX_TEXT = 20_000
_LEADING_AT = re.compile(r"^\s*@[^\s@]+[\s\u2005]+")  # "@BotName " (WeCom may use U+2005)
_LEADING_AT_ONLY = re.compile(r"^\s*@[^\s@]+\s*$")


def strip_at(text: str) -> str:
    """Drop a leading "@name " (the bot's display name is not configured, so any name)."""
    stripped = _LEADING_AT.sub("", text, count=1)
    if stripped == text and _LEADING_AT_ONLY.match(text):
        return ""
    return stripped.strip()


def _content(payload: dict[str, Any]) -> str | None:
    """The text a message or quote carries: text, voice transcript, or mixed text parts."""
    kind = payload.get("msgtype")
    if kind in ("text", "voice"):
        part = payload.get(kind)
        content = part.get("content") if isinstance(part, dict) else None
        return content if isinstance(content, str) else None
    if kind == "mixed":
        mixed = payload.get("mixed")
        items = mixed.get("msg_item") if isinstance(mixed, dict) else None
        if not isinstance(items, list):
            return None
        texts = [_content(i) for i in items if isinstance(i, dict) and i.get("msgtype") == "text"]
        joined = "\n".join(t for t in texts if t)
        return joined or None
    return None


def event_type(payload: Any) -> str | None:
    """An event callback's `event.eventtype` (e.g. enter_chat), None when it has none."""
    event = payload.get("event") if isinstance(payload, dict) else None
    kind = event.get("eventtype") if isinstance(event, dict) else None
    return kind if isinstance(kind, str) else None


@dataclass(frozen=True)
class ReplyHandle:
    """How to answer one inbound message: its response_url (single use, 1 h) and ws req_id."""

    msgid: str
    response_url: str = ""
    expires_at: datetime | None = None
    req_id: str = ""

    def encode(self) -> str:
        return json.dumps({
            "msgid": self.msgid, "response_url": self.response_url,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "req_id": self.req_id,
        }, ensure_ascii=False)

    @staticmethod
    def decode(raw: str) -> ReplyHandle | None:
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("msgid"), str):
            return None
        expires = data.get("expires_at")
        try:
            at = datetime.fromisoformat(expires) if isinstance(expires, str) else None
        except ValueError:
            at = None
        return ReplyHandle(
            msgid=data["msgid"], response_url=str(data.get("response_url") or ""),
            expires_at=at, req_id=str(data.get("req_id") or ""),
        )

    def usable(self, now: datetime) -> bool:
        return bool(self.response_url) and (self.expires_at is None or now < self.expires_at)


def _attachments(payload: dict[str, Any], text: str | None) -> tuple[Attachment, ...]:
    """What came with a message besides words: its pictures and files (their url for now;
    the platform downloads them before handling), and a voice message WeCom could not
    transcribe (WeCom sends no sound, doc 100719: so the bot can answer it with a hint)."""
    found = tuple(Attachment(r.kind, "", r.url[:2000], "") for r in media_refs(payload))
    if payload.get("msgtype") == "voice" and not (text or "").strip():
        found += (Attachment("voice"),)
    return found


def to_incoming(payload: Any, received_at: datetime | None = None,
                req_id: str = "") -> Incoming | None:
    """A decrypted AI-bot message callback as an Incoming; None when it is not usable
    (events, stream refreshes, messages with neither words nor media, malformed payloads).
    A picture, file or voice message has its media in `attachments` and may have no text."""
    if not isinstance(payload, dict):
        return None
    msgid = payload.get("msgid")
    sender = payload.get("from")
    userid = sender.get("userid") if isinstance(sender, dict) else None
    if not isinstance(msgid, str) or not msgid or not isinstance(userid, str) or not userid:
        return None
    text = _content(payload)
    attachments = _attachments(payload, text)
    if text is None and not attachments:
        return None
    group = payload.get("chattype") == "group"
    chatid = payload.get("chatid")
    if group and not (isinstance(chatid, str) and chatid):
        return None
    text = strip_at(text or "") if group else text or ""
    text = text.strip()[:MAX_TEXT]
    if not text and not attachments:
        return None
    quote = payload.get("quote")
    quote_text = (_content(quote) or "") if isinstance(quote, dict) else ""
    sent_at = message_time(payload.get("create_time"), millis=None, platform=PLATFORM,
                           field="create_time", msg_id=msgid)
    response_url = payload.get("response_url")
    base = received_at or sent_at
    handle = ReplyHandle(
        msgid=msgid, response_url=response_url if isinstance(response_url, str) else "",
        expires_at=base + RESPONSE_URL_LIFETIME if base else None, req_id=req_id,
    )
    return Incoming(
        platform=PLATFORM, msg_id=msgid,
        chat_id=chatid if group and isinstance(chatid, str) else userid,
        chat_kind=ChatKind.GROUP if group else ChatKind.SINGLE,
        sender_id=userid, sender_name=userid, text=text, at_bot=True,
        quote_text=quote_text, sent_at=sent_at, reply_handle=handle.encode(),
        attachments=attachments,
    )


def split_utf8(text: str, limit: int) -> list[str]:
    """`text` cut into pieces of at most `limit` UTF-8 bytes, never inside a character,
    preferring to cut after a newline."""
    if limit < 4:
        raise ValueError("limit must allow one UTF-8 character")
    pieces: list[str] = []
    rest = text
    while len(rest.encode("utf-8")) > limit:
        data = rest.encode("utf-8")[:limit]
        cut = len(data.decode("utf-8", errors="ignore"))  # whole characters only
        newline = rest.rfind("\n", 0, cut)
        if newline >= cut // 2:
            cut = newline + 1
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest or not pieces:
        pieces.append(rest)
    return pieces
