"""Is a plain message a request for a service? Certain, no, or unsure (then the bot asks)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from bot.text.lexicon import taxonomy, words
from bot.text.people import name_at, name_near_phone
from bot.text.phones import find_phones

_QUESTION = re.compile(r"[?？]|吗|么$|呢$")
_GREETING_ONLY = re.compile(
    r"^(?:各位|大家|老师们|师傅们|领导)?(?:你好|您好|好|早上好|上午好|下午好|晚上好|早|早安|晚安|在吗|在不在|"
    r"有人吗|hi|hello|哈喽)[啊呀哈~!！。.,，\s]*$",
    re.I,
)


# A mobile or landline number left for a call back (the text is already normalised).
_CONTACT_NUMBER = re.compile(
    r"(?<![\d.])(?:(?:\+?86)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}|0\d{2,3}[\s-]?\d{7,8})(?![\d.])"
)

_CONTACT_CUE = re.compile(r"联系人|对接人|联络人")
# How to order: 怎么点单, 点单怎么写 (a question, or a short message saying only that).
_HOW_TO_ORDER = (r"(?:怎么|如何|怎样|咋)(?:点单|下单)"
                 r"|点单(?:要|该|应该|得)?(?:怎么|如何|咋)(?:点|弄|写|下|发)")
# A question about the service itself: 点单是免费的吗？ 点单要收费吗？ 求助需要什么材料？
_ABOUT_SERVICE = re.compile(
    r"(?:点单|求助)(?:是|要不要|需不需要|需要|要|收费|免费|有没有|能不能|可以|的流程|的规则|有什么"
    r"|之后|以后|了以后|了之后|完|一般|多久)"
    r"[^，。,.!！]{0,16}[?？吗]"
    r"|(?:怎么|如何|怎样)(?:取消|撤销|撤回|修改|改)(?:点单|订单|点的单)"
    # 这个月还能点单吗？ 以后也可以在这里点单吗？ 点单的时候要不要写全称？
    r"|(?:还能|能不能|可不可以|也可以|也能|可以|能)(?:在这里|在群里|在这儿)?点单[^，。,.!！]{0,10}"
    r"(?:吗|[?？])"
    r"|点单的?时候[^。!！]{0,24}(?:吗|[?？])"
    r"|点单[^。!！]{0,8}(?:不知道怎么写|不会写|怎么写)|教教我"
    # 怎么点单？ 点单怎么点？ 请问如何下单啊: how to order (not 不知道怎么点单，我们厂…)
    r"|(?:" + _HOW_TO_ORDER + r")[^，。,.!！?？]{0,6}(?:[?？吗呀啊呢]|$)"
    # 一般提前多久点单比较好？
    r"|(?:提前多久|多久|什么时候|何时)(?:来)?点单[^。!！]{0,10}(?:吗|[?？]|好)"
    # 专家来厂里服务时出了事故谁负责？ 服务队收不收费？
    r"|(?:专家|服务队|志愿者)[^。？?]{0,16}(?:谁负责|谁承担|怎么收费|收不收费|要不要钱|怎么算)"
    # 这个月的点单截止到什么时候？ 点单几号截止？ when ordering closes
    r"|点单[^，。,.!！?？]{0,6}(?:截止|截至|结束|关闭|开放)[^。!！]{0,10}(?:吗|[?？]|什么时候|几号|哪天)"
    # 如果我们厂想点单，需要先加入工会吗？ what ordering some day would take
    r"|(?:如果|假如|要是|假设|万一)[^。!！?？]{0,12}(?:点单|求助)[^。!！?？]{0,4}?[，,\s]*"
    r"(?:(?:需要|要|得|必须)先|需不需要|要不要|是不是(?:要|得|必须)|有什么(?:要求|条件|手续)"
    r"|(?:需要|要)(?:什么|哪些)(?:材料|条件|手续)|收费|收不收|要钱)[^。!！]{0,16}(?:吗|[?？])")
# 到时候再点单, 回头再说: an order some other day, not now.
_NOT_YET = re.compile(r"(?:到时候|回头|等[^，。,.]{1,12}(?:再|后再)|以后|明年|下次|改天|节后|年后)"
                      r"(?:还要|还会|再)?[^，。,.!！?？]{0,2}(?:点单|说|联系|找你们|报)"
                      r"|不(?:重复|再|用|必)?点单|就不麻烦了|先问问"
                      # 以后有机会再请专家来讲讲: some day, not now
                      r"|以后有机会再|有机会再请")
# A worker's own trouble at work asked about (wages held back, no leaving certificate, unpaid
# overtime, an injury and its costs): a need of their own, answered by the union's lawyers.
_OWN_TROUBLE = re.compile(
    r"(?:工资|欠薪|结不了账|不给结|拖欠|离职证明|加班费|加班只给|工伤|摔了|摔伤|受伤|医药费|赔偿|"
    r"补偿|辞退|开除|劳动合同|社保|五险)[^。!！]{0,30}?(?:怎么办|合法吗|合理吗|谁出|谁负责|"
    r"怎么才能|怎么要|能要回|该找谁|找谁|能不能|可以吗|有用吗)")
_AT_OTHER = re.compile(r"^\s*@")  # said to another member of the group
# 那个不用了: withdrawing an earlier ask.
_NO_NEED = re.compile(r"不用了|不需要了|不麻烦了")
# …年后再说，先挂个单: an order placed now for later.
# 点单一份红烧肉: a joke about a restaurant.
_JOKE = re.compile(r"点单?一份|来一份")
_NOW_ORDER = re.compile(r"先挂个?单|先报个?单|先登记")
# Placeholders of a format to copy (我们是XX厂，XX设备坏了，联系人X经理).
_PLACEHOLDERS = re.compile(r"[XxＸ]{2,}|某某")
# 陈师傅明天上午九点到厂里，…: an expert coming is news, not a request.
_ARRIVAL = re.compile(
    r"^[\u4e00-\u9fff]{1,3}(?:师傅|老师|专家|工|经理)(?:今天|明天|后天|下午|上午|晚上|马上|稍后|"
    r"[\u4e00-\u9fff\d:点半]{0,8})?(?:就|会|将)?(?:到厂|到你们|到现场|到公司|到车间|上门|过去|出发)")
# 你们那个热压的问题专家下午就到: the expert on the way, told to the client (not wished for).
_ON_THE_WAY = re.compile(
    r"(?:专家|师傅|老师|工程师)们?(?:今天|明天|后天|今晚|马上|稍后|待会儿?|一会儿?|等会儿?)?"
    r"(?:上午|下午|中午|傍晚|晚上)?(?:\d{1,2}|[一二三四五六七八九十两]{1,3})?(?:点半?|点钟)?(?:左右)?"
    r"(?:就|会|将)(?:能)?(?:到|过去|过来|上门|出发)(?![^，。,.!！?？]*(?:吗|[?？]))")
_WISH = re.compile(r"希望|能不能|能否|可不可以|可否|请|让|最好|争取|要求|需要|盼|想")
_CLAUSE_MARK = re.compile(r"[，,。.!！?？；;]")


def _expert_on_the_way(text: str) -> bool:
    """An expert said to be coming (专家下午就到), not asked or wished for in the same clause."""
    for m in _ON_THE_WAY.finditer(text):
        marks = [c.end() for c in _CLAUSE_MARK.finditer(text, 0, m.start())]
        if not _WISH.search(text, marks[-1] if marks else 0, m.start()):
            return True
    return False


# A bare 点单 (【点单】, 点单：) with nothing after it: ask what the problem is.
_BARE = re.compile(r"^[\s#【\[]*(?:我|我们)?(?:要|想|想要|需要)?"
                   r"(?:点单|点个单|下单|报单|求助)(?:一下)?[】\]]?[\s:：,，。.!！~]*$")
# "谢谢！另外还想请…": after thanks or status talk, a word that starts a new matter.
_LATER = re.compile(r"另外|还有|还想|再请|顺便|此外|但是|不过|说正事|言归正传|对了|再点"
                    r"|(?:这次|现在)?又(?:碰到|遇到|出了)|新情况|新问题|另一个问题")


# 以后有机会还想请您来: a wish for some day, not an order now.
_SOMEDAY = re.compile(r"以后|下次|有机会|将来|今后|改天")


# The sender speaks of their own workplace (a problem of theirs, not news about someone else).
_OWN = re.compile(r"我们|我厂|我司|我公司|我单位|厂里|车间|公司的|我家|家里|咱们|咱|本厂|本公司"
                  r"|我这|我叫|我在[\u4e00-\u9fff]{0,12}(?:上班|做|工作|干活|打工)")


@dataclass(frozen=True)
class RequestSignal:
    """How a plain message reads: as a request, as unsure, or as other."""

    is_request: bool
    unsure: bool
    strong: bool  # a 点单/求助 keyword was present
    bare: bool = False  # the keyword alone (点单): the bot asks what the problem is


@cache
def _category_words() -> tuple[str, ...]:
    cats, types = taxonomy()
    out = {k for c in cats for k in c.keywords if len(k) >= 2}
    out.update(k for t in types for k in t.keywords if len(k) >= 2)
    return tuple(out)


@cache
def _ask_patterns() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in words("request", "ask_regex")))


def _any(text: str, ws: tuple[str, ...]) -> bool:
    return any(w in text for w in ws)


def _asks(text: str) -> bool:
    return _any(text, words("request", "ask")) or bool(_ask_patterns().search(text))


def _notice(text: str) -> bool:
    """A notice word, other than in a phrase that makes no notice (整改通知 quoted in a
    request, 请各位帮忙看看 at the end of a forward)."""
    for w in words("request", "not_notice"):
        text = text.replace(w, " ")
    return _any(text, words("request", "notice"))


def has_strong_keyword(text: str) -> bool:
    """A 点单/求助 keyword (certain request), not in a how-to question."""
    return _any(text, words("request", "strong"))


_GREETING_LEAD = re.compile(
    r"^(?:各位|大家|老师们|师傅们|领导)?(?:你好|您好|好|早上好|上午好|下午好|晚上好)?(?:各位|大家)?"
    r"[啊呀~!！。.,，\s]*"
)


# A greeting that opens a longer message: 你好，/ 各位老师好，/ 大家好，我是… / Hello 各位，
_OPENING_GREETING = re.compile(
    r"^(?:(?:各位|大家|老师们|师傅们|领导们?)?(?:老师|师傅|专家|领导)?(?:你们?好|您好|早上好|上午好|"
    r"中午好|下午好|晚上好)|(?:各位|大家)(?:老师|师傅|专家|领导)?(?:们)?好|(?:老师|师傅|专家)们?好|"
    # voice input runs on without a mark: 你好我这边是… (not 你好像…)
    r"hi|hello|哈喽|嗨)\s*(?:各位|大家)?(?:老师|师傅|专家|领导)?(?:们)?"
    r"(?:[啊呀~!！。.,，、\s]+|(?!像)(?=[\u4e00-\u9fff]))",
    re.I,
)


def strip_greeting(text: str) -> str:
    """The message without an opening greeting (the whole text when nothing follows it)."""
    m = _OPENING_GREETING.match(text)
    return text[m.end():] if m and m.end() < len(text) else text


def _thanks_close(text: str, asks: list[str], thanks: tuple[str, ...]) -> bool:
    """Thanks that only close a request (…想请专家来看看，谢谢！) come after the first ask."""
    ask_at = [text.find(w) for w in asks]
    m = _ask_patterns().search(text)
    if m:
        ask_at.append(m.start())
    if not ask_at:
        return False
    first_ask = min(ask_at)
    return all(text.find(w) > first_ask for w in thanks if w in text)


def opens_as_order(text: str) -> bool:
    """The message opens with 点单/【点单】/#点单/求助 (after a greeting): certainly an order."""
    m = _GREETING_LEAD.match(text)
    rest = text[m.end():] if m else text
    opening = next((w for w in words("request", "opening") if rest.startswith(w)), None)
    # 点单的流程…, 点单了吗, 求助帖看到了: the word as a topic, not as the start of an order
    return opening is not None and rest[len(opening):len(opening) + 1] not in (
        "的", "了", "过", "帖", "贴") and not _AS_TOPIC.match(rest)


# 求助帖, 点单信息: the keyword names a post someone else made.
_AS_TOPIC = re.compile(r"(?:点单|求助)(?:帖|贴|信息|消息|的那家|那家)"
                       # 今年点单特别多, 点单量: the orders counted, not one placed
                       r"|点单(?:特别|很|比较|越来越|不)?(?:多|少)|点单(?:数|量|数量)"
                       # 这个月点单的企业好多啊: those who order, counted
                       r"|点单的(?:企业|单位|厂家?|公司|人|职工)(?:们)?(?:真|很|太|好|特别|越来越|挺|也|可)?"
                       r"(?:多|少|不少)"
                       # 工会这个点单服务真的实用: the service spoken of
                       r"|这个点单(?:服务|功能)?|点单(?:服务|功能)(?:真|很|太|挺|特别|非常)")
# Said of a visit or order in the past (上礼拜来我们厂的师傅…): no ask for now.
_PAST_BEFORE = re.compile(r"(?:上次|上回|上个?礼拜|上个?星期|上周|上个月|前几天|前天|昨天|去年"
                          r"|之前)[^，。,.!！?？\s]{0,3}$")
# The matter is settled (…一指导就好了, 氨氮降下来了): with thanks, a report, not an order.
_SOLVED = re.compile(r"(?:解决了|就好了|修好了|降下来了|恢复正常了|正常了|搞定了|没问题了)")
# Asking for something now (beside thanks and a settled matter, it is still a request).
_ASK_NOW = re.compile(r"想请|想找|能不能|能否|有没有|麻烦|帮忙|需要|请.{0,8}来|再请|还想")


# 想问下工会的金融专家, 找心理老师聊聊: asking an expert, talking a matter over with one.
_ASK_EXPERT = re.compile(
    r"(?:想|要|能不能|可以|帮我|请)问(?:下|一下|问)?[^，。,.!?！？；;\s]{0,6}?(专家|律师|医生|老师|师傅)"
    r"|(专家|律师|医生|老师|师傅)(?:聊聊|聊一聊|谈谈|谈一谈|咨询一下|咨询咨询)")


def _asks_an_expert(text: str) -> bool:
    """Asking an expert of a trade, not a member by name (想问下张师傅，上次… is a question)."""
    for m in _ASK_EXPERT.finditer(text):
        g = 1 if m.group(1) else 2
        start, end = m.start(g), m.end(g)
        if not any(name_at(text, i, strong=False) == text[i:end]
                   for i in (start - 1, start - 2) if i >= 0):
            return True
    return False


def _asks_now(text: str) -> list[str]:
    """The ask words of the text, leaving out those said of the past (上礼拜来我们厂的…)."""
    found = []
    for w in words("request", "ask"):
        at = [m.start() for m in re.finditer(re.escape(w), text)]
        if any(not _PAST_BEFORE.search(text, max(0, i - 8), i) for i in at):
            found.append(w)
    return found


_FORWARDED = re.compile(r"^\s*(?:(?:转发|转自)[^:：\n]{0,12}[:：]|【转(?:发|自)[^】]{0,8}】)"
                        r"\s*[“\"「]?")
# "在吗，我们这边…": a call for attention before the message itself (before an @-mention it is
# part of the mention prefix, see `normalize.mention_prefix`).
_CALL = re.compile(r"^\s*(?:在吗|在不在|有人吗)[\s,，!！?？~。]*")
# Thanks or news about an order placed before: 上次点单的那个问题已经解决了.
_PAST_ORDER = re.compile(r"(?:上次|之前|上回|前几天|上周|上个月|前阵子)[^，。,.]{0,6}点(?:单|的)")


# 「点单：…」这个问题我们厂也碰到过…: someone else's order quoted, then a comment on it.
_QUOTED_ORDER = re.compile(r"^\s*[「“\"『]([^」”\"』]{4,})[」”\"』]\s*")
# 那个热流道的单子还没人接: chasing an order already placed.
_CHASING = re.compile(r"(?:那个|这个|的|我们的?)(?:单子?|点单)(?:还|一直|怎么还|咋还|到现在)?"
                      r"没(?:有)?人(?:接|理|管)")
# 站长说还想请我们再去: the one asked is the writer (an expert's report), not an ask of ours.
_INVITES_US = re.compile(r"(?:请|叫|让|邀请|约)我们")


def classify(body: str) -> RequestSignal:
    """Read a message that is not a command. A forwarded message (转发：…) is read as what it
    forwards: an enterprise's request passed on by someone else is still a request."""
    forwarded = _FORWARDED.match(body)
    if forwarded:
        inner = classify(body[forwarded.end():])
        if inner.is_request:
            return inner
    call = _CALL.match(body)
    if call and call.end() < len(body.rstrip()):
        return classify(body[call.end():])
    quoted = _QUOTED_ORDER.match(body)
    if quoted and has_strong_keyword(quoted.group(1)):
        return classify(body[quoted.end():])  # what the writer adds is what counts
    text = body.strip()
    if not text or not re.search(r"[\u4e00-\u9fffA-Za-z]", text):
        return RequestSignal(False, False, False)
    how_to = len(text) <= 20 and re.search(_HOW_TO_ORDER, text)  # 怎么点单，谁能教一下
    if _ABOUT_SERVICE.search(text) or how_to or _ARRIVAL.search(text) or (
            _expert_on_the_way(text) and not has_strong_keyword(text)):  # how it works; on the way
        return RequestSignal(False, False, False)
    if _NO_NEED.search(text) and (_SOLVED.search(text) or "自己" in text):
        return RequestSignal(False, False, False)  # 那个不用了，我们自己…就好了
    if (_NOT_YET.search(text) and not _NOW_ORDER.search(text)) or len(
            _PLACEHOLDERS.findall(text)) >= 2 or _any(text, words("request", "advice")) or (
            _JOKE.search(text)):
        return RequestSignal(False, False, False)  # some other day; a format; advice
    if _CHASING.search(text):
        return RequestSignal(False, False, False)  # an order placed already, not a new one
    if _BARE.match(text):  # 点单 alone: nothing to order yet
        return RequestSignal(False, False, False, bare=True)
    if opens_as_order(text):
        return RequestSignal(True, False, True)
    if _GREETING_ONLY.match(text):
        return RequestSignal(False, False, False)
    if _notice(text):
        return RequestSignal(False, False, False)
    if has_strong_keyword(_AS_TOPIC.sub(" ", text)):
        if _PAST_ORDER.search(text) and (_any(text, words("request", "thanks")) or _any(
                text, words("request", "chatter"))) and not _LATER.search(text):
            return RequestSignal(False, False, False)  # thanks for an earlier order
        return RequestSignal(True, False, True)
    asks = _asks_now(text)
    ask = bool(asks) or bool(_ask_patterns().search(text)) or _asks_an_expert(text)
    rest = text
    for w in asks:
        rest = rest.replace(w, " ")
    need = _any(rest, words("request", "problem")) or _any(rest, _category_words())
    thank_words = words("request", "thanks")
    thanks = _any(text, thank_words)
    if thanks and _SOLVED.search(text) and not _ASK_NOW.search(text) and not _LATER.search(text):
        return RequestSignal(False, False, False)  # thanks for a matter settled
    acks = words("request", "acks")
    opened = strip_greeting(text)
    chatter = _any(text, words("request", "chatter")) or opened.startswith(acks) or (
        len(text) <= 12 and _any(text, acks))
    if thanks and not chatter and ask and need and _thanks_close(text, asks, thank_words):
        return RequestSignal(True, False, False)
    if thanks or chatter:
        # "谢谢！另外还想请…" is still a request; plain thanks and status talk are not.
        later = _LATER.search(text)
        someday = later and _SOMEDAY.search(text[max(0, later.start() - 6):later.start()])
        if (later and need and not someday and _asks(text[later.start():])
                and not _INVITES_US.search(text, later.start())):
            return RequestSignal(True, False, False)
        return RequestSignal(False, bool(ask and need and len(text) > 30), False)
    if ask and need:
        return RequestSignal(True, False, False)
    if _OWN_TROUBLE.search(text) and not _AT_OTHER.match(text):
        return RequestSignal(True, False, False)  # a worker's own matter, however put
    leaves_number = len(text) >= 15 and (bool(_CONTACT_NUMBER.search(text)) or any(
        p.kind in ("mobile", "landline", "hotline") for p in find_phones(text)))  # also read out
    own = bool(_OWN.search(text)) or any(name_near_phone(text, p) for p in find_phones(text))
    if leaves_number and (ask or (need and own) or (len(text) >= 20 and _CONTACT_CUE.search(text))):
        # Asking (or naming a problem) and leaving a number to call back: an order.
        return RequestSignal(True, False, False)
    if need and (_QUESTION.search(text) or len(text) >= 6):
        return RequestSignal(False, True, False)
    if ask and len(text) >= 4:
        return RequestSignal(False, True, False)
    return RequestSignal(False, False, False)
