"""`diandan db copy`: an installation moved whole between SQLite files and PostgreSQL, with
row counts and checksums compared table by table, into an empty database only."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.model import Attachment
from storage.copy import canonical, copy_database
from storage.records import NewOrder
from storage.schema import connect
from storage.store import Store
from tests.fakes import T0, FrozenClock
from tests.pg_server import PgServer, start_or_skip

IMAGE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff\xfe"  # bytes a text column would mangle


def _order(store: Store, text: str) -> int:
    return store.create_order(NewOrder("local", "g1", "group", "u1", "王师傅", text,
                                       summary=text[:10], region="浙江省湖州市德清县"), "u1").no


def _fill(target: str) -> None:
    """A small installation: experts (one with accounts in a non-sorted order), orders, a
    claim, a session with fractional hours, an attachment, a lexicon entry keyed by Chinese
    text, a local message with a PNG and a cached vector (BLOBs), the newest order removed."""
    from storage.records import Expert

    store = Store(connect(target), FrozenClock(T0))
    try:
        store.upsert_expert(Expert(id="X01", name="沈国平", skills=("焊接",),
                                   accounts=("local:zz", "dingtalk:aa", "local:mm")), actor="t")
        store.upsert_expert(Expert(id="X02", name="叶卫东", skills=("变频器",),
                                   accounts=("local:e2",)), actor="t")
        first = _order(store, "焊接变形严重，请专家指导")
        _order(store, "变频器报警 E07")
        gone = _order(store, "这张单稍后删除")
        assert store.claim(first, "X01", "local:zz")
        sid = store.add_session(first, "local:zz", mode="现场", hours=1.5, suggestions=2,
                                beneficiaries=12, note="改了工装夹具")
        store.amend_session(sid, "local:zz", hours=2.25)
        store.attach(first, Attachment("image", "现场.jpg", "media-1", "media/1.jpg"),
                     "local", "u1")
        store.add_lexicon("汽轮机振动", ("轴系振动",), ("机组一带负荷就抖",), actor="t")
        store.add_local_message("g1", "group", "bot", "机器人", "统计图", image=IMAGE)
        store.save_vectors("m", [(b"\x00\x01hash", struct.pack("<3f", 0.5, -1.25, 3.0))])
        store.record("t", "note", first, text="一条审计记录")
        store.saw("local", "g1", ("u3", "u1", "u2"))  # a composite key
        store.saw("local", "g2", ("u1",))
        with store.tx():  # the newest order gone: its number must still never come back
            store.db.execute("DELETE FROM orders WHERE no = ?", [gone])
    finally:
        store.db.close()


def _copy(capsys: pytest.CaptureFixture[str], source: str, target: str
          ) -> tuple[int, dict[str, Any], str]:
    code = main(["db", "copy", "--db", source, "--to", target, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def _sums(report: dict[str, Any]) -> dict[str, tuple[int, str]]:
    return {t["table"]: (t["source_rows"], t["source_sha256"]) for t in report["tables"]}


def _next_order(target: str) -> int:
    store = Store(connect(target), FrozenClock(T0))
    try:
        store.record("t", "after.copy")  # events' ids continue too (no duplicate key)
        return _order(store, "复制之后的新点单")
    finally:
        store.db.close()


def _accounts(target: str) -> tuple[str, ...]:
    store = Store(connect(target), FrozenClock(T0))
    try:
        expert = store.get_expert("X01")
        assert expert is not None
        return expert.accounts
    finally:
        store.db.close()


def test_sqlite_to_sqlite_copies_everything_and_numbering_continues(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    _fill(a)
    code, report, err = _copy(capsys, a, b)
    assert code == 0, err
    assert report["ok"] and report["source"] == a and report["target"] == b
    tables = {t["table"]: t for t in report["tables"]}
    assert "schema_version" not in tables and not any(n.startswith("sqlite_") for n in tables)
    for name, rows in {"orders": 2, "experts": 2, "expert_accounts": 4, "sessions": 1,
                       "session_experts": 1, "attachments": 1, "local_messages": 1,
                       "embedding_cache": 1, "lexicon_entries": 1}.items():
        assert tables[name]["source_rows"] == tables[name]["target_rows"] == rows, name
    assert tables["events"]["source_rows"] > 5
    assert all(t["ok"] and t["source_sha256"] == t["target_sha256"] for t in tables.values())
    # Copying the copy gives the same checksums: they are about the data, not the file.
    code, again, err = _copy(capsys, b, str(tmp_path / "c.db"))
    assert code == 0, err
    assert _sums(again) == _sums(report)
    assert _accounts(b) == ("local:zz", "dingtalk:aa", "local:mm")  # insertion order kept
    # Orders 1-3 were numbered (3 then removed): the copy's next order is 4, never 3 again.
    assert _next_order(b) == 4
    assert _next_order(a) == 4


def test_text_report_names_both_databases(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    _fill(a)
    assert main(["db", "copy", "--to", b, "--db", a]) == 0
    out = capsys.readouterr().out
    assert f"源数据库：{a}（" in out and f"目标数据库：{b}（" in out
    line = next(x for x in out.splitlines() if x.startswith("orders "))
    assert line.split()[1:3] == ["2", "2"]
    assert "每张表两边的行数和校验和一致" in out


def test_refuses_a_target_that_is_not_empty(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    _fill(a)
    store = Store(connect(b), FrozenClock(T0))
    store.add_admin("local:boss", "", "t")  # one row in one table is enough to refuse
    store.db.close()
    code, report, err = _copy(capsys, a, b)
    assert code != 0 and report == {}
    assert "不是空的" in err and "admins" in err and "Traceback" not in err
    db = connect(b)
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0  # nothing written
    db.close()
    # The configured database itself is not a target either.
    assert main(["db", "copy", "--db", a, "--to", a]) != 0
    assert "就是当前的数据库" in capsys.readouterr().err


@pytest.mark.sqlite_only
def test_a_target_that_cannot_be_opened_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, bad = str(tmp_path / "a.db"), tmp_path / "notes.txt"
    _fill(a)
    bad.write_text("这不是数据库，只是一段文字。" * 200, encoding="utf-8")
    assert main(["db", "copy", "--db", a, "--to", str(bad)]) != 0
    err = capsys.readouterr().err
    assert err.startswith("diandan: 无法打开目标数据库") and len(err.splitlines()) == 1


@pytest.mark.sqlite_only
def test_a_difference_after_copying_rolls_everything_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The counts and checksums are compared before the target's transaction commits: a
    target that changes what it is given (here a trigger) keeps nothing."""
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    _fill(a)
    db = connect(b)
    db.execute("CREATE TRIGGER mangle AFTER INSERT ON experts BEGIN "
               "UPDATE experts SET name = '某某' WHERE id = new.id; END")
    db.close()
    code, report, err = _copy(capsys, a, b)
    assert code != 0 and "核对不一致" in err and "experts" in err
    assert not report["ok"]
    bad = [t["table"] for t in report["tables"] if not t["ok"]]
    assert bad == ["experts"]
    db = connect(b)
    assert db.execute("SELECT count(*) FROM experts").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    db.close()


def test_small_batches_give_the_same_copy(tmp_path: Path) -> None:
    """Reading in pages (keyset pagination, here two rows a page, over single and composite
    keys) copies and sums exactly what one page does."""
    _fill(str(tmp_path / "a.db"))
    results = []
    for name, batch in (("b.db", 2), ("c.db", 1000)):
        source, target = connect(tmp_path / "a.db"), connect(tmp_path / name)
        try:
            results.append(copy_database(source, target, batch=batch))
        finally:
            source.close()
            target.close()
    small, large = results
    assert small == large and all(t.ok for t in small)
    rows = {t.name: t.source_rows for t in small}
    assert rows["chat_members"] == 4 and rows["expert_accounts"] == 4 and rows["events"] > 5


def test_canonical_values_are_the_same_whichever_driver_gave_them() -> None:
    assert canonical(memoryview(b"\x00\xff")) == canonical(b"\x00\xff") == {"hex": "00ff"}
    assert canonical(True) == 1 and canonical(None) is None
    assert json.dumps(canonical(1.0)) != json.dumps(canonical(1))  # a float stays a float


# -- PostgreSQL (a throwaway server; skipped without the binaries) ---------------------------

@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    server = start_or_skip()
    try:
        yield server
    finally:
        server.stop()


def test_sqlite_to_postgresql_and_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], pg: PgServer) -> None:
    a, c = str(tmp_path / "a.db"), str(tmp_path / "c.db")
    _fill(a)
    # A password in the URL (trust authentication ignores it) is never printed.
    url = pg.create_database("copy_roundtrip").replace(
        f"{pg.user}@", f"{pg.user}:s3cret@", 1)
    code, there, err = _copy(capsys, a, url)
    assert code == 0, err
    assert there["ok"] and "s3cret" not in json.dumps(there) and ":***@" in there["target"]
    code, back, err = _copy(capsys, url, c)
    assert code == 0, err
    assert _sums(back) == _sums(there)  # the same data gives the same checksums on both
    assert _accounts(url) == _accounts(c) == ("local:zz", "dingtalk:aa", "local:mm")
    store = Store(connect(c), FrozenClock(T0))
    assert store.db.execute("SELECT image FROM local_messages").fetchone()[0] == IMAGE
    store.db.close()
    # Numbering continues past the copied orders (and the removed #3) on both backends.
    assert _next_order(url) == 4
    assert _next_order(c) == 4
    # Text output names both databases, the password masked.
    d = str(tmp_path / "d.db")
    assert main(["db", "copy", "--db", url, "--to", d]) == 0
    out = capsys.readouterr().out
    assert "s3cret" not in out and ":***@" in out and "（PostgreSQL）\n目标数据库：" in out
    assert f"目标数据库：{d}（" in out


@pytest.mark.sqlite_only  # the source must be a SQLite file, with SQLite's typing
def test_a_value_postgresql_would_change_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], pg: PgServer) -> None:
    """SQLite keeps 1.5 in an INTEGER column; PostgreSQL's BIGINT would round it. The
    checksums differ, so nothing is kept."""
    a = str(tmp_path / "a.db")
    _fill(a)
    db = connect(a)
    db.execute("UPDATE orders SET urgent = 1.5 WHERE no = 1")
    db.close()
    url = pg.create_database("copy_refused")
    code, report, err = _copy(capsys, a, url)
    assert code != 0 and "核对不一致" in err and "orders" in err and "Traceback" not in err
    assert [t["table"] for t in report["tables"] if not t["ok"]] == ["orders"]
    db = connect(url)
    assert db.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    db.close()


@pytest.mark.sqlite_only  # the source must be a SQLite file, which keeps NUL in text
def test_text_postgresql_cannot_hold_is_refused_and_nothing_is_kept(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], pg: PgServer) -> None:
    a = str(tmp_path / "a.db")
    _fill(a)
    db = connect(a)
    db.execute("UPDATE experts SET title = ? WHERE id = 'X02'", ["高级\x00技师"])
    db.close()
    url = pg.create_database("copy_nul")
    code, report, err = _copy(capsys, a, url)
    # PostgreSQL keeps the NUL as U+FFFD: the experts' checksums differ, so nothing is kept.
    assert code != 0 and "核对不一致" in err and "Traceback" not in err
    assert [t["table"] for t in report["tables"] if not t["ok"]] == ["experts"]
    db = connect(url)
    assert db.execute("SELECT count(*) FROM experts").fetchone()[0] == 0
    db.close()
