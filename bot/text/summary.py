"""One-line summary of a request: the problem, without phones, contact and deadline boilerplate."""

from __future__ import annotations

import re
from functools import cache

from bot.text.lexicon import words
from bot.text.normalize import normalize
from bot.text.phones import find_phones

MAX_SUMMARY = 60

_CLAUSE_SPLIT = re.compile(r"[,，。；;！!？?\n]+")
# An @-mention left in the text (点单：@匠心点单 …), not an e-mail address.
_MENTION = re.compile(r"(?<![A-Za-z0-9._%+-])@[^\s,，。:：]+\s*")
# What the sender does, said before the problem: 我们公司主要做钢结构, 我们合作社主要种白茶.
_BUSINESS = re.compile(r"^(?:我们|我司|本|公司|厂里|单位)?[\u4e00-\u9fff]{0,4}?"
                       r"(?:主要|主营|专业|一直)(?:是|在)?(?:做|生产|从事|经营|种|养|加工|搞|制造|销售)")
_FILLER = re.compile(r"最好|希望|务必|请于|请在|争取|最晚|最迟|要求|能否|能|可以|之前|以前"
                     r"|之内|以内|截止|为止|完成|搞定|到位|安排|上门|过来|[前内在于来吧啊哦呢~\s]")
_CLAUSE_MARK = "，,。；;！!？?\n"


@cache
def _opening() -> re.Pattern[str]:
    """点单：, 【求助】, an input slip such as 点但：, after any @-mentions."""
    keys = sorted(words("request", "opening"), key=len, reverse=True)
    return re.compile(r"^\s*(?:@\S+\s+)*(?:" + "|".join(map(re.escape, keys)) + r")\s*[:：]?\s*")


@cache
def _greeting() -> re.Pattern[str]:
    said = sorted(words("summary", "greetings"), key=len, reverse=True)
    return re.compile(r"^(?:(?:" + "|".join(map(re.escape, said)) + r")[啊呀~！!。.,，\s]*)+")


def time_clause(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The clause the deadline at text[start:end] makes on its own (下周三前, 希望月底前能来),
    which the order's 期限 line says; None when it is part of the ask (请师傅明天上午来厂指导)."""
    for marks in (_CLAUSE_MARK, _CLAUSE_MARK + " "):  # voice input: 配电柜跳闸 下周三前 …
        left = max((text.rfind(c, 0, start) for c in marks), default=-1) + 1
        ends = [i for i in (text.find(c, end) for c in marks) if i >= 0]
        right = min(ends, default=len(text))
        if len(_FILLER.sub("", text[left:start] + text[end:right])) <= 2:
            return left, right
    return None
_DROP_CLAUSE = re.compile(
    r"^(?:你好|您好|大家好|各位好|各位老师好|各位师傅好|谢谢|麻烦了|麻烦大家了|辛苦了|感谢|多谢|急|急急急|"
    r"在吗|打扰了|拜托了|谢谢大家|先谢谢了|万分感谢)[啊呀~！!。.\s]*$"
)
_BOILER = re.compile(
    r"(?:联系人|对接人|负责人|联系电话|联系方式|电话|手机号?|座机|微信同号|微信|联系|请联系|可联系|"
    r"期望时间|希望时间|时间|地点|地址|单位|企业)\s*[:：]?\s*$"
)
# A note in brackets beside a phone number: （微信同号）, (同微信), （手机）.
_CONTACT_NOTE = re.compile(
    r"[（(【\[]\s*(?:微信同号|同微信|微信同步|可加微信|加微信|手机|座机|电话|办公室|24小时)\s*[)）】\]]")
_INTRO = re.compile(r"^(?:我们是|我是|这里是|这边是|我司是|本单位是|我们单位是|我们公司是|来自)")
_DEADLINE_WORDS = re.compile(r"(?:最好|希望|务必|请于|请在|争取|最晚|最迟|要求)?\s*$")


def problem_text(original: str, norm: str, drop: list[tuple[int, int]], problem: str | None,
                 enterprise: str | None = None) -> str | None:
    """The problem told in `original` (same positions as `norm`) with the spans in `drop`
    removed, and the opening, greetings and contact boilerplate left out; a form's problem
    field, when given, is the problem. `clip_summary` makes the one-line summary of it."""
    if problem:
        found = find_phones(normalize(problem))
        if not found:
            return problem
        # 需求：…联系电话 0576-… : the field ran on into the contact line
        return problem_text(problem, normalize(problem), [(p.start, p.end) for p in found],
                            None, enterprise)
    chars = list(original)
    for start, end in drop:
        for i in range(max(0, start), min(end, len(chars))):
            chars[i] = "\x00"
    text = _CONTACT_NOTE.sub(lambda m: "\x00" * len(m.group()), "".join(chars))
    m = _opening().match(norm)
    if m:
        text = text[m.end():]
    text = _MENTION.sub("", text)
    kept: list[str] = []
    for raw in _CLAUSE_SPLIT.split(text):
        pieces = [p for p in raw.split("\x00")]
        clause = "".join(_strip_boiler(p) for p in pieces).strip(" :：、-—")
        clause = re.sub(r"\s+", " ", clause)
        if not kept:
            clause = _greeting().sub("", clause).strip(" :：、-—")
        if not clause or _DROP_CLAUSE.match(clause) or len(clause) < 2:
            continue
        intro = _INTRO.match(clause)
        if intro and not kept and " " in clause[intro.end():]:
            clause = clause[clause.index(" ", intro.end()):].strip()  # voice: 我们是X厂 模具…
        elif intro and not kept and len(clause) <= 24:
            continue
        if _BUSINESS.match(clause) and not _asks(clause):
            continue
        if enterprise and clause.replace(enterprise, "").strip() in ("", "的", "这边", "这里"):
            continue
        at = clause.find(enterprise) if enterprise else -1
        end = at + len(enterprise or "")
        intro = _INTRO.match(clause)
        if 0 <= at <= 10 and (at == 0 or clause[at - 1] == " " or (intro and intro.end() == at)) \
                and clause[end:end + 1] == " ":
            clause = clause[end:].strip()  # 温岭泽国 锐鑫机电 铝合金支架…: the firm set off first
        kept.append(clause)
    if not kept:
        return None
    return "，".join(kept)


def _asks(clause: str) -> bool:
    return any(w in clause for w in ("想请", "请", "帮", "需要", "希望", "问题", "故障", "不会"))


def _strip_boiler(piece: str) -> str:
    piece = _BOILER.sub("", piece)
    return _DEADLINE_WORDS.sub("", piece) if piece.endswith(("最好", "希望", "务必")) else piece


def clip_summary(text: str) -> str:
    """The one-line summary: the problem cut at a comma near MAX_SUMMARY characters."""
    text = re.sub(r"\s+", " ", text).strip(" ，,。")
    if len(text) <= MAX_SUMMARY:
        return text
    cut = text[:MAX_SUMMARY]
    i = max(cut.rfind("，"), cut.rfind(","))
    return cut[:i] if i >= 30 else cut[: MAX_SUMMARY - 1] + "…"
