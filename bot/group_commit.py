"""Group commit: the messages handled in one turn of the event loop share one commit.

A handled message leaves its transaction open and waits, the writer lock released, for a
commit made on the loop's next turn; the messages that are ready meanwhile (requests read in the
same turn) join the same transaction, and one commit makes them all durable. Each message is
answered (HTTP 200, platform ACK) only after that commit, so the durability promise is the one
of a commit per message: nothing acknowledged is lost on kill -9.

Every message's changes sit in a savepoint of their own (a message that raced another replica
rolls back alone, as a failing handler does inside it). A database error fails the whole batch:
it is rolled back and none of its messages is acknowledged, so their senders post them again.

Anyone else who takes the writer lock (the outbox worker, a sweep, the dashboard) finds the
open batch committed first (`WriterLock`), so no other write ever joins it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from storage.base import StoreBase
from storage.db import DB_ERRORS

log = logging.getLogger(__name__)

MAX_BATCH = 32  # messages in one commit at most (they wait for it: a bound on their latency)


class StorageUnavailable(Exception):
    """The database refused a write (disk full, read-only): nothing was handled or stored."""


class WriterLock(asyncio.Lock):
    """The one writer's lock. `acquire` (and `async with`) first commits the messages a group
    commit left open; `join` takes the lock to add a message to them."""

    def __init__(self) -> None:
        super().__init__()
        self.before_others: Callable[[], None] | None = None

    async def acquire(self) -> Literal[True]:
        await super().acquire()
        if self.before_others is not None:
            try:
                self.before_others()
            except BaseException:
                self.release()
                raise
        return True

    async def join(self) -> Literal[True]:
        """Take the lock without committing the open batch (a message joins it)."""
        return await super().acquire()


class GroupCommit:
    """The open batch of handled messages and the messages waiting to join it."""

    def __init__(self, store: StoreBase, lock: WriterLock, max_batch: int = MAX_BATCH) -> None:
        self.store = store
        self.lock = lock
        self.max_batch = max_batch
        self.commits = 0  # batches committed (a measure of the grouping)
        self.open = False  # a batch's transaction is open
        self.size = 0  # messages in the open batch
        self._waiting: list[asyncio.Future[None]] = []  # its messages' answers, held back
        self._flusher: asyncio.Task[None] | None = None
        lock.before_others = self.flush

    async def begin(self) -> None:
        """Join the open batch or open one (under the lock)."""
        if not self.open:
            await self.store.begin_turn()
            self.open, self.size = True, 0

    def settle(self) -> asyncio.Future[None] | None:
        """A message's changes are in the batch (under the lock): a future to await once the
        lock is released, done when the batch commits on the loop's next turn (or failed with
        StorageUnavailable); None when the batch is full and committed now."""
        self.size += 1
        if self.size >= self.max_batch:
            self.flush(raising=True)
            return None
        answer = asyncio.get_running_loop().create_future()
        self._waiting.append(answer)
        if self._flusher is None or self._flusher.done():
            # It runs after what is ready on the loop now: those messages join the batch.
            self._flusher = asyncio.get_running_loop().create_task(self._flush_in_turn())
        return answer

    async def _flush_in_turn(self) -> None:
        await self.settled()

    async def settled(self) -> None:
        """Wait until the open batch is committed (taking the writer lock commits it), e.g.
        before answering a redelivery whose first copy may be in it."""
        if self.open:
            async with self.lock:
                pass

    def flush(self, raising: bool = False) -> None:
        """Commit the open batch and answer its waiting messages (under the lock). A failed
        commit rolls it back and fails them; with `raising`, the caller too."""
        if not self.open:
            return
        try:
            self.store.db.commit()
        except DB_ERRORS as exc:
            log.error("storage unavailable, a batch of %d message(s) not stored: %s",
                      self.size, exc)
            self.fail(exc)
            if raising:
                raise StorageUnavailable(str(exc)) from None
            return
        self.commits += 1
        self._close(None)

    def fail(self, exc: BaseException) -> None:
        """A message of the batch hit a database error: roll the batch back (under the lock);
        the messages waiting in it fail as well."""
        try:
            self.store.db.rollback()
        except DB_ERRORS:  # the connection itself is gone: nothing left to undo
            log.warning("could not roll back a failed batch", exc_info=True)
        self._close(StorageUnavailable(str(exc)))

    def _close(self, exc: BaseException | None) -> None:
        """The batch is over: answer its waiting messages (`exc` None when it committed)."""
        waiting, self._waiting = self._waiting, []
        self.open = False
        for answer in waiting:
            if answer.done():  # its message's task was cancelled meanwhile
                continue
            if exc is None:
                answer.set_result(None)
            else:
                answer.set_exception(exc)
