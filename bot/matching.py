"""Choosing the experts to @-mention for an order: the matcher over the store's roster."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

from bot.heap import trim_heap
from bot.stored_vectors import StoredVectors
from bot.text.match import ExpertProfile, Match, Matcher, embedding_text
from bot.text.match_embed import Embedder, model_id
from bot.text.match_taxonomy import Entry, default_taxonomy, extended
from storage.records import Expert, MenuItem
from storage.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
# Above this many experts the semantic layer stays off: embedding the roster would take
# minutes of CPU and hundreds of MB, and the lexical ranker alone meets the targets there.
SEMANTIC_MAX_EXPERTS = 2_000
# Experts a big roster embeds per step in the background (about 0.15 s each on one core).
WARM_BATCH = 8
REBUILD_OFF_LOOP = 2_000  # a bigger roster's index is rebuilt in a thread after a change
# An order that comes while the matcher is built at start-up waits this long for it (a
# restart with stored vectors builds 1,000 experts in about a second), before a lexical
# matcher is built beside it for the time being.
BUILD_WAIT = 2.0


@dataclass(frozen=True)
class Suggestion:
    """An expert worth asking, with the reasons shown to people."""

    expert: Expert
    score: float
    reasons: tuple[str, ...]
    sure: bool = True  # False: the best fit is weak; the bot hedges and asks the admins


PRIVATE_NEED = "职工个人需求"


def shown_of(private: bool, category: str) -> str:
    """What a reason may quote of a served order instead of its text ("" = its text): a
    worker's private need only by its category. The text still teaches the matcher."""
    if not private:
        return ""
    return f"{PRIVATE_NEED}（{category}）" if category else PRIVATE_NEED


def _profile(e: Expert, today: date, menu: list[MenuItem],
             history: list[tuple[str, bool, str]], load: int) -> ExpertProfile:
    offered = [f"{m.title} {m.description}" for m in menu
               if m.active and m.provider in (e.id, e.name, e.team) and m.provider]
    return ExpertProfile(
        id=e.id, name=e.name, skills=e.skills, tags=e.tags, title=e.title, team=e.team,
        region=e.region, bio="；".join(offered), history=tuple(t for t, _, _ in history),
        history_shown=tuple(shown_of(p, c) for _, p, c in history),
        capacity=max(e.capacity, 1), open_load=load, active=e.available(today),
    )


async def _in_daemon_thread(fn: Callable[[], T]) -> T:
    """Run `fn` in a daemon thread: unlike the default executor, a stopping bot never
    waits for it (embedding a big roster can take minutes)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def work() -> None:
        result: T | None = None
        error: BaseException | None = None
        try:
            result = fn()
        except BaseException as exc:  # handed over to the awaiting coroutine
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(_settle, done, result, error)

    threading.Thread(target=work, name="semantic-matcher", daemon=True).start()
    return await done


def _settle(fut: asyncio.Future[T], result: T | None, exc: BaseException | None) -> None:
    if fut.done():
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(result)  # type: ignore[arg-type]


# Orders are embedded ahead on threads of their own, as many as the cores (the model runs on
# one core per call): more at once only shared the cores, so each order waited longer, and
# the default pool's other jobs queued behind them (1,000 experts, 8 clients, two cores:
# p99 168-182 ms on the default pool, 149-151 ms on two threads, 2026-12-07).
EMBED_THREADS = max(1, min(4, os.cpu_count() or 1))
_embed_pool: ThreadPoolExecutor | None = None
_embed_pool_lock = threading.Lock()


def embed_pool() -> ThreadPoolExecutor:
    """The process's threads for embedding orders ahead of handling (made on first use)."""
    global _embed_pool
    with _embed_pool_lock:
        if _embed_pool is None:
            _embed_pool = ThreadPoolExecutor(EMBED_THREADS, thread_name_prefix="embed")
        return _embed_pool


class Routing:
    """Keeps a Matcher in step with the roster: rebuilt when the roster or menu changes
    (also by another process, e.g. `diandan experts import`), loads refreshed per query.

    With an `embedder`, the semantic layer joins in: at once when `eager` (the CLI), else
    built by `upgrade()` in a worker thread while the lexical matcher answers meanwhile
    (embedding a roster takes ~80 ms an expert, too long to block the bot's loop).

    Profile vectors are kept in the store (StoredVectors) and reused by the next start or
    command; the bot writes them under its writer `lock`, a few hundred rows at a time."""

    def __init__(self, store: Store, embedder: Embedder | None = None,
                 eager: bool = False, lock: asyncio.Lock | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.eager = eager
        self.lock = lock
        self._vectors = StoredVectors(store)
        if eager:  # the CLI: nothing else writes over this connection, keep them at once
            self._vectors.on_save = self._vectors.flush
        self._version: tuple[str, date] | None = None
        self._seen: tuple[tuple[int, int, int], date] | None = None
        self._building: threading.Event | None = None  # set while the start-up build runs
        self._adopted: asyncio.Event | None = None  # set once that build is over
        self._built: tuple[Routing, Matcher, bool] | None = None
        # The serving bot: after a roster change the semantic matcher is built again in a
        # thread (the lexical one answers meanwhile); set by App.serve.
        self.background = False
        self.upgrading: asyncio.Task[bool] | None = None
        self.warming: asyncio.Task[int] | None = None  # a big roster's vectors, after start
        self._warming = threading.Lock()  # one thread embeds profiles ahead of orders
        self._matcher: Matcher | None = None
        self._semantic = False  # whether the current matcher has the embedder
        self._profiles: dict[str, ExpertProfile] = {}
        self._experts: dict[str, Expert] = {}
        self._taxonomy = default_taxonomy()

    def _fresh(self) -> Matcher:
        if self._building is not None and self._building.is_set():
            self._adopt()  # the thread is done; its task will find nothing left to adopt
        # While the start-up build is under way, an order is ranked by a lexical matcher
        # built now (a fraction of a second) rather than wait on the loop for the thread.
        today = self.store.clock.now().date()
        seen = (self.store.changes(), today)
        if self._matcher is not None and seen == self._seen:
            return self._matcher  # nothing that matters changed since the last query
        before, self._seen = self._seen, seen
        (roster, _loads, data), _ = seen
        if (self._matcher is None or before is None or before[1] != today
                or before[0][0] != roster or before[0][2] != data):
            version = (self.store.roster_version(), today)  # the roster may have changed
            if (self._matcher is not None and version != self._version and self.background
                    and len(self._profiles) > REBUILD_OFF_LOOP):
                # A big roster changed (an import): answer with the current index a moment
                # longer and build the new one in a thread (2 s for 10,000 experts).
                self._version = None  # whatever the thread reads is newer: adopt it
                self._upgrade_later(rebuild=True)
            elif self._matcher is None or version != self._version:
                self._load_roster(today)
                use = self.embedder if self.eager and len(
                    self._profiles) <= SEMANTIC_MAX_EXPERTS else None
                self._matcher = Matcher(list(self._profiles.values()), embedder=use,
                                        taxonomy=self._taxonomy,
                                        vectors=self._vectors if use is not None else None)
                if use is not None:
                    self._vectors.prune_later(model_id(use), self._matcher.vector_keys())
                self._semantic = use is not None
                self._version = version
                if use is None and self.background and self.embedder is not None:
                    self._upgrade_later()
        assert self._matcher is not None
        full = before is None or before[0][2] != data or before[0][0] != roster
        self._refresh_loads(full)
        return self._matcher

    def _upgrade_later(self, rebuild: bool = False) -> None:
        """Build the semantic matcher again in a thread (the stored profile vectors make it
        quick), or with `rebuild` whatever matcher the roster calls for, unless a build is
        under way."""
        if self._building is not None or (self.upgrading is not None
                                          and not self.upgrading.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.upgrading = loop.create_task(self.upgrade(rebuild), name="matcher-again")

    def _refresh_loads(self, full: bool) -> None:
        """Bring the experts' open loads up to date: all of them after a change by another
        process, else only those this process's changes touched."""
        assert self._matcher is not None
        touched = self.store.touched_experts | {
            eid for no in self.store.touched_orders for eid, _ in self.store.team_of(no)}
        self.store.touched_experts.clear()
        self.store.touched_orders.clear()
        if full:
            loads = self.store.open_loads()
        else:
            loads = {eid: self.store.open_load(eid) for eid in touched if eid in self._profiles}
        for eid, p in self._profiles.items():
            if not full and eid not in loads:
                continue
            load = loads.get(eid, 0)
            if load != p.open_load:
                self._profiles[eid] = replace(p, open_load=load)
                self._matcher.set_load(eid, load)

    def _load_roster(self, today: date) -> None:
        experts = self.store.experts()
        menu = self.store.menu()
        history = self.store.served_texts()
        avoided = self.store.avoided_texts()
        self._taxonomy = extended(default_taxonomy(), (
            Entry(name, family, terms, symptoms)
            for name, family, terms, symptoms in self.store.lexicon_entries()))
        loads = self.store.open_loads()
        self._experts = {e.id: e for e in experts}
        self._profiles = {
            e.id: replace(_profile(e, today, menu, history.get(e.id, []), loads.get(e.id, 0)),
                          avoid=tuple(avoided.get(e.id, ())))
            for e in experts
        }

    async def upgrade(self, rebuild: bool = False) -> bool:
        """Build the matcher (semantic when there is an embedder) in a thread of its own,
        reading the roster over a connection of its own, and swap it in; True when it did.
        The bot calls this once at start-up so that no order waits for the index, and with
        `rebuild` after a big roster changed."""
        if not rebuild and (self._semantic or (self.embedder is None
                                               and self._matcher is not None)):
            return False
        today = self.store.clock.now().date()
        embedder = self.embedder
        done = self._building = threading.Event()
        over = self._adopted = asyncio.Event()
        loop = asyncio.get_running_loop()
        queued = asyncio.Event()

        def wake() -> None:  # in the thread: vectors to write
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(queued.set)

        # Read over the thread's connection while building; written by the loop over the
        # store's as the thread embeds them (a bot stopped meanwhile keeps what it made).
        vectors = StoredVectors(self.store, on_save=wake)

        def build() -> tuple[Routing, Matcher]:
            conn = self.store.db.reader()
            try:
                reader = Routing(Store(conn, self.store.clock) if conn else self.store)
                vectors.reader = reader.store
                reader._load_roster(today)
                reader._version = (reader.store.roster_version(), today)
                use = embedder if len(reader._profiles) <= SEMANTIC_MAX_EXPERTS else None
                # Small rosters are embedded as they are indexed; big ones embed the few
                # candidates an unsure order needs, on demand.
                matcher = Matcher(list(reader._profiles.values()), embedder=use,
                                  taxonomy=reader._taxonomy,
                                  vectors=vectors if use is not None else None)
                if use is not None:
                    vectors.prune_later(model_id(use), matcher.vector_keys())
                self._built = (reader, matcher, use is not None)
                return reader, matcher
            finally:
                vectors.reader = self.store
                if conn is not None:
                    conn.close()
                done.set()

        building = asyncio.ensure_future(_in_daemon_thread(build))
        try:
            while True:
                if not building.done():
                    waiting = asyncio.ensure_future(queued.wait())
                    try:
                        await asyncio.wait((building, waiting),
                                           return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        waiting.cancel()
                queued.clear()
                await self.keep_vectors(vectors)
                if building.done():
                    break
            building.result()
        except asyncio.CancelledError:
            building.cancel()
            raise
        except Exception:  # a native model failing must never take routing down
            log.exception("building the expert matcher failed; staying as it was")
            self.embedder = None
            return False
        finally:
            self._building = None
            vectors.on_save = None
            over.set()  # the waiters run once this task yields, after the adoption below
        self._vectors = vectors
        adopted = self._adopt()
        if adopted and self.background and self._matcher is not None:
            self.warming = asyncio.get_running_loop().create_task(
                self.warm_roster(self._matcher), name="roster-vectors")
        if (not adopted and not self._semantic and self.background
                and self.embedder is not None):
            # The roster changed while it was built: build it again once this task is done.
            asyncio.get_running_loop().call_soon(self._upgrade_later)
        return adopted

    async def warm_roster(self, matcher: Matcher) -> int:
        """Embed the profiles of a big roster that no earlier run kept, a few at a time in a
        thread (one thread: the other cores stay with the orders), keeping each batch's
        vectors, until none is left or the roster changed; returns how many. Until then an
        order counts those experts at the roster's mean similarity."""
        done = 0
        try:
            while self._matcher is matcher:
                n = await _in_daemon_thread(lambda: self._warm_batch(matcher))
                if not n:
                    break
                done += n
                await self.keep_vectors()
        except Exception:  # the model failing: orders go on embedding their likeliest
            log.warning("embedding the roster in the background stopped", exc_info=True)
        if done:
            log.info("profile vectors of %d experts embedded in the background", done)
        return done

    def roster_warming(self) -> bool:
        """Whether the latest `warm_roster` is at work (read from the embedding threads too:
        a task's state is one attribute)."""
        task = self.warming
        return task is not None and not task.done()

    def _warm_batch(self, matcher: Matcher) -> int:
        with self._warming:  # one thread embeds profiles at a time (see `warm`)
            return matcher.warm(limit=WARM_BATCH)

    def keep_vectors_now(self) -> int:
        """Write the profile vectors computed so far (the CLI, which has the database to
        itself); returns the rows written or pruned. Nothing on a read-only database."""
        return self._vectors.flush()

    async def keep_vectors(self, vectors: StoredVectors | None = None) -> int:
        """Write the profile vectors computed so far, one short transaction at a time under
        the writer lock, letting handlers run in between (the bot)."""
        done = 0
        steps = (vectors or self._vectors).steps()
        while True:
            if self.lock is not None:  # another replica writing: wait without the loop
                async with self.lock, self.store.turn():
                    n = next(steps, None)
            else:
                n = next(steps, None)
            if n is None:
                return done
            done += n
            await asyncio.sleep(0)

    def _adopt(self) -> bool:
        """Take the matcher the start-up thread built, unless the roster moved on."""
        if self._built is None:
            return False
        (reader, matcher, semantic), self._built = self._built, None
        if self._version is not None and reader._version != self._version:
            return False  # the roster changed meanwhile: the loop has rebuilt it already
        self._profiles, self._experts, self._version = (
            reader._profiles, reader._experts, reader._version)
        self._matcher, self._semantic = matcher, semantic
        self._seen = None  # re-read the loads, which may have moved meanwhile
        log.info("expert matcher ready (%d experts, %s)", len(self._profiles),
                 "semantic" if semantic else "lexical")
        gc.collect(1)  # the young garbage only: a full pass would hold the loop ~0.5 s
        gc.freeze()  # the index lives as long as the process: keep it out of GC passes
        trim_heap()  # the lexical matcher it replaces, and the build's scaffolding, are freed
        return True

    async def prefetch(self, text: str, region: str | None = None, top: int = 3) -> None:
        """Embed an order's text, and on a big roster its likeliest experts' profiles not
        embedded yet, in a worker thread before it is handled, so that ranking under the
        writer lock finds the vectors ready and never embeds on the loop."""
        if self._semantic and self.embedder is not None and self._fresh().semantic:
            await asyncio.get_running_loop().run_in_executor(embed_pool(), self.warm, text)
        if self._vectors.pending:  # profiles the last orders embedded (big rosters)
            await self.keep_vectors()

    async def built(self) -> None:
        """At start-up, while the first matcher is built in its thread: wait, without holding
        the loop, until it is taken into use, or BUILD_WAIT seconds (at once otherwise). Work
        ranked before that built a lexical matcher beside it on the loop, thrown away a moment
        later: 1,000 experts' index, 5-8 MiB that stayed resident (bench_throughput's first
        orders), and rankings by the words alone (a start-up sweep's re-announcements)."""
        over = self._adopted
        if self._matcher is not None or over is None or over.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(BUILD_WAIT):
                await over.wait()

    def warm(self, text: str) -> None:
        """The embedding work `rank` would need for `text`, done now (in a worker thread):
        the order's own vector, and on a big roster its likeliest experts' profiles not
        embedded yet, by one thread at a time (the others go on without: their orders count
        those profiles at the roster's mean), so a cold start never queues every order
        behind profile embeddings nor runs the model in many threads at once."""
        matcher = self._matcher
        if not self._semantic or self.embedder is None or matcher is None:
            return
        try:
            self.embedder.embed([embedding_text(text)], query=True)
            # While the whole roster is embedded in the background, an order does not
            # embed its likeliest experts too: it would hold one of the few embedding
            # threads for a second while the orders behind it wait.
            if not self.roster_warming() and self._warming.acquire(blocking=False):
                try:
                    matcher.warm_for(text)
                finally:
                    self._warming.release()
        except Exception:  # only a head start: the ranking itself will cope or fall back
            log.warning("could not embed an order ahead of handling", exc_info=True)

    def avoided(self, expert_ids: list[str], text: str) -> None:
        """These experts gave an order back or an admin moved it away from them: orders like
        it fit them less from now on."""
        if self._matcher is None:
            return
        for eid in expert_ids:
            p = self._profiles.get(eid)
            if p is not None:
                self._profiles[eid] = replace(p, avoid=(text, *p.avoid)[:5])
                self._matcher.update(self._profiles[eid])

    def learned(self, expert_ids: list[str], text: str, private: bool = False,
                category: str = "") -> None:
        """An order these experts served was completed, or an admin gave it to them: learn
        from it now."""
        if self._matcher is None:
            return
        shown = shown_of(private, category)
        for eid in expert_ids:
            p = self._profiles.get(eid)
            if p is not None:
                self._profiles[eid] = replace(
                    p, history=(text, *p.history)[:5],
                    history_shown=(shown, *p.history_shown[:len(p.history)])[:5])
                self._matcher.update(self._profiles[eid])

    def rank(self, text: str, region: str | None = None, top: int = 3,
             exclude: frozenset[str] = frozenset()) -> list[Match]:
        # The bot (which passes its writer lock) ranks on its loop: profiles are embedded
        # beforehand in a thread (prefetch, warm), never here; the CLI embeds as it ranks.
        return self._fresh().rank(text, region, top, exclude, embed=self.lock is None)

    def suggest(self, text: str, region: str | None = None, top: int = 3,
                exclude: frozenset[str] = frozenset()) -> list[Suggestion]:
        """The experts to @-mention for an order, best first, with their reasons."""
        return [Suggestion(self._experts[m.id], m.score, m.reasons, m.sure)
                for m in self.rank(text, region, top, exclude) if m.id in self._experts]
