"""The system's font files, their families and the characters they cover (fc-list or fontTools)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ASCII = "".join(map(chr, range(0x20, 0x7F)))
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "Droid Sans Fallback", "Sarasa Gothic SC",
                "AR PL UMing CN", "Microsoft YaHei", "SimHei", "PingFang SC")
FALLBACK_FAMILIES = ("DejaVu Sans", "Liberation Sans", "Noto Sans", "FreeSans", "Arial")
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
REGULAR_FC, REGULAR_CSS = 80, 400  # the regular weight in fontconfig's and OpenType's scales


@dataclass(frozen=True)
class ChartFont:
    """The font the chart is drawn in: its file and face index ('' for Pillow's built-in
    font), whether it writes Chinese, and which of the characters the chart may write
    (`wanted`) it has glyphs for."""

    path: str
    cjk: bool
    chars: frozenset[int]
    index: int = 0

    def covers(self, text: str) -> bool:
        """Whether every character of `text` has a glyph (only characters the chart may
        write are known: any other counts as missing)."""
        return all(ord(c) in self.chars for c in text)


@dataclass(frozen=True)
class Face:
    """One face of a font file: its family names, whether it is upright, how far its weight is
    from regular, and the ranges of its character map when fontconfig listed them."""

    path: str
    index: int
    families: tuple[str, ...]
    upright: bool
    weight_gap: int
    ranges: tuple[tuple[int, int], ...] | None = None

    def chars(self, wanted: Iterable[int]) -> frozenset[int]:
        """Which of `wanted` this face has glyphs for (fontTools reads the file if needed)."""
        if self.ranges is None:
            return _charmap(self.path, self.index, wanted)
        return frozenset(c for c in wanted if any(lo <= c <= hi for lo, hi in self.ranges))


def font_dirs() -> list[Path]:
    """Where fonts are installed: the system's, the local admin's and the user's."""
    dirs = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts")]
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no passwd entry
        return dirs
    return [*dirs, home / ".fonts", home / ".local/share/fonts"]


def system_faces() -> list[Face]:
    """Every font face installed: as fontconfig lists them when `fc-list` is there, else by
    walking the font directories (fontTools reads each file's names)."""
    listed = fc_list()
    if listed is not None:
        return parse_fc_list(listed)
    return list(walk_faces(font_dirs()))


FC_FORMAT = "%{file}\\t%{index}\\t%{family}\\t%{slant}\\t%{weight}\\t%{charset}\\n"


def fc_list() -> str | None:
    """fontconfig's list of installed faces with their character maps; None without it."""
    exe = shutil.which("fc-list")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "--format", FC_FORMAT], capture_output=True, timeout=30,
                              check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.decode("utf-8", "replace")


def parse_fc_list(text: str) -> list[Face]:
    """The faces of `fc-list --format FC_FORMAT` output (odd lines skipped)."""
    faces = []
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) != 6 or not cols[1].isdigit():
            continue
        path, index, family, slant, weight, charset = cols
        try:
            ranges = tuple(_range(r) for r in charset.split())
        except ValueError:
            continue
        faces.append(Face(path, int(index), tuple(f.strip() for f in family.split(",")),
                          _number(slant, 0) == 0, abs(_number(weight, REGULAR_FC) - REGULAR_FC),
                          ranges))
    return faces


def _range(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    return int(lo, 16), int(hi or lo, 16)


def _number(text: str, default: int) -> int:
    found = re.search(r"\d+", text)  # "80", or "[40 210]" for a variable font: its first
    return int(found.group()) if found else default


def walk_faces(dirs: Iterable[Path]) -> Iterator[Face]:
    """The faces of the font files under `dirs`, read with fontTools (unreadable ones skipped)."""
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    files = sorted({p.resolve() for d in dirs if d.is_dir() for p in d.rglob("*")
                    if p.suffix.lower() in FONT_SUFFIXES and p.is_file()})
    for path in files:
        faces = []
        try:
            with path.open("rb") as file:  # closed even when fontTools refuses the file
                count = (len(TTCollection(file, lazy=True).fonts)
                         if path.suffix.lower() in (".ttc", ".otc") else 1)
                for index in range(count):
                    file.seek(0)
                    faces.append(_face_of(str(path), index, TTFont(file, fontNumber=index,
                                                                   lazy=True)))
        except (OSError, TTLibError, KeyError, AssertionError, ValueError, struct.error):
            continue
        yield from faces


def _face_of(path: str, index: int, font: object) -> Face:
    from fontTools.ttLib import TTFont

    assert isinstance(font, TTFont)
    names = font["name"]
    families = tuple(dict.fromkeys(
        str(r.toUnicode()) for r in names.names if r.nameID in (16, 1)))
    os2 = font.get("OS/2")
    weight = os2.usWeightClass if os2 is not None else REGULAR_CSS
    italic = bool(os2.fsSelection & 1) if os2 is not None else False
    return Face(path, index, families, not italic, abs(weight - REGULAR_CSS) // 5)


def _charmap(path: str, index: int, wanted: Iterable[int]) -> frozenset[int]:
    """Which of `wanted` the face's character map (read with fontTools) has."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        with open(path, "rb") as file:
            cmap = TTFont(file, fontNumber=index, lazy=True).getBestCmap() or {}
            return frozenset(c for c in wanted if c in cmap)
    except (OSError, TTLibError, KeyError, AssertionError, ValueError, struct.error):
        return frozenset()


def ordered(faces: Iterable[Face], families: Iterable[str]) -> list[Face]:
    """Upright faces, those of `families` first in that order, then the rest, nearest to the
    regular weight first (each file and face once; never LastResort, a box for every
    character)."""
    rank = {name: i for i, name in enumerate(families)}
    unique = {(f.path, f.index): f for f in faces
              if f.upright and "lastresort" not in Path(f.path).name.lower()}

    def key(f: Face) -> tuple[int, int, str, int]:
        known = min((rank[n] for n in f.families if n in rank), default=len(rank))
        return known, f.weight_gap, f.path, f.index

    return sorted(unique.values(), key=key)


def find_font(faces: Iterable[Face], families: Iterable[str], needs: str,
              wanted: Iterable[int], *, cjk: bool) -> ChartFont | None:
    """The first face (in `ordered` order) with a glyph for every character of `needs`."""
    wanted = frozenset(wanted) | frozenset(map(ord, needs))
    for face in ordered(faces, families):
        font = ChartFont(face.path, cjk, face.chars(wanted), face.index)
        if font.covers(needs):
            return font
    return None
