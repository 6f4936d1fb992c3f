"""Work one bot process at a time does among replicas on one database: a lease it renews."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.cancel import cancel_and_wait
from bot.model import Clock
from storage.db import DB_ERRORS
from storage.store import Store

log = logging.getLogger(__name__)

TTL = timedelta(seconds=20)  # a dead holder's lease lapses after this ...
RENEW_SECONDS = 5.0  # ... and the others try every this often: taken over within 25 s


class Lease:
    """Lease `name` in the store, held by `holder` while it renews it in time."""

    def __init__(self, store: Store, lock: asyncio.Lock, clock: Clock, name: str,
                 holder: str, ttl: timedelta = TTL, renew_seconds: float = RENEW_SECONDS
                 ) -> None:
        self.store = store
        self.lock = lock
        self.clock = clock
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.renew_seconds = renew_seconds
        self.held = False
        self.steps = 0  # attempts so far (tests wait on it)
        self._task: asyncio.Task[None] | None = None

    async def step(self) -> bool:
        """Take or renew the lease once; whether it is ours now. A database that cannot be
        reached counts as lost: another process may take it meanwhile."""
        self.steps += 1
        try:
            # While another replica writes, the turn waits for it without holding the loop.
            async with self.lock, self.store.turn():
                self.held = self.store.hold_lease(self.name, self.holder,
                                                  self.clock.now() + self.ttl)
        except DB_ERRORS as exc:
            log.warning("lease %s could not be renewed: %s", self.name, exc)
            self.held = False
        return self.held

    def keep(self, gained: Callable[[], Awaitable[None]],
             lost: Callable[[], Awaitable[None]]) -> None:
        """Renew in the background: `gained` runs when the lease becomes ours, `lost` when it
        stops being ours."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._keep(gained, lost), name=f"lease-{self.name}")

    async def _keep(self, gained: Callable[[], Awaitable[None]],
                    lost: Callable[[], Awaitable[None]]) -> None:
        ours = False
        while True:
            now_ours = await self.step()
            if now_ours and not ours:
                log.info("lease %s taken by this process (%s)", self.name, self.holder)
                await gained()
            elif ours and not now_ours:
                log.warning("lease %s lost: this process stops its part", self.name)
                await lost()
            ours = now_ours
            await asyncio.sleep(self.renew_seconds)

    async def release(self) -> None:
        """Stop renewing and give the lease up, so another process takes it at once."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self.held:
            self.held = False
            with contextlib.suppress(*DB_ERRORS):
                async with self.lock, self.store.turn():
                    self.store.drop_lease(self.name, self.holder)
