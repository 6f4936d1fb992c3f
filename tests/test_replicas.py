"""Several bot processes on one PostgreSQL database: each message, claim, send, sweep and lease
happens once. Each replica runs in a thread of its own with its own event loop and
connection, as separate processes would (a throwaway server; skipped without PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest

from bot.app import App
from bot.lease import Lease
from bot.model import SHANGHAI, ChatKind, FrozenClock, Incoming, Outgoing
from bot.platforms.wecom import WeComPlatform
from bot.web.dashboard_auth import FAIL_LIMIT, Auth
from storage.records import OutboxItem
from storage.schema import MIGRATIONS, connect, connect_sqlite
from tests.conftest import pg_schema_url
from tests.doubles_wecom import start_rig, until
from tests.fakes import T0, FakeChat, add_expert, make_app

T = TypeVar("T")


@pytest.fixture
def url(pg_base: str, request: pytest.FixtureRequest) -> str:
    return pg_schema_url(pg_base, request.node.nodeid)


def replicas(tmp_path: Path, url: str, clock: FrozenClock,
             *scripts: Callable[[App, FakeChat], Awaitable[T]]) -> list[T]:
    """Run each script on a replica of its own (a thread, a loop, a connection), started
    together; their results in order."""
    results: list[Any] = [None] * len(scripts)
    errors: list[BaseException] = []
    start = threading.Barrier(len(scripts))

    def run(i: int, script: Callable[[App, FakeChat], Awaitable[T]]) -> None:
        async def go() -> T:
            app = make_app(tmp_path / f"r{i}", clock, url=url)
            try:
                chat = FakeChat(app)
                start.wait(timeout=30)
                return await script(app, chat)
            finally:
                app.store.db.close()

        try:
            results[i] = asyncio.run(go())
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(scripts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_both_backends_have_the_same_tables_and_columns(tmp_path: Path, url: str) -> None:
    def columns(kind: str, db: Any) -> dict[str, set[str]]:
        sql = ("SELECT name FROM pragma_table_info(?)" if kind == "sqlite" else
               "SELECT column_name FROM information_schema.columns WHERE table_schema = "
               "current_schema() AND table_name = ?")
        return {t: {r[0] for r in db.execute(sql, [t])} - {"rowid"}
                for t in db.table_names() if t != "schema_version"}

    lite = connect_sqlite(tmp_path / "a.db")  # bound at import: SQLite on either leg
    pg = connect(url)
    try:
        assert columns("sqlite", lite) == columns("postgresql", pg)
        assert pg.execute("SELECT version FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        lite.close()
        pg.close()


def test_a_message_both_replicas_receive_is_handled_once(tmp_path: Path, url: str) -> None:
    clock = FrozenClock(T0)
    connect(url).close()  # migrated before the race

    async def handle(app: App, _chat: FakeChat) -> bool:
        msg = Incoming(platform="fake", msg_id="same-1", chat_id="g1", chat_kind=ChatKind.GROUP,
                       sender_id="u1", sender_name="吴经理",
                       text="点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导")
        return (await app.handle(msg)).duplicate

    outcomes = replicas(tmp_path, url, clock, handle, handle)
    assert sorted(outcomes) == [False, True]
    db = connect(url)
    try:
        assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
        assert db.execute("SELECT count(*) FROM inbound WHERE msg_id = 'same-1'"
                          ).fetchone()[0] == 1
    finally:
        db.close()


def test_one_of_twenty_claims_over_two_replicas_wins(tmp_path: Path, url: str) -> None:
    clock = FrozenClock(T0)
    setup = make_app(tmp_path / "setup", clock, url=url)
    chat = FakeChat(setup)
    for i in range(20):
        add_expert(setup, f"e{i}", f"师傅{i}", ("焊接",))
    asyncio.run(chat.say("点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导"))
    setup.store.db.close()

    def claims(first: int) -> Callable[[App, FakeChat], Awaitable[list[str]]]:
        async def go(_app: App, chat: FakeChat) -> list[str]:
            out: list[str] = []
            for i in range(first, 20, 2):
                out += [s.text for s in await chat.say("接单 1", sender=f"e{i}")]
            return out

        return go

    replicas(tmp_path, url, clock, claims(0), claims(1))
    db = connect(url)
    try:
        assert db.execute("SELECT count(*) FROM events WHERE kind = 'order.claimed'"
                          ).fetchone()[0] == 1
        lead = db.execute("SELECT lead FROM orders WHERE no = 1").fetchone()[0]
    finally:
        db.close()
    assert lead in {f"e{i}" for i in range(20)}


class Recorder(FakeChat):
    """A platform that notes, across replicas, which one sent what and in which order."""

    log: ClassVar[list[tuple[int, str, str]]] = []
    guard = threading.Lock()

    def __init__(self, app: App, who: int) -> None:
        super().__init__(app, name="rec")
        self.who = who

    async def send(self, item: OutboxItem) -> str:
        with Recorder.guard:
            Recorder.log.append((self.who, item.chat_id, item.text))
        await asyncio.sleep(0)  # others run meanwhile
        return f"rec-{item.id}"


def test_outbox_items_are_sent_once_in_order_per_chat(tmp_path: Path, url: str) -> None:
    clock = FrozenClock(T0)
    setup = make_app(tmp_path / "setup", clock, url=url)
    for n in range(30):
        setup.store.enqueue(Outgoing(platform="rec", chat_id=f"g{n % 3}",
                                     chat_kind=ChatKind.GROUP, text=f"{n:02d}"))
    setup.store.db.close()
    Recorder.log = []

    def sender(who: int) -> Callable[[App, FakeChat], Awaitable[int]]:
        async def go(app: App, _chat: FakeChat) -> int:
            Recorder(app, who)
            sent = 0
            for _ in range(20):  # passes until nothing is left
                sent += await app.outbox.drain()
                if app.store.pending_count() == 0:
                    break
                await asyncio.sleep(0)
            return sent

        return go

    counts = replicas(tmp_path, url, clock, sender(1), sender(2))
    texts = [text for _who, _chat, text in Recorder.log]
    assert sorted(texts) == [f"{n:02d}" for n in range(30)]  # each once
    assert sum(counts) == 30
    for g in range(3):
        mine = [text for _who, chat, text in Recorder.log if chat == f"g{g}"]
        assert mine == sorted(mine)  # in order per chat


def test_a_replica_does_not_sweep_while_another_does(tmp_path: Path, url: str) -> None:
    clock = FrozenClock(datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI))
    first = make_app(tmp_path / "a", clock, url=url)
    second = make_app(tmp_path / "b", clock, url=url)
    try:
        chat = FakeChat(first)
        for g in ("g1", "g2"):
            asyncio.run(chat.say("帮助", chat=g))
        clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI))
        assert first.store.db.try_lock(0x73776565)  # the first is sweeping
        assert asyncio.run(second.run_jobs()) == []
        first.store.db.unlock(0x73776565)
        done = asyncio.run(second.run_jobs())
        assert sorted(r.key for r in done if r.key.startswith("monthly:")) != []
        assert asyncio.run(first.run_jobs()) == []  # each report once, whoever sweeps
    finally:
        first.store.db.close()
        second.store.db.close()


def test_the_monthly_report_is_posted_once_by_two_replicas(tmp_path: Path, url: str) -> None:
    clock = FrozenClock(datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI))
    setup = make_app(tmp_path / "setup", clock, url=url)
    chat = FakeChat(setup)
    for g in ("g1", "g2", "g3"):
        asyncio.run(chat.say("帮助", chat=g))
    setup.store.db.close()
    clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI))

    async def sweep(app: App, _chat: FakeChat) -> int:
        return len([r for r in await app.run_jobs() if r.key.startswith("monthly:")])

    made = replicas(tmp_path, url, clock, sweep, sweep)
    assert min(made) == 0 and max(made) >= 1  # one of them swept
    db = connect(url)
    try:
        posts = db.execute("SELECT chat_id FROM outbox WHERE text LIKE '%统计%'").fetchall()
    finally:
        db.close()
    assert sorted(r[0] for r in posts) == ["g1", "g2", "g3"]


def test_a_lease_is_held_by_one_and_taken_over_when_it_lapses(tmp_path: Path,
                                                              url: str) -> None:
    clock = FrozenClock(T0)
    a, b = make_app(tmp_path / "a", clock, url=url), make_app(tmp_path / "b", clock, url=url)
    try:
        la = Lease(a.store, a.lock, clock, "wecom:bot1", "replica-a")
        lb = Lease(b.store, b.lock, clock, "wecom:bot1", "replica-b")
        assert asyncio.run(la.step()) and not asyncio.run(lb.step())
        clock.advance(seconds=15)
        assert asyncio.run(la.step())  # renewed in time
        clock.advance(seconds=15)
        assert not asyncio.run(lb.step())
        clock.advance(seconds=21)  # the holder died: nothing renewed it
        assert asyncio.run(lb.step()) and not asyncio.run(la.step())
        assert [e.data["previous"] for e in b.store.events(kind="lease.taken")] == [
            None, "replica-a"]
        asyncio.run(lb.release())  # a replica stopping hands it on at once
        assert asyncio.run(la.step())
    finally:
        a.store.db.close()
        b.store.db.close()


def test_dashboard_sessions_and_the_throttle_are_shared(tmp_path: Path, url: str) -> None:
    clock = FrozenClock(T0)
    a, b = make_app(tmp_path / "a", clock, url=url), make_app(tmp_path / "b", clock, url=url)
    try:
        auth_a, auth_b = Auth(a), Auth(b)
        sid = asyncio.run(auth_a.start("fake:admin", "token"))
        assert asyncio.run(auth_a.session(sid)) is not None
        clock.advance(hours=7)
        assert asyncio.run(auth_b.session(sid)) is not None  # any replica serves the browser
        clock.advance(hours=2)  # 9 h after a's last sight of it, 2 h after b's
        assert asyncio.run(auth_a.session(sid)) is not None
        asyncio.run(auth_b.end(sid, signed_out=True))
        assert asyncio.run(auth_a.session(sid)) is None  # signed out everywhere
        for _ in range(FAIL_LIMIT):
            asyncio.run(auth_a.failed("203.0.113.9"))
        assert auth_b.throttled("203.0.113.9") and not auth_b.throttled("203.0.113.10")
        clock.advance(minutes=16)
        assert not auth_b.throttled("203.0.113.9")
    finally:
        a.store.db.close()
        b.store.db.close()


async def test_one_replica_holds_wecom_long_connection_and_another_takes_over(
        tmp_path: Path, url: str) -> None:
    clock = FrozenClock(T0)
    first = await start_rig(tmp_path / "a", clock, mode="websocket", url=url)
    app = make_app(tmp_path / "b", clock, url=url)
    other = WeComPlatform(app, first.settings)
    app.add_platform(other)
    try:
        for lease in (first.platform.lease, other.lease):
            assert lease is not None
            lease.renew_seconds = 0.02  # real I/O pacing; the lease's time is the clock's
        assert not first.platform.sending and not other.sending  # nothing held yet
        await first.platform.start()
        await until(lambda: first.double.ws_subscribes != [], "the first subscription")
        await other.start()
        await until(lambda: other.lease is not None and other.lease.steps > 1, "a renewal")
        assert first.platform.sending and not other.sending
        assert other.ws is not None and not other.ws.running  # it never connected
        await first.platform.stop()  # the holder stops: it hands the lease on
        await until(lambda: other.sending, "the takeover")
        await until(lambda: len(first.double.ws_subscribes) == 2, "the second subscription")
        taken = app.store.events(kind="lease.taken")
        assert [e.actor for e in taken] == [first.app.holder, app.holder]
    finally:
        await other.stop()
        app.store.db.close()
        await first.close()


async def test_a_replica_waiting_for_the_writer_keeps_its_loop_answering(
        tmp_path: Path, url: str) -> None:
    app = make_app(tmp_path, FrozenClock(T0), url=url)
    other = connect(url)  # another replica, in the middle of a write
    try:
        chat = FakeChat(app)
        # Taken on the loop's own thread: bounded, so that a writer some earlier test left
        # behind fails this test instead of freezing the loop (and the run) for good.
        other.execute("SET lock_timeout = '20s'")
        other.begin()
        waiting = asyncio.create_task(chat.say("点单：数控机床主轴异响，请机修师傅来看看"))
        ticks = 0
        for _ in range(200):  # the loop runs while the handling waits for the writer
            await asyncio.sleep(0.001)
            ticks += 1
        assert not waiting.done() and ticks == 200
        other.commit()
        replies = await asyncio.wait_for(waiting, timeout=30)
        assert any("#1" in s.text for s in replies)
    finally:
        other.close()
        app.store.db.close()


async def test_lease_and_outbox_writes_wait_for_another_replica_off_the_loop(
        tmp_path: Path, url: str) -> None:
    """A lease renewal and a send wait their turn while another replica writes, and the loop
    keeps answering meanwhile (they once took the writer blocking, holding the loop)."""
    app = make_app(tmp_path, FrozenClock(T0), url=url)
    chat = FakeChat(app)
    app.store.enqueue(Outgoing(platform="fake", chat_id="g1", chat_kind=ChatKind.GROUP,
                               text="通知"))
    # Bounded on both sides: a write that blocks the loop fails after 2 s, not never.
    app.store.db.execute("SET lock_timeout = '2s'")
    other = connect(url)
    other.execute("SET lock_timeout = '20s'")
    try:
        other.begin()  # another replica, in the middle of a write
        lease = Lease(app.store, app.lock, app.clock, "test", app.holder)
        stepping = asyncio.create_task(lease.step())
        sending = asyncio.create_task(app.outbox.drain())
        for _ in range(100):  # the loop runs while both wait for the writer
            await asyncio.sleep(0.001)
        assert not stepping.done() and not sending.done() and chat.sent == []
        other.commit()
        assert await asyncio.wait_for(stepping, timeout=30) is True
        assert await asyncio.wait_for(sending, timeout=30) == 1
        assert [s.text for s in chat.sent] == ["通知"]
    finally:
        other.close()
        app.store.db.close()


def test_another_replicas_changes_show_and_ones_own_do_not(tmp_path: Path, url: str) -> None:
    """The matcher looks again at the roster and loads after another process's change only
    (its own changes it tracks itself)."""
    clock = FrozenClock(T0)
    a, b = make_app(tmp_path / "a", clock, url=url), make_app(tmp_path / "b", clock, url=url)
    try:
        before = a.store.changes()[2]
        assert a.store.changes()[2] == before
        a.store.record("fake:admin", "note.test")
        assert a.store.changes()[2] == before
        b.store.record("fake:admin", "note.test")
        a.store.record("fake:admin", "note.test")  # ours after theirs: theirs still shows
        assert a.store.changes()[2] != before
    finally:
        a.store.db.close()
        b.store.db.close()


class Limited(Recorder):
    """A rate-limited platform (20 a minute per chat by default)."""

    rate_limited = True


def test_the_rate_limit_per_chat_counts_what_every_replica_sent(tmp_path: Path,
                                                               url: str) -> None:
    clock = FrozenClock(T0)  # the minute never ends
    setup = make_app(tmp_path / "setup", clock, url=url)
    limit = setup.config.outbox.rate_per_minute
    for n in range(limit + 10):
        setup.store.enqueue(Outgoing(platform="rec", chat_id="g1", chat_kind=ChatKind.GROUP,
                                     text=f"{n:02d}"))
    setup.store.db.close()
    Recorder.log = []

    def sender(who: int) -> Callable[[App, FakeChat], Awaitable[int]]:
        async def go(app: App, _chat: FakeChat) -> int:
            Limited(app, who)
            return sum([await app.outbox.drain() for _ in range(5)])

        return go

    assert sum(replicas(tmp_path, url, clock, sender(1), sender(2))) == limit
    assert [text for _who, _chat, text in Recorder.log] == [f"{n:02d}" for n in range(limit)]
