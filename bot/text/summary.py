"""One-line summary of a request: the problem, without phones, contact and deadline boilerplate."""

from __future__ import annotations

import re

MAX_SUMMARY = 60

_CLAUSE_SPLIT = re.compile(r"[,，。；;！!？?\n]+")
_OPENING = re.compile(
    r"^\s*(?:@\S+\s+)*(?:【点单】|#点单|\[点单\]|【求助】|#求助|我要点单|我想点单|申请点单|点单|求助)"
    r"\s*[:：]?\s*"
)
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
        return problem
    chars = list(original)
    for start, end in drop:
        for i in range(max(0, start), min(end, len(chars))):
            chars[i] = "\x00"
    text = _CONTACT_NOTE.sub(lambda m: "\x00" * len(m.group()), "".join(chars))
    m = _OPENING.match(norm)
    if m:
        text = text[m.end():]
    kept: list[str] = []
    for raw in _CLAUSE_SPLIT.split(text):
        pieces = [p for p in raw.split("\x00")]
        clause = "".join(_strip_boiler(p) for p in pieces).strip(" :：、-—")
        clause = re.sub(r"\s+", " ", clause)
        if not clause or _DROP_CLAUSE.match(clause) or len(clause) < 2:
            continue
        if _INTRO.match(clause) and len(kept) == 0 and len(clause) <= 20:
            continue
        if enterprise and clause.replace(enterprise, "").strip() in ("", "的", "这边", "这里"):
            continue
        at = clause.find(enterprise) if enterprise else -1
        end = at + len(enterprise or "")
        if 0 <= at <= 10 and (at == 0 or clause[at - 1] == " ") and clause[end:end + 1] == " ":
            clause = clause[end:].strip()  # 温岭泽国 锐鑫机电 铝合金支架…: the firm set off first
        kept.append(clause)
    if not kept:
        return None
    return "，".join(kept)


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
