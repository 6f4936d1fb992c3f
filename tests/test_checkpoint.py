"""WAL checkpoints on a thread of their own: the writer no longer copies the log back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.model import FrozenClock
from storage.checkpoint import FALLBACK_PAGES, Checkpointer
from storage.records import NewOrder
from storage.schema import connect
from storage.store import Store
from tests.fakes import T0

pytestmark = pytest.mark.sqlite_only  # the WAL checkpoints of the SQLite file


def _orders(store: Store, n: int) -> None:
    for i in range(n):
        store.create_order(NewOrder("fake", "g1", "group", "fake:u1", "吴经理", f"焊接变形{i}",
                                    summary="焊接变形"), actor="u")


def test_the_writer_leaves_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    store = Store(connect(path), FrozenClock(T0))
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    checkpoints = Checkpointer(str(path), interval=3600)  # the test runs it by hand
    checkpoints.start(store.db)
    try:
        assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == FALLBACK_PAGES
        _orders(store, 300)  # far more than 1,000 pages of log: the writer copied none back
        busy, frames, copied = checkpoints.run_once()
        assert (busy, copied) == (0, frames) and frames > 1000
        _orders(store, 1)  # the next write starts the log again from its beginning
        assert checkpoints.run_once()[1] < frames
    finally:
        checkpoints.stop()
    store.db.close()
    assert not os.path.exists(f"{path}-wal")  # the last close checkpoints and removes it
    again = Store(connect(path), FrozenClock(T0))
    assert again.db.execute("SELECT count(*) FROM orders").fetchone()[0] == 301


def test_the_thread_stops_and_closes_its_connection(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    store = Store(connect(path), FrozenClock(T0))
    checkpoints = Checkpointer(str(path), interval=0.01)
    checkpoints.start(store.db)
    checkpoints.stop()
    assert checkpoints._thread is not None and not checkpoints._thread.is_alive()
    assert checkpoints._conn is None
    store.db.close()
