"""One running bot per database: an advisory lock file beside it, released even on SIGKILL."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from storage.files import open_private


def _path(db_path: str) -> Path:
    return Path(f"{db_path}.run.lock")


def acquire(db_path: str) -> IO[bytes] | None:
    """Take the lock (keep the returned file open while running); None if a bot holds it."""
    if db_path == ":memory:":
        return None
    f = os.fdopen(open_private(_path(db_path), os.O_WRONLY | os.O_APPEND), "ab")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        return None
    return f


def bot_running(db_path: str) -> bool:
    """Whether a bot process holds the lock of this database."""
    if db_path == ":memory:" or not _path(db_path).exists():
        return False
    f = acquire(db_path)
    if f is None:
        return True
    f.close()
    return False
