"""Read the expert roster and the service menu from CSV or XLSX files (no database)."""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.roster_cells import (
    compact,
    parse_account,
    parse_capacity,
    parse_phone,
    parse_region,
    parse_status,
)

MODE_ONLINE, MODE_ONSITE, MODE_BOTH = "线上", "现场", "线上/现场"
MODE_ALIASES = {
    "线上": MODE_ONLINE, "远程": MODE_ONLINE, "在线": MODE_ONLINE, "online": MODE_ONLINE,
    "remote": MODE_ONLINE,
    "现场": MODE_ONSITE, "上门": MODE_ONSITE, "线下": MODE_ONSITE, "到厂": MODE_ONSITE,
    "onsite": MODE_ONSITE, "on-site": MODE_ONSITE, "offline": MODE_ONSITE,
    "均可": MODE_BOTH, "不限": MODE_BOTH, "both": MODE_BOTH, "any": MODE_BOTH,
}

ROSTER_HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "id", "工号", "专家编号"),
    "name": ("姓名", "name", "专家姓名"),
    "phone": ("手机", "phone", "电话", "手机号", "手机号码", "联系电话", "mobile"),
    "title": ("称号", "title", "荣誉称号", "职称"),
    "team": ("服务队", "team", "专业组", "队伍", "所属服务队"),
    "region": ("地区", "region", "所在地区", "区域"),
    "skills": ("专长", "skills", "专业特长", "擅长", "技能"),
    "tags": ("标签", "tags", "关键词"),
    "accounts": ("账号", "accounts", "帐号", "聊天账号", "account"),
    "capacity": ("容量", "capacity", "最大接单数"),
    "status": ("状态", "status"),
}
MENU_HEADERS: dict[str, tuple[str, ...]] = {
    "no": ("编号", "no", "序号", "number"),
    "title": ("名称", "title", "服务名称", "项目", "服务项目", "项目名称"),
    "description": ("说明", "description", "服务内容", "内容", "简介"),
    "provider": ("提供者", "provider", "服务提供者", "专家", "服务队"),
    "category": ("类别", "category", "专业领域", "分类"),
    "mode": ("方式", "mode", "服务方式"),
}

_LIST_SEP = re.compile(r"[;；、,，\n\r]+")
_NOTE = re.compile(r"[(（\[【].*$")
_JUNK = "\ufeff\u200b\u200c\u200d\u2060"
_MAX_HEADER_SCAN = 10
_CJK = re.compile(r"[\u3400-\u9fff]")


class RosterFormatError(Exception):
    """A problem with the whole file (missing, unreadable, no usable header); message in Chinese."""


@dataclass(frozen=True)
class RosterRow:
    """One expert of the roster, cleaned."""

    id: str
    name: str
    phone: str
    title: str
    team: str
    region: str
    skills: tuple[str, ...]
    tags: tuple[str, ...]
    accounts: tuple[str, ...]  # "platform:user_id"
    capacity: int | None = None
    status: str | None = None  # "active" | "paused"
    line: int = field(default=0, compare=False)  # where it was read (header = line 1)


@dataclass(frozen=True)
class RowError:
    """A rejected row: its line as a spreadsheet user sees it (header = line 1) and why."""

    line: int
    message: str


@dataclass(frozen=True)
class RosterResult:
    """The good rows of a roster file and the errors of the bad ones."""

    rows: list[RosterRow]
    errors: list[RowError]


@dataclass(frozen=True)
class MenuRow:
    """One item of the service menu (技术服务清单)."""

    no: int | None
    title: str
    description: str
    provider: str  # expert id or team name
    category: str
    mode: str  # "线上" | "现场" | "线上/现场"


def clean(value: object) -> str:
    """A cell as trimmed text: numbers without a trailing .0, invisible characters removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = str(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    for ch in _JUNK:
        text = text.replace(ch, "")
    return text.strip()


def split_list(cell: str) -> tuple[str, ...]:
    """Split a list cell on ; ； 、 , ， or newlines; drop blanks and repeats, keep order."""
    items = (clean(part) for part in _LIST_SEP.split(cell))
    return tuple(dict.fromkeys(item for item in items if item))


def _header_key(cell: str) -> str:
    text = compact(cell).lower().lstrip("*").rstrip("*")
    return _NOTE.sub("", text)


def _map_headers(cells: Sequence[str], spec: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Column index of each known field; a header may be `中文/english` or carry a note."""
    lookup = {_header_key(alias): field for field, aliases in spec.items() for alias in aliases}
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = _header_key(cell)
        candidates = [key, *key.split("/")] if "/" in key else [key]
        for candidate in candidates:
            field = lookup.get(candidate)
            if field is not None and field not in found:
                found[field] = index
                break
    return found


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise RosterFormatError("无法识别文件编码，请另存为 UTF-8 编码的 CSV 或 XLSX") from exc


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield [clean(cell) for cell in record]


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    import openpyxl  # local import: only needed for spreadsheets

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # e.g. "no default style"
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a corrupt file
        raise RosterFormatError(f"无法读取 Excel 文件 {path.name}：{exc}") from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            return
        for values in sheet.iter_rows(values_only=True):
            yield [clean(value) for value in values]
    finally:
        book.close()


def _file_rows(path: Path) -> Iterator[list[str]]:
    """Every row of the file as cleaned text cells, blank rows included (to keep line numbers)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx", ".xlsm"):
        if suffix == ".xls":
            raise RosterFormatError("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV")
        raise RosterFormatError(f"不支持的文件类型 {suffix or '（无扩展名）'}，请使用 CSV 或 XLSX")
    if not path.is_file():
        raise RosterFormatError(f"找不到文件 {path}")
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterFormatError(f"无法读取文件 {path}：{exc.strerror}") from exc
    return _csv_rows(data)


def _table(
    path: Path, spec: dict[str, tuple[str, ...]], required: tuple[str, ...], what: str
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, {field: cell}) for each non-blank data row after the header row."""
    rows = enumerate(_file_rows(path), start=1)
    columns: dict[str, int] | None = None
    for line, cells in rows:
        if not any(cells):
            continue
        mapped = _map_headers(cells, spec)
        if all(field in mapped for field in required):
            columns = mapped
            break
        if line >= _MAX_HEADER_SCAN:
            break
    if columns is None:
        names = "、".join(f"{spec[f][0]}/{spec[f][1]}" for f in required)
        raise RosterFormatError(f"{what}缺少表头：第一行应包含 {names} 列")
    for line, cells in rows:
        if not any(cells):
            continue
        yield line, {f: cells[i] if i < len(cells) else "" for f, i in columns.items()}


def _clean_name(cell: str) -> str:
    """A Chinese name loses the spaces used to align it (`王　丽`); others keep single spaces."""
    if _CJK.search(cell):
        return re.sub(r"\s+", "", cell)
    return re.sub(r"\s+", " ", cell)


def _roster_row(
    cells: dict[str, str], seen_ids: dict[str, int],
    seen_accounts: dict[str, RosterRow] | None, line: int,
) -> tuple[RosterRow | None, list[str]]:
    problems: list[str] = []
    expert_id = compact(cells.get("id", ""))
    name = _clean_name(cells.get("name", ""))
    if not expert_id:
        problems.append("缺少编号")
    elif expert_id in seen_ids:
        problems.append(f"编号 {expert_id} 与第 {seen_ids[expert_id]} 行重复")
    if not name:
        problems.append("缺少姓名")
    phone, reason = parse_phone(cells.get("phone", ""))
    problems += [reason] if reason else []
    region, reason = parse_region(cells.get("region", ""))
    problems += [reason] if reason else []
    accounts: list[str] = []
    for item in split_list(cells.get("accounts", "")):
        account, reason = parse_account(item)
        if account is None:
            problems.append(reason)
        elif seen_accounts is not None and account in seen_accounts:
            held = seen_accounts[account]
            problems.append(f"{account_taken(account, held.id, held.name)}（第 {held.line} 行）")
        elif account not in accounts:
            accounts.append(account)
    capacity, reason = parse_capacity(cells.get("capacity", ""))
    problems += [reason] if reason else []
    status, reason = parse_status(cells.get("status", ""))
    problems += [reason] if reason else []
    if problems or phone is None or region is None:
        return None, problems
    row = RosterRow(
        id=expert_id,
        name=name,
        phone=phone,
        title=cells.get("title", ""),
        team=cells.get("team", ""),
        region=region,
        skills=split_list(cells.get("skills", "")),
        tags=split_list(cells.get("tags", "")),
        accounts=tuple(accounts),
        capacity=capacity,
        status=status,
        line=line,
    )
    seen_ids[expert_id] = line
    if seen_accounts is not None:
        seen_accounts.update((account, row) for account in accounts)
    return row, []


def read_roster(path: Path, *, refuse_repeated_accounts: bool = True) -> RosterResult:
    """Read an expert roster (CSV in UTF-8/GBK or XLSX); bad rows are reported, good rows kept.
    A row giving an account an earlier row gave is refused, unless `refuse_repeated_accounts`
    is off (an import checks each row against the accounts stored so far instead)."""
    rows: list[RosterRow] = []
    errors: list[RowError] = []
    seen_ids: dict[str, int] = {}
    seen_accounts: dict[str, RosterRow] = {}
    for line, cells in _table(Path(path), ROSTER_HEADERS, ("id", "name"), "专家名单"):
        accounts = seen_accounts if refuse_repeated_accounts else None
        row, problems = _roster_row(cells, seen_ids, accounts, line)
        if row is None:
            errors.append(RowError(line, "；".join(problems)))
        else:
            rows.append(row)
    return RosterResult(rows, errors)


def _parse_mode(cell: str) -> tuple[str | None, str]:
    text = compact(cell).lower()
    if not text:
        return MODE_BOTH, ""
    if text in MODE_ALIASES:
        return MODE_ALIASES[text], ""
    parts = {MODE_ALIASES.get(part) for part in re.split(r"[/／、,，;；或和及+]", text) if part}
    if parts == {MODE_ONLINE, MODE_ONSITE} or parts == {MODE_BOTH}:
        return MODE_BOTH, ""
    if len(parts) == 1 and None not in parts:
        return parts.pop(), ""
    return None, f"方式应为 线上、现场 或 线上/现场（{cell}）"


def _parse_no(cell: str) -> tuple[int | None, str]:
    text = compact(cell).lstrip("#").removesuffix("号")
    if not text:
        return None, ""
    match = re.fullmatch(r"(\d+)(?:\.0+)?", text)
    if match is None or int(match.group(1)) == 0:
        return None, f"编号应为正整数（{cell}）"
    return int(match.group(1)), ""


def read_menu(path: Path) -> tuple[list[MenuRow], list[RowError]]:
    """Read the service menu (技术服务清单) from CSV or XLSX; bad rows reported by line."""
    items: list[MenuRow] = []
    errors: list[RowError] = []
    seen: dict[int, int] = {}
    for line, cells in _table(Path(path), MENU_HEADERS, ("title",), "服务清单"):
        problems: list[str] = []
        title = cells.get("title", "")
        if not title:
            problems.append("缺少名称")
        no, reason = _parse_no(cells.get("no", ""))
        problems += [reason] if reason else []
        if no is not None and no in seen:
            problems.append(f"编号 {no} 与第 {seen[no]} 行重复")
        mode, reason = _parse_mode(cells.get("mode", ""))
        problems += [reason] if reason else []
        if problems or mode is None:
            errors.append(RowError(line, "；".join(problems)))
            continue
        if no is not None:
            seen[no] = line
        items.append(
            MenuRow(
                no=no,
                title=title,
                description=cells.get("description", ""),
                provider=cells.get("provider", ""),
                category=cells.get("category", ""),
                mode=mode,
            )
        )
    return items, errors


def account_taken(account: str, holder_id: str, holder_name: str) -> str:
    """Why an account cannot be given to another expert: `账号 local:e1 已属于 E01 沈国平`."""
    return f"账号 {account} 已属于 {holder_id} {holder_name}"


def format_errors(errors: Iterable[RowError]) -> list[str]:
    """One Chinese line per error, e.g. `第 3 行：缺少姓名`."""
    return [f"第 {error.line} 行：{error.message}" for error in errors]


__all__: list[str] = [
    "MenuRow",
    "RosterFormatError",
    "RosterResult",
    "RosterRow",
    "RowError",
    "account_taken",
    "clean",
    "format_errors",
    "read_menu",
    "read_roster",
    "split_list",
]
