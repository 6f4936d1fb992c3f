"""Bad input never raises and never opens an order."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.text.parse import INTENTS, Parsed, mask_phones, parse

NOW = datetime(2026, 5, 6, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BAD = [
    "", " ", "\n\t", "x" * 20000, "焊" * 20000, "😀" * 5000, "\x00\x01\x02\x1b[31m\x7f",
    "<script>alert('点')</script>", "<p onclick='x'>hi</p>", "'; DROP TABLE orders; --",
    "SELECT * FROM users WHERE id = 1 OR 1=1", "{\"text\": null}", "\u202e\u200b\u2060",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"), "🔥" * 3, "?!?!",
    "1" * 5000, "#" * 100, "////", "@@@@", "点" * 3,
]


@pytest.mark.parametrize("text", BAD, ids=range(len(BAD)))
def test_bad_input(text: str) -> None:
    p = parse(text, NOW)
    assert isinstance(p, Parsed)
    assert p.intent in INTENTS
    assert not p.is_request
    assert isinstance(mask_phones(text), str)


def test_huge_message_with_a_request_is_read_from_its_start() -> None:
    p = parse("点单：焊接变形，联系人吴经理 13867201234" + "。" * 20000, NOW)
    assert p.is_request and p.phone == "13867201234"


def test_contract_json_keys() -> None:
    d = parse("点单：焊接变形严重，下周三前", NOW).contract_json()
    assert list(d) == ["is_request", "intent", "enterprise", "contact", "phone", "deadline",
                       "urgent", "category", "service_type", "region", "summary"]
    assert d["deadline"] == "2026-05-13"
