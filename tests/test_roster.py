"""Tests for reading expert rosters and service menus from CSV and XLSX files."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from bot.roster import (
    MenuRow,
    RosterFormatError,
    RosterRow,
    RowError,
    format_errors,
    read_menu,
    read_roster,
    split_list,
)

DEMO = Path(__file__).resolve().parent.parent / "bot" / "data" / "demo"

ZH_HEADER = "编号,姓名,手机,称号,服务队,地区,专长,标签,账号"


def write(tmp_path: Path, text: str, name: str = "roster.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(tmp_path: Path, rows: list[list[object]], name: str = "roster.xlsx") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def test_csv_with_chinese_headers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{ZH_HEADER}\n"
        "X01,沈国平,13905720118,全国劳动模范,电仪组,浙江省湖州市德清县,"
        "不锈钢焊接；氩弧焊,焊接;变形,local:e1\n",
    )
    result = read_roster(path)
    assert result.errors == []
    assert result.rows == [
        RosterRow(
            id="X01",
            name="沈国平",
            phone="13905720118",
            title="全国劳动模范",
            team="电仪组",
            region="浙江省湖州市德清县",
            skills=("不锈钢焊接", "氩弧焊"),
            tags=("焊接", "变形"),
            accounts=("local:e1",),
        )
    ]


def test_csv_with_english_headers_in_any_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Name,ID,Accounts,Skills,Region,Team,Title,Phone,Tags,Capacity,Status\n"
        "叶卫东,e4,dingtalk:staff001,变频器,浙江省杭州市西湖区,电仪组,高级技师,"
        "13867409326,电气,4,paused\n",
    )
    result = read_roster(path)
    assert result.errors == []
    row = result.rows[0]
    assert (row.id, row.name, row.team) == ("e4", "叶卫东", "电仪组")
    assert row.accounts == ("dingtalk:staff001",)
    assert row.capacity == 4
    assert row.status == "paused"


def test_bilingual_header_cells_and_notes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "编号/id,*姓名,账号（平台:用户ID）,状态\n"
        "e1,沈国平,local:e1,在岗\n",
    )
    result = read_roster(path)
    assert result.errors == []
    assert result.rows[0].accounts == ("local:e1",)
    assert result.rows[0].status == "active"


def test_utf8_bom_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, f"\ufeff{ZH_HEADER}\ne1,沈国平,,,,,,,\n")
    result = read_roster(path)
    assert [row.id for row in result.rows] == ["e1"]
    assert result.errors == []


def test_gbk_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, f"{ZH_HEADER}\ne1,沈国平,,,热动组,,锅炉,,\n", encoding="gbk")
    result = read_roster(path)
    assert result.rows[0].name == "沈国平"
    assert result.rows[0].team == "热动组"


def test_tab_separated_text_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "编号\t姓名\t专长\ne1\t沈国平\t焊接,切割\n")
    result = read_roster(path)
    assert result.rows[0].skills == ("焊接", "切割")


def test_xlsx_with_numbers_and_blank_rows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["编号", "姓名", "手机", "专长", "账号", "容量"],
            [101, "沈国平", 13905720118, "焊接、氩弧焊", "local:e1", 3],
            [None, None, None, None, None, None],
            [102, "  俞建强　", "138 5723 0425", "数控", "wecom:yujq", 2.0],
        ],
    )
    result = read_roster(path)
    assert result.errors == []
    assert [(r.id, r.name, r.phone, r.capacity) for r in result.rows] == [
        ("101", "沈国平", "13905720118", 3),
        ("102", "俞建强", "13857230425", 2),
    ]
    assert result.rows[0].skills == ("焊接", "氩弧焊")


def test_xlsx_error_lines_count_blank_rows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["编号", "姓名"],
            ["e1", "沈国平"],
            [None, None],
            ["e2", None],
        ],
    )
    result = read_roster(path)
    assert [row.id for row in result.rows] == ["e1"]
    assert result.errors == [RowError(4, "缺少姓名")]


def test_bad_rows_are_reported_by_line_and_good_rows_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "编号,姓名,账号,容量,状态\n"
        "e1,沈国平,local:e1,3,在岗\n"
        ",俞建强,,,\n"
        "e3,,,,\n"
        "e4,叶卫东,e4,,\n"
        "e5,钱海峰,qq:12345,,\n"
        "e6,朱建华,,三个,\n"
        "e7,孙晓梅,,,请假中\n"
        "e8,金根法,local:e8,,\n",
    )
    result = read_roster(path)
    assert [row.id for row in result.rows] == ["e1", "e8"]
    by_line = {error.line: error.message for error in result.errors}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8]
    assert by_line[3] == "缺少编号"
    assert by_line[4] == "缺少姓名"
    assert "账号格式应为 平台:用户ID" in by_line[5]
    assert "未知平台 qq" in by_line[6]
    assert "容量应为非负整数" in by_line[7]
    assert "状态应为" in by_line[8]


def test_row_with_several_problems_lists_them_all(tmp_path: Path) -> None:
    path = write(tmp_path, "编号,姓名,账号\n,,local\n")
    result = read_roster(path)
    assert result.rows == []
    assert result.errors[0].line == 2
    assert "缺少编号" in result.errors[0].message
    assert "缺少姓名" in result.errors[0].message
    assert "账号格式" in result.errors[0].message


def test_blank_rows_are_skipped_but_keep_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "编号,姓名\n\ne1,沈国平\n, \n,,\n\u3000,\ne2,\n")
    result = read_roster(path)
    assert [row.id for row in result.rows] == ["e1"]
    assert result.errors == [RowError(7, "缺少姓名")]


def test_quoted_multiline_cell_counts_as_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, '编号,姓名,专长\ne1,沈国平,"焊接\n切割"\ne2,\n')
    result = read_roster(path)
    assert result.rows[0].skills == ("焊接", "切割")
    assert result.errors == [RowError(3, "缺少姓名")]


def test_list_separators_and_whitespace(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "编号,姓名,专长,标签,账号\n"
        '\u3000e1 ,\u3000沈国平\u3000,"焊接; 切割；氩弧焊、 不锈钢,钢结构，焊接",'
        '"变形 ,, ；",local:e1；dingtalk：ding01、wecom:shen\n',
    )
    row = read_roster(path).rows[0]
    assert row.id == "e1"
    assert row.name == "沈国平"
    assert row.skills == ("焊接", "切割", "氩弧焊", "不锈钢", "钢结构")
    assert row.tags == ("变形",)
    assert row.accounts == ("local:e1", "dingtalk:ding01", "wecom:shen")


def test_platform_names_in_chinese_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "编号,姓名,账号\ne1,沈国平,钉钉:ding01;企业微信:shen;LOCAL:e1\n")
    assert read_roster(path).rows[0].accounts == ("dingtalk:ding01", "wecom:shen", "local:e1")


def test_duplicate_ids_and_accounts_are_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "编号,姓名,账号\ne1,沈国平,local:e1\ne2,俞建强,local:e2\ne1,潘立新,\ne3,叶卫东,local:e2\n",
    )
    result = read_roster(path)
    assert [row.name for row in result.rows] == ["沈国平", "俞建强"]
    assert result.errors == [
        RowError(4, "编号 e1 与第 2 行重复"),
        RowError(5, "账号 local:e2 已属于 e2 俞建强（第 3 行）"),
    ]


def test_title_row_above_the_header_is_skipped(tmp_path: Path) -> None:
    text = "2026年劳模工匠专家名单,,\n编号,姓名,地区\ne1,沈国平,浙江省湖州市德清县\n,x,\n"
    path = write(tmp_path, text)
    result = read_roster(path)
    assert result.rows[0].region == "浙江省湖州市德清县"
    assert result.errors == [RowError(4, "缺少编号")]


def test_unknown_columns_are_ignored_and_short_rows_padded(tmp_path: Path) -> None:
    path = write(tmp_path, "编号,备注,姓名,专长\ne1,老焊工,沈国平\n")
    row = read_roster(path).rows[0]
    assert (row.name, row.skills, row.phone) == ("沈国平", (), "")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("姓名,专长\n沈国平,焊接\n", "缺少表头"),
        ("编号,专长\ne1,焊接\n", "缺少表头"),
        ("", "缺少表头"),
    ],
)
def test_missing_header_raises(tmp_path: Path, content: str, fragment: str) -> None:
    with pytest.raises(RosterFormatError, match=fragment):
        read_roster(write(tmp_path, content))


def test_missing_file_and_bad_extension_raise(tmp_path: Path) -> None:
    with pytest.raises(RosterFormatError, match="找不到文件"):
        read_roster(tmp_path / "none.csv")
    with pytest.raises(RosterFormatError, match="不支持的文件类型"):
        read_roster(write(tmp_path, "编号,姓名\n", name="roster.json"))
    with pytest.raises(RosterFormatError, match="xlsx"):
        read_roster(write(tmp_path, "编号,姓名\n", name="roster.xls"))


def test_corrupt_xlsx_raises(tmp_path: Path) -> None:
    with pytest.raises(RosterFormatError, match="无法读取 Excel"):
        read_roster(write(tmp_path, "not a zip", name="roster.xlsx"))


def test_split_list_and_format_errors() -> None:
    assert split_list(" a ;b；c、d,e，a\n f ") == ("a", "b", "c", "d", "e", "f")
    assert split_list("") == ()
    assert format_errors([RowError(3, "缺少姓名")]) == ["第 3 行：缺少姓名"]


def test_menu_csv_and_modes(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "编号,名称,说明,提供者,类别,方式\n"
        "1,焊接变形诊断,现场指导，给出建议,e1,焊接,现场\n"
        "2号,变频器故障诊断,远程分析,电仪组,电气,线上或现场\n"
        "3,鱼塘水质指导,溶解氧,e8,农业养殖,远程\n"
        ",安全培训,,,安全生产,\n",
    )
    items, errors = read_menu(path)
    assert errors == []
    assert items[0] == MenuRow(1, "焊接变形诊断", "现场指导，给出建议", "e1", "焊接", "现场")
    assert [(i.no, i.mode) for i in items] == [
        (1, "现场"), (2, "线上/现场"), (3, "线上"), (None, "线上/现场"),
    ]


def test_menu_english_headers_xlsx_and_errors(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["No", "Title", "Description", "Provider", "Category", "Mode"],
            [1, "精益生产辅导", "5S", "e10", "精益生产", "onsite"],
            [1, "重复编号", "", "", "", "线上"],
            ["x", "坏编号", "", "", "", "线上"],
            [4, None, "没有名称", "", "", "线上"],
            [5, "坏方式", "", "", "", "邮寄"],
        ],
        name="menu.xlsx",
    )
    items, errors = read_menu(path)
    assert [(i.no, i.title, i.mode) for i in items] == [(1, "精益生产辅导", "现场")]
    assert [e.line for e in errors] == [3, 4, 5, 6]
    assert "重复" in errors[0].message
    assert "编号应为正整数" in errors[1].message
    assert errors[2].message == "缺少名称"
    assert "方式应为" in errors[3].message


def test_menu_without_title_header_raises(tmp_path: Path) -> None:
    with pytest.raises(RosterFormatError, match="名称"):
        read_menu(write(tmp_path, "编号,说明\n1,x\n", name="menu.csv"))


def test_demo_data_is_clean_and_consistent() -> None:
    roster = read_roster(DEMO / "experts.csv")
    menu, menu_errors = read_menu(DEMO / "menu.csv")
    directory = json.loads((DEMO / "directory.json").read_text(encoding="utf-8"))
    assert roster.errors == []
    assert menu_errors == []
    assert 12 <= len(roster.rows) <= 16
    assert 8 <= len(menu) <= 10
    users = {user["id"]: user for user in directory["users"]}
    assert directory["bot"]["id"] == "bot"
    assert {user["role"] for user in users.values()} == {"enterprise", "expert", "admin"}
    assert users["admin"]["role"] == "admin"
    for row in roster.rows:
        local = [a.removeprefix("local:") for a in row.accounts if a.startswith("local:")]
        assert local and users[local[0]]["name"] == row.name
        assert users[local[0]]["role"] == "expert"
        assert row.region.startswith("浙江省")
    ids = {row.id for row in roster.rows}
    teams = {row.team for row in roster.rows}
    assert all(item.provider in ids | teams for item in menu)
    assert [item.no for item in menu] == list(range(1, len(menu) + 1))
    for chat in directory["chats"]:
        assert chat["type"] == "group"
        assert set(chat["members"]) <= set(users)
    assert {chat["id"] for chat in directory["chats"]} >= {"g-huzhou", "g-wucheng", "g-experts"}
