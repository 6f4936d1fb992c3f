"""Voice-input and pinyin-typing slips of trade words (the [readings] of
bot/data/symptoms/voice9.toml): a request dictated by voice or typed fast in pinyin (公伤认定,
电体门, 消房栓, 空掉外机, 混泥土) reads as its correctly written twin, and ordinary sentences that
hold the real words a slip looks like (工商局, 导电体, 取消方案, 马路等车, 充电装置) read as they
did without the family."""
from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

import pytest

from bot.text.match_lexicon import Lexicon, default_lexicon, lexicon_of, shipped_files
from tests.symptom_checks import strongest

DATA = Path(__file__).resolve().parent.parent / "bot" / "data"
FAMILY = DATA / "symptoms" / "voice9.toml"

# (slip, the word it means, a voice-style request holding the slip): the request reads the
# strongest specialty of its twin, the same request with the word written right.
SLIPS = [
    # 工伤 · 社保 · 劳动关系
    ("公伤认定", "工伤认定",
     "嗯那个我上个月在车间被机器压了手指头公伤认定要去哪里办"),
    ("算不算工商", "算不算工伤",
     "就是我下班路上被电动车撞了那个算不算工商啊"),
    ("工商赔偿", "工伤赔偿",
     "那个老板说我手指断了只给五千块工商赔偿是不是太少了"),
    ("工商鉴定", "工伤鉴定",
     "嗯我腰摔坏了厂里让我去做工商鉴定要带什么材料"),
    ("工商保险", "工伤保险",
     "就是我们厂没给我们交工商保险现在受伤了怎么办"),
    ("公伤赔偿", "工伤赔偿",
     "那个我老公在工地摔下来了公伤赔偿老板一直拖着不给"),
    ("受了公伤", "受了工伤",
     "嗯我去年受了公伤现在厂里要把我辞退可以吗"),
    ("工商待遇", "工伤待遇",
     "那个停工留薪期的工商待遇是怎么算的厂里说没有"),
    ("公伤假", "工伤假",
     "就是我休公伤假厂里把我工资停了合法吗"),
    ("工伤保鲜", "工伤保险",
     "嗯那个工伤保鲜是公司交还是我自己交"),
    ("交设保", "交社保",
     "那个我在厂里干了三年了老板一直没给我交设保怎么办"),
    ("设保卡", "社保卡",
     "就是我设保卡里怎么一直没钱进来公司说交了"),
    ("交社宝", "交社保",
     "嗯老板说试用期不交社宝这个合法吗"),
    ("养老保鲜", "养老保险",
     "就是那个我交了十二年养老保鲜换了城市还能接着交吗"),
    ("医疗保鲜", "医疗保险",
     "嗯我辞职以后医疗保鲜断了怎么续"),
    ("失业保鲜", "失业保险",
     "那个我被裁员了失业保鲜怎么领"),
    ("五线一金", "五险一金",
     "就是招聘的时候说有五线一金结果进来一样都没有"),
    ("住房公基金", "住房公积金",
     "嗯厂里从来没交过住房公基金可以去投诉吗"),
    ("工积金", "公积金",
     "那个我的工积金公司少交了好几个月怎么查"),
    ("老动合同", "劳动合同",
     "嗯我干了两年了厂里一直不跟我签老动合同"),
    ("劳东合同", "劳动合同",
     "就是那个劳东合同到期了厂里不续签有没有补偿"),
    ("劳动中裁", "劳动仲裁",
     "那个老板欠了我三个月工资我想去劳动中裁要准备什么"),
    ("申请中裁", "申请仲裁",
     "嗯那个被开除了我想申请中裁时间过了没有"),
    ("中裁委", "仲裁委",
     "就是中裁委让我补证据可是我没有工资条"),
    ("市人设局", "市人社局",
     "嗯欠薪的事我打了市人设局的电话没人管"),
    ("派谴", "派遣",
     "那个我是派谴过来的工伤了到底找哪个公司"),
    ("托欠工资", "拖欠工资",
     "就是老板托欠工资半年了我们十几个人怎么办"),
    ("经济补尝", "经济补偿",
     "嗯厂里搬迁不去的人给不给经济补尝"),
    ("补尝金", "补偿金",
     "那个公司辞退我补尝金按几个月算"),
    ("陪偿", "赔偿",
     "嗯我在厂里被烫伤了老板说不陪偿"),
    ("高温补帖", "高温补贴",
     "就是我们夏天在外面干活从来没有高温补帖"),
    ("陈肺病", "尘肺病",
     "那个我在石材厂干了十年查出来陈肺病厂里不认"),
    ("劳宝用品", "劳保用品",
     "嗯我们车间打磨的从来不发劳宝用品口罩都没有"),
    # 电梯 · 扶梯
    ("电体门", "电梯门",
     "那个我们小区的电体门关不上一直开开关关"),
    ("坐电提", "坐电梯",
     "就是坐电提的时候突然往下掉了一下吓死人"),
    ("电体困", "电梯困",
     "嗯楼里又电体困人了物业半小时才来"),
    ("电提坏", "电梯坏",
     "那个我们这栋电提坏了一个礼拜了老人上不去"),
    ("电体维保", "电梯维保",
     "就是电体维保的人每个月就来签个字什么都不看"),
    ("电提年检", "电梯年检",
     "嗯我们厂里的货梯电提年检过期了会罚吗"),
    ("自动扶提", "自动扶梯",
     "那个商场自动扶提突然停了好几个人摔倒"),
    ("扶提夹", "扶梯夹",
     "就是小孩的鞋被扶提夹进去了"),
    # 空调
    ("空掉外机", "空调外机",
     "嗯那个空掉外机嗡嗡响就是不制冷"),
    ("空掉漏水", "空调漏水",
     "那个挂机空掉漏水把墙都泡了"),
    ("空掉不制冷", "空调不制冷",
     "就是家里柜机空掉不制冷了显示e1"),
    ("中央空掉", "中央空调",
     "嗯办公楼的中央空掉冷水机组一开就跳闸"),
    # 消防 · 火灾
    ("消房栓", "消防栓",
     "那个厂房里的消房栓没水了检查的说要整改"),
    ("消方通道", "消防通道",
     "就是我们车间消方通道堆满了货安全员不管"),
    ("消房验收", "消防验收",
     "嗯新厂房消房验收没过说喷淋不够"),
    ("消方检查", "消防检查",
     "那个下个礼拜有消方检查灭火器都过期了"),
    ("火在隐患", "火灾隐患",
     "嗯宿舍里电瓶车都推进来充电火在隐患很大"),
    # 充电桩 · 光缆 · 路灯
    ("充电装坏", "充电桩坏",
     "那个小区的充电装坏了充不进去电"),
    ("冲电桩", "充电桩",
     "就是我们停车场想装几个冲电桩要报电力局吗"),
    ("挖断光览", "挖断光缆",
     "嗯隔壁工地施工挖断光览了我们厂网全断了"),
    ("路等不亮", "路灯不亮",
     "那个村口的路等不亮好几天了晚上很黑"),
    # 变配电 · 电气
    ("变压气", "变压器",
     "嗯厂里那台变压气嗡嗡响还很烫"),
    ("陪电箱", "配电箱",
     "就是车间的陪电箱一开机就冒烟"),
    ("配电厢", "配电箱",
     "那个工地的配电厢进水了还在用"),
    ("变平器", "变频器",
     "嗯那个风机的变平器老是报过流"),
    ("跳匝", "跳闸",
     "就是我们车间一开空压机就跳匝"),
    ("私服电机", "伺服电机",
     "那个数控的私服电机报警了一直抖"),
    ("光服板", "光伏板",
     "嗯屋顶的光服板发电量越来越少了"),
    # 焊接 · 注塑 · 机加工 · 叉车 · 机械
    ("焊街", "焊接",
     "就是不锈钢焊街以后发黑有裂纹"),
    ("亚弧焊", "氩弧焊",
     "嗯我们要招亚弧焊的师傅焊不锈钢管道"),
    ("二宝焊", "二保焊",
     "那个二宝焊飞溅太大了焊缝也不好看"),
    ("注素机", "注塑机",
     "就是那个注素机打出来的产品有缩水"),
    ("住塑厂", "注塑厂",
     "嗯我们住塑厂的产品老是有飞边毛刺"),
    ("数空机床", "数控机床",
     "那个数空机床撞刀了主轴有异响"),
    ("空亚机", "空压机",
     "就是车间空亚机压力上不去一直在打气"),
    ("插车证", "叉车证",
     "嗯我想考插车证要去哪里报名"),
    ("开插车", "开叉车",
     "那个我们仓库开插车的把人撞了"),
    ("水蹦不转", "水泵不转",
     "就是地下室的水蹦不转了水越积越多"),
    ("阀们漏", "阀门漏",
     "嗯管道的阀们漏水关不住"),
    ("轴成响", "轴承响",
     "那个电机的轴成响得厉害温度也高"),
    ("油刚漏", "油缸漏",
     "就是液压机的油刚漏油压力保不住"),
    # 土建 · 管道 · 其他
    ("混泥土", "混凝土",
     "嗯楼板的混泥土浇完第二天就裂了"),
    ("磁砖", "瓷砖",
     "那个卫生间的磁砖空鼓掉下来了"),
    ("化分池", "化粪池",
     "就是厂里的化分池满了臭气熏天"),
    ("电渡厂", "电镀厂",
     "嗯我们电渡厂的废水超标被环保罚了"),
    ("烘厢", "烘箱",
     "那个烘厢温度升不上去加热管是不是坏了"),
    ("喷林头", "喷淋头",
     "就是车间顶上的喷林头漏水了"),
]

# (ordinary sentence holding a real word a slip looks like, the specialty it reads strongest or
# "" for none): its reading is the one it has without the family.
NEAR = [
    ("那个营业执照的事去工商局办还是网上办", "个体工商户服务"),
    ("我想了解工商认定的办理材料", ""),
    ("他是因公伤残的退役军人每个月有补助", "工伤保险"),
    ("带电体附近作业要保持安全距离", ""),
    ("铜是导电体里面有自由电子", "电子"),
    ("手机上收到停电提前通知说明天上午检修", "供电服务"),
    ("来电提醒的短信一直收不到", ""),
    ("对方取消方案以后合同还有效吗", "民商法律"),
    ("仓库里那个位置空掉了可以放新货", ""),
    ("我在马路等车等了半个小时", ""),
    ("炉火在烧的时候不要离人", ""),
    ("这台设备的充电装置坏了要换", "设备维修"),
    ("我加油刚好加满油箱就漏了", ""),
    ("索赔尝试了好几次保险公司都不理", "金融"),
    ("与x轴成45度的斜线怎么画", ""),
    ("这台数控换轴成功了可以开工", "数控加工"),
    ("这是他人设局骗我签的字", "民商法律"),
    ("这种包装薄膜具有防潮的作用", "印刷包装"),
    ("不顾安全冒险作业出了事谁负责", ""),
    ("早上草上都是露水", ""),
    ("老板让我们偷税漏税我不想干", ""),
    ("货物要压住不然车一开就掉", ""),
    ("冷库保鲜的温度要设多少", "制冷暖通"),
    ("帮扶提升农村电商水平", "电商营销"),
    ("军阀们混战的那段历史", ""),
    ("钢筋跳扎的间距规范怎么规定", "钢筋工程"),
    ("医院要补充床位护士不够", "内科慢病"),
    ("心跳炸裂的感觉是不是心脏有问题", ""),
]


@lru_cache(maxsize=1)
def lexicon_without_family() -> Lexicon:
    """The shipped lexicon less voice9.toml, built the way default_lexicon builds it."""
    return lexicon_of(f.read_bytes() for f in shipped_files() if f.name != FAMILY.name)


def readings() -> dict[str, list[str]]:
    data = tomllib.loads(FAMILY.read_text("utf-8"))
    table: dict[str, list[str]] = data["readings"]
    return table


@pytest.mark.parametrize(("slip", "word", "said"), SLIPS)
def test_slip_reads_as_its_twin(slip: str, word: str, said: str) -> None:
    assert slip in said
    assert slip in readings()[word]
    lexicon = default_lexicon()
    twin = said.replace(slip, word)
    assert slip not in lexicon.reading_text(said)
    assert strongest(twin, lexicon), twin
    assert strongest(said, lexicon) == strongest(twin, lexicon), (
        lexicon.read(said).specs, lexicon.read(twin).specs)


def test_slips_change_most_readings() -> None:
    """Without the family most slip requests read otherwise than their twins: the slips matter."""
    before = lexicon_without_family()
    lexicon = default_lexicon()
    misread = [s for s, w, r in SLIPS
               if strongest(r, before) != strongest(r.replace(s, w), lexicon)]
    assert len(misread) >= len(SLIPS) // 2, misread


@pytest.mark.parametrize(("text", "spec"), NEAR)
def test_near_miss_reads_as_before(text: str, spec: str) -> None:
    lexicon = default_lexicon()
    assert lexicon.reading_text(text) == lexicon_without_family().reading_text(text)
    assert lexicon.read(text).specs == lexicon_without_family().read(text).specs
    assert strongest(text, lexicon) == ({spec} if spec else set()), lexicon.read(text).specs


def test_table_is_readings_only() -> None:
    data = tomllib.loads(FAMILY.read_text("utf-8"))
    assert list(data) == ["readings"]
    slips = [s for v in data["readings"].values() for s in v]
    assert 150 <= len(slips) <= 300
    assert len(slips) == len(set(slips))
    assert not set(slips) & set(data["readings"])
    assert all(s not in w for w, v in data["readings"].items() for s in v)


def test_no_slip_is_a_roster_word() -> None:
    """A slip is no specialty's term or cue: experts' words are never rewritten away."""
    lexicon = default_lexicon()
    words = {w for spec in lexicon.specialties.values() for w in (*spec.terms, *spec.cues)}
    slips = {s for v in readings().values() for s in v}
    assert not {s for s in slips for w in words if s in w}


def test_tests_cover_enough() -> None:
    assert len({s for s, _, _ in SLIPS}) >= 60
    assert len(NEAR) >= 20
