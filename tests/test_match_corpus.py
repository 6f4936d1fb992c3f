"""Routing corpus: top-1/top-3 on tests/data/route_cases.jsonl, lexicon and region data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot.text.match import Matcher, profiles_from_rows
from bot.text.match_lexicon import default_lexicon
from bot.text.match_region import Region, default_gazetteer, relation

DATA = Path(__file__).parent / "data"


def _rates(kind: str | None = None, regional: bool = False) -> tuple[float, float, int]:
    with (DATA / "route_roster.csv").open(encoding="utf-8-sig", newline="") as f:
        matcher = Matcher(profiles_from_rows(csv.DictReader(f)))
    with (DATA / "route_cases.jsonl").open(encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    cases = [c for c in cases if (kind is None or c["kind"] == kind)
             and (not regional or c.get("region"))]
    h1 = h3 = 0
    for c in cases:
        got = [m.id for m in matcher.rank(c["text"], c.get("region"), top=3)]
        h1 += bool(got) and got[0] in c["expected"]
        h3 += bool(set(got) & set(c["expected"]))
    return h1 / len(cases), h3 / len(cases), len(cases)


def test_corpus_is_big_enough_and_mixed() -> None:
    assert _rates()[2] >= 150
    assert _rates("paraphrase")[2] >= 50
    assert _rates(regional=True)[2] >= 10


def test_plain_orders_top1_and_top3() -> None:
    top1, top3, _ = _rates("plain")
    assert top1 >= 0.95
    assert top3 >= 0.98


def test_paraphrased_orders_top1_and_top3() -> None:
    top1, top3, _ = _rates("paraphrase")
    assert top1 >= 0.85
    assert top3 >= 0.95


def test_region_ties_go_to_the_local_expert() -> None:
    assert _rates(regional=True)[0] >= 0.9


def test_lexicon_covers_every_default_category_with_many_rules() -> None:
    lex = default_lexicon()
    cats = {s.category for s in lex.specialties.values()}
    for c in ("焊接", "机械设备", "数控加工", "模具", "电气", "仪表自动化", "热能动力", "化工",
              "环保水处理", "纺织印染", "质量管理", "精益生产", "安全生产", "数字化", "农业养殖",
              "医疗健康", "法律", "金融", "心理", "技能培训"):
        assert c in cats, c
    assert len(lex.symptoms) >= 200
    assert sum(len(a) for r in lex.symptoms for a in r.when) >= 1000
    assert {r.spec for r in lex.symptoms} <= set(lex.specialties)


def test_lexicon_reads_plain_words() -> None:
    lex = default_lexicon()
    fish = lex.read("鱼一到凌晨就往水面上冒头")
    assert max(fish.specs, key=lambda s: fish.specs[s]) == "水产养殖"
    assert "溶解氧" in fish.expansion
    weld = lex.read("焊完的框架四个角都翘起来了")
    assert "焊接变形" in weld.expansion
    assert lex.read("你好").specs == {}


def test_variants_are_read_the_canonical_way() -> None:
    lex = default_lexicon()
    assert "注塑模具" in lex.read("我们的模子合缝的地方磨坏了，老是漏料").specs  # 模子 = 模具
    assert "制冷暖通" in lex.read("保鲜库温度降不下来").specs  # 保鲜库 = 冷库
    assert lex.canon("冷水机组和冷水机") == "冷水机组和冷水机组"  # a canonical word stays
    assert lex.profile_specs(["电动机维修"]) == lex.profile_specs(["电机维修"])


def test_a_specialty_nobody_holds_falls_back_to_its_field() -> None:
    from bot.text.match import ExpertProfile, Matcher
    safety = ExpertProfile(id="S1", name="安全员", skills=("隐患排查", "安全生产标准化"), tags=())
    weld = ExpertProfile(id="W1", name="焊工", skills=("焊接",), tags=())
    got = Matcher([weld, safety]).rank("厂里的消防通道老是堵，灭火器也过期了")
    assert [m.id for m in got] == ["S1"]  # 消防 is a field of 安全生产: not nothing
    assert default_lexicon().siblings("消防") and "消防" not in default_lexicon().siblings("消防")


def test_a_compound_skill_is_read_by_its_craft() -> None:
    lex = default_lexicon()
    assert lex.profile_specs(["压力容器焊接"]) == {"焊接": 1.0, "特种设备": 0.4}  # welding
    assert lex.profile_specs(["压力容器检验"])["特种设备"] == 1.0  # no craft at the end
    assert lex.profile_specs(["污水处理站运营"])["污水处理"] == 1.0  # 运营 names no specialty


@pytest.mark.parametrize(("text", "spec"), [
    ("新接的订单鞋底老开胶，客户退回来一批", "制鞋皮革"),
    ("要安排人下化粪池清淤，怕出事", "安全生产"),
    ("压滤机出来的泥还是稀的，含水太高", "污水处理"),
    ("车间排出来的水发黑，环保罚了两次", "污水处理"),
    ("漆面喷完一层橘子皮，边角还往下淌", "涂装表面处理"),
    ("同一缸布染出来前后颜色对不上", "印染"),
    ("塑料件两股料碰头的地方有条线，一折就断", "注塑模具"),
    ("铁板一烧完整块拱起来，跟波浪一样", "焊接"),
    ("这批电动物流车充满电只能跑六十公里", "汽车维修"),
    ("应急管理局下个月来查，过道堆货怎么整改", "安全生产"),
    ("蜂箱门口好多蜂爬着飞不起来", "畜禽养殖"),
    ("电机能效提升", "节能"),
    ("中空玻璃装好半年，中间起了一层雾", "玻璃陶瓷"),
    ("O型圈用了一个月就发硬龟裂", "橡胶"),
    ("纸机网部到压榨这段老是断纸", "造纸"),
    ("洁净区沉降菌超了，要写偏差调查", "制药"),
    ("新面霜放了一周就分层出油", "化妆品"),
    ("YJV电缆局放超标", "电线电缆"),
    ("6204装上去转起来沙沙响，滚道有波纹", "轴承制造"),
    ("铜公损耗大，放电老是不稳", "特种加工"),
    ("折出来的长板中间鼓，两头角度不一样", "钣金折弯"),
    ("网带炉出来的件发黑脱碳", "粉末冶金"),
    ("新开的民宿证照一直办不下来", "乡村旅游"),
    ("锅炉炉膛结了硬壳，水是井里打上来的", "锅炉"),  # a well, but no pump
    ("袜机最近断针特别多，一天换几十根", "袜业"),
    ("真丝领带打个结以后起皱回不去", "领带丝绸"),
    ("收的淡水珠大小颜色不一，不知道怎么分档", "珍珠"),
    ("扳手出厂抽检一拧就崩口", "五金工具"),
    ("自动伞按一下弹不开，收回去卡一半", "制伞"),
    ("竹片压成板以后开胶分层", "竹木制品"),
    ("青菜装车拉到上海叶子都黄了", "冷链物流"),
    ("摩托车怠速不稳，一加油门就熄火", "摩托车"),
    ("球阀装到管道上没两个月手柄那里就滴水", "阀门制造"),
    ("火腿挂着晾，表面长了绿毛还有跳虫", "火腿腌腊"),
    ("叉车货叉举上去以后自己往下溜", "液压气动"),
    ("威纶通的触摸屏点了没反应，密码也不晓得", "自动化控制"),
    ("泵壳上的砂眼烧了补上去，放两天补的地方又裂了", "焊接"),  # a weld repair
    ("ABS面板表面一块块凹下去，保压加到头了", "注塑模具"),
    ("老板拖了三个月工资没发，我们该咋办", "劳动法"),
    ("BGA底下有空洞，X光一照一片一片的", "电子"),
    ("搬运工老是闪到腰，贴膏药也没用", "中医康复"),
    ("想组织职工搞小组攻关，成果去参加发布会，课题怎么选", "质量管理"),
])
def test_plain_words_point_to_their_specialty(text: str, spec: str) -> None:
    specs = default_lexicon().read(text).specs
    assert max(specs, key=specs.__getitem__, default=None) == spec, specs


def test_a_fault_is_not_a_disease() -> None:
    lex = default_lexicon()
    for text, spec in (("牛奶灌装线老出毛病", None), ("叶片泵出毛病了", "设备维修"),
                       ("设备老出毛病", "设备维修"), ("鱼生病了，一早就浮头", "水产养殖")):
        specs = lex.read(text).specs
        assert max(specs, key=specs.__getitem__, default=None) == spec, text
    assert "畜禽养殖" not in lex.read("牛奶灌装线老出毛病").specs  # 牛 + 病 is a sick cow


def test_gazetteer_reads_fields_and_text() -> None:
    gaz = default_gazetteer()
    assert gaz.parse("浙江省湖州市德清县") == Region("浙江省", "湖州市", "德清县")
    assert gaz.parse("湖州德清") == Region("浙江省", "湖州市", "德清县")
    assert gaz.parse("温州") == Region("浙江省", "温州市")
    assert gaz.parse("江苏省苏州市昆山市") == Region("江苏省", "苏州市", "昆山市")
    assert gaz.parse("") == Region()
    assert gaz.find("我们是柯桥一家印染厂").county == "柯桥区"
    assert gaz.find("天台漏水了") == Region()   # 天台 is also a rooftop
    assert gaz.find("天台县一家企业").county == "天台县"
    # A short name that is also a word counts when the text says it is a place.
    assert gaz.find("天台那边一家汽配厂").county == "天台县"
    assert gaz.find("江山这边的，员工手指被冲床压伤了").county == "江山市"
    assert gaz.find("大好江山") == Region()
    assert gaz.find("诸暨店口做铜管的").county == "诸暨市"  # towns are read as their county
    assert gaz.find("我在汤溪包了几亩塘").county == "婺城区"
    assert relation(gaz.parse("德清"), gaz.parse("浙江省湖州市德清县")) == 3
    assert relation(gaz.parse("湖州市"), gaz.parse("浙江省湖州市德清县")) == 2
    assert relation(gaz.parse("温州"), gaz.parse("浙江省湖州市德清县")) == 1
    assert relation(Region(), gaz.parse("德清")) == 0
