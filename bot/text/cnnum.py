"""Small Chinese numerals (一 … 九十九, 两, 〇) and digits to integers, for matched spans only."""

from __future__ import annotations

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
           "八": 8, "九": 9}

# Regex piece for a number written in digits or small Chinese numerals.
NUM = r"(?:\d{1,4}|[零〇一二两三四五六七八九十百]{1,4})"


def cn_int(s: str) -> int | None:
    """`"12"`, `"十二"`, `"二十五"`, `"两"` → int; anything else → None."""
    s = s.strip()
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if "百" in s:
        head, _, tail = s.partition("百")
        h = _DIGITS.get(head, 1 if head == "" else -1)
        t = cn_int(tail) if tail else 0
        if h < 0 or t is None:
            return None
        return h * 100 + t
    if "十" in s:
        head, _, tail = s.partition("十")
        tens = 1 if head == "" else _DIGITS.get(head, -1)
        ones = 0 if tail == "" else _DIGITS.get(tail, -1)
        if tens < 0 or ones < 0 or len(head) > 1 or len(tail) > 1:
            return None
        return tens * 10 + ones
    if len(s) == 1 and s in _DIGITS:
        return _DIGITS[s]
    if all(c in _DIGITS for c in s):  # 二〇二六
        return int("".join(str(_DIGITS[c]) for c in s))
    return None
