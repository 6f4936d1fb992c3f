"""The store's part on who is in which group: every account the bot has seen there."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING

from storage.base import StoreBase, ts

if TYPE_CHECKING:  # imported only where a migration runs: a serving bot need not keep it
    import sqlite_utils

# A member's last-seen time is written at most this often (it orders their groups).
SEEN_EVERY = timedelta(days=1)


def create_members(db: sqlite_utils.Database) -> None:
    """The accounts seen in each group chat (as sender or @-mentioned), and when last."""
    db.execute(
        """CREATE TABLE chat_members (
            platform TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (platform, chat_id, user_id)
        )""")
    db.execute("CREATE INDEX chat_members_user ON chat_members (platform, user_id, last_seen)")


class MembersMixin(StoreBase):
    """Who the bot has seen in which group."""

    def saw(self, platform: str, chat_id: str, users: tuple[str, ...]) -> None:
        """`users` are in group `chat_id` (they wrote there, or were @-mentioned there)."""
        now = self.clock.now()
        with self.tx():
            for user in users:
                self.db.execute(
                    "INSERT INTO chat_members (platform, chat_id, user_id, last_seen) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (platform, chat_id, user_id) DO UPDATE "
                    "SET last_seen = excluded.last_seen WHERE chat_members.last_seen < ?",
                    [platform, chat_id, user, ts(now), ts(now - SEEN_EVERY)])

    def seen_in(self, platform: str, chat_id: str, user: str) -> bool:
        return self.db.execute(
            "SELECT 1 FROM chat_members WHERE platform = ? AND chat_id = ? AND user_id = ?",
            [platform, chat_id, user]).fetchone() is not None

    def seen_among(self, platform: str, chat_id: str, users: Iterable[str]) -> set[str]:
        """Which of `users` were seen in the chat (one query for a handful)."""
        users = list(dict.fromkeys(users))
        if not users:
            return set()
        rows = self.db.execute(
            "SELECT user_id FROM chat_members WHERE platform = ? AND chat_id = ? AND user_id IN "
            f"({','.join('?' * len(users))})", [platform, chat_id, *users]).fetchall()
        return {str(r[0]) for r in rows}

    def last_group_of(self, platform: str, user: str) -> str | None:
        """The group the user was seen in most recently, if any."""
        row = self.db.execute(
            "SELECT chat_id FROM chat_members WHERE platform = ? AND user_id = ? "
            "ORDER BY last_seen DESC LIMIT 1", [platform, user]).fetchone()
        return None if row is None else str(row[0])
