"""Enterprise names in a message: X有限公司, X厂, X合作社, or a description (德清一家钢构企业)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from bot.text.form import LABELS
from bot.text.lexicon import taxonomy, words
from bot.text.org_places import ends_in_place, places_re, registered_after_place, with_place
from bot.text.people import name_at
from bot.text.workplace import works_there

_NAME_CHAR = r"[\u4e00-\u9fffA-Za-z0-9()（）&·]"
# Words after which a name starts: 我们是|来自 X有限公司.
_LEFT_STOPS = ("我们是", "我们这", "我是", "这里是", "这边是", "本人是", "来自", "位于", "地处",
               "我们",
               "咱们", "我司", "本厂", "我厂", "点单", "求助", "你好", "您好", "大家好", "各位好",
               "联系", "对接", "服务", "需要", "想请", "希望", "请问", "是", "在", "的", "给", "帮",
               "请", "到", "去", "替", "向", "为", "叫",
               # a place phrase before the name: 定海白泉那边舟山海鑫水产冷冻有限公司
               "那边", "这边", "那块", "这块", "一带", "附近")
# A name never ends with these before the suffix (来厂 is a visit, 工厂 a generic word).
_BAD_BEFORE_SUFFIX = set("来到去进出回本我全该此各在驻离返开办建工停建搬你他这那贵审验")
# After the suffix these make it another word (厂房, 厂里, 公司里的, 中心线).
_BAD_AFTER = {"厂": set("房里区长家内外门子方商址矿务休"), "中心": set("线距孔轴小中幼"),
              "店": set("里面铺员长口镇乡村街路"), "基地": set("里"), "社区": set("里居"),
              "集团": set("有股")}
_GENERIC_NAMES = {"一家", "一个", "这家", "那家", "某", "这个", "那个", "本", "该", "贵", "我们",
                  "小", "大", "分", "总", "老", "新", "门", "网", "商", "加工", "数据", "服务",
                  "工",
                  "合作", "有限", "车削", "铣削", "我", "你", "他", "各", "每", "这", "那", "哪",
                  "哪家", "哪个", "其他", "别的", "同一", "专业", "正规", "本地", "当地", "附近",
                  "家庭"}

@cache
def _descriptive() -> re.Pattern[str]:
    """一家/某/这家 + what it is (up to 14 characters) + a kind of firm (lex_parse.toml)."""
    kinds = sorted(words("fields", "org_generic"), key=len, reverse=True)
    return re.compile(
        r"(一家|一个|某|这家|一所|一座|一间|一处|那个|这个)"
        r"((?:(?!我|是|在|一家|一个)[\u4e00-\u9fffA-Za-z0-9]){0,14}?)"
        r"(" + "|".join(map(re.escape, kinds)) + r"|企(?!业)|[猪鸡鸭牛羊蛙虾蟹鱼茶果菜花]场)"
        r"(?![房里区长家内])"
    )


_MORE_SUFFIX = re.compile(r"(?:专业合作社|合作社|有限公司|公司|企业|集团)")
_FULLER = set("有公集厂股(（")  # after 纸业/工贸, the start of a longer legal name
# 我们是…的小厂，叫顺达五金: the name given after the description.
_CALLED = re.compile(r"(?:厂|公司|企业|作坊|工厂|场|社|店)[,，]?\s*(?:名字|名)?叫\s*"
                     r"([\u4e00-\u9fffA-Za-z0-9]{2,12}?)(?=[\s,，。.!！;；]|$)")
_CALLED_RUN = re.compile(r"(?:厂|公司|企业|作坊|工厂|场|社|店)(?:名字|名)?叫"
                         r"([\u4e00-\u9fffA-Za-z0-9]{2,12})")
# Separators around a name set off by spaces (温岭泽国 新锐泵业 林师傅 139…).
_TOKEN = re.compile(r"\S+")
_SEGMENT = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")
_FIELD_WORD = re.compile(r"联系|电话|手机|负责|对接|联络|地址|地点|时间|工会|微信|邮箱")
_PUNCT_TAIL = re.compile(r"[^,，。.!！?？;；:：、)）(（【】\[\]#]*$")
_INTRO = re.compile(
    r"(?:我是|我们是|这里是|这边是|来自|我司是|本单位是|单位是|我们单位是|我们公司是)"
)


@cache
def _suffix_re() -> re.Pattern[str]:
    sufs = sorted(words("fields", "org_suffixes"), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, sufs)))


@cache
def _trade_re() -> re.Pattern[str]:
    trades = sorted(words("fields", "org_trades"), key=len, reverse=True)
    return re.compile(
        r"(?:" + _INTRO.pattern + r"|我们(?:公司|厂)?(?!是))"
        r"\s*([\u4e00-\u9fffA-Za-z0-9]{2,10}?(?:" + "|".join(trades) + r"))"
        r"(?=[\s,，。.!！;；、的在那这有最]|$)"  # 我们森达木业在嘉善, 我们孙氏纸业那台…
    )


# 做小家电的宏瑞电器: a trade name after what the firm makes.
@cache
def _maker_name_re() -> re.Pattern[str]:
    trades = sorted(words("fields", "org_trades"), key=len, reverse=True)
    return re.compile(r"(?:做|生产|搞)[\u4e00-\u9fff]{1,8}?的([\u4e00-\u9fff]{2,4}?(?:"
                      + "|".join(trades) + r"))")


# 塘栖做枇杷膏的小作坊: a place, what it makes, and the kind of firm.
_MAKER_DESC = re.compile(r"(?:^|(?<=[^\u4e00-\u9fff]))((?:(?![我们是在的])[\u4e00-\u9fff]){2,6}?"
                         r"(?:做|生产)[\u4e00-\u9fff]{1,8}?的(?:小)?(?:作坊|工厂|厂|企业|公司|店))")


_PRONOUNS = ("我们", "咱们", "我司", "本厂", "我厂", "我")


@cache
def _generic_trades() -> frozenset[str]:
    cats, _ = taxonomy()
    out = set(words("fields", "org_trades"))
    out.update(k for c in cats for k in c.keywords)
    return frozenset(out)


def _cut_left(run: str) -> tuple[str, bool]:
    """Drop everything up to and including the last stop word of the run.

    Also says whether a pronoun (我们, 我司) came right before the rest: 我们食品厂 is no name.
    服务 right before the suffix belongs to the name (吉顺汽车销售服务有限公司).
    """
    best, pronoun = 0, False
    for w in _LEFT_STOPS:
        i = run.rfind(w)
        if w == "服务" and i >= 0 and i + len(w) == len(run):
            i = run.rfind(w, 0, i)
        if i >= 0 and i + len(w) >= best:
            if i + len(w) > best:
                pronoun = False
            best = i + len(w)
            pronoun = pronoun or w in _PRONOUNS
    return run[best:], pronoun


# 仙居杨梅基地旁边的鱼塘: a place named to find another, not the requester.
_LANDMARK = re.compile(r"(?:旁边|边上|附近|对面|隔壁|门口)(?:的|那)")


def find_enterprise(norm: str) -> str | None:
    """The enterprise the message names, or None (我司, 我们厂, 本公司 are not names).

    A union (富阳区总工会 forwarding a request) counts only when no firm is named; the place
    a worker works at (我在一家鞋厂上班) is no enterprise asking for a service.
    """
    union = None
    for name, start, end in _candidates(norm):
        if works_there(norm, start, end) or _LANDMARK.match(norm, end):
            continue
        if not name.endswith("工会"):
            return registered_after_place(name) or name
        union = union or name
    return union


_LEGAL = ("有限公司", "股份有限公司", "有限责任公司", "集团公司")
_NOT_CENTRES = ("加工", "车削", "铣削", "数据", "控制", "配送", "调度", "客服", "培训", "研发",
                "技术", "服务", "运营")  # 加工中心 is a machine, 调度中心 a department


def _candidates(norm: str) -> Iterator[tuple[str, int, int]]:
    """Every enterprise name the text gives, in the order the rules trust them."""
    for m in _suffix_re().finditer(norm):
        suffix = m.group()
        nxt = norm[m.end():m.end() + 1]
        if nxt and nxt in _BAD_AFTER.get(suffix, set()):
            continue
        if suffix == "厂" and norm[m.end():m.end() + 2] in ("家", "商"):
            continue
        if suffix.endswith(("业", "工贸", "家居")) and nxt and nxt in _FULLER:
            continue  # 立信纸业有限公司: the longer name follows
        left = m.start()
        while left > 0 and left > m.start() - 24 and re.match(_NAME_CHAR, norm[left - 1]):
            left -= 1
        raw = norm[left:m.start()]
        inner = re.split(r"[(（]", raw)[-1]
        if inner != raw and len(inner) >= 4 and suffix in _LEGAL and not re.search(
                r"[)）]", inner):  # …的一家耐火材料厂（长兴宏远耐火材料有限公司）
            yield norm[m.start() - len(inner):m.end()], m.start() - len(inner), m.end()
            continue
        run, pronoun = _cut_left(raw)
        if raw.endswith("的" + run) and any(g in raw for g in ("一家", "一个", "这家")):
            continue  # 一家核电配套的管件厂: the description below keeps all of it
        at = m.start() - len(run)
        placed = _kind_place(norm, at, run, suffix)
        if placed is not None:  # 安吉孝丰的竹木家具厂, 玉环楚门的阀门厂, 安吉溪龙的茶厂
            yield norm[placed:m.end()], placed, m.end()
            continue
        if pronoun and len(run) <= 3:
            continue
        if not run or run in _GENERIC_NAMES or any(c in run for c in "想要请找让需") or (
                run.startswith("个")):
            continue
        if run in _generic_trades():
            continue  # 模具厂, 食品公司: a kind of firm, not a name
        if suffix == "中心" and run.endswith(_NOT_CENTRES):
            continue
        if run[-1] in _BAD_BEFORE_SUFFIX and (len(suffix) == 1 or run[-1] in "来到去进回"):
            continue  # 来厂, 10天内来基地: a visit, not a name
        if run.startswith("某") or any(g in run for g in ("一家", "一个", "这家", "那家", "那个",
                                                          "这个")):
            continue  # a description, handled below
        if len(run) < 2 and suffix not in ("有限公司", "股份有限公司", "有限责任公司", "集团"):
            continue
        if re.fullmatch(r"[\dA-Za-z]+", run) and suffix in ("厂", "店", "中心"):
            continue  # 2号厂, 4S店
        if run.count("(") + run.count("（") > run.count(")") + run.count("）"):
            continue  # 乐主席(厂工会): a note in brackets, not a name
        if ends_in_place(norm, m.end()):
            continue  # 东阳横店: the suffix is part of a place name
        lead = places_re().match(run)
        if len(suffix) == 1 and lead and len(run) - lead.end() <= 1:
            continue  # 宁海西店: a town after its county, not a shop
        yield norm[at:m.end()], at, m.end()
    for m2 in _trade_re().finditer(norm):
        name = m2.group(1)
        if not name.startswith(("一", "某", "这", "那", "做", "搞", "从事")) and not any(
                w in name for w in ("的", "一家", "一个", "做", "搞", "就是", "是", "那", "这")):
            yield name, m2.start(1), m2.end(1)  # not 我们是永康一家做五金(的小厂)
    called = _called(norm)
    if called:
        yield called
    maker = _maker_name_re().search(norm)
    if maker and maker.group(1) not in _generic_trades():
        yield maker.group(1), maker.start(1), maker.end(1)
    made = _MAKER_DESC.search(norm)
    if made:
        yield made.group(1), made.start(1), made.end(1)
    alone = _name_alone(norm)
    if alone:
        yield alone
    spaced = _after_place(norm)
    if spaced:
        yield spaced, norm.find(spaced), norm.find(spaced) + len(spaced)
    for m3 in _descriptive().finditer(norm):
        start = with_place(norm, m3.start())
        if len(m3.group(2)) < 2 and start == m3.start():
            continue  # 一家小企业: a description only with a place (上虞区一家小企业)
        more = _MORE_SUFFIX.match(norm, m3.end())  # 一家农家乐合作社
        end = more.end() if more else m3.end()
        yield norm[start:end], start, end


def _kind_place(norm: str, at: int, run: str, suffix: str) -> int | None:
    """Where a kind of firm named with its place begins (安吉孝丰的竹木家具厂: a short run
    before 厂/社/店, not a registered 公司 name), or None when no place comes before 的."""
    if not (0 < len(run) <= 4 and at > 1 and norm[at - 1] == "的") or "公司" in suffix or (
            "集团" in suffix) or not re.fullmatch(r"[\u4e00-\u9fff]+", run):
        return None
    placed = with_place(norm, at)
    return placed if placed < at - 1 else None


def _called(norm: str) -> tuple[str, int, int] | None:
    """The name given after a description: 一家眼镜厂，叫明视光学 (a spoken message may run on:
    …叫明视光学老板让我问, so a trade word may end it)."""
    m = _CALLED.search(norm)
    if m and m.group(1) not in _GENERIC_NAMES and not set(m.group(1)) & set("想要请找让需我的"):
        return m.group(1), m.start(), m.end(1)
    m = _CALLED_RUN.search(norm)
    if not m:
        return None
    run = m.group(1)
    for end in range(len(run), 1, -1):
        if run[:end].endswith(_trade_ends()) and run[:end] not in _generic_trades():
            return run[:end], m.start(), m.start(1) + end
    return None


_CLAUSE = re.compile(r"[^,，。;；!！?？\n]+")


def _name_alone(norm: str) -> tuple[str, int, int] | None:
    """A trade name that is a clause of its own, maybe with its place in brackets after it:
    …，亮彩文具（宁海西店），下周五前."""
    for m in _CLAUSE.finditer(norm):
        clause = re.sub(r"[(（][^)）]{1,12}[)）]\s*$", "", m.group()).strip()
        if not 4 <= len(clause) <= 10 or not re.fullmatch(r"[\u4e00-\u9fff]+", clause):
            continue
        trade = next((t for t in _trade_ends() if clause.endswith(t)), None)
        head = clause[:-len(trade)] if trade else ""
        if trade and len(head) >= 2 and clause not in _generic_trades() and not any(
                c in clause for c in "想要请找让需的我叫做搞是在有个和"):
            at = m.start() + m.group().index(clause)
            return clause, at, at + len(clause)
    return None


@cache
def _trade_ends() -> tuple[str, ...]:
    return tuple(sorted(words("fields", "org_trades"), key=len, reverse=True))


def _after_place(norm: str) -> str | None:
    """A trade name set off by spaces right after a place and before a contact or a phone
    number: 温岭泽国 新锐泵业 林师傅, 宁海 东方模塑 139…, 路桥区 精科机械 联系人柯主任."""
    places, trades = places_re(), _trade_ends()
    for found in _SEGMENT.finditer(norm):  # 永康古山镇金拓五金 老黄 135…: the place in the name
        seg = found.group()
        lead = places.match(seg)
        if lead and 2 <= len(seg) - lead.end() <= 8 and seg.endswith(trades) and not any(
                c in seg for c in "想要请找让需的我叫"):
            return seg
    tokens = [(m.group(), m.start()) for m in _TOKEN.finditer(norm)]
    for k in range(1, len(tokens)):
        name = re.split(r"[,，。.;；:：!！?？、]", tokens[k][0], maxsplit=1)[0]
        prev = _PUNCT_TAIL.search(tokens[k - 1][0])
        if not prev or not prev.group() or not places.fullmatch(prev.group()):
            continue
        if not 3 <= len(name) <= 12 or not re.fullmatch(r"[\u4e00-\u9fffA-Za-z0-9]+", name):
            continue
        if places.fullmatch(name) or name in _generic_trades() or any(
                c in name for c in "想要请找让需的我叫") or _FIELD_WORD.match(name):
            continue  # a place, a kind of firm, a request, or 联系人 老卢
        if name.endswith(trades):
            return name  # 东方模塑, even where 东方 could start a person's name
        nxt = tokens[k + 1][0] if k + 1 < len(tokens) else ""
        contact_next = bool(re.match(r"(?:\d{3}|联系|电话|手机|工会)", nxt)) or bool(
            nxt and name_at(nxt, 0, strong=True))
        if contact_next and name_at(name, 0, strong=True) != name:  # not 宁海 王经理 139…
            return name
    return None


def form_enterprise(value: str) -> str | None:
    """The name in a form's 单位 field: up to a clause mark, after any places set off by
    spaces (单位：海盐县 澉浦镇 恒鑫紧固件有限公司); None for an empty field."""
    head = re.split(r"[,，。;；!！?？、(（]", value, maxsplit=1)[0]
    tokens = head.split()
    while len(tokens) > 1 and places_re().fullmatch(tokens[0]):
        tokens.pop(0)
    name = tokens[0][:40] if tokens else ""
    return (registered_after_place(name) or name) if name and name not in LABELS else None
