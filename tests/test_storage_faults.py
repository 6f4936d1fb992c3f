"""A full or read-only database: a clear error and a 503, nothing half-done, nothing corrupt."""

from __future__ import annotations

import pytest

from bot.app import App
from tests.fakes import Client

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导"


@pytest.mark.parametrize("fault", ["read-only", "full"])
@pytest.mark.sqlite_only
async def test_storage_fault_is_a_clear_503_and_loses_nothing(
        client: Client, local_app: App, caplog: pytest.LogCaptureFixture, fault: str) -> None:
    db = local_app.store.db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    if fault == "read-only":
        db.execute("PRAGMA query_only = 1")
    else:
        db.execute(f"PRAGMA max_page_count = {pages}")
    body = {"chat": "g1", "sender": "c1", "text": ORDER + "，" * 19_000, "msg_id": "m-1"}
    resp = await client.post("/api/local/messages", json=body)
    assert resp.status == 503 and "storage unavailable" in (await resp.json())["error"]
    assert "storage unavailable" in caplog.text and "Traceback" not in caplog.text
    db.execute("PRAGMA query_only = 0")
    db.execute("PRAGMA max_page_count = 1073741823")
    assert local_app.store.orders() == [] and local_app.store.seen("local", "m-1") is None
    again = await client.post("/api/local/messages", json=body)  # the sender retries
    data = await again.json()
    assert again.status == 200 and data["replies"][0]["text"].startswith("已收到点单 #1")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
