"""The store's part on enterprise contacts: which enterprise (and region) an account speaks for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.base import StoreBase, ts

if TYPE_CHECKING:  # imported only where a migration runs: a serving bot need not keep it
    import sqlite_utils


def create_contacts(db: sqlite_utils.Database) -> None:
    """Enterprise contacts known from a roster (the demo's directory): account → enterprise."""
    db.execute(
        """CREATE TABLE contacts (
            account TEXT PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            enterprise TEXT NOT NULL,
            region TEXT,
            at TEXT NOT NULL
        )""")


class ContactsMixin(StoreBase):
    """The roster of enterprise contacts."""

    def set_contact(self, account: str, name: str, enterprise: str, region: str | None,
                    actor: str) -> None:
        """Record (or change) the enterprise `account` speaks for (audited)."""
        with self.tx():
            self.db.execute(
                "INSERT INTO contacts (account, name, enterprise, region, at) "
                "VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (account) DO UPDATE SET name = excluded.name, "
                "enterprise = excluded.enterprise, region = excluded.region, at = excluded.at",
                [account, name, enterprise, region, ts(self.clock.now())])
            self._event(actor, "contact.set", account=account, enterprise=enterprise,
                        region=region)

    def contact_of(self, account: str) -> tuple[str, str | None] | None:
        """The enterprise and region the roster gives for `account`, if any."""
        row = self.db.execute("SELECT enterprise, region FROM contacts WHERE account = ?",
                              [account]).fetchone()
        return None if row is None else (str(row[0]), row[1])
