"""What the reports read instead of the items: one row of figures per request
(``request_facts``) and their sums per day of receipt and grouping key (``report_days``).

Both are kept by ``services/report_facts`` in the transaction of every change that moves
a figure (filing, decisions, transitions, reclassification, an earlier receipt), so a
report over a period reads a few thousand summary rows and, for its percentiles, one
narrow row per request: never the items. They are derived data: the migration that made
them fills them from the requests, their items, clocks and events, and a test checks them
against a recount after any sequence of operations.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.columns import UTCDateTime
from workflows.decisions import Decision, NoActionReason, canonical

#: The actions counted apart, in the current vocabulary (older codes fold into these).
ACTION_CODES: tuple[str, ...] = tuple(
    d.value for d in Decision if d is not Decision.NO_ACTION and canonical(d) is d)
#: The no-action reasons counted apart, and ``unspecified`` for a no action without one.
REASON_CODES: tuple[str, ...] = (*(r.value for r in NoActionReason), "unspecified")

#: The counts a request adds to its day's summary row, in this order.
FIGURES: tuple[str, ...] = (
    "requests", "items", "pending", "acted",
    *(f"actioned_{a}" for a in ACTION_CODES), "actioned_global",
    *(f"no_action_{r}" for r in REASON_CODES),
    "sla_met", "sla_breached", "sla_declined",
    "disputes", "disputes_revised", "disputes_upheld", "disputes_pending",
)


class _Figures:
    """The columns of :data:`FIGURES` (one integer each, zero by default), copied by
    declarative onto each table that mixes this in."""


for _name in FIGURES:
    setattr(_Figures, _name, sa.Column(_name, sa.Integer, nullable=False, default=0,
                                       server_default="0"))


class RequestFacts(_Figures, Model):
    """One request's figures, as its day's summary row counts them, and the times the
    percentiles read.

    The key is (``received_at``, ``request_id``) so that SQLite stores the rows in order
    of receipt (a table without rowid): a period's rows are one sequential range, not
    100,000 lookups through an index. ``sla_running_due_at`` is the resolution deadline of
    a clock that runs (not paused): whether it has passed depends on when the report is
    read, so it is compared then. ``sla_outcome`` is ``met``, ``breached``, ``declined``
    or ``withdrawn`` once settled (declined and withdrawn whether a clock ran or not).
    """

    __tablename__ = "request_facts"
    __table_args__ = (
        sa.Index("ux_request_facts_request", "request_id", unique=True),
        # Compliance: resolve clocks stopped in a period, counted and timed from the index.
        sa.Index("ix_request_facts_resolved", "resolve_stopped_at", "jurisdiction",
                 "resolve_policy", "sla_outcome", "resolve_source", "resolve_seconds"),
        sa.Index("ix_request_facts_running_due", "sla_running_due_at",
                 sqlite_where=sa.text("sla_running_due_at IS NOT NULL"),
                 postgresql_where=sa.text("sla_running_due_at IS NOT NULL")),
        {"sqlite_with_rowid": False},
    )

    received_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("legal_requests.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    jurisdiction: Mapped[str] = mapped_column(sa.String(2))
    category: Mapped[str] = mapped_column(sa.String(32))
    priority: Mapped[str] = mapped_column(sa.String(16))
    instrument: Mapped[str] = mapped_column(sa.String(300))
    #: ``art_9`` or ``art_10`` (services/dsa_orders).
    order_type: Mapped[str] = mapped_column(sa.String(8))
    #: From receipt (the earlier receipt staff recorded, else the filing) to the first
    #: item given effect, and to the receipt's confirmation; NULL until then.
    act_seconds: Mapped[float | None] = mapped_column(sa.Float)
    confirm_seconds: Mapped[float | None] = mapped_column(sa.Float)
    sla_outcome: Mapped[str | None] = mapped_column(sa.String(10))
    sla_running_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The resolve clock as compliance reads it: when it stopped, its governing policy,
    #: and the seconds from the filing to the stop.
    resolve_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_policy: Mapped[str | None] = mapped_column(sa.String(64))
    resolve_source: Mapped[str | None] = mapped_column(sa.String(500))
    resolve_seconds: Mapped[float | None] = mapped_column(sa.Float)


class ReportDay(_Figures, Model):
    """The figures of the requests received on one UTC day with one grouping key
    (agency, jurisdiction, category, priority, instrument): the sums of their
    :class:`RequestFacts`. A request that changes key moves its figures from one row to
    the other; a row may fall back to zero requests (reports skip it)."""

    __tablename__ = "report_days"
    __table_args__ = (
        sa.UniqueConstraint("day", "agency_id", "jurisdiction", "category", "priority",
                            "instrument"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    jurisdiction: Mapped[str] = mapped_column(sa.String(2))
    category: Mapped[str] = mapped_column(sa.String(32))
    priority: Mapped[str] = mapped_column(sa.String(16))
    instrument: Mapped[str] = mapped_column(sa.String(300))
