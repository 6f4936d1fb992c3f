"""The store's inbox: messages taken from a platform that will not deliver them again, kept
until the transaction that handles them (see schema step `_v9`)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.base import StoreBase, ts


@dataclass(frozen=True)
class InboxRow:
    """One message stored before it was acknowledged and not yet handled."""

    id: int  # arrival order
    platform: str
    msg_id: str
    at: str
    payload: str  # the platform's message as JSON text
    starts: int  # how many starts of the bot have found it left over


class InboxMixin(StoreBase):
    """Add, finish and list the messages waiting to be handled."""

    def inbox_add(self, platform: str, msg_id: str, payload: str) -> bool:
        """Store one message until it is handled; False when it was already waiting."""
        with self.tx():
            cur = self.db.execute(
                "INSERT INTO inbox (platform, msg_id, at, payload) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                [platform, msg_id, ts(self.clock.now()), payload])
        return cur.rowcount == 1

    def inbox_done(self, platform: str, msg_id: str) -> None:
        """The message was handled (or is to be skipped): it waits no longer. Call it inside
        the handling's own transaction where there is one."""
        with self.tx():
            self.db.execute("DELETE FROM inbox WHERE platform = ? AND msg_id = ?",
                            [platform, msg_id])

    def inbox(self, platform: str) -> list[InboxRow]:
        """The messages waiting on `platform`, in arrival order."""
        rows = self.db.execute(
            "SELECT id, platform, msg_id, at, payload, starts FROM inbox WHERE platform = ? "
            "ORDER BY id", [platform]).fetchall()
        return [InboxRow(*row) for row in rows]

    def inbox_left_over(self, platform: str, max_starts: int,
                        actor: str = "bot") -> tuple[list[InboxRow], list[InboxRow]]:
        """At a start: the messages an earlier run left waiting, to be handled now (each
        counted as found once more), and those already found at `max_starts` starts, which are
        given up (removed, with an audit event each): their handling keeps killing the bot."""
        with self.tx():
            rows = self.inbox(platform)
            retry = [r for r in rows if r.starts < max_starts]
            given_up = [r for r in rows if r.starts >= max_starts]
            for row in given_up:
                self.db.execute("DELETE FROM inbox WHERE id = ?", [row.id])
                self._event(actor, "inbound.abandoned", platform=platform, msg_id=row.msg_id,
                            starts=row.starts)
            self.db.execute("UPDATE inbox SET starts = starts + 1 WHERE platform = ? AND "
                            "starts < ?", [platform, max_starts])
        return [InboxRow(r.id, r.platform, r.msg_id, r.at, r.payload, r.starts + 1)
                for r in retry], given_up
