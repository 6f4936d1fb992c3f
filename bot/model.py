"""Platform-neutral message types and the injected clock."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class ChatKind(enum.StrEnum):
    """Whether a message comes from a group or a 1:1 chat."""

    GROUP = "group"
    SINGLE = "single"


@dataclass(frozen=True)
class Mention:
    """A user @-mentioned in an outgoing message."""

    user_id: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    """A picture, file or voice message that came with a message."""

    kind: str  # "image" | "file" | "voice" | "video"
    name: str = ""  # the file name, when the platform gives one
    ref: str = ""  # the platform's own handle (media id, download code), to fetch it again
    path: str = ""  # where the bot keeps its copy (relative to the data folder), if it does

    @property
    def word(self) -> str:
        """What users call it: 图片, 文件, 语音, 视频."""
        return {"image": "图片", "file": "文件", "voice": "语音", "video": "视频"}.get(
            self.kind, "附件")


@dataclass(frozen=True)
class Incoming:
    """One inbound chat message, as every platform hands it to the app."""

    platform: str
    msg_id: str
    chat_id: str
    chat_kind: ChatKind
    sender_id: str
    sender_name: str
    text: str
    at_bot: bool = True
    quote_id: str | None = None
    quote_text: str = ""  # text of the quoted message, when the platform gives it
    sent_at: datetime | None = None
    chat_title: str = ""
    reply_handle: str = ""  # platform data needed to answer (session webhook, response_url)
    mentions: tuple[str, ...] = ()  # users @-mentioned in it (the bot itself left out)
    attachments: tuple[Attachment, ...] = ()  # pictures, files, voice that came with it

    @property
    def account(self) -> str:
        """The sender as `platform:user_id`, the form used in rosters and admin lists."""
        return f"{self.platform}:{self.sender_id}"


@dataclass(frozen=True)
class Button:
    """A button under a post: pressing it sends `text` as the presser, in the post's chat,
    exactly as if they had typed it (`接单 12`)."""

    label: str
    text: str


@dataclass(frozen=True)
class Outgoing:
    """One outbound message: a chat, a text, and the users it @-mentions."""

    platform: str
    chat_id: str
    text: str
    mentions: tuple[str, ...] = ()
    chat_kind: ChatKind = ChatKind.GROUP
    in_reply_to: str | None = None
    to_user: str | None = None  # set for a 1:1 message to this user (chat_id is then ignored)
    extra: dict[str, str] = field(default_factory=dict)
    buttons: tuple[Button, ...] = ()  # shown as a card where the platform can; text stays
    card: str = ""  # what the card shows, to refresh it later ("order:12")


class Clock(Protocol):
    """Source of the current time: an aware datetime in Asia/Shanghai."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def __init__(self, tz: ZoneInfo = SHANGHAI) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FrozenClock:
    """A clock that only moves when told to; used by tests and `--now`."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(SHANGHAI)

    def now(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        self._at = self._at + timedelta(**delta)

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(SHANGHAI)
