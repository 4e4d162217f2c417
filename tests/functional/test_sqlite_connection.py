"""Every SQLite connection the portal opens enforces foreign keys, writes ahead (WAL) and
waits for a busy writer instead of failing (the hook in portal/database.py applies to
every SQLAlchemy engine once the portal is imported, so a scratch file shows it in the
PostgreSQL pass as well).

Before: a memory-saving change moved the database binding and dropped the connection
hook with it; nothing failed, and SQLite quietly stopped enforcing foreign keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import portal.database  # noqa: F401  (the connection hook)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
    yield engine
    engine.dispose()


def test_sqlite_connections_write_ahead_and_wait(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000


def test_sqlite_refuses_a_row_pointing_at_nothing(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE child (id INTEGER PRIMARY KEY, "
                             "parent_id INTEGER NOT NULL REFERENCES parent (id))")
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.exec_driver_sql("INSERT INTO child (parent_id) VALUES (42)")
