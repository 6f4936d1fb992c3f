"""Plain-words requests of towns' small trades read as their trade (bot/data/symptoms/shops8.toml):
phone and tablet repair, a household air conditioner named as people name it, an electric car in
a repair shop, a boss who settles an injury with a little cash, and workers' fright after an
accident."""
from __future__ import annotations

from bot.text.match_lexicon import default_lexicon
from tests.symptom_checks import family_tests

READS = [
    ("手机维修", "女儿的苹果手机掉进洗脸盆里了，捞起来就开不了机，还有救吗"),
    ("手机维修", "我这台小米用了三年，充电口松了，线要扭着才充得进"),
    ("手机维修", "老人机屏幕摔碎了一角，触屏失灵，附近哪有师傅换屏"),
    ("手机维修", "平板开着开着就自动重启，背面摸着很烫"),
    ("制冷暖通", "卧室的挂机开了一晚上一点都不凉，外机在转但是吹出来是热风"),
    ("制冷暖通", "客厅柜机一开就显示E1，过几分钟自己停机"),
    ("制冷暖通", "店里的空调内机往下滴水，墙都泡花了"),
    ("汽车维修", "开了三年的纯电车，今天仪表上跳出乌龟灯，油门踩到底也跑不动"),
    ("汽车维修", "店里接了台插混的车，早上上不了高压，报绝缘故障，谁会修"),
    ("工伤保险", "我老公在厂里搬货把脚砸伤了，老板给了点钱就想打发我们，这样合理吗"),
    ("工伤保险", "徒弟在店里切到手，老板说私了给三千，以后不管了"),
    ("心理", "上周车间出了事故，好几个年轻人亲眼看到的，现在晚上睡不着，一闭眼就是现场"),
    ("心理", "工地上出了事以后，几个工友到现在还心有余悸，不敢再上高处"),
]

NOT_READ = [
    ("手机维修", "我们厂流水线上做的手机主板，贴片后测试工位老是报开不了机"),
    ("手机维修", "孩子天天玩手机游戏，说他也不听，成绩一落千丈"),
    ("手机维修", "手机上收到一个链接点进去，钱被转走了，怎么报警"),
    ("制冷暖通", "客服电话打了三次，每次说两句对方就挂机了"),
    ("制冷暖通", "刚接电话对方就挂机了，代码还没发给他"),
    ("汽车维修", "开网约车的司机们说平台抽成越来越高，想找人问问怎么维权"),
    ("工伤保险", "我们是养猪场，小猪的脚砸伤了好几头"),
    ("心理", "设备出了事故以后一直没修好，停机三天了"),
]

test_reads, test_near_misses, test_tried = family_tests("shops8", READS, NOT_READ)


def test_a_turtle_light_is_no_turtle_farm() -> None:
    lex = default_lexicon()
    assert "龟鳖养殖" not in lex.read("电车仪表上亮了个乌龟灯，开不快").specs
    assert "龟鳖养殖" in lex.read("塘里的乌龟苗这几天不吃食，浮在水面上").specs


def test_frightened_workers_are_no_broken_machine() -> None:
    reading = default_lexicon().read("车间里几个工人被吓坏了，机台旁边都不敢站")
    assert "设备维修" not in reading.specs, reading.specs
