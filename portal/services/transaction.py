"""The one way services open and finish a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from portal.extensions import db
from portal.services.errors import Conflict


@contextmanager
def transaction() -> Iterator[None]:
    """Commit what the block did, or roll all of it back.

    A version-check failure (someone changed the row since it was read) or a lock that
    could not be had becomes :class:`Conflict`; any other error propagates after the
    rollback, so nothing is ever half-saved.
    """
    session = db.session
    try:
        yield
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Conflict(
            "the request was changed by someone else at the same time; reload and try again"
        ) from None
    except OperationalError as exc:
        session.rollback()
        if "lock" in str(exc.orig).lower():  # SQLite "database is locked", PG lock timeout
            raise Conflict("the request is busy; try again in a moment") from exc
        raise
    except BaseException:
        session.rollback()
        raise


def lock_for_writing() -> None:
    """On SQLite, take the database's write lock now, at the start of the transaction.

    SQLite has no row locks: a transaction that reads, decides and then writes could
    otherwise decide on rows another process changes before its first write. A write
    statement that matches no row takes the lock without changing anything. PostgreSQL
    needs nothing here (callers lock the rows they read with ``FOR UPDATE``).
    """
    session = db.session
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text("UPDATE reference_counters SET last = last WHERE 0"))
