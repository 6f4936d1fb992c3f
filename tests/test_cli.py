"""The `diandan` command: experts import/list, parse, options anywhere, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROSTER = """编号,姓名,手机,称号,服务队,地区,专长,标签,账号
X01,沈国平,13905720118,全国劳动模范,电仪组,浙江省湖州市德清县,焊接；焊接变形,不锈钢、钢结构,local:e1
X02,,13800000000,,,,,,
X03,叶卫东,13867409326,高级技师,电仪组,浙江省杭州市西湖区,变频器,电气,local:e4
X04,坏账号,13867409326,,,,,,nocolon
"""


def _roster(tmp_path: Path, text: str = ROSTER) -> Path:
    p = tmp_path / "roster.csv"
    p.write_text(text, encoding="utf-8-sig")
    return p


def test_import_reports_bad_rows_by_line_and_loads_the_rest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "d.db")
    # Some rows were refused: the good ones load, and the exit code says so.
    assert main(["experts", "import", str(_roster(tmp_path)), "--db", db, "--json"]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert (report["added"], report["updated"]) == (2, 0)
    assert [e["line"] for e in report["errors"]] == [3, 5]
    assert "第 3 行" in err and "第 5 行" in err
    assert main(["--db", db, "experts", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["experts"]
    assert [e["id"] for e in listed] == ["X01", "X03"]
    assert listed[0]["skills"] == ["焊接", "焊接变形"] and listed[0]["accounts"] == ["local:e1"]


def test_reimport_updates_by_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "d.db")
    main(["experts", "import", str(_roster(tmp_path)), "--db", db])
    changed = ROSTER.replace("变频器,电气", "变频器；PLC,电气")
    main(["experts", "import", str(_roster(tmp_path, changed)), "--db", db, "--json"])
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(out)["updated"] == 2
    main(["experts", "list", "--json", "--db", db])
    experts = json.loads(capsys.readouterr().out)["experts"]
    assert experts[1]["skills"] == ["变频器", "PLC"] and len(experts) == 2


def test_parse_writes_one_json_object_per_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = [{"text": "点单：焊接变形严重 13867201234"}, {"text": "谢谢大家"}]
    monkeypatch.setattr(sys, "stdin", iter([json.dumps(x, ensure_ascii=False) + "\n"
                                            for x in lines] + ["not json\n"]))
    assert main(["parse", "--now", "2026-05-06T10:00:00+08:00"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    keys = {"is_request", "intent", "enterprise", "contact", "phone", "deadline", "urgent",
            "category", "service_type", "region", "summary"}
    assert set(out[0]) == keys and out[0]["is_request"] is True
    assert out[0]["phone"] == "13867201234"
    assert out[1]["is_request"] is False and "error" in out[2]


@pytest.mark.parametrize(
    "argv",
    [
        ["experts", "bogus"],
        ["nosuch"],
        ["experts", "import"],
        ["parse", "--now", "yesterday"],
        ["experts", "import", "/no/such/file.csv"],
        ["experts", "list", "--config", "/no/such.toml"],
    ],
)
def test_bad_arguments_give_one_line_and_nonzero(tmp_path: Path, argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *argv, "--db", str(tmp_path / "d.db")],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text("[server]\nport = 'eighty'\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "experts", "list", "--config", str(bad)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.strip() == "diandan: server.port 应为数字"


def test_menu_import_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    menu = tmp_path / "menu.csv"
    menu.write_text("编号,名称,说明,提供者,类别,方式\n1,焊接变形诊断,现场指导,X01,焊接,现场\n"
                    "2,,缺名称,X01,焊接,现场\n", encoding="utf-8")
    db = str(tmp_path / "d.db")
    assert main(["menu", "import", str(menu), "--db", db, "--json"]) == 1  # a row refused
    out, err = capsys.readouterr()
    assert json.loads(out)["imported"] == 1 and "第 3 行" in err
    assert main(["menu", "list", "--json", "--db", db]) == 0
    [item] = json.loads(capsys.readouterr().out)["menu"]
    assert (item["no"], item["title"], item["mode"]) == (1, "焊接变形诊断", "现场")
