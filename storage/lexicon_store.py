"""The store's part on the routing knowledge admins add: specialties and how people describe
their problems (taxonomy entries beside the shipped ones)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from storage.base import StoreBase, ts

if TYPE_CHECKING:  # imported only where a migration runs: a serving bot need not keep it
    import sqlite_utils


def create_lexicon(db: sqlite_utils.Database) -> None:
    """Specialties admins teach the matcher, each with its terms and plain-word symptoms."""
    db.execute(
        """CREATE TABLE lexicon_entries (
            name TEXT PRIMARY KEY,
            family TEXT NOT NULL DEFAULT '',
            terms TEXT NOT NULL DEFAULT '[]',
            symptoms TEXT NOT NULL DEFAULT '[]',
            at TEXT NOT NULL,
            actor TEXT NOT NULL
        )""")


class LexiconMixin(StoreBase):
    """Admins' additions to the routing knowledge."""

    def add_lexicon(self, name: str, terms: tuple[str, ...], symptoms: tuple[str, ...],
                    actor: str, family: str = "") -> None:
        """Add to a specialty (created if new): its terms and symptoms join what it had."""
        with self.tx():
            row = self.db.execute("SELECT family, terms, symptoms FROM lexicon_entries "
                                  "WHERE name = ?", [name]).fetchone()
            old_terms = tuple(json.loads(row[1])) if row else ()
            old_symptoms = tuple(json.loads(row[2])) if row else ()
            merged_terms = tuple(dict.fromkeys((*old_terms, *terms)))
            merged_symptoms = tuple(dict.fromkeys((*old_symptoms, *symptoms)))
            self.db.execute(
                "INSERT INTO lexicon_entries (name, family, terms, symptoms, at, actor) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "family = excluded.family, terms = excluded.terms, "
                "symptoms = excluded.symptoms, at = excluded.at, actor = excluded.actor",
                [name, family or (row[0] if row else ""),
                 json.dumps(merged_terms, ensure_ascii=False),
                 json.dumps(merged_symptoms, ensure_ascii=False), ts(self.clock.now()), actor])
            self._event(actor, "lexicon.added", name=name, terms=list(terms),
                        symptoms=list(symptoms))

    def lexicon_entries(self) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
        """Every added specialty: (name, family, terms, symptoms), by name."""
        rows = self.db.execute("SELECT name, family, terms, symptoms FROM lexicon_entries "
                               "ORDER BY name").fetchall()
        return [(str(r[0]), str(r[1]), tuple(json.loads(r[2])), tuple(json.loads(r[3])))
                for r in rows]
