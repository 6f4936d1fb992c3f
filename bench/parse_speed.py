"""Speed of bot.text.parse: import and first-use time, and median/p99 time per message."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "parse_corpus.jsonl"
_COLD = (
    "import time; t = time.perf_counter(); from datetime import datetime; "
    "from bot.text.parse import parse; "
    "parse('点单：德清一家钢构企业焊接变形，联系人吴经理 13867201234，下周三前', "
    "datetime.fromisoformat('2026-05-06T10:00:00+08:00')); "
    "print(time.perf_counter() - t)"
)


def cold_start_ms() -> float:
    """Import plus the first parse (loads every data file), in a fresh interpreter."""
    runs = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", _COLD], cwd=ROOT, capture_output=True,
                             text=True, check=True)
        runs.append(float(out.stdout.strip()) * 1000)
    return statistics.median(runs)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bot.text.parse import parse

    with CORPUS.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    cases = [(r["text"], datetime.fromisoformat(r["now"])) for r in rows]
    for text, now in cases:
        parse(text, now)
    times = []
    for _ in range(5):
        for text, now in cases:
            t = time.perf_counter()
            parse(text, now)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"messages: {len(cases)} x 5")
    print(f"median parse: {statistics.median(times):.3f} ms   p99: {p99:.3f} ms   "
          f"max: {times[-1]:.3f} ms")
    print(f"import + first parse (fresh interpreter, median of 5): {cold_start_ms():.0f} ms")


if __name__ == "__main__":
    main()
