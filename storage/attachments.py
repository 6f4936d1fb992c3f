"""The store's part on attachments: pictures and files that came with an order."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.model import Attachment
from storage.base import StoreBase, parse_ts, ts
from storage.records import StoredAttachment

if TYPE_CHECKING:  # imported only where a migration runs: a serving bot need not keep it
    import sqlite_utils


def create_attachments(db: sqlite_utils.Database) -> None:
    """Pictures, files and voice messages attached to orders."""
    db.execute(
        """CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            order_no INTEGER NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            platform TEXT NOT NULL,
            ref TEXT NOT NULL DEFAULT '',
            path TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL,
            actor TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX attachments_order ON attachments (order_no, id)")


class AttachmentsMixin(StoreBase):
    """Attachments of orders."""

    def attach(self, order_no: int, attachment: Attachment, platform: str, actor: str) -> int:
        """Keep one attachment of an order (audited); its id."""
        with self.tx():
            cur = self.db.execute(
                "INSERT INTO attachments (order_no, kind, name, platform, ref, path, at, actor) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                [order_no, attachment.kind, attachment.name[:200], platform,
                 attachment.ref[:2000], attachment.path[:500], ts(self.clock.now()), actor])
            attachment_id = int(cur.fetchone()[0])
            self._event(actor, "order.attached", order_no, what=attachment.kind,
                        name=attachment.name[:200])
        return attachment_id

    def attachments(self, order_no: int) -> list[StoredAttachment]:
        rows = self._rows("SELECT * FROM attachments WHERE order_no = ? ORDER BY id", [order_no])
        return [_stored(r) for r in rows]

    def attachment(self, attachment_id: int) -> StoredAttachment | None:
        rows = self._rows("SELECT * FROM attachments WHERE id = ?", [attachment_id])
        return _stored(rows[0]) if rows else None

    def recent_order_of(self, platform: str, chat_id: str, account: str,
                        since: datetime) -> int | None:
        """The newest order `account` opened in this chat since `since`, if any."""
        row = self.db.execute(
            "SELECT no FROM orders WHERE platform = ? AND chat_id = ? AND requester = ? "
            "AND created_at >= ? ORDER BY no DESC LIMIT 1",
            [platform, chat_id, account, ts(since)]).fetchone()
        return None if row is None else int(row[0])


def _stored(r: dict[str, object]) -> StoredAttachment:
    at = parse_ts(str(r["at"]))
    assert at is not None
    return StoredAttachment(
        id=int(str(r["id"])), order_no=int(str(r["order_no"])),
        attachment=Attachment(str(r["kind"]), str(r["name"]), str(r["ref"]), str(r["path"])),
        platform=str(r["platform"]), at=at, actor=str(r["actor"]))
