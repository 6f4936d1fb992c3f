"""Everyday words among the specialty terms (bot/data/lex_symptoms.toml, bot/data/symptoms/):
moved to `weak_terms`, they still name their specialty in an expert's roster, but a request of
another trade that says them in passing (预算不多, 水龙头不出水, 行车记录仪) no longer reads that
specialty at full strength. 运维 alone names no trade and is no term at all (it运维 is)."""

from __future__ import annotations

import pytest

from bot.text.match_lexicon import default_lexicon
from tests.symptom_checks import assert_not_read_as, assert_roster_holds

# (word, specialty, an everyday request of another trade that read the specialty strongest
# through the word alone, a roster item that holds the specialty through it)
WEAK = [
    ("预算", "财税", "年底想带员工去住民宿，预算人均八百", "预算"),
    ("医院", "内科慢病", "医院的冷库温度不够，药品要放不下了", "医院"),
    ("塑胶", "注塑模具", "塑胶周转箱堆在仓库里，叉车司机老是撞坏", "塑胶"),
    ("电源", "电子", "空调的电源灯一闪一闪", "电源"),
    ("计量", "检验检测", "食堂的水电费超标，想装分表计量", "计量"),
    ("测量", "检验检测", "空调管道长度要测量一下", "测量"),
    ("出水", "污水处理", "二楼的水龙头不出水，一楼正常", "出水"),
    ("水晶", "水晶饰品", "机房的网线水晶头老是接触不好", "水晶"),
    ("水质", "污水处理", "锅炉的给水水质要求是什么", "水质"),
    ("土壤", "环保合规", "土壤太干，茶叶长不好", "土壤"),
    ("异味", "废气治理", "空调一开就有异味", "异味"),
    ("行车", "特种设备", "货车的行车记录仪坏了，要不要换", "行车"),
    ("护理", "内科慢病", "木地板平时怎么护理", "护理"),
    ("营养", "内科慢病", "茶园的营养液怎么配", "营养"),
    ("导轨", "数控加工", "冷库门的导轨卡住了", "导轨"),
    ("关节", "中医康复", "叉车的转向关节松了", "关节"),
    ("减压", "心理", "液压站的减压阀调不住压力", "减压"),
    ("覆膜", "印刷包装", "茶园覆膜保温", "覆膜"),
    ("发酵", "食品加工", "茶园的有机肥发酵不好", "发酵"),
    ("漏水", "建筑施工", "冷库门口漏水", "漏水"),
    ("玻璃", "玻璃陶瓷", "汽车挡风玻璃被石子打裂了", "玻璃"),
    ("结晶", "化工工艺", "冷库的地面结晶发白", "结晶"),
    ("硬度", "热处理", "茶园灌溉的水硬度高", "硬度"),
    ("执行", "民商法律", "食堂执行的卫生标准是哪个", "执行"),
    ("推广", "电商营销", "冷库想推广新的保鲜技术", "推广"),
    ("运营", "电商营销", "冷库运营成本怎么算", "运营"),
    ("改善", "精益生产", "民宿想改善住宿条件", "改善"),
    ("客服", "电商营销", "空调售后客服不回消息", "客服"),
    ("高压", "供配电", "空调的高压保护老是跳", "高压"),
    ("配方", "化工工艺", "茶饮的配方怎么定", "配方"),
    ("胶水", "化工工艺", "鞋底的胶水不粘", "胶水"),
    ("化验", "化工工艺", "医院化验室的通风柜不抽风", "化验"),
    ("浪费", "精益生产", "民宿的水电浪费", "浪费"),
    ("房屋", "建筑施工", "民宿的房屋出租合同怎么签", "房屋"),
    ("道路", "建筑施工", "货车在茶园的道路上翻了", "道路"),
    ("裂缝", "建筑施工", "注塑件边上有裂缝", "裂缝"),
    ("色差", "印染", "喷涂出来的颜色和样板有色差", "色差"),
    ("缩水", "注塑模具", "服装洗了一次就缩水", "缩水"),
    ("回弹", "冲压模具", "布艺沙发回弹不好", "回弹"),
    ("电器", "电气控制", "空调的电器盒进水", "电器"),
    ("合规", "民商法律", "消防通道的宽度要多少才合规", "合规"),
    ("气氛", "粉末冶金", "今天的焊接技术交流会现场气氛很好", "气氛"),
    ("家电", "电子", "我们是一家电动工具厂，想招几个熟练工", "家电"),
    ("家电", "厨电家电", "我们是一家电动工具厂，想招几个熟练工", "家电"),
]


@pytest.mark.parametrize(("word", "spec", "text", "item"), WEAK)
def test_a_weak_term_no_longer_reads_another_trades_request(
        word: str, spec: str, text: str, item: str) -> None:
    assert word in text
    assert_not_read_as(spec, text)


@pytest.mark.parametrize(("word", "spec", "text", "item"), WEAK)
def test_a_weak_term_still_names_its_specialty_in_a_roster(
        word: str, spec: str, text: str, item: str) -> None:
    assert word in item
    assert_roster_holds(spec, item)


@pytest.mark.parametrize(("word", "spec"), sorted({(w, s) for w, s, _, _ in WEAK}))
def test_a_weak_term_is_no_longer_a_full_term(word: str, spec: str) -> None:
    lex = default_lexicon()
    sp = lex.specialties[spec]
    canon = lex.canon(word)
    assert canon in sp.weak
    assert canon not in sp.terms


def test_operations_alone_names_no_trade() -> None:
    # 运维 is said of any plant (箱变运维, 光伏运维, 冷库运维): it names no trade.
    assert_not_read_as("网络运维", "冷库的运维外包给谁比较靠谱")
    assert "网络运维" not in default_lexicon().profile_specs(["箱变运维"])
    assert_roster_holds("网络运维", "IT运维")
