"""The ledger (台账) as CSV and XLSX, and the excellent-case booklet as HTML and DOCX."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.app import App
from bot.cases import cases, result_sentence
from bot.exports import LEDGER_HEADER, ledger, write_ledger
from bot.exports_booklet import write_cases
from bot.model import SHANGHAI, FrozenClock
from bot.periods import month
from bot.text.outcome import outcome_remark
from storage.records import NewOrder, OrderState, Session
from tests.fakes import add_expert

WELD_TEXT = "不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导。联系人吴经理 13867201234"
WELD_ROW = [2, "德清华盛钢构有限公司", "不锈钢薄板焊接变形", "焊接", "沈国平、叶卫东", "已评价",
            "2026-05-06", 2, 4, 6, 3, 35, "满意"]


def _new(text: str, summary: str, enterprise: str, category: str, region: str) -> NewOrder:
    return NewOrder(platform="fake", chat_id="g1", chat_kind="group", requester="fake:c1",
                    requester_name="吴经理", text=text, summary=summary, enterprise=enterprise,
                    contact="吴经理", phone="13867201234", category=category, region=region)


def seed(app: App, clock: FrozenClock) -> None:
    """Three orders: #1 cancelled in April, #2 served, rated and excellent, #3 claimed."""
    s = app.store
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    add_expert(app, "e2", "叶卫东", ("变频器", "电气"), region="浙江省杭州市西湖区", team="电仪组")
    add_expert(app, "e3", "陈水根", ("水产养殖",), region="浙江省金华市婺城区")
    clock.set(datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI))
    s.create_order(_new("虾塘凌晨缺氧，鱼虾浮头，求水产专家", "虾塘缺氧浮头", "婺城区青山渔场",
                        "农业养殖", "浙江省金华市婺城区"), "fake:c1")
    s.transition(1, (OrderState.OPEN,), OrderState.CANCELLED, "fake:c1", "order.cancelled",
                 {"ended_at": s.stamp(), "end_reason": "已自行解决"}, reason="已自行解决")
    clock.set(datetime(2026, 5, 6, 10, 0, tzinfo=SHANGHAI))
    s.create_order(_new(WELD_TEXT, "不锈钢薄板焊接变形", "德清华盛钢构有限公司", "焊接",
                        "浙江省湖州市德清县"), "fake:c1")
    clock.advance(hours=1)
    assert s.claim(2, "e1", "fake:e1")
    s.assist(2, "e2", "fake:e2")
    clock.advance(hours=20)
    s.update_order(2, "fake:e1", "order.progress", {"active_at": s.stamp()},
                   note="已远程指导调整焊接顺序")
    s.add_session(2, "fake:e1", mode="线上", hours=1, suggestions=None, beneficiaries=5,
                  note="远程指导")
    clock.advance(days=2)
    s.transition(2, (OrderState.CLAIMED,), OrderState.COMPLETED, "fake:e1", "order.completed",
                 {"completed_at": s.stamp(), "outcome": "solved"}, outcome="solved",
                 note="焊接顺序调整后变形减少80%")
    s.add_session(2, "fake:e1", mode="现场", hours=2, suggestions=3, beneficiaries=30,
                  note="焊接顺序调整后变形减少80%")
    s.transition(2, (OrderState.COMPLETED,), OrderState.RATED, "fake:c1", "order.rated",
                 {"rating": "满意", "rating_stars": 5, "rating_comment": "师傅很专业",
                  "rated_at": s.stamp()}, rating="满意", stars=5, comment="师傅很专业")
    s.update_order(2, "fake:admin", "order.case", {"excellent": 1}, excellent=True)
    clock.set(datetime(2026, 5, 7, 15, 0, tzinfo=SHANGHAI))
    s.create_order(_new("变频器老是报过流故障，产线停了两次", "变频器过流故障", "瑞安长城机械",
                        "电气", "浙江省温州市瑞安市"), "fake:c2")
    assert s.claim(3, "e2", "fake:e2")


@pytest.fixture
def seeded(app: App, clock: FrozenClock) -> App:
    seed(app, clock)
    return app


def test_ledger_rows_with_hand_computed_figures(seeded: App) -> None:
    header, rows = ledger(seeded.store)
    assert header == LEDGER_HEADER
    assert [r[0] for r in rows] == [1, 2, 3]
    assert rows[0][5] == "已撤销" and rows[0][7:12] == [0, 0, 0, 0, 0]
    # #2: sessions of 1 h and 2 h, each with two experts → 4 person-times, 6 volunteer hours.
    assert rows[1] == WELD_ROW
    assert rows[2][4] == "叶卫东" and rows[2][5] == "已接单" and rows[2][12] == ""


def test_ledger_of_a_month_holds_only_its_orders(seeded: App) -> None:
    _, may = ledger(seeded.store, month(2026, 5))
    _, april = ledger(seeded.store, month(2026, 4))
    _, june = ledger(seeded.store, month(2026, 6))
    assert [r[0] for r in may] == [2, 3] and [r[0] for r in april] == [1] and june == []


def test_csv_has_bom_header_row_and_one_row_per_order(seeded: App, tmp_path: Path) -> None:
    out = tmp_path / "ledger.csv"
    assert write_ledger(seeded.store, out, "csv") == 3
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == LEDGER_HEADER
    assert len(rows) == 4 and all(len(r) == len(LEDGER_HEADER) for r in rows)
    assert rows[2] == [str(v) for v in WELD_ROW]


def test_xlsx_reads_back_with_openpyxl(seeded: App, tmp_path: Path) -> None:
    out = tmp_path / "ledger.xlsx"
    assert write_ledger(seeded.store, out, "xlsx", month(2026, 5)) == 2
    ws = load_workbook(out).active
    assert ws is not None
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    assert values[0] == LEDGER_HEADER
    assert values[1] == WELD_ROW
    assert len(values) == 3 and values[2][0] == 3


def test_empty_ledger_is_just_the_header(app: App, tmp_path: Path) -> None:
    out = tmp_path / "empty.csv"
    assert write_ledger(app.store, out, "csv") == 0
    assert out.read_bytes().decode("utf-8-sig").splitlines() == [",".join(LEDGER_HEADER)]


def test_text_is_never_read_as_a_formula(app: App, tmp_path: Path) -> None:
    app.store.create_order(_new("=1+2 测试", "=1+2 测试", "=HYPERLINK(\"x\")", "焊接", ""),
                           "fake:c1")
    write_ledger(app.store, tmp_path / "l.csv", "csv")
    write_ledger(app.store, tmp_path / "l.xlsx", "xlsx")
    rows = list(csv.reader(io.StringIO((tmp_path / "l.csv").read_text("utf-8-sig"))))
    assert rows[1][1] == "'=HYPERLINK(\"x\")"
    ws = load_workbook(tmp_path / "l.xlsx").active
    assert ws is not None
    assert ws["B2"].data_type == "s" and ws["B2"].value == "=HYPERLINK(\"x\")"


def test_cases_gather_what_was_done(seeded: App) -> None:
    [case] = cases(seeded.store)
    assert case.order.no == 2
    assert case.experts == ["沈国平（高级技师，综合组，牵头）", "叶卫东（高级技师，电仪组，协助）"]
    steps = [s.text for s in case.steps]
    assert steps[0] == "进展：已远程指导调整焊接顺序"
    assert any("现场服务" in s and "焊接顺序调整后变形减少80%" in s for s in steps)
    assert case.result == ("经专家指导，问题已解决，提出合理化建议 3 条，受益职工 35 人次。"
                           "焊接顺序调整后变形减少80%。")  # prose, not the 办结 command
    assert "点单" not in case.problem and "吴经理" not in case.problem  # the problem alone
    assert "焊接后变形严重" in case.problem
    assert case.rating == "满意（5星）：师傅很专业"
    assert case.figures == {"sessions": 2, "person_times": 4, "hours": 6, "suggestions": 3,
                            "beneficiaries": 35}


def test_case_booklet_html_one_case_a_page(seeded: App, clock: FrozenClock,
                                           tmp_path: Path) -> None:
    seeded.store.update_order(3, "fake:admin", "order.case", {"excellent": 1}, excellent=True)
    seeded.store.update_order(3, "fake:e2", "order.progress", {}, note="已电话13867201234联系")
    out = tmp_path / "cases.html"
    assert write_cases(seeded.store, out, "html") == 2
    html = out.read_text("utf-8")
    assert "优秀案例汇编" in html and "page-break-after: always" in html
    assert html.count('<section class="page case"') == 2
    assert "德清华盛钢构有限公司" in html and "师傅很专业" in html and "沈国平" in html
    assert "案例一" in html and "案例二" in html
    assert "13867201234" not in html and "138****1234" in html  # a booklet is handed around
    assert "http" not in html.replace("http://www.w3.org", "")  # nothing loaded from outside


def test_case_booklet_escapes_html(app: App, tmp_path: Path) -> None:
    app.store.create_order(_new("<script>alert(1)</script>", "<b>x</b>", "<i>厂</i>", "焊接", ""),
                           "fake:c1")
    app.store.db.execute("UPDATE orders SET excellent = 1")
    write_cases(app.store, tmp_path / "c.html", "html")
    html = (tmp_path / "c.html").read_text("utf-8")
    assert "<script>alert" not in html and "<b>x" not in html and "&lt;b&gt;x" in html
    assert "<i>厂" not in html and "&lt;i&gt;厂" in html


def test_case_booklet_docx(seeded: App, tmp_path: Path) -> None:
    from docx import Document

    out = tmp_path / "cases.docx"
    assert write_cases(seeded.store, out, "docx") == 1
    assert zipfile.is_zipfile(out)
    doc = Document(str(out))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = "\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert "优秀案例汇编" in text and "案例一" in text
    assert "不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导" in text  # the problem, no contact line
    assert "吴经理" not in text and "13867201234" not in text
    assert "问题已解决" in text and "焊接顺序调整后变形减少80%。" in text
    assert "满意（5星）：师傅很专业" in text and "进展：已远程指导调整焊接顺序" in text
    assert "德清华盛钢构有限公司" in cells and "沈国平（高级技师，综合组，牵头）" in cells
    breaks = [p for p in doc.paragraphs if p.paragraph_format.page_break_before]
    assert len(breaks) == 1


def test_empty_booklet_says_so(app: App, tmp_path: Path) -> None:
    assert write_cases(app.store, tmp_path / "c.html", "html") == 0
    assert "暂无优秀案例" in (tmp_path / "c.html").read_text("utf-8")


@pytest.mark.parametrize(("note", "want"), [
    ("已解决 建议3条 服务2小时 受益30人 现场 总结：更换了密封圈",
     "经专家现场指导，问题已解决，提出合理化建议 3 条，受益职工 30 人次。更换了密封圈。"),
    ("部分解决 服务2小时", "经专家现场指导，问题部分解决，提出合理化建议 3 条，受益职工 30 人次。"),
])
def test_the_outcome_reads_as_prose(note: str, want: str) -> None:
    session = Session(1, 1, datetime(2026, 5, 6, tzinfo=SHANGHAI), "现场", 2, 3, 30, ("e1",),
                      note)
    outcome = "solved" if note.startswith("已解决") else "partial"
    assert result_sentence(outcome, [session], outcome_remark(note)) == want
