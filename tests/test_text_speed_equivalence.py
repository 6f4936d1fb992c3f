"""The indexed text hot paths give the same results as the plain substring scans they replace."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from bot.text import phones
from bot.text.lexicon import taxonomy
from bot.text.match_lexicon import Lexicon, PrefixFinder, Reading, default_lexicon
from bot.text.match_ngram import normalize
from bot.text.taxonomy import _ASKED_FOR, find_category

DATA = Path(__file__).parent / "data"


def _texts() -> list[str]:
    out: list[str] = []
    for name in ("parse_corpus.jsonl", "route_cases.jsonl"):
        with (DATA / name).open(encoding="utf-8") as f:
            out += [json.loads(line)["text"] for line in f if line.strip()]
    return out


def _mixes(texts: list[str], n: int, seed: int) -> list[str]:
    """Random joins of pieces of the texts."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        pieces = []
        for s in rnd.sample(texts, rnd.randint(1, 3)):
            a = rnd.randint(0, len(s))
            pieces.append(s[a:rnd.randint(a, len(s))])
        out.append("，".join(pieces))
    return out


def _find_plain(words: list[str], text: str) -> list[str]:
    """Every occurrence of every word, minus those inside a longer match."""
    spans = []
    for w in set(words) - {""}:
        i = text.find(w)
        while i >= 0:
            spans.append((i, i + len(w), w))
            i = text.find(w, i + 1)
    spans.sort(key=lambda s: (s[0], -s[1]))
    kept: list[str] = []
    reach = -1
    for _start, end, w in spans:
        if end > reach:
            kept.append(w)
            reach = end
    return kept


def test_prefix_finder_on_nested_and_overlapping_words() -> None:
    words = ["a", "ab", "abc", "bcd", "cd", "d", "培训", "安全培训", "全培", "xyzw", ""]
    finder = PrefixFinder(words)
    rnd = random.Random(7)
    alphabet = "abcdxyzw安全培训"
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 12)))
        assert finder.find(text) == _find_plain(words, text), text
        assert finder.present(text) == {w for w in words if w and w in text}, text


def test_prefix_finder_on_the_lexicon_words() -> None:
    lex = default_lexicon()
    words = list(lex._words)
    finder = PrefixFinder(words)
    for text in map(normalize, _texts() + _mixes(_texts(), 300, 1)):
        assert finder.find(text) == _find_plain(words, text)
        assert finder.present(text) == {w for w in words if w in text}


def _read_plain(lex: Lexicon, text: str) -> Reading:
    """Lexicon.read with every symptom rule tested by substring search."""
    t = lex.reading_text(text)
    raw: dict[str, float] = {}
    out = Reading()
    for rule in lex.symptoms:
        if rule.unless and any(a in t for a in rule.unless):
            continue
        fired: list[str] = []
        for group in rule.when:
            hit = next((a for a in group if a in t), None)
            if hit is None:
                break
            fired.append(hit)
        else:
            raw[rule.spec] = raw.get(rule.spec, 0.0) + rule.weight
            out.expansion.extend(rule.to)
            out.cues.setdefault(rule.spec, []).append("".join(fired[-1:]))
    for word in dict.fromkeys(lex._finder.find(t)):
        for name, w in lex._words[word]:
            raw[name] = raw.get(name, 0.0) + w
            out.cues.setdefault(name, []).append(word)
    scale = max(max(raw.values(), default=0.0), 1.0)
    out.specs = {s: v / scale for s, v in raw.items()}
    out.expansion = list(dict.fromkeys(out.expansion))
    return out


def _same(a: Reading, b: Reading) -> bool:
    return ((list(a.specs.items()), a.expansion, list(a.cues.items()))
            == (list(b.specs.items()), b.expansion, list(b.cues.items())))


def test_read_matches_the_plain_rule_scan() -> None:
    lex = default_lexicon()
    for text in _texts() + _mixes(_texts(), 500, 2):
        assert _same(lex.read(text), _read_plain(lex, text)), text


def test_read_edge_rules() -> None:
    data: dict[str, Any] = {
        "specialty": {"甲": {"terms": ["甲术"]}, "乙": {"cues": ["乙"]}},
        "symptom": [
            {"spec": "甲", "when": [], "to": ["甲术"]},                     # always fires
            {"spec": "乙", "when": ["|"]},                                  # never fires
            {"spec": "甲", "when": ["漏|漏油", "油|漏油"], "unless": "不漏"},  # nested alternatives
            {"spec": "乙", "when": ["油", "漏"], "weight": 0.5},
            {"spec": "甲", "when": ["ab|b"], "to": ["甲术"]},
        ],
    }
    lex = Lexicon(data)
    rnd = random.Random(3)
    for _ in range(2000):
        text = "".join(rnd.choice("漏油不AB乙甲术 ") for _ in range(rnd.randint(0, 8)))
        assert _same(lex.read(text), _read_plain(lex, text)), text


def _category_plain(text: str) -> str | None:
    cats, _ = taxonomy()
    best, best_score = None, (0.0, False, 0)
    fallback, fallback_score = None, (0.0, False, 0)
    spans = [m.group(1) or m.group(2) for m in _ASKED_FOR.finditer(text)]
    for cat in cats:
        hits = [k for k in cat.keywords if k in text]
        asked = [k for k in hits if any(k in sp for sp in spans)]
        total = (sum(len(k) * (3 if k in asked else 1) for k in hits)
                 + sum(len(k) / 2 for k in cat.weak if k in text))
        score = (total, bool(asked), max((len(k) for k in hits), default=0))
        if total <= 0:
            continue
        if cat.fallback:
            if score > fallback_score:
                fallback, fallback_score = cat.name, score
        elif score > best_score:
            best, best_score = cat.name, score
    return best or fallback


def test_find_category_matches_the_plain_scan() -> None:
    for text in _texts() + _mixes(_texts(), 500, 4):
        assert find_category(text) == _category_plain(text), text


def test_phone_patterns_match_without_the_lookahead() -> None:
    rnd = random.Random(5)
    pieces = ["1", "3", "8", "0", "00", "86", "+", "-", " ", ".", "(", "（", ")", "）", "#", "4",
              "400", "转", "分机", "ext", "电话", "1386720", "0571", "8765", "4321", "手机"]
    for rx in (phones._MOBILE, phones._LANDLINE, phones._HOTLINE):
        plain = re.compile(re.sub(r"^\(\?=\[[^]]*\]\)", "", rx.pattern))
        assert plain.pattern != rx.pattern
        for _ in range(3000):
            text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 14)))
            got = [(m.span(), m.groups()) for m in rx.finditer(text)]
            assert got == [(m.span(), m.groups()) for m in plain.finditer(text)], text
