"""Routing p99 at 10,000 experts: bot.matching.Routing over the big database, and the Matcher."""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import PY, ROOT, load_note, pct, spread

from bot.matching import Routing
from bot.model import SystemClock
from storage.schema import connect
from storage.store import Store

DEFAULT_DB = "/tmp/diandan_big.db"
CASES = ROOT / "tests" / "data" / "route_cases.jsonl"
TARGET_MS = 10.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=DEFAULT_DB, help="the generated database (bench/gen_data.py)")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the route cases")
    ap.add_argument("--profile", help="write cProfile stats of the timed queries here")
    ap.add_argument("--skip-matcher", action="store_true",
                    help="do not also run bench/route_speed.py (the Matcher alone)")
    args = ap.parse_args(argv)
    if not Path(args.db).exists():
        ap.error(f"{args.db} does not exist: run bench/gen_data.py first")
    with CASES.open(encoding="utf-8") as f:
        queries = [(c["text"], c.get("region")) for c in map(json.loads, f) if c]

    if not args.skip_matcher:
        print("== bench/route_speed.py (Matcher alone, synthetic roster of 10,000) ==")
        done = subprocess.run([PY, str(ROOT / "bench" / "route_speed.py"), "-n", "10000"],
                              capture_output=True, text=True, timeout=600, check=False)
        print(done.stdout.strip() or done.stderr.strip())

    print(f"\n== Routing over {args.db} (roster, menu, past orders, loads from the store) ==")
    store = Store(connect(args.db), SystemClock())
    experts = store.db.execute("SELECT count(*) FROM experts").fetchone()[0]
    t = time.perf_counter()
    routing = Routing(store)
    routing.rank(queries[0][0], queries[0][1])
    print(f"experts {experts:,}; first rank (builds the index: roster, menu, served_texts over "
          f"all past orders) {time.perf_counter() - t:.2f} s")
    prof = cProfile.Profile() if args.profile else None
    p99s, p50s = [], []
    found = 0
    for r in range(args.rounds):
        times = []
        if prof:
            prof.enable()
        for text, region in queries:
            t = time.perf_counter()
            found += bool(routing.rank(text, region, top=3))
            times.append((time.perf_counter() - t) * 1000)
        if prof:
            prof.disable()
        p50s.append(pct(times, 50))
        p99s.append(pct(times, 99))
        print(f"round {r + 1}: {len(times)} queries  p50 {p50s[-1]:.2f} ms  p99 {p99s[-1]:.2f} ms"
              f"  max {max(times):.2f} ms | load {load_note()}", flush=True)
    # The per-query store reads Routing makes on top of the Matcher.
    t = time.perf_counter()
    for _ in range(20):
        store.roster_version()
    rv = (time.perf_counter() - t) / 20 * 1000
    t = time.perf_counter()
    for _ in range(20):
        store.open_loads()
    ol = (time.perf_counter() - t) / 20 * 1000
    print(f"per query store reads: roster_version {rv:.2f} ms, open_loads {ol:.2f} ms")
    print(f"Routing.rank p50 ms over rounds: {spread(p50s)}")
    print(f"Routing.rank p99 ms over rounds: {spread(p99s)}   (target < {TARGET_MS:g}; best "
          f"{min(p99s):.2f} {'PASS' if min(p99s) < TARGET_MS else 'MISS'}); "
          f"{found} of {len(queries) * args.rounds} with a match")
    store.db.close()
    if prof and args.profile:
        prof.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
