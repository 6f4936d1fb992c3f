"""The ledger (台账) as CSV or XLSX, and the figures of an order it shares with the cases."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from bot.periods import Period
from bot.text.phone_mask import mask_phones
from storage.records import Order, Session
from storage.store import Store

LEDGER_HEADER = ["编号", "企业", "需求", "类别", "专家", "状态", "日期",
                 "场次", "人次", "时长", "建议", "受益", "评价"]
LEDGER_SHEET = "台账"
Cell = str | int | float
LedgerFormat = Literal["csv", "xlsx"]
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
