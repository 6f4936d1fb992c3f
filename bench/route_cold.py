"""Cold `diandan route` (a fresh process per run) with an empty and a warm profile-vector cache,
and optionally the bot's start-up (healthy, and semantic matcher ready) with either cache."""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (
    PY,
    ROOT,
    BotProcess,
    cli,
    free_port,
    load_note,
    roster_csv,
    spread,
    write_config,
)

TARGET_WARM_S = 1.5
ORDERS = [
    "点单：我们厂的不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234",
]
READY = b"expert matcher ready"
CODE = ROOT  # the checkout whose `python -m bot` runs (--root: compare with another commit)


def clear_cache(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        if _has_cache(conn):
            conn.execute("DELETE FROM embedding_cache")


def cached_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        if not _has_cache(conn):
            return 0
        return int(conn.execute("SELECT count(*) FROM embedding_cache").fetchone()[0])


def _has_cache(conn: sqlite3.Connection) -> bool:
    """Whether the schema has the cache (not before it was added: `--root` an older tree)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'embedding_cache'"
                        ).fetchone() is not None


def route_once(db: Path, texts: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """One `diandan route` process: (wall seconds, CPU seconds, its stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        [PY, "-m", "bot", "route", "--db", str(db)], cwd=CODE, env=env, check=True,
        input="".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts),
        capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def bench_route(db: Path, cold: int, warm: int, texts: list[str]) -> dict[str, list[float]]:
    env = {k: v for k, v in os.environ.items() if k != "DIANDAN_NO_EMBED"}
    out: dict[str, list[float]] = {k: [] for k in ("cold", "cold_cpu", "warm", "warm_cpu",
                                                   "lexical", "lexical_cpu")}
    answers: set[str] = set()
    for i in range(cold):
        clear_cache(db)
        wall, cpu, got = route_once(db, texts, env)
        answers.add(got)
        out["cold"].append(wall)
        out["cold_cpu"].append(cpu)
        print(f"cold {i + 1}: {wall:.2f} s (CPU {cpu:.2f} s), {cached_rows(db)} vectors kept "
              f"| load {load_note()}", flush=True)
    for i in range(warm):
        wall, cpu, got = route_once(db, texts, env)
        answers.add(got)
        out["warm"].append(wall)
        out["warm_cpu"].append(cpu)
        print(f"warm {i + 1}: {wall:.2f} s (CPU {cpu:.2f} s) | load {load_note()}", flush=True)
    if answers:
        print("rankings cold == warm:", len(answers) == 1, flush=True)
    for i in range(warm):
        wall, cpu, _ = route_once(db, texts, {**env, "DIANDAN_NO_EMBED": "1"})
        out["lexical"].append(wall)
        out["lexical_cpu"].append(cpu)
        print(f"lexical only {i + 1}: {wall:.2f} s (CPU {cpu:.2f} s) | load {load_note()}",
              flush=True)
    return out


def bench_startup(work: Path, db: Path, starts: int) -> dict[str, list[float]]:
    """`diandan run`: process start → /healthz 200, and → the semantic matcher built."""
    out: dict[str, list[float]] = {k: [] for k in ("cold_healthy", "cold_ready",
                                                   "warm_healthy", "warm_ready")}
    for kind in ("cold", "warm"):
        for i in range(starts):
            if kind == "cold":
                clear_cache(db)
            port = free_port()
            t0 = time.perf_counter()
            config = write_config(work, db, port)
            bot = BotProcess(work, config, port, argv=[
                PY, "-c", f"import sys; sys.path.insert(0, {str(CODE)!r}); import runpy; "
                "runpy.run_module('bot', run_name='__main__')", "run", "--config", str(config)])
            try:
                deadline = time.perf_counter() + 900
                while READY not in bot.log_path.read_bytes():
                    if time.perf_counter() > deadline or bot.proc.poll() is not None:
                        raise RuntimeError(f"no semantic matcher, see {bot.log_path}")
                    time.sleep(0.02)
                ready = time.perf_counter() - t0
            finally:
                bot.stop()
                bot.log_path.unlink()
            out[f"{kind}_healthy"].append(bot.started_in)
            out[f"{kind}_ready"].append(ready)
            print(f"start {kind} {i + 1}: healthy {bot.started_in:.2f} s, matcher ready "
                  f"{ready:.2f} s, {cached_rows(db)} vectors kept | load {load_note()}",
                  flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--experts", type=int, default=1000)
    ap.add_argument("--cold", type=int, default=2, help="runs with the cache emptied first")
    ap.add_argument("--warm", type=int, default=5, help="runs with the cache kept")
    ap.add_argument("--startup", type=int, default=0,
                    help="also start `diandan run` this many times per cache state")
    ap.add_argument("--root", type=Path, default=ROOT,
                    help="run the bot of this checkout (e.g. a worktree of an older commit)")
    args = ap.parse_args(argv)
    global CODE
    CODE = args.root.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-route-cold-") as tmp:
        work = Path(tmp)
        db = work / "route.db"
        (work / "roster.csv").write_text(roster_csv(args.experts), encoding="utf-8")
        imported = cli("experts", "import", str(work / "roster.csv"), "--db", str(db), cwd=work)
        if imported.returncode != 0:
            print(imported.stderr, file=sys.stderr)
            return 1
        print(f"{args.experts} experts imported into {db}", flush=True)
        res = bench_route(db, args.cold, args.warm, ORDERS)
        if args.startup:
            res.update(bench_startup(work, db, args.startup))
    print()
    for name, values in res.items():
        if values:
            print(f"{name:14s} s: {spread(values)}")
    if res["warm"]:
        best = min(res["warm"])
        print(f"warm route best {best:.2f} s, median {statistics.median(res['warm']):.2f} s: "
              f"{'PASS' if best < TARGET_WARM_S else 'MISS'} (target < {TARGET_WARM_S} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
