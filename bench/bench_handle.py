"""App.handle p50/p99 in-process on the big database: new orders, claims, completions, queries."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import itertools
import json
import pstats
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiohttp import web
from bench_common import ROOT, load_note, order_texts, pct, spread

from bot.app import App, build_app
from bot.config import BotConfig, Config, LocalConfig, StorageConfig
from bot.model import ChatKind, Incoming
from storage.checkpoint import Checkpointer
from storage.records import OutboxItem

DEFAULT_DB = "/tmp/diandan_big.db"
PLATFORM = "dingtalk"  # the generated roster is linked to dingtalk:ding<N>; no network here
CASES = ROOT / "tests" / "data" / "route_cases.jsonl"
_ORDER_NO = re.compile(r"已收到点单 #(\d+)")


class BenchChat:
    """An in-memory Platform (like tests/fakes.FakeChat) under the generated data's name."""

    rate_limited = False
    in_store = False
    sending = True
    can_tell = True

    def __init__(self, app: App, name: str = PLATFORM) -> None:
        self.name = name
        self.sent = 0
        self.last: list[OutboxItem] = []
        app.add_platform(self)

    def routes(self) -> list[web.RouteDef]:
        return []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, item: OutboxItem) -> str:
        self.sent += 1
        self.last.append(item)
        return f"b{self.sent}"


class GcPauses:
    """Times the garbage collector's pauses (a full collection over a big index is slow)."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = defaultdict(list)
        self._t = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._t) * 1000)

    def report(self) -> str:
        return "; ".join(f"gen{g}: {len(v)} pauses, max {max(v):.1f} ms, total {sum(v):.0f} ms"
                         for g, v in sorted(self.pauses.items()) if v)


class Driver:
    """Feeds a realistic mix of messages and times each App.handle call."""

    def __init__(self, app: App, chat: BenchChat, seed: int) -> None:
        self.app = app
        self.chat = chat
        self.rnd = random.Random(seed)
        self.ids = itertools.count(1)
        self.run = f"{time.time_ns()}"
        max_no = app.store.db.execute("SELECT max(no) FROM orders").fetchone()[0] or 1
        self.max_no = int(max_no)
        self.open: list[tuple[int, str, list[str]]] = []     # (no, requester, announced ids)
        self.claimed: list[tuple[int, str, str]] = []        # (no, requester, lead account)
        self.done: list[tuple[int, str]] = []                # (no, requester)
        self.times: dict[str, list[float]] = defaultdict(list)
        self.deliver: list[float] = []
        with CASES.open(encoding="utf-8") as f:
            cases = [c["text"] for c in map(json.loads, f) if c]
        self.texts = ["点单：" + t for t in cases] + order_texts(4000, seed=seed)

    async def say(self, kind: str, text: str, sender: str, chat: str = "cid0001") -> None:
        msg = Incoming(platform=PLATFORM, msg_id=f"bench-{self.run}-{next(self.ids)}",
                       chat_id=chat, chat_kind=ChatKind.GROUP, sender_id=sender,
                       sender_name=sender, text=text)
        self.chat.last = []
        t = time.perf_counter()
        handled = await self.app.handle(msg)
        mid = time.perf_counter()
        await self.app.outbox.deliver(handled.sent)
        end = time.perf_counter()
        self.times[kind].append(mid - t)
        self.deliver.append(end - mid)
        self._follow(kind, text, sender)

    def _follow(self, kind: str, text: str, sender: str) -> None:
        if kind == "new_order":
            for item in self.chat.last:
                m = _ORDER_NO.search(item.text)
                if m:
                    experts = [u for u in item.mentions]
                    self.open.append((int(m.group(1)), sender, experts))
                    break

    async def step(self) -> None:
        r = self.rnd.random()
        if r < 0.30 or not self.open:
            await self.say("new_order", self.rnd.choice(self.texts),
                           f"boss{self.rnd.randrange(5000)}")
        elif r < 0.45:
            no, requester, experts = self.open.pop(self.rnd.randrange(len(self.open)))
            who = self.rnd.choice(experts) if experts else f"ding{self.rnd.randint(1, 10000)}"
            await self.say("claim", f"接单 {no}", who)
            if self.app.store.get_order(no).lead:  # type: ignore[union-attr]
                self.claimed.append((no, requester, who))
        elif r < 0.55 and self.claimed:
            no, requester, lead = self.claimed.pop(0)
            await self.say("complete", f"办结 {no} 已解决 建议2条 服务2小时 受益职工30人 现场",
                           lead)
            self.done.append((no, requester))
        elif r < 0.62 and self.done:
            no, requester = self.done.pop(0)
            await self.say("rate", f"评价 {no} 满意 师傅很专业", requester)
        elif r < 0.82:
            await self.say("query", f"查询 {self.rnd.randint(1, self.max_no)}",
                           f"boss{self.rnd.randrange(5000)}")
        elif r < 0.90:
            await self.say("open_orders", "待接单", f"boss{self.rnd.randrange(5000)}")
        elif r < 0.95:
            await self.say("my_orders", "我的单", f"ding{self.rnd.randint(1, 10000)}")
        else:
            await self.say("help", "帮助", f"boss{self.rnd.randrange(5000)}")


async def bench(db: str, n: int, rounds: int, seed: int, profile: str | None,
                checkpointer: bool = True) -> int:
    config = replace(Config(), storage=StorageConfig(path=db),
                     bot=BotConfig(admins=("dingtalk:admin",)), local=LocalConfig(enabled=False))
    t0 = time.perf_counter()
    app = build_app(config)
    checkpoints = Checkpointer(db) if checkpointer else None  # as `App.serve` runs one
    if checkpoints:
        checkpoints.start(app.store.db)
    chat = BenchChat(app)
    orders = app.store.db.execute("SELECT count(*) FROM orders").fetchone()[0]
    experts = app.store.db.execute("SELECT count(*) FROM experts").fetchone()[0]
    print(f"db {db}: {orders:,} orders, {experts:,} experts; "
          f"build_app {time.perf_counter() - t0:.2f} s")
    driver = Driver(app, chat, seed)
    t = time.perf_counter()
    await driver.say("first_order", driver.texts[0], "boss1")  # builds the matcher index
    print(f"first order (builds the routing index over the roster and past orders): "
          f"{time.perf_counter() - t:.2f} s")
    driver.times.clear()
    pauses = GcPauses()
    prof = cProfile.Profile() if profile else None
    p99s: list[float] = []
    p50s: list[float] = []
    for r in range(rounds):
        before = {k: len(v) for k, v in driver.times.items()}
        if prof:
            prof.enable()
        t = time.perf_counter()
        for _ in range(n):
            await driver.step()
        took = time.perf_counter() - t
        if prof:
            prof.disable()
        this = [x for k, v in driver.times.items() for x in v[before.get(k, 0):]]
        p50s.append(pct(this, 50) * 1000)
        p99s.append(pct(this, 99) * 1000)
        print(f"round {r + 1}: {len(this)} messages in {took:.1f} s; handle p50 {p50s[-1]:.2f} ms "
              f"p99 {p99s[-1]:.2f} ms max {max(this) * 1000:.1f} ms | load {load_note()}",
              flush=True)
    print("\nper kind, all rounds (ms):")
    for kind, v in sorted(driver.times.items()):
        print(f"  {kind:12s} n={len(v):5d}  p50 {pct(v, 50) * 1000:7.2f}  "
              f"p99 {pct(v, 99) * 1000:7.2f}  max {max(v) * 1000:7.1f}")
    print(f"  outbox.deliver after handle: p50 {pct(driver.deliver, 50) * 1000:.2f} "
          f"p99 {pct(driver.deliver, 99) * 1000:.2f}")
    print(f"garbage collector during the rounds: {pauses.report() or 'none'}")
    print(f"handle p50 ms over rounds: {spread(p50s)}")
    print(f"handle p99 ms over rounds: {spread(p99s)}   (target < 20; best {min(p99s):.2f} "
          f"{'PASS' if min(p99s) < 20 else 'MISS'})")
    if checkpoints:
        checkpoints.stop()
    app.store.db.close()
    if prof and profile:
        prof.dump_stats(profile)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profile).sort_stats("tottime").print_stats(20)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default=DEFAULT_DB, help="the generated database (bench/gen_data.py);"
                    " the run adds its own orders to it")
    ap.add_argument("-n", type=int, default=1000, help="messages per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--profile", help="write cProfile stats of the timed rounds here")
    ap.add_argument("--no-checkpointer", action="store_true",
                    help="leave WAL checkpoints to the writer (as the bot did before)")
    args = ap.parse_args(argv)
    if not Path(args.db).exists():
        ap.error(f"{args.db} does not exist: run bench/gen_data.py first")
    return asyncio.run(bench(args.db, args.n, args.rounds, args.seed, args.profile,
                             not args.no_checkpointer))


if __name__ == "__main__":
    raise SystemExit(main())
