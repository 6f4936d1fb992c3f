"""The command line speaks Chinese to admins, says which database it read, and says so when
that database is empty instead of printing empty results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli_args import chinese


def _run(tmp_path: Path, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *argv], input=stdin,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "DIANDAN_NO_EMBED": "1"})


@pytest.mark.parametrize(("argv", "want"), [
    (["export", "--format", "pdf", "--out", "x"], "参数 --format 的取值 'pdf' 无效"),
    (["export", "--format", "csv"], "缺少参数：--out"),
    (["route", "--top", "x"], "参数 --top 的取值 'x' 无效（应为整数）"),
    (["report", "--month"], "参数 --month 后面需要一个值"),
    (["nosuch"], "的取值 'nosuch' 无效"),
    (["report", "--campaign", "五月"], "配置 [report.campaigns] 中没有活动 '五月'"),
    (["report", "--from", "2026-5-1", "--to", "2026-05-31"], "日期应为 YYYY-MM-DD"),
    (["report", "--month", "2026-05", "--scope", "city:x"], "范围应为 all"),
    (["parse", "--now", "yesterday"], "--now 应为 ISO 8601 时间"),
])
def test_errors_are_one_chinese_line(tmp_path: Path, argv: list[str], want: str) -> None:
    proc = _run(tmp_path, *argv, "--db", str(tmp_path / "d.db"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("diandan: ") and want in line, line


def test_help_is_in_chinese(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("用法：diandan") and "显示本帮助并退出" in proc.stdout
    assert "导出台账" in proc.stdout and "show this help" not in proc.stdout
    sub = _run(tmp_path, "demo", "--help")
    assert sub.stdout.startswith("用法：diandan demo") and "用法：用法" not in sub.stdout


def test_unknown_argparse_messages_pass_through() -> None:
    assert chinese("something new") == "something new"


def test_route_and_report_on_an_empty_database_say_so(tmp_path: Path) -> None:
    db = str(tmp_path / "empty.db")
    route = _run(tmp_path, "route", "--db", db, stdin='{"text": "焊接变形"}\n')
    assert route.returncode == 0 and json.loads(route.stdout) == {"experts": []}
    assert "专家库是空的" in route.stderr and "data/demo.db" in route.stderr
    assert f"数据库：{db}" in route.stderr
    report = _run(tmp_path, "report", "--month", "2026-05", "--db", db, "--json")
    assert report.returncode == 0 and json.loads(report.stdout)["requests"] == 0
    assert "还没有任何点单" in report.stderr


def test_remind_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "r.db")
    assert main(["remind", "--json", "--dry-run", "--db", db]) == 0
    assert json.loads(capsys.readouterr().out) == {"dry_run": True, "sent": None,
                                                  "reminders": []}
