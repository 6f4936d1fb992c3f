"""Numbers found again in a skeleton: the substring search gives exactly what a regex per
number gave (the former way, kept here as the reference)."""

from __future__ import annotations

import random
import re

from bot.text import phone_mask
from bot.text.phone_mask import _d, _found_again, mask_phones

ALPHABET = "0123456789" * 3 + "零一二三四五六七八九" + " ,./-" * 2 + "电话转abc\n"


def _reference(sk: str, again: dict[str, str]) -> list[tuple[int, int, str, bool]]:
    out = []
    for digits, masked in again.items():
        spelled = re.compile(r"(?<![0-9])" + r"[\s,./\-]*".join(map(_d, digits)) + r"(?![0-9])")
        out += [(m.start(), m.end(), masked, False) for m in spelled.finditer(sk)]
    return out


def test_the_search_finds_what_a_regex_per_number_found() -> None:
    rnd = random.Random(20261206)
    for _ in range(3000):
        sk = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 60)))
        pool = re.findall(r"[0-9]+", sk.translate(phone_mask._TO_ASCII)) or ["13867201234"]
        again = {}
        for _ in range(rnd.randint(1, 3)):
            source = rnd.choice(pool)
            a = rnd.randint(0, len(source) - 1)
            digits = source[a:a + rnd.randint(1, 12)]
            again[digits] = f"<{digits}>"
        assert _found_again(sk, [], again) == _reference(sk, again), (sk, again)


def test_a_number_given_twice_is_masked_both_times() -> None:
    text = "联系电话 138 6720 1234，有事再拨一三八六七二零一二三四"
    masked = mask_phones(text)
    assert "6720" not in masked and "六七二零" not in masked
    assert masked.count("138****1234") == 2
