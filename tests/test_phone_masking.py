"""Masking phones in group posts: every spelling the parser reads and more, nothing else."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.text.phone_mask import mask_phones
from bot.text.phones import phones_in

CHINESE = ["零〇洞", "一幺", "二", "三", "四", "五", "六", "七", "八", "九"]
# Every way a digit is written in the generated spellings: ASCII, full-width, Chinese.
FORMS = {str(d): [str(d), chr(0xFF10 + d), *CHINESE[d]] for d in range(10)}
CHINESE_DIGIT = {ch: str(d) for d, forms in enumerate(CHINESE) for ch in forms}
SEPARATORS = [" ", "\u00a0", "\u202f", "\u2009", "\u200a", "\u3000", "\t", "\n", "\r",
              "-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212", "\uff0d",
              ",", "，", "/", "／", ".", "．", "·"]
INVISIBLE = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f",
             "\u202a", "\u202c", "\u2066", "\u2069", "\u061c", "\u180e"]
# Chinese around the number, without digits and without the words that say a number is no phone
# (QQ, 单号, 编号, 卡号 …).
AROUND = ("联系人吴经理师傅请您明天上午到厂里来看设备谢焊接变形德清钢构企业急电话手机"
          "：，。！？ 、（）")
SPACE_LIKE = {"Zs", "Zl", "Zp", "Cc", "Cf", "Pd"}


def digits_of(text: str) -> str:
    """`text` read the way a person reads a number: every digit form in ASCII, separators and
    invisible marks dropped, everything else kept (so a masked `****` still breaks the run)."""
    out = []
    for ch in text:
        if ch in CHINESE_DIGIT:
            out.append(CHINESE_DIGIT[ch])
        elif (d := unicodedata.digit(ch, None)) is not None:
            out.append(str(d))
        elif unicodedata.category(ch) in SPACE_LIKE or ch in "−,，/／.．·":
            continue
        else:
            out.append(ch)
    return "".join(out)


def phone_digits(value: str) -> str:
    """The digits of a parser value (`0571-87654321转123` -> `057187654321`)."""
    return re.sub(r"\D", "", digits_of(value.partition("转")[0]))


# --- examples: all but the zero-width marks, dashes and spoken digits leaked whole before ---

@pytest.mark.parametrize(("text", "want"), [
    ("电话 138\u00a06720\u00a01234", "电话 138****1234"),  # no-break spaces
    ("电话 138\u202f6720\u202f1234", "电话 138****1234"),  # narrow no-break spaces
    ("电话 138\u20096720\u200a1234", "电话 138****1234"),  # thin and hair spaces
    ("电话 138\u00ad6720\u00ad1234", "电话 138****1234"),  # soft hyphens
    ("电话 1386\u200b720\u200d1234\u2060", "电话 138****1234\u2060"),  # zero-width marks
    ("电话 138 - 6720 - 1234", "电话 138****1234"),
    ("电话 138, 6720, 1234", "电话 138****1234"),
    ("电话 138/6720/1234", "电话 138****1234"),
    ("电话 138·6720·1234", "电话 138****1234"),
    ("电话 138\n6720\n1234 谢谢", "电话 138****1234 谢谢"),
    ("电话 138–6720—1234", "电话 138****1234"),  # en and em dashes
    ("请联系#13867201234", "请联系#138****1234"),
    ("请联系＃13867201234", "请联系＃138****1234"),
    ("电话138六七二零1234", "电话138****1234"),
    ("电话一三八六七二〇一二三四", "电话138****1234"),
    ("电话幺三八六七二洞幺二三四", "电话138****1234"),
    ("电话 １３８６７２０1234", "电话 138****1234"),
    ("电话13867201234一下就行", "电话138****1234一下就行"),
    ("电话 +86\u00a0138\u00a06720\u00a01234。", "电话 138****1234。"),
    ("座机 0571\u00a087654321", "座机 0571-****4321"),
    ("座机 0571 - 8765 - 4321", "座机 0571-****4321"),
    ("热线 400\u00a0820\u00a01234", "热线 400-***-1234"),
    ("电话 8765 4321", "电话 ****4321"),
    ("电话 " + "".join(d + "\ufe0f\u20e3" for d in "13867201234"),  # keycap digits
     "电话 138****1234\ufe0f\u20e3"),
    ("电话 ①③⑧⑥⑦②⓪①②③④", "电话 138****1234"),
    ("电话 ¹³⁸⁶⁷²⁰¹²³⁴", "电话 138****1234"),
    ("手机 139 0572 8866，2026-06-10 前", "手机 139****8866，2026-06-10 前"),  # the date stays
    ("座机0571-87654321，也可以直接拨87654321", "座机0571-****4321，也可以直接拨****4321"),
])
def test_spellings_are_masked(text: str, want: str) -> None:
    assert mask_phones(text) == want


@pytest.mark.parametrize("text", [
    "接单 #12", "#12 已办结", "受益职工30人，服务2小时", "2026-05-20 前完成",
    "2026.05.20 13:30 开始",
    "时间：9.30-11.30", "活动时间 06.28 9.30-11.30", "128.5万元", "费用 ¥1,380.00 元",
    "第1、3、5条", "一二三四五六七八九十", "2026年5月20日下午3点", "第一季度完成123项",
    "QQ 13867201234", "订单号13867201234", "身份证330521199001011234",
    "6222 0213 8672 0123 456", "138672012345", "周一至周五 13:00-17:00，5人一组",
    "区号 0572，8866，2026", "周一 9.30-11.30, 13.30-15.30", "2026年5月13日 14:00-16:00",
    "服务时长 1.5 小时，受益职工 120 人", "金额 12,800.00 元", "第1, 2, 3项",
    "本周进展：\n#12 已办结\n#13 2026-05-20 前完成\n#14 已接单 张师傅 明天下午3点",
])
def test_ordinary_text_is_not_masked(text: str) -> None:
    assert mask_phones(text) == text


def _characters(*categories: str) -> list[str]:
    """Every character of the Unicode general categories (planes 0, 1 and 14)."""
    points = [*range(0x20000), *range(0xE0000, 0xE1000)]
    return [chr(cp) for cp in points if unicodedata.category(chr(cp)) in categories]


def test_every_space_dash_and_invisible_mark_of_unicode_is_read_through() -> None:
    for ch in _characters("Zs", "Zl", "Zp", "Pd", "Cf"):
        assert mask_phones(f"电话 138{ch}6720{ch}1234") == "电话 138****1234", hex(ord(ch))


def test_a_mobile_in_every_script_of_decimal_digits_is_masked() -> None:
    zeros = [ch for ch in _characters("Nd") if unicodedata.decimal(ch) == 0]
    assert len(zeros) > 50
    for zero in zeros:
        number = "".join(chr(ord(zero) + int(d)) for d in "13867201234")
        assert mask_phones(f"电话 {number}。") == "电话 138****1234。", hex(ord(zero))


def test_what_was_masked_before_is_masked_the_same_way() -> None:
    assert mask_phones("+86 138-6720-1234") == "138****1234"
    assert mask_phones("（0512）6543 2109") == "0512-****2109"
    assert mask_phones("0571-87654321转123") == "0571-****4321转123"
    assert mask_phones("没有号码") == "没有号码"


# --- generated spellings ----------------------------------------------------------------------

gaps = st.builds(
    lambda a, b, c: "".join(a + b + c),
    st.lists(st.sampled_from(INVISIBLE), max_size=1),
    st.lists(st.sampled_from(SEPARATORS + INVISIBLE), max_size=3),
    st.lists(st.sampled_from(INVISIBLE), max_size=1),
)
group_gaps = gaps.filter(lambda g: not any(c in g for c in ",，"))
mobiles = st.builds(lambda second, rest: "1" + second + rest,
                    st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9))
around = st.text(AROUND, max_size=12)
tight = st.lists(st.sampled_from(INVISIBLE), max_size=1).map("".join)  # inside a digit group


@st.composite
def spelled(draw: st.DrawFn, digits: str, between: st.SearchStrategy[str] = gaps) -> str:
    """`digits` with each digit in a random form and random separators between them."""
    out = [draw(st.sampled_from(FORMS[digits[0]]))]
    for d in digits[1:]:
        out += [draw(between), draw(st.sampled_from(FORMS[d]))]
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(st.data(), mobiles, around, around,
       st.sampled_from(["", "#", "＃", "+86", "+86 ", "+86-", "0086", "86"]))
def test_a_mobile_in_any_spelling_is_masked_and_nothing_else_changes(
        data: st.DataObject, mobile: str, before: str, after: str, lead: str) -> None:
    text = before + lead + data.draw(spelled(mobile)) + after
    masked = mask_phones(text)
    assert mobile not in digits_of(masked)
    kept = lead if lead in ("#", "＃") else ""  # a country code goes with the number, as before
    assert masked == before + kept + mobile[:3] + "****" + mobile[-4:] + after


landlines = st.tuples(st.sampled_from(["010", "021", "0571", "0572", "0512", "0755"]),
                      st.builds(str.__add__, st.sampled_from("23456789"),
                                st.text("0123456789", min_size=6, max_size=7)))


@settings(max_examples=200, deadline=None)
@given(st.data(), landlines, around, around)
def test_a_landline_in_any_spelling_is_masked(
        data: st.DataObject, landline: tuple[str, str], before: str, after: str) -> None:
    """Area code, exchange and the last four digits, each group in mixed digit forms, separators
    but a comma between the groups (as today: no separators inside a group)."""
    area, local = landline
    text = (before + data.draw(spelled(area, tight)) + data.draw(group_gaps)
            + data.draw(spelled(local[:-4], tight)) + data.draw(group_gaps)
            + data.draw(spelled(local[-4:], tight)) + after)
    masked = mask_phones(text)
    assert area + local not in digits_of(masked)
    assert masked == before + f"{area}-{'*' * (len(local) - 4)}{local[-4:]}" + after


PIECES = ["电话", "手机", "座机", "tel", "转", "分机", "ext.", "-", " ", ".", "/", "+86", "0086",
          "86", "(", ")", "（", "）", "#", "，", "\n", "\u00a0", "\u00ad", "\u200b", "\u3000",
          "0571", "8765", "4321", "1386720", "1234", "400", "820", "13867201234",
          "１３８６７２０１２３４", "一三九五七二六八八一二", "零五七一八六九一五五三零",
          "六七二零", "受益职工30人", "2026-05-20", "吴经理"]
texts = st.lists(st.sampled_from(PIECES) | st.text("0123456789", min_size=1, max_size=12)
                 | st.text(max_size=3), max_size=14).map("".join)


@settings(max_examples=500, deadline=None)
@given(texts)
# Masking the first mobile left 1395 in sight, and the spoken number after it made a phone again.
@example("+861386720一三九五七二六八八一二(8 一三九五七二六八八一二")
def test_every_phone_the_parser_reads_is_masked(text: str) -> None:
    """No number the parser takes for a phone is left whole anywhere in the masked text
    (standing alone: digits glued to a longer run are no longer that number)."""
    seen = digits_of(mask_phones(text))
    for value in phones_in(text):
        assert not re.search(rf"(?<!\d){phone_digits(value)}(?!\d)", seen), value
