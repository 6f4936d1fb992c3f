"""Which taxonomy entries a roster line names: by its specific words, not generic ones."""

from __future__ import annotations

from collections import Counter

from bot.text.match_taxonomy import Entry, Taxonomy, cores, default_taxonomy, extended


def entry(name: str, *terms: str) -> Entry:
    return Entry(name, "", terms, (f"{name}出了毛病",))


def test_a_roster_wording_keeps_its_specific_parts() -> None:
    assert cores("粉磨设备维修") == ["粉磨"]
    assert cores("螺旋桨修复与静平衡") == ["螺旋桨", "静平衡"]
    assert cores("球磨机及减速机") == ["球磨机", "减速机"]
    assert cores("（ＰＬＣ）编程调试") == ["plc"]  # normalized: full width, lower case
    assert cores("设备维修") == []


def test_generic_words_shared_name_no_entry() -> None:
    kitchen = entry("商用厨房设备维修", "厨房设备维修", "商用灶具维修")
    gears = entry("减速机齿轮箱维修", "减速机维修", "齿轮箱检修")
    tax = Taxonomy([kitchen, gears])
    # 设备维修 is shared with the kitchen entry, 减速机 with the gearbox one.
    assert tax.for_skills(["粉磨设备维修", "球磨机及减速机"]) == (gears,)
    assert tax.for_skills(["拖网网具设计与修补"]) == ()


def test_a_two_character_word_names_an_entry_only_when_it_tells_one() -> None:
    parts = [entry(f"{w}装配", "装配") for w in ("钢琴", "医用耗材", "五金制品")]
    tea = entry("茶叶炒制", "茶叶")
    tax = Taxonomy([*parts, tea])
    assert tax.for_skills(["船体装配"]) == ()  # 装配 is a part of three entries
    assert tax.for_skills(["名优茶叶"]) == (tea,)


def test_a_run_few_entries_hold_counts_more_than_a_common_one() -> None:
    common = [entry(f"{w}水处理", f"{w}水处理工艺") for w in ("锅炉", "电镀", "印染")]
    rare = entry("反渗透膜清洗", "反渗透膜", "膜污堵清洗")
    tax = Taxonomy([*common, rare])
    # 水处理 is held by three entries (1/3 each), 反渗透 by one.
    assert tax.for_skills(["反渗透水处理"])[0] == rare


def test_the_shipped_taxonomy_holds_each_name_once() -> None:
    tax = default_taxonomy()
    names = Counter(e.name for e in tax.entries)
    assert [n for n, c in names.items() if c > 1] == []
    assert all(e.symptoms and e.terms for e in tax.entries)


def test_a_roster_load_without_admins_entries_keeps_the_shipped_taxonomy() -> None:
    tax = default_taxonomy()
    assert extended(tax, []) is tax
    mine = entry("古琴斫制", "斫琴技艺")
    grown = extended(tax, [mine])
    assert grown is not tax and len(grown) == len(tax) + 1
    assert grown.for_skills(["古琴斫制与修复"]) == (mine,)
