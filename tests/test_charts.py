"""The tally chart: a valid, decodable PNG whose bars stand where and as tall as they should."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest

from bot.charts import (
    BACKGROUND,
    BASELINE,
    HEIGHT,
    IMAGE_PNG,
    PNG_SIGNATURE,
    SERIES,
    WIDTH,
    Bar,
    chart_bars,
    decode_png,
    encode_png,
    figure,
    image_extra,
    image_of,
    legend,
    tally_chart_png,
)

MAY = {"requests": 62, "completed": 48, "solved": 31, "sessions": 57, "person_times": 512,
       "suggestions": 23, "hours": 120.5, "satisfaction": 0.95}
APRIL = {"requests": 50, "completed": 52, "solved": 20, "sessions": 40, "person_times": 430,
         "suggestions": 0}
ZEROS = {s.key: 0 for s in SERIES}


def _pixels(png: bytes) -> tuple[int, int, bytes]:
    """Decode with zlib alone (not the module's reader): IHDR size, IDAT rows, filter 0."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height, depth, color = struct.unpack(">IIBB", png[16:26])
    assert (depth, color) == (8, 2)
    idat = b""
    pos = 8
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            idat += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    assert len(raw) == stride * height
    assert all(raw[y * stride] == 0 for y in range(height))
    return width, height, b"".join(raw[y * stride + 1:(y + 1) * stride] for y in range(height))


def _at(pixels: bytes, x: int, y: int) -> tuple[int, int, int]:
    i = (y * WIDTH + x) * 3
    return pixels[i], pixels[i + 1], pixels[i + 2]


def _bar(bars: list[Bar], series: int, current: bool) -> Bar:
    return next(b for b in bars if b.series == series and b.current == current)


def _drawn_height(pixels: bytes, bar: Bar) -> int:
    """How many rows above the baseline the bar's colour fills, read off the image."""
    x, y, n = (bar.x0 + bar.x1) // 2, BASELINE - 1, 0
    while y >= 0 and _at(pixels, x, y) == bar.color:
        n, y = n + 1, y - 1
    return n


def test_png_signature_header_size_and_determinism() -> None:
    png = tally_chart_png(MAY, APRIL)
    assert png.startswith(PNG_SIGNATURE) and png.endswith(b"IEND\xaeB`\x82")
    assert struct.unpack(">II", png[16:24]) == (WIDTH, HEIGHT)
    assert 300 <= HEIGHT <= WIDTH <= 800
    assert len(png) < 30_000
    assert tally_chart_png(dict(MAY), dict(APRIL)) == png  # same figures, same bytes
    assert tally_chart_png(MAY, ZEROS) != png


def test_bars_are_where_they_must_be_and_background_elsewhere() -> None:
    png = tally_chart_png(MAY, APRIL)
    width, height, pixels = _pixels(png)
    assert (width, height) == (WIDTH, HEIGHT)
    assert decode_png(png) == (width, height, pixels)  # the module's reader agrees
    bars = chart_bars(MAY, APRIL)
    assert len(bars) == 2 * len(SERIES)
    for b in bars:
        mid = (b.x0 + b.x1) // 2
        if b.top < BASELINE:
            assert _at(pixels, mid, BASELINE - 1) == b.color
            assert _at(pixels, mid, b.top) == b.color
    requests_now = _bar(bars, 0, True)
    assert requests_now.color == SERIES[0].color  # dark: this month
    assert _bar(bars, 0, False).color == SERIES[0].light != SERIES[0].color
    assert _at(pixels, 2, 2) == BACKGROUND  # corner
    assert _at(pixels, WIDTH - 3, BASELINE - 40) == BACKGROUND  # right margin
    gap = (_bar(bars, 0, True).x1 + _bar(bars, 1, False).x0) // 2  # between two groups
    assert _at(pixels, gap, BASELINE - 20) == BACKGROUND
    colours = {s.color for s in SERIES}
    assert len(colours) == len(SERIES)  # told apart by colour as well as position


def test_taller_bar_for_larger_value() -> None:
    _w, _h, pixels = _pixels(tally_chart_png(MAY, APRIL))
    bars = chart_bars(MAY, APRIL)
    for i, s in enumerate(SERIES):
        now = _drawn_height(pixels, _bar(bars, i, True))
        before = _drawn_height(pixels, _bar(bars, i, False))
        assert (now > before) == (MAY[s.key] > APRIL[s.key])
        assert (now < before) == (MAY[s.key] < APRIL[s.key])
    # 收到需求 62 vs 50: the larger is full height, the other in proportion
    full = _drawn_height(pixels, _bar(bars, 0, True))
    assert abs(_drawn_height(pixels, _bar(bars, 0, False)) - full * 50 / 62) <= 1
    assert _drawn_height(pixels, _bar(bars, 5, False)) == 0  # 0 suggestions in April


def test_empty_tally_draws_no_bars() -> None:
    for previous in (ZEROS, None):
        png = tally_chart_png(ZEROS, previous)
        _w, _h, pixels = _pixels(png)
        for b in chart_bars(ZEROS, previous):
            assert b.top == BASELINE and b.label == "0"
            assert _at(pixels, (b.x0 + b.x1) // 2, BASELINE - 1) == BACKGROUND
    _w, _h, pixels = _pixels(tally_chart_png({}, None))  # keys missing: zeros too
    assert _at(pixels, WIDTH // 2, BASELINE // 2) == BACKGROUND


def test_without_previous_each_figure_has_one_centred_bar() -> None:
    bars = chart_bars(MAY, None)
    assert len(bars) == len(SERIES) and all(b.current for b in bars)
    _w, _h, pixels = _pixels(tally_chart_png(MAY, None))
    assert all(_drawn_height(pixels, b) > 100 for b in bars)


@pytest.mark.parametrize("huge", [10**6, 3 * 10**9, 10**30, 1e300, float("inf")])
def test_huge_values_do_not_overflow(huge: float) -> None:
    now: dict[str, Any] = {s.key: huge for s in SERIES}
    before: dict[str, Any] = {s.key: 1 for s in SERIES}
    png = tally_chart_png(now, before)
    assert _pixels(png)[:2] == (WIDTH, HEIGHT) and len(png) < 30_000
    for b in chart_bars(now, before):
        assert 0 <= b.top <= BASELINE and 0 <= b.x0 < b.x1 <= WIDTH


def test_odd_inputs_count_as_zero() -> None:
    odd: dict[str, Any] = {"requests": -5, "completed": None, "solved": "7",
                           "sessions": float("nan"), "person_times": True}
    bars = chart_bars(odd, None)
    assert all(b.top == BASELINE for b in bars)
    assert _pixels(tally_chart_png(odd, None))[:2] == (WIDTH, HEIGHT)


def test_figures_are_short() -> None:
    assert [figure(v) for v in (0, 62, 4.5, 9999, 12345, 123456, 1234567, 3.4e8)] == [
        "0", "62", "4.5", "9999", "1.2万", "12.3万", "123万", "3.4亿"]
    assert figure(None) == "-" and figure(float("nan")) == "-" and figure(-3) == "-3"
    assert figure(10**30) == "9999+亿"


def test_legend_names_the_bars_in_order() -> None:
    line = legend()
    assert line.startswith("图：①收到需求 ②已办结 ③解决难题 ④服务场次 ⑤服务人次 ⑥合理化建议")
    assert "深色本月、浅色上月" in line
    assert "浅色" not in legend("本期", None) and "深色本期" in legend("本期", None)


def test_image_travels_in_extra_as_base64() -> None:
    png = tally_chart_png(MAY, APRIL)
    extra = image_extra(png, "tally-2026-05.png")
    assert all(isinstance(v, str) for v in extra.values())
    assert image_of(extra) == png
    assert image_of({}) is None
    assert image_of({IMAGE_PNG: "not base64!"}) is None
    assert image_of({IMAGE_PNG: "aGVsbG8="}) is None  # base64, but not a PNG


def test_encoder_round_trip_and_checks() -> None:
    rgb = bytes(i % 251 for i in range(64 * 48 * 3))  # 64 × 48 pixels, 3 bytes each
    png = encode_png(64, 48, rgb)
    assert decode_png(png) == (64, 48, rgb)
    with pytest.raises(ValueError):
        encode_png(10, 10, b"\x00" * 5)
    broken = bytearray(png)
    broken[45] ^= 0xFF  # inside the IDAT: its CRC no longer matches
    with pytest.raises(ValueError):
        decode_png(bytes(broken))
    with pytest.raises(ValueError):
        decode_png(b"GIF89a")
