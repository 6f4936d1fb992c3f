"""The app: wiring (build_app), message handling with dedupe and the error policy, run()."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from bot import runlock
from bot.config import Config, check_exposure
from bot.matching import Routing
from bot.model import Clock, Incoming, SystemClock
from bot.outbox import Outbox
from bot.platforms.base import Platform
from bot.router import BotError, Context, Router, find_route
from bot.scheduler import start_scheduler
from bot.text.match_embed import Embedder
from bot.text.parse import Parsed, parse
from storage.checkpoint import Checkpointer
from storage.records import OutboxItem
from storage.schema import connect
from storage.store import Store

if TYPE_CHECKING:
    from handlers.jobs import Reminder

log = logging.getLogger(__name__)

APOLOGY = "抱歉，处理这条消息时出了点问题，已记录下来。请稍后再试，或联系管理员。"
_ORDER_REF = re.compile(r"#(\d{1,9})")


class StorageUnavailable(Exception):
    """The database refused a write (disk full, read-only): nothing was handled or stored."""


class AlreadyRunning(Exception):
    """A second bot on the same database would send everything twice."""


@dataclass(frozen=True)
class Handled:
    """The outcome of handling one message."""

    duplicate: bool
    ref: str = ""
    sent: list[int] = field(default_factory=list)
    delivered: list[tuple[OutboxItem, str]] = field(default_factory=list)  # in-store sends


class App:
    """One bot process: store, routers, outbox, platforms and the HTTP server."""

    def __init__(self, config: Config, clock: Clock, store: Store,
                 routers: tuple[Router, ...], embedder: Embedder | None = None) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.routers = routers
        self.lock = asyncio.Lock()  # one writer: every store write happens under it
        self.platforms: dict[str, Platform] = {}
        self.outbox = Outbox(store, self.lock, self.platforms, config.outbox, clock)
        self.routing = Routing(store, embedder)
        self.ready = False

    def add_platform(self, platform: Platform) -> None:
        self.platforms[platform.name] = platform

    async def handle(self, msg: Incoming,
                     record: Callable[[Store], str] | None = None) -> Handled:
        """Handle one inbound message exactly once.

        The dedupe record, `record`'s write (the platform's own log, if any), the handler's
        changes and its queued replies commit together, so a crash either loses nothing or
        repeats nothing. Returns the ids of the outbox items the handling queued.
        """
        parsed = parse(msg.text, msg.sent_at or self.clock.now())
        if parsed.intent == "new_order":
            # Model work off the loop, before the lock (a group's default region aside).
            await self.routing.prefetch(msg.text, parsed.region, self.config.bot.announce_top)
        async with self.lock:
            ref = self.store.seen(msg.platform, msg.msg_id)
            if ref is not None:
                log.info("duplicate %s message %s ignored", msg.platform, msg.msg_id)
                return Handled(duplicate=True, ref=ref)
            ctx = self.context(msg, parsed)
            try:
                with self.store.tx():
                    ref = record(self.store) if record else ""
                    self.store.mark_seen(msg.platform, msg.msg_id, ref)
                    self.store.remember_chat(msg.platform, msg.chat_id, msg.chat_kind.value,
                                             msg.chat_title, msg.reply_handle)
                    await self._dispatch(msg, ctx)
                    delivered = await self.outbox.send_in_store(ctx.sent)
            except sqlite3.Error as exc:
                log.error("storage unavailable, %s message %s not handled: %s",
                          msg.platform, msg.msg_id, exc)
                raise StorageUnavailable(str(exc)) from None
        if len(delivered) < len(ctx.sent):
            self.outbox.wake()
        return Handled(duplicate=False, ref=ref, sent=ctx.sent, delivered=delivered)

    def context(self, msg: Incoming, parsed: Parsed) -> Context:
        quoted = _ORDER_REF.search(msg.quote_text) if msg.quote_text else None
        return Context(
            store=self.store, clock=self.clock, config=self.config, msg=msg, parsed=parsed,
            quoted_order=int(quoted.group(1)) if quoted else None,
            routers=self.routers, routing=self.routing,
        )

    async def _dispatch(self, msg: Incoming, ctx: Context) -> None:
        """Run the first matching handler under the error policy."""
        route = find_route(self.routers, msg, ctx)
        if route is None:  # the routers end with a catch-all; this is a safety net
            log.error("no handler for message %s", msg.msg_id)
            ctx.reply(APOLOGY)
            return
        try:
            with self.store.savepoint():  # a failing handler leaves no half change
                queued = len(ctx.sent)
                try:
                    await route.handler(msg, ctx)
                except BaseException:
                    del ctx.sent[queued:]
                    raise
        except BotError as exc:
            ctx.reply(exc.message)
        except sqlite3.Error:
            raise  # the store itself failed: nothing can be answered or recorded
        except Exception:
            log.exception("handler %s failed on message %s", route.handler.__name__, msg.msg_id)
            ctx.reply(APOLOGY)

    async def run_jobs(self, dry_run: bool = False) -> list[Reminder]:
        """One reminder-and-report sweep, under the writer lock."""
        from handlers.jobs import sweep

        async with self.lock:
            ctx = Context.for_job(self.store, self.clock, self.config, self.routing)
            try:
                done = sweep(ctx, dry_run=dry_run)
            except Exception:
                log.exception("scheduled sweep failed")
                return []
        if done and not dry_run:
            log.info("sweep queued %d reminders/reports", len(done))
        self.outbox.wake()
        return done

    async def serve(self, stop: asyncio.Event) -> None:
        """Run the HTTP server, platforms and outbox worker until `stop` is set."""
        from bot.web.server import make_web_app

        lock = runlock.acquire(self.config.storage.path)
        if lock is None and self.config.storage.path != ":memory:":
            raise AlreadyRunning(f"another bot is already running on {self.config.storage.path}")
        runner = web.AppRunner(make_web_app(self), handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.config.server.host, self.config.server.port)
        await site.start()
        worker = asyncio.create_task(self.outbox.run(), name="outbox")
        checkpoints = None
        if self.config.storage.path != ":memory:":
            checkpoints = Checkpointer(self.config.storage.path)
            checkpoints.start(self.store.db)
        scheduler = None
        upgrade: asyncio.Task[bool] | None = None
        catch_up: asyncio.Task[list[Reminder]] | None = None
        try:
            for platform in self.platforms.values():
                await platform.start()
            scheduler = start_scheduler(self, self.run_jobs)
            # Catch up on whatever fell due while the bot was down, once it is serving.
            catch_up = asyncio.create_task(self.run_jobs(), name="catch-up-sweep")
            upgrade = asyncio.create_task(self.routing.upgrade(), name="semantic-matcher")
            self.ready = True
            log.info("ready on http://%s:%s", self.config.server.host, self.config.server.port)
            await stop.wait()
        finally:
            self.ready = False
            log.info("stopping")
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            for task in (upgrade, catch_up):
                if task is not None:
                    task.cancel()
            for platform in self.platforms.values():
                try:
                    await asyncio.wait_for(platform.stop(), timeout=5)
                except Exception:
                    log.exception("platform %s did not stop cleanly", platform.name)
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await runner.cleanup()
            if checkpoints is not None:
                checkpoints.stop()
            self.store.db.close()
            if lock is not None:
                lock.close()


def build_app(config: Config, clock: Clock | None = None,
              embedder: Embedder | None = None) -> App:
    """The one place that wires the bot together."""
    from bot.platforms.local import LocalPlatform
    from handlers import ROUTERS

    check_exposure(config)
    clock = clock or SystemClock()
    store = Store(connect(config.storage.path), clock)
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
