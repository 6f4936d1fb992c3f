"""The monthly tally as a PNG bar chart, drawn and encoded in pure Python (zlib + struct)."""

from __future__ import annotations

import base64
import binascii
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

RGB = tuple[int, int, int]

WIDTH, HEIGHT = 720, 320
MARGIN_X = 24
TOP = 14
BASELINE = 262  # the first row under the bars; the axis line starts here
LABEL_SPACE = 30  # room above the tallest bar for its figure
MAX_BAR = BASELINE - TOP - LABEL_SPACE
BAR_WIDTH = 44
BAR_GAP = 8
CIRCLE_RADIUS = 13
CIRCLE_Y = BASELINE + 4 + 4 + CIRCLE_RADIUS
BACKGROUND: RGB = (255, 255, 255)
AXIS: RGB = (203, 213, 225)
TEXT: RGB = (31, 41, 55)
TEXT_PREVIOUS: RGB = (100, 116, 139)
WHITE: RGB = (255, 255, 255)


@dataclass(frozen=True)
class Series:
    """One figure of the tally: its key, its word (for the legend) and its colour."""

    key: str
    word: str
    color: RGB

    @property
    def light(self) -> RGB:
        """The paler shade used for the previous period."""
        r, g, b = (round(v + (255 - v) * 0.62) for v in self.color)
        return r, g, b


SERIES = (
    Series("requests", "收到需求", (37, 99, 235)),
    Series("completed", "已办结", (22, 163, 74)),
    Series("solved", "解决难题", (13, 148, 136)),
    Series("sessions", "服务场次", (234, 88, 12)),
    Series("person_times", "服务人次", (124, 58, 237)),
    Series("suggestions", "合理化建议", (219, 39, 119)),
)
CIRCLED = "①②③④⑤⑥⑦⑧⑨"
GROUP_WIDTH = (WIDTH - 2 * MARGIN_X) // len(SERIES)


def legend(this_word: str = "本月", previous_word: str | None = "上月") -> str:
    """The line that names the chart's bars, for the message that carries it."""
    names = " ".join(f"{CIRCLED[i]}{s.word}" for i, s in enumerate(SERIES))
    shades = f"深色{this_word}" + (f"、浅色{previous_word}" if previous_word else "")
    return f"图：{names}；{shades}，每项按各自数值比例绘制"


# -- a 5×7 pixel font for figures (万 and 亿 are 7 wide) ----------------------------------------

_GLYPHS: dict[str, tuple[str, ...]] = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
    ".": ("..", "..", "..", "..", "..", "##", "##"),
    "%": ("##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"),
    "-": ("....", "....", "....", "####", "....", "....", "...."),
    "+": (".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."),
    "万": ("#######", "..#....", "..#####", "..#...#", "..#...#", ".#....#", "#...##."),
    "亿": (".#.####", ".#....#", "##...#.", ".#..#..", ".#.#...", ".#.#..#", ".#..###"),
}
GLYPH_HEIGHT = 7


def text_width(text: str, scale: int) -> int:
    """Width in pixels of `text` drawn at `scale` (one blank column between glyphs)."""
    if not text:
        return 0
    return sum((len(_GLYPHS[c][0]) + 1) * scale for c in text) - scale


def figure(value: float | None) -> str:
    """A figure as the chart writes it: 62, 4.5, 1.2万, 3.4亿, '-' for none."""
    if value is None or not math.isfinite(value):
        return "-"
    if value < 0:
        return "-" + figure(-value)
    if value < 10_000:
        return _short(value, 1 if value < 100 else 0)
    for unit, size in (("亿", 1e8), ("万", 1e4)):
        if value >= size:
            q = value / size
            if q >= 10_000:
                return "9999+" + unit
            return _short(q, 1 if q < 100 else 0) + unit
    raise AssertionError("unreachable")  # pragma: no cover


def _short(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- drawing ----------------------------------------------------------------------------------


class Canvas:
    """An RGB pixel buffer; everything drawn is clipped to it."""

    def __init__(self, width: int, height: int, background: RGB) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: RGB) -> None:
        """Fill [x0, x1) × [y0, y1)."""
        x0, x1 = max(0, x0), min(self.width, x1)
        y0, y1 = max(0, y0), min(self.height, y1)
        if x0 >= x1 or y0 >= y1:
            return
        row = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = (y * self.width + x0) * 3
            self.pixels[start:start + len(row)] = row

    def disc(self, cx: int, cy: int, r: int, color: RGB) -> None:
        for dy in range(-r, r + 1):
            half = math.isqrt(r * r + r - dy * dy) if r * r + r >= dy * dy else -1
            if half >= 0:
                self.rect(cx - half, cy + dy, cx + half + 1, cy + dy + 1, color)

    def text(self, text: str, x: int, y: int, scale: int, color: RGB) -> None:
        """Draw `text` with its top-left corner at (x, y)."""
        for c in text:
            glyph = _GLYPHS[c]
            for gy, line in enumerate(glyph):
                for gx, bit in enumerate(line):
                    if bit == "#":
                        self.rect(x + gx * scale, y + gy * scale, x + (gx + 1) * scale,
                                  y + (gy + 1) * scale, color)
            x += (len(glyph[0]) + 1) * scale

    def pixel(self, x: int, y: int) -> RGB:
        i = (y * self.width + x) * 3
        return self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]


@dataclass(frozen=True)
class Bar:
    """One bar as drawn: [x0, x1) × [top, BASELINE), its colour and the figure above it."""

    series: int
    current: bool
    x0: int
    x1: int
    top: int
    color: RGB
    label: str


def _value(t: dict[str, Any] | None, key: str) -> float:
    raw = t.get(key) if t else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return 0.0
    value = float(raw)
    return value if math.isfinite(value) and value > 0 else 0.0


def chart_bars(t: dict[str, Any], previous: dict[str, Any] | None) -> list[Bar]:
    """Where every bar goes: each figure's pair (previous light on the left, this period dark
    on the right) scaled to the larger of the two, so each pair compares on its own."""
    bars: list[Bar] = []
    for i, s in enumerate(SERIES):
        center = MARGIN_X + GROUP_WIDTH * i + GROUP_WIDTH // 2
        now = _value(t, s.key)
        before = _value(previous, s.key) if previous is not None else None
        top = max(now, before or 0.0)
        pair: list[tuple[bool, float, int]] = [(True, now, center - BAR_WIDTH // 2)]
        if before is not None:
            pair = [(False, before, center - BAR_GAP // 2 - BAR_WIDTH),
                    (True, now, center + BAR_GAP // 2)]
        for current, value, x0 in pair:
            height = 0 if top <= 0 else max(1 if value > 0 else 0,
                                            round(value / top * MAX_BAR))
            bars.append(Bar(i, current, x0, x0 + BAR_WIDTH, BASELINE - height,
                            s.color if current else s.light, figure(value)))
    return bars


def _label_scale(bars: Sequence[Bar]) -> int:
    """One scale for every figure: the largest at which all fit over their bars."""
    room = BAR_WIDTH + BAR_GAP if len(bars) > len(SERIES) else GROUP_WIDTH - 12
    for scale in (3, 2):
        if all(text_width(b.label, scale) <= room for b in bars):
            return scale
    return 1


def tally_chart_png(t: dict[str, Any], previous: dict[str, Any] | None = None) -> bytes:
    """The period's key figures against the previous period's, as a PNG (same input, same
    bytes). Bars are told apart by position and colour; `legend()` names them."""
    canvas = Canvas(WIDTH, HEIGHT, BACKGROUND)
    bars = chart_bars(t, previous)
    scale = _label_scale(bars)
    for b in bars:
        canvas.rect(b.x0, b.top, b.x1, BASELINE, b.color)
        width = text_width(b.label, scale)
        x = (b.x0 + b.x1) // 2 - width // 2
        y = b.top - 6 - GLYPH_HEIGHT * scale
        canvas.text(b.label, x, y, scale, TEXT if b.current else TEXT_PREVIOUS)
    canvas.rect(MARGIN_X, BASELINE, WIDTH - MARGIN_X, BASELINE + 2, AXIS)
    for i, s in enumerate(SERIES):
        cx = MARGIN_X + GROUP_WIDTH * i + GROUP_WIDTH // 2
        canvas.disc(cx, CIRCLE_Y, CIRCLE_RADIUS, s.color)
        digit = str(i + 1)
        canvas.text(digit, cx - text_width(digit, 2) // 2 + 1, CIRCLE_Y - GLYPH_HEIGHT + 1, 2,
                    WHITE)
    return encode_png(canvas.width, canvas.height, bytes(canvas.pixels))


# -- an image carried by an outgoing message (Outgoing.extra holds only strings) --------------

IMAGE_PNG = "image_png"  # extra key: the PNG, base64
IMAGE_NAME = "image_name"  # extra key: a file name for it


def image_extra(png: bytes, name: str) -> dict[str, str]:
    """The `Outgoing.extra` entries that make a message carry `png`."""
    return {IMAGE_PNG: base64.b64encode(png).decode("ascii"), IMAGE_NAME: name}


def image_of(extra: dict[str, Any]) -> bytes | None:
    """The PNG an outbox item carries, or None (also when it is not valid base64 PNG)."""
    raw = extra.get(IMAGE_PNG)
    if not isinstance(raw, str) or not raw:
        return None
    try:
        png = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return png if png.startswith(PNG_SIGNATURE) else None


# -- PNG --------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode_png(width: int, height: int, rgb: bytes) -> bytes:
    """An 8-bit RGB PNG of `rgb` (rows top to bottom, 3 bytes a pixel), every row filter 0."""
    stride = width * 3
    if width <= 0 or height <= 0 or len(rgb) != stride * height:
        raise ValueError("pixel data does not match the size")
    raw = b"".join(b"\x00" + rgb[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB pixels of a PNG written by `encode_png` (8-bit RGB, filter 0 rows,
    no interlace); ValueError for anything else. For checking what this module writes."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    pos, idat, header = len(PNG_SIGNATURE), b"", b""
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF) != crc:
            raise ValueError(f"bad {kind!r} chunk")
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    if len(header) != 13:
        raise ValueError("no IHDR")
    width, height, depth, color, _c, _f, interlace = struct.unpack(">IIBBBBB", header)
    if (depth, color, interlace) != (8, 2, 0):
        raise ValueError("only 8-bit RGB without interlace is read")
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    if len(raw) != stride * height or any(raw[y * stride] for y in range(height)):
        raise ValueError("rows are not filter 0 or the size is wrong")
    return width, height, b"".join(raw[y * stride + 1:(y + 1) * stride] for y in range(height))
