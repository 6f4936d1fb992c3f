"""The throwaway PostgreSQL server of tests/pg_server.py: answers, keeps databases apart, stops."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import psycopg
import pytest

from tests.pg_server import PgServer, start_or_skip


@pytest.fixture(scope="module")
def server() -> Iterator[PgServer]:
    s = start_or_skip()
    yield s
    s.stop()


def test_answers_select_1(server: PgServer) -> None:
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert conn.execute("SHOW fsync").fetchone() == ("on",)
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
        row = conn.execute("SHOW max_connections").fetchone()
        assert row is not None and int(row[0]) >= 200
    # The unix socket answers too.
    with psycopg.connect(host=str(server.socket_dir), port=server.port, user=server.user,
                         dbname="postgres") as conn:
        assert conn.execute("SELECT current_user").fetchone() == (server.user,)


def test_databases_are_separate(server: PgServer) -> None:
    url_a = server.create_database("sep_a")
    url_b = server.create_database("sep_b")
    assert url_a.endswith("/sep_a") and url_b.endswith("/sep_b")
    with psycopg.connect(url_a, autocommit=True) as a:
        a.execute("CREATE TABLE t (x text)")
        a.execute("INSERT INTO t VALUES ('点单')")
        assert a.execute("SELECT x FROM t").fetchall() == [("点单",)]
    with psycopg.connect(url_b, autocommit=True) as b:
        assert b.execute("SELECT current_database()").fetchone() == ("sep_b",)
        assert b.execute("SELECT to_regclass('t')").fetchone() == (None,)


def test_stop_closes_the_port_and_removes_the_dir() -> None:
    s = start_or_skip()
    with psycopg.connect(s.url("postgres")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    s.stop()
    assert not s.root.exists()
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", s.port))
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(s.url("postgres"), connect_timeout=2)
    s.stop()  # idempotent
