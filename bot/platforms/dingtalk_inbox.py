"""DingTalk robot messages kept until handled: stored before the ACK, finished after a stop or
a crash (DingTalk never pushes a robot message again, so nothing else would bring it back)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.core import Core, Handled
from bot.group_commit import StorageUnavailable
from bot.model import Incoming
from bot.platforms.dingtalk_inbound import PLATFORM, to_incoming
from storage.db import DB_ERRORS
from storage.inbox_store import InboxRow
from storage.store import Store

log = logging.getLogger(__name__)
_UNSTORABLE: tuple[type[Exception], ...] = (*DB_ERRORS, ValueError, TypeError, RecursionError)

MAX_STARTS = 3  # a message found left over at this many starts is given up
CANCEL_SECONDS = 1.0  # for the handling cut short at stop to roll back


class Inbox:
    """Takes robot messages on the bot's loop. Each is stored in the `inbox` table (in a small
    transaction under the writer lock) before it is acknowledged, then handled by Core.handle,
    whose transaction removes it. A start finishes what an earlier run left, in arrival order,
    before anything new; a stop finishes what it can within its budget and leaves the rest
    stored for the next start."""

    def __init__(self, app: Core,
                 keep_media: Callable[[Incoming], Awaitable[Incoming]] | None = None,
                 on_handled: Callable[[], None] | None = None) -> None:
        self.app = app
        self.keep_media = keep_media  # downloads a message's pictures and files first
        self.on_handled = on_handled  # told after each message that was handled
        self.tasks: set[asyncio.Task[Any]] = set()
        self.stopping = False
        self._resumed = asyncio.Event()  # cleared while left-over messages are finished
        self._resumed.set()

    def readable(self, payload: Any) -> Incoming | None:
        """The message in a robot payload; None (logged) when there is nothing to handle."""
        msg = to_incoming(payload, self.app.config.bot.name)
        if msg is None:
            info = payload if isinstance(payload, dict) else {}
            log.info("DingTalk message %.64r skipped: nothing readable (msgtype %.40r)",
                     info.get("msgId"), info.get("msgtype"))
        return msg

    # -- arrivals ---------------------------------------------------------------------------

    def spawn(self, payload: dict[str, Any], stored: concurrent.futures.Future[bool]) -> None:
        """On the bot's loop: take a message from the stream; `stored` tells the stream thread
        when it may ACK."""
        task = self.track(asyncio.create_task(self.arrived(payload, stored),
                                              name="dingtalk-message"))
        task.add_done_callback(lambda _task: settle(stored, False))  # cancelled before it ran

    async def arrived(self, payload: dict[str, Any],
                      stored: concurrent.futures.Future[bool]) -> Handled | None:
        """Store a message from the stream, let the stream ACK it, then handle it."""
        kept = False
        msg: Incoming | None = None
        try:
            msg = self.readable(payload)
            if msg is not None:
                kept = await self.keep(msg.msg_id, payload)
        finally:
            settle(stored, kept)
        return None if msg is None else await self.take_turn(msg, kept)

    async def keep(self, msg_id: str, payload: Any) -> bool:
        """Store a message until it is handled; False (logged) when the store refused."""
        try:
            text = json.dumps(payload)
            async with self.app.lock, self.app.store.turn():
                self.app.store.inbox_add(PLATFORM, msg_id, text)
        except _UNSTORABLE as exc:
            log.error("DingTalk message %s could not be stored before its ACK (%s); DingTalk "
                      "will not send it again, so it is lost if it cannot be handled now",
                      msg_id, exc)
            return False
        return True

    async def take_turn(self, msg: Incoming, kept: bool) -> Handled | None:
        """Handle a message once the left-over ones are done; while stopping, a stored one
        waits for the next start."""
        await self._resumed.wait()
        if self.stopping and kept:
            return None
        return await self.finish(msg)

    async def finish(self, msg: Incoming) -> Handled | None:
        """Handle one message; its inbox row goes in the handling's own transaction (or
        right after, for a message handled before)."""

        def record(store: Store) -> str:
            store.inbox_done(PLATFORM, msg.msg_id)
            return ""

        try:
            if msg.attachments and self.keep_media is not None:
                msg = await self.keep_media(msg)
            handled = await self.app.handle(msg, record)
        except StorageUnavailable:  # logged by Core.handle; a stored row stays for next start
            return None
        except Exception:
            log.exception("DingTalk message %s could not be handled", msg.msg_id)
            return None
        if handled.duplicate:
            await self.done(msg.msg_id)
        elif self.on_handled is not None:
            self.on_handled()
        return handled

    async def done(self, msg_id: str) -> None:
        """Remove a message's row outside a handling (a duplicate, an unreadable payload)."""
        try:
            async with self.app.lock, self.app.store.turn():
                self.app.store.inbox_done(PLATFORM, msg_id)
        except DB_ERRORS as exc:  # the next start finds it handled: a dedupe no-op
            log.warning("DingTalk message %s: its inbox row stays (%s)", msg_id, exc)

    # -- start and stop ---------------------------------------------------------------------

    async def resume(self) -> None:
        """At a start: finish the messages an earlier run left, in arrival order, before any
        new one (each new message waits its turn)."""
        self.stopping = False
        try:
            async with self.app.lock:
                rows, given_up = self.app.store.inbox_left_over(PLATFORM, MAX_STARTS)
        except DB_ERRORS as exc:
            log.error("DingTalk messages left by the last run could not be read: %s", exc)
            return
        for row in given_up:
            log.error("DingTalk message %s given up: left over at %d starts in a row (its "
                      "handling may have stopped the bot each time)", row.msg_id, row.starts)
        if rows:
            log.info("DingTalk: %d message(s) left by the last run go first", len(rows))
            self._resumed.clear()
            self.track(asyncio.create_task(self._finish_left_over(rows),
                                           name="dingtalk-left-over"))

    async def _finish_left_over(self, rows: list[InboxRow]) -> None:
        try:
            for row in rows:
                if self.stopping:
                    return
                try:
                    payload = json.loads(row.payload)
                except ValueError:
                    payload = None
                msg = self.readable(payload)
                if msg is None:
                    await self.done(row.msg_id)
                else:
                    await self.finish(msg)
        finally:
            self._resumed.set()

    async def stop(self, budget: float) -> None:
        """Stop taking messages in hand: what is being handled gets `budget` seconds, then is
        cut short (its transaction rolls back); stored messages wait for the next start."""
        self.stopping = True
        if not self.tasks:
            return
        _done, late = await asyncio.wait(set(self.tasks), timeout=max(budget, 0.0))
        if late:
            for task in late:
                task.cancel()
            await asyncio.wait(late, timeout=CANCEL_SECONDS)
            log.warning("%d DingTalk messages cut short at stop; those stored are finished at "
                        "the next start", len(late))

    def track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


def settle(stored: concurrent.futures.Future[bool], kept: bool) -> None:
    """Tell the stream thread whether a message is stored (the first word counts)."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):  # settled meanwhile
        stored.set_result(kept)
