"""Replicas as real processes: `diandan run` twice on one PostgreSQL database, under kill -9."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import pg_schema_url
from tests.proc import Bot, call

MESSAGES = "/api/local/messages"
ORDER = "点单：第{n}号车间的数控机床主轴异响，请机修师傅来看看，联系人吴经理"
ACK = re.compile(r"^已收到点单 #(\d+)")
SEED_AT = "2026-05-20T10:00:00+08:00"
REPORT_DUE = "2026-06-01T09:00:00+08:00"  # [report] day = 1, time = "09:00" (the defaults)
SKIPPED_SWEEP = "another process sweeps now"  # bot/app.py logs it when the sweep lock is taken
READY = "expert matcher ready"  # bot/matching.py logs it once the roster is read
Answer = tuple[int, Any]


@pytest.fixture
def url(pg_base: str, request: pytest.FixtureRequest) -> str:
    """A fresh schema of the throwaway server for this test (skipped without PostgreSQL)."""
    return pg_schema_url(pg_base, request.node.nodeid)


class Fleet:
    """The `diandan run` processes of one test, each in a directory of its own (its config
    and log), all with the same `[storage] url`."""

    def __init__(self, root: Path, url: str) -> None:
        self.root = root
        self.url = url
        self.bots: list[Bot] = []

    def start(self, name: str, *extra: str) -> Bot:
        workdir = self.root / name
        workdir.mkdir(exist_ok=True)
        bot = Bot(workdir, *extra, url=self.url)
        self.bots.append(bot)
        return bot

    def pair(self, *extra: str) -> tuple[Bot, Bot]:
        """Replicas "a" and "b", started together (they migrate a fresh schema by turns)."""
        with ThreadPoolExecutor(2) as pool:
            a, b = pool.map(lambda name: self.start(name, *extra), ("a", "b"))
        return a, b

    def close(self) -> None:
        for bot in self.bots:
            if bot.proc.poll() is None:
                try:
                    bot.stop()
                except subprocess.TimeoutExpired:
                    bot.kill()


@pytest.fixture
def fleet(tmp_path: Path, url: str) -> Iterator[Fleet]:
    f = Fleet(tmp_path, url)
    try:
        yield f
    finally:
        f.close()


def log_of(bot: Bot) -> str:
    return (bot.config.parent / "bot.log").read_text(encoding="utf-8", errors="replace")


def rows(url: str, sql: str, params: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def waiting_on(url: str, table: str) -> int:
    """How many sessions wait for a lock on `table` (of this test's schema)."""
    return int(rows(url, "SELECT count(*) FROM pg_locks WHERE relation = %s::regclass "
                         "AND NOT granted", (table,))[0][0])


def writers_waiting_on(url: str, table: str) -> int:
    """How many sessions wait for a lock on `table` inside a transaction that has written."""
    return int(rows(url, "SELECT count(DISTINCT w.pid) FROM pg_locks w JOIN pg_locks h "
                         "ON h.pid = w.pid AND h.granted AND h.mode = 'RowExclusiveLock' "
                         "WHERE w.relation = %s::regclass AND NOT w.granted", (table,))[0][0])


def until(what: str, done: Callable[[], bool], timeout: float = 30) -> None:
    """Bounded polling of what real processes do (they have no clock we could advance)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def post(bot: Bot, body: dict[str, Any]) -> Answer:
    """The HTTP status and answer; (0, None) when the process is gone (refused, reset)."""
    try:
        return call(bot.base + MESSAGES, body)
    except OSError:
        return 0, None


def order(n: int) -> dict[str, Any]:
    return {"chat": f"g{n % 3}", "sender": f"c{n % 5}", "sender_name": "吴经理",
            "text": ORDER.format(n=n), "msg_id": f"m{n}"}


N = 80  # messages
KILL_AFTER = 24  # acknowledged ones before the kill


def test_kill_9_of_one_replica_under_load_neither_loses_nor_repeats(fleet: Fleet,
                                                                     url: str) -> None:
    # Guards: the dedupe shared by the replicas (every message is redelivered to the
    # survivor at the end: without it, second orders) and the dedupe record committing with
    # the order (a kill between them would show as a lost or doubled message; the kill lands
    # where it lands here, the next test makes the worst moments happen). Order numbers are
    # checked against what each answer announced, and the two replicas start together on
    # the fresh schema (its migration takes turns through the writer lock).
    a, b = fleet.pair()
    acked: dict[int, Any] = {}
    unacked: list[int] = []
    answered: list[list[int]] = [[], [], []]  # the messages acknowledged, per client, in turn
    guard = threading.Lock()
    enough, killed = threading.Event(), threading.Event()

    def deliver(bot: Bot, n: int, client: int) -> bool:
        status, answer = post(bot, order(n))
        if status != 200:
            return False
        with guard:
            acked[n] = answer
            answered[client].append(n)
            if len(acked) >= KILL_AFTER:
                enough.set()
        return True

    def client(k: int) -> None:
        for n in range(k, N, 2):  # each client alternates between the replicas
            bot = a if killed.is_set() else (a, b)[(n // 2) % 2]
            if not deliver(bot, n, k):
                with guard:
                    unacked.append(n)

    clients = [threading.Thread(target=client, args=(k,)) for k in (0, 1)]
    for t in clients:
        t.start()
    try:
        assert enough.wait(timeout=30)
        b.kill()  # mid-load: a request of either client may be in flight there
        killed.set()
        at_kill = len(acked)
    finally:
        for t in clients:
            t.join(timeout=60)
    assert b.proc.returncode == -9 and at_kill < N - 20  # the load went on after the kill
    # What the killed replica never acknowledged is delivered again, to the survivor, with
    # the same msg_id (as the platforms redeliver): handled there, or answered as a
    # duplicate if the killed one had committed it.
    for n in sorted(unacked):
        assert deliver(a, n, 2), n
    assert sorted(acked) == list(range(N))
    # Then the platform delivers everything once more to the survivor (at-least-once after
    # a crash): what either replica handled is a duplicate there, naming its first id.
    for n in range(N):
        assert post(a, order(n)) == (200, {"id": acked[n]["id"], "replies": []}), n
    assert call(a.base + "/healthz")[0] == 200

    orders = rows(url, "SELECT no, text, created_at FROM orders ORDER BY no")
    texts = Counter(text for _no, text, _at in orders)
    assert texts == Counter(ORDER.format(n=n) for n in range(N))  # each once, nothing else
    no_of = {text: no for no, text, _at in orders}
    inbound = Counter(r[0] for r in rows(url, "SELECT msg_id FROM inbound "
                                              "WHERE platform = 'local'"))
    logged = rows(url, "SELECT msg_id, id FROM local_messages WHERE msg_id LIKE 'm%'")
    assert inbound == Counter(f"m{n}" for n in range(N))
    assert Counter(m for m, _id in logged) == Counter(f"m{n}" for n in range(N))
    local_id = dict(logged)
    announced: dict[int, int] = {}
    for n, answer in acked.items():
        assert answer["id"] == local_id[f"m{n}"]  # a duplicate's answer names the first
        if answer["replies"]:  # the number it announced is the order made of this message
            match = ACK.match(answer["replies"][0]["text"])
            assert match and int(match.group(1)) == no_of[ORDER.format(n=n)], answer
            announced[n] = int(match.group(1))
    for mine in answered:  # each client's orders are numbered in the order it got them
        numbers = [announced[n] for n in mine if n in announced]
        assert numbers == sorted(set(numbers))
    stamps = [at for _no, _text, at in orders]
    assert stamps == sorted(stamps)  # numbers increase with time across both processes
    assert "Traceback" not in log_of(a)


def test_kill_9_inside_the_transaction_and_after_the_commit(fleet: Fleet, url: str) -> None:
    # The two worst moments for a kill, made to happen (the load above hits them only by
    # chance). Guards: a message's dedupe record commits with its order or not at all (were
    # it kept without the order, the redelivery would be answered as a duplicate and the
    # order lost), and a committed message redelivered to another replica is not handled
    # again (without the dedupe, a second order).
    a, b = fleet.pair()
    first, second = order(1), order(2)
    lost: list[Answer] = []  # what the killed replicas answered: nothing

    def send(bot: Bot, body: dict[str, Any]) -> None:
        lost.append(post(bot, body))

    # The orders are locked below against writes only (SHARE): the replicas read them as
    # usual (the matcher's loads), and a message waits at its order's insert.
    until("the matchers at start-up", lambda: all(READY in log_of(r) for r in (a, b)))
    # 1. Killed inside the message's transaction: its dedupe record written, its order
    #    waiting for the orders table (locked here).
    with psycopg.connect(url) as hold:
        hold.execute("LOCK TABLE orders IN SHARE MODE")
        sender = threading.Thread(target=send, args=(b, first))
        sender.start()
        until("the message inside its transaction",
              lambda: writers_waiting_on(url, "orders") == 1)
        b.kill()
        hold.commit()
    sender.join(timeout=30)
    status, answer = post(a, first)  # redelivered to the survivor: handled there, in full
    assert status == 200 and answer["replies"], answer  # not "a duplicate" of nothing
    assert ACK.match(answer["replies"][0]["text"]), answer
    assert rows(url, "SELECT count(*) FROM orders WHERE text = %s", (first["text"],)) == [(1,)]

    # 2. Killed right after the commit. The local chat's replies are written inside the
    #    transaction and the answer follows the commit with no database work in between, so
    #    that moment cannot be held open from outside: the replica is killed as soon as the
    #    commit shows, before or just after it answered. Either way the redelivery must not
    #    be handled again.
    c = fleet.start("c")
    until("the matcher at start-up", lambda: READY in log_of(c))
    with psycopg.connect(url) as hold:
        hold.execute("LOCK TABLE orders IN SHARE MODE")
        sender = threading.Thread(target=send, args=(c, second))
        sender.start()
        until("the message inside its transaction",
              lambda: writers_waiting_on(url, "orders") == 1)
        hold.commit()
    until("the commit", lambda: rows(url, "SELECT count(*) FROM orders WHERE text = %s",
                                     (second["text"],)) == [(1,)])
    c.kill()
    sender.join(timeout=30)
    assert lost[0] == (0, None)  # killed inside the transaction: nothing was answered
    assert lost[1] == (0, None) or (lost[1][0] == 200 and ACK.match(
        lost[1][1]["replies"][0]["text"])), lost[1]
    local_id = rows(url, "SELECT id FROM local_messages WHERE msg_id = 'm2'")[0][0]
    assert post(a, second) == (200, {"id": local_id, "replies": []})  # a duplicate
    assert rows(url, "SELECT count(*) FROM orders WHERE text = %s", (second["text"],)) == [(1,)]
    assert rows(url, "SELECT count(*) FROM orders") == [(2,)]
    assert rows(url, "SELECT count(*) FROM inbound") == [(2,)]
    assert call(a.base + "/healthz")[0] == 200


def race(fleet: Fleet, url: str) -> tuple[list[Answer], dict[str, Any]]:
    """The same message (same msg_id) posted to two replicas at once: both requests are
    held at the dedupe check (the inbound table locked) until both have arrived, so
    neither can see the other's commit beforehand. The two answers, in no particular
    order, and the message."""
    bots = fleet.pair()
    body = order(1) | {"msg_id": "same-1"}
    answers: list[Answer] = [(0, None), (0, None)]

    def send(k: int) -> None:
        answers[k] = post(bots[k], body)

    with psycopg.connect(url) as conn:  # one transaction until commit()
        conn.execute("LOCK TABLE inbound IN ACCESS EXCLUSIVE MODE")
        threads = [threading.Thread(target=send, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        until("both replicas at the dedupe check", lambda: waiting_on(url, "inbound") == 2)
        conn.commit()
    for t in threads:
        t.join(timeout=30)
    return answers, body


def handled_once(url: str, body: dict[str, Any]) -> None:
    assert rows(url, "SELECT count(*) FROM orders WHERE text = %s", (body["text"],)) == [(1,)]
    assert rows(url, "SELECT count(*) FROM orders") == [(1,)]
    assert rows(url, "SELECT count(*) FROM inbound WHERE msg_id = %s", (body["msg_id"],)
                ) == [(1,)]
    assert rows(url, "SELECT count(*) FROM local_messages WHERE msg_id = %s",
                (body["msg_id"],)) == [(1,)]


def test_a_message_posted_to_both_replicas_at_once_is_handled_once(fleet: Fleet,
                                                                    url: str) -> None:
    # Guards the dedupe across processes (the inbound key, looked up again once the writer
    # is taken) and DESIGN.md's Contracts: "a repeated msg_id is acknowledged with the same id
    # and empty replies, and not handled again", also when the repeat is in flight elsewhere.
    answers, body = race(fleet, url)
    assert sorted(status for status, _ans in answers) == [200, 200], answers
    first, second = sorted((ans for _s, ans in answers), key=lambda ans: not ans["replies"])
    assert first["replies"][0]["text"].startswith("已收到点单 #1")
    assert second == {"id": first["id"], "replies": []}
    handled_once(url, body)


def test_the_monthly_report_is_posted_once_by_two_replicas(fleet: Fleet, url: str) -> None:
    # Guards the sweep lock among replicas and the once-per-key record of what was sent
    # (reminders_sent): both replicas start on the report's due time and sweep at once; the
    # one that takes the sweep lock is held (reminders_sent locked by the test) until the
    # other has found the lock taken and given up. Without the sweep lock the other would
    # never give up (the wait below fails); without the per-key record as well, each group
    # would get the report twice.
    seeder = fleet.start("seed", "--now", SEED_AT)
    groups = ("g1", "g2", "g3")
    for g in groups:  # groups the bot served in May
        assert post(seeder, {"chat": g, "sender": "c1", "text": "帮助"})[0] == 200
    seeder.stop()

    with psycopg.connect(url) as conn:  # one transaction until commit()
        conn.execute("LOCK TABLE reminders_sent IN ACCESS EXCLUSIVE MODE")
        a, b = fleet.pair("--now", REPORT_DUE)
        until("one replica sweeping, the other giving up",
              lambda: waiting_on(url, "reminders_sent") >= 1
              and any(SKIPPED_SWEEP in log_of(bot) for bot in (a, b)))
        conn.commit()
    assert sum(SKIPPED_SWEEP in log_of(bot) for bot in (a, b)) == 1

    def posted() -> list[str]:
        return [r[0] for r in rows(url, "SELECT chat FROM local_messages WHERE from_bot = 1 "
                                        "AND text LIKE '【统计】%' ORDER BY chat")]

    until("the reports in the groups", lambda: len(posted()) >= len(groups)
          and any("sweep queued" in log_of(bot) for bot in (a, b)))
    assert sum("sweep queued" in log_of(bot) for bot in (a, b)) == 1
    keys = sorted(r[0] for r in rows(url, "SELECT key FROM reminders_sent"))
    assert keys == [f"monthly:2026-05:local:{g}" for g in groups]
    queued = rows(url, "SELECT chat_id FROM outbox WHERE text LIKE '【统计】%' ORDER BY chat_id")
    assert [r[0] for r in queued] == list(groups)
    assert posted() == list(groups)
    # A sweep now (the CLI, beside the running replicas) finds nothing more to send.
    again = subprocess.run(
        [sys.executable, "-m", "bot", "remind", "--config", str(a.config),
         "--now", REPORT_DUE, "--json"],
        capture_output=True, text=True, timeout=60, cwd=a.config.parent, check=False)
    assert again.returncode == 0, again.stderr
    assert '"reminders": []' in again.stdout
    assert [r[0] for r in rows(url, "SELECT chat_id FROM outbox WHERE text LIKE '【统计】%' "
                                     "ORDER BY chat_id")] == list(groups)
    for bot in (a, b):
        assert call(bot.base + "/healthz")[0] == 200


def test_one_of_twenty_claims_split_over_two_replicas_wins(fleet: Fleet, url: str,
                                                           tmp_path: Path) -> None:
    # Guards first-wins across processes (writers take turns on the advisory lock): without
    # it two replicas could each read the order unclaimed and both give it a lead.
    roster = tmp_path / "roster.csv"
    roster.write_text("编号,姓名,手机,称号,服务队,地区,专长,标签,账号\n" + "".join(
        f"E{i:02d},师傅{i},1386720{i:04d},高级技师,机修队,浙江省湖州市德清县,数控机床维修,,"
        f"local:e{i}\n" for i in range(20)), encoding="utf-8")
    imported = subprocess.run([sys.executable, "-m", "bot", "experts", "import", str(roster),
                               "--db", url], capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    a, b = fleet.pair()
    status, first = post(a, order(1))
    assert status == 200 and ACK.match(first["replies"][0]["text"])
    answers: list[Answer] = [(0, None)] * 20
    go = threading.Barrier(20)

    def claim(i: int) -> None:
        go.wait(timeout=30)
        answers[i] = post((a, b)[i % 2], {"chat": "g1", "sender": f"e{i}", "text": "接单 1",
                                          "msg_id": f"claim{i}"})

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [status for status, _ in answers] == [200] * 20
    assert rows(url, "SELECT count(*) FROM events WHERE kind = 'order.claimed'") == [(1,)]
    [(lead,)] = rows(url, "SELECT lead FROM orders WHERE no = 1")
    winner = int(lead.removeprefix("E"))
    said = [" ".join(r["text"] for r in ans["replies"]) for _s, ans in answers]
    assert "接单" in said[winner] and all(
        "已由" in text or "已被" in text or "已经" in text for i, text in enumerate(said)
        if i != winner), said
