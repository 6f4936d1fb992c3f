"""The symptom → specialty lexicon (bot/data/lex_symptoms.toml): read requests and profiles."""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from bot.text.build_cache import built, text_code
from bot.text.match_ngram import normalize

# Evidence weights: a symptom rule, a specialty term, a plain-words cue.
W_SYMPTOM = 1.2
W_TERM = 1.0
W_CUE = 0.4
# In a profile item, a specialty named only by a shorter, secondary term counts this much.
MINOR_TERM = 0.4

_CLAUSES = re.compile(r"[，,。；;、！!？?\n]+")


@dataclass(frozen=True, slots=True)
class Specialty:
    """One specialty: profile words (terms, and weak ones), plain words of requests (cues)."""

    name: str
    category: str
    terms: tuple[str, ...]
    cues: tuple[str, ...]
    weak: tuple[str, ...] = ()  # profile words that are everyday words in requests: cues there


@dataclass(frozen=True, slots=True)
class Symptom:
    """A rule: every group of alternatives found in a request → specialty and its terms."""

    spec: str
    when: tuple[tuple[str, ...], ...]
    unless: tuple[str, ...]
    to: tuple[str, ...]
    weight: float


@dataclass
class Reading:
    """What the lexicon reads in a request."""

    specs: dict[str, float] = field(default_factory=dict)   # specialty → evidence, max 1
    expansion: list[str] = field(default_factory=list)      # specialty terms to add to the query
    cues: dict[str, list[str]] = field(default_factory=dict)  # specialty → words that fired


class PrefixFinder:
    """Find listed words in a text by looking up, at each position, slices of the listed lengths."""

    def __init__(self, words: Iterable[str]) -> None:
        # A dict's keys are kept as they are (the lexicon's word tables are dicts already);
        # other words go in a dict too: less than half a set's memory for the same lookups.
        self._words: Collection[str] = (
            words if isinstance(words, dict) else dict.fromkeys(w for w in words if w))
        # First two characters → lengths of the longer words that start with them, longest first.
        # One-character words are looked up as such.
        lengths: dict[str, set[int]] = {}
        for w in self._words:
            if len(w) > 1:
                lengths.setdefault(w[:2], set()).add(len(w))
        shared: dict[tuple[int, ...], tuple[int, ...]] = {}  # a few hundred distinct ones
        self._lengths = {pair: shared.setdefault(t, t) for pair, ns in lengths.items()
                         for t in [tuple(sorted(ns, reverse=True))]}

    def find(self, text: str) -> list[str]:
        """Listed words in text order; a match inside a longer one is dropped (安全培训 ⊃ 培训)."""
        kept: list[str] = []
        reach = 0  # end of the last word kept
        words, lengths = self._words, self._lengths
        for i, ch in enumerate(text):
            # The longest listed word starting at i, if any.
            for n in lengths.get(text[i:i + 2], ()):
                w = text[i:i + n]
                if w in words:
                    break
            else:
                if ch not in words:
                    continue
                w = ch
            if i + len(w) > reach:  # else it lies inside an earlier, longer match
                kept.append(w)
                reach = i + len(w)
        return kept

    def present(self, text: str) -> set[str]:
        """Every listed word that occurs in the text, nested and overlapping ones included."""
        words, lengths = self._words, self._lengths
        found = {ch for ch in text if ch in words}
        for i in range(len(text) - 1):
            for n in lengths.get(text[i:i + 2], ()):
                w = text[i:i + n]
                if w in words:
                    found.add(w)
        return found


class _Rewriter:
    """Writes words one way (电动机 → 电机) in one pass, longest words first; a canonical
    word is left as it is (冷水机组 does not become 冷水机组组)."""

    def __init__(self, table: Mapping[str, Iterable[str]]) -> None:
        self._into: dict[str, str] = {}
        for canonical, variants in table.items():
            c = normalize(canonical)
            for v in variants:
                self._into[normalize(v)] = c
        for c in set(self._into.values()):
            self._into.setdefault(c, c)
        words = sorted((w for w in self._into if w), key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, words))) if words else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        into = self._into
        return self._pattern.sub(lambda m: into[m.group()], text)


class Lexicon:
    """Specialties, symptom rules and request boilerplate, loaded from TOML data."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.noise: tuple[str, ...] = tuple(
            sorted((normalize(p) for p in data.get("noise", {}).get("phrases", [])),
                   key=len, reverse=True))
        self._readings = _Rewriter(data.get("readings", {}))
        self._variants = _Rewriter(data.get("synonyms", {}))
        # Every word of the lexicon is written the canonical way, as the texts it reads are.
        word = self._word
        self.specialties: dict[str, Specialty] = {}
        for name, spec in data.get("specialty", {}).items():
            terms = tuple(dict.fromkeys(word(t) for t in [name, *spec.get("terms", [])]))
            cues = tuple(dict.fromkeys(word(c) for c in spec.get("cues", [])))
            weak = tuple(dict.fromkeys(word(w) for w in spec.get("weak_terms", [])))
            self.specialties[name] = Specialty(name, spec.get("category", name), terms, cues,
                                               weak)
        self.symptoms: list[Symptom] = []
        for rule in data.get("symptom", []):
            spec = rule["spec"]
            if spec not in self.specialties:
                raise ValueError(f"symptom rule names unknown specialty {spec!r}")
            self.symptoms.append(Symptom(
                spec=spec,
                when=tuple(self._alts(g) for g in rule["when"]),
                unless=self._alts(rule.get("unless", "")),
                to=tuple(word(t) for t in rule.get("to", [])),
                weight=float(rule.get("weight", W_SYMPTOM)),
            ))
        # word → [(specialty, weight)]: terms count fully, cues weakly.
        self._words: dict[str, list[tuple[str, float]]] = {}
        self._term_words: dict[str, list[str]] = {}
        for sp in self.specialties.values():
            for t in sp.terms:
                self._words.setdefault(t, []).append((sp.name, W_TERM))
                self._term_words.setdefault(t, []).append(sp.name)
            for c in sp.cues:
                self._words.setdefault(c, []).append((sp.name, W_CUE))
            # An everyday word a profile names the specialty by (预算, 医院, 电源): fully in a
            # profile, as a cue in a request, where it is more often said of something else.
            for w in sp.weak:
                self._term_words.setdefault(w, []).append(sp.name)
                if w not in sp.cues:  # a cue already: once
                    self._words.setdefault(w, []).append((sp.name, W_CUE))
        self._names = frozenset(self.canon(n) for n in self.specialties)
        self._fields: dict[str, list[str]] = {}  # category → its specialties
        for sp in self.specialties.values():
            self._fields.setdefault(sp.category, []).append(sp.name)
        self._finder = PrefixFinder(self._words)
        self._term_finder = PrefixFinder(self._term_words)
        # Symptom rules by the alternatives of their first group (rules without groups always
        # apply), so that a request is checked only against rules that can fire.
        by_first: dict[str, list[int]] = {}
        self._rules_always: list[int] = []
        for i, rule in enumerate(self.symptoms):
            if not rule.when:
                self._rules_always.append(i)
            else:
                for a in rule.when[0]:
                    by_first.setdefault(a, []).append(i)
        # One table serves both: every alternative of every rule (what `present` finds), each
        # with the rules it opens (none for the later groups' and `unless` words). Equal rule
        # lists are one tuple: most alternatives open a single rule.
        shared: dict[tuple[int, ...], tuple[int, ...]] = {}
        table: dict[str, tuple[int, ...]] = dict.fromkeys(
            (a for rule in self.symptoms for group in (*rule.when, rule.unless) for a in group),
            ())
        for a, rules in by_first.items():
            opens = tuple(rules)
            table[a] = shared.setdefault(opens, opens)
        self._alternatives = PrefixFinder(table)
        self._rules_by_first = table

    def siblings(self, name: str) -> tuple[str, ...]:
        """The other specialties of the same field (category) as `name`."""
        sp = self.specialties.get(name)
        if sp is None:
            return ()
        return tuple(o for o in self._fields[sp.category] if o != name)

    def canon(self, text: str) -> str:
        """Normalized text with variants written one way (电动机 → 电机)."""
        return self._variants(normalize(text))

    def _word(self, text: str) -> str:
        """A word of the lexicon, canonical and interned: the same word in a thousand rules
        (坏, 漏, 不行) is one string in memory."""
        return sys.intern(self.canon(text))

    def _alts(self, group: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self._word(a.strip()) for a in group.split("|")
                                   if a.strip()))

    def strip_noise(self, text: str) -> str:
        """Blank out request boilerplate (点单, 想请专家, 联系人…) from normalized text."""
        for p in self.noise:
            if p in text:
                text = text.replace(p, " ")
        return text

    def reading_text(self, text: str) -> str:
        """Canonical text with words read as what they mean (毛病 → 故障), for `read`."""
        return self._variants(self._readings(normalize(text)))

    def read(self, text: str) -> Reading:
        """Specialties a request points to, with the specialty terms to expand it with."""
        t = self.reading_text(text)
        raw: dict[str, float] = {}
        out = Reading()
        found = self._alternatives.present(t)  # the rules' alternatives that occur in t
        candidates = set(self._rules_always)
        by_first, symptoms = self._rules_by_first, self.symptoms
        for a in found:
            opens = by_first.get(a)
            if opens:
                candidates.update(opens)
        # Plain loops, not generators: this runs for every order (59 -> 22 us a request).
        for i in sorted(candidates):  # in rule order
            rule = symptoms[i]
            if rule.unless and not found.isdisjoint(rule.unless):
                continue
            hit = ""  # the alternative found of the last group: the cue shown
            for group in rule.when:
                for a in group:
                    if a in found:
                        hit = a
                        break
                else:
                    break
            else:
                raw[rule.spec] = raw.get(rule.spec, 0.0) + rule.weight
                out.expansion.extend(rule.to)
                out.cues.setdefault(rule.spec, []).append(hit)
        for word in dict.fromkeys(self._finder.find(t)):
            for name, w in self._words[word]:
                raw[name] = raw.get(name, 0.0) + w
                out.cues.setdefault(name, []).append(word)
        top = max(raw.values(), default=0.0)
        scale = max(top, 1.0)
        out.specs = {s: v / scale for s, v in raw.items()}
        out.expansion = list(dict.fromkeys(out.expansion))
        return out

    def profile_specs(self, items: Iterable[str], weak: str = "") -> dict[str, float]:
        """Specialties an expert covers, read item by item from skills/tags (full weight) and
        from the free text (half weight). Within one item the longest matched term decides,
        unless the item ends with a specialty's own name (压力容器焊接 is 焊接); the other
        terms count for less (污水处理站运营 is not 运营)."""
        raw: dict[str, float] = {}
        chunks = [(self.canon(i), 1.0) for i in items]
        chunks += [(self.canon(p), 0.5) for p in _CLAUSES.split(weak) if p.strip()]
        for text, w in chunks:
            found = self._term_finder.find(text)
            if not found:
                continue
            longest = max(len(t) for t in found)
            # A compound ending in a specialty's own name is that craft: 压力容器焊接 is welding
            # (for pressure vessels), not 特种设备.
            head = found[-1] if text.endswith(found[-1]) and found[-1] in self._names else ""
            item_specs: dict[str, float] = {}
            for term in found:
                if head:
                    share = 1.0 if term == head else MINOR_TERM
                else:
                    share = 1.0 if len(term) == longest else MINOR_TERM
                for name in self._term_words[term]:
                    item_specs[name] = max(item_specs.get(name, 0.0), share)
            for name, share in item_specs.items():
                raw[name] = raw.get(name, 0.0) + w * share
        return {s: min(1.0, v) for s, v in raw.items()}


def merged(base: Mapping[str, Any], *more: Mapping[str, Any]) -> dict[str, Any]:
    """Lexicon data from several files: rules and noise phrases add up; a specialty, reading
    or synonym may be defined once only (a second definition is a mistake in the data)."""
    out: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else list(v))
                           for k, v in base.items()}
    for data in more:
        for key, value in data.items():
            if isinstance(value, list):
                out.setdefault(key, []).extend(value)
            elif key == "noise":
                noise = out.setdefault("noise", {})
                noise["phrases"] = [*noise.get("phrases", []), *value.get("phrases", [])]
            else:
                into = out.setdefault(key, {})
                twice = sorted(set(into).intersection(value))
                if twice:
                    raise ValueError(f"lexicon [{key}] defined twice: {'、'.join(twice)}")
                into.update(value)
    return out


def shipped_files() -> list[Traversable]:
    """The lexicon's data files, in the order they are read: bot/data/lex_symptoms.toml, then
    the symptom files of bot/data/symptoms/ (one per family of trades) by name."""
    data = resources.files("bot").joinpath("data")
    folder = data.joinpath("symptoms")
    return [data.joinpath("lex_symptoms.toml")] + (sorted(
        (f for f in folder.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
        if folder.is_dir() else [])


def lexicon_of(texts: Iterable[bytes]) -> Lexicon:
    """A lexicon from the bytes of its data files, the first one the base."""
    parsed = [tomllib.loads(t.decode("utf-8")) for t in texts]
    return Lexicon(merged(parsed[0], *parsed[1:]))


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lexicon shipped in its data files (`shipped_files`); built once per version of its
    data and code, and kept (bot/text/build_cache.py)."""
    texts = [f.read_bytes() for f in shipped_files()]
    # The code that builds it and the table it normalizes text with change it too.
    code = [Path(__file__).read_bytes(), *text_code()]

    return built("lexicon", [*code, *texts], lambda: lexicon_of(texts))
