"""Roster trust: an import or an admin never takes an account another expert holds, import
checks phones and regions, and scoped admins change only the experts of their region."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import App
from bot.cli import main
from bot.loaders import import_roster
from bot.roster import RowError, read_roster
from storage.records import Expert, MenuItem
from storage.schema import connect
from storage.store import Store
from tests.fakes import T0, FakeChat, FrozenClock

HEADER = "编号,姓名,手机,地区,专长,账号\n"


def write(tmp_path: Path, body: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(connect(tmp_path / "roster.db"), FrozenClock(T0))
    s.upsert_expert(Expert("E01", "沈国平", phone="13905720118", region="浙江省湖州市德清县",
                           accounts=("local:e1",)), "test")
    return s


# -- import: accounts held by another expert --------------------------------------------------

def test_import_refuses_a_row_giving_an_account_another_expert_holds(
        tmp_path: Path, store: Store) -> None:
    path = write(tmp_path, "E09,冒名者,,,焊接,local:e1\n"
                           "E10,俞建强,,,数控,local:e2\n")
    added, updated, errors = import_roster(store, path, actor="cli")
    assert errors == [RowError(2, "账号 local:e1 已属于 E01 沈国平")]
    assert (added, updated) == (1, 0)  # the good row still loads
    owner = store.expert_by_account("local:e1")
    assert owner is not None and owner.id == "E01"  # the owner keeps it
    assert store.get_expert("E09") is None  # the refused row changes nothing
    assert store.get_expert("E10") is not None


def test_import_lets_the_owner_keep_and_update_its_own_account(
        tmp_path: Path, store: Store) -> None:
    path = write(tmp_path, "E01,沈国平,13905720118,德清,焊接；氩弧焊,local:e1；wecom:shen\n")
    assert import_roster(store, path, actor="cli") == (0, 1, [])
    e = store.get_expert("E01")
    assert e is not None and e.accounts == ("local:e1", "wecom:shen")


def test_a_refused_row_does_not_cost_the_owner_its_own_row(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path, "E09,冒名者,,,焊接,local:e1\n"
                           "E01,沈国平,,,焊接；氩弧焊,local:e1\n"
                           "E02,俞建强,,,数控,local:e2\n"
                           "E03,潘立新,,,模具,local:e2\n")
    added, updated, errors = import_roster(store, path, actor="cli")
    assert errors == [RowError(2, "账号 local:e1 已属于 E01 沈国平"),
                      RowError(5, "账号 local:e2 已属于 E02 俞建强（第 4 行）")]
    assert (added, updated) == (1, 1)
    e01 = store.get_expert("E01")
    assert e01 is not None and e01.skills == ("焊接", "氩弧焊") and e01.accounts == ("local:e1",)


def test_a_file_may_move_an_account_by_listing_the_giver_first(
        tmp_path: Path, store: Store) -> None:
    path = write(tmp_path, "E01,沈国平,,,焊接,\nE02,俞建强,,,数控,local:e1\n")
    assert import_roster(store, path, actor="cli") == (1, 1, [])
    owner = store.expert_by_account("local:e1")
    assert owner is not None and owner.id == "E02"


def test_an_account_given_twice_in_one_file_names_the_first_holder(tmp_path: Path) -> None:
    path = write(tmp_path, "E01,沈国平,,,,local:e1\nE02,俞建强,,,,local:e1\n")
    result = read_roster(path)
    assert [r.id for r in result.rows] == ["E01"]
    assert result.errors == [RowError(3, "账号 local:e1 已属于 E01 沈国平（第 2 行）")]


def test_upsert_never_moves_an_account_silently(store: Store) -> None:
    from storage.roster_store import AccountTaken

    with pytest.raises(AccountTaken) as taken:
        store.upsert_expert(Expert("E09", "冒名者", accounts=("local:e1",)), "test")
    assert taken.value.account == "local:e1" and taken.value.holder.id == "E01"
    assert store.get_expert("E09") is None
    assert [e.kind for e in store.events()] == ["expert.added"]


# -- import: phones and regions ------------------------------------------------------------

def test_import_validates_phones(tmp_path: Path, store: Store) -> None:
    path = write(tmp_path, "E02,俞建强,1390000,,,\n"
                           "E03,潘立新,+86 139-5866-1207,,,\n"
                           "E04,叶卫东,0571 87654321,,,\n"
                           "E05,钱海峰,,,,\n"
                           "E06,朱建华,12345678901,,,\n"
                           "E07,孙晓梅,13905720118;13606571283,,,\n")
    _, _, errors = import_roster(store, path, actor="cli")
    by_line = {e.line: e.message for e in errors}
    assert sorted(by_line) == [2, 6, 7]
    assert "手机「1390000」不是有效号码" in by_line[2]
    assert "手机「12345678901」不是有效号码" in by_line[6]
    assert "只能填一个号码" in by_line[7]
    assert store.get_expert("E02") is None
    phones = {eid: (store.get_expert(eid) or Expert("", "")).phone
              for eid in ("E03", "E04", "E05")}
    assert phones == {"E03": "13958661207", "E04": "0571-87654321", "E05": ""}


def test_import_stores_a_short_region_in_full_and_refuses_an_unplaceable_one(
        tmp_path: Path, store: Store) -> None:
    path = write(tmp_path, "E02,俞建强,,德清,,\n"
                           "E03,潘立新,,湖州 吴兴,,\n"
                           "E04,叶卫东,,火星市,,\n"
                           "E05,钱海峰,,天台,,\n"
                           "E06,朱建华,,湖州市西湖区,,\n"
                           "E07,孙晓梅,,浙江省火星市,,\n"
                           "E08,金根法,,德清县乾元镇,,\n"
                           "E09,徐美娟,,,,\n")
    _, _, errors = import_roster(store, path, actor="cli")
    assert errors == [RowError(4, "地区「火星市」无法识别"),
                      RowError(6, "地区「湖州市西湖区」无法识别"),
                      RowError(7, "地区「浙江省火星市」无法识别")]
    regions = {e.id: e.region for e in store.experts()}
    assert regions["E02"] == "浙江省湖州市德清县"
    assert regions["E03"] == "浙江省湖州市吴兴区"
    assert regions["E05"] == "浙江省台州市天台县"  # a short name only a 地区 field reads so
    assert regions["E08"] == "浙江省湖州市德清县乾元镇"  # a town under its county is kept
    assert regions["E09"] == ""
    assert "E04" not in regions and "E06" not in regions


@pytest.mark.parametrize(("text", "path"), [
    ("德清", "浙江省湖州市德清县"),
    ("浙江省湖州市德清县", "浙江省湖州市德清县"),
    ("湖州", "浙江省湖州市"),
    ("湖州市区", "浙江省湖州市"),
    ("江苏省苏州市", "江苏省苏州市"),  # another province: kept as written
    ("火星市", None),
    ("湖州德清长兴", None),
])
def test_place_region(text: str, path: str | None) -> None:
    from bot.text.regions import place_region  # new: imported here so the rest runs without it

    assert place_region(text) == path


def test_cli_reports_refused_rows_by_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cli.db"
    s = Store(connect(db), FrozenClock(T0))
    s.upsert_expert(Expert("E01", "沈国平", accounts=("local:e1",)), "test")
    s.db.close()
    path = write(tmp_path, "E09,冒名者,,,,local:e1\nE02,俞建强,1390000,,,\n"
                           "E03,潘立新,,火星市,,\nE04,叶卫东,,德清,,\n")
    main(["experts", "import", str(path), "--db", str(db)])
    err = capsys.readouterr().err.splitlines()
    assert "第 2 行：账号 local:e1 已属于 E01 沈国平" in err
    assert "第 4 行：地区「火星市」无法识别" in err
    assert any(line.startswith("第 3 行：手机「1390000」") for line in err)
    s = Store(connect(db), FrozenClock(T0))
    assert [e.id for e in s.experts()] == ["E01", "E04"]
    owner = s.expert_by_account("local:e1")
    assert owner is not None and owner.id == "E01"
    s.db.close()


# -- /专家 绑定 in chat ---------------------------------------------------------------------

@pytest.mark.usefixtures("experts")
async def test_admin_link_refuses_an_account_another_expert_holds(chat: FakeChat,
                                                                  app: App) -> None:
    [refused] = await chat.say("/专家 绑定 e2 fake:e1", sender="admin")
    assert "账号 fake:e1 已属于 e1 沈国平" in refused.text
    owner = app.store.expert_by_account("fake:e1")
    assert owner is not None and owner.id == "e1"
    assert not app.store.events(kind="expert.linked")


# -- scoped admins -------------------------------------------------------------------------

@pytest.fixture
def scoped(app: App, experts: None) -> None:
    """fake:hz administers 湖州 (e1 is in 德清), fake:grp only the group g1."""
    app.store.add_admin("fake:hz", "region:湖州", "fake:admin")
    app.store.add_admin("fake:grp", "group:g1", "fake:admin")


@pytest.mark.usefixtures("scoped")
async def test_region_admin_pauses_only_experts_of_its_region(chat: FakeChat, app: App) -> None:
    [ok] = await chat.say("/专家 停用 e1", sender="hz")
    assert "已停用 沈国平" in ok.text
    [refused] = await chat.say("/专家 停用 e2", sender="hz")
    assert refused.text == "专家 叶卫东（e2）不在您管理的地区（湖州）"
    [refused] = await chat.say("/专家 启用 e3", sender="hz")
    assert "不在您管理的地区" in refused.text
    statuses = {e.id: e.status for e in app.store.experts()}
    assert statuses == {"e1": "paused", "e2": "active", "e3": "active"}
    assert [ev.data["expert"] for ev in app.store.events(kind="expert.status")] == ["e1"]


@pytest.mark.usefixtures("scoped")
async def test_group_admin_reads_the_roster_but_changes_nothing(chat: FakeChat,
                                                                app: App) -> None:
    [listing] = await chat.say("/专家 列表", sender="grp", chat="g1")
    assert "e1 沈国平" in listing.text
    [show] = await chat.say("/专家 详情 e1", sender="grp", chat="g1")
    assert "编号 e1" in show.text
    for command in ("/专家 停用 e1", "/专家 启用 e1", "/专家 绑定 e1 fake:x",
                    "/专家 添加 X09 董振方 焊接 德清", "/专家 确认 fake:x"):
        [refused] = await chat.say(command, sender="grp", chat="g1")
        assert refused.text.startswith("只有超级管理员或地区管理员可以"), command
    assert app.store.get_expert("X09") is None
    assert not app.store.events(kind="expert.status")
    assert not app.store.events(kind="expert.linked")


@pytest.mark.usefixtures("scoped")
async def test_region_admin_adds_experts_only_inside_its_region(chat: FakeChat,
                                                                app: App) -> None:
    [added] = await chat.say("/专家 添加 X09 董振方 焊接、薄板 德清", sender="hz")
    assert "已添加专家 董振方（X09）" in added.text
    x09 = app.store.get_expert("X09")
    assert x09 is not None and x09.region == "浙江省湖州市德清县"  # stored in full
    [refused] = await chat.say("/专家 添加 X10 林峰 电气 西湖区", sender="hz")
    assert "不在您管理的地区" in refused.text
    [refused] = await chat.say("/专家 添加 X11 林峰 电气", sender="hz")  # no region: not theirs
    assert "不在您管理的地区" in refused.text
    [moved] = await chat.say("/专家 添加 e2 叶卫东 电气 德清", sender="hz")  # e2 is in 杭州
    assert "不在您管理的地区" in moved.text
    e2 = app.store.get_expert("e2")
    assert e2 is not None and e2.region == "浙江省杭州市西湖区"
    assert app.store.get_expert("X10") is None and app.store.get_expert("X11") is None
    [bad] = await chat.say("/专家 添加 X12 林峰 电气 火星市", sender="admin")
    assert bad.text == "地区「火星市」无法识别"
    assert app.store.get_expert("X12") is None


@pytest.mark.usefixtures("scoped")
async def test_region_admin_links_and_confirms_only_inside_its_region(chat: FakeChat,
                                                                      app: App) -> None:
    [refused] = await chat.say("/专家 绑定 e2 fake:ye2", sender="hz")
    assert "不在您管理的地区" in refused.text
    assert app.store.expert_by_account("fake:ye2") is None
    app.store.request_link("fake:ye3", "e2", "叶卫东")
    [refused] = await chat.say("/专家 确认 fake:ye3", sender="hz")
    assert "不在您管理的地区" in refused.text
    assert app.store.expert_by_account("fake:ye3") is None
    ok = await chat.say("/专家 绑定 e1 fake:shen2", sender="hz")
    assert "已把账号 fake:shen2 绑定到专家 沈国平" in ok[0].text
    assert ok[1].to_user == "shen2" and "现在可以接单了" in ok[1].text


@pytest.mark.usefixtures("scoped")
async def test_only_super_admins_change_the_menu(chat: FakeChat, app: App) -> None:
    app.store.upsert_menu_item(MenuItem(1, "焊接变形诊断", "", "e1", "焊接", "现场"), "test")
    [listing] = await chat.say("/清单 列表", sender="hz")
    assert "焊接变形诊断" in listing.text
    [refused] = await chat.say("/清单 添加 数控编程|技能培训|e2", sender="hz")
    assert refused.text.startswith("服务清单由所有群共用，只有超级管理员")
    [refused] = await chat.say("/清单 下架 1", sender="grp", chat="g1")
    assert refused.text.startswith("服务清单由所有群共用，只有超级管理员")
    assert [(m.no, m.active) for m in app.store.menu(active_only=False)] == [(1, True)]
    assert len(app.store.events(kind="menu.updated")) == 1
    [ok] = await chat.say("/清单 下架 1", sender="admin")
    assert "已下架" in ok.text
