"""The loop during a big sweep: start-up, /healthz and a message's latency while the monthly
report goes out to thousands of groups (the bot started on the 1st, catching up)."""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import PY, REGIONS, ROOT, BotProcess, call, free_port, load_note, write_config

NOW = "2026-12-01T10:00:00+08:00"  # the monthly report (09:00 on the 1st) is due
END = "2026-11-30T20:00:00+08:00"  # the history the generator writes ends before it


def make_db(path: Path, groups: int, orders: int, regions: int) -> None:
    """A history of `orders` over 90 days, then groups up to `groups`, a share of them scoped
    to one of `regions` regions (/设置 地区), as a province-wide service would have."""
    subprocess.run([PY, "bench/gen_data.py", str(path), "--experts", "500", "--orders",
                    str(orders), "--days", "90", "--end", END, "--force"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    conn = sqlite3.connect(path)
    have = conn.execute("SELECT count(*) FROM chats WHERE kind = 'group'").fetchone()[0]
    stamp = "2026-10-01T09:00:00+08:00"
    conn.executemany(
        "INSERT INTO chats (platform, chat_id, kind, title, reply_handle, first_at, updated_at) "
        "VALUES ('local', ?, 'group', ?, '', ?, ?)",
        [(f"extra{i}", f"群{i}", stamp, stamp) for i in range(groups - have)])
    chats = conn.execute("SELECT platform, chat_id FROM chats WHERE kind = 'group'").fetchall()
    conn.executemany(
        "INSERT OR REPLACE INTO chat_settings (platform, chat_id, key, value) "
        "VALUES (?, ?, 'region', ?)",
        [(p, c, REGIONS[i % regions]) for i, (p, c) in enumerate(chats) if i % 2])
    conn.commit()
    conn.close()


def _timed(fn: Callable[[], tuple[int, object]]) -> tuple[float, int]:
    t = time.perf_counter()
    try:
        status = fn()[0]
    except OSError:  # a timeout counts as its full length
        status = 0
    return time.perf_counter() - t, status


def probe(base: str, stop: threading.Event, out: dict[str, list[float]]) -> None:
    """GET /healthz and POST a small message in turn, every 50 ms, recording latencies."""
    i = 0
    while not stop.is_set():
        took, _ = _timed(partial(call, base + "/healthz", timeout=120))
        out["healthz"].append(took)
        body = {"chat": "probe", "sender": "p1", "text": "帮助", "msg_id": f"p{i}"}
        took, status = _timed(partial(call, base + "/api/local/messages", body, timeout=120))
        out["message"].append(took)
        if status != 200:
            out["errors"].append(float(status))
        i += 1
        time.sleep(0.05)


def sent_reports(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        n: int = conn.execute("SELECT count(*) FROM reminders_sent WHERE key LIKE "
                              "'monthly:2026-11:%'").fetchone()[0]
        return n
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--groups", type=int, default=2000)
    ap.add_argument("--orders", type=int, default=60_000)
    ap.add_argument("--regions", type=int, default=8, help="distinct /设置 地区 scopes")
    ap.add_argument("--db", help="reuse this prepared copy (it is copied, never changed)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="diandan-sweep-") as tmp:
        work = Path(tmp)
        db = work / "sweep.db"
        t = time.perf_counter()
        if args.db:
            subprocess.run(["cp", args.db, str(db)], check=True)
        else:
            make_db(db, args.groups, args.orders, args.regions)
        print(f"database ready in {time.perf_counter() - t:.1f} s: {args.groups} groups, "
              f"{args.orders} orders | load {load_note()}", flush=True)
        port = free_port()
        config = write_config(work, db, port)
        argv_run = [PY, "-m", "bot", "run", "--config", str(config), "--now", NOW]
        bot = BotProcess(work, config, port, argv=argv_run)
        lat: dict[str, list[float]] = {"healthz": [], "message": [], "errors": []}
        stop = threading.Event()
        th = threading.Thread(target=probe, args=(bot.base, stop, lat), daemon=True)
        t0 = time.perf_counter()
        th.start()
        try:
            while sent_reports(db) < args.groups and time.perf_counter() - t0 < 600:
                time.sleep(0.2)
            took = time.perf_counter() - t0
        finally:
            stop.set()
            th.join()
            bot.stop()
        print(f"healthy after {bot.started_in:.2f} s; {sent_reports(db)} monthly reports "
              f"queued in {took:.1f} s after that")
        print(f"{len(lat.pop('errors'))} probes failed")
        for name, xs in lat.items():
            if xs:
                print(f"{name}: {len(xs)} probes during the sweep, worst {max(xs) * 1000:.0f} ms, "
                      f"median {sorted(xs)[len(xs) // 2] * 1000:.1f} ms")
        print(f"load {load_note()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
