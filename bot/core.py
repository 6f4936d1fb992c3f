"""The core that handles one message: dedupe, parse, route to a handler, queue the replies.

It knows no particular platform: platforms hand it an `Incoming` and send what its outbox
holds through the `Platform` protocol; the wiring (bot/app.py) builds it and serves it."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from bot import charts
from bot.config import Config
from bot.group_commit import GroupCommit, StorageUnavailable, WriterLock
from bot.matching import Routing
from bot.model import ChatKind, Clock, Incoming, Outgoing
from bot.outbox import Outbox
from bot.platforms.base import Platform, StoreWriter
from bot.router import BotError, Context, Router, find_route
from bot.text.match_embed import Embedder
from bot.text.parse import Parsed, parse
from storage.db import DB_ERRORS
from storage.store import Store

T = TypeVar("T")

log = logging.getLogger(__name__)

APOLOGY = "抱歉，处理这条消息时出了点问题，已记录下来。请稍后再试，或联系管理员。"
_ORDER_REF = re.compile(r"#(\d{1,9})")


async def _chart_library_loaded() -> None:
    """Load the chart library and its font off the loop before a command that draws a chart
    is handled (the first time takes up to 0.2 s); a bot that never draws a chart never pays
    their 10 MiB."""
    try:
        await asyncio.to_thread(charts.prepare)
    except Exception:  # the chart is an extra: the figures still go out
        log.warning("could not prepare the chart library", exc_info=True)


def _retrieved(answer: asyncio.Future[None]) -> None:
    """Read a batch's outcome even when its message's task was cancelled meanwhile."""
    if not answer.cancelled():
        answer.exception()


class _Raced(Exception):
    """Another process recorded the message first: roll back and answer as a duplicate."""


@dataclass(frozen=True)
class Handled:
    """The outcome of handling one message."""

    duplicate: bool
    ref: str = ""
    sent: list[int] = field(default_factory=list)
    written: list[tuple[Outgoing, str]] = field(default_factory=list)  # the local chat's


class Core:
    """The store, the routers, the outbox and the platforms it sends through."""

    def __init__(self, config: Config, clock: Clock, store: Store,
                 routers: tuple[Router, ...], embedder: Embedder | None = None) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.routers = routers
        self.lock = WriterLock()  # one writer: every store write happens under it
        self.batch = GroupCommit(store, self.lock)  # messages handled in a row share a commit
        self.platforms: dict[str, Platform] = {}
        self._writers: set[str] = set()  # those whose messages are rows of the bot's database
        # This process among the bot's replicas on one database (outbox items, leases).
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.outbox = Outbox(store, self.lock, self.platforms, config.outbox, clock,
                             config.bot.admins, self.holder)
        self.routing = Routing(store, embedder, lock=self.lock)
        self.ready = False  # serving: /healthz answers 200
        # Starts the reminder sweep in the background for an admin's /提醒 (set by App).
        self.sweeper: Callable[[Incoming, str], None] | None = None

    def add_platform(self, platform: Platform) -> None:
        self.platforms[platform.name] = platform
        if isinstance(platform, StoreWriter):  # (a protocol check is slow: once, here)
            self._writers.add(platform.name)
        else:
            self._writers.discard(platform.name)

    async def handle(self, msg: Incoming,
                     record: Callable[[Store], str] | None = None) -> Handled:
        """Handle one inbound message exactly once.

        The dedupe record, `record`'s write (the platform's own log, if any), the handler's
        changes and its queued replies commit together, so a crash either loses nothing or
        repeats nothing; the messages handled in the same turn of the loop share that commit
        (bot/group_commit.py). Returns once the commit is done, with the ids of the outbox
        items the handling queued.
        """
        parsed = parse(msg.text, msg.sent_at or self.clock.now())
        # At start-up, whatever may rank experts (an order, /指派, an order's addition) waits
        # for the matcher being built rather than build a lexical one beside it (at most
        # BUILD_WAIT; at once whenever there is a matcher).
        await self.routing.built()
        if parsed.intent == "new_order":
            # Model work off the loop, before the lock (a group's default region aside).
            await self.routing.prefetch(msg.text, parsed.region, self.config.bot.announce_top)
        elif parsed.command == "stats":
            await _chart_library_loaded()
        await self.lock.join()
        try:
            handled, answer = await self._handle_joined(msg, parsed, record)
        finally:
            self.lock.release()
        if answer is not None:  # the batch commits on the loop's next turn
            answer.add_done_callback(_retrieved)
            await asyncio.shield(answer)
        if handled.sent:
            self.outbox.wake()
        return handled

    async def _handle_joined(self, msg: Incoming, parsed: Parsed,
                             record: Callable[[Store], str] | None
                             ) -> tuple[Handled, asyncio.Future[None] | None]:
        """`handle` under the writer lock: the message's changes join the open batch."""
        ref = self.store.seen(msg.platform, msg.msg_id)  # a redelivery stops here, cheaply
        if ref is not None:
            self.batch.flush(raising=True)  # the first copy may wait in the open batch
            log.info("duplicate %s message %s ignored", msg.platform, msg.msg_id)
            return Handled(duplicate=True, ref=ref), None
        ctx = self.context(msg, parsed)
        try:
            await self.batch.begin()
            with self.store.savepoint():  # this message alone rolls back when it races
                # Another process may have handled it since the look above (replicas).
                if self.store.seen(msg.platform, msg.msg_id) is not None:
                    raise _Raced
                ref = record(self.store) if record else ""
                if not self.store.mark_seen(msg.platform, msg.msg_id, ref):
                    raise _Raced
                self.store.remember_chat(msg.platform, msg.chat_id, msg.chat_kind.value,
                                         msg.chat_title, msg.reply_handle)
                if msg.chat_kind is ChatKind.GROUP:  # who is in the group, for fallbacks
                    self.store.saw(msg.platform, msg.chat_id, (msg.sender_id, *msg.mentions))
                await self._dispatch(msg, ctx)
                written = self.outbox.write_now(ctx.written)
        except _Raced:
            self.batch.flush(raising=True)
            log.info("duplicate %s message %s ignored (handled elsewhere)", msg.platform,
                     msg.msg_id)
            return Handled(duplicate=True, ref=self.store.seen(msg.platform, msg.msg_id)
                           or ""), None
        except DB_ERRORS as exc:
            self.batch.fail(exc)
            log.error("storage unavailable, %s message %s not handled: %s",
                      msg.platform, msg.msg_id, exc)
            raise StorageUnavailable(str(exc)) from None
        except BaseException:
            self.batch.flush()  # the others' changes stand
            raise
        answer = self.batch.settle()
        return Handled(duplicate=False, ref=ref, sent=ctx.sent, written=written), answer

    async def reading(self, fn: Callable[[Store], T]) -> T:
        """Long read-only work (a sweep's search, a report, an export) in a worker thread over
        a read-only connection of its own, so the loop keeps answering; on the loop over the
        store itself when the database is in memory and has no second connection."""
        with self.store.reader() as db:
            if db is None:
                return fn(self.store)
            return await asyncio.to_thread(fn, Store(db, self.clock))

    def context(self, msg: Incoming, parsed: Parsed) -> Context:
        quoted = _ORDER_REF.search(msg.quote_text) if msg.quote_text else None
        return Context(
            store=self.store, clock=self.clock, config=self.config, msg=msg, parsed=parsed,
            quoted_order=int(quoted.group(1)) if quoted else None,
            routers=self.routers, routing=self.routing, sweep_later=self.sweeper,
            instant=frozenset(name for name in self._writers
                              if (p := self.platforms[name]).in_store and p.sending
                              and not p.rate_limited),
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
                queued, written = len(ctx.sent), len(ctx.written)
                try:
                    await route.handler(msg, ctx)
                except BaseException:
                    del ctx.sent[queued:], ctx.written[written:]
                    raise
        except BotError as exc:
            ctx.reply(exc.message)
        except DB_ERRORS:
            raise  # the store itself failed: nothing can be answered or recorded
        except Exception:
            log.exception("handler %s failed on message %s", route.handler.__name__, msg.msg_id)
            ctx.reply(APOLOGY)
