"""Horizontal bar charts as plain geometry for inline SVG (no chart library, no script)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ROW = 30  # height of one row (label and its bars)
LABEL_W = 130
BAR_W = 290
VALUE_W = 40
TOP = 28  # room for the legend


@dataclass(frozen=True)
class Bar:
    """One bar: its series index, position, length and the figure it shows."""

    series: int
    x: float
    y: float
    width: float
    height: float
    value: str


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    """Everything the template needs to draw a chart."""

    title: str
    series: tuple[str, ...]
    rows: tuple[Row, ...]
    width: int
    height: int
    label_w: int
    empty: bool


def _fmt(v: float) -> str:
    return f"{v:g}"


def bar_chart(title: str, series: Sequence[str],
              data: Sequence[tuple[str, Sequence[float]]]) -> Chart:
    """Bars for each label and series, scaled to the largest value of the chart."""
    top = max((v for _, values in data for v in values), default=0.0)
    scale = BAR_W / top if top > 0 else 0.0
    n = max(len(series), 1)
    bar_h = (ROW - 8) / n
    rows = []
    for i, (label, values) in enumerate(data):
        y = TOP + i * ROW
        bars = tuple(
            Bar(series=k, x=LABEL_W, y=y + 4 + k * bar_h, width=round(v * scale, 1),
                height=round(bar_h - 1, 1), value=_fmt(v))
            for k, v in enumerate(values)
        )
        rows.append(Row(label=label if len(label) <= 10 else label[:9] + "…", y=y, bars=bars))
    return Chart(title=title, series=tuple(series), rows=tuple(rows),
                 width=LABEL_W + BAR_W + VALUE_W, height=TOP + max(len(rows), 1) * ROW + 6,
                 label_w=LABEL_W, empty=top <= 0)
