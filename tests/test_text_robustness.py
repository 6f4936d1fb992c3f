"""Ways of writing seen in work groups: greetings and thanks around requests, numbers, holidays."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.model import SHANGHAI
from bot.text.parse import parse

NOW = datetime(2027, 1, 10, 10, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("text", [
    "你好，我们车间的空压机老是跳停，想请专家来看看",
    "各位老师好，我们厂焊缝气孔多，能不能派个师傅来指导一下？谢谢！",
    "车间数控机床主轴异响，联系电话13912345678",
    "联系人王科长 13812345678，厂里污水COD超标",
    "嘉兴一家纸箱厂，瓦楞纸板起泡，请包装印刷方面的专家尽快联系 13812345678",
    "注塑件缩水严重，换了模温机也不行 李工 13956781234 余杭",
    "谢谢沈师傅上次的指导！不过还想请您再来看看另一台焊机",
    "转发：【嘉善县姚庄镇 金禾食品厂 陆姐】污水站出水COD超标，急需懂污水处理的老师指导",
    "我是德清的养殖户老施，家里的鱼塘这几天浮头，越快越好！电话 13511207839",
    "在吗 @工匠小助手 我们这边车床车不锈钢件总有振纹，想找数控的大师傅指导下",  # a call first
])
def test_requests_wrapped_in_greetings_thanks_or_a_number(text: str) -> None:
    p = parse(text, NOW)
    assert p.is_request and p.intent == "new_order"


@pytest.mark.parametrize("text", [
    "各队请准时参加周五的培训，值班人员不变",
    "今天早上开始机器一直报警",
    "谢谢大家，辛苦了",
    "请问点单要收费吗？企业需要出什么材料？",
    "请问点单之后多久会有专家联系？我们上周点的还没人回",  # how the service works
    "点单以后一般几天能安排？",
    "6月志愿服务月小结：收到需求40件，已办结35件，满意率98%",  # a report, not an order
    "本周统计：新增点单5件，办结4件",
    "【技术分享】铝焊气孔的三个小窍门：清理氧化膜、预热、控制电流",
    "请问怎么成为志愿专家？我是技师",
    "请问服务队里有没有律师？我们以后可能用得到。",  # not now
    "能不能在服务清单上加一项直播带货培训？",  # a suggestion to the admins
    "上次点单的那个焊缝问题，沈师傅已经帮我们解决了，太感谢了！",  # thanks for an earlier order
    "怎么取消点单啊？刚才写错了", "点单的流程我已经转发到各企业群里了",
    "服务清单第5项是哪个老师负责的？想先了解一下",
    "我是热动组的老孙，锅炉那个单我明天上午过去，有事打我电话 13605710088",  # an expert's note
    "春节放假安排：2月16日至22日放假，有急事请联系值班员 13812345678。",
    "李工，上回你教的调机方法我们用了，效果不错，下回请你吃饭",
    "那台空压机又出毛病了，不过这回我们自己修好了，分享一下经验：滤芯堵了",
    # thanks without a mark, a visit in the past, a settled matter
    "前几天来我们厂的电工师傅真厉害 跳闸一下就找到原因了 感谢工会",
    "上个月来我们厂调机的那位师傅叫什么 我们想送面锦旗",
    "上回那个锅炉的事 俞老师电话里一说就好了 压力上来了 太感谢",
    "【义诊】下周三上午县总工会联合中医院在工业园区开展义诊，欢迎职工群众前来",
    "請按以下格式點單：\n企業：\n問題：\n聯繫人：\n電話：",  # a format with blanks
    "格式是这样吧：点单：我们是XX厂，XX坏了，联系人X经理",  # placeholders
    "求助帖看到了 我明天上午有空可以过去 是南浔那家吧",  # an expert answering
    "各镇街工会：请于4月10日前汇总企业需求报送市总工会",
    "我们也想请人讲讲消防，不过等老板回来定，到时候再点单",
    "请专家来做培训一般提前多久点单比较好？",
    "后天我在海宁，顺路的企业有小毛病可以找我看看",
    "建德那家茶厂的事办得好，他们说明年还要点单，托我谢谢大家",  # some day, thanks
    "这种跳闸十有八九是漏电保护器太灵敏了，另外看看接地是不是松了",  # an expert's advice
    "我们的问题上周已经报过了，就不重复点单了",
    "我先问问有没有懂热处理的老师，等老板定了再正式点单",
    "今年平湖的企业点单特别多，服务队要扩编了",  # orders counted
    "专家来厂里服务的时候出了事故谁负责？",
    "@老叶 上次说的那台焊机你们还在用吗，能不能借两天",  # to another member
    "「已收到点单 #12 …请回复「接单 12」认领」",  # the bot's own words pasted back
    "我想点单，但是不知道怎么写，能不能有人教教我",
    "点单一份红烧肉，谢谢😂",
    "那个异响的问题后来怎么解决的？我们厂也碰到过，想学习学习",
    "各位：秋季服务需求征集开始啦～企业有难题、职工有需要都可以提",
    "不收费的，企业点单、大师买单😊 有需要直接发就行",
    "那个空压机的不用了，我们自己换了个滤芯就好了，麻烦大家了",
])
def test_notices_and_chatter_are_not_requests(text: str) -> None:
    assert not parse(text, NOW).is_request


@pytest.mark.parametrize("text", [
    "你好我这边是温岭一家鞋厂我们硫化罐温度老不准想找个懂自动化的师傅电话一三七三六五二零九八八",
    "临海一家游艇企业 玻璃钢糊制气泡多 想请专家指导 电话400-826-5531",  # a hotline to call
])
def test_voice_and_phone_typed_requests_are_requests(text: str) -> None:
    assert parse(text, NOW).is_request


@pytest.mark.parametrize("text", [
    "急！温岭一家泵厂 车床刀塔不转位 报警 线停着 找林师傅 电话 幺三洞五七六幺八八二四",
    "我是衢州的一名货车司机，公司拖欠我三个月工资，中秋前想要回来，能帮我问问律师吗",
    "我们是海盐一家紧固件厂，想做个数字化看板，年后再说，先挂个单，找IT小陆 15157318804",
    "上次的师傅太厉害了，问题解决了👍 顺便再点一个：我们厂想给焊工做个培训",
    "哈哈周末去钓鱼了没？说正事，我们厂好几个工人被骗了钱，想请人来讲讲反诈",
    "【转发自微信】老哥帮我问问：我们一家导轨厂，冷拔后直线度超差，找谁能帮忙？电话13967290548",
])
def test_requests_without_the_usual_words(text: str) -> None:
    assert parse(text, NOW).is_request


def test_a_question_to_a_member_is_not_an_order() -> None:
    assert not parse("@钟经理 你们换模用的是液压的还是手动的？拍几张照片发我看看", NOW).is_request
    assert parse("@匠心点单 你们这边有没有懂液压的专家？我们油缸爬行，联系人钟经理", NOW).is_request


def test_lunar_new_year_and_first_month() -> None:
    assert parse("点单：春节前想请专家来做一次安全培训", NOW).deadline == date(2027, 2, 5)
    assert parse("点单：设备异响，元月15日前请安排", NOW).deadline == date(2027, 1, 15)


def test_menu_order_and_menu_wordings() -> None:
    p = parse("我要点单，第2项", NOW)
    assert (p.intent, p.menu_no) == ("menu_order", 2)
    assert parse("看下服务清单", NOW).intent == "menu"
