"""WAL checkpoints in a thread of their own, so that no message waits for one."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from storage.db import Database

log = logging.getLogger(__name__)

# The writer checkpoints by itself only when the log has grown this long (pages of 4 KiB):
# a safety net should this thread fall behind or stop. SQLite's default is 1,000.
FALLBACK_PAGES = 10_000
INTERVAL_SECONDS = 0.5


class Checkpointer:
    """Copies the write-ahead log back into the database file, on a connection and a thread
    of its own, every `interval` seconds.

    Left to the writer, a commit that fills the log past 1,000 pages copies them back and
    syncs the file before it returns: a few milliseconds on a big database, for one message
    in every few dozen. A passive checkpoint here never blocks the writer; SQLite releases
    the GIL while it copies.
    """

    def __init__(self, path: str, interval: float = INTERVAL_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None

    def start(self, writer: Database) -> None:
        """Take the checkpoints over from `writer`'s connection."""
        # Read-write, never create: the file is the writer's, made private by connect().
        uri = f"{Path(self.path).absolute().as_uri()}?mode=rw"
        self._conn = sqlite3.connect(uri, timeout=15, check_same_thread=False, uri=True)
        writer.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_PAGES}")
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def run_once(self) -> tuple[int, int, int]:
        """One passive checkpoint: (busy, frames in the log, frames copied back)."""
        assert self._conn is not None, "start() first"
        busy, frames, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(frames), int(copied)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except sqlite3.Error as exc:  # the writer's own checkpoints still bound the log
                log.warning("WAL checkpoint failed: %s", exc)

    def stop(self) -> None:
        """Stop the thread and close its connection (the writer's own close checkpoints)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                return  # stuck in a checkpoint: a daemon thread, gone with the process
        if self._conn is not None:
            self._conn.close()
            self._conn = None
