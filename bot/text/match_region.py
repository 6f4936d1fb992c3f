"""Regions for routing: read 地区 strings and place names in orders, compare two regions."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

_SUFFIXES = ("畲族自治县", "自治县", "省", "市", "县", "区")
_GENERIC = re.compile(r"^(.{2,}?省)?(.{2,}?(?:自治州|地区|盟|市))?(.{1,}?(?:县|区|市|旗))?")
# After a short name that is also a common word (江山, 天台, 普陀), these say it is a place.
_HERE = "(?=这边|那边|这儿|那儿|这里|那里|一带|本地|当地)"


@dataclass(frozen=True)
class Region:
    """A place as (province, city, county); any part may be empty."""

    province: str = ""
    city: str = ""
    county: str = ""

    def __bool__(self) -> bool:
        return bool(self.province or self.city or self.county)

    def name(self) -> str:
        """The most specific part, for messages (德清县, 湖州市)."""
        return self.county or self.city or self.province


def _short(name: str) -> str:
    for suf in _SUFFIXES:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return name


def unplaced(skills: Iterable[str], tags: Iterable[str], where: Region) -> list[str]:
    """A profile's words without the expert's own place: a specialty keeps the rest of its
    words (安吉白茶炒制 → 白茶炒制), a tag naming the place is left out (嵊泗贻贝, 北仑电厂:
    places and employers more than skills). Where an expert is counts through the region."""
    names = sorted({n for part in (where.county, where.city) if part
                    for n in (part, _short(part)) if len(n) >= 2}, key=len, reverse=True)
    out = []
    for skill in skills:
        kept = skill
        for n in names:
            kept = kept.replace(n, "")
        if kept == skill or len(kept.strip()) >= 2:
            out.append(kept.strip())
    out += [tag for tag in tags if not any(n in tag for n in names)]
    return out


class Gazetteer:
    """Known provinces, cities and counties with their short names."""

    def __init__(self, data: dict[str, Any]) -> None:
        # alias → Region, for structured 地区 fields (every short name) and for free text.
        self._field: dict[str, Region] = {}
        self._text: dict[str, Region] = {}
        self._local: dict[str, Region] = {}  # short names that count only before 这边, 一带…
        self._town_finder: Callable[[str, str], str | None] | None = None
        text_short = set(data.get("text_short", []))
        for prov, cities in data.get("provinces", {}).items():
            p = Region(prov)
            self._add(prov, p, text=True)
            self._add(_short(prov), p, text=True)
            for city, counties in cities.items():
                c = Region(prov, city)
                self._add(city, c, text=True)
                self._add(_short(city), c, text=True)
                for county in counties:
                    k = Region(prov, city, county)
                    self._add(county, k, text=True)
                    short = _short(county)
                    self._add(short, k, text=short in text_short)
                    if short not in text_short and len(short) >= 2:
                        self._local.setdefault(short, k)
        self._field_keys = sorted(self._field, key=len, reverse=True)
        self._text_re = re.compile(
            "|".join(re.escape(k) for k in sorted(self._text, key=len, reverse=True))
        ) if self._text else None
        self._local_re = re.compile(
            "(?:" + "|".join(re.escape(k) for k in sorted(self._local, key=len, reverse=True))
            + ")" + _HERE) if self._local else None

    def _add(self, alias: str, region: Region, text: bool) -> None:
        if len(alias) < 2:
            return
        # A county-level name never shadows a city or province of the same short name.
        old = self._field.get(alias)
        if old is None or (old.county and not region.county):
            self._field[alias] = region
        if text:
            old = self._text.get(alias)
            if old is None or (old.county and not region.county):
                self._text[alias] = region

    def add_towns(self, towns: dict[str, str]) -> None:
        """Read town and zone names (瓜沥, 店口) in free text as their county's full path."""
        for town, path in towns.items():
            county = self.parse(path)
            if county.county and len(town) >= 2 and town not in self._text:
                self._text[town] = county
        self._text_re = re.compile(
            "|".join(re.escape(k) for k in sorted(self._text, key=len, reverse=True))
        ) if self._text else None

    def add_town_finder(self, finder: Callable[[str, str], str | None]) -> None:
        """A fallback for free text that names no county: finder(text, within) is the path of
        the county of a town named in the text inside `within` (a province or city path)."""
        self._town_finder = finder

    def parse(self, value: str | None) -> Region:
        """Read an expert's or a group's 地区 (full path, short names, or partial)."""
        s = re.sub(r"[\s/·,，、\-]+", "", value or "")
        if not s:
            return Region()
        found: list[Region] = []
        rest = s
        for key in self._field_keys:
            if key in rest:
                found.append(self._field[key])
                rest = rest.replace(key, "|")
        if found:
            best = max(found, key=lambda r: (bool(r.county), bool(r.city)))
            return best
        m = _GENERIC.match(s)
        if m and any(m.groups()):
            prov, city, county = (g or "" for g in m.groups())
            return Region(prov, city, county)
        return Region(county=s)

    def find(self, text: str) -> Region:
        """The most specific known place named in free text, or an empty region."""
        if self._text_re is None or not text:
            return Region()
        best = Region()
        found = [self._text[m.group()] for m in self._text_re.finditer(text)]
        if self._local_re is not None:
            found += [self._local[m.group()] for m in self._local_re.finditer(text)]
        for r in found:
            if (bool(r.county), bool(r.city)) > (bool(best.county), bool(best.city)):
                best = r
        if not best.county and self._town_finder is not None:
            path = self._town_finder(text, best.province + best.city)
            if path:
                return self.parse(path)
        return best


def relation(a: Region, b: Region) -> int:
    """3 = same county, 2 = same city, 1 = same province, 0 = different or unknown."""
    if not a or not b:
        return 0
    if a.county and a.county == b.county and (not a.city or not b.city or a.city == b.city):
        return 3
    if a.city and a.city == b.city:
        return 2
    if a.province and a.province == b.province:
        return 1
    return 0


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The gazetteer shipped in bot/data/lex_route_places.toml."""
    from bot.text.lexicon import regions  # the parser's place list, with towns as aliases
    from bot.text.regions import town_county  # every town and street, as a fallback

    raw = resources.files("bot").joinpath("data/lex_route_places.toml").read_text("utf-8")
    gaz = Gazetteer(tomllib.loads(raw))
    towns: dict[str, str] = {}
    for r in regions():
        if r.level == 2:
            own = r.names[0]
            towns.update((n, r.path) for n in r.names[1:] if n != _short(own))
    gaz.add_towns(towns)
    gaz.add_town_finder(town_county)
    return gaz
