"""Place names in a message (德清, 柯桥区, 湖州市) to a region path such as 浙江省湖州市德清县."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from functools import cache

from bot.text.lexicon import DATA_DIR, Region, _short, regions


@cache
def region_index() -> tuple[re.Pattern[str], dict[str, Region]]:
    """One pattern over every place name, and the region each name points to."""
    by_name: dict[str, Region] = {}
    for r in regions():
        for name in r.names:
            old = by_name.get(name)
            if old is None or r.level > old.level:
                by_name[name] = r
    names = sorted(by_name, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names)), by_name


def find_region(norm: str) -> str | None:
    """The most specific region named in the text (county over city over province), first wins.

    A short name that is also a word (天台, 江山, 滨江) counts as a place right after a known
    place (杭州滨江) or where a clause begins and a description follows (江山一家木门厂,
    江山这边)."""
    pattern, by_name = region_index()
    best: Region | None = None
    for m in pattern.finditer(norm):
        r = by_name[m.group()]
        if best is None or r.level > best.level:
            best = r
            if r.level == 2:
                break
    if best is None or best.level < 2:
        short = _short_place(norm, pattern)
        if short and (best is None or short.path.startswith(best.path)):
            best = short
    if best is None or best.level < 2:
        return town_county(norm, best.path if best else "") or (best.path if best else None)
    return best.path


@cache
def town_names() -> dict[str, str]:
    """Towns and streets of bot/data/towns.csv as their county's path: a full name unique in
    Zhejiang (清湖街道), a bare form marked safe (清湖), and any bare form right after its
    county's short name (江山清湖, 普陀桃花); none that already names a region."""
    rows = _town_rows()
    full = Counter(row["town"] for row in rows)
    short_of = {r.path: _short(r.names[0]) for r in regions()}
    out: dict[str, str] = {}
    for row in rows:
        county, bare = row["county"], row["bare"]
        short = short_of[county]
        if len(bare) >= 2:
            out[short + bare] = county
        if full[row["town"]] == 1:
            out.setdefault(row["town"], county)
        if row["bare_in_text"] == "1":
            out.setdefault(bare, county)
    known = {n for r in regions() for n in (*r.names, _short(r.names[0]))}
    return {name: county for name, county in out.items() if name not in known}


@cache
def _town_rows() -> tuple[dict[str, str], ...]:
    with (DATA_DIR / "towns.csv").open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(line for line in f if not line.startswith("#")))


@cache
def _town_index() -> tuple[re.Pattern[str], dict[str, tuple[Region, bool]]]:
    """One pattern over every town name, and each name's county and whether it is bare."""
    by_path = {r.path: r for r in regions()}
    bare = {row["bare"] for row in _town_rows() if row["bare_in_text"] == "1"}
    by_name = {name: (by_path[county], name in bare) for name, county in town_names().items()}
    names = sorted(by_name, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names)), by_name


def town_county(text: str, within: str = "") -> str | None:
    """The county path of the first town named in the text that lies inside `within`, the path
    of the place already found (a town in another city than the one named is more likely a
    street or a firm's name). A bare town right after 浙江 is a firm's registered name
    (浙江云峰阀门有限公司), not a place."""
    pattern, by_name = _town_index()
    for m in pattern.finditer(text):
        r, bare = by_name[m.group()]
        if bare and text.endswith(("浙江", "浙江省"), 0, m.start()):
            continue
        if r.path.startswith(within):
            return r.path
    return None


_AFTER_SHORT = re.compile(r"(?:一家|一个|某|这边|那边|这里|的|区|县|市|\s|[,，。.;；:：!！?？]|$)")


def _short_place(norm: str, strict: re.Pattern[str]) -> Region | None:
    """A county's short name that is also a common word, where it can only be a place."""
    loose, by_name = field_index()
    for m in loose.finditer(norm):
        r, alias = by_name[m.group()]
        if alias or r.level < 2 or strict.fullmatch(m.group()):
            continue
        i = m.start()
        after_place = any(strict.fullmatch(norm, i - n, i) for n in range(2, 5) if i - n >= 0)
        at_start = (i == 0 or not _CJK.match(norm[i - 1]) or norm[i - 1] in "是在"
                    or norm[max(0, i - 2):i] in ("我们", "咱们"))  # 我们路桥一家注塑厂
        if after_place or (at_start and _AFTER_SHORT.match(norm, m.end())):
            return r
    return None


_CJK = re.compile(r"[\u4e00-\u9fff]")


# Province-level names outside the gazetteer (which holds Zhejiang only): a 地区 starting with
# one of them is kept as written, since its cities and counties cannot be checked here.
_OTHER_PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "安徽",
    "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南",
    "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)
_FIELD_SEPARATORS = re.compile(r"[\s/·,，、\-]+")
_SUFFIX_ONLY = re.compile(r"[省市县区]*")
_PLACE_WORD = re.compile(r".+(?:省|市|县|区|州|旗|盟)")


@cache
def field_index() -> tuple[re.Pattern[str], dict[str, tuple[Region, bool]]]:
    """For a structured 地区 field: every name of every region, short names included (天台,
    西湖), and whether the name is an alias (a town or zone) rather than the region's own."""
    by_name: dict[str, tuple[Region, bool]] = {}
    for r in regions():
        own = r.names[0]
        for name in dict.fromkeys((own, _short(own), *r.names)):
            by_name.setdefault(name, (r, name not in (own, _short(own))))
    names = sorted(by_name, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names)), by_name


def place_region(value: str) -> str | None:
    """A 地区 field as its full path (德清 → 浙江省湖州市德清县; a town after its county is kept:
    德清县乾元镇 → 浙江省湖州市德清县乾元镇); "" for an empty field; None when it cannot be
    placed: no known place (火星市), parts that disagree (湖州市西湖区), or an unknown place
    inside a known province or city (浙江省火星市). Another province is kept as written."""
    text = _FIELD_SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    if not text or text.startswith(_OTHER_PROVINCES):
        return text
    pattern, by_name = field_index()
    found = [(m, *by_name[m.group()]) for m in pattern.finditer(text)]
    if not found:
        return None
    best = max((r for _, r, _ in found), key=lambda r: r.level)
    if any(not best.path.startswith(r.path) for _, r, _ in found):
        return None
    m, _, alias = next(f for f in found if f[1].level == best.level)
    covered = {i for f, _, _ in found if f.start() < m.start() for i in range(*f.span())}
    before = "".join(c for i, c in enumerate(text[:m.start()]) if i not in covered)
    if not _SUFFIX_ONLY.fullmatch(before):
        return None  # 火星市德清县: something unknown above the place
    detail = text[m.start():] if alias else text[m.end():]
    if _SUFFIX_ONLY.fullmatch(detail):
        return best.path
    if best.level < 2 and _PLACE_WORD.fullmatch(detail):
        return None  # every city and county of the province is known: this one is not
    return best.path + detail
