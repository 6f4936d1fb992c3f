"""Phone numbers in a message: find and normalise them (masking is in phone_mask.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text.normalize import normalize


@dataclass(frozen=True)
class PhoneMatch:
    """One phone number found in normalised text."""

    start: int
    end: int
    value: str  # "13867201234", "0571-87654321", "0571-87654321转123", "400-820-1234"
    kind: str  # "mobile", "landline", "hotline", "local"


_SEP = r"[ \-.]?"
# The patterns start by looking ahead for a character a match can start with: this changes no
# match, but the regex engine gives up at once at the other positions.
_MOBILE = re.compile(
    r"(?=[+018])(?<![\d#])"
    r"(?:(?:\+|00)\s?86[ \-]?|(?<!\d)86-|(?<!\d)86(?=1[3-9]\d{9}(?!\d)))?"
    r"(1" + _SEP + r"[3-9](?:" + _SEP + r"\d){9})(?!\d)"  # also 1 3 8 5 … one by one
)
_EXT = r"(?:\s*(?:转|分机|ext\.?|EXT\.?|Ext\.?)\s*(\d{1,5})|-(\d{1,4}))?"
_LANDLINE = re.compile(
    r"(?=[(（0])(?<![\d#])"
    r"(?:[(（]\s*(0[12]\d|0[3-9]\d\d)\s*[)）]\s*-?\s*|(0[12]\d|0[3-9]\d\d)[ \-]?)"
    r"([2-9]\d{2,3})[ \-]?(\d{4})(?!\d)" + _EXT + r"(?!\d)"
)
_HOTLINE = re.compile(r"(?=[48])(?<![\d#])([48]00)[ \-]?(\d{3})[ \-]?(\d{4})(?!\d)")
_LOCAL = re.compile(
    r"(?:电话|座机|固话|办公室|tel|Tel|TEL)\s*(?:号码|号)?\s*[:：]?\s*([2-9]\d{2,3})-?(\d{4})(?!\d)"
)
# Numbers after these words are not phones (QQ, order, ID card, bank card …).
_NOT_PHONE = re.compile(
    r"(?:QQ|qq|Qq|扣扣|单号|订单|编号|工号|身份证|证件|卡号|账号|帐号|快递|运单|批次|型号|序列号|"
    r"SN|sn|No\.?)\s*(?:号码|号)?\s*[:：]?\s*$"
)
NON_DIGIT = re.compile(r"\D")
# A number read out digit by digit (voice input: 一三九五八…): the same positions, in digits.
# Read out in groups, a space may fall between digits (幺三五 七二八 五四…).
_SPOKEN_RUN = re.compile(r"[零〇洞幺一二三四五六七八九](?: ?[零〇洞幺一二三四五六七八九]){6,}")
_SPOKEN = str.maketrans("零〇洞幺一二三四五六七八九", "0001123456789")


def _digits_spoken(norm: str) -> str:
    return _SPOKEN_RUN.sub(lambda m: m.group().translate(_SPOKEN), norm)


def not_a_phone(norm: str, start: int) -> bool:
    return bool(_NOT_PHONE.search(norm[max(0, start - 8):start]))


def scan_phones(norm: str) -> list[PhoneMatch]:
    """Every phone number occurrence in normalised text, in order."""
    norm = _digits_spoken(norm)
    found: list[PhoneMatch] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, value: str, kind: str) -> None:
        if any(s < end and start < e for s, e in taken) or not_a_phone(norm, start):
            return
        taken.append((start, end))
        found.append(PhoneMatch(start, end, value, kind))

    for m in _MOBILE.finditer(norm):
        add(m.start(), m.end(), NON_DIGIT.sub("", m.group(1)), "mobile")
    for m in _LANDLINE.finditer(norm):
        code = m.group(1) or m.group(2)
        value = f"{code}-{m.group(3)}{m.group(4)}"
        ext = m.group(5) or m.group(6)
        if ext:
            value += f"转{ext}"
        add(m.start(), m.end(), value, "landline")
    for m in _HOTLINE.finditer(norm):
        add(m.start(), m.end(), f"{m.group(1)}-{m.group(2)}-{m.group(3)}", "hotline")
    for m in _LOCAL.finditer(norm):
        add(m.start(1), m.end(), m.group(1) + m.group(2), "local")
    found.sort(key=lambda p: p.start)
    return found


def find_phones(norm: str) -> list[PhoneMatch]:
    """Every phone number in normalised text (see `normalize`), in order, without repeats."""
    if not any(map(str.isdigit, norm)) and not _SPOKEN_RUN.search(norm):
        return []
    out: list[PhoneMatch] = []
    seen: set[str] = set()
    for p in scan_phones(norm):
        if p.value not in seen:
            seen.add(p.value)
            out.append(p)
    return out


def phones_in(text: str) -> tuple[str, ...]:
    """Normalised phone numbers of a raw text, in order."""
    return tuple(p.value for p in find_phones(normalize(text, None)))


def masked_phone(p: PhoneMatch) -> str:
    v = p.value
    if p.kind == "mobile":
        return v[:3] + "****" + v[-4:]
    if p.kind == "landline":
        code, _, rest = v.partition("-")
        local, sep, ext = rest.partition("转")
        return f"{code}-{'*' * (len(local) - 4)}{local[-4:]}{sep}{ext}"
    if p.kind == "hotline":
        return v[:4] + "***" + v[7:]
    return "*" * (len(v) - 4) + v[-4:]


# The kind of a number as `scan_phones` writes its value; anything else is masked as a local
# number (all but the last four characters).
_VALUE_KINDS = ((re.compile(r"1\d{10}"), "mobile"), (re.compile(r"[48]00-\d{3}-\d{4}"), "hotline"),
                (re.compile(r"0\d{2,3}-\d{7,8}(?:转\d{1,5})?"), "landline"))


def masked_value(value: str) -> str:
    """A number as the parser gives it (`PhoneMatch.value`, an order's phone) masked for a
    group: 138****1234, 0571-****4321转123, 400-***-1234, ****4321."""
    for pattern, kind in _VALUE_KINDS:
        if pattern.fullmatch(value):
            return masked_phone(PhoneMatch(0, len(value), value, kind))
    return "*" * max(len(value) - 4, 4) + value[-4:]
