"""Order fields: enterprise, contact, region, category, urgency, summary, forms."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.text.normalize import normalize
from bot.text.orgs import find_enterprise
from bot.text.parse import parse
from bot.text.people import find_contact
from bot.text.phones import find_phones
from bot.text.regions import find_region

NOW = datetime(2026, 5, 6, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(("text", "want"), [
    ("湖州南浔精工机械有限公司的数控车床精度下降", "湖州南浔精工机械有限公司"),
    ("长兴县绿源水产养殖场鱼塘浮头", "长兴县绿源水产养殖场"),
    ("我是华星纺织的，染色有色差", "华星纺织"),
    ("我们是德清一家钢构企业", "德清一家钢构企业"),
    ("浙能长兴电厂锅炉结垢", "浙能长兴电厂"),
    ("我们厂的注塑机", None), ("我司需要", None), ("想请师傅来厂指导", None),
    ("加工中心主轴异响", None), ("3号厂房漏水", None), ("我们食品厂想办认证", None),
    ("点单：海宁市许村镇一家经编企业，布面有横条", "海宁市许村镇一家经编企业"),  # with its town
    ("我们是淳安县的一家山核桃合作社", "淳安县的一家山核桃合作社"),
    ("您好，我们是桐庐县一家小企业，遇到个难题", "桐庐县一家小企业"),
    ("我们是一家小企业，想请专家", None),  # no name and no place: nothing to record
    ("金华市婺城区宏达竹业 联系人 张经理", "金华市婺城区宏达竹业"),  # a trade's name in 业
    ("点单：宏达竹业有限公司的烘干线", "宏达竹业有限公司"),  # …unless the legal name follows
    ("绍兴市越城区恒通工贸 王经理", "绍兴市越城区恒通工贸"),
    ("嘉兴经开区一家汽配企业，冲压件毛刺大", "嘉兴经开区一家汽配企业"),  # with its zone
    # A trade name set off by spaces after a place, before a contact or a number
    ("注塑件顶白，求师傅 宁海 海天模塑 13967812350", "海天模塑"),
    ("数控车床振刀。路桥区 恒泰机械 联系人柯主任 15968655210", "恒泰机械"),
    ("鱼塘浮头。乐清市 联系人 郑老板 13705771234", None), ("宁海 王经理 13967812350", None),
    ("我们是永康一家做五金的小厂，叫顺达五金。最近抛光不亮", "顺达五金"),  # named after
    ("我们是文成县一所山区小学，电扇坏了", "文成县一所山区小学"),
    ("我们是拱墅区枫林社区居委会", "拱墅区枫林社区居委会"),
    ("东阳横店一家影视道具厂，喷漆起泡", "东阳横店一家影视道具厂"),  # 横店 is a town
    ("舟山定海一家船舶修造企业，联系人 乐主席（厂工会）", "舟山定海一家船舶修造企业"),
    ("富阳 吉顺汽车销售服务有限公司 混动车绝缘故障", "吉顺汽车销售服务有限公司"),
    ("点单：鳌江镇 雅琪服饰 想长期结对一位老师", "雅琪服饰"),  # after a town, before a verb
    ("嘉善经济技术开发区 嘉宝电器 伺服驱动器报过压", "嘉宝电器"),  # after a zone
    ("【点单】宁海县西店镇 恒通模塑：试模缺料", "恒通模塑"),  # the name ends at its colon
    ("出口客户来审厂，提了一堆问题", None),  # 审厂 is no firm
    ("我们是龙游工业园区的一家造纸厂，锅炉压力上不去", "龙游工业园区的一家造纸厂"),
    ("车床尺寸老飘，找个老师傅 永康古山镇金鼎五金 老黄 135 6679 8031", "永康古山镇金鼎五金"),
    ("色差大，急需染整老师傅 柯桥鼎盛印染 王总 13968526631", "柯桥鼎盛印染"),
    ("我是绍兴中恒建设集团有限公司综合办的", "绍兴中恒建设集团有限公司"),  # not …集团
    ("瑞安市塘下镇总工会拟在辖区开展法律进企业活动", "瑞安市塘下镇总工会"),
    ("婺城区汤溪镇 我叫汪水根 13506661234", None),  # a person, not a firm
    # Step 13: the place before a description, a name given after it, more kinds of firm
    ("建德梅城镇一家竹制品厂，刨花板开裂", "建德梅城镇一家竹制品厂"),
    ("我们是淳安汾口镇的一家高山蔬菜合作社", "淳安汾口镇的一家高山蔬菜合作社"),
    ("点单：温州瓯海一家做锁具的公司", "温州瓯海一家做锁具的公司"),
    ("宁波镇海一家做仪表的企业，温控不稳", "宁波镇海一家做仪表的企业"),
    ("天台一家橡胶厂，硫化机温度不稳", "天台一家橡胶厂"),  # 天台 begins the clause: a place
    ("湖州吴兴一家鞋袜企业想请老师", "湖州吴兴一家鞋袜企业"),
    ("宁海西店一家模具厂想请师傅", "宁海西店一家模具厂"),  # a town after its county
    ("钱塘江边一家船厂反映，焊缝开裂", "钱塘江边一家船厂"),
    ("上城区一家连锁药店想请药师讲课", "上城区一家连锁药店"),
    ("松阳一家茶企想做直播培训", "松阳一家茶企"),
    ("我们是永康一家电动工具厂叫群力电器我们想请人来看看", "群力电器"),
    ("转发：【余姚市总工会】梁弄镇一家农家乐反映，厨房油烟大", "梁弄镇一家农家乐"),
    ("我在海盐一家紧固件厂上班，厂里拖欠加班费", None),  # where a worker works
    ("我是柯桥一家印染厂的挡车工，手被烫伤了", None),
    ("我是柯桥一家印染厂的王工，染色色差大", "柯桥一家印染厂"),  # an engineer speaks for it
    ("我们是萧山这边做汽配的华誉机械，曲轴磨削有振纹", "华誉机械"),  # the name after what it makes
    ("我们永固泵业在温岭大溪，泵体砂眼多", "永固泵业"),  # 我们 + a trade name, voice style
    ("请派人来，兴达五金（永康古山），下周五前", "兴达五金"),  # a clause of its own
    ("义乌国际商贸城旁边一家饰品厂，电镀发黑", "义乌国际商贸城旁边一家饰品厂"),
    ("我是海宁这边一家经编企业的设备主管", "海宁这边一家经编企业"),
    ("瓜沥一家化纤企业想请安全专家", "瓜沥一家化纤企业"),  # a town the gazetteer lacks
    ("南浔做木地板的小作坊，油漆起泡", "南浔做木地板的小作坊"),
    ("长兴一家做新能源配套的铜排厂，想请焊接师傅", "长兴一家做新能源配套的铜排厂"),
    ("我们在嘉善一家木业公司上班，老板欠薪", None),  # workers, not the firm
    ("我是上虞一家化工厂的操作工小钱，想咨询职业病", None),
    ("我叫王建国，在普陀一家水产加工厂剥虾，手关节疼", None),
    ("我是象山东海船舶修造的老林，焊缝探伤不合格", "象山东海船舶修造"),
    ("定海一家海产品冷库想请制冷师傅", "定海一家海产品冷库"),
    ("庆元一家食用菌企业，想请农业专家10天内来基地看看", "庆元一家食用菌企业"),
    ("我们浦江黄宅的水晶加工厂，粉尘大", "浦江黄宅的水晶加工厂"),  # a kind of firm with its place
    ("安吉溪龙的茶厂，杀青机温度上不去", "安吉溪龙的茶厂"),
    ("我们是路桥的台州精工塑业有限公司", "台州精工塑业有限公司"),  # a registered name alone
    ("我是江山那个木门厂的老徐", "江山那个木门厂"),
    ("还是德清新市那个厂，嘉丰五金，联系人还是老沈", "嘉丰五金"),
    ("养殖场叫汤溪鑫源特种水产养殖场，电话13957912345", "汤溪鑫源特种水产养殖场"),
    ("我老公在路桥一个汽配厂上班，手指被压了", None),
    ("我叫邵建华，在莲都一家石材厂切石头，手被划伤", None),
    ("桐庐一家做内窥镜配件的医疗器械公司，洁净车间压差波动", "桐庐一家做内窥镜配件的医疗器械公司"),
    ("我们是嵊州一所职业高中，想请数控老师", "嵊州一所职业高中"),
    ("我们是椒江一家连锁烘焙店，想请食品安全老师", "椒江一家连锁烘焙店"),
    ("嘉兴南湖一家物流公司，联系人：调度中心Lily", "嘉兴南湖一家物流公司"),
])
def test_enterprise(text: str, want: str | None) -> None:
    assert find_enterprise(normalize(text)) == want


@pytest.mark.parametrize(("text", "want"), [
    ("联系人吴经理 13867201234", "吴经理"), ("联系人：王建国 电话13867201234", "王建国"),
    ("有事找老王", "老王"), ("请联系张工，电话0571-87654321", "张工"), ("联系人小芳", "小芳"),
    ("电话13867201234 王先生", "王先生"), ("联系方式：13588661234（张工）", "张工"),
    ("联系人：设备科 王科长", "王科长"), ("欧阳经理负责", "欧阳经理"),
    ("想请李师傅来看看", None), ("找个懂行的师傅", None), ("我们厂施工现场", None),
    ("小时工不够", None), ("联系电话13867201234", None),
    ("联系人：刘总监 13906731234", "刘总监"), ("联系人 郑总助", "郑总助"),
    ("我是长兴一家茶叶合作社的胡社长，茶苗发黄", "胡社长"),  # introducing oneself
    ("叫我小王就行，电话13906731234", "小王"), ("矫正又费工又费钱", None),
    ("安全总监 施总 0576-85321234", "施总"),  # 安全总监 is no 全总监
    ("我是锦达家纺的技术主管刘涛，厂在海宁许村", "刘涛"),  # a role, then the name
    ("德清县通达物流有限公司 车队长 严师傅 13906731234", "严师傅"),
    ("联系人 车队长邬国强 13906731234", "邬国强"), ("联系人：技术部金工 13819845627", "金工"),
    ("联系人项目经理陶经理 13906731234", "陶经理"), ("联系人 沈小芳 13867361234", "沈小芳"),
    ("我是德清新市镇的养殖户老施，鱼塘浮头", "老施"),
    ("我是宁波华泓服饰有限公司人事部的周敏。想请医生", "周敏"),  # introducing oneself
    ("师傅你好 我叫钱阿根 13512341234", "钱阿根"), ("想请懂果树的人来看看 我是朱大叔", "朱大叔"),
    ("我是海宁博衡精工的小林，PLC通讯老掉线", "小林"),
    ("我是湖墅街道的社区网格员小杨，楼道电线老化", "小杨"),
    ("我是长兴和平镇养甲鱼的 塘里甲鱼浮头", None),  # no name given
    # Step 13: English names, a title after a department, 联系我X, a name in voice input
    ("联系人：Amy徐 13906731234", "Amy徐"), ("联系人 徐Amy 13906731234", "徐Amy"),
    ("有问题请找人事部Linda", "Linda"), ("电话很急 Jack周 13906731234", "Jack周"),
    ("周Jack 13906731234", "周Jack"), ("现场联系人：车间主任叶师傅，0573-82231234", "叶师傅"),
    ("我是诸暨一家水泵厂的生产部长老楼，叶轮磨损快", "老楼"),
    ("有事联系我小钟就行 13906731234", "小钟"),
    ("点单 我叫汤建明 是桐乡一家羊毛衫厂的 横机老是断针 想请师傅", "汤建明"),
    ("我是诸暨一家袜厂的挡车工叫何丽萍 想咨询工伤", "何丽萍"),
    ("我是一家厂的电工小陆，想考证", "小陆"),
    ("联系人是我，小潘，电话13906731234", "小潘"), ("补充 3 联系人换成老应", "老应"),
    ("打不通的话找出纳小蒋", "小蒋"), ("电话 400-826-1234 转售后部小贝", "小贝"),
    ("我是德清的老章我们章氏竹业那台机器坏了", "老章"),  # voice input runs on
    ("我是江山那个木门厂的老徐啊我们厂里那台刨床声音大", "老徐"),
    ("我是龙游那个造纸厂的办公室小周我们厂想请律师", "小周"),
    ("层压后气泡多，下周五前，找 设备部 Kevin", "Kevin"),
    ("我是厂里的仓管小吴 想找个心理老师聊聊", "小吴"), ("主机排温偏高，找机务科的汪科长", "汪科长"),
    ("冲压模具崩刃，找Tony就行 13780012345", "Tony"),
    ("想把点检表搬到手机上，龙港一家印刷厂，小章", "小章"),
    ("联系人：调度中心Lily 400-826-1234", "Lily"), ("店长小叶 18067631205", "小叶"),
    ("你好我这边是温岭的一家鞋厂想找个师傅我姓林", None),  # 温岭 is a place
])
def test_contact(text: str, want: str | None) -> None:
    n = normalize(text)
    assert find_contact(n, find_phones(n)) == want


@pytest.mark.parametrize(("text", "want"), [
    ("德清", "浙江省湖州市德清县"), ("柯桥的印染厂", "浙江省绍兴市柯桥区"),
    ("瑞安", "浙江省温州市瑞安市"), ("杭州萧山", "浙江省杭州市萧山区"), ("湖州", "浙江省湖州市"),
    ("织里童装", "浙江省湖州市吴兴区"),
    ("天台漏水", None), ("天台县", "浙江省台州市天台县"), ("景宁", "浙江省丽水市景宁畲族自治县"),
    ("天台一家橡胶厂", "浙江省台州市天台县"), ("江山这边有个厂", "浙江省衢州市江山市"),
    ("杭州滨江的一家公司", "浙江省杭州市滨江区"), ("大好江山", None), ("楼顶天台上漏水", None),
])
def test_region(text: str, want: str | None) -> None:
    assert find_region(normalize(text)) == want


@pytest.mark.parametrize(("text", "urgent"), [
    ("急！", True), ("尽快来", True), ("设备停机了", True), ("产线停产", True),
    ("马上", True), ("不急，下个月都行", False), ("线停着等配件", True), ("想做急救培训", False),
    ("应急预案", False),
    ("急停按钮坏了", False),
])
def test_urgent(text: str, urgent: bool) -> None:
    assert parse("点单：" + text, NOW).urgent is urgent


@pytest.mark.parametrize(("text", "category"), [
    ("我们是做低压电器的，断路器装配线节拍跟不上，想请精益方面的老师梳理一下", "精益生产"),
    ("汽配厂机器人工作站焊偏，需要焊接专家调试", "焊接"),
    ("急求懂变频恒压供水的师傅，水泵频繁启停", "电气"),
    ("有懂电机维修的师傅吗？三相电机绕组烧了", "电气"),
    # 热能 inside 余热能不能 and 蒸汽 weigh as much as the 节能 asked for: the ask decides
    ("干燥窑蒸汽用得太多，想请节能方面的老师看看余热能不能用起来", "节能降耗"),
    ("想请医生给职工讲讲职业病防护和体检报告，我们做电镀的", "医疗健康"),  # 医生 is the ask
    ("注塑机液压油温老是高，帮我寻个机修老师傅来看看", "机械设备"),
    ("注塑车间想做节能改造", "节能降耗"),
    # the firm's trade (物流) says what it is, not what it asks
    ("几台重卡老报DPF故障，想请汽修方面的大师看看。德清县通达物流有限公司 严师傅", "汽车维修"),
    ("想请一位劳模来做一场宣讲，宁波海联港口物流有限公司 工会 柴主席", "技能培训"),
    ("机器人焊接老焊偏，激光跟踪调了也没用", "焊接"),
    ("收割机割台不转了，有没有会修农机的师傅", "机械设备"),
])
def test_the_expertise_asked_for_decides_the_category(text: str, category: str) -> None:
    assert parse("点单：" + text, NOW).category == category


def test_summary_strips_boilerplate() -> None:
    p = parse("点单：我们是德清一家钢构企业，不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导。"
              "联系人吴经理 13867201234，下周三前", NOW)
    assert p.summary == "不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导"


@pytest.mark.parametrize(("text", "want"), [
    ("各位领导好，我是海盐一家标准件厂的陆经理，我们公司主要做高强度螺栓，最近热处理后硬度不均，"
     "想请热处理师傅明天上午来厂看看", "最近热处理后硬度不均，想请热处理师傅明天上午来厂看看"),
    ("点但：空压机排气温度高，老是停机", "空压机排气温度高，老是停机"),  # an input slip of 点单
    ("点单：@匠心点单 明天上午请电工师傅来看看配电柜跳闸", "明天上午请电工师傅来看看配电柜跳闸"),
    ("点单 师傅们好 打扰了 我们是余姚一家模具厂 模具寿命短 想请师傅看看",
     "模具寿命短 想请师傅看看"),  # voice input: spaces for commas
    ("点单：配电柜跳闸，希望下周三前能来", "配电柜跳闸"),  # the 期限 line says when
    ("点单：您好！我们合作社主要种白茶，今年茶苗发黄，想请农技专家看看",
     "今年茶苗发黄，想请农技专家看看"),
])
def test_summary_says_the_problem(text: str, want: str) -> None:
    assert parse(text, NOW).summary == want


def test_summary_leaves_out_a_call_for_attention() -> None:
    p = parse("在吗 @工匠小助手 我们厂注塑件缩水严重，想请模具师傅来看看", NOW)
    assert p.summary == "我们厂注塑件缩水严重，想请模具师傅来看看"


def test_summary_leaves_out_a_firm_set_off_before_the_problem() -> None:
    p = parse("点单：温岭泽国 锐鑫机电 铝合金支架焊缝老有气孔，联系人 林工 13705862247", NOW)
    assert (p.enterprise, p.summary) == ("锐鑫机电", "铝合金支架焊缝老有气孔")


@pytest.mark.parametrize("tail", ["电话13812345678（微信同号）", "13812345678、13987654321(同微信)",
                                  "王工 13812345678【手机】，0572-2345678（办公室）"])
def test_summary_drops_notes_beside_phone_numbers(tail: str) -> None:
    assert parse(f"点单：锅炉结垢严重，{tail}", NOW).summary == "锅炉结垢严重"


def test_summary_is_short_and_the_problem_is_whole() -> None:
    p = parse("点单：" + "焊接变形严重需要指导，" * 20, NOW)
    assert p.summary is not None and len(p.summary) <= 60
    assert p.problem is not None and p.problem.count("焊接变形") == 20


@pytest.mark.parametrize(("text", "service_type"), [
    ("想请精益方面的专家给班组长讲一堂5S的课", "技能培训"),  # a class, on a trade
    ("想请理财方面的志愿者给职工讲一堂防诈骗的课", "职工生活"),  # a class for workers' own lives
    ("想请仪表方面的专家给DCS系统做一次全面体检", "巡查会诊"),  # a check-up of a plant
    ("想请医生来给一线职工做一次全面体检", "职工生活"),  # …and of people
    ("想请建筑方面的专家对宿舍楼做一次质量安全排查", "巡查会诊"),
    ("空压站能耗偏高，想请专家做一次能耗体检", "巡查会诊"),
    ("想请数控方面的老师给年轻人上几堂课，讲宏程序", "技能培训"),
    ("想请质量专家来讲一讲QC小组怎么开展，大概40人听", "技能培训"),
    ("想请电气方面的老师把配电房和车间线路排查一遍", "巡查会诊"),
    ("二十几台冲床都是老设备了，想请机械方面的老师傅来做次体检", "巡查会诊"),
    ("想请精益方面的老师给十几个班组长讲一讲现场改善", "技能培训"),  # an audience: a class
    ("电工班都是新人，想请电工劳模来给他们上一课", "技能培训"),
    ("想请仪表专家对全厂的变送器做一次排查校验", "巡查会诊"),
    ("想请纺织方面的老师傅给新来的挡车工上几堂织机操作课", "技能培训"),
    ("想请汽修专家给我们店的维修工讲一次故障诊断的课", "技能培训"),
])
def test_service_type_cues(text: str, service_type: str) -> None:
    assert parse("点单：" + text, NOW).service_type == service_type


def test_a_classroom_building_is_no_class() -> None:
    p = parse("点单：山区小学教学楼的老线路经常跳闸，想请电工志愿者来检修", NOW)
    assert p.service_type == "社会公益"


@pytest.mark.parametrize(("field", "want"), [
    ("单位：衢州市柯城区一家压力容器制造公司，联系电话 0570-3065218",
     "衢州市柯城区一家压力容器制造公司"),
    ("公司：杭州临平凯德精密机械有限公司,contact Mr Li", "杭州临平凯德精密机械有限公司"),
    ("单位：浦江县一家光电科技公司。11月5日前", "浦江县一家光电科技公司"),
    ("单位：，联系人 王工", None),  # an empty field, then the next one
    ("单位：海盐县 澉浦镇 恒鑫紧固件有限公司", "恒鑫紧固件有限公司"),  # places set off first
    ("单位：浙江晟润化学有限公司（上虞经济技术开发区）", "浙江晟润化学有限公司"),
])
def test_a_form_field_name_ends_at_a_clause_mark(field: str, want: str | None) -> None:
    p = parse("点单：LED灯珠光衰偏大，想请电子方面的专家指导。" + field, NOW)
    assert p.enterprise == want


def test_form() -> None:
    p = parse("单位：德清县恒达钢构有限公司\n问题：不锈钢薄板焊接变形\n联系人：吴经理\n"
              "电话：13867201234\n时间：下周三前\n地点：德清县武康街道", NOW)
    assert p.is_request and p.intent == "new_order"
    assert (p.enterprise, p.contact, p.phone, p.location, p.summary) == (
        "德清县恒达钢构有限公司", "吴经理", "13867201234", "德清县武康街道", "不锈钢薄板焊接变形")


@pytest.mark.parametrize(("text", "unsure"), [
    ("电机有点问题", True), ("能帮我看看吗？", True), ("谢谢张师傅", False), ("大家好", False),
])
def test_unsure(text: str, unsure: bool) -> None:
    p = parse(text, NOW)
    assert (p.is_request, p.intent, p.unsure) == (False, "other", unsure)
