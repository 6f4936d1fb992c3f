"""The on-disk cache of built objects (the lexicon): built once, read back, rebuilt when its
sources change, never read from a folder others may write in."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from bot.text import build_cache, match_taxonomy
from bot.text.match_lexicon import default_lexicon


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, int]:
        self.calls += 1
        return {"built": self.calls}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("DIANDAN_CACHE_DIR", str(where))
    return where


def test_built_once_then_read_back(folder: Path) -> None:
    build = Counter()
    assert build_cache.built("thing", [b"a", b"b"], build) == {"built": 1}
    assert build_cache.built("thing", [b"a", b"b"], build) == {"built": 1}
    assert build.calls == 1
    assert len(list(folder.glob("thing-*.pickle"))) == 1
    assert folder.stat().st_mode & 0o077 == 0


def test_other_sources_build_again_and_replace_the_old_file(folder: Path) -> None:
    build = Counter()
    build_cache.built("thing", [b"a", b"b"], build)
    first = list(folder.glob("thing-*.pickle"))
    # The same bytes cut differently are other sources.
    assert build_cache.built("thing", [b"ab"], build) == {"built": 2}
    assert build.calls == 2
    now = list(folder.glob("thing-*.pickle"))
    assert len(now) == 1 and now != first


def test_a_broken_file_is_built_again(folder: Path) -> None:
    build = Counter()
    build_cache.built("thing", [b"x"], build)
    (path,) = folder.glob("thing-*.pickle")
    path.write_bytes(b"not a pickle")
    assert build_cache.built("thing", [b"x"], build) == {"built": 2}
    assert pickle.loads(path.read_bytes()) == {"built": 2}


def test_a_folder_others_may_write_in_is_never_read(folder: Path) -> None:
    build = Counter()
    build_cache.built("thing", [b"x"], build)
    (path,) = folder.glob("thing-*.pickle")
    path.write_bytes(pickle.dumps({"planted": True}))
    folder.chmod(0o777)
    try:
        assert build_cache.built("thing", [b"x"], build) == {"built": 2}
        assert pickle.loads(path.read_bytes()) == {"planted": True}  # nor written to
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("value", ["", "off"])
def test_off_builds_every_time_and_writes_nothing(value: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIANDAN_CACHE_DIR", value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    build = Counter()
    build_cache.built("thing", [b"x"], build)
    build_cache.built("thing", [b"x"], build)
    assert build.calls == 2
    assert not list(tmp_path.rglob("*.pickle"))


def test_an_unwritable_place_still_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("DIANDAN_CACHE_DIR", str(blocker / "cache"))
    assert build_cache.built("thing", [b"x"], Counter()) == {"built": 1}


def test_the_kept_lexicon_reads_as_the_one_built_in_place(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default_lexicon.cache_clear()
    try:
        first = default_lexicon()  # built, then kept
        default_lexicon.cache_clear()
        kept = default_lexicon()  # read back
        assert kept is not first and list(folder.glob("lexicon-*.pickle"))
        monkeypatch.setenv("DIANDAN_CACHE_DIR", "off")
        default_lexicon.cache_clear()
        fresh = default_lexicon()  # built in place, nothing kept
    finally:
        default_lexicon.cache_clear()
    assert len(kept.symptoms) == len(fresh.symptoms) > 3000
    for text in ["不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导",
                 "我们的保温杯抽真空后保温时间不够，外壁发烫",
                 "家里厨房有股臭鸡蛋味，是不是煤气漏了"]:
        assert kept.read(text).specs == fresh.read(text).specs
        assert kept.read(text).specs
    assert kept.profile_specs(["焊接工艺", "压力容器焊接"]) == fresh.profile_specs(
        ["焊接工艺", "压力容器焊接"])


def test_the_kept_taxonomy_index_scores_as_the_one_built_in_place(folder: Path) -> None:
    passages = tuple(e.passage for e in match_taxonomy.default_taxonomy().entries)
    assert len(passages) >= match_taxonomy.KEEP_PASSAGES
    match_taxonomy._passages_of.cache_clear()
    try:
        match_taxonomy._passages_of(passages)  # built, then kept
        match_taxonomy._passages_of.cache_clear()
        kept = match_taxonomy._passages_of(passages)  # read back
    finally:
        match_taxonomy._passages_of.cache_clear()
    assert list(folder.glob("taxonomy-index-*.pickle"))
    fresh = match_taxonomy._Passages(passages)
    for text in ["不锈钢薄板一焊完就鼓起来像波浪", "鱼一到凌晨就往水面上冒头"]:
        assert kept.cosines(text) == fresh.cosines(text) and fresh.cosines(text)
    small = passages[:3]  # a few admins' entries: built in place, never kept
    match_taxonomy._passages_of(small)
    assert len(list(folder.glob("taxonomy-index-*.pickle"))) == 1


def test_the_kept_taxonomy_holds_the_entries_its_files_hold(folder: Path) -> None:
    parse = match_taxonomy.default_taxonomy.__wrapped__
    first = parse()  # parsed, then kept
    assert list(folder.glob("taxonomy-entries-*.pickle"))
    kept = parse()  # read back
    files = [e for p in sorted(match_taxonomy.TAXONOMY_DIR.glob("*.toml"))
             for e in match_taxonomy.read_entries(p)]
    assert kept.entries == first.entries and len(kept) >= len({e.name for e in files}) > 1000
    assert {e.name for e in kept.entries} == {e.name for e in files}
    some = files[len(files) // 2]
    assert kept.for_skills([some.name])[0].name == some.name
