"""The excellent-case booklet (优秀案例汇编) rendered as printable HTML or as DOCX."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Literal

from bot.cases import Case, cases
from bot.templates import day, make_env, num
from storage.store import Store

CasesFormat = Literal["html", "docx"]
TITLE = "优秀案例汇编"
SUBTITLE = "劳模工匠点单服务"
NUMERALS = "一二三四五六七八九十"


def case_label(i: int) -> str:
    """案例一 … 案例十, 案例11 …"""
    return f"案例{NUMERALS[i - 1]}" if 1 <= i <= len(NUMERALS) else f"案例{i}"


def figures_line(case: Case) -> str:
    f = case.figures
    return (f"服务 {f['sessions']} 场次，{f['person_times']} 人次，"
            f"志愿服务 {num(f['hours'])} 小时，"
            f"合理化建议 {f['suggestions']} 条，受益 {f['beneficiaries']} 人次")


def booklet_html(cases: list[Case], now: datetime) -> str:
    """One self-contained page per case, with print CSS page breaks."""
    template = make_env().get_template("cases.html")
    return template.render(title=TITLE, subtitle=SUBTITLE, cases=cases, generated=day(now),
                           label=case_label, figures=figures_line)


def booklet_docx(cases: list[Case], now: datetime) -> bytes:
    """A Word document: a title page, then one case a page."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(11)
    rpr = normal.element.get_or_add_rPr()
    rpr.get_or_add_rFonts().set(qn("w:eastAsia"), "宋体")
    doc.core_properties.title = TITLE
    head = doc.add_heading(TITLE, level=0)
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub = doc.add_paragraph(f"{SUBTITLE} · 共 {len(cases)} 个案例 · {day(now)}")
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if not cases:
        doc.add_paragraph("暂无优秀案例。")
    for i, case in enumerate(cases, start=1):
        heading = doc.add_heading(f"{case_label(i)}  {case.title}", level=1)
        heading.paragraph_format.page_break_before = True
        o = case.order
        facts = [("点单编号", o.label), ("服务企业", o.enterprise or "（未填写）"),
                 ("类别", "、".join(x for x in (o.category, o.service_type) if x) or "（未分类）"),
                 ("地区", o.region or "（未填写）"), ("日期", day(o.created_at)),
                 ("服务专家", "、".join(case.experts) or "（无）")]
        table = doc.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for key, value in facts:
            cells = table.add_row().cells
            cells[0].text, cells[1].text = key, value
        doc.add_heading("企业难题", level=2)
        doc.add_paragraph(case.problem)
        doc.add_heading("服务过程", level=2)
        if not case.steps:
            doc.add_paragraph("（未记录）")
        for step in case.steps:
            doc.add_paragraph(f"{day(step.at)}  {step.text}", style="List Bullet")
        doc.add_paragraph(figures_line(case))
        doc.add_heading("服务成效", level=2)
        doc.add_paragraph(case.result)
        doc.add_heading("企业评价", level=2)
        doc.add_paragraph(case.rating)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def cases_bytes(store: Store, fmt: CasesFormat, now: datetime | None = None,
                scope: str = "") -> tuple[bytes, int]:
    """The case booklet's bytes in `fmt`, and how many cases it holds."""
    found = cases(store, scope)
    when = now or store.clock.now()
    if fmt == "html":
        return booklet_html(found, when).encode("utf-8"), len(found)
    if fmt == "docx":
        return booklet_docx(found, when), len(found)
    raise ValueError(f"case booklet format must be html or docx, not {fmt!r}")


def write_cases(store: Store, path: str | Path, fmt: CasesFormat) -> int:
    """Write the case booklet to `path`; returns the number of cases."""
    data, count = cases_bytes(store, fmt)
    Path(path).write_bytes(data)
    return count
