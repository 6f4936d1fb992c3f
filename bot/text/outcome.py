"""The details after an order number: 办结 outcomes, 评价 ratings, 预约 visit modes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text.cnnum import NUM, cn_int


@dataclass(frozen=True)
class Outcome:
    """What an expert reports with 办结: result, suggestions, hours, people served."""

    result: str | None = None  # 已解决 / 部分解决 / 未解决
    solved: bool | None = None
    suggestions: int | None = None
    hours: float | None = None
    beneficiaries: int | None = None
    mode: str | None = None  # 现场 / 线上


_RESULT = re.compile(r"(已经?解决|彻底解决|全部解决|圆满解决|问题解决|基本解决|部分解决|初步解决|"
                     r"未解决|没有?解决|暂未解决|无法解决|尚未解决)")
_SUGGEST = re.compile(r"(?:提出|提|给出|形成)?\s*(?:合理化)?建议\s*(" + NUM + r")\s*条|(" + NUM +
                      r")\s*条\s*(?:合理化)?建议")
_HOURS = re.compile(
    r"(\d+(?:\.\d+)?|" + NUM + r")\s*(?:个)?\s*(?:半)?\s*(?:小时|h|H|钟头)|(半天|一天|全天|两天)"
)
_PEOPLE = re.compile(
    r"(?:受益|服务|培训|参加|参与|听课|到场|覆盖|惠及)\s*(?:职工|员工|工人|人员|群众|学员|村民)?\s*"
    r"(?:共|约|达)?\s*(" + NUM + r")\s*(?:余|多)?\s*(?:人次|人|名)|(" + NUM +
    r")\s*(?:余|多)?\s*(?:人次|人|名)\s*(?:职工|员工)?\s*(?:受益|参加|参与|听课|到场)"
)
_ONLINE = re.compile(r"线上|远程|视频|在线|网上|电话指导|微信指导|钉钉|腾讯会议|云端")
_ONSITE = re.compile(r"现场|上门|到厂|到场|实地|入企|进厂")
_RATING = (("不满意", "不满意"), ("非常不满意", "不满意"), ("基本满意", "基本满意"), ("比较满意",
            "基本满意"),
           ("还行", "基本满意"), ("一般", "基本满意"), ("非常满意", "满意"), ("很满意", "满意"),
           ("满意", "满意"), ("好评", "满意"), ("差评", "不满意"), ("很差", "不满意"))
_STARS = re.compile(r"([1-5一二三四五])\s*(?:颗)?\s*(?:星|分)|(★+)")


def visit_mode(text: str) -> str | None:
    """现场 or 线上 when the text says how the service is given."""
    if _ONLINE.search(text):
        return "线上"
    if _ONSITE.search(text):
        return "现场"
    return None


def _num(s: str | None) -> int | None:
    return cn_int(s) if s else None


def read_outcome(text: str) -> Outcome:
    """Parse `已解决 提出建议3条 服务2小时 受益职工30人 现场 …`."""
    result = solved = None
    m = _RESULT.search(text)
    if m:
        word = m.group(1)
        if word in ("基本解决", "部分解决", "初步解决"):
            result, solved = "部分解决", False
        elif word.startswith(("未", "没", "暂未", "无法", "尚未")):
            result, solved = "未解决", False
        else:
            result, solved = "已解决", True
    s = _SUGGEST.search(text)
    hours: float | None = None
    h = _HOURS.search(text)
    if h:
        if h.group(2):
            hours = {"半天": 4.0, "一天": 8.0, "全天": 8.0, "两天": 16.0}[h.group(2)]
        else:
            raw = h.group(1)
            val = float(raw) if re.fullmatch(r"\d+(?:\.\d+)?", raw) else float(cn_int(raw) or 0)
            hours = val + (0.5 if "半" in h.group(0) else 0.0)
    p = _PEOPLE.search(text)
    return Outcome(
        result=result, solved=solved,
        suggestions=_num(s.group(1) or s.group(2)) if s else None,
        hours=hours,
        beneficiaries=_num(p.group(1) or p.group(2)) if p else None,
        mode=visit_mode(text),
    )


def read_rating(text: str) -> tuple[str | None, int | None]:
    """(rating word 满意/基本满意/不满意, stars 1–5) from a 评价 message."""
    stars: int | None = None
    m = _STARS.search(text)
    if m:
        stars = len(m.group(2)) if m.group(2) else cn_int(m.group(1))
        if stars is not None and not 1 <= stars <= 5:
            stars = None
    for word, rating in _RATING:
        if word in text:
            return rating, stars
    if stars is not None:
        return ("满意" if stars >= 4 else "基本满意" if stars == 3 else "不满意"), stars
    return None, None


_MODE_WORD = re.compile(r"(?<![\u4e00-\u9fff])(?:现场|线上|远程|上门)(?:服务|指导)?"
                        r"(?![\u4e00-\u9fff])")
_LABEL = re.compile(r"(?:总结|备注|说明|情况|成效|结果)\s*[:：]")
_FIELDS = (re.compile(_RESULT.pattern + "了?"), _SUGGEST,
           re.compile(r"(?:服务|时长|用时|历时|耗时|共计|共)?\s*(?:" + _HOURS.pattern + ")"),
           _PEOPLE, _MODE_WORD, _LABEL)
_LEFTOVER = re.compile(r"^[\s,，。.;；、:：]+|[\s,，;；、:：]+$")


def outcome_remark(text: str) -> str:
    """What a 办结 note says beyond its fields: `已解决 建议3条 服务2小时 现场 总结：更换了密封圈`
    → 更换了密封圈."""
    rest = text
    for pattern in _FIELDS:
        rest = pattern.sub(" ", rest)
    rest = re.sub(r"\s*([,，。;；、])(?:\s*[,，。;；、])*\s*", r"\1", rest)
    rest = re.sub(r"\s+", "，", rest.strip())
    return _LEFTOVER.sub("", rest)
