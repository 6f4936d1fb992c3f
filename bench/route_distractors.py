"""Distractor experts for the routing bench: experts of truly other trades, as roster rows.

They come from the taxonomy (bot/data/taxonomy). An entry counts as the roster's own trade,
and never becomes a distractor, when any of these holds (its wordings are its name and terms;
a roster's wordings are every expert's 专长 and 标签 items):

- wording: it shares three characters in a row with a roster wording;
- attached: the bot widens a roster expert's profile with it (Taxonomy.for_skills), i.e. the
  bot itself reads it as that expert's specialty;
- meaning: one of its wordings has an e5 cosine of at least SEM_ANY with a roster wording;
- field: one of its wordings has a cosine of at least SEM_FIELD with a wording of an expert
  whose own (attached) entries are of its family: within an expert's field a lower bar.

The bars were read off pairs of roster and taxonomy wordings (e5-small passage vectors, where
every two Chinese trade words score 0.87-0.97): from 0.97 up nearly every pair is the same
trade, from 0.96 about half (工业锅炉操作 / 工业锅炉与燃气锅炉, 居家护理 / 鼻饲护理, but 继电保护
/ 固态继电器), from 0.95 a quarter across fields but over half within the expert's family
(皮革 / 皮革鞣制, 污水处理 / 农村生活污水, 电梯困人应急 / 电梯年检). Excluding the whole family of
every expert's field was tried and is useless: the rosters span 17 to 20 of the 20 families,
so it leaves 0 to 47 entries of at most 3 families; report() prints that count too.

A distractor looks like a roster row: a name, a county anywhere in Zhejiang (evenly over the
90 counties), a generic title (劳模, 工匠, 技师) and a county service team, 1-3 specialties as
many as the roster's rows have, drawn from one kept entry (and its kept siblings of the same
family when it has too few), and the roster's own capacity and open load. Wordings whose own
attached entries include an excluded one are not used, so no distractor profile is widened
with the plain words of the roster's trades either. Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import random
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.text.match import ExpertProfile, profiles_from_rows, split_list
from bot.text.match_embed import Embedder
from bot.text.match_taxonomy import Entry, Taxonomy, default_taxonomy

ROOT = Path(__file__).resolve().parent.parent
SEM_ANY = 0.96     # cosine with any roster wording: the same trade
SEM_FIELD = 0.95   # cosine with a wording of an expert whose field is the entry's family
GENERIC_TITLES = ("全国劳动模范", "省级劳动模范", "市级劳动模范", "浙江工匠", "首席技师",
                  "高级技师", "技师", "高级工程师")
REASONS = ("wording", "attached", "meaning", "field")
_GIVEN = ("建", "国", "海", "伟", "军", "明", "华", "平", "勇", "强", "林", "斌", "志", "晓",
          "立", "新", "春", "红", "丽", "芳", "英", "燕", "敏", "静", "杰", "峰", "浩", "磊",
          "涛", "波", "辉", "刚", "俊", "鹏", "飞", "荣", "德", "文", "慧", "婷")


@dataclass
class Exclusion:
    """What was left out of the taxonomy and why."""

    total: int
    reasons: dict[int, list[str]] = field(default_factory=dict)  # entry index -> reasons
    examples: dict[str, list[str]] = field(default_factory=dict)
    family_rule: tuple[int, int] = (0, 0)  # entries the whole-family rule would exclude, kept
    unusable: int = 0       # kept entries none of whose wordings attaches only kept entries
    semantic: bool = True

    def report(self) -> str:
        """Counts by reason: first reason in REASONS order, and every reason that holds."""
        first = Counter(r[0] for r in self.reasons.values())
        every = Counter(x for r in self.reasons.values() for x in r)
        kept = self.total - len(self.reasons)
        lines = [f"distractor filter: {len(self.reasons)} of {self.total} taxonomy entries "
                 f"excluded as the roster's own trades, {kept} kept"
                 + ("" if self.semantic else " (no embedder: wording rules only)")]
        for r in REASONS:
            if every[r]:
                ex = "; ".join(self.examples.get(r, [])[:3])
                lines.append(f"  {r:9} {first[r]:4d} first ({every[r]:4d} in all)  e.g. {ex}")
        lines.append(f"  {self.unusable} kept entries unusable (every wording attaches an "
                     "excluded entry)")
        fam, left = self.family_rule
        lines.append(f"  (the whole-family rule would have excluded {fam}, leaving {left})")
        return "\n".join(lines)


def _rows(roster: Path) -> list[dict[str, str]]:
    with roster.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _items(row: dict[str, str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*split_list(row.get("专长")), *split_list(row.get("标签")))))


def _wordings(e: Entry) -> list[str]:
    return list(dict.fromkeys(w for w in (e.name, *e.terms) if w))


def same_trade(rows: Sequence[dict[str, str]], tax: Taxonomy,
               embedder: Embedder | None) -> Exclusion:
    """The taxonomy entries that are the roster's own trades, with their reasons."""
    entries = tax.entries
    out = Exclusion(len(entries), semantic=embedder is not None)

    def mark(i: int, reason: str, why: str) -> None:
        got = out.reasons.setdefault(i, [])
        if reason not in got:
            got.append(reason)
            ex = out.examples.setdefault(reason, [])
            if len(ex) < 3:
                ex.append(why)

    experts = [_items(r) for r in rows]
    text = " ".join(r.get("专长", "") + r.get("标签", "") for r in rows)
    grams = {text[i:i + 3] for i in range(len(text) - 2)}
    index = {e.name: i for i, e in enumerate(entries)}
    fields: list[set[str]] = []
    for items in experts:
        attached = tax.for_skills(items)
        fields.append({e.family for e in attached})
        for e in attached:
            mark(index[e.name], "attached", f"{e.name} ({'、'.join(items[:2])})")
    for i, e in enumerate(entries):
        hit = next((w for w in _wordings(e) for j in range(len(w) - 2) if w[j:j + 3] in grams),
                   None)
        if hit is not None:
            mark(i, "wording", f"{e.name} ({hit})")
    if embedder is not None:
        _semantic(experts, fields, entries, embedder, mark)
    for i in out.reasons:  # keep REASONS order
        out.reasons[i].sort(key=REASONS.index)
    every_field = set().union(*fields) if fields else set()
    fam = sum(e.family in every_field for e in entries)
    out.family_rule = (fam, len(entries) - fam)
    return out


def _semantic(experts: list[tuple[str, ...]], fields: list[set[str]], entries: Sequence[Entry],
              embedder: Embedder, mark: Callable[[int, str, str], None]) -> None:
    import numpy as np

    words: list[str] = []
    starts: list[int] = []
    for e in entries:
        starts.append(len(words))
        words.extend(_wordings(e))
    mine = list(dict.fromkeys(w for items in experts for w in items))
    wv = np.asarray(embedder.embed(words, query=False), dtype=np.float32)
    mv = np.asarray(embedder.embed(mine, query=False), dtype=np.float32)
    cos: Any = mv @ wv.T                                     # roster wording x entry wording
    best: Any = np.maximum.reduceat(cos, starts, axis=1)     # roster wording x entry
    row = {w: k for k, w in enumerate(mine)}

    def why(k: int, i: int) -> str:
        j = starts[i] + int(np.argmax(cos[k, starts[i]:starts[i] + len(_wordings(entries[i]))]))
        return f"{mine[k]} ~ {words[j]} {best[k, i]:.3f}"

    top = best.max(axis=0)
    for i in np.flatnonzero(top >= SEM_ANY):
        mark(int(i), "meaning", why(int(np.argmax(best[:, i])), int(i)))
    for items, fams in zip(experts, fields, strict=True):
        if not items or not fams:
            continue
        ks = [row[w] for w in items]
        near = best[ks].max(axis=0)
        for i in np.flatnonzero(near >= SEM_FIELD):
            if entries[int(i)].family in fams:
                k = ks[int(np.argmax(best[ks, i]))]
                mark(int(i), "field", f"{why(k, int(i))} [{entries[int(i)].family}]")


def counties() -> list[tuple[str, str]]:
    """Every county of Zhejiang: (as a roster writes it, 浙江省湖州市德清县; the county)."""
    raw = tomllib.loads((ROOT / "bot" / "data" / "lex_route_places.toml").read_text("utf-8"))
    cities: dict[str, list[str]] = raw["provinces"]["浙江省"]
    return [(f"浙江省{city}{county}", county) for city, cs in cities.items() for county in cs]


def _surnames() -> list[str]:
    text = (ROOT / "bot" / "data" / "lex_surnames.txt").read_text("utf-8")
    words = [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]
    return [w for w in words if len(w) == 1]


def distractors(n: int, roster: Path, embedder: Embedder | None, seed: int = 7,
                tax: Taxonomy | None = None,
                say: Callable[[str], None] = print) -> list[ExpertProfile]:
    """`n` experts of other trades than the roster's (see the module's doc)."""
    tax = tax or default_taxonomy()
    rows = _rows(roster)
    excl = same_trade(rows, tax, embedder)
    kept = {e.name for i, e in enumerate(tax.entries) if i not in excl.reasons}
    # A wording is usable when every entry it would widen a profile with is kept.
    usable: dict[str, list[str]] = {}
    for e in tax.entries:
        if e.name in kept:
            ws = [w for w in _wordings(e)
                  if all(x.name in kept for x in tax.for_skills((w,)))]
            if ws:
                usable[e.name] = ws
    excl.unusable = len(kept) - len(usable)
    say(excl.report())
    if not usable:
        raise SystemExit("no taxonomy entry is left for distractors")
    by_family: dict[str, list[str]] = {}
    family = {e.name: e.family for e in tax.entries}
    for name in usable:
        by_family.setdefault(family[name], []).append(name)
    say(f"  distractors drawn from {len(usable)} entries of {len(by_family)} families, "
        f"seed {seed}")

    rnd = random.Random(seed)
    profiles = profiles_from_rows(rows)
    loads = [(p.capacity, p.open_load) for p in profiles] or [(3, 0)]
    sizes = [len(split_list(r.get("专长"))) for r in rows]
    sizes = [min(max(s, 1), 3) for s in sizes] or [1, 2, 3]
    titles = [t for t in (r.get("称号", "").strip() for r in rows) if t in GENERIC_TITLES]
    titles = titles or list(GENERIC_TITLES)
    places = counties()
    surnames = _surnames()[:60]
    taken = {r.get("姓名", "").strip() for r in rows}
    names = list(usable)
    out: list[ExpertProfile] = []
    while len(out) < n:
        entry = rnd.choice(names)
        pool = list(usable[entry])
        siblings = [s for s in by_family[family[entry]] if s != entry]
        rnd.shuffle(siblings)
        want = rnd.choice(sizes)
        while len(pool) < want + 1 and siblings:
            pool += usable[siblings.pop()]
        skills = rnd.sample(pool, min(want, len(pool)))
        rest = [w for w in pool if w not in skills]
        tags = tuple(rnd.sample(rest, 1)) if rest and rnd.random() < 0.5 else ()
        if not all(x.name in kept for x in tax.for_skills((*skills, *tags))):
            continue  # together the wordings widen the profile with a roster trade: redraw
        name = rnd.choice(surnames) + "".join(rnd.sample(_GIVEN, rnd.choice((1, 2, 2))))
        if name in taken:
            continue
        taken.add(name)
        region, county = rnd.choice(places)
        capacity, load = rnd.choice(loads)
        out.append(ExpertProfile(
            id=f"D{len(out):05d}", name=name, skills=tuple(skills), tags=tags,
            title=rnd.choice(titles), team=f"{county[:2]}服务队", region=region,
            capacity=capacity, open_load=load))
    return out
