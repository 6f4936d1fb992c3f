"""Start-up time (process start → /healthz 200) and RSS of `diandan run`, empty and big db."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (
    BotProcess,
    cli,
    free_port,
    load_note,
    order_texts,
    roster_csv,
    rss_mb,
    spread,
    write_config,
)
from bench_throughput import load

DEFAULT_DB = "/tmp/diandan_big.db"
START_TARGET_S = 2.0
RSS_TARGET_MB = 200.0


def measure(name: str, work: Path, db: Path, starts: int, seconds: float,
            clients: int) -> dict[str, float]:
    """`starts` cold starts (time to healthy, RSS), then a throughput run on the last one."""
    times, rss_start = [], []
    bot = None
    for i in range(starts):
        port = free_port()
        bot = BotProcess(work, write_config(work, db, port), port)
        times.append(bot.started_in)
        rss_start.append(rss_mb(bot.pid)[0])
        print(f"{name} start {i + 1}: healthy after {bot.started_in:.2f} s, RSS "
              f"{rss_start[-1]:.1f} MiB | load {load_note()}", flush=True)
        if i < starts - 1:
            bot.stop()
    assert bot is not None
    try:
        texts = order_texts(int(seconds * 400) + 100, seed=len(name) + 17)
        res = asyncio.run(load(bot.base, texts, clients, seconds, check=True))
        after, peak = rss_mb(bot.pid)
        print(f"{name}: after {res['n']} orders through the local API ({res['rate']:.1f}/s, "
              f"{len(res['errors'])} errors): RSS {after:.1f} MiB, peak {peak:.1f} MiB", flush=True)
    finally:
        bot.stop()
    return {"start_best": min(times), "start_worst": max(times), "rss_start": min(rss_start),
            "rss_after": after, "rss_peak": peak}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=DEFAULT_DB, help="the big database (bench/gen_data.py); "
                    "the throughput run adds a few hundred orders to it")
    ap.add_argument("--starts", type=int, default=3, help="cold starts per database")
    ap.add_argument("--seconds", type=float, default=10.0, help="the throughput run after start")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--experts", type=int, default=50, help="roster of the empty-db case")
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        work = Path(tmp)
        empty = work / "empty.db"
        results["empty db"] = measure("empty db", work, empty, args.starts, args.seconds,
                                      args.clients)
        roster_db = work / "roster.db"
        (work / "roster.csv").write_text(roster_csv(args.experts), encoding="utf-8")
        cli("experts", "import", str(work / "roster.csv"), "--db", str(roster_db), cwd=work)
        results[f"{args.experts} experts"] = measure(
            f"{args.experts} experts", work, roster_db, args.starts, args.seconds, args.clients)
        if not args.skip_big:
            if not Path(args.db).exists():
                print(f"{args.db} does not exist: run bench/gen_data.py first", file=sys.stderr)
                return 1
            results["big db"] = measure("big db", work, Path(args.db), args.starts,
                                        args.seconds, args.clients)
    print()
    for name, r in results.items():
        ok_start = r["start_best"] < START_TARGET_S
        ok_rss = max(r["rss_after"], r["rss_peak"]) < RSS_TARGET_MB
        print(f"{name:12s} start best {r['start_best']:.2f} s (worst {r['start_worst']:.2f}) "
              f"{'PASS' if ok_start else 'MISS'} | RSS after start {r['rss_start']:.1f} MiB, "
              f"after throughput {r['rss_after']:.1f} MiB, peak {r['rss_peak']:.1f} MiB "
              f"{'PASS' if ok_rss else 'MISS'}")
    starts = [r["start_best"] for r in results.values()]
    print(f"start best per db, s: {spread(starts)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
