"""A month's tally (storage.tallies.tally) on the big database, per month, with query plans."""

from __future__ import annotations

import argparse
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import load_note, spread

from bot.model import SHANGHAI
from bot.periods import month
from storage.schema import connect
from storage.tallies import Scope, tally

DEFAULT_DB = "/tmp/diandan_big.db"
TARGET_MS = 200.0


class _Empty:
    """Stands in for the cursor of an interrupted query, so the tally can go on."""

    def fetchone(self) -> tuple[int]:
        return (0,)

    def fetchall(self) -> list[Any]:
        return []

    def __iter__(self) -> Any:
        return iter(())


class Recorder:
    """Wraps a sqlite_utils Database: runs each query of a tally alone under a time budget,
    recording its SQL, its time and whether it was cut off."""

    def __init__(self, db: Any, budget: float) -> None:
        self.db = db
        self.budget = budget
        self.calls: list[tuple[str, list[Any], float, bool]] = []

    def execute(self, sql: str, args: Any = None) -> Any:
        params = list(args or [])
        rows, ms = bounded(self.db, self.budget, partial(_fetch, self.db, sql, params))
        self.calls.append((sql, params, ms, rows is None))
        return _Empty() if rows is None else _Rows(rows)


class _Rows(_Empty):
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows

    def __iter__(self) -> Any:
        return iter(self.rows)


def bounded(db: Any, budget: float, fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run fn, interrupting its SQLite work after `budget` seconds; (result or None, ms)."""
    timer = threading.Timer(budget, db.conn.interrupt)
    timer.start()
    t = time.perf_counter()
    try:
        result = fn()
    except sqlite3.OperationalError as exc:
        if "interrupted" not in str(exc):
            raise
        result = None
    finally:
        timer.cancel()
    return result, (time.perf_counter() - t) * 1000


def _fetch(db: Any, sql: str, args: list[Any]) -> list[Any]:
    return list(db.execute(sql, args).fetchall())


def months_back(today: date, n: int) -> list[tuple[int, int]]:
    out = []
    y, m = today.year, today.month
    for _ in range(n):
        out.append((y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def explain(db: Any, scope: Scope, start: datetime, end: datetime, budget: float) -> None:
    """Time each query of one tally (each cut off after `budget` s) and print its plan."""
    rec = Recorder(db, budget)
    tally(rec, start, end, scope)  # type: ignore[arg-type]
    for sql, args, ms, interrupted in rec.calls:
        cut = " (interrupted: longer)" if interrupted else ""
        print(f"\n{ms:8.1f} ms{cut}  {' '.join(sql.split())[:150]}")
        for row in db.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall():
            print(f"            plan: {row[-1]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=DEFAULT_DB, help="the generated database (bench/gen_data.py)")
    ap.add_argument("--months", type=int, default=6, help="how many months back from the newest")
    ap.add_argument("--repeat", type=int, default=3, help="timings per month (best is kept)")
    ap.add_argument("--scope", default="all", help="all, region:…, team:… or group:…")
    ap.add_argument("--budget", type=float, default=30.0,
                    help="seconds after which one tally (or one query) is interrupted")
    ap.add_argument("--explain", action="store_true",
                    help="time each query and print its plan (automatic when a month is slow)")
    args = ap.parse_args(argv)
    if not Path(args.db).exists():
        ap.error(f"{args.db} does not exist: run bench/gen_data.py first")
    db = connect(args.db)
    scope = Scope.parse(args.scope)
    newest = db.execute("SELECT max(created_at) FROM orders").fetchone()[0]
    orders = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    today = datetime.fromisoformat(newest).astimezone(SHANGHAI).date()
    print(f"db {args.db}: {orders:,} orders, newest {newest[:10]}; scope {args.scope}; "
          f"load {load_note()}")
    best: dict[str, float] = {}
    slow: tuple[datetime, datetime] | None = None
    for y, m in months_back(today, args.months):
        period = month(y, m)
        times = []
        result: dict[str, Any] | None = None
        label = f"{y}-{m:02d}"
        for _ in range(args.repeat):
            result, ms = bounded(db, args.budget,
                                 partial(tally, db, period.start, period.end, scope))
            times.append(ms)
            if result is None:
                break
        best[label] = min(times)
        if result is None:
            print(f"{label}: interrupted after {times[-1] / 1000:.0f} s (> budget)", flush=True)
            slow = slow or (period.start, period.end)
            continue
        print(f"{label}: best {min(times):7.1f} ms  first {times[0]:7.1f} ms  "
              f"({spread(times)})  requests {result['requests']:,} completed "
              f"{result['completed']:,} sessions {result['sessions']:,} "
              f"satisfaction {result['satisfaction']}", flush=True)
        if min(times) >= TARGET_MS and slow is None:
            slow = (period.start, period.end)
    worst = max(best.values())
    full = [v for k, v in best.items() if k != f"{today.year}-{today.month:02d}"]
    print(f"\nbest per month, ms: {spread(list(best.values()))}")
    print(f"slowest full month best {max(full or [worst]):.1f} ms (target < {TARGET_MS:.0f} ms: "
          f"{'PASS' if max(full or [worst]) < TARGET_MS else 'MISS'})")
    if args.explain or slow:
        last = month(*months_back(today, 2)[1])
        start, end = slow or (last.start, last.end)
        print(f"\nqueries of the tally of {start:%Y-%m}, each timed alone, with plans:")
        explain(db, scope, start, end, args.budget)
    db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
