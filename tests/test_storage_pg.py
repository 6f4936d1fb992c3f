"""PostgreSQL's adapter: what it stores and loads as SQLite would, and errors without row data
(a throwaway server; skipped without PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from storage.db import DB_ERRORS
from storage.pg import PgDatabase
from storage.schema import MIGRATIONS
from storage.schema_pg import connect_pg
from tests.conftest import pg_schema_url


@pytest.fixture
def db(pg_base: str, request: pytest.FixtureRequest) -> PgDatabase:
    pg = connect_pg(pg_schema_url(pg_base, request.node.nodeid), MIGRATIONS)
    request.addfinalizer(pg.close)
    return pg


def test_an_error_names_no_value_of_the_row(db: PgDatabase) -> None:
    """PostgreSQL's DETAIL quotes the failing row: a phone in it must reach no log or answer."""
    import psycopg

    with pytest.raises(psycopg.Error) as caught:
        db.execute("INSERT INTO experts (id, name, phone) VALUES (?, NULL, ?)",
                   ["E1", "13867201234"])
    assert "13867201234" not in str(caught.value) and "DETAIL" not in str(caught.value)
    assert "null value" in str(caught.value)  # what went wrong is still said
    assert isinstance(caught.value, psycopg.errors.NotNullViolation)


def test_every_failure_is_one_the_store_catches(db: PgDatabase, pg_base: str) -> None:
    """Callers catch DB_ERRORS, which names no psycopg class (SQLite alone never loads it)."""
    import psycopg

    def failure(call: Callable[[], object]) -> BaseException:
        with pytest.raises(DB_ERRORS) as caught:
            call()
        return caught.value

    duplicate = "INSERT INTO experts (id, name) VALUES ('E1', '甲')"
    db.execute(duplicate)
    assert isinstance(failure(lambda: db.execute(duplicate)), psycopg.errors.UniqueViolation)
    assert isinstance(failure(lambda: db.executemany(duplicate, [[]])), psycopg.Error)
    assert isinstance(failure(lambda: db.script("SELECT 1; SELECT nonsense")), psycopg.Error)
    db.begin()
    assert isinstance(failure(lambda: db.execute("SELECT 1 / 0")), psycopg.errors.DivisionByZero)
    db.rollback()
    reader = db.reader()
    assert isinstance(failure(lambda: reader.execute(duplicate.replace("E1", "E2"))),
                      psycopg.errors.ReadOnlySqlTransaction)
    reader.close()
    nobody = pg_base.rsplit("/", 1)[0] + "/no_such_database"
    assert isinstance(failure(lambda: PgDatabase(nobody)), psycopg.OperationalError)


def test_values_come_back_as_sqlite_gives_them(db: PgDatabase) -> None:
    db.execute("INSERT INTO experts (id, name, capacity, skills) VALUES (?, ?, ?, ?)",
               ["E1", "沈国平", True, "焊接\x00变形"])
    row = db.execute("SELECT capacity, skills, sum(capacity), sum(capacity) * 1.5, "
                     "count(*) FILTER (WHERE name = ?) FROM experts GROUP BY 1, 2",
                     ["沈国平"]).fetchone()
    assert row == (1, "焊接\ufffd变形", 1, 1.5, 1)
    assert [type(v) for v in row] == [int, str, int, float, int]


def test_question_marks_in_literals_and_percent_signs_are_kept(db: PgDatabase) -> None:
    db.execute("INSERT INTO experts (id, name, title) VALUES (?, '谁?', '100%')", ["E2"])
    assert db.execute("SELECT name, title FROM experts WHERE id = ? AND title LIKE '%\\%%' "
                      "ESCAPE '\\'", ["E2"]).fetchone() == ("谁?", "100%")
