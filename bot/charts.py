"""The monthly tally as a PNG bar chart, drawn with matplotlib (Agg) in a system CJK font."""

from __future__ import annotations

import base64
import binascii
import functools
import io
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # matplotlib is imported on first use: importing it costs ~0.5 s
    from matplotlib.figure import Figure

RGB = tuple[int, int, int]

WIDTH, HEIGHT = 720, 320
DPI = 100
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

CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "Droid Sans Fallback", "Sarasa Gothic SC",
                "AR PL UMing CN", "Microsoft YaHei", "SimHei", "PingFang SC")
FALLBACK_FAMILY = "DejaVu Sans"  # shipped with matplotlib
CJK_TEXT = "".join(s.word for s in SERIES) + PERIOD_WORDS + "".join(u for u, _ in CJK_UNITS)
PLAIN_TEXT = "0123456789.+-" + CIRCLED[:len(SERIES)] + "".join(u for u, _ in ASCII_UNITS)


@dataclass(frozen=True)
class ChartFont:
    """The font file every text of the chart is drawn in, whether it writes Chinese, and the
    characters it has glyphs for."""

    path: str
    cjk: bool
    chars: frozenset[int]

    def covers(self, text: str) -> bool:
        return all(ord(c) in self.chars for c in text)


def mpl_config_dir(env: Mapping[str, str], home: Path | None, tmp: str) -> str | None:
    """Where matplotlib should keep its config and font cache when its default place (XDG
    dirs or ~/.config, ~/.cache) cannot be written: a private dir under `tmp`; None to keep
    the default (also when MPLCONFIGDIR is set)."""
    if env.get("MPLCONFIGDIR"):
        return None
    places = []
    for var, default in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache")):
        base = env.get(var) or (str(home / default) if home is not None else "")
        places.append(Path(base, "matplotlib") if base else None)
    if all(p is not None and _writable(p) for p in places):
        return None
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tmp, f"diandan-matplotlib-{uid}")


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def _home() -> Path | None:
    try:
        return Path.home()
    except RuntimeError:
        return None


@functools.cache
def _matplotlib_ready() -> None:
    """Point matplotlib's config and font cache somewhere writable, once, before its import."""
    place = mpl_config_dir(os.environ, _home(), tempfile.gettempdir())
    if place is not None:
        os.makedirs(place, mode=0o700, exist_ok=True)
        os.environ["MPLCONFIGDIR"] = place


def _charmap(path: str) -> frozenset[int]:
    _matplotlib_ready()
    from matplotlib.font_manager import get_font
    try:
        return frozenset(get_font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


def find_cjk_font(families: Iterable[str] = CJK_FAMILIES) -> ChartFont | None:
    """A system font that has every character the chart writes in Chinese: one of the known
    CJK families first, then any font that covers them, then font files matplotlib's cache
    does not list yet (installed after it was built); None if there is none."""
    _matplotlib_ready()
    from matplotlib.font_manager import findSystemFonts, fontManager
    entries = [f for f in fontManager.ttflist if f.style == "normal"]
    order = {name: rank for rank, name in enumerate(families)}
    known = sorted((f for f in entries if f.name in order), key=lambda f: order[f.name])
    others = sorted((f for f in entries if f.name not in order),
                    key=lambda f: (abs(f.weight - 400) if isinstance(f.weight, int) else 0,
                                   f.fname))

    def candidates() -> Iterator[str]:
        yield from dict.fromkeys(f.fname for f in (*known, *others))
        cached = {f.fname for f in fontManager.ttflist}  # then the font dirs, only if needed
        yield from sorted(set(findSystemFonts()) - cached)

    for path in candidates():
        if _may_write_chinese(path):
            font = ChartFont(path, True, _charmap(path))
            if font.covers(CJK_TEXT + PLAIN_TEXT):
                return font
    return None


def _may_write_chinese(path: str) -> bool:
    """Not a font matplotlib ships (none writes Chinese; LastResort has a box for every
    character: tofu by design)."""
    import matplotlib
    if "lastresort" in Path(path).name.lower():
        return False
    try:
        Path(path).resolve().relative_to(Path(matplotlib.get_data_path()).resolve())
    except ValueError:
        return True
    return False


def fallback_font() -> ChartFont:
    """DejaVu Sans, which matplotlib ships: digits, Latin letters and ①…⑨, no Chinese."""
    _matplotlib_ready()
    from matplotlib.font_manager import FontProperties, findfont
    path = findfont(FontProperties(family=FALLBACK_FAMILY), fallback_to_default=True)
    return ChartFont(path, False, _charmap(path))


@functools.cache
def chart_font() -> ChartFont:
    """The chart's font, chosen once a process: a CJK one if the system has it, else DejaVu."""
    return find_cjk_font() or fallback_font()


def prepare() -> ChartFont:
    """Import matplotlib and choose the font now (e.g. at start-up, off the event loop), so the
    first chart does not pay for it."""
    return chart_font()


# -- drawing ----------------------------------------------------------------------------------


def _rgb(color: RGB) -> tuple[float, float, float]:
    r, g, b = color
    return r / 255, g / 255, b / 255


def chart_figure(t: Mapping[str, Any], previous: Mapping[str, Any] | None = None, *,
                 this_word: str = "本月", previous_word: str = "上月") -> Figure:
    """The chart as a matplotlib Figure of WIDTH × HEIGHT pixels (no pyplot, no global state):
    bars with their figures, the names under them and, in Chinese, a legend of the shades."""
    font = chart_font()  # imports matplotlib only after `_matplotlib_ready()`
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch

    def props(size: float) -> FontProperties:
        return FontProperties(fname=font.path, size=size)

    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor=_rgb(BACKGROUND))
    ax = fig.add_axes((0.02, 0.13, 0.96, 0.74 if font.cjk else 0.82))
    ax.set_facecolor(_rgb(BACKGROUND))
    bars = chart_bars(t, previous, cjk=font.cjk)
    width = BAR_WIDTH if previous is not None else BAR_WIDTH * 1.3
    value_size = 12 if max(len(b.label) for b in bars) <= 5 else 10
    ax.bar([b.x for b in bars], [b.height for b in bars], width,
           color=[_rgb(b.color) for b in bars], linewidth=0)
    for b in bars:
        ax.text(b.x, b.height + 0.03, b.label, ha="center", va="bottom",
                color=_rgb(TEXT if b.current else TEXT_PREVIOUS), fontproperties=props(value_size))
    ax.set_xlim(-0.55, len(SERIES) - 0.45)
    ax.set_ylim(0, HEADROOM)
    ax.set_yticks([])
    ax.set_xticks(range(len(SERIES)))
    ax.set_xticklabels(axis_labels(font.cjk), fontproperties=props(13), color=_rgb(TEXT))
    ax.tick_params(axis="x", length=0, pad=6)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(_rgb(AXIS))
    ax.spines["bottom"].set_linewidth(1.5)
    words = [this_word] + ([previous_word] if previous is not None else [])
    if font.cjk and all(font.covers(w) for w in words):  # else the message's legend line says it
        shades = [LEGEND_SHADE, _pale(LEGEND_SHADE)]
        handles = [Patch(color=_rgb(shades[0]), label=this_word)]
        if previous is not None:
            handles.insert(0, Patch(color=_rgb(shades[1]), label=previous_word))
        fig.legend(handles=handles, loc="upper right", ncol=len(handles), frameon=False,
                   prop=props(12), bbox_to_anchor=(0.98, 1.0), handlelength=1.2,
                   columnspacing=1.2, borderaxespad=0.3)
    return fig


def tally_chart_png(t: Mapping[str, Any], previous: Mapping[str, Any] | None = None, *,
                    this_word: str = "本月", previous_word: str = "上月") -> bytes:
    """The period's key figures against the previous period's, as a PNG of WIDTH × HEIGHT
    (same input, same bytes). `legend()` names the bars in the message that carries it."""
    _matplotlib_ready()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = chart_figure(t, previous, this_word=this_word, previous_word=previous_word)
    FigureCanvasAgg(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
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
