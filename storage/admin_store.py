"""The store's admin part: admins, group settings, sign-in links and sessions, link requests."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from storage.base import StoreBase, ts, upsert

log = logging.getLogger(__name__)

LOGIN_TTL = timedelta(minutes=10)
SCRUBBED = "已失效"  # stands in for a used or expired sign-in token in a stored message
LINK_TOKEN = re.compile(r"(?<=login=)[A-Za-z0-9_-]{16,}")  # secrets.token_urlsafe's alphabet
# Where a sent link's text may sit: the outbox (its text, its extra JSON, an error echoing
# it) and the local chat's log; a link only ever goes 1:1 to the account it signs in, so only
# that account's 1:1 messages are read (through their indexes, never a whole table).
LINK_COLUMNS = {"outbox": ("text", "extra", "last_error"), "local_messages": ("text",)}
LINK_ROWS = {"outbox": "platform = ? AND chat_id = ?", "local_messages": "chat = ?"}


def _chat_keys(account: str) -> dict[str, list[str]]:
    """The keys of `account`'s 1:1 chat in each table that may hold its sign-in links."""
    platform, _, user = account.partition(":")
    return {"outbox": [platform, user], "local_messages": [f"dm-{user}"]}


def token_hash(token: str) -> str:
    """How a sign-in token is stored: its sha256 in hex (as the dashboard's session ids)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AdminMixin(StoreBase):
    """Roles and settings that admins manage from chat or the dashboard."""

    def admins(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM admins ORDER BY at")

    def admin_scope(self, account: str) -> str | None:
        """The scope of a chat-added admin ("" = everything), or None if not one."""
        row = self.db.execute("SELECT scope FROM admins WHERE account = ?", [account]).fetchone()
        return None if row is None else str(row[0] or "")

    def add_admin(self, account: str, scope: str, actor: str) -> None:
        with self.tx():
            upsert(self.db, "admins", {"account": account, "scope": scope, "added_by": actor,
                                       "at": ts(self.clock.now())}, ("account",))
            self._event(actor, "admin.added", None, account=account, scope=scope)

    def remove_admin(self, account: str, actor: str) -> bool:
        with self.tx():
            cur = self.db.execute("DELETE FROM admins WHERE account = ?", [account])
            if cur.rowcount:
                self._event(actor, "admin.removed", None, account=account)
        return cur.rowcount == 1

    # -- per-group settings -----------------------------------------------------------------

    def setting(self, platform: str, chat_id: str, key: str) -> str | None:
        row = self.db.execute(
            "SELECT value FROM chat_settings WHERE platform = ? AND chat_id = ? AND key = ?",
            [platform, chat_id, key]).fetchone()
        return None if row is None else str(row[0])

    def settings(self, platform: str, chat_id: str) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self._rows(
            "SELECT key, value FROM chat_settings WHERE platform = ? AND chat_id = ?",
            [platform, chat_id])}

    def chats_with(self, key: str) -> list[tuple[str, str, str]]:
        """Every (platform, chat id, value) that has setting `key`."""
        rows = self.db.execute(
            "SELECT platform, chat_id, value FROM chat_settings WHERE key = ? "
            "ORDER BY platform, chat_id", [key]).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def set_setting(self, platform: str, chat_id: str, key: str, value: str,
                    actor: str) -> None:
        with self.tx():
            upsert(self.db, "chat_settings",
                   {"platform": platform, "chat_id": chat_id, "key": key, "value": value},
                   ("platform", "chat_id", "key"))
            self._event(actor, "setting.changed", None, chat=chat_id, key=key, value=value)

    # -- one-time dashboard sign-in links (only a hash of each token is stored) -------------

    def issue_login_token(self, account: str, ttl: timedelta = LOGIN_TTL) -> str:
        token = secrets.token_urlsafe(24)
        with self.tx():
            self.db.execute(
                "INSERT INTO login_tokens (token_hash, account, expires_at) VALUES (?, ?, ?)",
                [token_hash(token), account, ts(self.clock.now() + ttl)])
            self._event(account, "dashboard.link_issued", None)
        return token

    def login_link(self, account: str, dashboard: str, page: str = "") -> str:
        """A one-time sign-in link for `account` into the dashboard at `dashboard` (its URL);
        `page` is a dashboard path with an optional query, such as "exports?month=2026-05"."""
        token = self.issue_login_token(account)
        path, _, query = page.lstrip("/").partition("?")
        query = f"{query}&login={token}" if query else f"login={token}"
        return f"{dashboard}/{path}?{query}"

    def use_login_token(self, token: str) -> str | None:
        """The account a valid, unused, unexpired token was issued to; it is used up, and
        scrubbed from the stored messages that carried its link."""
        now = ts(self.clock.now())
        digest = token_hash(token)
        with self.tx():
            row = self.db.execute(
                "SELECT account FROM login_tokens WHERE token_hash = ? AND used_at IS NULL "
                "AND expires_at > ?", [digest, now]).fetchone()
            if row is None:
                return None
            self.db.execute("UPDATE login_tokens SET used_at = ?, scrubbed_at = ? "
                            "WHERE token_hash = ?", [now, now, digest])
            scrubbed = self._scrub_token(token, str(row[0]))
            self._event(row[0], "dashboard.signed_in", None, via="link")
        log.info("sign-in link used: scrubbed from %d stored messages", scrubbed)
        return str(row[0])

    def scrub_login_links(self) -> int:
        """Once links are used or expired, replace every token that is no longer valid in
        the stored messages with a marker (the sweep runs this); how many rows changed."""
        now = ts(self.clock.now())
        dead = "scrubbed_at IS NULL AND (used_at IS NOT NULL OR expires_at <= ?)"
        with self.tx():
            due = int(self.db.execute(
                f"SELECT count(*) FROM login_tokens WHERE {dead}", [now]).fetchone()[0])
            if not due:
                return 0
            valid = {r[0] for r in self.db.execute(
                "SELECT token_hash FROM login_tokens WHERE used_at IS NULL AND expires_at > ?",
                [now]).fetchall()}
            accounts = [r[0] for r in self.db.execute(
                f"SELECT DISTINCT account FROM login_tokens WHERE {dead}", [now]).fetchall()]
            scrubbed = sum(self._scrub_all_but(valid, str(a)) for a in accounts)
            self.db.execute(f"UPDATE login_tokens SET scrubbed_at = ? WHERE {dead}", [now, now])
        log.info("sign-in links: %d used or expired, scrubbed from %d stored messages",
                 due, scrubbed)
        return scrubbed

    def _scrub_token(self, token: str, account: str) -> int:
        """Replace one known token wherever a stored 1:1 message to `account` holds it."""
        changed = 0
        keys = _chat_keys(account)
        for table, columns in LINK_COLUMNS.items():
            sets = ", ".join(f"{c} = replace({c}, ?, ?)" for c in columns)
            where = " OR ".join(f"instr({c}, ?) > 0" for c in columns)
            cur = self.db.execute(
                f"UPDATE {table} SET {sets} WHERE {LINK_ROWS[table]} AND ({where})",
                [*[token, SCRUBBED] * len(columns), *keys[table], *[token] * len(columns)])
            changed += cur.rowcount
        return changed

    def _scrub_all_but(self, keep: set[str], account: str) -> int:
        """Replace every link token in the stored 1:1 messages to `account` whose hash is
        not in `keep`."""
        def scrub(text: str) -> str:
            return LINK_TOKEN.sub(
                lambda m: m[0] if token_hash(m[0]) in keep else SCRUBBED, text)

        changed = 0
        keys = _chat_keys(account)
        for table, columns in LINK_COLUMNS.items():
            where = " OR ".join(f"instr({c}, 'login=') > 0" for c in columns)
            for row in self.db.execute(
                    f"SELECT id, {', '.join(columns)} FROM {table} "
                    f"WHERE {LINK_ROWS[table]} AND ({where})", keys[table]).fetchall():
                new = [scrub(v) if isinstance(v, str) else v for v in row[1:]]
                if new != list(row[1:]):
                    self.db.execute(
                        f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)} "
                        "WHERE id = ?", [*new, row[0]])
                    changed += 1
        return changed

    # -- dashboard sessions (kept across restarts; the id itself is never stored) ------------

    def save_admin_session(self, sid_hash: str, account: str, csrf: str,
                           started: datetime, seen: datetime) -> None:
        with self.tx():
            self.db.execute(
                "INSERT INTO admin_sessions (sid_hash, account, csrf, started, seen) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sid_hash) DO UPDATE SET seen = excluded.seen",
                [sid_hash, account, csrf, ts(started), ts(seen)])

    def admin_session(self, sid_hash: str) -> tuple[str, str, datetime, datetime] | None:
        """(account, CSRF token, started, last seen) of a stored session."""
        row = self.db.execute(
            "SELECT account, csrf, started, seen FROM admin_sessions WHERE sid_hash = ?",
            [sid_hash]).fetchone()
        if row is None:
            return None
        return row[0], row[1], datetime.fromisoformat(row[2]), datetime.fromisoformat(row[3])

    def drop_admin_session(self, sid_hash: str) -> None:
        """Forget one session (signed out, or found lapsed)."""
        with self.tx():
            self.db.execute("DELETE FROM admin_sessions WHERE sid_hash = ?", [sid_hash])

    def drop_stale_admin_sessions(self, seen_before: datetime, started_before: datetime) -> None:
        """Forget the sessions idle or old past these times."""
        with self.tx():
            self.db.execute("DELETE FROM admin_sessions WHERE seen < ? OR started < ?",
                            [ts(seen_before), ts(started_before)])

    # -- experts asking to link a chat account ----------------------------------------------

    def request_link(self, account: str, expert_id: str, name: str) -> None:
        with self.tx():
            upsert(self.db, "link_requests", {"account": account, "expert_id": expert_id,
                                              "name": name, "at": ts(self.clock.now())},
                   ("account",))
            self._event(account, "expert.link_requested", None, expert=expert_id)

    def link_request(self, account: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM link_requests WHERE account = ?", [account])
        return rows[0] if rows else None

    def link_requests(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM link_requests ORDER BY at")

    # -- questions the bot asked ------------------------------------------------------------

    def ask(self, platform: str, chat_id: str, sender: str, kind: str, text: str) -> None:
        """Remember that the bot asked `sender` something about `text`."""
        with self.tx():
            upsert(self.db, "pending_questions",
                   {"platform": platform, "chat_id": chat_id, "sender": sender, "kind": kind,
                    "text": text, "at": ts(self.clock.now())}, ("platform", "chat_id", "sender"))

    def asked(self, platform: str, chat_id: str, sender: str, kind: str,
              within: timedelta) -> bool:
        """Whether the bot recently asked `sender` a question of `kind` (not consumed)."""
        since = ts(self.clock.now() - within)
        return self.db.execute(
            "SELECT 1 FROM pending_questions WHERE platform = ? AND chat_id = ? AND sender = ? "
            "AND kind = ? AND at >= ?", [platform, chat_id, sender, kind, since],
        ).fetchone() is not None

    def answer(self, platform: str, chat_id: str, sender: str, kind: str,
               within: timedelta) -> str | None:
        """The text of a recent question of `kind` to `sender`, consumed; None if none."""
        since = ts(self.clock.now() - within)
        with self.tx():
            row = self.db.execute(
                "SELECT text FROM pending_questions WHERE platform = ? AND chat_id = ? AND "
                "sender = ? AND kind = ? AND at >= ?", [platform, chat_id, sender, kind, since],
            ).fetchone()
            self.db.execute(
                "DELETE FROM pending_questions WHERE platform = ? AND chat_id = ? AND sender = ?",
                [platform, chat_id, sender])
        return None if row is None else str(row[0])
