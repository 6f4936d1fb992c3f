"""The wiring: build the app from config (build_app), serve it (platforms, scheduler, server)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from typing import Any

from aiohttp import web

from bot import runlock
from bot.config import Config, check_exposure
from bot.core import Core
from bot.model import Clock, Incoming, SystemClock
from bot.platforms.local import LocalPlatform
from bot.router import Context
from bot.scheduler import start_scheduler
from bot.text.match_embed import Embedder
from bot.text.parse import Parsed
from bot.web.server import make_web_app
from handlers import ROUTERS
from handlers.admin import remind_summary
from handlers.jobs import Reminder, due, send_one
from storage.checkpoint import Checkpointer
from storage.db import DB_ERRORS, SqliteDatabase
from storage.schema import connect
from storage.store import Store

log = logging.getLogger(__name__)


SWEEP_SLICE = 0.05  # seconds a sweep sends under the writer lock before others get a turn
SWEEP_LOCK = 0x73776565  # b"swee": the advisory lock of the sweep among replicas


class AlreadyRunning(Exception):
    """A second bot on the same database would send everything twice."""


class App(Core):
    """One bot process: the core, its platforms, the scheduler and the HTTP server."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sweeper = self.sweep_later
        self.sweeps: set[asyncio.Task[None]] = set()  # /提醒 sweeps under way

    def sweep_later(self, asked: Incoming, scope: str) -> None:
        """An admin's /提醒: the same sweep as the scheduled one (found off the loop, sent in
        slices), then what it sent told in the admin's chat."""
        task = asyncio.get_running_loop().create_task(self._sweep_for(asked, scope))
        self.sweeps.add(task)
        task.add_done_callback(self.sweeps.discard)

    async def _sweep_for(self, asked: Incoming, scope: str) -> None:
        done = await self.run_jobs()
        try:
            async with self.lock, self.store.turn():
                ctx = self.context(asked, Parsed())
                ctx.reply(remind_summary(ctx, done, scope))
        except DB_ERRORS:
            log.exception("could not tell the result of /提醒")
            return
        self.outbox.wake()

    async def run_jobs(self, dry_run: bool = False) -> list[Reminder]:
        """One reminder-and-report sweep that never holds the loop for long: what is due is
        found, and each report's tally and chart made, in a thread over a read-only
        connection; the reminders then go out in slices of SWEEP_SLICE under the writer
        lock, yielding between them (each checks again that it is still due)."""
        ctx = Context.for_job(self.store, self.clock, self.config, self.routing)
        done: list[Reminder] = []
        # One replica sweeps at a time (each reminder's key is sent once in any case).
        if not dry_run and not self.store.db.try_lock(SWEEP_LOCK):
            log.info("another process sweeps now")
            return done
        try:
            if not dry_run:
                async with self.lock, self.store.turn():
                    self.store.scrub_login_links()
            found = await self.reading(self._due)
            if dry_run:
                return found
            for prepare in dict.fromkeys(r.prepare for r in found if r.prepare):
                await self.reading(prepare)  # once per report, not per group sharing it
            if found:  # re-announcements rank experts: by the matcher built at start-up
                await self.routing.built()
            at = 0
            while at < len(found):
                async with self.lock:
                    began = time.perf_counter()
                    while True:  # at least one per turn
                        async with self.store.turn():  # each in its own transaction
                            sent = send_one(ctx, found[at])
                        if sent:
                            done.append(found[at])
                        at += 1
                        if at == len(found) or time.perf_counter() - began >= SWEEP_SLICE:
                            break
                self.outbox.wake()
                await asyncio.sleep(0)
        except Exception:
            log.exception("scheduled sweep failed")
        finally:
            if not dry_run:
                self.store.db.unlock(SWEEP_LOCK)
        if done:
            log.info("sweep queued %d reminders/reports", len(done))
        return done

    def _due(self, store: Store) -> list[Reminder]:
        """What is due, read over `store` (a worker thread's read-only one, or the bot's)."""
        return due(Context.for_job(store, self.clock, self.config, self.routing))

    async def serve(self, stop: asyncio.Event) -> None:
        """Run the HTTP server, platforms and outbox worker until `stop` is set."""
        # One process per SQLite file; replicas may share a PostgreSQL database.
        lock = None if self.config.storage.url else runlock.acquire(self.config.storage.path)
        if lock is None and not self.config.storage.url \
                and self.config.storage.path != ":memory:":
            raise AlreadyRunning(f"已有一个机器人在使用数据库 {self.config.storage.path}")
        runner = web.AppRunner(make_web_app(self), handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.config.server.host, self.config.server.port)
        await site.start()
        worker = asyncio.create_task(self.outbox.run(), name="outbox")
        checkpoints = None
        if isinstance(self.store.db, SqliteDatabase) and self.store.db.path:
            checkpoints = Checkpointer(self.store.db.path)
            checkpoints.start(self.store.db)
        scheduler = None
        upgrade: asyncio.Task[bool] | None = None
        catch_up: asyncio.Task[list[Reminder]] | None = None
        try:
            for platform in self.platforms.values():
                await platform.start()
            scheduler = start_scheduler(self.config, self.run_jobs)
            # Catch up on whatever fell due while the bot was down, once it is serving.
            catch_up = asyncio.create_task(self.run_jobs(), name="catch-up-sweep")
            self.routing.background = True  # and again after each roster change
            upgrade = asyncio.create_task(self.routing.upgrade(), name="semantic-matcher")
            self.ready = True
            log.info("ready on http://%s:%s", self.config.server.host, self.config.server.port)
            await stop.wait()
        finally:
            self.ready = False
            log.info("stopping")
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            self.routing.background = False
            for task in (upgrade, catch_up, self.routing.upgrading, self.routing.warming):
                if task is not None:
                    task.cancel()
            for platform in self.platforms.values():
                try:
                    async with asyncio.timeout(5):
                        await platform.stop()
                except Exception:
                    log.exception("platform %s did not stop cleanly", platform.name)
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await runner.cleanup()
            if checkpoints is not None:
                checkpoints.stop()
            self.batch.flush()  # what was handled is kept (its answers went nowhere)
            self.store.db.close()
            if lock is not None:
                lock.close()


def build_app(config: Config, clock: Clock | None = None,
              embedder: Embedder | None = None) -> App:
    """The one place that wires the bot together."""
    check_exposure(config)
    clock = clock or SystemClock()
    store = Store(connect(config.storage.target), clock)
    app = App(config, clock, store, ROUTERS, embedder)
    if config.local.enabled:
        app.add_platform(LocalPlatform(app))
    if config.dingtalk.enabled:
        from bot.platforms.dingtalk import DingTalkPlatform

        app.add_platform(DingTalkPlatform(app))
    if config.wecom.enabled:
        from bot.platforms.wecom import WeComPlatform

        app.add_platform(WeComPlatform(app))
    return app


async def run_until_signalled(app: App) -> None:
    """Serve until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await app.serve(stop)


def setup_logging(level: int = logging.INFO) -> None:
    """Logs go to stderr, one line each."""
    logging.basicConfig(
        level=level, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
