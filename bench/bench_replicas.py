"""Orders/s, p50/p99 via the local API: a bot on SQLite, on PostgreSQL, 2 replicas on one PG db."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import aiohttp
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (
    BotProcess,
    cli,
    free_port,
    load_note,
    order_texts,
    pct,
    roster_csv,
    spread,
    write_config,
)
from bench_throughput import PATH, load

from tests.pg_server import PgServer

CLIENTS = 8  # bench_throughput's --clients default
WARM = 50  # warm-up orders per set-up (the first order of a process builds the matcher index)
SETUPS = ("sqlite", "pg", "pg x2")
LABELS = {"sqlite": "(a) 1 bot, SQLite", "pg": "(b) 1 bot, PostgreSQL",
          "pg x2": "(c) 2 replicas, one PostgreSQL db"}
ANNOUNCED = re.compile(r"已收到点单 #(\d+)")
SETTINGS = ("server_version", "fsync", "synchronous_commit", "full_page_writes",
            "wal_sync_method", "wal_level", "commit_delay", "shared_buffers", "wal_buffers",
            "max_wal_size", "checkpoint_timeout", "max_connections", "data_checksums")
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One timed run of one set-up: the client's view and the database's."""

    setup: str
    took: float = 0.0
    latencies: list[float] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)  # msg_ids answered 200
    order_nos: list[int] = field(default_factory=list)  # from the announcements
    per_base: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds: bot, postgres, others…
    db: dict[str, int] = field(default_factory=dict)  # counts found after the run
    problems: list[str] = field(default_factory=list)  # lost, duplicated, logged errors
    backends: dict[str, float] = field(default_factory=dict)  # the bots' backends, on average

    @property
    def rate(self) -> float:
        return len(self.order_nos) / self.took if self.took else 0.0

    @property
    def p50_ms(self) -> float:
        return pct(self.latencies, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return pct(self.latencies, 99) * 1000


# ── the client: bench_throughput's request, spread round-robin over the replicas ──
async def drive(run: Run, bases: list[str], texts: list[str], clients: int, seconds: float,
                tag: str) -> None:
    """`clients` concurrent posters for `seconds`; message i goes to bases[i % len(bases)]
    (a round-robin balancer), with a msg_id of its own that is looked for in the db after."""
    queue = iter(enumerate(texts))
    stop_at = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        for i, text in queue:
            if time.perf_counter() >= stop_at:
                return
            base, msg_id = bases[i % len(bases)], f"{tag}-{i}"
            body = {"chat": f"g{i % 40}", "sender": f"c{i % 500}", "text": text,
                    "msg_id": msg_id}
            t = time.perf_counter()
            try:
                async with session.post(base + PATH, json=body) as resp:
                    status, data = resp.status, await resp.json()
            except (aiohttp.ClientError, ValueError) as exc:
                run.errors.append(f"{base}: {type(exc).__name__}: {exc}")
                continue
            run.latencies.append(time.perf_counter() - t)
            if status != 200:
                run.errors.append(f"{status} {data}")
                continue
            run.acked.append(msg_id)
            run.per_base[base] += 1
            nos = [int(m.group(1)) for r in data["replies"] if (m := ANNOUNCED.match(r["text"]))]
            if len(nos) != 1:
                run.errors.append(f"{len(nos)} announcements: {data}")
            run.order_nos += nos

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(clients)))
        run.took = time.perf_counter() - t0


# ── processes ──
class Sampler(threading.Thread):
    """What the bots' PostgreSQL backends are doing, sampled from pg_stat_activity every
    `every` seconds on a connection of its own: the mean number running a statement,
    waiting on I/O (the commit's WAL flush), waiting for the writer lock (an advisory lock),
    and idle inside a transaction (the lock held while the bot itself works)."""

    QUERY = ("SELECT count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT "
             "FROM 'IO' AND wait_event_type IS DISTINCT FROM 'Lock'), "
             "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'IO'), "
             "count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'), "
             "count(*) FILTER (WHERE state = 'idle in transaction') "
             "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()")
    STATES = ("running", "io", "lock wait", "idle in tx")

    def __init__(self, admin_url: str, dbname: str, every: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.conn = psycopg.connect(admin_url, autocommit=True)
        self.dbname, self.every = dbname, every
        self.sums = [0] * len(self.STATES)
        self.samples = 0
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self.done.wait(self.every):
            row = self.conn.execute(self.QUERY, [self.dbname]).fetchone()
            if row:
                self.sums = [a + int(b) for a, b in zip(self.sums, row, strict=True)]
                self.samples += 1

    def finish(self) -> dict[str, float]:
        self.done.set()
        self.join(timeout=10)
        self.conn.close()
        return {k: v / max(1, self.samples) for k, v in zip(self.STATES, self.sums, strict=True)}


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes so far (0 for one that is gone)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, from /proc/stat (iowait idle)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICK, sum(ticks) / TICK


def children(ppid: int) -> list[int]:
    """The processes whose parent is `ppid`."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rpartition(")")[2].split()[1]) == ppid:
                out.append(int(stat.parent.name))
    return out


def postgres_pids(server: PgServer) -> list[int]:
    """The postmaster and its children (backends, walwriter, checkpointer…)."""
    try:
        pid = int((server.data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, IndexError, ValueError):
        return []
    return [pid, *children(pid)]


def stop_leftover_bots() -> None:
    """SIGTERM, then SIGKILL, any `bot run` child of ours still alive (one whose start-up an
    interrupt cut short never made it into the list of bots to stop)."""
    def is_bot(pid: int) -> bool:
        try:
            return b"bot\0run" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    mine = [pid for pid in children(os.getpid()) if is_bot(pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in mine:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while mine and time.monotonic() < deadline:
            for pid in list(mine):
                with contextlib.suppress(ChildProcessError):
                    if os.waitpid(pid, os.WNOHANG)[0]:
                        mine.remove(pid)
            time.sleep(0.05)


def pg_config(workdir: Path, url: str, port: int) -> Path:
    """bench_common.write_config with `[storage] url` (the path's folder keeps media)."""
    config = write_config(workdir, workdir / "media.db", port)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[storage]\n", f'[storage]\nurl = "{url}"\n', 1),
                      encoding="utf-8")
    return config


class Bench:
    """The PostgreSQL server, the roster templates and the set-ups' runs."""

    def __init__(self, work: Path, args: argparse.Namespace) -> None:
        self.work, self.args = work, args
        self.bots: list[BotProcess] = []
        self.server: PgServer | None = None
        self.admin = ""  # the URL of the server's `postgres` database
        self.count = 0

    # -- databases ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """The roster imported once through the CLI into a SQLite file and into a PostgreSQL
        template database; each run gets a fresh copy of one of them."""
        csv = self.work / "roster.csv"
        csv.write_text(roster_csv(self.args.experts), encoding="utf-8")
        self.server = PgServer(durable=True)
        self.admin = self.server.url("postgres")
        targets = [str(self.work / "template.db"), self.server.create_database("roster")]
        for target in targets:
            done = cli("experts", "import", str(csv), "--db", target, cwd=self.work)
            if done.returncode != 0:
                raise RuntimeError(f"roster import into {target} failed:\n{done.stderr}")

    def fresh(self, setup: str) -> str:
        """A new database with the roster: a SQLite file path or a PostgreSQL URL."""
        assert self.server is not None
        self.count += 1
        name = f"run{self.count}"
        if setup == "sqlite":
            path = self.work / f"{name}.db"
            with contextlib.closing(sqlite3.connect(self.work / "template.db")) as src, \
                    contextlib.closing(sqlite3.connect(path)) as dst:
                src.backup(dst)
            return str(path)
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE roster")
        return self.server.url(name)

    def settings(self) -> list[tuple[str, str]]:
        with psycopg.connect(self.admin, autocommit=True) as conn:
            rows = conn.execute("SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)",
                                [list(SETTINGS)]).fetchall()
        return [(n, f"{v}{' x ' + u if u else ''}") for n, v, u in
                sorted(rows, key=lambda r: SETTINGS.index(r[0]))]

    def commit_floor(self, n: int = 300) -> tuple[float, float]:
        """(ms per autocommit INSERT, ms per SELECT 1) over loopback: one durable commit and
        one bare round trip, the least a write and a statement can cost here."""
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute("CREATE TEMP TABLE floor (x int)")
            t = time.perf_counter()
            for i in range(n):
                conn.execute("INSERT INTO floor VALUES (%s)", [i])
            commit = (time.perf_counter() - t) / n * 1000
            t = time.perf_counter()
            for _ in range(n):
                conn.execute("SELECT 1")
            return commit, (time.perf_counter() - t) / n * 1000

    # -- bots ----------------------------------------------------------------------------------
    def start(self, setup: str, target: str) -> list[BotProcess]:
        started = []
        for i in range(2 if setup == "pg x2" else 1):
            d = self.work / f"run{self.count}-{i}"
            d.mkdir()
            port = free_port()
            config = (write_config(d, Path(target), port) if setup == "sqlite"
                      else pg_config(d, target, port))
            bot = BotProcess(d, config, port, timeout=120)
            self.bots.append(bot)
            started.append(bot)
        return started

    def stop_all(self) -> None:
        while self.bots:
            self.bots.pop().stop()

    # -- one run ----------------------------------------------------------------------------
    def run(self, setup: str, texts: list[str]) -> Run:
        target = self.fresh(setup)
        bots = self.start(setup, target)
        bases = [b.base for b in bots]
        run = Run(setup)
        for k, base in enumerate(bases):  # bench_throughput's warm-up, over each replica
            share = texts[k * WARM // len(bases):(k + 1) * WARM // len(bases)]
            warm = asyncio.run(load(base, share, 4, 60, check=True))
            run.errors += [f"warm-up: {e}" for e in warm["errors"]]
        warm_orders = WARM
        bot_pids = [b.pid for b in bots]
        assert self.server is not None
        pg = postgres_pids(self.server) if setup != "sqlite" else []
        before = (cpu_seconds(bot_pids), cpu_seconds(pg), time.process_time(), *machine_cpu())
        sampler = Sampler(self.admin, target.rsplit("/", 1)[1]) if setup != "sqlite" else None
        try:
            asyncio.run(drive(run, bases, texts[WARM:], self.args.clients, self.args.seconds,
                              f"r{self.count}"))
        finally:
            if sampler:
                run.backends = sampler.finish()
        after = (cpu_seconds(bot_pids), cpu_seconds(postgres_pids(self.server))
                 if setup != "sqlite" else 0.0, time.process_time(), *machine_cpu())
        run.cpu = {"bot": after[0] - before[0], "postgres": after[1] - before[1],
                   "client": after[2] - before[2], "machine": after[3] - before[3],
                   "cores": after[4] - before[4]}
        run.cpu["others"] = run.cpu["machine"] - run.cpu["bot"] - run.cpu["postgres"] \
            - run.cpu["client"]
        for bot in bots:
            self.bots.remove(bot)
            bot.stop()
            bad = [line for line in bot.log_path.read_text(errors="replace").splitlines()
                   if " ERROR " in line or "Traceback" in line or " CRITICAL " in line]
            if bad:
                run.problems.append(f"{bot.log_path.name}: {len(bad)} error lines, first: "
                                    f"{bad[0][:200]}")
        self.verify(run, target, warm_orders)
        return run

    def verify(self, run: Run, target: str, warm: int) -> None:
        """Every acknowledged message is in the db once, and so is every announced order."""
        def rows(sql: str) -> list[tuple[Any, ...]]:
            if run.setup == "sqlite":
                with contextlib.closing(sqlite3.connect(target)) as lite:
                    return lite.execute(sql).fetchall()
            with psycopg.connect(target) as conn:
                return conn.execute(sql).fetchall()

        inbound = [r[0] for r in rows("SELECT msg_id FROM inbound WHERE platform = 'local'")]
        orders = [r[0] for r in rows("SELECT no FROM orders")]
        run.db = {"inbound": len(inbound), "orders": len(orders)}
        lost = set(run.acked) - set(inbound)
        if lost:
            run.problems.append(f"{len(lost)} acknowledged messages not in inbound, e.g. "
                                f"{sorted(lost)[:3]}")
        if len(inbound) != len(set(inbound)) or len(orders) != len(set(orders)):
            run.problems.append("duplicate rows in inbound or orders")
        dup = [no for no, n in Counter(run.order_nos).items() if n > 1]
        if dup:
            run.problems.append(f"{len(dup)} order numbers announced twice, e.g. {dup[:5]}")
        if len(orders) != len(run.order_nos) + warm:
            run.problems.append(f"{len(orders)} orders in the db, {len(run.order_nos)} "
                                f"announced + {warm} warm-up")
        if set(run.order_nos) - set(orders):
            run.problems.append("announced order numbers missing from the db")

    # -- statements per order ----------------------------------------------------------------
    def count_statements(self, texts: list[str], n: int) -> dict[str, float]:
        """One bot on a fresh PostgreSQL db, warmed up; then `n` orders one at a time with
        log_statement = 'all', the server log's statements counted per order (kind by first
        words), and the same over an idle spell of the same length for the background."""
        assert self.server is not None
        log = self.server.log_path
        target = self.fresh("pg")
        (bot,) = self.start("pg", target)
        try:
            asyncio.run(load(bot.base, texts[:WARM], 4, 60, check=True))
            with psycopg.connect(self.admin, autocommit=True) as conn:
                conn.execute("ALTER SYSTEM SET log_statement = 'all'")
                conn.execute("SELECT pg_reload_conf()")
            time.sleep(0.5)
            mark = log.stat().st_size
            run = Run("pg")
            asyncio.run(drive(run, [bot.base], texts[WARM:WARM + n], 1, 120,
                              f"count{self.count}"))
            busy = log.stat().st_size
            time.sleep(run.took)
            idle = log.stat().st_size
            with psycopg.connect(self.admin, autocommit=True) as conn:
                conn.execute("ALTER SYSTEM RESET log_statement")
                conn.execute("SELECT pg_reload_conf()")
        finally:
            self.bots.remove(bot)
            bot.stop()
        data = log.read_bytes()
        busy_log = parse_log(data[mark:busy].decode(errors="replace"))
        idle_log = parse_log(data[busy:idle].decode(errors="replace"))
        orders = len(run.order_nos) or 1
        out = {k: v / orders for k, v in busy_log.kinds.most_common()}
        out["total"] = sum(busy_log.kinds.values()) / orders
        out["of which inside the writer transaction (BEGIN..COMMIT)"] = busy_log.in_tx / orders
        out["idle bot, same spell"] = sum(idle_log.kinds.values()) / orders
        if busy_log.holds:
            out["ms the writer lock is held (BEGIN to COMMIT, median, logging on)"] = \
                statistics.median(busy_log.holds) * 1000
        out["ms per order end to end (1 client, logging on)"] = run.took / orders * 1000
        return out


@dataclass
class Statements:
    """What the server logged: statements by kind, how many ran inside a transaction, and how
    long each transaction held the writer lock (from the log's millisecond timestamps)."""

    kinds: Counter[str] = field(default_factory=Counter)
    in_tx: int = 0
    holds: list[float] = field(default_factory=list)


LOGGED = re.compile(r"^\S+ (\d+):(\d+):([\d.]+) \S+ \[(\d+)\] LOG:  "
                    r"(?:statement|execute [^:]*): (.*)$", re.MULTILINE)


def parse_log(text: str) -> Statements:
    """The statements in a slice of the server log (log_statement = 'all', the default
    log_line_prefix '%m [%p] '); a SELECT's kind names its first table."""
    out = Statements()
    began: dict[str, float] = {}  # backend pid -> when its open transaction began
    for m in LOGGED.finditer(text):
        h, mi, sec, pid, sql = m.groups()
        at = int(h) * 3600 + int(mi) * 60 + float(sec)
        words = sql.split()
        head = words[0].upper() if words else "?"
        if "pg_advisory_xact_lock" in sql:
            kind = "SELECT pg_advisory_xact_lock (writer lock)"
        elif "events_id_seq" in sql:
            kind = "SELECT last_value FROM events_id_seq (data_version)"
        elif head == "SELECT":
            table = re.search(r"\bFROM\s+(\w+)", sql)
            kind = f"SELECT … FROM {table.group(1) if table else '?'}"
        elif head in ("INSERT", "DELETE") and len(words) > 2:
            kind = f"{head} {words[2]}"
        elif head == "UPDATE" and len(words) > 1:
            kind = f"UPDATE {words[1]}"
        else:
            kind = head
        out.kinds[kind] += 1
        if head == "BEGIN":
            began[pid] = at
        if pid in began:
            out.in_tx += 1
        if head in ("COMMIT", "ROLLBACK") and pid in began:
            out.holds.append(at - began.pop(pid))
    return out


def rotate(items: tuple[str, ...], r: int) -> Iterator[str]:
    """The set-ups in round r, each round starting one further (no set-up always first)."""
    return (items[(r + k) % len(items)] for k in range(len(items)))


def interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def report(runs: dict[str, list[Run]], args: argparse.Namespace) -> None:
    print(f"\n{args.clients} clients, {args.seconds:g} s per run, {args.rounds} rounds "
          f"(set-ups rotated), {args.experts} experts, DIANDAN_NO_EMBED=1; medians of rounds")
    print("| set-up | orders/s | p50 ms | p99 ms | orders/s min–max | CPU ms per order: "
          "bot / postgres / client | other work, cores |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for setup in SETUPS:
        rs = runs[setup]
        if not rs:
            continue
        rates = [r.rate for r in rs]

        def per_order(key: str, rs: list[Run] = rs) -> float:
            return statistics.median(r.cpu[key] / max(1, len(r.order_nos)) * 1000 for r in rs)

        print(f"| {LABELS[setup]} | {statistics.median(rates):.1f} | "
              f"{statistics.median(r.p50_ms for r in rs):.1f} | "
              f"{statistics.median(r.p99_ms for r in rs):.1f} | "
              f"{min(rates):.1f}–{max(rates):.1f} | {per_order('bot'):.2f} / "
              f"{per_order('postgres'):.2f} / {per_order('client'):.2f} | "
              f"{statistics.median(r.cpu['others'] / r.took for r in rs):.2f} |")
    print("\nThe bots' PostgreSQL backends, mean number in each state (medians of rounds):")
    print("| set-up | " + " | ".join(Sampler.STATES) + " |")
    print("| --- |" + " --- |" * len(Sampler.STATES))
    for setup in SETUPS[1:]:
        rs = [r for r in runs[setup] if r.backends]
        if rs:
            print(f"| {LABELS[setup]} | " + " | ".join(
                f"{statistics.median(r.backends[k] for r in rs):.2f}" for k in Sampler.STATES)
                + " |")
    for setup in SETUPS:
        if runs[setup]:
            print(f"{setup:7} orders/s: {spread([r.rate for r in runs[setup]])}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each timed run")
    ap.add_argument("--experts", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the three set-ups")
    ap.add_argument("--clients", type=int, default=CLIENTS,
                    help="concurrent HTTP clients in every set-up (spread over the replicas)")
    ap.add_argument("--count", type=int, default=100,
                    help="orders for the statement count with log_statement (0: skip)")
    args = ap.parse_args(argv)
    os.environ["DIANDAN_NO_EMBED"] = "1"  # the bots inherit it: lexical ranking
    signal.signal(signal.SIGTERM, interrupt)  # clean up as on Ctrl-C
    wall = time.perf_counter()
    per_run = int(args.seconds * 1500) + 500  # more texts than any run uses
    texts = order_texts(WARM + max(per_run, args.count), seed=7)
    runs: dict[str, list[Run]] = {s: [] for s in SETUPS}
    problems = 0
    with tempfile.TemporaryDirectory(prefix="bench-rep-") as tmp:
        bench = Bench(Path(tmp), args)
        try:
            bench.prepare()
            print("PostgreSQL server (tests/pg_server.py, durable=True):")
            for name, value in bench.settings():
                print(f"  {name} = {value}")
            commit, trip = bench.commit_floor()
            print(f"  one autocommit INSERT {commit:.3f} ms, one SELECT 1 {trip:.3f} ms "
                  f"(loopback, psycopg)", flush=True)
            for r in range(args.rounds):
                for setup in rotate(SETUPS, r):
                    run = bench.run(setup, texts)
                    runs[setup].append(run)
                    split = (" (" + " / ".join(str(n) for n in run.per_base.values()) + ")"
                             if len(run.per_base) > 1 else "")
                    print(f"round {r + 1} {setup:7}: {run.rate:6.1f} orders/s, p50 "
                          f"{run.p50_ms:6.1f} ms, p99 {run.p99_ms:6.1f} ms, "
                          f"{len(run.order_nos)} orders{split}, {len(run.errors)} errors, "
                          f"db {run.db}", flush=True)
                    c = {k: v / run.took for k, v in run.cpu.items()}  # cores busy
                    print(f"    cores busy: bot {c['bot']:.2f}, postgres {c['postgres']:.2f}, "
                          f"client {c['client']:.2f}, others {c['others']:.2f} of "
                          f"{c['cores']:.1f} | load {load_note()}", flush=True)
                    if run.backends:
                        print("    bots' backends on average: " + ", ".join(
                            f"{k} {v:.2f}" for k, v in run.backends.items()), flush=True)
                    for e in [*run.errors[:3], *run.problems]:
                        print("   ", e[:300])
                    problems += len(run.errors) + len(run.problems)
            if args.count:
                counted = bench.count_statements(texts, args.count)
                print(f"\nPostgreSQL statements per order ({args.count} orders, 1 client, "
                      f"log_statement = 'all'):")
                for kind, per_order in counted.items():
                    print(f"  {per_order:7.2f}  {kind}")
        except KeyboardInterrupt:
            print("\ninterrupted: stopping the bots and the PostgreSQL server", file=sys.stderr)
            return 130
        finally:
            bench.stop_all()
            stop_leftover_bots()
            if bench.server is not None:
                bench.server.stop()
    report(runs, args)
    print(f"wall time {time.perf_counter() - wall:.0f} s; {problems} errors or problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
