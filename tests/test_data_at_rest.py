"""Data at rest: private file modes, hashed sign-in tokens, and sign-in links scrubbed from
the message tables once they are used or have expired."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from bot import runlock
from bot.app import App
from bot.model import FrozenClock
from storage.base import ts
from storage.checkpoint import Checkpointer
from storage.db import Database
from storage.schema import MIGRATIONS, connect
from storage.store import Store
from tests.fakes import T0, Client, post_local

TOKEN_IN_TEXT = re.compile(r"login=([A-Za-z0-9_-]{16,})")
OUR_LOGGERS = ("bot", "handlers", "storage")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask most systems start with: files 0644 and folders 0755 unless we say so."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _companions(path: Path) -> list[Path]:
    return [Path(f"{path}-wal"), Path(f"{path}-shm")]


# -- file modes ------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_new_database_its_logs_and_its_new_folder_are_private(tmp_path: Path,
                                                                 open_umask: None) -> None:
    path = tmp_path / "data" / "bot.db"
    db = connect(path)
    try:
        wal, shm = _companions(path)
        assert wal.exists() and shm.exists()  # WAL mode, with the migrations written
        assert _mode(path.parent) == 0o700
        assert {p.name: _mode(p) for p in (path, wal, shm)} == {
            "bot.db": 0o600, "bot.db-wal": 0o600, "bot.db-shm": 0o600}
    finally:
        db.close()


@pytest.mark.sqlite_only
def test_a_folder_that_already_existed_keeps_its_mode(tmp_path: Path, open_umask: None) -> None:
    os.chmod(tmp_path, 0o755)  # such as /tmp or a home directory: not ours to change
    connect(tmp_path / "bot.db").close()
    assert _mode(tmp_path) == 0o755
    assert _mode(tmp_path / "bot.db") == 0o600


@pytest.mark.sqlite_only
def test_an_open_database_and_its_logs_are_tightened_once(
        tmp_path: Path, open_umask: None, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "bot.db"
    connect(path).close()
    os.chmod(path, 0o644)  # as an older version left it
    other = sqlite3.connect(path)  # holds -wal and -shm open, made 0644 like the file
    try:
        other.execute("PRAGMA journal_mode = WAL")
        other.execute("CREATE TABLE scratch (x)")
        assert all(_mode(p) == 0o644 for p in _companions(path))
        caplog.set_level(logging.INFO)
        connect(path).close()
        assert {_mode(p) for p in (path, *_companions(path))} == {0o600}
        tightened = [r for r in caplog.records if "0600" in r.getMessage()]
        assert len(tightened) == 1 and tightened[0].levelno == logging.INFO
        caplog.clear()
        connect(path).close()
        assert not [r for r in caplog.records if "0600" in r.getMessage()]
    finally:
        other.close()


def test_the_lock_file_is_private(tmp_path: Path, open_umask: None) -> None:
    db = str(tmp_path / "bot.db")
    held = runlock.acquire(db)
    assert held is not None
    held.close()
    lock = Path(f"{db}.run.lock")
    assert _mode(lock) == 0o600
    os.chmod(lock, 0o644)
    held = runlock.acquire(db)
    assert held is not None
    held.close()
    assert _mode(lock) == 0o600


def test_the_checkpointer_never_creates_a_database(tmp_path: Path, open_umask: None) -> None:
    writer = connect(tmp_path / "bot.db")
    missing = tmp_path / "gone.db"
    try:
        with pytest.raises(sqlite3.OperationalError):
            Checkpointer(str(missing)).start(writer)
    finally:
        writer.close()
    assert not missing.exists()


# -- sign-in tokens are stored hashed ----------------------------------------------------------


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _tables_holding(db: Database, secret: str) -> list[str]:
    """Every table with a text column that contains `secret`."""
    found = []
    for table in db.table_names():
        for row in db.execute(f'SELECT * FROM "{table}"').fetchall():
            if any(isinstance(v, str) and secret in v for v in row):
                found.append(table)
                break
    return sorted(found)


def test_a_sign_in_token_is_stored_only_as_a_hash(app: App) -> None:
    token = app.store.issue_login_token("fake:admin")
    assert _tables_holding(app.store.db, token) == []
    assert _tables_holding(app.store.db, _sha(token)) == ["login_tokens"]
    assert app.store.use_login_token(token) == "fake:admin"
    assert app.store.use_login_token(_sha(token)) is None  # the hash itself is no key


@pytest.mark.sqlite_only
def test_the_migration_hashes_plain_tokens_and_the_sweep_scrubs_their_texts(
        tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "bot.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    for step in MIGRATIONS[:6]:  # the schema before tokens were hashed
        step(old)
    live, used = "LiveToken-0123456789abcdefABCDEF", "UsedToken-0123456789abcdefABCDEF"
    old.execute("INSERT INTO login_tokens VALUES (?, 'fake:admin', ?, NULL), "
                "(?, 'fake:admin', ?, ?)", [live, ts(T0 + timedelta(minutes=5)), used,
                                            ts(T0 + timedelta(minutes=5)), ts(T0)])
    old.execute("INSERT INTO outbox (created_at, platform, chat_id, chat_kind, text, state) "
                "VALUES (?, 'fake', 'admin', 'single', ?, 'sent')",
                [ts(T0), f"后台登录链接：\nhttp://127.0.0.1:8080/admin/?login={used}"])
    old.execute("PRAGMA user_version = 6")
    old.conn.commit()
    old.close()

    store = Store(connect(path), clock)
    assert _tables_holding(store.db, live) == []
    assert _tables_holding(store.db, used) == ["outbox"]  # until the sweep runs
    store.scrub_login_links()
    assert _tables_holding(store.db, used) == []
    assert store.use_login_token(used) is None
    assert store.use_login_token(live) == "fake:admin"  # still valid for its last minutes


# -- sign-in links leave the message tables when used or expired -------------------------------


async def _link(client: Client) -> str:
    """Ask for /后台 in the local 1:1 chat; the token of the link sent back."""
    data = await post_local(client, chat="dm-admin", chat_type="single", sender="admin",
                            text="/后台")
    [reply] = data["replies"]
    m = TOKEN_IN_TEXT.search(reply["text"])
    assert m, reply["text"]
    return m.group(1)


def _holding(app: App, token: str) -> list[str]:
    return [t for t in _tables_holding(app.store.db, token) if t in ("outbox", "local_messages")]


async def test_a_used_link_leaves_no_token_behind(
        local_app: App, client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = await _link(client)
    assert _holding(local_app, token) == ["local_messages"]
    resp = await client.get("/admin/", params={"login": token})
    assert resp.status == 200  # the link works within its validity
    assert _holding(local_app, token) == []
    texts = [r["text"] for r in local_app.store.local_messages("dm-admin")]
    assert any("login=已失效" in t for t in texts)
    assert not [r for r in caplog.records
                if r.name.startswith(OUR_LOGGERS) and token in r.getMessage()]


async def test_using_one_link_leaves_another_one_working(local_app: App,
                                                         client: Client) -> None:
    first, second = await _link(client), await _link(client)
    assert (await client.get("/admin/", params={"login": first})).status == 200
    assert _holding(local_app, second) == ["local_messages"]
    client.session.cookie_jar.clear()
    assert (await client.get("/admin/", params={"login": second})).status == 200


@pytest.mark.parametrize("start", [T0, T0.replace(hour=20, minute=55)],
                         ids=["daytime", "into-quiet-hours"])
async def test_an_expired_link_is_scrubbed_by_the_sweep(local_app: App, client: Client,
                                                        clock: FrozenClock,
                                                        start: datetime) -> None:
    clock.set(start)
    token = await _link(client)
    clock.advance(minutes=9)
    await local_app.run_jobs()
    assert _holding(local_app, token) == ["local_messages"]  # still valid
    clock.advance(minutes=2)
    await local_app.run_jobs()
    assert _holding(local_app, token) == []
    resp = await client.get("/admin/", params={"login": token})
    assert resp.status == 403
