"""`diandan report` and `diandan remind` exactly as in the Contracts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from storage.records import NewOrder
from storage.schema import connect
from storage.store import Store
from tests.fakes import T0, FrozenClock

KEYS = {"requests", "cancelled", "claimed", "completed", "solved", "sessions", "experts",
        "person_times", "hours", "suggestions", "beneficiaries", "satisfaction", "by_category",
        "by_region", "by_team", "honour_roll"}


def _db(tmp_path: Path, orders: int = 2) -> str:
    path = tmp_path / "r.db"
    store = Store(connect(path), FrozenClock(T0))
    for i in range(orders):
        store.create_order(NewOrder("local", "g1", "group", "local:c1", "吴经理", f"焊接{i}",
                                    summary=f"焊接{i}", category="焊接"), actor="local:c1")
    store.db.close()
    return str(path)


def test_report_month_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = _db(tmp_path)
    assert main(["report", "--month", "2026-05", "--json", "--db", db]) == 0
    t = json.loads(capsys.readouterr().out)
    assert set(t) >= KEYS and t["requests"] == 2 and t["satisfaction"] is None
    assert t["by_category"]["焊接"]["requests"] == 2


def test_report_empty_period_and_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    db = _db(tmp_path)
    assert main(["report", "--month", "2025-01", "--json", "--db", db]) == 0
    t = json.loads(capsys.readouterr().out)
    assert t["requests"] == 0 and t["sessions"] == 0 and t["satisfaction"] is None
    assert main(["report", "--from", "2026-05-06", "--to", "2026-05-06", "--db", db,
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["requests"] == 2
    assert main(["report", "--month", "2026-05", "--db", db]) == 0
    assert "收到需求 2 件" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["report", "--month", "2026-13"], ["report", "--month", "May"], ["report"],
    ["report", "--from", "2026-05-01"], ["report", "--month", "2026-05", "--scope", "city:x"],
    ["report", "--from", "2026-05-31", "--to", "2026-05-01"],
])
def test_report_bad_input_exits_nonzero_with_one_line(tmp_path: Path, argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "bot", *argv, "--db", _db(tmp_path, 0)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_remind_dry_run_then_run_then_nothing_new(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = _db(tmp_path, 1)
    config = tmp_path / "config.toml"  # the orders are in local chats: deliver there
    config.write_text("[local]\nenabled = true\n", encoding="utf-8")
    later = "2026-05-07T12:00:00+08:00"
    assert main(["remind", "--dry-run", "--now", later, "--db", db]) == 0
    out = capsys.readouterr().out
    assert "#1" in out and out.count("\n") == 1
    args = ["remind", "--now", later, "--db", db, "--config", str(config)]
    assert main(args) == 0  # --dry-run wrote nothing
    assert "#1" in capsys.readouterr().out
    assert main(args) == 0
    assert "没有到期的提醒" in capsys.readouterr().out
    store = Store(connect(db), FrozenClock(T0))
    sent = store.local_messages("g1")
    assert any("#1 重新待接单" in m["text"] for m in sent)  # no bot ran: delivered by remind
    assert store.pending_count() == 0


def test_export_ledger_csv_and_xlsx(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import openpyxl

    db = _db(tmp_path, 3)
    out = tmp_path / "ledger.csv"
    assert main(["export", "--format", "csv", "--out", str(out), "--db", db]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: opens right in Excel
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:4] == ["编号", "企业", "需求", "类别"] and len(lines) == 4
    xlsx = tmp_path / "ledger.xlsx"
    assert main(["export", "--format", "xlsx", "--month", "2026-05", "--out", str(xlsx),
                 "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["rows"] == 3
    rows = list(openpyxl.load_workbook(xlsx).active.iter_rows(values_only=True))
    assert rows[0][0] == "编号" and len(rows) == 4
    empty = tmp_path / "empty.csv"
    assert main(["export", "--format", "csv", "--month", "2025-01", "--out", str(empty),
                 "--db", db]) == 0
    assert len(empty.read_text(encoding="utf-8-sig").splitlines()) == 1  # the header only


@pytest.mark.parametrize("argv", [
    ["export", "--format", "pdf", "--out", "x"], ["export", "--format", "csv"],
    ["export", "--format", "html", "--out", "x"], ["export", "--format", "csv", "--month",
                                                   "2026-13", "--out", "x"],
    ["export", "--format", "csv", "--out", "/no/such/dir/x.csv"],
])
def test_export_bad_input(tmp_path: Path, argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "bot", *argv, "--db", _db(tmp_path, 0)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode != 0 and len(proc.stderr.strip().splitlines()) == 1
