"""The store's part on cached profile vectors: float32 bytes by (model, hash of the text)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from storage.base import StoreBase

if TYPE_CHECKING:  # imported only where a migration runs: a serving bot need not keep it
    import sqlite_utils

# Keys per IN list: well under SQLite's variable limit (999 before 3.32).
CHUNK = 500


def create_vector_cache(db: sqlite_utils.Database) -> None:
    """Profile vectors computed by a text-embedding model, kept so that starting the bot or
    running `diandan route` does not embed the whole roster again. Roster data only: the
    texts embedded for orders are never stored. A rowid table with a unique key rather than
    WITHOUT ROWID: a 384-float vector (1.5 KB) is far above the row size WITHOUT ROWID suits
    and would spill each row onto an overflow page of its own."""
    db.execute(
        """CREATE TABLE IF NOT EXISTS embedding_cache (
            id INTEGER PRIMARY KEY,
            model TEXT NOT NULL,
            text_hash BLOB NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            UNIQUE (model, text_hash)
        )""")


class VectorCacheMixin(StoreBase):
    """Profile vectors by (model, text hash): read many at once, written in batches."""

    def cached_vectors(self, model: str, hashes: Sequence[bytes]) -> dict[bytes, bytes]:
        """The stored vectors of `model` among `hashes` (float32 bytes, by hash); rows whose
        size disagrees with their dimension are left out."""
        found: dict[bytes, bytes] = {}
        keys = list(dict.fromkeys(hashes))
        for start in range(0, len(keys), CHUNK):
            part = keys[start:start + CHUNK]
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                f"SELECT text_hash, dim, vector FROM embedding_cache "
                f"WHERE model = ? AND text_hash IN ({marks})", [model, *part]).fetchall()
            for h, dim, vector in rows:
                if isinstance(vector, bytes) and len(vector) == 4 * int(dim):
                    found[bytes(h)] = vector
        return found

    def save_vectors(self, model: str, rows: Sequence[tuple[bytes, bytes]]) -> int:
        """Store (hash, float32 bytes) rows of `model` in one transaction, replacing what was
        kept for the same text; returns the rows written. Callers pass bounded batches: the
        transaction holds the database's writer."""
        if not rows:
            return 0
        with self.tx():
            self.db.executemany(
                "INSERT INTO embedding_cache (model, text_hash, dim, vector) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (model, text_hash) DO UPDATE SET dim = excluded.dim, "
                "vector = excluded.vector",
                [(model, h, len(v) // 4, v) for h, v in rows])
        return len(rows)

    def vector_count(self) -> int:
        """Rows in the vector cache, of every model."""
        return int(self.db.execute("SELECT count(*) FROM embedding_cache").fetchone()[0])

    def stale_vectors(self, model: str, keep: Collection[bytes]) -> list[int]:
        """Row ids of vectors the roster no longer needs: other models', and this model's
        outside `keep` (read from the key index alone, not the vectors)."""
        wanted = keep if isinstance(keep, set | frozenset) else set(keep)
        rows = self.db.execute("SELECT id, model, text_hash FROM embedding_cache").fetchall()
        return [int(i) for i, m, h in rows if m != model or bytes(h) not in wanted]

    def drop_vectors(self, ids: Sequence[int]) -> int:
        """Delete these rows in one transaction (callers pass bounded batches)."""
        if not ids:
            return 0
        with self.tx():
            return self.db.executemany("DELETE FROM embedding_cache WHERE id = ?",
                                       [(i,) for i in ids])
