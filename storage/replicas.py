"""What several bot processes on one database share: leases, and the sign-in throttle."""

from __future__ import annotations

from datetime import datetime

from storage.base import StoreBase, ts


class ReplicasMixin(StoreBase):
    """Leases (work one process at a time does) and refused dashboard sign-ins."""

    def hold_lease(self, name: str, holder: str, until: datetime) -> bool:
        """Take or renew lease `name` for `holder` until `until`; False while another
        holder's lease runs."""
        now = ts(self.clock.now())
        with self.tx():
            before = self.db.execute("SELECT holder FROM leases WHERE name = ?",
                                     [name]).fetchone()
            cur = self.db.execute(
                "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?) ON CONFLICT (name) "
                "DO UPDATE SET holder = excluded.holder, until = excluded.until "
                "WHERE leases.holder = excluded.holder OR leases.until < ?",
                [name, holder, ts(until), now])
            taken = cur.rowcount == 1
            if taken and (before is None or before[0] != holder):  # renewals are not news
                self._event(holder, "lease.taken", None, name=name,
                            previous=before[0] if before else None)
        return taken

    def drop_lease(self, name: str, holder: str) -> None:
        """Give lease `name` up (a process stopping), so another takes it at once."""
        with self.tx():
            self.db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder])

    def lease_holder(self, name: str) -> str | None:
        row = self.db.execute("SELECT holder, until FROM leases WHERE name = ?",
                              [name]).fetchone()
        return str(row[0]) if row and row[1] >= ts(self.clock.now()) else None

    # -- the dashboard's sign-in throttle ---------------------------------------------------

    def sign_in_refused(self, who: str, keep_since: datetime) -> None:
        """Count a refused sign-in from `who`; forget refusals older than `keep_since`."""
        with self.tx():
            self.db.execute("DELETE FROM sign_in_failures WHERE at < ?", [ts(keep_since)])
            self.db.execute("INSERT INTO sign_in_failures (who, at) VALUES (?, ?)",
                            [who, ts(self.clock.now())])

    def sign_ins_refused(self, who: str, since: datetime) -> int:
        row = self.db.execute("SELECT count(*) FROM sign_in_failures WHERE who = ? AND at > ?",
                              [who, ts(since)]).fetchone()
        return int(row[0])
