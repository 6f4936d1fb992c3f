"""The store's messaging part: the durable outbox, known chats, and the local chat log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from bot.model import Outgoing
from storage.base import StoreBase, json_tuple, parse_ts, ts
from storage.records import BUTTONS, CARD, OutboxItem

CHAT_FRESH = timedelta(hours=1)  # a chat seen again within this is not written again


class DeliveryMixin(StoreBase):
    """Outbox rows, chat send targets and the local platform's message log."""

    # -- outbox -----------------------------------------------------------------------------

    def enqueue(self, out: Outgoing) -> int:
        """Store one outbound message as pending; it is sent after the transaction commits."""
        now = ts(self.clock.now())
        with self.tx():
            cur = self.db.execute(
                """INSERT INTO outbox (created_at, platform, chat_id, chat_kind, text, mentions,
                in_reply_to, extra, state, attempts, next_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)
                RETURNING id""",
                [
                    now, out.platform, out.chat_id, out.chat_kind.value, out.text,
                    json.dumps(list(out.mentions), ensure_ascii=False), out.in_reply_to,
                    json.dumps({**out.extra, **({"to_user": out.to_user} if out.to_user else {}),
                                **_card_extra(out)}, ensure_ascii=False), "pending", 0, now,
                ],
            )
            return int(cur.fetchone()[0])

    def outbox_item(self, item_id: int) -> OutboxItem | None:
        rows = self._rows("SELECT * FROM outbox WHERE id = ?", [item_id])
        return _item(rows[0]) if rows else None

    def due_outbox(self, now: datetime, platforms: list[str], limit: int = 200) -> list[OutboxItem]:
        """Pending items whose time has come, oldest first, on the given platforms."""
        if not platforms:
            return []
        marks = ",".join("?" * len(platforms))
        rows = self._rows(
            f"SELECT * FROM outbox WHERE state = 'pending' AND next_at <= ? "
            f"AND platform IN ({marks}) ORDER BY id LIMIT ?",
            [ts(now), *platforms, limit],
        )
        return [_item(r) for r in rows]

    def pending_ordered(self, platforms: list[str], due: list[OutboxItem],
                        limit: int = 1000) -> list[OutboxItem]:
        """Pending items (due or not) to the destinations of `due`, oldest first, so that a
        message waiting for a retry holds back the later ones to the same chat."""
        if not due:
            return []
        dests = sorted({(i.platform, i.chat_id) for i in due})
        cond = " OR ".join("(platform = ? AND chat_id = ?)" for _ in dests)
        args = [v for d in dests for v in d]
        rows = self._rows(
            f"SELECT * FROM outbox WHERE state = 'pending' AND ({cond}) ORDER BY id LIMIT ?",
            [*args, limit],
        )
        return [_item(r) for r in rows if r["platform"] in platforms]

    def pending_count(self) -> int:
        row = self.db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()
        return int(row[0])

    def next_due(self, platforms: list[str]) -> datetime | None:
        if not platforms:
            return None
        marks = ",".join("?" * len(platforms))
        row = self.db.execute(
            f"SELECT min(next_at) FROM outbox WHERE state = 'pending' AND platform IN ({marks})",
            platforms,
        ).fetchone()
        return parse_ts(row[0])

    def sent_since(self, platform: str, chat_id: str, since: datetime) -> list[datetime]:
        """When messages to one destination were sent since `since` (for the rate limit)."""
        rows = self.db.execute(
            "SELECT sent_at FROM outbox WHERE platform = ? AND chat_id = ? AND sent_at > ? "
            "ORDER BY sent_at",
            [platform, chat_id, ts(since)],
        ).fetchall()
        return [datetime.fromisoformat(r[0]) for r in rows]

    def take_outbox(self, item_id: int, holder: str, until: datetime) -> bool:
        """Take a pending item for `holder` to send until `until`; False when it is sent or
        failed already, or another process holds it. On PostgreSQL the row is locked (rows
        another process is taking are skipped), not the whole database's writer; a SQLite
        file has one process sending from it (the run lock), so nothing is written there."""
        if self.db.kind == "sqlite":
            return True
        now = ts(self.clock.now())
        with self.tx(writer=False):
            row = self.db.execute(
                "SELECT taken_by, taken_until FROM outbox WHERE id = ? AND state = 'pending' "
                "FOR UPDATE SKIP LOCKED", [item_id]).fetchone()
            if row is None or (row[0] not in (None, holder) and row[1] >= now):
                return False
            self.db.execute("UPDATE outbox SET taken_by = ?, taken_until = ? WHERE id = ?",
                            [holder, ts(until), item_id])
        return True

    def mark_sent(self, item_id: int, ref: str = "") -> None:
        with self.tx():
            self.db.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, "
                "last_error = ?, taken_by = NULL, taken_until = NULL WHERE id = ?",
                [ts(self.clock.now()), ref, item_id],
            )

    def mark_retry(self, item_id: int, delay: timedelta, error: str) -> None:
        with self.tx():
            self.db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ?, "
                "taken_by = NULL, taken_until = NULL WHERE id = ?",
                [ts(self.clock.now() + delay), error[:500], item_id],
            )

    def mark_failed(self, item_id: int, error: str) -> None:
        with self.tx():
            self.db.execute(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?, "
                "taken_by = NULL, taken_until = NULL WHERE id = ?",
                [error[:500], item_id],
            )
            self._event("bot", "outbox.failed", None, item=item_id, error=error[:200])

    # -- the reminders' sent-log -----------------------------------------------------------

    def reminder_sent(self, key: str) -> bool:
        return self.db.execute(
            "SELECT 1 FROM reminders_sent WHERE key = ?", [key]).fetchone() is not None

    def mark_reminder(self, key: str, order_no: int | None) -> bool:
        """Record a reminder as sent; False when it already was (nothing to send then)."""
        with self.tx():
            cur = self.db.execute(
                "INSERT INTO reminders_sent (key, at, order_no) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [key, ts(self.clock.now()), order_no],
            )
            if cur.rowcount == 1:
                self._event("bot", "reminder.sent", order_no, key=key)
        return cur.rowcount == 1

    # -- chats (send targets remembered as messages arrive) ---------------------------------

    def remember_chat(self, platform: str, chat_id: str, kind: str, title: str = "",
                      reply_handle: str = "") -> None:
        now = ts(self.clock.now())
        with self.tx():
            self.db.execute(
                "INSERT INTO chats (platform, chat_id, kind, title, reply_handle, first_at, "
                "updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (platform, chat_id) DO UPDATE "
                "SET kind = excluded.kind, "
                "title = coalesce(nullif(excluded.title, ''), chats.title), "
                "reply_handle = coalesce(nullif(excluded.reply_handle, ''), chats.reply_handle), "
                "updated_at = excluded.updated_at "
                # Unchanged and seen within the hour: no write (most messages of a group).
                "WHERE chats.kind IS DISTINCT FROM excluded.kind OR (excluded.title != '' AND "
                "chats.title IS DISTINCT FROM excluded.title) OR (excluded.reply_handle != '' "
                "AND chats.reply_handle IS DISTINCT FROM excluded.reply_handle) "
                "OR chats.updated_at < ?",
                [platform, chat_id, kind, title, reply_handle, now, now,
                 ts(self.clock.now() - CHAT_FRESH)],
            )

    def chat(self, platform: str, chat_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM chats WHERE platform = ? AND chat_id = ?",
                          [platform, chat_id])
        return rows[0] if rows else None

    def chats(self, platform: str | None = None) -> list[dict[str, Any]]:
        if platform is None:
            return self._rows("SELECT * FROM chats ORDER BY platform, chat_id")
        return self._rows("SELECT * FROM chats WHERE platform = ? ORDER BY chat_id", [platform])

    # -- the local platform's message log ---------------------------------------------------

    def add_local_message(
        self, chat: str, chat_type: str, sender: str, sender_name: str, text: str, *,
        mentions: tuple[str, ...] = (), at_bot: bool = False, from_bot: bool = False,
        quote: int | None = None, msg_id: str | None = None, image: bytes | None = None,
    ) -> int:
        """Log one message of the local chat; `image` is a PNG shown under its text."""
        with self.tx():
            cur = self.db.execute(
                """INSERT INTO local_messages (chat, chat_type, sender, sender_name, text,
                mentions, at_bot, from_bot, quote, msg_id, ts, image)
                VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id""",
                [
                    chat, chat_type, sender, sender_name, text,
                    json.dumps(list(mentions), ensure_ascii=False), int(at_bot), int(from_bot),
                    quote, msg_id, ts(self.clock.now()), image,
                ],
            )
            return int(cur.fetchone()[0])

    def local_id_for(self, msg_id: str) -> int | None:
        row = self.db.execute(
            "SELECT id FROM local_messages WHERE msg_id = ?", [msg_id]
        ).fetchone()
        return None if row is None else int(row[0])

    def local_messages(self, chat: str, after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """A chat's messages after id `after`; an image is only flagged (`has_image`), its
        bytes come from `local_image`."""
        rows = self._rows(
            "SELECT * FROM local_messages WHERE chat = ? AND id > ? ORDER BY id LIMIT ?",
            [chat, after, limit],
        )
        for r in rows:
            r["mentions"] = list(json_tuple(r["mentions"]))
            r["at_bot"], r["from_bot"] = bool(r["at_bot"]), bool(r["from_bot"])
            r["has_image"] = r.pop("image", None) is not None
        return rows

    def local_message(self, local_id: int) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM local_messages WHERE id = ?", [local_id])
        if not rows:
            return None
        rows[0]["has_image"] = rows[0].pop("image", None) is not None
        return rows[0]

    def local_image(self, local_id: int) -> bytes | None:
        """The image a local message carries, or None."""
        row = self.db.execute(
            "SELECT image FROM local_messages WHERE id = ?", [local_id]).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])


def _card_extra(out: Outgoing) -> dict[str, str]:
    """The buttons and card key of a message, as its outbox row keeps them."""
    extra: dict[str, str] = {}
    if out.buttons:
        extra[BUTTONS] = json.dumps([[b.label, b.text] for b in out.buttons], ensure_ascii=False)
    if out.card:
        extra[CARD] = out.card
    return extra


def _item(r: dict[str, Any]) -> OutboxItem:
    created, next_at = parse_ts(r["created_at"]), parse_ts(r["next_at"])
    assert created is not None and next_at is not None
    return OutboxItem(
        id=r["id"], created_at=created, platform=r["platform"], chat_id=r["chat_id"],
        chat_kind=r["chat_kind"], text=r["text"], mentions=json_tuple(r["mentions"]),
        in_reply_to=r["in_reply_to"], extra=json.loads(r["extra"] or "{}"), state=r["state"],
        attempts=r["attempts"], next_at=next_at,
    )
