"""The tally chart: a valid PNG of the right size, bars that carry the tally where the pixels
show them, and labels in a font that has every glyph they need (a system CJK font, or plain
labels without one)."""

from __future__ import annotations

import io
import itertools
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops
from PIL.ImageFont import FreeTypeFont

from bot import charts
from bot.charts import (
    AXIS,
    CIRCLED,
    HEIGHT,
    IMAGE_PNG,
    LEGEND_SHADE,
    PNG_SIGNATURE,
    SERIES,
    WIDTH,
    Bar,
    chart_bars,
    chart_image,
    chart_layout,
    figure,
    image_extra,
    image_of,
    legend,
    tally_chart_png,
)
from bot.charts import fonts as chart_fonts

ROOT = Path(__file__).resolve().parent.parent
MAY = {"requests": 62, "completed": 48, "solved": 31, "sessions": 57, "person_times": 512,
       "suggestions": 23, "hours": 120.5, "satisfaction": 0.95}
APRIL = {"requests": 50, "completed": 52, "solved": 20, "sessions": 40, "person_times": 430,
         "suggestions": 0}
ZEROS = {s.key: 0 for s in SERIES}
HUGE = {"requests": 123_456, "completed": 10**30, "person_times": 3.4e8, "sessions": 57}
NO_CJK_FONT = "no CJK font on this system (apt-get install fonts-wqy-zenhei)"


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[charts.ChartFont]:
    """A system without any CJK font: the font search finds none (chosen afresh, and chosen
    afresh again after the test)."""
    monkeypatch.setattr(charts, "find_cjk_font", lambda *_a: None)
    charts.chart_font.cache_clear()
    yield charts.chart_font()
    charts.chart_font.cache_clear()


def _png(png: bytes) -> Image.Image:
    """The PNG opened and checked by Pillow's reader (chunks and CRCs)."""
    assert png.startswith(PNG_SIGNATURE)
    Image.open(io.BytesIO(png)).verify()
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return image


def _chunks(png: bytes) -> list[bytes]:
    """The PNG's chunk types, in order."""
    out, at = [], len(PNG_SIGNATURE)
    while at < len(png):
        (length,) = struct.unpack(">I", png[at:at + 4])
        out.append(png[at + 4:at + 8])
        at += 12 + length
    return out


def _bar(bars: list[Bar], series: int, current: bool) -> Bar:
    return next(b for b in bars if b.series == series and b.current == current)


def _is_cjk(c: str) -> bool:
    return "\u2e80" <= c <= "\u9fff" or "\uf900" <= c <= "\uffef"


def _mask(image: Image.Image, color: tuple[int, int, int]) -> Image.Image:
    """White where the image has exactly `color`, black elsewhere."""
    bands = [band.point([255 if v == c else 0 for v in range(256)])
             for band, c in zip(image.convert("RGB").split(), color, strict=True)]
    return ImageChops.multiply(ImageChops.multiply(bands[0], bands[1]), bands[2])


def _count(image: Image.Image, color: tuple[int, int, int]) -> int:
    return _mask(image, color).histogram()[255]


def _solid_box(image: Image.Image, color: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """The box the pixels of `color` fill (asserting they fill it whole, as one bar does),
    its corners included."""
    mask = _mask(image, color)
    found = mask.getbbox()
    assert found is not None, color
    box = found[0], found[1], found[2] - 1, found[3] - 1
    assert mask.histogram()[255] == (box[2] - box[0] + 1) * (box[3] - box[1] + 1), (color, box)
    return box


def _darkest(image: Image.Image) -> int:
    """The lowest value of any channel: under 255 where something is drawn on the white."""
    return min(low for low, _high in image.getextrema())  # type: ignore[misc]


def _cmap(font: charts.ChartFont) -> set[int]:
    """The font file's own character map, read apart from the code under test."""
    with TTFont(font.path, fontNumber=font.index, lazy=True) as tt:
        return set(tt.getBestCmap())


def test_png_is_valid_of_the_chart_size_and_the_same_for_the_same_tally() -> None:
    png = tally_chart_png(MAY, APRIL)
    image = _png(png)
    assert image.size == (WIDTH, HEIGHT)
    assert 300 <= HEIGHT <= WIDTH <= 800
    assert len(png) < 100_000
    assert image.convert("RGB").getpixel((1, 1)) == (255, 255, 255)  # white background
    assert tally_chart_png(dict(MAY), dict(APRIL)) == png  # same figures, same bytes
    assert set(_chunks(png)) == {b"IHDR", b"IDAT", b"IEND"}  # no time, no software named
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


def test_the_drawn_chart_shows_those_bars_on_the_axis_with_their_figures() -> None:
    image = _png(tally_chart_png(MAY, APRIL)).convert("RGB")
    tallest, slots = set(), []
    for s in SERIES:
        now = _solid_box(image, s.color)
        pair = [now]
        if APRIL[s.key] == 0:
            assert _count(image, s.light) == 0  # nothing drawn for a 0
        else:
            before = _solid_box(image, s.light)
            assert before[2] < now[0] and before[3] == now[3]  # on the left, on the same axis
            pair.insert(0, before)
        heights = [b[3] - b[1] + 1 for b in pair]
        tallest.add(max(heights))
        shown = heights[0] / heights[-1] if len(pair) == 2 else 0.0
        assert shown == pytest.approx(APRIL[s.key] / MAY[s.key], abs=2 / heights[-1]), s.key
        slots.append((pair[0][0], now[2]))
        for box in pair:  # its figure written just over it
            above = image.crop((box[0], box[1] - 22, box[2] + 1, box[1] - 1))
            assert _darkest(above) < 160, (s.key, box)
    assert len(tallest) == 1 and tallest.pop() > HEIGHT / 2  # each pair scaled on its own
    assert image.getpixel((WIDTH // 2, now[3] + 1)) == AXIS  # the axis line under the bars
    assert slots == sorted(slots)  # in SERIES order
    for left, right in slots:  # a name under each pair
        under = image.crop((left, now[3] + 4, right + 1, HEIGHT))
        assert _darkest(under) < 100


def test_without_previous_each_figure_has_one_centred_wider_bar() -> None:
    bars = chart_bars(MAY, None)
    assert len(bars) == len(SERIES) and all(b.current for b in bars)
    assert [b.x for b in bars] == [float(i) for i in range(len(SERIES))]
    assert all(b.height == 1.0 for b in bars)
    single = _png(tally_chart_png(MAY, None))
    paired = _png(tally_chart_png(MAY, APRIL))
    assert single.size == (WIDTH, HEIGHT)
    for s in SERIES:
        assert _count(single, s.light) == 0
        alone, pair = _solid_box(single, s.color), _solid_box(paired, s.color)
        assert alone[2] - alone[0] > pair[2] - pair[0]
    boxes = [_solid_box(single, s.color) for s in SERIES]
    gaps = [b[0] - a[2] for a, b in itertools.pairwise(boxes)]
    assert max(gaps) - min(gaps) <= 1  # evenly spaced


def test_empty_and_odd_tallies_draw_no_bars() -> None:
    odd: dict[str, Any] = {"requests": -5, "completed": None, "solved": "7",
                           "sessions": float("nan"), "person_times": True}
    colours = {c for s in SERIES for c in (s.color, s.light)}
    for t, previous in ((ZEROS, ZEROS), (ZEROS, None), ({}, None), (odd, odd)):
        bars = chart_bars(t, previous)
        assert all(b.height == 0 and b.value == 0 and b.label == "0" for b in bars)
        image = _png(tally_chart_png(t, previous)).convert("RGB")
        assert image.size == (WIDTH, HEIGHT)
        assert not colours & {c for _n, c in image.getcolors(WIDTH * HEIGHT) or []}


@pytest.mark.parametrize("huge", [10**6, 3 * 10**9, 10**30, 1e300, float("inf")])
def test_huge_values_do_not_overflow(huge: float) -> None:
    now: dict[str, Any] = {s.key: huge for s in SERIES}
    before: dict[str, Any] = {s.key: 1 for s in SERIES}
    png = tally_chart_png(now, before)
    assert _png(png).size == (WIDTH, HEIGHT) and len(png) < 100_000
    for b in chart_bars(now, before):
        assert 0 <= b.height <= 1 and len(b.label) <= 7
    _boxes, labels = chart_layout(now, before, charts.chart_font())
    assert all(0 <= label.x <= WIDTH and 0 <= label.y <= HEIGHT for label in labels)


def test_figures_are_short() -> None:
    assert [figure(v) for v in (0, 62, 4.5, 9999, 12345, 123456, 1234567, 3.4e8)] == [
        "0", "62", "4.5", "9999", "1.2万", "12.3万", "123万", "3.4亿"]
    assert figure(None) == "-" and figure(float("nan")) == "-" and figure(-3) == "-3"
    assert figure(10**30) == "9999+亿"
    assert [figure(v, cjk=False) for v in (9999, 12345, 1234567, 3.4e8, 3e9, 10**30)] == [
        "9999", "12.3k", "1.2M", "340M", "3B", "9999+B"]


def _texts(font: charts.ChartFont, t: dict[str, Any], previous: dict[str, Any] | None,
           **words: str) -> list[str]:
    """Every text the chart draws, each checked against the font file's own glyphs."""
    _boxes, labels = chart_layout(t, previous, font, **words)
    cmap = _cmap(font)
    for label in labels:
        face = charts._face(font, label.size)
        assert isinstance(face, FreeTypeFont) and face.path == font.path  # drawn in that font
        assert all(ord(c) in cmap for c in label.text), label.text  # no box for a glyph
        assert font.covers(label.text), label.text
    return [label.text for label in labels]


def test_with_a_cjk_font_every_label_is_chinese_in_that_font() -> None:
    font = charts.chart_font()
    if not font.cjk:
        pytest.skip(NO_CJK_FONT)
    assert _texts(font, MAY, APRIL)
    words = _texts(font, HUGE, APRIL)
    assert {s.word for s in SERIES} <= set(words)  # the names on the axis
    assert {"上月", "本月", "12.3万", "3.4亿", "9999+亿"} <= set(words)  # legend, figures
    single = _texts(font, MAY, None, this_word="本期")
    assert "本期" in single and "上月" not in single
    legend_colours = {c for _n, c in chart_image(MAY, APRIL).getcolors(WIDTH * HEIGHT) or []}
    assert {LEGEND_SHADE, charts._pale(LEGEND_SHADE)} <= legend_colours  # its swatches


def test_without_a_cjk_font_labels_are_only_glyphs_the_fallback_has(
        no_cjk_font: charts.ChartFont) -> None:
    assert not no_cjk_font.cjk and no_cjk_font.path == charts.fallback_font().path
    for t, previous in ((MAY, APRIL), (HUGE, APRIL), (MAY, None)):
        assert not any(_is_cjk(c) for w in _texts(no_cjk_font, t, previous) for c in w)
    words = _texts(no_cjk_font, HUGE, APRIL)
    assert list(CIRCLED[:len(SERIES)]) == [w for w in words if w in CIRCLED]  # as legend() says
    assert {"123k", "340M", "9999+B", "57", "40"} <= set(words)
    colours = {c for _n, c in chart_image(HUGE, APRIL).getcolors(WIDTH * HEIGHT) or []}
    assert LEGEND_SHADE not in colours  # no legend: the message's line says it
    assert _png(tally_chart_png(HUGE, APRIL)).size == (WIDTH, HEIGHT)


def test_the_installed_fonts_are_listed_once_for_both_searches(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No CJK font: the Latin search reuses the list (fc-list runs once, or one directory walk)."""
    listed: list[int] = []

    def none_installed() -> list[chart_fonts.Face]:
        listed.append(1)
        return []

    monkeypatch.setattr(charts, "system_faces", none_installed)
    charts.chart_font.cache_clear()
    try:
        assert charts.chart_font().path == ""
    finally:
        charts.chart_font.cache_clear()
    assert len(listed) == 1


def test_without_any_font_file_pillows_own_font_writes_plain_labels(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "system_faces", lambda: [])
    assert charts.find_cjk_font() is None
    font = charts.fallback_font()
    assert font.path == "" and not font.cjk
    _boxes, labels = chart_layout(HUGE, APRIL, font)
    texts = [label.text for label in labels]
    assert texts[-len(SERIES):] == ["1", "2", "3", "4", "5", "6"]  # no ①: their numbers
    assert all(t.isascii() and font.covers(t) for t in texts)
    monkeypatch.setattr(charts, "chart_font", lambda: font)
    assert _png(tally_chart_png(HUGE, APRIL)).size == (WIDTH, HEIGHT)


def test_the_font_is_chosen_by_the_characters_it_covers(monkeypatch: pytest.MonkeyPatch) -> None:
    if charts.find_cjk_font() is None:
        pytest.skip(NO_CJK_FONT)
    found = charts.find_cjk_font(families=())  # no known family: the coverage scan finds it
    assert found is not None and found.covers(charts.CJK_TEXT + charts.PLAIN_TEXT)
    assert set(map(ord, charts.CJK_TEXT + charts.PLAIN_TEXT)) <= _cmap(found)
    digits = frozenset(map(ord, "0123456789"))
    monkeypatch.setattr(chart_fonts.Face, "chars", lambda _self, _wanted: digits)
    assert charts.find_cjk_font() is None  # known names count for nothing without the glyphs
    assert charts.fallback_font().path == ""


def test_fontconfigs_list_is_read_with_each_faces_character_map() -> None:
    cf = chart_fonts
    listed = ("/f/wqy.ttc\t1\tWenQuanYi Zen Hei Mono,文泉驿等宽正黑\t0\t80\t20-7e 4e00-9fa5\n"
              "/f/Italic.ttf\t0\tSome Sans\t100\t80\t20-7e 4e00-9fa5\n"
              "/f/LastResortHE-Regular.ttf\t0\tLastResort\t0\t80\t0-10ffff\n"
              "/f/Var.ttf\t0\tVar Sans\t0\t[40 210]\t20-7e\n"
              "not a line of the format\n")
    faces = cf.parse_fc_list(listed)
    assert [(f.path, f.index) for f in faces] == [("/f/wqy.ttc", 1), ("/f/Italic.ttf", 0),
                                                   ("/f/LastResortHE-Regular.ttf", 0),
                                                   ("/f/Var.ttf", 0)]
    wqy = faces[0]
    assert wqy.families == ("WenQuanYi Zen Hei Mono", "文泉驿等宽正黑") and wqy.upright
    assert wqy.chars(map(ord, "A本①")) == frozenset(map(ord, "A本"))
    chinese = "".join(s.word for s in SERIES)
    found = cf.find_font(faces, (), chinese, map(ord, chinese), cjk=True)
    assert found is not None and (found.path, found.index) == ("/f/wqy.ttc", 1)  # upright,
    assert cf.find_font(faces[1:], (), chinese, (), cjk=True) is None  # and never LastResort


def test_without_fc_list_the_font_dirs_are_walked(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    real = charts.find_cjk_font()
    if real is None:
        pytest.skip(NO_CJK_FONT)
    cf = chart_fonts
    monkeypatch.setenv("HOME", str(tmp_path))
    mine = tmp_path / ".local/share/fonts"
    assert mine in cf.font_dirs() and tmp_path / ".fonts" in cf.font_dirs()
    monkeypatch.setattr(cf, "fc_list", lambda: None)
    monkeypatch.setattr(cf, "font_dirs", lambda: [mine])
    assert charts.find_cjk_font() is None  # nothing installed there yet
    mine.mkdir(parents=True)
    (mine / "broken.ttf").write_bytes(b"not a font")
    (mine / ("cjk" + Path(real.path).suffix.lower())).write_bytes(Path(real.path).read_bytes())
    found = charts.find_cjk_font(families=())
    assert found is not None and Path(found.path).parent == mine and found.index == real.index
    assert found.covers(charts.CJK_TEXT + charts.PLAIN_TEXT)


def test_the_font_is_chosen_once_a_process_and_prepare_opens_its_faces() -> None:
    assert charts.chart_font() is charts.chart_font() is charts.prepare()
    charts._face.cache_clear()
    charts.prepare()
    opened = charts._face.cache_info().currsize
    tally_chart_png(HUGE, APRIL)  # its figures in the small size, the rest in the other
    assert opened == len(charts.SIZES) == charts._face.cache_info().currsize


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


def test_a_fresh_process_draws_with_little_memory_and_writes_nothing(tmp_path: Path) -> None:
    """The reason the chart is drawn with Pillow: a chart library kept 60 MiB resident."""
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a dir")
    code = ("import os\n"
            "def rss():\n"
            "    status = open('/proc/self/status').read().split('VmRSS:')[1]\n"
            "    return int(status.split()[0]) / 1024\n"
            "before = rss()\n"
            "from bot.charts import tally_chart_png\n"
            "png = tally_chart_png({'requests': 3}, {})\n"
            "print(len(png) > 1000, round(rss() - before))\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(blocked / "home"), "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    drawn, mib = done.stdout.split()
    assert drawn == "True" and int(mib) < 30, done.stdout
    assert done.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


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
