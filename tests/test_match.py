"""Expert matching: reasons, region ties, load, inactive experts, exclude, history, updates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.text.match import ExpertProfile, Match, Matcher, split_list

WELDER_DQ = ExpertProfile(
    id="W1", name="吴建国", skills=("焊接变形控制", "不锈钢焊接"), tags=("钢结构",),
    title="全国劳动模范", team="焊接专业组", region="浙江省湖州市德清县")
WELDER_RA = replace(WELDER_DQ, id="W2", name="陈海峰", region="浙江省温州市瑞安市")
FISH = ExpertProfile(
    id="F1", name="傅水根", skills=("水产养殖技术", "鱼病防治"), tags=("池塘水质调控",),
    region="浙江省湖州市南浔区")
ELEC = ExpertProfile(
    id="D1", name="赵永强", skills=("变频器维修", "伺服驱动调试"), tags=("电气故障排查",),
    region="浙江省杭州市余杭区")
LAWYER = ExpertProfile(
    id="L1", name="孔律", skills=("劳动争议", "工伤认定"), tags=("劳动仲裁",),
    region="浙江省杭州市拱墅区")
ROSTER = (WELDER_DQ, WELDER_RA, FISH, ELEC, LAWYER)


def ids(matches: list[Match]) -> list[str]:
    return [m.id for m in matches]


def test_plain_words_reach_the_specialist_with_reasons() -> None:
    m = Matcher(ROSTER)
    fish = m.rank("鱼一到凌晨就往水面上冒头", top=3)
    assert ids(fish)[:1] == ["F1"]
    assert fish[0].reasons[0].startswith("专长：")
    assert "当前负载 0/3" in fish[0].reasons
    weld = m.rank("焊完的框架四个角都翘起来了")
    assert set(ids(weld)) == {"W1", "W2"}
    assert any("焊接变形" in r for r in weld[0].reasons)


def test_scores_are_sorted_and_top_limits() -> None:
    m = Matcher(ROSTER)
    res = m.rank("不锈钢薄板焊接变形", top=5)
    assert [r.score for r in res] == sorted((r.score for r in res), reverse=True)
    assert len(m.rank("不锈钢薄板焊接变形", top=1)) == 1
    assert m.rank("不锈钢薄板焊接变形", top=0) == []


@pytest.mark.parametrize(("region", "first", "reason"), [
    ("浙江省湖州市德清县", "W1", "同在德清县"),
    ("浙江省温州市瑞安市", "W2", "同在瑞安市"),
    ("湖州", "W1", "同在湖州市"),
    ("温州市", "W2", "同在温州市"),
])
def test_local_expert_first_when_skills_tie(region: str, first: str, reason: str) -> None:
    res = Matcher(ROSTER).rank("不锈钢焊接后变形严重", region=region)
    assert res[0].id == first
    assert reason in res[0].reasons


def test_region_read_from_place_names_in_the_text() -> None:
    m = Matcher(ROSTER)
    assert m.rank("我们是瑞安一家钢构企业，焊接变形严重")[0].id == "W2"
    assert m.rank("德清这边的钢构厂，焊接变形严重")[0].id == "W1"


def test_region_never_beats_a_real_skill_fit() -> None:
    # The welder is local, the lawyer is not: a labour dispute still goes to the lawyer.
    res = Matcher(ROSTER).rank("老板拖欠工资三个月，想申请劳动仲裁", region="浙江省湖州市德清县")
    assert ids(res)[:1] == ["L1"]


def test_full_expert_drops_below_a_free_near_equal() -> None:
    busy = replace(WELDER_DQ, open_load=3, capacity=3)
    res = Matcher((busy, WELDER_RA)).rank("不锈钢焊接后变形严重", region="浙江省湖州市德清县")
    assert ids(res) == ["W2", "W1"]
    assert "当前负载 3/3（已满）" in res[1].reasons


def test_open_load_spreads_work_among_equals() -> None:
    a = replace(WELDER_DQ, region="", open_load=1)
    b = replace(WELDER_RA, region="")
    assert ids(Matcher((a, b)).rank("焊接变形"))[0] == "W2"
    assert ids(Matcher((replace(a, open_load=0), replace(b, open_load=2))).rank("焊接变形"))[0] \
        == "W1"


def test_inactive_experts_are_never_returned() -> None:
    m = Matcher((replace(FISH, active=False), WELDER_DQ))
    assert m.rank("鱼塘缺氧，鱼浮头") == []
    m.update(replace(FISH, active=True))
    assert ids(m.rank("鱼塘缺氧，鱼浮头")) == ["F1"]


def test_exclude_skips_ids_for_reannouncing() -> None:
    m = Matcher(ROSTER)
    assert ids(m.rank("焊接变形", exclude={"W1"}))[:1] == ["W2"]
    assert "W1" not in ids(m.rank("焊接变形", exclude=["W1"], top=5))
    assert m.rank("焊接变形", exclude={"W1", "W2"}) == []


def test_history_learning_ranks_an_expert_by_past_orders() -> None:
    plain = ExpertProfile(id="G1", name="老周", skills=("综合维修",), tags=())
    learned = replace(plain, id="G2", name="老钱",
                      history=("冷库结霜严重不制冷，已处理", "冷库压缩机高压报警"))
    m = Matcher((plain, learned))
    res = m.rank("冷库老是结霜，温度下不来")
    assert ids(res)[:1] == ["G2"]
    assert any(r.startswith("曾办结类似点单") for r in res[0].reasons)


def test_history_lifts_one_of_two_equal_profiles() -> None:
    a = replace(FISH, id="A", region="")
    b = replace(FISH, id="B", region="", history=("鲈鱼塘凌晨浮头，指导开增氧机",))
    assert ids(Matcher((a, b)).rank("鲈鱼塘早上浮头"))[0] == "B"


def test_update_and_remove_change_the_index_without_rebuild() -> None:
    m = Matcher((FISH, ELEC))
    assert m.rank("合同纠纷欠款追讨") == []
    m.update(ExpertProfile(id="L2", name="马兰", skills=("合同纠纷", "债务追讨"), tags=()))
    assert ids(m.rank("合同纠纷欠款追讨")) == ["L2"]
    m.update(replace(ELEC, skills=("合同纠纷", "应收账款"), id="D1"))
    assert set(ids(m.rank("合同纠纷欠款追讨"))) == {"L2", "D1"}
    m.remove("L2")
    m.remove("nobody")
    assert ids(m.rank("合同纠纷欠款追讨")) == ["D1"]
    assert len(m) == 2


def test_many_updates_keep_results_consistent_with_a_fresh_index() -> None:
    experts = [replace(ELEC, id=f"E{i}", skills=(f"变频器维修{i}",)) for i in range(80)]
    grown = Matcher(experts[:1])
    for e in experts[1:]:
        grown.update(e)
    fresh = Matcher(experts)
    q = "变频器维修 过流故障"
    assert [(x.id, x.score) for x in grown.rank(q)] == [(x.id, x.score) for x in fresh.rank(q)]


def test_empty_roster_and_no_fit_give_empty_lists() -> None:
    assert Matcher(()).rank("焊接变形") == []
    m = Matcher(ROSTER)
    for text in ("你好", "谢谢大家", "收到", "点单", "我们公司想请个专家", "明天下午开会"):
        assert m.rank(text) == [], text


@pytest.mark.parametrize("text", [
    "", "   ", "😀🙏🔥", "\x00\ufeff", "x" * 20_000, "焊" * 20_000, "点单：" + "鱼浮头" * 7_000,
    "<script>alert(1)</script>", "１２３４５６", "\n\n\t",
])
def test_garbage_input_never_raises(text: str) -> None:
    res = Matcher(ROSTER).rank(text, region="不存在的地方")
    assert isinstance(res, list)
    assert all(isinstance(r, Match) and r.reasons for r in res)


def test_duplicate_ids_keep_the_last_profile() -> None:
    m = Matcher((FISH, replace(FISH, skills=("变频器维修",), tags=())))
    assert len(m) == 1
    assert ids(m.rank("变频器维修")) == ["F1"]


def test_split_list_accepts_roster_separators() -> None:
    got = split_list("焊接；氩弧焊、钢结构,铆焊，切割; ")
    assert got == ("焊接", "氩弧焊", "钢结构", "铆焊", "切割")
    assert split_list("") == ()
