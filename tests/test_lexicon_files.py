"""The lexicon is read from lex_symptoms.toml and the family files of bot/data/symptoms/."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.text.match_lexicon import Lexicon, default_lexicon, merged

DATA = Path(__file__).resolve().parent.parent / "bot" / "data"

BASE = {
    "noise": {"phrases": ["点单"]},
    "specialty": {"焊接": {"category": "焊接", "terms": ["焊接"], "cues": []}},
    "symptom": [{"spec": "焊接", "when": ["焊缝"], "to": ["焊接"]}],
}


def test_rules_and_specialties_add_up() -> None:
    more = {
        "noise": {"phrases": ["求助"]},
        "specialty": {"锅炉": {"category": "热能动力", "terms": ["锅炉"], "cues": []}},
        "symptom": [{"spec": "锅炉", "when": ["炉子", "熄火"], "to": ["锅炉"]}],
    }
    data = merged(BASE, more)
    assert set(data["specialty"]) == {"焊接", "锅炉"}
    assert [r["spec"] for r in data["symptom"]] == ["焊接", "锅炉"]
    assert data["noise"]["phrases"] == ["点单", "求助"]
    assert BASE["symptom"] == [{"spec": "焊接", "when": ["焊缝"], "to": ["焊接"]}]  # untouched
    lex = Lexicon(data)
    assert lex.read("我们的炉子老是熄火").specs.get("锅炉", 0.0) > 0.0


def test_a_weak_term_names_the_specialty_in_profiles_and_hints_at_it_in_requests() -> None:
    data = merged(BASE, {"specialty": {"财税": {
        "category": "金融", "terms": ["财税"], "cues": [], "weak_terms": ["预算"]}}})
    lex = Lexicon(data)
    assert lex.profile_specs(["预算"]) == {"财税": 1.0}
    # 预算不多 is said of any job: alone it hints at 财税, a rule or a term outweighs it.
    assert 0.0 < lex.read("想装一些彩灯，预算不多").specs["财税"] < 0.5
    assert lex.read("焊缝开裂，预算不多").specs == {"焊接": 1.0, "财税": pytest.approx(0.4 / 1.2)}
    assert lex.read("公司的财税问题").specs["财税"] == 1.0
    # A word that is a cue already and a weak term too counts once.
    twice = Lexicon(merged(BASE, {"specialty": {"财税": {
        "category": "金融", "terms": ["财税"], "cues": ["预算"], "weak_terms": ["预算"]}}}))
    assert twice.read("预算不多").specs["财税"] == pytest.approx(0.4)


def test_a_specialty_defined_twice_is_an_error() -> None:
    again = {"specialty": {"焊接": {"category": "焊接", "terms": ["电焊"]}}}
    with pytest.raises(ValueError, match="焊接"):
        merged(BASE, again)


def test_the_shipped_lexicon_holds_every_family_file() -> None:
    files = sorted((DATA / "symptoms").glob("*.toml"))
    base = tomllib.loads((DATA / "lex_symptoms.toml").read_text("utf-8"))
    extra = [tomllib.loads(f.read_text("utf-8")) for f in files]
    rules = len(base["symptom"]) + sum(len(d.get("symptom", [])) for d in extra)
    specs = len(base["specialty"]) + sum(len(d.get("specialty", {})) for d in extra)
    lex = default_lexicon()
    assert len(lex.symptoms) == rules
    assert len(lex.specialties) == specs


@pytest.mark.parametrize("text", [
    "液压站压力打不上去，泵的声音很大，想请设备师傅看看",
    "装置半夜联锁误动作停车了，查不出原因，领导压力很大，想请电仪专家",
    "注塑机保压压力波动大，产品缩水",
])
def test_machine_pressure_is_not_stress(text: str) -> None:
    assert default_lexicon().read(text).specs.get("心理", 0.0) == 0.0


@pytest.mark.parametrize("text", [
    "最近厂里订单多，一线工人压力大、情绪不好，想请心理老师来讲讲",
    "班组长说心态崩溃了，晚上睡不着，能不能找个心理咨询师聊聊",
])
def test_peoples_stress_is_still_read(text: str) -> None:
    specs = default_lexicon().read(text).specs
    assert max(specs, key=specs.__getitem__) == "心理"


@pytest.mark.parametrize(("text", "not_spec"), [
    ("我们山林里的毛竹今年长虫了，竹笋也少了一半，想请林业专家看看", "民商法律"),
    ("速冻水饺冻结时间太长，冷库电费吃不消，想请冷链方面的师傅", "金融"),
])
def test_farm_and_cold_chain_words_are_not_law_or_money(text: str, not_spec: str) -> None:
    assert default_lexicon().read(text).specs.get(not_spec, 0.0) == 0.0
