"""Command-like messages: 接单 12, 协助 12, 办结 12 …, 查询 12, 我的单, 服务清单, 帮助, /admin."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bot.text.cnnum import cn_int
from bot.text.lexicon import words


@dataclass(frozen=True)
class Command:
    """A message read as a command: its intent, order number and the text after them."""

    intent: str
    order_no: int | None = None
    rest: str = ""
    rest_start: int = 0
    menu_no: int | None = None
    command: str | None = None
    args: tuple[str, ...] = ()


# Keyword → intent for "KEYWORD [#]N rest". Longest keyword first.
_KEYWORDS: dict[str, str] = {
    "接单": "claim", "认领": "claim", "抢单": "claim", "我来接": "claim", "我接": "claim",
    "接": "claim",
    "协助": "assist", "参与": "assist", "支援": "assist", "一起去": "assist",
    "退单": "release", "放弃": "release", "退回": "release", "转单": "release",
    "预约": "schedule", "约定": "schedule", "排期": "schedule",
    "进展": "progress", "进度": "progress", "跟进": "progress",
    "办结": "complete", "结单": "complete", "完结": "complete", "完成": "complete",
    "评价": "rate", "评分": "rate", "打分": "rate",
    "撤销": "cancel", "撤单": "cancel", "取消": "cancel", "撤回": "cancel",
    "补充": "supplement", "追加": "supplement", "补充说明": "supplement",
    "查询": "query", "查单": "query", "查看": "query", "查": "query",
}
# Intents whose keyword may stand alone or be followed by text without a number.
_BARE_OK = {"claim", "release", "progress", "complete", "rate", "cancel", "supplement", "query"}
# Keywords that need a number (or a separator) after them; alone they are ordinary words.
_NEED_NUMBER = {"接", "查", "查看", "完成", "参与", "支援", "放弃", "取消", "预约", "约定", "跟进",
                "退回", "撤回", "一起去", "追加", "排期", "转单", "进度", "打分"}
_KW_RE = re.compile("|".join(sorted(map(re.escape, _KEYWORDS), key=len, reverse=True)))
_NUMBER = re.compile(
    r"\s*[:：]?\s*(?:一下)?\s*(?:#|No\.?|NO\.?|第|单号)?\s*"  # 协助一下十五号单
    # 12, or in words (接单一, 查询十二, 评价 三号): then it must end there (not 接一下)
    r"(\d{1,7}(?!\d)|[零〇一二两三四五六七八九十百]{1,4}(?=$|[\s,，.。:：!！?？#号单]))"
    r"\s*(?:号单|号|单)?")
# 6号单什么情况了, #6 进度怎么样, 六号单的师傅到了没有: the state of a numbered order.
_ORDER_REF = (r"^(?:我们|我|咱们)?(?:那个|这个)?#?\s*(\d{1,7}|[一二两三四五六七八九十百]{1,4})\s*"
              r"(?:号单|号|单|号的单)?(?:子)?\s*"
              r"(?:的|那个|这个)?")
_STATUS = re.compile(
    _ORDER_REF + r"[^。!！]{0,12}?(?:什么情况|啥情况|情况(?:怎么样|如何)|怎么样了?|咋样了?|进度|"
    r"进展|"
    r"到哪(?:一步|步)?了?|谁接|有人接|接了没|到了没|来了没|处理(?:得)?怎么样|办得怎么样|好了没|"
    r"没人接|没人理|没人管|没动静|没消息|啥状态|什么状态|有没有人(?:管|接|理)|"
    # #6号 现在谁在跟: who has it
    r"谁在跟|谁(?:在)?(?:跟进|负责|管|处理)|"
    # 32号单那边师傅去过了吗: has someone been (have they called, is it fixed)
    r"(?:去|来|到|上门|联系|处理|解决|修好|搞定)(?:过)?了?(?:吗|没有?)[?？]*$)")
# 15号单什么时候来人, #6 什么时候能到: when someone comes for an order (单 or # says it is one:
# 15号什么时候来人方便 may ask about a day).
_WHEN = re.compile(r"(?=(?:我们|我|咱们)?(?:那个|这个)?\s*#|[^，。,!！?？\s]{0,6}单)" + _ORDER_REF
                   + r"[^。!！]{0,8}?什么时候(?:能|可以|会|才)?"
                   r"(?:来人|来|到|上门|有人来|处理|安排|接|去)")
# 7号单不用了, 19号那个单子撤了吧: the requester withdrawing it.
_WITHDRAW = re.compile(
    _ORDER_REF + r"[^。!！]{0,8}?(?:不用了|不需要了|撤了|撤掉|撤销|取消|作废|不要了)")
# 上次那个师傅还没来啊, 昨天报的那个怎么还没人接, 我们那个单进度怎么样了: the sender's own orders.
_MY_STATUS = re.compile(
    r"^(?:请问|那个|诶|哎)?[,，\s]*(?:我们|我|咱们|我们厂|我们公司)?(?:上次|上回|之前|前几天|昨天|前天|"
    r"上周|上个?礼拜|上个?星期|上个月|前段时间|这个月|刚才|早上|今天)?(?:上午|下午|晚上|早上)?(?:报|点|发|提|提交)?的?(?:那个|那几个|这个)?(?:单子?|需求|点单)?"
    r"[^。!！]{0,12}?(?:进度|到哪(?:一步|步)?了?|什么情况|怎么样了|还没(?:有)?(?:人)?(?:来|接|到)|"
    r"没人接|没人理|没人管|没人回|没动静|没消息|没回音|发出去|没看到编号|有人接了?吗|啥状态|什么状态|"
    r"状态怎么样|多少号|没看到回复|没(?:有)?回复)")
# 我报的单呢？怎么查不到: where the sender's own order went.
_MY_WHERE = re.compile(r"^(?:我们?|咱们)(?:厂|公司)?(?:刚才|昨天|前天|上午|下午|之前|前几天)?"
                       r"(?:报|点|提|提交|发)的(?:那个|那些)?(?:单子?|需求|点单)"
                       r"(?:呢|哪去了|去哪了|怎么(?:查|找|看)不到|怎么没了|没了)"
                       # 点单成功了吗？怎么没看到编号
                       r"|^(?:我的?)?点单(?:成功了|点上了|发出去了|提交成功了)(?:吗|没有?)")
_MY_HINT = re.compile(r"(?:上次|上回|之前|昨天|前天|前几天|上周|刚才|我们那个|我们厂报|我报|我们报|"
                      r"我点|我们点|报的|点的)")
# 上次你说的那个冷却塔漏水后来怎么样了: a matter someone else raised, not the sender's order.
_THEIRS = re.compile(r"(?:你|您)们?(?:说|讲|提|问|讲过|说过|提过)的")
_LEAD = re.compile(r"^(?:好的|好|收到|OK|ok|嗯嗯?)[,，。.!！\s]+")
_NUMBER_FIRST_CLAIM = re.compile(
    r"^#?\s*(\d{1,7})\s*(?:号单|号|单)?\s*[,，]?\s*(?:我来?接了?|我认领|接单|认领|我来)[!！。.]*$"
)
# 好的，横机这块我熟，接单十五: a claim or an offer to assist that ends the message.
_TRAILING = re.compile(r"[,，。.!！\s](接单|认领|协助)\s*#?\s*"
                       r"(\d{1,7}|[一二两三四五六七八九十百]{1,4})"
                       r"\s*(?:号单|号|单)?[!！。.~]*$")
_BARE_CLAIM = re.compile(
    r"^(?:我来?接(?:单|这单|这个单|了)?|这单我来?接了?|接单了?|认领|我认领)[!！。.~]*$"
)
_MY = re.compile(r"^(?:我的单|我的点单|我的订单|我接的单|我的工单|我的任务|我的服务单|我点的单)")
_OPEN = re.compile(
    r"^(?:看看|看下|看一下|查一下|现在|目前|请问)?(?:还有)?(?:待接单|待认领|未接单|待接的单|哪些单|哪些待接|有哪些单|有什么单|"
    r"可接的单|没人接的单|哪些点单没人接)"
)
_MENU = re.compile(
    r"^(?:把|麻烦把|请把|麻烦|请|麻烦你)?(?:看下|看一下|看看|查看|发一下|发下|给我看看|我要看|请发|调出)?\s*"
    r"(?:服务清单|服务目录|服务菜单|服务项目|技术服务清单|清单)\s*[:：]?\s*(.*)$", re.S
)
_MENU_ORDER = re.compile(
    r"^(?:(?:从|在)?(?:服务清单|服务目录|服务菜单|清单)(?:里|上|中)?(?:面)?\s*)?"
    r"(?:【点单】|#点单|我要点单|我想点单|点单|我要点|我点|点)\s*[:：,，]?\s*"
    r"(?:(?:服务清单|清单)(?:里|上|中)?(?:的)?\s*)?(?:第|#|No\.?)?\s*"
    # 点单 3, #点单 清单10号, 点单 十一 (a number in words stands alone)
    r"(\d{1,3}|[一二三四五六七八九十]{1,3}(?=$|[\s,，。号项个]))\s*(?:号|#)?"
    r"\s*(?:项|个|号服务|服务|项目)?(?=$|[\s,，。.:：;；!！（(]|--)"
)
# 清单里第2项, 点清单里的12号: an item of the menu named by its position or number
_MENU_ITEM = re.compile(r"^(?:我们|我)?(?:要点|想点|想要|要|点|按)?(?:从|在)?"
                        r"(?:服务清单|服务目录|服务菜单|清单)(?:里|上|中)?(?:的)?(?:那个|那)?"
                        r"\s*(?:第\s*|(?=(?:\d{1,3}|[一二三四五六七八九十]{1,3})\s*号))"
                        r"(\d{1,3}|[一二三四五六七八九十]{1,3})\s*(?:项|个|号)"
                        r"(?![^，。,.\n]{0,12}[?？吗])")
# 清单发一下看看，有哪些服务可以点: asking for the menu, however long the rest.
_MENU_ASK = re.compile(r"(?:发一下|发下|发个|发我|发来|看看|看一下|给我看|来一份|有哪些|有什么)")
_ADMIN_NAMES = {"帮助": "help", "专家": "experts", "指派": "assign", "改派": "reassign",
                "关闭": "close", "统计": "stats", "导出": "export", "提醒": "remind",
                "案例": "case",
                "清单": "menu", "管理员": "admins", "设置": "settings"}
_HELP_STRIP = re.compile(r"^(?:请问|你好|您好|哈喽|hi|Hi|hello)[,，!！\s]*|[?？!！。.~\s]+$")


def _admin(body: str, start: int) -> Command:
    parts = body[1:].split()
    if not parts:
        return Command("admin", command="", rest_start=start)
    name = parts[0].lower()
    return Command("admin", command=_ADMIN_NAMES.get(name, name), args=tuple(parts[1:]),
                   rest=body[1 + len(parts[0]):].strip(), rest_start=start)


def is_help(body: str) -> bool:
    """Whether the message asks how to use the bot."""
    stripped = body.strip()
    if stripped in ("?", "？"):
        return True
    core = _HELP_STRIP.sub("", stripped)
    if core.lower() in _help_words():
        return True
    return len(core) <= 20 and any(p in core for p in words("help", "phrases"))


@cache
def _help_words() -> frozenset[str]:
    """The exact ways of asking for help, lower-cased."""
    return frozenset(w.lower() for w in words("help", "exact"))


def _numbered(text: str, off: int) -> Command | None:
    """6号单什么情况了 (query), 7号单不用了 (cancel): a message that starts with an order."""
    for pattern, intent in ((_WITHDRAW, "cancel"), (_STATUS, "query"), (_WHEN, "query")):
        m = pattern.match(text)
        no = cn_int(m.group(1)) if m else None
        if m and no:
            rest = text[m.end():].strip(" ,，:：;；")
            return Command(intent, no, rest if intent == "cancel" else "", off + m.end())
    return None


def read_command(body: str) -> Command | None:
    """The command a message gives, or None when it is not one (then it may be a request)."""
    if body.startswith(("/", "／")):
        return _admin(body, 0)
    lead = _LEAD.match(body)
    off = lead.end() if lead and lead.end() < len(body) else 0
    text = body[off:]
    if _BARE_CLAIM.match(text):
        return Command("claim")
    m = _NUMBER_FIRST_CLAIM.match(text)
    if m:
        return Command("claim", int(m.group(1)))
    if _MY.match(text):
        return Command("my_orders")
    trailing = _TRAILING.search(text)
    if trailing and cn_int(trailing.group(2)):
        intent = "assist" if trailing.group(1) == "协助" else "claim"
        return Command(intent, cn_int(trailing.group(2)))
    numbered = _numbered(text, off)
    if numbered is not None:
        return numbered
    status = _MY_STATUS.match(text)
    if (status and _MY_HINT.search(text) and not _THEIRS.search(status.group())) or (
            _MY_WHERE.match(text)):
        return Command("my_orders")
    if _OPEN.match(text):
        return Command("open_orders")
    if is_help(body):
        return Command("help")
    mo = _MENU_ORDER.match(text) or _MENU_ITEM.match(text)
    if mo:
        rest = text[mo.end():].strip(" ,，:：")
        return Command("menu_order", menu_no=cn_int(mo.group(1)), rest=rest,
                       rest_start=off + mo.end())
    mm = _MENU.match(text)
    if mm and (not mm.group(1) or len(mm.group(1)) <= 12 or _MENU_ASK.match(mm.group(1))):
        return Command("menu", rest=mm.group(1).strip(), rest_start=off + mm.start(1))
    k = _KW_RE.match(text)
    if not k:
        return None
    kw, intent = k.group(), _KEYWORDS[k.group()]
    n = _NUMBER.match(text, k.end())
    no = cn_int(n.group(1)) if n else None
    if n and no is not None:
        rest_at = n.end()
        return Command(intent, no, text[rest_at:].strip(" ,，:：;；"), off + rest_at)
    after = text[k.end():k.end() + 1]
    if kw in _NEED_NUMBER or intent not in _BARE_OK:
        return None
    if after == "" or after in " :：,，\n!！。" or (intent == "claim" and after in "了啦"):
        rest = text[k.end():].strip(" ,，:：;；!！。")
        return Command(intent, None, rest, off + k.end())
    return None
