"""Data at rest: the database, its logs, its folder and the lock file are private."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import runlock
from storage.checkpoint import Checkpointer
from storage.schema import connect


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask most systems start with: files 0644 and folders 0755 unless we say so."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _companions(path: Path) -> list[Path]:
    return [Path(f"{path}-wal"), Path(f"{path}-shm")]


# -- file modes ------------------------------------------------------------------------------


def test_a_new_database_its_logs_and_its_new_folder_are_private(tmp_path: Path,
                                                                 open_umask: None) -> None:
    path = tmp_path / "data" / "bot.db"
    db = connect(path)
    try:
        wal, shm = _companions(path)
        assert wal.exists() and shm.exists()  # WAL mode, with the migrations written
        assert _mode(path.parent) == 0o700
        assert {p.name: _mode(p) for p in (path, wal, shm)} == {
            "bot.db": 0o600, "bot.db-wal": 0o600, "bot.db-shm": 0o600}
    finally:
        db.close()


def test_a_folder_that_already_existed_keeps_its_mode(tmp_path: Path, open_umask: None) -> None:
    os.chmod(tmp_path, 0o755)  # such as /tmp or a home directory: not ours to change
    connect(tmp_path / "bot.db").close()
    assert _mode(tmp_path) == 0o755
    assert _mode(tmp_path / "bot.db") == 0o600


def test_an_open_database_and_its_logs_are_tightened_once(
        tmp_path: Path, open_umask: None, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "bot.db"
    connect(path).close()
    os.chmod(path, 0o644)  # as an older version left it
    other = sqlite3.connect(path)  # holds -wal and -shm open, made 0644 like the file
    try:
        other.execute("PRAGMA journal_mode = WAL")
        other.execute("CREATE TABLE scratch (x)")
        assert all(_mode(p) == 0o644 for p in _companions(path))
        caplog.set_level(logging.INFO)
        connect(path).close()
        assert {_mode(p) for p in (path, *_companions(path))} == {0o600}
        tightened = [r for r in caplog.records if "0600" in r.getMessage()]
        assert len(tightened) == 1 and tightened[0].levelno == logging.INFO
        caplog.clear()
        connect(path).close()
        assert not [r for r in caplog.records if "0600" in r.getMessage()]
    finally:
        other.close()


def test_the_lock_file_is_private(tmp_path: Path, open_umask: None) -> None:
    db = str(tmp_path / "bot.db")
    held = runlock.acquire(db)
    assert held is not None
    held.close()
    lock = Path(f"{db}.run.lock")
    assert _mode(lock) == 0o600
    os.chmod(lock, 0o644)
    held = runlock.acquire(db)
    assert held is not None
    held.close()
    assert _mode(lock) == 0o600


def test_the_checkpointer_never_creates_a_database(tmp_path: Path, open_umask: None) -> None:
    writer = connect(tmp_path / "bot.db")
    missing = tmp_path / "gone.db"
    try:
        with pytest.raises(sqlite3.OperationalError):
            Checkpointer(str(missing)).start(writer)
    finally:
        writer.close()
    assert not missing.exists()
