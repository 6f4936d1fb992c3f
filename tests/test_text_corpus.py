"""Every labelled message of tests/data/parse_corpus.jsonl parses to its labels."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.text.parse import INTENTS, parse

CORPUS = Path(__file__).parent / "data" / "parse_corpus.jsonl"
FIELDS = ("is_request", "intent", "enterprise", "contact", "phone", "deadline", "urgent",
          "category", "service_type", "region")


def _rows() -> list[dict[str, Any]]:
    with CORPUS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


ROWS = _rows()


def test_corpus_is_large_and_covers_every_intent() -> None:
    assert len(ROWS) >= 300
    assert {r["intent"] for r in ROWS} == set(INTENTS)
    assert sum(r["is_request"] for r in ROWS) >= 120


@pytest.mark.parametrize("row", ROWS, ids=[f"{i:03d}" for i in range(len(ROWS))])
def test_labels(row: dict[str, Any]) -> None:
    parsed = parse(row["text"], datetime.fromisoformat(row["now"]))
    got = parsed.contract_json()
    want = {f: row[f] for f in FIELDS}
    assert {f: got[f] for f in FIELDS} == want
    if "unsure" in row:
        assert parsed.unsure == row["unsure"]
    if got["is_request"]:
        summary = got["summary"]
        assert summary is None or (0 < len(summary) <= 60 and "\n" not in summary)
        for phone in parsed.phones:
            assert summary is None or phone not in summary
