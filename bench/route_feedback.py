"""Routing feedback: replay half of a labelled set as the bot's history (completed orders, and
/改派 from a wrong first choice to the right expert), then score the other half."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from route_quality import DATA, evaluate, load_cases, load_roster  # noqa: E402

from bot.text.match import Matcher  # noqa: E402
from bot.text.match_embed import default_embedder  # noqa: E402


def replay(matcher: Matcher, cases: list[dict[str, object]]) -> tuple[int, int]:
    """Teach the matcher with `cases` as an admin would: the right expert learns each order,
    a wrong first choice is moved away from it. Returns (learned, moved away)."""
    profiles = {eid: e.profile for eid, e in matcher._entries.items()}
    learned = moved = 0
    for case in cases:
        expected = [str(x) for x in case["expected"]]  # type: ignore[attr-defined]
        if not expected:
            continue
        text, region = str(case["text"]), case.get("region")
        got = matcher.rank(text, str(region) if region else None, top=1)
        right = profiles[expected[0]]
        profiles[right.id] = replace(right, history=(text[:120], *right.history)[:5])
        matcher.update(profiles[right.id])
        learned += 1
        if got and got[0].id not in expected:
            wrong = profiles[got[0].id]
            profiles[wrong.id] = replace(wrong, avoid=(text[:120], *wrong.avoid)[:5])
            matcher.update(profiles[wrong.id])
            moved += 1
    return learned, moved


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("roster", nargs="?", default=str(DATA / "route_roster.csv"))
    ap.add_argument("cases", nargs="?", default=str(DATA / "route_cases.jsonl"))
    ap.add_argument("--lexical", action="store_true", help="without the semantic layer")
    args = ap.parse_args(argv)
    embedder = None if args.lexical else default_embedder()
    cases = load_cases(Path(args.cases))
    taught, held = cases[0::2], cases[1::2]
    matcher = load_roster(Path(args.roster), embedder)
    before = evaluate(matcher, held).tiers
    learned, moved = replay(matcher, taught)
    after = evaluate(matcher, held).tiers
    print(f"{args.cases}: replayed {learned} orders ({moved} moved from a wrong first choice); "
          f"held-out half:")
    for kind in ["all", *sorted(k for k in after if k != "all")]:
        b1, b3, n = before[kind]
        a1, a3, _ = after[kind]
        print(f"{kind:12} n={n:4d}  top-1 {b1:.3f} → {a1:.3f}  top-3 {b3:.3f} → {a3:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
