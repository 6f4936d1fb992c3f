"""The Platform protocol every chat platform implements, and its send error."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from aiohttp import web

from bot.model import Outgoing
from storage.records import OutboxItem


class SendError(Exception):
    """A failed send. Transient ones are retried with backoff; permanent ones are not."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Platform(Protocol):
    """A chat platform as the app sees it."""

    name: str
    rate_limited: bool  # whether the outbox applies the per-destination limit
    in_store: bool  # whether send() only writes to the bot's own database
    sending: bool  # whether this process sends through it now (False: another replica does)

    @property
    def can_tell(self) -> bool:
        """Whether it can message a person 1:1 (else bot/fallback.py re-routes)."""
        ...

    def routes(self) -> list[web.RouteDef]:
        """HTTP routes this platform serves on the bot's one server."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, item: OutboxItem) -> str:
        """Deliver one message; returns the platform's id for it, or raises SendError."""
        ...


@runtime_checkable
class StoreWriter(Protocol):
    """A platform whose messages are rows of the bot's own database (the local chat): a
    message's replies are written in the transaction that handles it, with no outbox row."""

    def write(self, out: Outgoing) -> str:
        """Write one message by one statement (or fail before writing); returns its id."""
        ...
