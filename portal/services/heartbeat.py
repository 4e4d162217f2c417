"""Workers' heartbeats: each pass records itself, so readiness and metrics can tell a
stalled worker from a quiet one."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import WorkerHeartbeat
from portal.models.columns import utcnow
from portal.services.transaction import transaction

#: Rows of workers that stopped beating this long ago (killed, or their host gone) are
#: deleted by the next beat of any worker.
FORGET_AFTER = timedelta(days=1)


def identity() -> str:
    """This process's heartbeat name: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(name: str, *, started_at: datetime, ok: bool, pass_seconds: float,
         interval: float, error: str | None = None, now: datetime | None = None) -> None:
    """Record a pass of worker ``name`` (one transaction of its own).

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database is unreachable (the caller logs it:
            a heartbeat that cannot be written is exactly what readiness will notice).
    """
    now = now or utcnow()
    with transaction():
        row = db.session.get(WorkerHeartbeat, name)
        if row is None:
            row = WorkerHeartbeat(name=name, host=name.rpartition(":")[0] or name,
                                  pid=os.getpid(), started_at=started_at, passes=0,
                                  failures=0)
            db.session.add(row)
        row.beat_at = now
        row.pass_seconds = pass_seconds
        row.interval_seconds = interval
        row.passes = (row.passes or 0) + 1
        if ok:
            row.ok_at = now
            row.failures = 0
            row.last_error = None
        else:
            row.failures = (row.failures or 0) + 1
            row.last_error = (error or "")[:2000]
        db.session.execute(sa.delete(WorkerHeartbeat).where(
            WorkerHeartbeat.beat_at < now - FORGET_AFTER, WorkerHeartbeat.name != name))


def forget(name: str) -> None:
    """Delete worker ``name``'s row (it stops cleanly: it is not stalled, it is gone)."""
    with transaction():
        db.session.execute(sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.name == name))


@dataclass(frozen=True)
class Liveness:
    """What the heartbeats say at ``now``."""

    workers: int
    #: Seconds since the newest good pass of any worker (None: no good pass recorded).
    age_seconds: float | None
    #: The interval of the worker that passed most recently.
    interval_seconds: float | None


def liveness(now: datetime | None = None) -> Liveness:
    """The newest good pass of any worker: one indexed read of a handful of rows."""
    now = now or utcnow()
    rows = db.session.execute(sa.select(WorkerHeartbeat.ok_at,
                                        WorkerHeartbeat.interval_seconds)).all()
    good = [(ok_at, interval) for ok_at, interval in rows if ok_at is not None]
    if not good:
        return Liveness(len(rows), None, None)
    newest, interval = max(good, key=lambda row: row[0])
    return Liveness(len(rows), max(0.0, (now - newest).total_seconds()), interval)


def all_rows() -> list[WorkerHeartbeat]:
    """Every worker's row, by name (for metrics and ``flask check``)."""
    return list(db.session.scalars(sa.select(WorkerHeartbeat).order_by(WorkerHeartbeat.name)))
