"""Masking phone numbers for group posts, booklets and ledgers, whatever their spelling."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import replace

from bot.text.normalize import normalize
from bot.text.phones import NON_DIGIT, PhoneMatch, masked_phone, not_a_phone, scan_phones

# Masking reads more spellings than the parser, on a "skeleton" of the text: every digit form is
# a strong digit (any Unicode decimal digit, made ASCII) or a weak one (Chinese 一二三…, 〇 洞 幺,
# ①, ¹ …: made 零一二…九; they count inside a number but never end one, so 13867201234一下 is
# still a phone); a separator is any whitespace (controls too) or one of `,` `.` `/` `-` (every
# dash, full-width and small forms, middle dots); invisible marks (Unicode format characters Cf:
# soft hyphen, zero-width and bidi marks, BOM …; combining marks such as a keycap or a variation
# selector) are dropped. A skeleton span maps back to a span of the text (`_original`), so the
# masked text keeps the rest of the original byte for byte.

_CN = "零一二三四五六七八九"
# Unicode 14 general category Cf (format characters), first and last code point of each run.
_FORMAT = ((0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
           (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E),
           (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
           (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
           (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
           (0xE0020, 0xE007F))
# Marks that sit on any character (combining diacritics, keycap ⃣, variation selectors) and
# fillers that show nothing.
_MARKS = ((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF),
          (0xFE00, 0xFE0F), (0xFE20, 0xFE2F), (0xE0100, 0xE01EF), (0x115F, 0x1160),
          (0x3164, 0x3164), (0xFFA0, 0xFFA0))
# Unicode 14 general category Pd (dashes), and what looks like one: minus, hyphen bullet,
# box-drawing lines, the katakana prolonged sound mark.
_DASHES = ((0x058A, 0x058A), (0x05BE, 0x05BE), (0x1400, 0x1400), (0x1806, 0x1806),
           (0x2010, 0x2015), (0x2E17, 0x2E17), (0x2E1A, 0x2E1A), (0x2E3A, 0x2E3B),
           (0x2E40, 0x2E40), (0x2E5D, 0x2E5D), (0x301C, 0x301C), (0x3030, 0x3030),
           (0x30A0, 0x30A0), (0xFE31, 0xFE32), (0xFE58, 0xFE58), (0xFE63, 0xFE63),
           (0xFF0D, 0xFF0D), (0x10EAD, 0x10EAD), (0x2212, 0x2212), (0x2043, 0x2043),
           (0x2500, 0x2501), (0x23AF, 0x23AF), (0x30FC, 0x30FC), (0xFF70, 0xFF70))
# Digits that are no decimal digits (superscripts, circled and parenthesised digits …).
_DIGIT_SIGNS = ((0x00B2, 0x00B3), (0x00B9, 0x00B9), (0x1369, 0x1371), (0x19DA, 0x19DA),
                (0x2070, 0x2070), (0x2074, 0x2079), (0x2080, 0x2089), (0x2460, 0x2468),
                (0x2474, 0x247C), (0x2488, 0x2490), (0x24EA, 0x24EA), (0x24F5, 0x24FD),
                (0x24FF, 0x24FF), (0x2776, 0x277E), (0x2780, 0x2788), (0x278A, 0x2792),
                (0x10A40, 0x10A43), (0x10E60, 0x10E68), (0x11052, 0x1105A), (0x1F100, 0x1F10A))


def _points(runs: tuple[tuple[int, int], ...]) -> list[int]:
    return [cp for lo, hi in runs for cp in range(lo, hi + 1)]


def _skeleton_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}
    table.update({cp: " " for cp in [*range(0x20), *range(0x7F, 0xA0), 0x2800]
                  if not chr(cp).isspace()})  # controls; the braille blank
    table.update(dict.fromkeys(_points(_FORMAT) + _points(_MARKS)))  # None drops
    table.update(dict.fromkeys(_points(_DASHES), "-"))
    table.update({ord(c): "," for c in "，﹐‚"} | {ord(c): "/" for c in "／⁄∕"})
    table.update({ord(c): "." for c in "．﹒·・･‧∙⋅"})
    table.update({cp: _CN[unicodedata.digit(chr(cp))] for cp in _points(_DIGIT_SIGNS)})
    table.update({ord(c): "零" for c in "〇○◯洞"} | {ord("幺"): "一"})
    return table


_SKELETON = _skeleton_table()
_DROPPED = frozenset(cp for cp, to in _SKELETON.items() if to is None)


def _charset(points: Iterable[int]) -> str:
    """A regex character class for the code points, in runs (`[a-z…]`)."""
    runs: list[list[int]] = []
    for cp in sorted(set(points)):
        if runs and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return "[" + "".join(re.escape(chr(lo)) + (f"-{re.escape(chr(hi))}" if hi > lo else "")
                         for lo, hi in runs) + "]"


_DIGIT = _charset([*map(ord, "零〇○◯洞幺" + _CN), *_points(_DIGIT_SIGNS)])[:-1] + r"\d]"
_DIGIT_LIKE = re.compile(_DIGIT)
_SEPARATOR = _charset([*map(ord, ",./-"), *(cp for cp, to in _SKELETON.items()
                                            if to and to in " ,./-")])[:-1] + r"\s]"
_INVISIBLE = _charset(_DROPPED)
_SPACER = re.compile(f"{_SEPARATOR}|{_INVISIBLE}")
_DIGIT_AFTER = re.compile(f"(?:{_SEPARATOR}|{_INVISIBLE})*{_DIGIT}")
_MIN_DIGITS = 7  # the shortest number masking knows (a local number after 电话)
# Seven digits in the text with up to three separators (and any invisible marks) between each two:
# without such a run the text has no phone, for masking or for the parser.
_RUN = re.compile(
    f"{_DIGIT}(?:{_INVISIBLE}*(?:{_SEPARATOR}{_INVISIBLE}*){{0,3}}{_DIGIT}){{{_MIN_DIGITS - 1}}}"
)
_OTHER_DECIMAL = re.compile(r"(?![0-9])\d")
_TO_ASCII = str.maketrans(_CN, "0123456789")


def _d(digits: str = "0-9") -> str:
    """A skeleton character class for ASCII `digits` (`"3-9"`, `"1"`) and their weak forms."""
    values = range(int(digits[0]), int(digits[-1]) + 1)
    return "[" + digits + "".join(_CN[v] for v in values) + "]"


_GAP = r"[\s,./\-]{0,3}"  # up to three separators between two digits of a mobile: ` - ` is three
_GROUP_GAP = r"[\s./\-]{0,3}"  # between the groups of other numbers (a comma ends a number)
_ANY = _d()
_SK_MOBILE = re.compile(
    r"(?=[+018一])(?<![0-9])(?:(?:\+|00)" + _GAP + "86" + _GAP + r"|86-?)?"
    r"(" + _d("1") + _GAP + _d("3-9") + ("(?:" + _GAP + _ANY + "){9}") + r")(?![0-9])"
)
_SK_AREA = f"{_d('0')}{_d('1-2')}{_ANY}|{_d('0')}{_d('3-9')}{_ANY}{_ANY}"
_SK_LANDLINE = re.compile(
    rf"(?=[(0零])(?<![0-9])(?:\(\s*({_SK_AREA})\s*\){_GROUP_GAP}|({_SK_AREA}){_GROUP_GAP})"
    rf"({_d('2-9')}{_ANY}{{2,3}}){_GROUP_GAP}({_ANY}{{4}})(?![0-9])"
    r"(?:\s*(?:转|分机|ext\.?|EXT\.?|Ext\.?)\s*([0-9]{1,5})|-([0-9]{1,4}))?(?![0-9])"
)
_SK_HOTLINE = re.compile(
    rf"(?=[48四八])(?<![0-9])({_d('4')}{_d('0')}{{2}}|{_d('8')}{_d('0')}{{2}}){_GROUP_GAP}"
    rf"({_ANY}{{3}}){_GROUP_GAP}({_ANY}{{4}})(?![0-9])"
)
_SK_LOCAL = re.compile(
    r"(?:电话|座机|固话|办公室|tel|Tel|TEL)\s*(?:号码|号)?\s*[:：]?\s*"
    rf"({_d('2-9')}{_ANY}{{2,3}}){_GROUP_GAP}({_ANY}{{4}})(?![0-9])"
)


def _skeleton(text: str) -> tuple[str, list[int]]:
    """The skeleton of `text`, and where it lost characters (see `_original`)."""
    sk = text.translate(_SKELETON)
    if _OTHER_DECIMAL.search(sk):
        sk = _OTHER_DECIMAL.sub(lambda m: str(int(m.group())), sk)
    if len(sk) == len(text):
        return sk, []
    dropped = [i for i, ch in enumerate(text) if ord(ch) in _DROPPED]
    return sk, [i - n for n, i in enumerate(dropped)]


def _original(lost: list[int], start: int, end: int) -> tuple[int, int]:
    """The span of the text a skeleton span comes from."""
    return start + bisect_right(lost, start), end - 1 + bisect_right(lost, end - 1) + 1


def _ascii(digits: str) -> str:
    """The digits of a skeleton or parser reading, in ASCII (`138-六七` -> `13867`)."""
    out = NON_DIGIT.sub("", digits.translate(_TO_ASCII))
    return out if out.isascii() else "".join(str(int(c)) for c in out)


def _skeleton_phones(sk: str) -> list[PhoneMatch]:
    """Phone numbers of a skeleton, mobiles first, in skeleton positions (may overlap)."""
    found: list[PhoneMatch] = []
    for m in _SK_MOBILE.finditer(sk):
        found.append(PhoneMatch(m.start(), m.end(), _ascii(m.group(1)), "mobile"))
    for m in _SK_LANDLINE.finditer(sk):
        value = f"{_ascii(m.group(1) or m.group(2))}-{_ascii(m.group(3) + m.group(4))}"
        ext = m.group(5) or m.group(6)
        found.append(PhoneMatch(m.start(), m.end(), value + (f"转{ext}" if ext else ""),
                                "landline"))
    for m in _SK_HOTLINE.finditer(sk):
        found.append(PhoneMatch(m.start(), m.end(), "-".join(map(_ascii, m.groups())),
                                "hotline"))
    for m in _SK_LOCAL.finditer(sk):
        found.append(PhoneMatch(m.start(1), m.end(), _ascii(m.group(1) + m.group(2)), "local"))
    return [p for p in found if not not_a_phone(sk, p.start)]


# Digits of a skeleton (ASCII or their weak forms) with any separators between them.
_SK_RUN = re.compile(_ANY + r"(?:[\s,./\-]*" + _ANY + ")*")


def _again(found: list[PhoneMatch]) -> dict[str, str]:
    """Digits to look for once more, each with its masked form: a number is a phone wherever it
    stands in a text where it was a phone once (电话 87654321 … 再拨 87654321); a landline's
    local number too."""
    out: dict[str, str] = {}
    for p in {p.value.partition("转")[0]: p for p in found}.values():
        value = p.value.partition("转")[0]
        if p.kind == "landline":
            local = value.partition("-")[2]
            out.setdefault(_ascii(local), masked_phone(PhoneMatch(0, 0, local, "local")))
        out.setdefault(_ascii(value), masked_phone(replace(p, value=value)))
    return out


# Where a number stands in the text, its masked form, and whether it must be masked (the parser
# reads it) even where another reading of the same digits is taken.
_Span = tuple[int, int, str, bool]


def mask_phones(text: str) -> str:
    """`text` with every phone number masked: 138****5678, 0571-****4321, whatever the digit forms
    (full-width, Chinese), separators (any space, dash, `,` `/` `.`, a line break, up to three
    between two digits) and invisible marks in it. The rest of the text is kept as it is."""
    if not _RUN.search(text):
        return text
    sk, lost = _skeleton(text)
    mine = _skeleton_phones(sk)
    parsed = scan_phones(normalize(text, None))  # what the parser reads is always masked too
    if not mine and not parsed:
        return text
    again = _again(mine + parsed)
    # Mobiles first (as `scan_phones` takes them), then the other numbers, then the parser's
    # readings (the skeleton reads them whole where the parser stops at an invisible mark),
    # then the numbers found once, wherever else they stand.
    spans = [(*_original(lost, p.start, p.end), masked_phone(p), False) for p in mine]
    spans += [(p.start, p.end, masked_phone(p), True) for p in parsed]
    spans += _found_again(sk, lost, again)
    out, touching = _cut(text, spans)
    for _ in range(4):
        # Digits right by a masked number (138****1234一二…) may make one of the numbers again.
        if not touching:
            break
        sk, lost = _skeleton(out)
        out, touching = _cut(out, _found_again(sk, lost, again))
    return out


def _found_again(sk: str, lost: list[int], again: dict[str, str]) -> list[_Span]:
    """Where the numbers of `again` stand in a skeleton, as spans of its text: the digits in
    any form, with any separators between them, and no ASCII digit right before or after
    (for each number in turn, left to right, never overlapping). A substring search over
    each run of digits, not a regex compiled for every number."""
    runs = []
    for m in _SK_RUN.finditer(sk):
        at = [i for i in range(m.start(), m.end()) if _ANY_ONE.match(sk, i)]
        runs.append((at, "".join(sk[i] for i in at).translate(_TO_ASCII)))
    out: list[_Span] = []
    for digits, masked in again.items():
        n = len(digits)
        for at, values in runs:
            i = values.find(digits)
            while i != -1:
                start, end = at[i], at[i + n - 1] + 1
                if not ((start and sk[start - 1] in _ASCII_DIGITS)
                        or (end < len(sk) and sk[end] in _ASCII_DIGITS)):
                    out.append((*_original(lost, start, end), masked, False))
                    i = values.find(digits, i + n)
                else:
                    i = values.find(digits, i + 1)
    return out


_ANY_ONE = re.compile(_ANY)
_ASCII_DIGITS = frozenset("0123456789")


def _cut(text: str, spans: list[_Span]) -> tuple[str, bool]:
    """`text` with the spans replaced, earlier ones in the list first, and whether a replaced span
    has a digit next to it (with separators between at most). A span that clashes with a taken
    one is another reading of the same digits and is left out; but if it must be masked (the
    parser reads it), its digits outside the taken spans are starred."""
    starts: list[int] = []  # of the taken spans, sorted; they never overlap
    taken: list[tuple[int, int, str]] = []
    stars: set[int] = set()
    for start, end, masked, must in spans:
        at = bisect_right(starts, start)
        if (at == 0 or taken[at - 1][1] <= start) and (at == len(taken) or end <= starts[at]):
            starts.insert(at, start)
            taken.insert(at, (start, end, masked))
        elif must and not (at and start >= starts[at - 1] and end <= taken[at - 1][1]):
            stars.update(i for i in range(start, end) if _DIGIT_LIKE.match(text[i])
                         and not any(s <= i < e for s, e, _ in taken))
    parts: list[str] = []
    last = 0
    touching = False
    for start, end, masked in taken:
        parts += [_starred(text, last, start, stars), masked]
        touching = touching or _touches(text, start, end)
        last = end
    parts.append(_starred(text, last, len(text), stars))
    return "".join(parts), touching


def _touches(text: str, start: int, end: int) -> bool:
    """Whether a digit stands before or after the span, with separators between at most."""
    if _DIGIT_AFTER.match(text, end):
        return True
    while start and _SPACER.match(text, start - 1):
        start -= 1
    return bool(start and _DIGIT_LIKE.match(text, start - 1))


def _starred(text: str, start: int, end: int, stars: set[int]) -> str:
    if not stars:
        return text[start:end]
    return "".join("*" if i in stars else text[i] for i in range(start, end))
