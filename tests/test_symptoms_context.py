"""Words that belong to one trade in one setting and to another elsewhere: a building that sank
is no bereavement, a tower crane's check-up no health screening, a construction site's spot
inspection no drug plant's, a sprinkler head no printing head, a road's upkeep no care of the
old, a driving licence no skills certificate, a wasps' nest to take down no first aid, the coat
"outside wrapped" (外面包的) round a pipe no bread; each
still reads its own trade where it belongs."""
from __future__ import annotations

import pytest

from bot.text.match_lexicon import default_lexicon
from tests.symptom_checks import assert_not_read_as, assert_reads_as

# (request, a specialty it must not read, a specialty it must still read or None)
CASES = [
    ("楼盖到十层了，想测一下旁边老房子往下走了多少，多久测一次", "遗嘱继承", None),
    ("我爸上个月走了，留下一套老房子，兄弟几个怎么分", None, "遗嘱继承"),
    ("工地那台塔吊用了十年，想请人给它做个全面体检，看看哪些项目要查", "健康体检", None),
    ("公司今年组织员工体检，四十岁以上的要加哪些项目", None, "健康体检"),
    ("下周住建局要来工地飞检，想请老师傅先帮我们转一圈挑挑毛病", "制药", None),
    ("药厂下个月省局飞检，上次的缺陷还没整改完", None, "制药"),
    ("车库顶上消防喷淋的喷头一直滴水，物业说要换", "数码喷墨印花", "消防"),
    ("数码印花机喷头堵了，布上一道一道白线", None, "数码喷墨印花"),
    ("我的驾驶证过期了三个月，还能补吗", "技能培训", None),
    ("电工证过期了，怎么复审", None, "技能培训"),
    ("小区树上有个马蜂窝，怕蜇到小孩，找谁来摘", "急救", "有害生物防制"),
    ("工友被马蜂蜇了，脸肿起来喘不上气", None, "急救"),
    ("埋地的燃气钢管挖出来，外面包的那层都起皮了，一片片锈斑", "西点烘焙", "涂装表面处理"),
    ("面包烤出来表面起皮，组织也粗", None, "西点烘焙"),
]


def test_a_road_maintenance_worker_is_no_carer() -> None:
    held = default_lexicon().profile_specs(["道路养护工"])
    assert held.get("公路养护", 0.0) >= 1.0 and held.get("养老护理", 0.0) < 1.0, held


@pytest.mark.parametrize(("text", "not_read", "read"), CASES)
def test_a_word_reads_its_trade_in_its_own_setting(text: str, not_read: str | None,
                                                    read: str | None) -> None:
    if not_read:
        assert_not_read_as(not_read, text, share=0.49)  # under half of the strongest
    if read:
        assert_reads_as(read, text, by_rule=False)
