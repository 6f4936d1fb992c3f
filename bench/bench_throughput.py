"""Orders/s through the local API of `diandan run` beside a floor server of the same shape
(aiohttp plus one durable SQLite insert per message), same client, rounds alternated."""

from __future__ import annotations

import argparse
import asyncio
import json
import pstats
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (
    PY,
    BotProcess,
    cli,
    free_port,
    load_note,
    order_texts,
    pct,
    roster_csv,
    rss_mb,
    spread,
    warm_vectors,
    write_config,
)

PATH = "/api/local/messages"


# ── the floor: parses the same JSON, checks the same fields, keeps the message durably ──
def floor_app(db: str, sync: str = "NORMAL") -> web.Application:
    """One INSERT and its commit per message, in WAL mode with synchronous = NORMAL as the
    bot's database (durable when the process is killed; FULL adds an fsync per commit, as
    a power cut would need), then the answer."""
    conn = sqlite3.connect(db, isolation_level=None)  # autocommit: one transaction each
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {'FULL' if sync.upper() == 'FULL' else 'NORMAL'}")
    conn.execute("CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY, msg_id TEXT "
                 "UNIQUE, chat TEXT, sender TEXT, text TEXT)")

    async def post(request: web.Request) -> web.Response:
        try:
            body = await request.json(loads=json.loads)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        if not isinstance(body, dict) or not all(
                isinstance(body.get(k), str) for k in ("chat", "sender", "text")):
            return web.json_response({"error": "chat, sender and text are required"},
                                     status=400)
        cur = conn.execute("INSERT INTO inbox (msg_id, chat, sender, text) VALUES (?, ?, ?, ?)",
                           [body.get("msg_id"), body["chat"], body["sender"], body["text"]])
        return web.json_response({"id": cur.lastrowid, "replies": []})

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(PATH, post)
    app.router.add_get("/healthz", healthz)
    return app


def serve_floor(port: int, db: str, sync: str) -> None:
    web.run_app(floor_app(db, sync), host="127.0.0.1", port=port, print=None, access_log=None)


# ── the load generator ──
async def load(base: str, texts: list[str], clients: int, seconds: float,
               check: bool) -> dict[str, Any]:
    """`clients` concurrent posters, each message distinct, for at most `seconds` or until the
    texts run out; returns the rate and client-side latencies."""
    queue = iter(enumerate(texts))
    latencies: list[float] = []
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession, w: int) -> None:
        for i, text in queue:
            if time.perf_counter() >= stop_at:
                return
            body = {"chat": f"g{i % 40}", "sender": f"c{i % 500}", "text": text,
                    "msg_id": f"bench-{i}-{time.monotonic_ns()}"}
            t = time.perf_counter()
            async with session.post(base + PATH, json=body) as resp:
                data = await resp.json()
                if resp.status != 200:
                    errors.append(f"{resp.status} {data}")
                elif check and not any(r["text"].startswith("已收到点单 #")
                                       for r in data["replies"]):
                    errors.append(f"no announcement: {data}")
            latencies.append(time.perf_counter() - t)

    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(session, w) for w in range(clients)))
        took = time.perf_counter() - t0
    return {"n": len(latencies), "rate": len(latencies) / took, "seconds": took,
            "p50_ms": pct(latencies, 50) * 1000, "p99_ms": pct(latencies, 99) * 1000,
            "errors": errors}


def start_floor(port: int, db: Path, sync: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([PY, __file__, "--serve-floor", str(port), "--floor-db", str(db),
                             "--floor-sync", sync])
    from bench_common import call

    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        try:
            if call(f"http://127.0.0.1:{port}/healthz", timeout=2)[0] == 200:
                return proc
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError("floor server did not start")


TARGET = 0.2  # orders/s over the floor's messages/s, medians of alternated rounds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each timed run")
    ap.add_argument("--rounds", type=int, default=5, help="bot/floor pairs (medians compared)")
    ap.add_argument("--experts", type=int, default=1000)
    ap.add_argument("--db", help="use this database instead of a fresh one (e.g. the big one)")
    ap.add_argument("--warm-vectors", action="store_true",
                    help="embed every profile before the bot starts (a bot that has served a "
                         "while); without it a fresh import's big roster embeds as orders come")
    ap.add_argument("--profile", help="run the bot under cProfile and write the stats here")
    ap.add_argument("--json", action="store_true", help="print one JSON summary line at the end")
    ap.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--floor-db", help=argparse.SUPPRESS)
    ap.add_argument("--floor-sync", default="NORMAL", choices=("NORMAL", "FULL"),
                    help="the floor's synchronous setting (the bot's is NORMAL)")
    args = ap.parse_args(argv)
    if args.serve_floor:
        serve_floor(args.serve_floor, args.floor_db, args.floor_sync)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-tp-") as tmp:
        work = Path(tmp)
        db = Path(args.db) if args.db else work / "bot.db"
        if not args.db:
            (work / "roster.csv").write_text(roster_csv(args.experts), encoding="utf-8")
            done = cli("experts", "import", str(work / "roster.csv"), "--db", str(db), cwd=work)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
        if args.warm_vectors:
            t = time.perf_counter()
            n = warm_vectors(db)
            print(f"profile vectors of {n} experts stored in {time.perf_counter() - t:.0f} s",
                  flush=True)
        port, floor_port = free_port(), free_port()
        bot = BotProcess(work, write_config(work, db, port), port,
                         profile=Path(args.profile) if args.profile else None)
        floor = start_floor(floor_port, work / "floor.db", args.floor_sync)
        rss_start = rss_mb(bot.pid)
        per_run = int(args.seconds * 2000) + 1000  # more texts than any run can use
        texts = order_texts(per_run * (args.rounds + 1) + 200, seed=7)
        used = 0
        try:
            # Warm-up: the matcher index is built on the first order.
            asyncio.run(load(bot.base, texts[:50], 4, 60, check=True))
            used = 50
            bot_runs: list[dict[str, Any]] = []
            floor_runs: list[dict[str, Any]] = []
            for r in range(args.rounds):
                res = asyncio.run(load(bot.base, texts[used:used + per_run], args.clients,
                                       args.seconds, check=True))
                used += res["n"]
                floor_res = asyncio.run(load(f"http://127.0.0.1:{floor_port}",
                                             texts[:per_run], args.clients, args.seconds,
                                             check=False))
                bot_runs.append(res)
                floor_runs.append(floor_res)
                print(f"round {r + 1}: bot {res['rate']:.1f} orders/s (p50 {res['p50_ms']:.1f} "
                      f"ms, p99 {res['p99_ms']:.1f} ms, {res['n']} orders, "
                      f"{len(res['errors'])} errors) | floor {floor_res['rate']:.0f} msg/s "
                      f"(p50 {floor_res['p50_ms']:.2f} ms) | ratio "
                      f"{res['rate'] / floor_res['rate']:.3f} | load {load_note()}", flush=True)
                for e in res["errors"][:3]:
                    print("  error:", e[:200])
            rss_after = rss_mb(bot.pid)
        finally:
            floor.terminate()
            floor.wait(timeout=10)
            bot.stop()
        if args.profile:
            pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
    rates = [r["rate"] for r in bot_runs]
    floor_rates = [r["rate"] for r in floor_runs]
    ratio = statistics.median(rates) / statistics.median(floor_rates)
    p99 = statistics.median(r["p99_ms"] for r in bot_runs)
    print(f"\nclients {args.clients}, {args.seconds:g} s per run, {args.rounds} rounds, "
          f"roster {args.experts if not args.db else 'from ' + str(args.db)}")
    print(f"bot   orders/s: {spread(rates)}")
    print(f"floor msg/s   : {spread(floor_rates)}")
    print(f"ratio of medians: {ratio:.3f}   (target >= {TARGET}: "
          f"{'PASS' if ratio >= TARGET else 'MISS'})")
    print(f"bot p50 / p99 ms (median of rounds): "
          f"{statistics.median(r['p50_ms'] for r in bot_runs):.1f} / {p99:.1f}")
    print(f"bot RSS MiB: after start {rss_start[0]:.1f}, after the runs {rss_after[0]:.1f} "
          f"(peak {rss_after[1]:.1f})")
    errors = sum(len(r["errors"]) for r in bot_runs)
    if args.json:
        print(json.dumps({"bot_rate": rates, "floor_rate": floor_rates, "ratio": ratio,
                          "rss_start": rss_start[0], "rss_after": rss_after[0],
                          "errors": errors, "p99_ms": [r["p99_ms"] for r in bot_runs]}))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
