"""Places around enterprise names: the place before a description (宁波北仑一家…), place names in
a row (温岭泽国), and a registered name written after its county (天台县浙江天盛机械有限公司)."""

from __future__ import annotations

import re
from functools import cache

from bot.text.regions import field_index, region_index

# Words that end the name of a development zone or industrial park.
_ZONE_WORDS = "开发区|经开区|高新区|工业园区|工业园|工业区|园区"
# A town before a description: 周巷镇一家…, 钟管镇的一家…, 新街街道一家…
_TOWN = re.compile(r"(?:(?![省市县区们是在的我])[\u4e00-\u9fff]){1,4}"
                   f"(?:镇|乡|街道|{_ZONE_WORDS})$")
_ZONE = f"镇|乡|街道|[\u4e00-\u9fff]{{0,4}}?(?:经济技术开发区|经济开发区|{_ZONE_WORDS}|新区)"


def with_place(norm: str, start: int) -> int:
    """Extend a description left over the place right before it: 宁波北仑(的)一家…, 淳安千岛湖镇
    一家…, 杭州滨江一家… (a county's short name after its city), 临海头门港一家… (a locality
    after a known place), 富春江边一家…"""
    if start > 2 and norm[start - 1] == "的":
        got = with_place(norm, start - 1)
        if got < start - 1:
            return got
    town = _TOWN.search(norm, 0, start)
    if town:
        start = _town_start(norm, town.start())
    placed = _over_places(norm, start)
    if placed < start or town:
        return placed
    for k in (1, 2, 3):  # 临海头门港: a short locality after a known place
        tail = norm[start - k:start]
        if k <= start and _CJK_RUN.fullmatch(tail) and not set(tail) & _NOT_LOCALITY:
            placed = _over_places(norm, start - k)
            if placed < start - k:
                return placed
    near = _LOCATIVE.search(norm, 0, start)
    if near:
        return _over_places(norm, near.start()) if near.start() > 0 else 0
    bare = _LOCALITY.search(norm, 0, start)
    return bare.start() if bare and bare.group() not in _NOT_PLACES else start


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_NOT_LOCALITY = set("的是在我们这那有个想要请找做搞和与及或也都就还从给为把被让家位里边")
# 富春江边, 高铁站旁, 工业园附近: a place described, set off by a clause mark or a bracket.
_LOCATIVE = re.compile(r"(?:(?<![\u4e00-\u9fff])|(?<=[是在]))"
                       r"(?:(?![我们的是在])[\u4e00-\u9fff]){2,10}?"
                       r"(?:边上|旁边|附近|一带|这边|那边|这里|那里|边|旁)$")
# 衙前一家…: a short locality where a clause begins (not a time: 今年, 最近 …).
_LOCALITY = re.compile(r"(?:^|(?<=[^\u4e00-\u9fff]))"
                       r"(?:(?![我们的是在这那有个一])[\u4e00-\u9fff]){2,3}$")
_NOT_PLACES = {"今年", "去年", "明年", "现在", "目前", "最近", "近期", "今天", "平时", "以前",
               "之前",
               "本地", "当地", "附近", "另外", "还有", "其中", "其实", "所以", "因为", "但是"}


def _town_start(norm: str, at: int) -> int:
    """Where a town's own name begins when a place runs into it (淳安千岛湖镇: 千岛湖镇)."""
    pattern, _ = region_index()
    for t in (at + 1, at + 2):
        if any(pattern.fullmatch(norm, t - n, t) for n in range(2, 8) if t - n < at and t - n >= 0):
            return t
    return at


def _over_places(norm: str, start: int) -> int:
    """Move start left over the place names that end right there (宁波北仑, 杭州滨江, 普陀沈家门).

    A short name that is also a word (天台, 滨江) counts next to a full place name or where a
    clause begins."""
    strict, _ = region_index()
    loose, _ = field_index()
    at, sure = start, False
    moved = True
    while moved:
        moved = False
        for length in range(7, 1, -1):
            i = at - length
            if i >= 0 and loose.fullmatch(norm, i, at):
                sure = sure or bool(strict.fullmatch(norm, i, at))
                at, moved = i, True
                break
    if at < start and (sure or at == 0 or not _CJK.match(norm[at - 1]) or norm[at - 1] in "是在"
                       or norm[max(0, at - 2):at] in ("我们", "咱们")):
        return at
    return start


_CJK = re.compile(r"[\u4e00-\u9fff]")


def ends_in_place(norm: str, end: int) -> bool:
    """Whether the text just before `end` is a place name (横店, 柳市)."""
    pattern, _ = region_index()
    return any(pattern.fullmatch(norm, end - k, end) for k in (2, 3) if end - k >= 0)


@cache
def places_re() -> re.Pattern[str]:
    """Place names in a row, maybe ending in a town or zone: 温岭泽国, 温州龙湾, 奉化区江口街道,
    嘉善经济技术开发区, 吴兴区织里镇."""
    pattern, _ = field_index()  # towns by their own names too (鄞州姜山, 东阳横店)
    return re.compile(f"(?:{pattern.pattern})+(?:{_ZONE})?|(?:{pattern.pattern})*"
                      f"[\u4e00-\u9fff]{{1,4}}(?:镇|乡|街道)")


# A registered name that starts with its province or city (浙江…, 温州市…): a county or town
# written before it says where the firm is, not part of its name.
_REGISTERED = ("有限公司", "有限责任公司", "股份有限公司", "集团", "公司")


def registered_after_place(name: str) -> str | None:
    """The registered name in 天台县浙江天盛机械有限公司 / 鹿城区温州市瓯江阀门有限公司 /
    长兴县煤山镇浙江煤山机械铸造有限公司 (the places before it left out), or None."""
    if not name.endswith(_REGISTERED):
        return None
    strict, by_name = region_index()
    for i in range(2, min(len(name) - 6, 12)):
        head = strict.match(name, i)
        if head is None or not places_re().fullmatch(name, 0, i):
            continue
        region = by_name[head.group()]
        if region.level <= 1 and len(name) - head.end() >= 4:
            return name[i:]
    return None
