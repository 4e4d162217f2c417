"""``audit verify --workers N`` on PostgreSQL: the batches of a full verification checked
in N processes that all read the verifying transaction's snapshot.

The verifying process opens its REPEATABLE READ transaction, exports its snapshot
(``pg_export_snapshot``) and splits the requests into the batches it would check itself;
each worker process starts its own transaction on that snapshot (``SET TRANSACTION
SNAPSHOT``), so every process reads the same moment of the database whatever writers
commit meanwhile. The workers check whole batches and return what they found and read;
the verifying process takes the results in batch order, so the findings, the tally and
the fold of heads are those of a verification in one process, in the same order.

SQLite has no exported snapshot: there a verification runs in one process.
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Iterator
from multiprocessing.util import Finalize
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import Flask, current_app

from portal.extensions import db
from portal.services import audit_verify

_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


class EventHead(NamedTuple):
    """What the verifying process needs of each event a worker read (the fold of heads
    and the anchor's check)."""

    seq: int
    hash: str
    gseq: int | None


def check_in_workers(workers: int) -> Iterator[audit_verify.Checked]:
    """Check every batch in ``workers`` processes on the current transaction's snapshot
    (the caller's, opened by ``audit_verify.read_snapshot``); yield the results in batch
    order.

    Raises:
        ValueError: the database is not PostgreSQL.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        raise ValueError("verifying in several processes needs PostgreSQL (an exported "
                         "snapshot); on SQLite verify runs in one process")
    snapshot = db.session.scalar(sa.text("SELECT pg_export_snapshot()"))
    tasks = [(snapshot, [r.id for r in batch]) for batch in audit_verify.batches(light=True)]
    if not tasks:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # fork: the workers start from this process's imports and app, not a new interpreter.
    context = multiprocessing.get_context("fork")
    pool = context.Pool(min(workers, len(tasks)), initializer=_start, initargs=(app,))
    try:
        yield from pool.imap(_check, tasks)
    except BaseException:  # a worker failed, or the caller stopped reading
        pool.terminate()
        raise
    else:
        pool.close()  # the workers exit and close their connections
    finally:
        pool.join()


def _start(app: Flask) -> None:
    """In a new worker: never touch the connections inherited from the verifying process
    (dropped without closing: closing one would end the parent's session on the
    server), and work in an app context of its own, so its session is its own."""
    db.engine.dispose(close=False)
    context = app.app_context()
    context.push()
    Finalize(None, db.engine.dispose, exitpriority=10)  # its own connections, at exit


def _check(task: tuple[str, list[int]]) -> audit_verify.Checked:
    snapshot, ids = task
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    session = db.session
    session.rollback()
    connection = session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    # The first statement of the transaction: every later read sees the parent's moment.
    connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    try:
        batch = [row for part in audit_verify.batches(ids) for row in part]
        return audit_verify.check_one(batch, _head)
    finally:
        session.rollback()


def _head(event: Any) -> EventHead:
    return EventHead(event.seq, event.hash, event.gseq)
