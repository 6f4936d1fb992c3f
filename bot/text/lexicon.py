"""The word lists and taxonomy in bot/data, loaded once and cached."""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@dataclass(frozen=True)
class Category:
    """A category (专业领域) of the taxonomy with its keywords."""

    name: str
    service_type: str
    keywords: tuple[str, ...]
    weak: tuple[str, ...]
    fallback: bool = False


@dataclass(frozen=True)
class ServiceType:
    """A service type (服务类型) with the cues that name it."""

    name: str
    keywords: tuple[str, ...]
    soft: tuple[str, ...]


@dataclass(frozen=True)
class Region:
    """A province, city or county as a full path, with the names that point to it."""

    path: str
    level: int  # 0 province, 1 city, 2 county
    names: tuple[str, ...]


def _strs(table: dict[str, Any], key: str) -> tuple[str, ...]:
    value = table.get(key, [])
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


@cache
def parse_words() -> dict[str, dict[str, tuple[str, ...]]]:
    """Sections of lex_parse.toml, each a mapping of list name to words."""
    with (DATA_DIR / "lex_parse.toml").open("rb") as f:
        raw = tomllib.load(f)
    return {sec: {k: _strs(tab, k) for k in tab} for sec, tab in raw.items()}


def words(section: str, name: str) -> tuple[str, ...]:
    """One word list of lex_parse.toml."""
    return parse_words().get(section, {}).get(name, ())


@cache
def taxonomy() -> tuple[tuple[Category, ...], tuple[ServiceType, ...]]:
    """Categories and service types from categories.toml, in file order."""
    with (DATA_DIR / "categories.toml").open("rb") as f:
        raw = tomllib.load(f)
    cats = tuple(
        Category(str(c["name"]), str(c.get("service_type", "")), _strs(c, "keywords"),
                 _strs(c, "weak"), bool(c.get("fallback", False)))
        for c in raw.get("category", [])
    )
    types = tuple(
        ServiceType(str(t["name"]), _strs(t, "keywords"), _strs(t, "soft"))
        for t in raw.get("service_type", [])
    )
    return cats, types


@cache
def surnames() -> frozenset[str]:
    """Chinese surnames (single and compound) from lex_surnames.txt."""
    out: set[str] = set()
    for line in (DATA_DIR / "lex_surnames.txt").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            out.update(line.split())
    return frozenset(out)


_SUFFIXES = ("自治县", "县", "区", "市", "省")


def _short(name: str) -> str:
    for suf in _SUFFIXES:
        if name.endswith(suf) and len(name) - len(suf) >= 2:
            return name[: -len(suf)]
    return name


@cache
def regions() -> tuple[Region, ...]:
    """Regions of regions.csv; each region's names are its full name, short name and aliases."""
    out: list[Region] = []
    with (DATA_DIR / "regions.csv").open(encoding="utf-8", newline="") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        for row in rows:
            prov, city, county = row["province"], row["city"], row["county"]
            own = county or city or prov
            level = 2 if county else 1 if city else 0
            names = [own]
            if row.get("short_in_text", "1").strip() == "1" and _short(own) != own:
                names.append(_short(own))
            names += [a.strip() for a in (row.get("aliases") or "").split(";") if a.strip()]
            out.append(Region(prov + city + county, level, tuple(dict.fromkeys(names))))
    return tuple(out)
