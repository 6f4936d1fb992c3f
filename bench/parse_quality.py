"""Accuracy of bot.text.parse per field and request-detection P/R/F1 over labelled JSONL."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.text.parse import parse  # noqa: E402

DEFAULT = ROOT / "tests" / "data" / "parse_corpus.jsonl"
FIELDS = ("intent", "enterprise", "contact", "phone", "deadline", "urgent", "category",
          "service_type", "region")


def predict(row: dict[str, Any]) -> dict[str, Any]:
    """The parser's contract JSON for one labelled row (plus `unsure`)."""
    p = parse(row["text"], datetime.fromisoformat(row["now"]))
    out = p.contract_json()
    out["unsure"] = p.unsure
    return out


def score(rows: list[dict[str, Any]], show: bool) -> dict[str, float]:
    """Print and return per-field accuracy and request-detection precision/recall/F1."""
    hits = dict.fromkeys(FIELDS, 0)
    tp = fp = fn = 0
    for row in rows:
        got = predict(row)
        for f in FIELDS:
            if got[f] == row.get(f):
                hits[f] += 1
            elif show:
                print(f"  {f}: want {row.get(f)!r} got {got[f]!r} | {row['text'][:70]!r}")
        want_req, got_req = bool(row["is_request"]), bool(got["is_request"])
        tp += want_req and got_req
        fp += got_req and not want_req
        fn += want_req and not got_req
        if show and want_req != got_req:
            print(f"  is_request: want {want_req} got {got_req} | {row['text'][:70]!r}")
    n = len(rows)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    result = {f: hits[f] / n for f in FIELDS}
    result.update(precision=precision, recall=recall, f1=f1)
    print(f"{n} messages, {sum(r['is_request'] for r in rows)} requests")
    print(f"request detection  precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}")
    for f in FIELDS:
        print(f"{f:<13} {result[f]:.3f}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file", nargs="?", default=str(DEFAULT), help="labelled JSONL")
    ap.add_argument("--show", action="store_true", help="print every miss")
    args = ap.parse_args()
    with open(args.file, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    score(rows, args.show)


if __name__ == "__main__":
    main()
