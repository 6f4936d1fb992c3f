"""Test doubles: FakeChat (a Platform driven by tests), FrozenClock, and app builders."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import App, build_app
from bot.config import BotConfig, Config, LocalConfig, StorageConfig
from bot.model import SHANGHAI, Attachment, ChatKind, FrozenClock, Incoming
from bot.platforms.base import SendError
from storage.records import Expert, OutboxItem

__all__ = ["T0", "Client", "FakeChat", "FrozenClock", "Sent", "make_app", "post_local"]

Client = TestClient[web.Request, web.Application]

FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
T0 = datetime(2026, 5, 6, 10, 0, tzinfo=SHANGHAI)  # a Wednesday morning


@dataclass(frozen=True)
class Sent:
    """One message the bot sent through the fake platform."""

    chat: str
    text: str
    mentions: tuple[str, ...]
    to_user: str | None
    buttons: tuple[tuple[str, str], ...] = ()  # (label, text) of a card's buttons
    card: str = ""


class FakeChat:
    """A Platform whose traffic is driven by tests: `await chat.say(...)` returns the replies."""

    rate_limited = False
    in_store = False
    sending = True
    can_tell = True

    def __init__(self, app: App, name: str = "fake") -> None:
        self.name = name
        self.app = app
        self.sent: list[Sent] = []
        self.fail_next: list[SendError] = []
        self._ids = itertools.count(1)
        app.add_platform(self)

    def routes(self) -> list[web.RouteDef]:
        return []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, item: OutboxItem) -> str:
        if self.fail_next:
            raise self.fail_next.pop(0)
        to_user = item.extra.get("to_user")
        if item.chat_kind == "group" and not to_user:  # every group post of every test
            assert not FULL_PHONE.search(item.text), f"full phone number in a group: {item.text}"
        self.sent.append(Sent(to_user or item.chat_id, item.text, item.mentions, to_user,
                              item.buttons, item.card))
        return f"out-{len(self.sent)}"

    async def say(self, text: str, sender: str = "u1", chat: str = "g1", *,
                  name: str | None = None, single: bool = False, msg_id: str | None = None,
                  quote_text: str = "", mentions: tuple[str, ...] = (),
                  attachments: tuple[Attachment, ...] = ()) -> list[Sent]:
        """Post `text` as `sender` (@-mentioning the bot) and return what the bot sent."""
        before = len(self.sent)
        msg = Incoming(
            platform=self.name, msg_id=msg_id or f"m{next(self._ids)}",
            chat_id=f"dm-{sender}" if single else chat,
            chat_kind=ChatKind.SINGLE if single else ChatKind.GROUP,
            sender_id=sender, sender_name=name or sender, text=text, quote_text=quote_text,
            mentions=mentions, attachments=attachments,
        )
        handled = await self.app.handle(msg)
        rerouted = self.app.outbox.rerouted
        await self.app.outbox.deliver(handled.sent)
        if self.app.outbox.rerouted != rerouted:  # what could not go 1:1 went elsewhere
            await self.app.outbox.drain()
        return self.sent[before:]


def make_app(tmp_path: Path, clock: FrozenClock | None = None, *,
             admins: tuple[str, ...] = ("fake:admin",), local: bool = False,
             url: str = "") -> App:
    """An app on a fresh database in `tmp_path` (or the PostgreSQL one at `url`), with a
    frozen clock."""
    config = replace(
        Config(),
        storage=StorageConfig(path=str(tmp_path / "bot.db"), url=url),
        bot=BotConfig(admins=admins),
        local=LocalConfig(enabled=local),
    )
    return build_app(config, clock or FrozenClock(T0))


# The group chat each platform's tests talk in (FakeChat and the local chat, the doubles).
DEFAULT_GROUP = {"wecom": "wrgroup1", "dingtalk": "cidGroupDeqing01"}


def add_expert(app: App, eid: str, name: str, skills: tuple[str, ...], *,
               platform: str = "fake", region: str = "浙江省湖州市德清县",
               title: str = "高级技师", team: str = "综合组",
               groups: tuple[str, ...] | None = None) -> Expert:
    """Put one expert on the roster, linked to `platform:eid`, and a member of `groups`
    (as if the bot had seen them write there; by default the group the platform's tests
    use)."""
    if groups is None:
        groups = (DEFAULT_GROUP.get(platform, "g1"),)
    e = Expert(id=eid, name=name, skills=skills, tags=(), title=title, team=team,
               region=region, accounts=(f"{platform}:{eid}",))
    app.store.upsert_expert(e, actor="test")
    for group in groups:
        app.store.saw(platform, group, (eid,))
    return e


async def post_local(client: Client, **body: Any) -> dict[str, Any]:
    """POST one message to the local API; it must answer 200."""
    resp = await client.post("/api/local/messages", json=body)
    assert resp.status == 200, await resp.text()
    data: dict[str, Any] = await resp.json()
    return data
