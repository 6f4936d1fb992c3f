"""Typed rows the Store returns: orders, experts, menu items, outbox items, events."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import date, datetime

from bot.model import Attachment


class OrderState(enum.StrEnum):
    """The life of an order; the Chinese word is what users see."""

    OPEN = "open"
    CLAIMED = "claimed"
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    RATED = "rated"
    CANCELLED = "cancelled"
    CLOSED = "closed"

    @property
    def word(self) -> str:
        return _STATE_WORDS[self]


_STATE_WORDS = {
    OrderState.OPEN: "待接单",
    OrderState.CLAIMED: "已接单",
    OrderState.SCHEDULED: "已预约",
    OrderState.COMPLETED: "已办结",
    OrderState.RATED: "已评价",
    OrderState.CANCELLED: "已撤销",
    OrderState.CLOSED: "已关闭",
}


@dataclass(frozen=True)
class NewOrder:
    """What is known of an order when it is opened."""

    platform: str
    chat_id: str
    chat_kind: str
    requester: str
    requester_name: str
    text: str
    summary: str | None = None
    enterprise: str | None = None
    contact: str | None = None
    phone: str | None = None
    deadline: date | None = None
    urgent: bool = False
    category: str | None = None
    service_type: str | None = None
    region: str | None = None
    menu_no: int | None = None
    private: bool = False


@dataclass(frozen=True)
class Order:
    """One order (点单), numbered #no."""

    no: int
    created_at: datetime
    updated_at: datetime
    state: OrderState
    platform: str
    chat_id: str
    chat_kind: str
    requester: str
    requester_name: str
    text: str
    summary: str | None
    enterprise: str | None
    contact: str | None
    phone: str | None
    deadline: date | None
    urgent: bool
    category: str | None
    service_type: str | None
    region: str | None
    menu_no: int | None
    lead: str | None
    claimed_at: datetime | None
    private: bool = False
    announced: tuple[str, ...] = ()
    visit_at: datetime | None = None
    visit_mode: str | None = None
    active_at: datetime | None = None
    completed_at: datetime | None = None
    outcome: str | None = None
    rating: str | None = None
    rating_stars: int | None = None
    rating_comment: str | None = None
    rated_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    excellent: bool = False
    first_claimed_at: datetime | None = None

    @property
    def label(self) -> str:
        """The house-style name of an order: #N."""
        return f"#{self.no}"

    def in_scope(self, scope: str) -> bool:
        """Whether an admin scope ("" for all, "group:<chat id>", "region:<name>") covers
        this order: its own group, or a region its region lies in."""
        if not scope:
            return True
        kind, _, value = scope.partition(":")
        if kind == "group":
            return value == self.chat_id
        return kind == "region" and bool(value) and value in (self.region or "")


OUTCOME_WORDS = {"solved": "已解决", "partial": "部分解决", "unsolved": "未解决"}


@dataclass(frozen=True)
class Session:
    """One service session (服务场次) of an order, with what tallies count."""

    id: int
    order_no: int
    at: datetime
    mode: str | None
    hours: float | None
    suggestions: int | None
    beneficiaries: int | None
    experts: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Expert:
    """One volunteer expert of the roster."""

    id: str
    name: str
    phone: str = ""
    title: str = ""
    team: str = ""
    region: str = ""
    skills: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    capacity: int = 3
    status: str = "active"

    def available(self, today: date) -> bool:
        """Active, or back from a leave that ended before `today`."""
        if self.status == "active":
            return True
        if self.status.startswith("leave:"):
            try:
                return date.fromisoformat(self.status[6:]) < today
            except ValueError:
                return False
        return False

    @property
    def status_word(self) -> str:
        if self.status == "active":
            return "在岗"
        if self.status.startswith("leave:"):
            return f"请假至{self.status[6:]}"
        return "暂停"

    def account_on(self, platform: str) -> str | None:
        """The expert's user id on `platform`, if linked."""
        prefix = platform + ":"
        for acc in self.accounts:
            if acc.startswith(prefix):
                return acc[len(prefix):]
        return None


@dataclass(frozen=True)
class MenuItem:
    """One item of the service menu (服务清单)."""

    no: int
    title: str
    description: str
    provider: str
    category: str
    mode: str
    active: bool = True


@dataclass(frozen=True)
class StoredAttachment:
    """An attachment kept with an order."""

    id: int
    order_no: int
    attachment: Attachment
    platform: str
    at: datetime
    actor: str


BUTTONS = "buttons"  # outbox extra: [[label, text], ...] as JSON (see bot.model.Button)
CARD = "card"  # outbox extra: what the card shows, to refresh it later ("order:12")
ATTACHMENT = "attachment"  # outbox extra: the id of an attachment the message carries


@dataclass(frozen=True)
class OutboxItem:
    """One queued outbound message."""

    id: int
    created_at: datetime
    platform: str
    chat_id: str
    chat_kind: str
    text: str
    mentions: tuple[str, ...]
    in_reply_to: str | None
    extra: dict[str, str]
    state: str
    attempts: int
    next_at: datetime

    @property
    def buttons(self) -> tuple[tuple[str, str], ...]:
        """The (label, text) of each button under it (a card where the platform can)."""
        try:
            raw = json.loads(self.extra.get(BUTTONS, "[]"))
        except ValueError:
            return ()
        return tuple((str(b[0]), str(b[1])) for b in raw if isinstance(b, list) and len(b) == 2)

    @property
    def card(self) -> str:
        return self.extra.get(CARD, "")


@dataclass(frozen=True)
class Event:
    """One audited state change."""

    id: int
    at: datetime
    actor: str
    kind: str
    order_no: int | None
    data: dict[str, object]
