"""Arguments of the lifecycle verbs: 办结 outcome and counts, 评价 rating, 预约 visit mode."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.text.cnnum import cn_int

_NUM = r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百]+)"
_HEAD = re.compile(r"^\s*(?:@\S+\s+)*[^\d#＃]{0,6}?\s*[#＃]?\s*\d{1,9}\s*(?:号)?\s*[:：,，、]?\s*")

_OUTCOMES = (
    ("unsolved", re.compile(r"未解决|没解决|没有解决|尚未解决|无法解决|未能解决")),
    ("partial", re.compile(r"部分解决|基本解决|初步解决|大部分解决|缓解")),
    ("solved", re.compile(
        r"已解决|解决了|已经解决|彻底解决|全部解决|问题解决|已处理好|已修复|已排除"
    )),
)
_SUGGESTIONS = re.compile(rf"(?:合理化)?建议\s*{_NUM}\s*条|{_NUM}\s*条(?:合理化)?建议")
_HOURS = re.compile(rf"{_NUM}\s*(?:个)?(?:小时|钟头|h\b)")
_HALF_DAY = re.compile(r"半天")
_DAYS = re.compile(rf"{_NUM}\s*天")
_PEOPLE = re.compile(
    rf"(?:受益|服务|培训|参加|参与|听讲|到场|覆盖)(?:职工|员工|工人|人员|群众)?\s*{_NUM}\s*(?:余|多)?(?:人|名)"
    rf"|{_NUM}\s*(?:余|多)?(?:人|名)(?:次)?(?:参加|参与|受益|听讲|到场)"
)
_ONLINE = re.compile(r"线上|远程|视频|电话|网上|在线")
_ONSITE = re.compile(r"现场|上门|到厂|进厂|入企|实地")

_RATING_WORDS = (  # the three words of the rating scale, said outright
    ("不满意", re.compile(r"不满意|不太满意")),
    ("基本满意", re.compile(r"基本满意|比较满意")),
    ("满意", re.compile(r"满意")),
)
_RATING_HINTS = (  # looser words, used only when neither a scale word nor stars are given
    ("不满意", re.compile(r"很差|太差|差评|失望|没解决")),
    ("基本满意", re.compile(r"一般|还行|还可以|凑合")),
    ("满意", re.compile(r"很好|非常好|好评|点赞|感谢|谢谢|专业|及时")),
)
_STARS = re.compile(r"([1-5一二三四五])\s*(?:星|颗星|分)|(★{1,5})")


def _num(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        n = cn_int(s)
        return float(n) if n is not None else None


def _first(pattern: re.Pattern[str], text: str) -> float | None:
    m = pattern.search(text)
    if not m:
        return None
    group = next((g for g in m.groups() if g), None)
    return _num(group) if group else None


def rest_of(text: str) -> str:
    """The text after a verb and its order number: "办结 12 已解决…" → "已解决…"."""
    t = unicodedata.normalize("NFKC", text)
    m = _HEAD.match(t)
    return t[m.end():].strip() if m else ""


def visit_mode(text: str) -> str | None:
    """线上 or 现场, when the text says which."""
    t = unicodedata.normalize("NFKC", text)
    if _ONSITE.search(t):
        return "现场"
    if _ONLINE.search(t):
        return "线上"
    return None


@dataclass(frozen=True)
class Completion:
    """What an expert reports when closing an order (each part may be missing)."""

    outcome: str | None  # solved | partial | unsolved
    suggestions: int | None
    hours: float | None
    beneficiaries: int | None
    mode: str | None
    note: str


def parse_completion(text: str) -> Completion:
    """Read "已解决 提出建议3条 服务2小时 受益职工30人 现场 …总结"."""
    t = unicodedata.normalize("NFKC", text)
    outcome = next((name for name, rx in _OUTCOMES if rx.search(t)), None)
    suggestions = _first(_SUGGESTIONS, t)
    hours = _first(_HOURS, t)
    if hours is None and _HALF_DAY.search(t):
        hours = 4.0
    if hours is None:
        days = _first(_DAYS, t)
        hours = days * 8 if days is not None and days <= 30 else None
    people = _first(_PEOPLE, t)
    return Completion(
        outcome=outcome,
        suggestions=int(suggestions) if suggestions is not None else None,
        hours=hours if hours is not None and 0 < hours <= 1000 else None,
        beneficiaries=int(people) if people is not None else None,
        mode=visit_mode(t),
        note=t.strip()[:500],
    )


@dataclass(frozen=True)
class Rating:
    """A requester's rating: the word, optional stars and a comment."""

    word: str | None  # 满意 | 基本满意 | 不满意
    stars: int | None
    comment: str


def parse_rating(text: str) -> Rating:
    """Read "满意 师傅很专业", "4星", "★★★★★ 非常及时"."""
    t = unicodedata.normalize("NFKC", text).strip()
    stars: int | None = None
    m = _STARS.search(t)
    if m:
        stars = len(m.group(2)) if m.group(2) else (cn_int(m.group(1)) or int(m.group(1)))
    word = next((w for w, rx in _RATING_WORDS if rx.search(t)), None)
    if stars is not None and word is None:
        word = "满意" if stars >= 4 else "基本满意" if stars == 3 else "不满意"
    if word is None:
        word = next((w for w, rx in _RATING_HINTS if rx.search(t)), None)
    comment = t
    for token in ("不满意", "基本满意", "满意"):
        if comment.startswith(token):
            comment = comment[len(token):]
            break
    if m and comment.startswith(m.group(0)):
        comment = comment[len(m.group(0)):]
    return Rating(word, stars, comment.strip(" ，,。.；;"))
