"""Category (专业领域) and service type (服务类型) of a request, from categories.toml."""

from __future__ import annotations

import re

from bot.text.lexicon import Category, taxonomy
from bot.text.match_lexicon import PrefixFinder

_WORKER_LIFE = "职工生活"
_TRAINING = "技能培训"
# Talking to a group of the firm's people is a class: 给十几个班组长讲一讲5S, 给年轻人讲讲五轴编程.
_AUDIENCE = re.compile(
    r"给[^，。,.;；]{0,12}?(?:职工|员工|工人|技师|技工|班组长|年轻人|新人|学徒|徒弟|焊工|电工|师傅们"
    r"|学员|中层|骨干|维修工|操作工|挡车工)[^，。,.;；]{0,6}?(?:讲|上|培训|教)")

# The expertise a request asks for by name: 想请焊接专家, 懂变频的师傅, 精益方面的老师. Keywords
# there count three times: the requester's own word for what they need outweighs the products and
# machines they happen to mention.
_ASKED_FOR = re.compile(
    r"(?:想请|请|找|需要|急需|求|懂|寻)([^，。,；;！!？?\s]{1,16}?)(?:方面|领域|专业)?的?"
    r"(?:专家|老师|师傅|师父|大师|工程师|顾问|高手|能手)"
    # …or names the trade in the person asked for: 想请医生, 找个律师
    r"|(?:想请|请|找|需要|寻)(?:一位|一个|个|位|几位|名)?"
    r"(医生|律师|心理咨询师|会计师|税务师|营养师|兽医|电工|焊工|钳工|机修工)")


class _CategoryIndex:
    """The categories' keywords, found in a text in one pass; categories by keyword."""

    def __init__(self, cats: tuple[Category, ...]) -> None:
        self.cats = cats
        self.by_word: dict[str, list[int]] = {}
        for i, cat in enumerate(cats):
            for k in (*cat.keywords, *cat.weak):
                self.by_word.setdefault(k, []).append(i)
        self.finder = PrefixFinder(self.by_word)


_index: _CategoryIndex | None = None


def _category_index() -> _CategoryIndex:
    """The index of the current taxonomy (rebuilt if the taxonomy is reloaded)."""
    global _index
    cats, _ = taxonomy()
    if _index is None or _index.cats is not cats:
        _index = _CategoryIndex(cats)
    return _index


def find_category(text: str) -> str | None:
    """The category whose keywords weigh most in the text (longer keywords weigh more)."""
    index = _category_index()
    found = index.finder.present(text)  # every keyword in the text
    asked: set[str] = set()
    for m in _ASKED_FOR.finditer(text):
        asked |= index.finder.present(m.group(1) or m.group(2))
    best, best_score = None, (0.0, False, 0)
    fallback, fallback_score = None, (0.0, False, 0)
    # Only categories with a keyword in the text can score; they are scored in file order.
    for i in sorted({i for k in found for i in index.by_word[k]}):
        cat = index.cats[i]
        hits = [k for k in cat.keywords if k in found]
        total = (sum(len(k) * (3 if k in asked else 1) for k in hits)
                 + sum(len(k) / 2 for k in cat.weak if k in found))
        # Ties: the category asked for by name, then the longest keyword.
        score = (total, any(k in asked for k in hits), max((len(k) for k in hits), default=0))
        if total <= 0:
            continue
        if cat.fallback:
            if score > fallback_score:
                fallback, fallback_score = cat.name, score
        elif score > best_score:
            best, best_score = cat.name, score
    return best or fallback


def find_service_type(text: str, category: str | None) -> str | None:
    """The service type the text names (longest cue wins), else the category's default."""
    cats, types = taxonomy()
    default = next((c.service_type for c in cats if c.name == category), None) or None
    best, best_len = None, 0.0
    audience = default != _WORKER_LIFE and bool(_AUDIENCE.search(text))
    for st in types:
        cues = list(st.keywords)
        if default != _WORKER_LIFE:
            cues += st.soft
        longest = max((len(k) for k in cues if k in text), default=0.0)
        if default != _WORKER_LIFE and any(k in text for k in st.soft if len(k) == longest):
            longest += 0.5  # 设备做次体检: of a plant, the soft reading wins a tie
        if audience and st.name == _TRAINING:
            longest = max(longest, 3.5)
        if longest > best_len:
            best, best_len = st.name, longest
    return best or default
