"""The monthly tally as a PNG bar chart, drawn with Pillow in a system CJK font."""

from __future__ import annotations

import base64
import binascii
import functools
import io
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.charts.fonts import (
    ASCII,
    CJK_FAMILIES,
    FALLBACK_FAMILIES,
    Face,
    find_font,
    system_faces,
)
from bot.charts.fonts import ChartFont as ChartFont  # part of this module's interface

if TYPE_CHECKING:  # Pillow is imported on first use: a bot that draws no chart never loads it
    from PIL.Image import Image
    from PIL.ImageFont import FreeTypeFont
    from PIL.ImageFont import ImageFont as BitmapFont

RGB = tuple[int, int, int]

WIDTH, HEIGHT = 720, 320
BACKGROUND: RGB = (255, 255, 255)
AXIS: RGB = (203, 213, 225)
TEXT: RGB = (31, 41, 55)
TEXT_PREVIOUS: RGB = (100, 116, 139)
LEGEND_SHADE: RGB = (71, 85, 105)  # the legend's swatches: dark for this period, pale before
BAR_WIDTH = 0.38  # of one figure's slot; a pair of bars takes 0.8 of it
HEADROOM = 1.2  # the axis runs to 1.2 × the taller bar of each pair: room for its figure


@dataclass(frozen=True)
class Series:
    """One figure of the tally: its key, its word (axis and legend) and its colour."""

    key: str
    word: str
    color: RGB

    @property
    def light(self) -> RGB:
        """The paler shade used for the previous period."""
        return _pale(self.color)


def _pale(color: RGB) -> RGB:
    r, g, b = (round(v + (255 - v) * 0.62) for v in color)
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
PERIOD_WORDS = "本月上月本期上期"


def legend(this_word: str = "本月", previous_word: str | None = "上月") -> str:
    """The line that names the chart's bars, for the message that carries it."""
    names = " ".join(f"{CIRCLED[i]}{s.word}" for i, s in enumerate(SERIES))
    shades = f"深色{this_word}" + (f"、浅色{previous_word}" if previous_word else "")
    return f"图：{names}；{shades}，每项按各自数值比例绘制"


# -- figures as the chart writes them ---------------------------------------------------------

CJK_UNITS = (("亿", 1e8), ("万", 1e4))
ASCII_UNITS = (("B", 1e9), ("M", 1e6), ("k", 1e3))  # for a font without Chinese


def figure(value: float | None, *, cjk: bool = True) -> str:
    """A figure as the chart writes it: 62, 4.5, 1.2万, 3.4亿 (12.3k, 340M without a CJK
    font), '-' for none."""
    if value is None or not math.isfinite(value):
        return "-"
    if value < 0:
        return "-" + figure(-value, cjk=cjk)
    if value < 10_000:
        return _short(value, 1 if value < 100 else 0)
    for unit, size in CJK_UNITS if cjk else ASCII_UNITS:
        if value >= size:
            q = value / size
            if q >= 10_000:
                return "9999+" + unit
            return _short(q, 1 if q < 100 else 0) + unit
    raise AssertionError("unreachable")  # pragma: no cover


def _short(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- what the chart shows, as data ------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One bar: its figure and period, its value, its height as a share of the taller bar of
    its pair (0 to 1), its centre on the x axis, its colour and the figure written over it."""

    series: int
    current: bool
    value: float
    height: float
    x: float
    color: RGB
    label: str


def _value(t: Mapping[str, Any] | None, key: str) -> float:
    raw = t.get(key) if t else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return 0.0
    value = float(raw)
    return value if math.isfinite(value) and value > 0 else 0.0


def chart_bars(t: Mapping[str, Any], previous: Mapping[str, Any] | None, *,
               cjk: bool = True) -> list[Bar]:
    """Every bar: each figure's pair (previous pale on the left, this period dark on the right)
    scaled to the larger of the two, so each pair compares on its own; one centred bar a
    figure without a previous period. Odd values (missing, negative, not numbers) count as 0."""
    bars: list[Bar] = []
    for i, s in enumerate(SERIES):
        now = _value(t, s.key)
        pair = [(True, now, float(i))]
        if previous is not None:
            offset = BAR_WIDTH / 2 + 0.02
            pair = [(False, _value(previous, s.key), i - offset), (True, now, i + offset)]
        top = max(v for _c, v, _x in pair)
        for current, value, x in pair:
            bars.append(Bar(i, current, value, value / top if top > 0 else 0.0, x,
                            s.color if current else s.light, figure(value, cjk=cjk)))
    return bars


def axis_labels(cjk: bool) -> list[str]:
    """Under each pair: the figure's name, or its number (①…, as `legend()` names it)."""
    return [s.word if cjk else CIRCLED[i] for i, s in enumerate(SERIES)]


# -- the font ---------------------------------------------------------------------------------

CJK_TEXT = "".join(s.word for s in SERIES) + PERIOD_WORDS + "".join(u for u, _ in CJK_UNITS)
PLAIN_TEXT = "0123456789.+-" + CIRCLED[:len(SERIES)] + "".join(u for u, _ in ASCII_UNITS)
PLAIN_ASCII = "0123456789.+-" + "".join(u for u, _ in ASCII_UNITS)
WANTED = frozenset(map(ord, CJK_TEXT + PLAIN_TEXT + ASCII))  # all the chart may ever write


def find_cjk_font(families: Iterable[str] = CJK_FAMILIES,
                  faces: Sequence[Face] | None = None) -> ChartFont | None:
    """A system font (of `faces`, else every installed one) that has every character the chart
    writes in Chinese: one of the known CJK families first, then any font whose character map
    covers them; None if none does."""
    return find_font(system_faces() if faces is None else faces, families,
                     CJK_TEXT + PLAIN_TEXT, WANTED, cjk=True)


def fallback_font(faces: Sequence[Face] | None = None) -> ChartFont:
    """A Latin font for plain labels (of `faces`, else every installed one): DejaVu Sans and
    its like first (digits, letters and ①…⑥), else any font with the digits; else Pillow's
    built-in font (ASCII only)."""
    faces = system_faces() if faces is None else faces
    found = (find_font(faces, FALLBACK_FAMILIES, PLAIN_TEXT, WANTED, cjk=False)
             or find_font(faces, FALLBACK_FAMILIES, PLAIN_ASCII, WANTED, cjk=False))
    return found or ChartFont("", False, frozenset(map(ord, ASCII)))


@functools.cache
def chart_font() -> ChartFont:
    """The chart's font, chosen once a process: a CJK one if the system has it, else a Latin
    one (the installed faces listed once for both searches)."""
    faces = system_faces()
    return find_cjk_font(CJK_FAMILIES, faces) or fallback_font(faces)


def prepare() -> ChartFont:
    """Choose the font and load Pillow and the font's faces now (off the event loop), so the
    first chart does not pay for it."""
    font = chart_font()
    for size in SIZES:
        _face(font, size)
    return font


# -- layout: where each bar and text goes, in pixels ------------------------------------------

# Text sizes in pixels (12 and 10 pt at 100 dpi): two only, as each size opens the font file
# anew in FreeType, and each opening maps its pages again (about 3 MiB of RSS for a CJK font).
TEXT_SIZE, SMALL_SIZE = 17, 14  # the small one for figures of 6 or 7 characters
VALUE_SIZE = NAME_SIZE = LEGEND_SIZE = TEXT_SIZE
SIZES = (TEXT_SIZE, SMALL_SIZE)
PLOT_LEFT, PLOT_RIGHT = 0.02 * WIDTH, 0.98 * WIDTH
AXIS_Y = round(0.87 * HEIGHT)  # the axis line (2 px) under the bars
X_MIN, X_MAX = -0.55, len(SERIES) - 0.45  # the x axis runs over the figures' slots


@dataclass(frozen=True)
class Box:
    """A filled rectangle, its corners' pixels included."""

    x0: int
    y0: int
    x1: int
    y1: int
    color: RGB


@dataclass(frozen=True)
class Label:
    """A text, in the chart's font, at (x, y) by Pillow's `anchor` ('md': centred over y)."""

    x: float
    y: float
    text: str
    size: int
    color: RGB
    anchor: str


def plot_top(cjk: bool) -> float:
    """Where HEADROOM × the full bar height reaches: lower with a legend above it."""
    return AXIS_Y - (0.74 if cjk else 0.82) * HEIGHT


def x_pixel(x: float) -> float:
    return PLOT_LEFT + (x - X_MIN) * (PLOT_RIGHT - PLOT_LEFT) / (X_MAX - X_MIN)


def bar_pixels(bar: Bar, cjk: bool) -> float:
    """How tall the bar is drawn, in pixels above the axis."""
    return bar.height / HEADROOM * (AXIS_Y - plot_top(cjk))


def bar_box(bar: Bar, *, single: bool, cjk: bool) -> Box | None:
    """The bar's rectangle (wider when it stands alone); None for one too low to see."""
    width = (BAR_WIDTH * 1.3 if single else BAR_WIDTH) * (PLOT_RIGHT - PLOT_LEFT) / (X_MAX - X_MIN)
    tall = bar_pixels(bar, cjk)
    if tall < 0.5:
        return None
    centre = x_pixel(bar.x)
    return Box(round(centre - width / 2), round(AXIS_Y - tall), round(centre + width / 2) - 1,
               AXIS_Y - 1, bar.color)


def chart_layout(t: Mapping[str, Any], previous: Mapping[str, Any] | None, font: ChartFont, *,
                 this_word: str = "本月", previous_word: str = "上月"
                 ) -> tuple[list[Box], list[Label]]:
    """Everything the chart draws: the bars and the axis line, the figure over each bar, the
    names under the axis and, when the font writes its words, a legend of the shades."""
    bars = chart_bars(t, previous, cjk=font.cjk)
    boxes = [b for b in (bar_box(bar, single=previous is None, cjk=font.cjk) for bar in bars)
             if b is not None]
    boxes.append(Box(round(PLOT_LEFT), AXIS_Y, round(PLOT_RIGHT) - 1, AXIS_Y + 1, AXIS))
    size = VALUE_SIZE if max(len(b.label) for b in bars) <= 5 else SMALL_SIZE
    labels = [Label(x_pixel(b.x), AXIS_Y - bar_pixels(b, font.cjk) - 3, b.label, size,
                    TEXT if b.current else TEXT_PREVIOUS, "md")
              for b in bars]
    names = axis_labels(font.cjk)
    if not font.covers("".join(names)):  # a font without ①…⑥: their numbers
        names = [str(i + 1) for i in range(len(SERIES))]
    labels += [Label(x_pixel(i), AXIS_Y + 8, n, NAME_SIZE, TEXT, "ma")
               for i, n in enumerate(names)]
    words = [this_word] + ([previous_word] if previous is not None else [])
    if font.cjk and all(font.covers(w) for w in words):  # else the message's legend line says it
        keys = [(_pale(LEGEND_SHADE), previous_word)] if previous is not None else []
        keys.append((LEGEND_SHADE, this_word))
        _legend(font, keys, boxes, labels)
    return boxes, labels


def _legend(font: ChartFont, keys: list[tuple[RGB, str]], boxes: list[Box],
            labels: list[Label]) -> None:
    """The legend's swatches and words, in a row from the top right corner."""
    swatch, gap, spacing, middle = 20, 13, 20, 20
    face = _face(font, LEGEND_SIZE)
    x = 0.98 * WIDTH - 12 - sum(swatch + gap + face.getlength(w) for _c, w in keys)
    x -= spacing * (len(keys) - 1)
    for color, word in keys:
        boxes.append(Box(round(x), middle - 6, round(x) + swatch - 1, middle + 5, color))
        x += swatch + gap
        labels.append(Label(x, middle, word, LEGEND_SIZE, TEXT, "lm"))
        x += face.getlength(word) + spacing


# -- drawing ----------------------------------------------------------------------------------

_DRAWING = threading.Lock()  # one FreeType face is shared by every chart the process draws


@functools.cache
def _face(font: ChartFont, size: int) -> FreeTypeFont | BitmapFont:
    from PIL import ImageFont

    if not font.path:
        return ImageFont.load_default(size)
    return ImageFont.truetype(font.path, size, index=font.index,
                              layout_engine=ImageFont.Layout.BASIC)


def chart_image(t: Mapping[str, Any], previous: Mapping[str, Any] | None = None, *,
                this_word: str = "本月", previous_word: str = "上月") -> Image:
    """The chart as an RGB image of WIDTH × HEIGHT pixels on a white background."""
    from PIL import Image, ImageDraw

    font = chart_font()
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    with _DRAWING:
        boxes, labels = chart_layout(t, previous, font, this_word=this_word,
                                     previous_word=previous_word)
        for b in boxes:
            draw.rectangle((b.x0, b.y0, b.x1, b.y1), fill=b.color)
        for label in labels:
            draw.text((label.x, label.y), label.text, fill=label.color,
                      font=_face(font, label.size), anchor=label.anchor)
    return image


def tally_chart_png(t: Mapping[str, Any], previous: Mapping[str, Any] | None = None, *,
                    this_word: str = "本月", previous_word: str = "上月") -> bytes:
    """The period's key figures against the previous period's, as a PNG of WIDTH × HEIGHT
    (same input, same bytes: no time or software written in it). `legend()` names the bars
    in the message that carries it."""
    image = chart_image(t, previous, this_word=this_word, previous_word=previous_word)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# -- an image carried by an outgoing message (Outgoing.extra holds only strings) --------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
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
