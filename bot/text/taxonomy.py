"""Category (专业领域) and service type (服务类型) of a request, from categories.toml."""

from __future__ import annotations

from bot.text.lexicon import taxonomy

_WORKER_LIFE = "职工生活"


def find_category(text: str) -> str | None:
    """The category whose keywords weigh most in the text (longer keywords weigh more)."""
    cats, _ = taxonomy()
    best, best_score = None, (0.0, 0)
    fallback, fallback_score = None, (0.0, 0)
    for cat in cats:
        hits = [k for k in cat.keywords if k in text]
        total = sum(len(k) for k in hits) + sum(len(k) / 2 for k in cat.weak if k in text)
        score = (total, max((len(k) for k in hits), default=0))  # ties: the longest keyword
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
    best, best_len = None, 0
    for st in types:
        cues = list(st.keywords)
        if default != _WORKER_LIFE:
            cues += st.soft
        longest = max((len(k) for k in cues if k in text), default=0)
        if longest > best_len:
            best, best_len = st.name, longest
    return best or default
