"""A built object kept on disk between runs, keyed by everything it was built from."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TypeVar

from bot.heap import trim_heap

log = logging.getLogger(__name__)
T = TypeVar("T")
OFF = ("", "0", "off", "no", "false")


def cache_dir() -> Path | None:
    """Where built objects are kept: DIANDAN_CACHE_DIR if set (empty or "off": nowhere),
    else $XDG_CACHE_HOME/diandan or ~/.cache/diandan."""
    env = os.environ.get("DIANDAN_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in OFF else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "diandan"


@cache
def text_code() -> tuple[bytes, ...]:
    """The sources every text index is built with: the reading modules' code and the
    traditional-character table they normalize with (a change in either builds it again).
    Read once per process, for the lexicon and the taxonomy's index alike."""
    from bot.text import match_ngram, normalize

    code = [Path(m.__file__).read_bytes() for m in (match_ngram, normalize) if m.__file__]
    code.append((resources.files("opencc") / "dictionary" / "TSCharacters.txt").read_bytes())
    return tuple(code)


def _private(folder: Path) -> bool:
    """The folder is this user's own and nobody else may write in it: a pickle found there
    was written by this user (loading a pickle runs code, so only such files are read)."""
    try:
        st = folder.stat()
    except OSError:
        return False
    mine = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return mine and stat.S_ISDIR(st.st_mode) and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def built(name: str, sources: Iterable[bytes], build: Callable[[], T]) -> T:
    """`build()`, or the object an earlier run built from the same sources.

    The object is pickled under `name` and a digest of `sources` (pass every data file and
    module source the build reads) and the Python version. Loading it takes about 0.1 s where
    parsing the lexicon's TOML files and building it takes about 1 s, in every `diandan`
    command and at every start. Any failure to read or write the cache falls back to
    building."""
    h = hashlib.blake2b(sys.version.encode(), digest_size=16)
    for s in sources:
        h.update(len(s).to_bytes(8, "little"))
        h.update(s)
    folder = cache_dir()
    path = None if folder is None else folder / f"{name}-{h.hexdigest()}.pickle"
    if path is not None and _private(path.parent) and path.is_file():
        try:
            with path.open("rb") as f:
                obj: T = pickle.load(f)
            return obj
        except Exception:  # truncated, or from another version of the classes: build again
            log.warning("could not load %s, building it again", path, exc_info=True)
    obj = build()
    trim_heap()  # the parse's scaffolding (TOML tables, lists) freed between what stays
    if path is None:
        return obj
    folder = path.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder):
            return obj
        fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        for old in folder.glob(f"{name}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only home, a full disk: the next start builds again
        log.info("could not keep %s in %s: %s", name, folder, exc)
    return obj
