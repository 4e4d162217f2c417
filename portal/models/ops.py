"""What the processes say about themselves: each worker's heartbeat."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.columns import UTCDateTime


class WorkerHeartbeat(Model):
    """One row per running worker process (``host:pid``), written after every pass.

    Readiness and metrics read it: a worker whose last good pass is older than a few
    intervals is stalled (stuck, or failing every pass) even if its process is alive. A
    worker deletes its row when it stops cleanly; a killed one leaves it to age out.
    """

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(200))
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When the last pass ended (good or failed).
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    #: When the last good pass ended (NULL until one has).
    ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Seconds the last pass took, and the interval the worker waits between passes.
    pass_seconds: Mapped[float] = mapped_column(sa.Float, default=0.0)
    interval_seconds: Mapped[float] = mapped_column(sa.Float)
    #: Failed passes in a row (0 after a good one), and the last failure's one line.
    failures: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    passes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
