"""Exports: the ledger (台账) as CSV or XLSX, and the excellent-case booklet (优秀案例汇编)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from bot.periods import Period
from bot.text.phone_mask import mask_phones
from storage.records import OUTCOME_WORDS, Order, Session
from storage.store import Store

LEDGER_HEADER = ["编号", "企业", "需求", "类别", "专家", "状态", "日期",
                 "场次", "人次", "时长", "建议", "受益", "评价"]
LEDGER_SHEET = "台账"
Cell = str | int | float
LedgerFormat = Literal["csv", "xlsx"]
CasesFormat = Literal["html", "docx"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


PRIVATE_NEED = "职工个人需求"


def _all_orders(store: Store, period: Period | None, scope: str = "") -> list[Order]:
    """Every order (of the period, by creation time) in an admin scope, oldest first."""
    since, until = (period.start, period.end) if period else (None, None)
    found, _ = store.search_orders(since=since, until=until, limit=1 << 62, scope=scope)
    return sorted(found, key=lambda o: o.no)


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(x, 2)


def expert_names(store: Store, no: int, names: dict[str, str] | None = None) -> list[str]:
    """The names of an order's experts, lead first, then assists."""
    if names is None:
        names = {e.id: e.name for e in store.experts()}
    return [names.get(eid, eid) for eid, _ in store.team_of(no)]


def need_of(order: Order) -> str:
    """The order's need in one line: its summary, else its text."""
    return " ".join((order.summary or order.text).split())


def ledger_need(order: Order) -> str:
    """What a ledger may say of an order's need: a worker's private need only by its
    category (ledgers are reported upward and shared; the story stays with those who
    serve it)."""
    if order.private:
        return f"{PRIVATE_NEED}（{order.category}）" if order.category else PRIVATE_NEED
    return mask_phones(need_of(order))


def session_sums(sessions: Sequence[Session]) -> dict[str, int | float]:
    """场次, 人次, volunteer hours (duration × experts), suggestions, beneficiaries."""
    return {
        "sessions": len(sessions),
        "person_times": sum(len(s.experts) for s in sessions),
        "hours": _number(sum((s.hours or 0.0) * len(s.experts) for s in sessions)),
        "suggestions": sum(s.suggestions or 0 for s in sessions),
        "beneficiaries": sum(s.beneficiaries or 0 for s in sessions),
    }


def ledger(store: Store, period: Period | None = None, scope: str = ""
           ) -> tuple[list[str], list[list[Cell]]]:
    """The ledger: a header and one row per order (every order when no period is given)
    in an admin scope ("" for all)."""
    names = {e.id: e.name for e in store.experts()}
    rows: list[list[Cell]] = []
    for o in _all_orders(store, period, scope):
        sums = session_sums(store.sessions(o.no))
        rows.append([
            o.no, "" if o.private else o.enterprise or "", ledger_need(o), o.category or "",
            "、".join(expert_names(store, o.no, names)), o.state.word,
            o.created_at.date().isoformat(), sums["sessions"], sums["person_times"],
            sums["hours"], sums["suggestions"], sums["beneficiaries"], o.rating or "",
        ])
    return list(LEDGER_HEADER), rows


def _safe_text(value: Cell) -> Cell:
    """Keep spreadsheet programs from reading a cell of text as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def ledger_csv(header: list[str], rows: list[list[Cell]]) -> bytes:
    """CSV in UTF-8 with a BOM (Excel opens it correctly), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_safe_text(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def ledger_xlsx(header: list[str], rows: list[list[Cell]]) -> bytes:
    """One sheet, the header in the first row, text never taken for a formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = LEDGER_SHEET
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
    widths = [8, 24, 48, 12, 18, 8, 12, 6, 6, 8, 6, 6, 8]
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def ledger_bytes(store: Store, fmt: LedgerFormat, period: Period | None = None,
                 scope: str = "") -> tuple[bytes, int]:
    """The ledger file's bytes in `fmt`, and how many orders it holds."""
    header, rows = ledger(store, period, scope)
    if fmt == "csv":
        return ledger_csv(header, rows), len(rows)
    if fmt == "xlsx":
        return ledger_xlsx(header, rows), len(rows)
    raise ValueError(f"ledger format must be csv or xlsx, not {fmt!r}")


def write_ledger(store: Store, path: str | Path, fmt: LedgerFormat,
                 period: Period | None = None) -> int:
    """Write the ledger to `path`; returns the number of orders written."""
    data, count = ledger_bytes(store, fmt, period)
    Path(path).write_bytes(data)
    return count


# -- the excellent-case booklet -------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing done for a case: a progress note or a service session."""

    at: datetime
    text: str


@dataclass(frozen=True)
class Case:
    """One excellent case (优秀案例): an order marked excellent, with what was done."""

    order: Order
    title: str
    problem: str
    experts: list[str]
    steps: list[Step]
    result: str
    rating: str
    figures: dict[str, int | float]


def excellent_orders(store: Store, scope: str = "") -> list[int]:
    """The numbers of the orders marked excellent in an admin scope; never a private one
    (a worker's own need is no case to publish, even if it was marked before that rule)."""
    found, _ = store.search_orders(scope=scope, public=True, excellent=True, limit=1 << 62)
    return sorted(o.no for o in found)


def _session_line(s: Session) -> str:
    parts = [x for x in (
        f"{s.mode}服务" if s.mode else "服务",
        f"{s.hours:g} 小时" if s.hours is not None else "",
        f"专家 {len(s.experts)} 人" if s.experts else "",
        f"合理化建议 {s.suggestions} 条" if s.suggestions else "",
        f"受益 {s.beneficiaries} 人次" if s.beneficiaries else "",
    ) if x]
    line = "，".join(parts)
    return f"{line}：{s.note}" if s.note else line


def case_of(store: Store, order: Order) -> Case:
    """Gather one case from the order, its team, sessions and progress events.

    A booklet is handed around, so phone numbers in its text are masked (138****5678).
    """
    experts = []
    for eid, role in store.team_of(order.no):
        e = store.get_expert(eid)
        if e is None:
            experts.append(eid)
            continue
        about = "，".join(x for x in (e.title, e.team, "牵头" if role == "lead" else "协助") if x)
        experts.append(f"{e.name}（{about}）")
    steps: list[Step] = []
    completion_note = ""
    for ev in store.events(order_no=order.no):
        note = str(ev.data.get("note") or "").strip()
        if ev.kind == "order.progress" and note:
            steps.append(Step(ev.at, f"进展：{note}"))
        elif ev.kind == "order.scheduled":
            mode = str(ev.data.get("mode") or "")
            steps.append(Step(ev.at, f"预约{mode}服务" if mode else "预约服务"))
        elif ev.kind == "order.completed":
            completion_note = note
    sessions = store.sessions(order.no)
    steps.extend(Step(s.at, _session_line(s)) for s in sessions)
    steps.sort(key=lambda s: s.at)
    outcome = OUTCOME_WORDS.get(order.outcome or "", "")
    result = "；".join(x for x in (outcome, completion_note) if x) or "（未填写）"
    rating = order.rating or "（未评价）"
    if order.rating_stars:
        rating += f"（{order.rating_stars}星）"
    if order.rating_comment:
        rating += f"：{order.rating_comment}"
    title = order.enterprise or ""
    need = need_of(order)
    title = f"{title}：{need[:30]}" if title else need[:36]
    steps = [Step(s.at, mask_phones(s.text)) for s in steps]
    return Case(order=order, title=mask_phones(title), problem=mask_phones(order.text),
                experts=experts, steps=steps, result=mask_phones(result),
                rating=mask_phones(rating), figures=session_sums(sessions))


def cases(store: Store, scope: str = "") -> list[Case]:
    """The excellent cases in an admin scope, by order number."""
    found = (store.get_order(no) for no in excellent_orders(store, scope))
    return [case_of(store, o) for o in found if o is not None and not o.private]


def cases_bytes(store: Store, fmt: CasesFormat, now: datetime | None = None,
                scope: str = "") -> tuple[bytes, int]:
    """The case booklet's bytes in `fmt`, and how many cases it holds."""
    from bot.exports_booklet import booklet_docx, booklet_html

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
