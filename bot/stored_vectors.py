"""Profile vectors kept in the store for the semantic index: read at once, written in batches."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial

from storage.db import DB_ERRORS
from storage.store import Store

log = logging.getLogger(__name__)
# Rows per write transaction (a few ms of the database's writer), rows waiting to be written
# at most (beyond that they are recomputed some other time), and when rows the roster no
# longer needs are deleted: once all rows pass RATIO times the roster's texts plus SLACK (a
# changed profile leaves its old text's vector behind; a new model, all of them).
SAVE_BATCH = 256
QUEUE_MAX = 20_000
PRUNE_RATIO, PRUNE_SLACK = 1.5, 1_000
SQLITE_READONLY = 8  # SQLite's primary result code for a write to a read-only database


class StoredVectors:
    """The store as the semantic index's vector cache (match_vectors.VectorCache).

    Reads go to `reader` (the store unless set: a thread's own connection, read-only too) at
    once. Writes wait in a queue until `steps()` writes them to the store, one short
    transaction per step, at a moment the caller may write: the CLI at once, the bot under
    its writer lock; `on_save` (if set) is called when rows were queued. A database that
    cannot be written (read-only) keeps nothing and says so once in the log."""

    def __init__(self, store: Store, on_save: Callable[[], object] | None = None) -> None:
        self.store = store
        self.reader = store
        self.on_save = on_save
        self.writable = True
        self._queue: list[tuple[str, bytes, bytes]] = []
        self._prune: tuple[str, frozenset[bytes]] | None = None
        self._lock = threading.Lock()

    def load(self, model: str, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """The stored vectors of these keys."""
        return self.reader.cached_vectors(model, keys)

    def save(self, model: str, rows: Sequence[tuple[bytes, bytes]]) -> None:
        """Queue rows to be written by `steps()`."""
        with self._lock:
            if not self.writable or len(self._queue) + len(rows) > QUEUE_MAX:
                return
            self._queue.extend((model, k, v) for k, v in rows)
        if self.on_save is not None:
            self.on_save()

    def prune_later(self, model: str, keep: set[bytes]) -> None:
        """After the queue is written, delete rows the roster no longer needs if they have
        grown well beyond what it needs (`keep`: the keys of all its texts)."""
        with self._lock:
            self._prune = (model, frozenset(keep))

    @property
    def pending(self) -> bool:
        """Whether anything waits to be written."""
        return bool(self._queue) or self._prune is not None

    def steps(self) -> Iterator[int]:
        """Write what waits, one transaction per step; each step yields the rows it wrote
        or deleted."""
        while self.writable:
            with self._lock:
                batch, self._queue = self._queue[:SAVE_BATCH], self._queue[SAVE_BATCH:]
            if not batch:
                break
            for model in dict.fromkeys(m for m, _, _ in batch):
                rows = [(k, v) for m, k, v in batch if m == model]
                yield self._write(partial(self.store.save_vectors, model, rows))
        with self._lock:
            prune, self._prune = self._prune, None
        if prune is None or not self.writable:
            return
        model, keep = prune
        try:
            if self.store.vector_count() <= PRUNE_RATIO * len(keep) + PRUNE_SLACK:
                return
            stale = self.store.stale_vectors(model, keep)
        except DB_ERRORS:
            log.warning("could not read the stored profile vectors to prune", exc_info=True)
            return
        for start in range(0, len(stale), SAVE_BATCH):
            part = stale[start:start + SAVE_BATCH]
            yield self._write(partial(self.store.drop_vectors, part))
            if not self.writable:
                return
        log.info("pruned %d stored profile vectors the roster no longer needs", len(stale))

    def flush(self) -> int:
        """Write everything that waits now (the CLI); returns the rows written or deleted."""
        return sum(self.steps())

    def _write(self, fn: Callable[[], int]) -> int:
        try:
            return fn()
        except DB_ERRORS as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code == SQLITE_READONLY or "readonly" in str(exc):
                log.info("database is read-only: profile vectors are not kept")
            else:
                log.warning("could not keep profile vectors (%s); not trying again", exc)
            with self._lock:
                self.writable = False
                self._queue.clear()
                self._prune = None
            return 0
