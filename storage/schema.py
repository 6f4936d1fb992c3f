"""Database opening and migrations: each step runs once, in order, tracked by user_version."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from storage.attachments import create_attachments
from storage.contacts import create_contacts
from storage.db import Database, SqliteDatabase, is_url
from storage.files import private_database
from storage.lexicon_store import create_lexicon
from storage.members import create_members
from storage.vector_cache import create_vector_cache

if TYPE_CHECKING:  # imported only where a migration runs: a serving bot need not keep it
    import sqlite_utils


def _v1(db: sqlite_utils.Database) -> None:
    """The first schema: orders, experts, menu, events, dedupe, outbox, chats, local log."""
    # AUTOINCREMENT so an order number is never reused, even if the newest row were removed.
    db.execute(
        """CREATE TABLE orders (
            no INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            state TEXT NOT NULL,
            platform TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            chat_kind TEXT NOT NULL,
            requester TEXT NOT NULL,
            requester_name TEXT NOT NULL,
            text TEXT NOT NULL,
            summary TEXT,
            enterprise TEXT,
            contact TEXT,
            phone TEXT,
            deadline TEXT,
            urgent INTEGER NOT NULL DEFAULT 0,
            category TEXT,
            service_type TEXT,
            region TEXT,
            menu_no INTEGER,
            lead TEXT,
            claimed_at TEXT,
            private INTEGER NOT NULL DEFAULT 0,
            announced TEXT NOT NULL DEFAULT '[]',
            visit_at TEXT,
            visit_mode TEXT,
            active_at TEXT,
            completed_at TEXT,
            outcome TEXT,
            rating TEXT,
            rating_stars INTEGER,
            rating_comment TEXT,
            rated_at TEXT,
            ended_at TEXT,
            end_reason TEXT,
            excellent INTEGER NOT NULL DEFAULT 0
        )"""
    )
    db.table("orders").create_index(["state"])
    db.table("orders").create_index(["lead"])
    db.table("orders").create_index(["created_at"])
    db.table("experts").create(
        {
            "id": str, "name": str, "phone": str, "title": str, "team": str, "region": str,
            "skills": str, "tags": str, "capacity": int, "status": str, "updated_at": str,
        },
        pk="id",
        not_null={"name"},
    )
    db.table("expert_accounts").create({"account": str, "expert_id": str}, pk="account")
    db.table("order_experts").create(
        {"order_no": int, "expert_id": str, "role": str, "joined_at": str},
        pk=("order_no", "expert_id"),
    )
    db.table("order_experts").create_index(["expert_id"])
    # A service session (服务场次): each 办结 is one; experts may log more with 进展.
    db.table("sessions").create(
        {
            "id": int, "order_no": int, "at": str, "mode": str, "hours": float,
            "suggestions": int, "beneficiaries": int, "experts": str, "note": str,
            "actor": str,
        },
        pk="id",
    )
    db.table("sessions").create_index(["at"])
    db.table("sessions").create_index(["order_no"])
    db.table("expert_accounts").create_index(["expert_id"])
    db.table("menu_items").create(
        {
            "no": int, "title": str, "description": str, "provider": str, "category": str,
            "mode": str, "active": int,
        },
        pk="no",
    )
    db.table("events").create(
        {"id": int, "at": str, "actor": str, "kind": str, "order_no": int, "data": str},
        pk="id",
    )
    db.table("events").create_index(["order_no"])
    db.table("events").create_index(["kind", "at"])
    db.table("inbound").create(
        {"platform": str, "msg_id": str, "at": str, "ref": str}, pk=("platform", "msg_id")
    )
    db.table("outbox").create(
        {
            "id": int, "created_at": str, "platform": str, "chat_id": str, "chat_kind": str,
            "text": str, "mentions": str, "in_reply_to": str, "extra": str, "state": str,
            "attempts": int, "next_at": str, "sent_at": str, "last_error": str,
        },
        pk="id",
    )
    db.table("outbox").create_index(["state", "next_at"])
    db.table("outbox").create_index(["platform", "chat_id", "sent_at"])
    db.table("chats").create(
        {
            "platform": str, "chat_id": str, "kind": str, "title": str, "reply_handle": str,
            "first_at": str, "updated_at": str,
        },
        pk=("platform", "chat_id"),
    )
    # Admins added in chat (super admins come from config), optionally scoped.
    db.table("admins").create(
        {"account": str, "scope": str, "added_by": str, "at": str}, pk="account")
    # Per-group settings (/设置): region, announce group, quiet hours …
    db.table("chat_settings").create(
        {"platform": str, "chat_id": str, "key": str, "value": str},
        pk=("platform", "chat_id", "key"),
    )
    # One-time dashboard sign-in links sent by /后台.
    db.table("login_tokens").create(
        {"token": str, "account": str, "expires_at": str, "used_at": str}, pk="token")
    # Experts asking to link a chat account (绑定), until an admin confirms.
    db.table("link_requests").create(
        {"account": str, "expert_id": str, "name": str, "at": str}, pk="account")
    # A question the bot asked and the text it was about ("需要我帮您派单吗？").
    db.table("pending_questions").create(
        {"platform": str, "chat_id": str, "sender": str, "kind": str, "text": str, "at": str},
        pk=("platform", "chat_id", "sender"),
    )
    # The sent-log of reminders and reports: one row per thing ever sent, so sweeps are idempotent.
    db.table("reminders_sent").create({"key": str, "at": str, "order_no": int}, pk="key")
    db.table("local_messages").create(
        {
            "id": int, "chat": str, "chat_type": str, "sender": str, "sender_name": str,
            "text": str, "mentions": str, "at_bot": int, "from_bot": int, "quote": int,
            "msg_id": str, "ts": str,
        },
        pk="id",
    )
    db.table("local_messages").create_index(["chat", "id"])
    db.table("local_messages").create_index(["msg_id"], unique=True)


def _v2(db: sqlite_utils.Database) -> None:
    """Tallies read orders' own dates through indexes instead of scanning the event log;
    local chat messages may carry an image."""
    db.execute("ALTER TABLE orders ADD COLUMN first_claimed_at TEXT")
    # One grouped pass over the claim events (a correlated sub-query per order would be
    # planned on the (kind, at) index and scan every claim for every order).
    db.execute(
        "UPDATE orders SET first_claimed_at = first.at FROM (SELECT order_no, min(at) AS at "
        "FROM events WHERE kind IN ('order.claimed', 'order.assigned') GROUP BY order_no) "
        "AS first WHERE first.order_no = orders.no"
    )
    for column in ("first_claimed_at", "completed_at", "rated_at", "ended_at"):
        db.table("orders").create_index([column], if_not_exists=True)
    db.table("reminders_sent").create_index(["order_no"], if_not_exists=True)
    db.execute("ALTER TABLE local_messages ADD COLUMN image BLOB")  # a PNG under the text


SESSION_SUMS = ("n_experts", "hours", "suggestions", "beneficiaries")


def _v3(db: sqlite_utils.Database) -> None:
    """Tallies aggregate in SQL over covering indexes: a session carries its order's category,
    region and enterprise and its expert count, with one row per expert (and their team at
    the time) a session."""
    for column, kind in (("n_experts", "INTEGER"), ("category", "TEXT"), ("region", "TEXT"),
                         ("enterprise", "TEXT")):
        db.execute(f"ALTER TABLE sessions ADD COLUMN {column} {kind}")
    db.execute(
        "UPDATE sessions SET n_experts = json_array_length(experts), category = o.category, "
        "region = o.region, enterprise = o.enterprise FROM orders o WHERE o.no = order_no")
    db.table("session_experts").create(
        {"session_id": int, "expert_id": str, "team": str, "at": str, "hours": float,
         "beneficiaries": int},
        pk=("session_id", "expert_id"))
    db.execute(
        "INSERT OR IGNORE INTO session_experts SELECT se.id, j.value, "
        "(SELECT team FROM experts WHERE id = j.value), se.at, coalesce(se.hours, 0), "
        "coalesce(se.beneficiaries, 0) FROM sessions se, json_each(se.experts) j")
    for name in ("created_at", "completed_at", "rated_at", "ended_at"):
        db.execute(f"DROP INDEX IF EXISTS idx_orders_{name}")  # now prefixes of the ones below
    orders = db.table("orders")
    orders.create_index(["created_at", "category", "region"])
    orders.create_index(["completed_at", "category", "region", "outcome"])
    orders.create_index(["rated_at", "rating"])
    orders.create_index(["ended_at", "state"])
    orders.create_index(["requester", "state"])  # 我的单
    db.table("sessions").create_index(["at", "category", "region", *SESSION_SUMS])
    db.table("session_experts").create_index(
        ["at", "expert_id", "team", "hours", "beneficiaries"])
    db.table("session_experts").create_index(["at", "team", "session_id"])


# Who serves which unfinished order, in two small indexes that stay in memory: an expert's
# open load reads only them, not the orders' pages (cold on a big database).
SERVING = "state IN ('claimed', 'scheduled')"


def _v4(db: sqlite_utils.Database) -> None:
    """An expert's open load from indexes alone: unfinished orders by number, and each
    expert's orders (replacing the index on the expert alone)."""
    db.execute(f"CREATE INDEX IF NOT EXISTS idx_orders_serving ON orders (no) WHERE {SERVING}")
    db.execute("CREATE INDEX IF NOT EXISTS idx_order_experts_expert_order "
               "ON order_experts (expert_id, order_no)")
    db.execute("DROP INDEX IF EXISTS idx_order_experts_expert_id")


def _v5(db: sqlite_utils.Database) -> None:
    """Dashboard sessions outlive a restart; only a hash of each session id is stored."""
    db.table("admin_sessions").create(
        {"sid_hash": str, "account": str, "csrf": str, "started": str, "seen": str},
        pk="sid_hash", not_null={"account", "csrf", "started", "seen"})


def _v6(db: sqlite_utils.Database) -> None:
    """A sender's latest order that named its enterprise, in one index probe (an order that
    names none takes that one's)."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_orders_requester_named ON orders (requester, no) "
               "WHERE enterprise IS NOT NULL AND enterprise != ''")


def _v7(db: sqlite_utils.Database) -> None:
    """Sign-in links: only a sha256 hash of each token is stored, like session ids (the
    plain tokens stored so far are hashed in place, so an unexpired one still works), and
    when a link was scrubbed from the message tables."""
    db.execute("ALTER TABLE login_tokens RENAME COLUMN token TO token_hash")
    db.execute("ALTER TABLE login_tokens ADD COLUMN scrubbed_at TEXT")
    for (token,) in db.execute("SELECT token_hash FROM login_tokens").fetchall():
        digest = hashlib.sha256(str(token).encode("utf-8")).hexdigest()
        db.execute("UPDATE login_tokens SET token_hash = ? WHERE token_hash = ?", [digest, token])


def _v8(db: sqlite_utils.Database) -> None:
    """Who the bot has seen in each group (to reach a person who cannot be messaged 1:1)."""
    create_members(db)


def _v9(db: sqlite_utils.Database) -> None:
    """The inbox: a message the platform will not deliver again (a DingTalk robot message) is
    stored here before it is acknowledged and removed in the transaction that handles it, so
    one cut short by a stop or a crash is finished at the next start, in arrival order."""
    db.execute(
        """CREATE TABLE IF NOT EXISTS inbox (
            id INTEGER PRIMARY KEY,
            platform TEXT NOT NULL,
            msg_id TEXT NOT NULL,
            at TEXT NOT NULL,
            payload TEXT NOT NULL,
            starts INTEGER NOT NULL DEFAULT 0,
            UNIQUE (platform, msg_id)
        )"""
    )


def _v10(db: sqlite_utils.Database) -> None:
    """Pictures and files attached to orders."""
    create_attachments(db)


def _v11(db: sqlite_utils.Database) -> None:
    """Enterprise contacts known from a roster (which enterprise an account speaks for)."""
    create_contacts(db)


def _v12(db: sqlite_utils.Database) -> None:
    """Routing knowledge admins add (specialties and the plain words of their problems)."""
    create_lexicon(db)


def _v13(db: sqlite_utils.Database) -> None:
    """Profile vectors of the roster kept between runs, by (model, hash of the text)."""
    create_vector_cache(db)


# Index name -> (table, columns, the column a row needs to be in it).
_PARTIAL = {
    "idx_orders_lead": ("orders", "lead", "lead"),
    "idx_orders_first_claimed_at": ("orders", "first_claimed_at", "first_claimed_at"),
    "idx_orders_completed_at_category_region_outcome": (
        "orders", "completed_at, category, region, outcome", "completed_at"),
    "idx_orders_rated_at_rating": ("orders", "rated_at, rating", "rated_at"),
    "idx_orders_ended_at_state": ("orders", "ended_at, state", "ended_at"),
}


def _v14(db: sqlite_utils.Database) -> None:
    """Fewer pages written per message: indexes over a column that a new order leaves empty
    hold only the rows that have it (every query of them asks for a value or a range), and
    the local chat's message ids index only messages that have one (the bot's own do not)."""
    for name, (table, columns, needed) in _PARTIAL.items():
        db.execute(f"DROP INDEX IF EXISTS {name}")
        db.execute(f"CREATE INDEX {name} ON {table} ({columns}) WHERE {needed} IS NOT NULL")
    db.execute("DROP INDEX IF EXISTS idx_local_messages_msg_id")
    db.execute("CREATE UNIQUE INDEX idx_local_messages_msg_id ON local_messages (msg_id) "
               "WHERE msg_id IS NOT NULL")


# Step 15, the same on both backends (storage/schema_pg.py runs it on PostgreSQL).
V15 = [
    # An outbox item being sent by one process is taken until a time (another process may
    # take it after that, should the first have died mid-send).
    "ALTER TABLE outbox ADD COLUMN taken_by TEXT",
    "ALTER TABLE outbox ADD COLUMN taken_until TEXT",
    # Work one process at a time does (WeCom's long connection), held until a time.
    "CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until TEXT NOT NULL)",
    # Refused dashboard sign-ins, for the throttle every process shares.
    "CREATE TABLE sign_in_failures (who TEXT NOT NULL, at TEXT NOT NULL)",
    "CREATE INDEX idx_sign_in_failures_who_at ON sign_in_failures (who, at)",
]


def _v15(db: sqlite_utils.Database) -> None:
    """Several processes on one database: outbox items taken for a while, leases, and the
    sign-in throttle kept in the database."""
    for sql in V15:
        db.execute(sql)


# Step 16, the same on both backends: the groups that have a setting (the expert groups a new
# order is announced in, every group's region) found without reading every group's settings.
V16 = ["CREATE INDEX idx_chat_settings_key ON chat_settings (key, platform, chat_id, value)"]


def _v16(db: sqlite_utils.Database) -> None:
    """Settings looked up by key (each new order asks for the expert groups)."""
    for sql in V16:
        db.execute(sql)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11, _v12, _v13, _v14, _v15, _v16]


def connect(target: str | Path) -> Database:
    """Open the database, migrated: a `postgresql://` URL names a PostgreSQL server; anything
    else is a SQLite file, created private if needed, in WAL mode with a busy timeout."""
    if is_url(str(target)):
        from storage.schema_pg import connect_pg  # psycopg only where PostgreSQL is used

        return connect_pg(str(target), MIGRATIONS)
    return connect_sqlite(target)


def connect_sqlite(path: str | Path) -> SqliteDatabase:
    if str(path) != ":memory:":
        private_database(Path(path))  # 0600 before SQLite makes its logs beside it
    # Autocommit outside the store's explicit transactions, as on PostgreSQL.
    conn = sqlite3.connect(str(path), timeout=15, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA recursive_triggers = ON")  # as sqlite-utils sets it for migrations
    conn.execute("PRAGMA busy_timeout = 15000")
    if str(path) != ":memory:" and \
            conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    if conn.execute("PRAGMA user_version").fetchone()[0] < len(MIGRATIONS):
        # sqlite-utils writes the migrations; an up-to-date database never loads it
        import sqlite_utils

        migrate(sqlite_utils.Database(conn))
    file = conn.execute("PRAGMA database_list").fetchone()[2]
    return SqliteDatabase(conn, file or "")


def migrate(db: sqlite_utils.Database) -> int:
    """Run the migration steps not yet applied; returns the resulting schema version."""
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    for step, fn in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if db.execute("PRAGMA user_version").fetchone()[0] >= step:
                db.execute("COMMIT")
                continue
            fn(db)
            db.execute(f"PRAGMA user_version = {step}")
            db.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise
    result: int = db.execute("PRAGMA user_version").fetchone()[0]
    return result
