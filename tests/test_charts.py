"""The tally chart: a valid PNG of the right size, bars that carry the tally, and labels in a
font that has every glyph they need (a system CJK font, or plain labels without one)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from PIL import Image

from bot import charts
from bot.charts import (
    CIRCLED,
    HEIGHT,
    IMAGE_PNG,
    PNG_SIGNATURE,
    SERIES,
    WIDTH,
    Bar,
    axis_labels,
    chart_bars,
    chart_figure,
    figure,
    image_extra,
    image_of,
    legend,
    mpl_config_dir,
    tally_chart_png,
)

ROOT = Path(__file__).resolve().parent.parent
MAY = {"requests": 62, "completed": 48, "solved": 31, "sessions": 57, "person_times": 512,
       "suggestions": 23, "hours": 120.5, "satisfaction": 0.95}
APRIL = {"requests": 50, "completed": 52, "solved": 20, "sessions": 40, "person_times": 430,
         "suggestions": 0}
ZEROS = {s.key: 0 for s in SERIES}
HUGE = {"requests": 123_456, "completed": 10**30, "person_times": 3.4e8, "sessions": 57}


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[charts.ChartFont]:
    """A system without any CJK font: the font search finds none (chosen afresh, and chosen
    afresh again after the test)."""
    monkeypatch.setattr(charts, "find_cjk_font", lambda *_a: None)
    charts.chart_font.cache_clear()
    yield charts.chart_font()
    charts.chart_font.cache_clear()


def _png(png: bytes) -> Image.Image:
    """The PNG opened and checked by Pillow (not by the code that wrote it)."""
    assert png.startswith(PNG_SIGNATURE)
    Image.open(io.BytesIO(png)).verify()  # chunks and CRCs
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return image


def _bar(bars: list[Bar], series: int, current: bool) -> Bar:
    return next(b for b in bars if b.series == series and b.current == current)


def _texts(fig: Figure) -> list[Text]:
    """Every text the figure draws (after a draw, so ticks and the legend are laid out)."""
    fig.draw_without_rendering()
    return [t for t in fig.findobj(Text) if isinstance(t, Text) and t.get_visible()
            and t.get_text()]


def _is_cjk(c: str) -> bool:
    return "\u2e80" <= c <= "\u9fff" or "\uf900" <= c <= "\uffef"


def test_png_is_valid_of_the_chart_size_and_the_same_for_the_same_tally() -> None:
    png = tally_chart_png(MAY, APRIL)
    image = _png(png)
    assert image.size == (WIDTH, HEIGHT)
    assert 300 <= HEIGHT <= WIDTH <= 800
    assert len(png) < 100_000
    assert image.convert("RGB").getpixel((1, 1)) == (255, 255, 255)  # white background
    assert tally_chart_png(dict(MAY), dict(APRIL)) == png  # same figures, same bytes
    assert tally_chart_png(MAY, ZEROS) != png
    assert tally_chart_png(MAY, None) != png


def test_bars_carry_the_tally_each_pair_on_its_own_scale() -> None:
    bars = chart_bars(MAY, APRIL)
    assert len(bars) == 2 * len(SERIES)
    for i, s in enumerate(SERIES):
        now, before = _bar(bars, i, True), _bar(bars, i, False)
        assert (now.value, before.value) == (MAY[s.key], APRIL[s.key])
        assert now.label == figure(MAY[s.key]) and before.label == figure(APRIL[s.key])
        assert before.x < now.x  # the previous period on the left
        assert max(now.height, before.height) == 1.0  # the larger of the pair is full height
        assert now.color == s.color and before.color == s.light != s.color
    requests_now, requests_before = _bar(bars, 0, True), _bar(bars, 0, False)
    assert requests_before.height == pytest.approx(50 / 62)
    assert requests_now.label == "62" and requests_before.label == "50"
    assert _bar(bars, 5, False).height == 0 and _bar(bars, 5, False).label == "0"
    assert len({s.color for s in SERIES}) == len(SERIES)  # told apart by colour as well


def test_the_drawn_figure_shows_exactly_those_bars_and_names() -> None:
    fig = chart_figure(MAY, APRIL)
    [ax] = fig.axes
    bars = chart_bars(MAY, APRIL, cjk=charts.chart_font().cjk)
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [(round(r.get_x() + r.get_width() / 2, 6), r.get_height()) for r in rects] == [
        (round(b.x, 6), b.height) for b in bars]
    assert [t.get_text() for t in ax.texts] == [b.label for b in bars]
    assert [t.get_text() for t in ax.get_xticklabels()] == axis_labels(charts.chart_font().cjk)
    assert ax.get_ylim()[1] > 1  # room over the tallest bar for its figure


def test_without_previous_each_figure_has_one_centred_bar() -> None:
    bars = chart_bars(MAY, None)
    assert len(bars) == len(SERIES) and all(b.current for b in bars)
    assert [b.x for b in bars] == [float(i) for i in range(len(SERIES))]
    assert all(b.height == 1.0 for b in bars)
    assert _png(tally_chart_png(MAY, None)).size == (WIDTH, HEIGHT)


def test_empty_and_odd_tallies_draw_no_bars() -> None:
    odd: dict[str, Any] = {"requests": -5, "completed": None, "solved": "7",
                           "sessions": float("nan"), "person_times": True}
    for t, previous in ((ZEROS, ZEROS), (ZEROS, None), ({}, None), (odd, odd)):
        bars = chart_bars(t, previous)
        assert all(b.height == 0 and b.value == 0 and b.label == "0" for b in bars)
        assert _png(tally_chart_png(t, previous)).size == (WIDTH, HEIGHT)


@pytest.mark.parametrize("huge", [10**6, 3 * 10**9, 10**30, 1e300, float("inf")])
def test_huge_values_do_not_overflow(huge: float) -> None:
    now: dict[str, Any] = {s.key: huge for s in SERIES}
    before: dict[str, Any] = {s.key: 1 for s in SERIES}
    png = tally_chart_png(now, before)
    assert _png(png).size == (WIDTH, HEIGHT) and len(png) < 100_000
    for b in chart_bars(now, before):
        assert 0 <= b.height <= 1 and len(b.label) <= 7


def test_figures_are_short() -> None:
    assert [figure(v) for v in (0, 62, 4.5, 9999, 12345, 123456, 1234567, 3.4e8)] == [
        "0", "62", "4.5", "9999", "1.2万", "12.3万", "123万", "3.4亿"]
    assert figure(None) == "-" and figure(float("nan")) == "-" and figure(-3) == "-3"
    assert figure(10**30) == "9999+亿"
    assert [figure(v, cjk=False) for v in (9999, 12345, 1234567, 3.4e8, 3e9, 10**30)] == [
        "9999", "12.3k", "1.2M", "340M", "3B", "9999+B"]


def test_with_a_cjk_font_every_label_is_chinese_in_that_font() -> None:
    font = charts.chart_font()
    if not font.cjk:
        pytest.skip("no CJK font on this system (apt-get install fonts-wqy-zenhei)")
    for fig in (chart_figure(MAY, APRIL), chart_figure(HUGE, APRIL),
                chart_figure(MAY, None, this_word="本期")):
        texts = _texts(fig)
        assert texts
        for t in texts:
            assert t.get_fontproperties().get_file() == font.path, t.get_text()
            assert font.covers(t.get_text()), t.get_text()
    words = [t.get_text() for t in _texts(chart_figure(HUGE, APRIL))]
    assert {s.word for s in SERIES} <= set(words)  # the names on the axis
    assert {"上月", "本月", "12.3万", "3.4亿", "9999+亿"} <= set(words)  # legend, figures
    assert "本期" in [t.get_text() for t in _texts(chart_figure(MAY, None, this_word="本期"))]


def test_without_a_cjk_font_labels_are_only_glyphs_the_fallback_has(
        no_cjk_font: charts.ChartFont) -> None:
    assert not no_cjk_font.cjk and no_cjk_font.path == charts.fallback_font().path
    for fig in (chart_figure(MAY, APRIL), chart_figure(HUGE, APRIL), chart_figure(MAY, None)):
        texts = _texts(fig)
        assert texts
        for t in texts:
            assert t.get_fontproperties().get_file() == no_cjk_font.path
            assert no_cjk_font.covers(t.get_text()), t.get_text()
            assert not any(_is_cjk(c) for c in t.get_text()), t.get_text()
    words = [t.get_text() for t in _texts(chart_figure(HUGE, APRIL))]
    assert list(CIRCLED[:len(SERIES)]) == [w for w in words if w in CIRCLED]  # as legend() says
    assert {"123k", "340M", "9999+B", "57", "40"} <= set(words)
    assert _png(tally_chart_png(HUGE, APRIL)).size == (WIDTH, HEIGHT)  # and no glyph warning


def test_the_font_is_chosen_by_the_characters_it_covers(monkeypatch: pytest.MonkeyPatch) -> None:
    if charts.find_cjk_font() is None:
        pytest.skip("no CJK font on this system (apt-get install fonts-wqy-zenhei)")
    found = charts.find_cjk_font(families=())  # no known family: the coverage scan finds it
    assert found is not None and found.covers(charts.CJK_TEXT + charts.PLAIN_TEXT)
    monkeypatch.setattr(charts, "_charmap", lambda _path: frozenset(map(ord, "0123456789")))
    assert charts.find_cjk_font() is None  # known names count for nothing without the glyphs
    assert not charts.fallback_font().cjk


def test_a_font_installed_after_matplotlib_cached_its_list_is_found(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib import font_manager
    real = charts.find_cjk_font()
    if real is None:
        pytest.skip("no CJK font on this system (apt-get install fonts-wqy-zenhei)")
    stale = [f for f in font_manager.fontManager.ttflist if f.fname != real.path]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)
    found = charts.find_cjk_font()
    assert found is not None and found.path == real.path


def test_no_font_matplotlib_ships_counts_as_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib
    from matplotlib import font_manager
    shipped = [f for f in font_manager.fontManager.ttflist
               if f.fname.startswith(matplotlib.get_data_path())]
    assert not charts._may_write_chinese("/usr/share/fonts/LastResortHE-Regular.ttf")  # boxes
    monkeypatch.setattr(font_manager.fontManager, "ttflist", shipped)
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda: [])
    assert charts.find_cjk_font() is None


def test_the_font_is_chosen_once_a_process() -> None:
    assert charts.chart_font() is charts.chart_font() is charts.prepare()


def test_renders_from_several_threads_give_the_same_bytes() -> None:
    expected = tally_chart_png(MAY, APRIL)
    out: list[bytes] = []

    def render() -> None:
        out.append(tally_chart_png(MAY, APRIL))

    threads = [threading.Thread(target=render) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [expected] * 3


def test_matplotlib_cache_goes_to_a_private_tmp_dir_when_home_is_not_writable(
        tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a dir")
    home = tmp_path / "home"
    uid = os.getuid()
    assert mpl_config_dir({}, home, "/t") is None  # a writable home: the default stays
    assert (home / ".cache" / "matplotlib").is_dir()
    assert mpl_config_dir({}, blocked / "home", "/t") == f"/t/diandan-matplotlib-{uid}"
    assert mpl_config_dir({}, None, "/t") == f"/t/diandan-matplotlib-{uid}"
    assert mpl_config_dir({"XDG_CACHE_HOME": str(blocked)}, home, "/t") is not None
    assert mpl_config_dir({"MPLCONFIGDIR": "/m"}, blocked, "/t") is None  # set: left alone


def test_a_fresh_process_with_a_read_only_home_draws_without_complaint(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a dir")
    env = {k: v for k, v in os.environ.items()
           if k not in ("MPLCONFIGDIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")}
    env |= {"HOME": str(blocked / "home"), "TMPDIR": str(tmp_path)}
    code = ("import os; from bot.charts import tally_chart_png; "
            "png = tally_chart_png({'requests': 3}, {}); "
            "print(len(png) > 1000, os.environ['MPLCONFIGDIR'])")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.split() == ["True", str(tmp_path / f"diandan-matplotlib-{os.getuid()}")]
    assert "temporary" not in done.stderr and "not a writable" not in done.stderr, done.stderr
    assert any((tmp_path / f"diandan-matplotlib-{os.getuid()}").glob("fontlist-*.json"))


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
