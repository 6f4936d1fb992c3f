"""Trades and the problems people describe in plain words: passages that widen profiles.

Each entry of bot/data/taxonomy/*.toml names a specialty as rosters write it (`name`,
`terms`) and how workers and bosses describe its problems (`symptoms`, `asks`). An expert
whose skills name an entry gets that entry's plain words as one more passage to be compared
with orders (document expansion): a plain-words order meets a plain-words passage. Admins add
their own entries (storage `lexicon_entries`, `diandan lexicon add`, the dashboard).
"""

from __future__ import annotations

import math
import re
import tomllib
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from bot.text.build_cache import built, text_code
from bot.text.lexicon import DATA_DIR, words
from bot.text.match_ngram import normalize

TAXONOMY_DIR = Path(__file__).resolve().parent.parent / "data" / "taxonomy"
PER_SKILL = 4   # entries a profile takes at most (the best shared wording first)
MIN_SHARED = 3  # characters in a row a skill must share with an entry's name or terms
MAX_SHORT = 2   # entries a two-character word may name (装配, 安全 name too many to tell)
CLOSEST = 3     # entries an order is found closest to at most
CLOSEST_LEAST = 0.1  # the least similarity (cosine of character pairs) that counts
KEEP_PASSAGES = 100  # passages from which the index is worth keeping between runs
_NONE = array("i")


@dataclass(frozen=True)
class Entry:
    """One specialty and the plain words of its problems."""

    name: str
    family: str
    terms: tuple[str, ...]
    symptoms: tuple[str, ...]
    asks: tuple[str, ...] = ()

    @property
    def passage(self) -> str:
        """What the embedding reads of it: its problems as people tell them."""
        return "；".join((*self.symptoms, *self.asks))


class Taxonomy:
    """Entries indexed by the character runs of the specific parts of their names and terms
    (`cores`: generic words such as 维修 or 设计 cut out)."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = tuple(entries)
        found: dict[int, set[int]] = {}
        for i, e in enumerate(self.entries):
            for w in (e.name, *e.terms):
                for c in cores(w):
                    # A two-character part (电焊, 茶叶) is kept whole, beside its runs.
                    for g in ([c] if len(c) == 2 else []) + _runs(c):
                        found.setdefault(_code(g), set()).add(i)
        # Kept compact, as the passages are: a word's code in one sorted array, the entries
        # it names in a flat one (dicts of strings took 2.5 MiB for 1,300 entries).
        self._runs = _Lookup(found)
        self._cache: dict[tuple[str, ...], tuple[Entry, ...]] = {}
        self._passages: _Passages | None = None

    def _named(self, word: str) -> array[int]:
        """The entries whose specific parts hold this run (or are this two-character part)."""
        return self._runs.get(_code(word))

    def __len__(self) -> int:
        return len(self.entries)

    def for_skills(self, skills: Sequence[str]) -> tuple[Entry, ...]:
        """The entries a profile's skills name, best first: the specific parts of a skill
        share MIN_SHARED characters in a row with an entry's, or hold one of its two-character
        parts named by at most MAX_SHORT entries. Each shared run or word counts 1/n, n the
        entries it names: a run all kinds of entries hold tells little."""
        key = tuple(skills)
        got = self._cache.get(key)
        if got is not None:
            return got
        shared: dict[int, float] = {}
        for s in skills:
            for c in cores(s):
                found = [self._named(g) for g in set(_runs(c))]
                # The two-character words the part holds: its own pairs, looked up.
                found += [ids for ids in (self._named(c[i:i + 2]) for i in range(len(c) - 1))
                          if len(ids) <= MAX_SHORT]
                for ids in found:
                    for i in ids:
                        shared[i] = shared.get(i, 0.0) + 1.0 / len(ids)
        got = tuple(self.entries[i] for i, _ in sorted(shared.items(),
                                                        key=lambda x: (-x[1], x[0]))[:PER_SKILL])
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[key] = got
        return got

    def prepare(self) -> _Passages:
        """The index of the entries' plain words `closest` reads (built once, about a second
        for the shipped taxonomy: the matcher calls this where it builds its semantic index,
        off the event loop)."""
        if self._passages is None:
            self._passages = _passages_of(tuple(e.passage for e in self.entries))
        return self._passages

    def closest(self, text: str) -> dict[str, float]:
        """The entries whose plain words the text shares most: name → cosine of their
        character pairs, at most CLOSEST of them, each at least CLOSEST_LEAST."""
        found = self.prepare().cosines(text)
        best = sorted(found.items(), key=lambda x: (-x[1], x[0]))[:CLOSEST]
        return {self.entries[i].name: v for i, v in best if v >= CLOSEST_LEAST}


class _Passages:
    """TF-IDF (1 + log tf, log N/df) of the character pairs of a thousand passages, kept
    compact: pairs as integer codes in one sorted array, postings in flat arrays, weights as
    32-bit floats (about 2.5 MiB for the shipped taxonomy of 1,300 entries; dicts of strings
    took 25 for 500). Three characters in a row as well doubled it and found the entry an
    order tells no better (nine blind sets: paraphrase top-1 summed 6.47 with them, 6.55
    without)."""

    def __init__(self, passages: Sequence[str]) -> None:
        df: Counter[int] = Counter()
        for p in passages:
            df.update(_codes(p).keys())
        n = max(len(passages), 1)
        self.codes = array("q", sorted(df))
        self.idf = array("f", (math.log(n / df[c]) for c in self.codes))
        # Postings grouped by gram, passages in order: count each gram's, then fill them in.
        starts = array("i", [0] * (len(self.codes) + 1))
        for p in passages:
            for j, _ in self._weighted(_codes(p)):
                starts[j + 1] += 1
        for j in range(len(self.codes)):
            starts[j + 1] += starts[j]
        fill = array("i", starts)
        self.docs = array("i", bytes(4 * starts[-1]))
        self.weights = array("f", bytes(4 * starts[-1]))
        for i, p in enumerate(passages):
            for j, x in self._weighted(_codes(p)):
                k = fill[j]
                self.docs[k], self.weights[k] = i, x
                fill[j] = k + 1
        self.starts = starts

    def _weighted(self, counts: Counter[int]) -> list[tuple[int, float]]:
        """(gram's index, weight) of the known grams, unit-length (1 + log tf) × idf."""
        out: list[tuple[int, float]] = []
        codes, idf = self.codes, self.idf
        for c, k in counts.items():
            j = bisect_left(codes, c)
            if j < len(codes) and codes[j] == c and idf[j] > 0.0:
                out.append((j, (1.0 + math.log(k)) * idf[j]))
        norm = math.sqrt(math.fsum(x * x for _, x in out)) or 1.0
        return [(j, x / norm) for j, x in out]

    def cosines(self, text: str) -> dict[int, float]:
        """Each passage sharing a gram with `text`: its cosine with it."""
        acc: dict[int, float] = {}
        starts, docs, weights = self.starts, self.docs, self.weights
        for j, x in self._weighted(_codes(text)):
            for k in range(starts[j], starts[j + 1]):
                d = docs[k]
                acc[d] = acc.get(d, 0.0) + x * weights[k]
        return acc


@lru_cache(maxsize=4)
def _passages_of(passages: tuple[str, ...]) -> _Passages:
    """One index per set of passages: the roster's taxonomy is made afresh at every load
    (the shipped one extended with the admins' entries), mostly with the same passages.
    A big one (the shipped taxonomy: about 1.5 s to build) is kept between runs."""
    if len(passages) < KEEP_PASSAGES:
        return _Passages(passages)
    text = "\x1f".join(passages).encode("utf-8")
    return built("taxonomy-index", [Path(__file__).read_bytes(), *text_code(), text],
                 lambda: _Passages(passages))


_BREAKS = frozenset(" \t\n，。、；：！？,.;:!?（）()")


class _Lookup:
    """Integer keys to sorted entry indices, in flat arrays."""

    def __init__(self, found: dict[int, set[int]]) -> None:
        self.keys = array("q", sorted(found))
        self.starts = array("i", [0])
        self.ids = array("i")
        for k in self.keys:
            self.ids.extend(sorted(found[k]))
            self.starts.append(len(self.ids))

    def get(self, key: int) -> array[int]:
        j = bisect_left(self.keys, key)
        if j == len(self.keys) or self.keys[j] != key:
            return _NONE
        return self.ids[self.starts[j]:self.starts[j + 1]]


def _code(gram: str) -> int:
    """A gram as one integer: its characters' code points as digits in base 0x110000."""
    code = 0
    for ch in gram:
        code = code * 0x110000 + ord(ch)
    return code


def _codes(text: str) -> Counter[int]:
    """The character pairs of the text (none across a break), each as one integer (`_code`)."""
    t = normalize(text)
    out: Counter[int] = Counter()
    for i in range(len(t) - 1):
        g = t[i:i + 2]
        if _BREAKS.isdisjoint(g):
            out[_code(g)] += 1
    return out


def _runs(word: str) -> list[str]:
    return [word[i:i + MIN_SHARED] for i in range(len(word) - MIN_SHARED + 1)]


@cache
def _generic() -> re.Pattern[str]:
    """Generic words (lex_parse.toml [taxonomy]) and joining characters, longest first."""
    found = sorted({normalize(w) for w in words("taxonomy", "generic")}, key=len, reverse=True)
    return re.compile("|".join([*map(re.escape, found), r"[与及和的、/()·,;:\s-]+"]))


def cores(word: str) -> list[str]:
    """The specific parts of a roster wording, normalized: what is left of it once generic
    words and joining characters are cut out (粉磨设备维修 → 粉磨; 螺旋桨修复与静平衡 → 螺旋桨,
    静平衡); single characters left over are dropped."""
    return [c for c in _generic().split(normalize(word)) if len(c) >= 2]


def read_entries(path: Path) -> list[Entry]:
    """The entries of one taxonomy file."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    return [entry_of(e) for e in raw.get("entry", [])]


def entry_of(raw: dict[str, object]) -> Entry:
    def strs(key: str) -> tuple[str, ...]:
        v = raw.get(key, ())
        return tuple(str(x) for x in v) if isinstance(v, list) else ()

    return Entry(str(raw.get("name", "")), str(raw.get("family", "")), strs("terms"),
                 strs("symptoms"), strs("asks"))


def extended(base: Taxonomy, added: Iterable[Entry]) -> Taxonomy:
    """The base taxonomy with entries admins added: a name already there gains their terms
    and symptoms, a new name is a new entry. With none added, the base itself (indexing the
    shipped taxonomy again took 60 ms at every roster load)."""
    added = list(added)
    if not added:
        return base
    by_name = {e.name: e for e in base.entries}
    for e in added:
        old = by_name.get(e.name)
        by_name[e.name] = e if old is None else Entry(
            old.name, old.family or e.family, tuple(dict.fromkeys((*old.terms, *e.terms))),
            tuple(dict.fromkeys((*old.symptoms, *e.symptoms))), old.asks)
    return Taxonomy(by_name.values())


@cache
def default_taxonomy() -> Taxonomy:
    """The taxonomy shipped with the bot."""
    paths = sorted(TAXONOMY_DIR.glob("*.toml"))

    def build() -> Taxonomy:  # a name two files hold is one entry
        return extended(Taxonomy(()), (e for p in paths for e in read_entries(p)))

    # Parsing its megabyte of TOML takes 0.15 s at every start and in every `diandan`
    # command; loading what an earlier run built, 0.01 s.
    return built("taxonomy-entries", [Path(__file__).read_bytes(), *text_code(),
                                      (DATA_DIR / "lex_parse.toml").read_bytes(),
                                      *(p.read_bytes() for p in paths)], build)
