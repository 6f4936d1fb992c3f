"""Durable outbound queue: stored first, sent by a worker, rate limited per destination."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import cast

from bot.config import OutboxConfig
from bot.fallback import Fallback
from bot.model import Clock, Outgoing
from bot.platforms.base import Platform, SendError, StoreWriter
from storage.db import DB_ERRORS
from storage.records import OutboxItem
from storage.store import Store

log = logging.getLogger(__name__)
WINDOW = timedelta(minutes=1)
# How long an item being sent stays this process's: should it die mid-send, another process
# sending from the same database takes the item after this.
TAKE_FOR = timedelta(minutes=2)


class Outbox:
    """Sends what the store's outbox holds, in order per destination, never twice."""

    def __init__(self, store: Store, lock: asyncio.Lock, platforms: Mapping[str, Platform],
                 config: OutboxConfig, clock: Clock, admins: tuple[str, ...] = (),
                 holder: str = "bot") -> None:
        self.store = store
        self.holder = holder  # this process, among those sending from the same database
        self.lock = lock
        self.platforms = platforms
        self.config = config
        self.clock = clock
        self.fallback = Fallback(store, admins)
        self.rerouted = 0  # how many undeliverable items were re-routed so far
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Tell the worker that new items were queued."""
        self._wake.set()

    async def deliver(self, ids: Iterable[int]) -> list[tuple[OutboxItem, str]]:
        """Send these items now when their platform allows it (the local chat does);
        returns what was delivered with each platform id. Others are left to the worker."""
        done: list[tuple[OutboxItem, str]] = []
        for item_id in ids:
            item = self.store.outbox_item(item_id)
            platform = self.platforms.get(item.platform) if item else None
            if item is None or item.state != "pending" or platform is None \
                    or not platform.sending:
                continue
            if platform.rate_limited:
                self.wake()
                continue
            ref = await self._send(item, platform)
            if ref is not None:
                done.append((item, ref))
        return done

    def write_now(self, outs: list[Outgoing]) -> list[tuple[Outgoing, str]]:
        """Write the messages of platforms whose messages are rows of the bot's own database
        (the local chat) in the transaction handling a message: one row each, no outbox row.
        Should an adapter fail, they are queued in the outbox for the worker instead."""
        if not outs:
            return []
        done: list[tuple[Outgoing, str]] = []
        try:  # all or none: what a failing adapter half wrote is rolled back
            with self.store.savepoint():
                for out in outs:
                    platform = self.platforms[out.platform]
                    done.append((out, cast(StoreWriter, platform).write(out)))
        except DB_ERRORS:
            raise  # the store failed: the whole message is not handled
        except Exception:  # a bug in an adapter: left to the worker, which retries them
            log.exception("%d message(s) to %s could not be written; queued", len(outs),
                          outs[0].platform)
            for out in outs:
                self.store.enqueue(out)
            self.wake()  # the worker waits for the lock, so for this transaction's commit
            return []
        return done

    async def drain(self) -> int:
        """Send the pending items that are due; returns how many were sent. What could not be
        delivered and was re-routed is sent in the same call (a few passes at most)."""
        sent = 0
        for _ in range(3):  # a 1:1 item re-routed to a group, that one to the admins
            rerouted = self.rerouted
            sent += await self._pass()
            if self.rerouted == rerouted:
                break
        return sent

    async def _pass(self) -> int:
        """One pass over the pending items that are due."""
        now = self.clock.now()
        here = [name for name, p in self.platforms.items() if p.sending]
        items = self.store.due_outbox(now, here)
        blocked: set[tuple[str, str]] = set()
        sent = 0
        for item in self.store.pending_ordered(here, items):
            dest = (item.platform, item.chat_id)
            if dest in blocked:
                continue
            if item.next_at > now:  # an earlier message still waits: keep the order
                blocked.add(dest)
                continue
            platform = self.platforms[item.platform]
            if platform.rate_limited and not self._has_room(item, now):
                blocked.add(dest)
                continue
            if await self._send(item, platform) is None:
                blocked.add(dest)
            else:
                sent += 1
            await asyncio.sleep(0)  # a sender that never waits (the local chat) must not
            # hold the loop through thousands of items (a monthly report to every group)
        return sent

    def _has_room(self, item: OutboxItem, now: datetime) -> bool:
        recent = self.store.sent_since(item.platform, item.chat_id, now - WINDOW)
        return len(recent) < self.config.rate_per_minute

    async def _send(self, item: OutboxItem, platform: Platform) -> str | None:
        # Ours alone while it is sent: another process on the same database skips it, and
        # the later items to the same chat wait behind it (their order holds). The local
        # chat's too: two replicas must not both write the same item into its log.
        # Each write waits its turn while another replica writes, without holding the loop.
        async with self.lock, self.store.turn():
            if not self.store.take_outbox(item.id, self.holder, self.clock.now() + TAKE_FOR):
                return None
        if item.extra.get("to_user") and not platform.can_tell:
            await self._failed(item, SendError(f"{platform.name} cannot send 1:1 messages",
                                               permanent=True))
            return None
        try:
            if platform.in_store:
                async with self.lock, self.store.turn():
                    ref = await platform.send(item)
                    self.store.mark_sent(item.id, ref)
                return ref
            ref = await platform.send(item)
        except SendError as exc:
            await self._failed(item, exc)
            return None
        except Exception as exc:  # a bug in an adapter must not stop the queue
            log.exception("outbox item %s: unexpected send error", item.id)
            await self._failed(item, SendError(repr(exc)))
            return None
        async with self.lock, self.store.turn():
            self.store.mark_sent(item.id, ref)
        return ref

    async def _failed(self, item: OutboxItem, exc: SendError) -> None:
        async with self.lock, self.store.turn():
            if exc.permanent:  # never retried: re-routed instead (see bot/fallback.py)
                log.warning("outbox item %s cannot be delivered: %s", item.id, exc)
                platform = self.platforms.get(item.platform)
                self.store.mark_failed(item.id, str(exc))
                if self.fallback.redirect(item, str(exc),
                                          platform is not None and platform.can_tell):
                    self.rerouted += 1
                self.wake()
                return
            delay = min(self.config.base_delay_seconds * 2 ** item.attempts,
                        self.config.max_delay_seconds)
            if exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
            log.warning("outbox item %s: %s; retry in %.0f s", item.id, exc, delay)
            self.store.mark_retry(item.id, timedelta(seconds=delay), str(exc))

    async def run(self, poll_seconds: float = 1.0) -> None:
        """The worker: drain, then wait for new items, the next due time, or a poll."""
        while True:
            try:
                await self.drain()
            except Exception:
                log.exception("outbox pass failed")
            # asyncio.timeout: a stop that comes with a wake is not lost, as with wait_for
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll_seconds):
                    await self._wake.wait()
            self._wake.clear()
