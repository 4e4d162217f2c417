"""SLA policies, the clocks they set on requests, and holiday overrides."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.columns import JSONType, UTCDateTime, utcnow


class SlaPolicy(Model):
    """An operator-editable SLA policy (the pure form is ``workflows.sla.Policy``).

    ``targets`` maps a target (acknowledge, resolve, dispute) to its rule:
    ``{"kind": "elapsed"|"business"|"end_of_day"|"working_days_after", "seconds": int,
    "cutoff": "HH:MM"|null, "resume": "none"|"extend"|"restart", "force_majeure": bool}``.
    ``None`` in a match column means "any". A policy applies to requests received in
    ``[valid_from, valid_to)``, so a change in the law is a new row, not an edit.
    """

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    jurisdictions: Mapped[list[str] | None] = mapped_column(JSONType)
    categories: Mapped[list[str] | None] = mapped_column(JSONType)
    exclude_categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    priorities: Mapped[list[str] | None] = mapped_column(JSONType)
    targets: Mapped[dict[str, Any]] = mapped_column(JSONType)
    thresholds: Mapped[list[float]] = mapped_column(JSONType)
    # The calendar business and end-of-day clocks use: the request's jurisdiction unless
    # the policy names another country (and optionally a subdivision) here.
    calendar_country: Mapped[str | None] = mapped_column(sa.String(2))
    # A subdivision code of python-holidays, or "*" for every part of the country.
    calendar_subdivision: Mapped[str | None] = mapped_column(sa.String(10))
    # The holidays package's categories its calendars use ("public" always).
    holiday_categories: Mapped[list[str]] = mapped_column(
        JSONType, default=lambda: ["public"], server_default='["public"]')
    # Requests asking for one of these actions only (None: any; no action named: remove).
    actions: Mapped[list[str] | None] = mapped_column(JSONType)
    # "law" or "platform": on equal deadlines the law's rule and citation govern.
    basis: Mapped[str] = mapped_column(sa.String(16), default="law", server_default="law")
    instrument: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    article: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(sa.String(500))
    source_url: Mapped[str] = mapped_column(sa.String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


#: The predicate of ``ix_sla_clocks_unassigned`` per dialect (SQLite stores booleans as
#: 0/1; the queue's condition, ``unassigned = true``, reads as either).
UNASSIGNED_RUNNING = {"sqlite": "unassigned = 1", "postgresql": "unassigned"}
#: The predicate of ``ix_sla_clocks_unassigned_waiting``: those of them that are paused.
UNASSIGNED_PAUSED = {dialect: f"{flag} AND paused_at IS NOT NULL"
                     for dialect, flag in UNASSIGNED_RUNNING.items()}
#: The predicate of ``ix_sla_clocks_holder_due``: the running clocks of a held request
#: that are not waiting for the agency (not paused within their deadline; the negation
#: of ``reports.waiting``). Written out so that a query can say it word for word: SQLite
#: uses a partial index only for a query whose terms contain the index's.
HELD_NOT_WAITING = ("holder_id IS NOT NULL AND (paused_at IS NULL OR paused_at > "
                    "open_due_at)")


class SlaClock(Model):
    """One deadline of one request (acknowledge, resolve or dispute) and its alerts.

    ``next_alert_at`` is NULL once nothing more can fire (paused, stopped, all fired) and
    ``open_due_at`` is NULL once stopped, so the sweep and the dashboards walk small
    partial indexes in order instead of scanning every clock ever started.
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "target"),
        sa.Index(
            "ix_sla_clocks_next_alert_at",
            "next_alert_at",
            sqlite_where=sa.text("next_alert_at IS NOT NULL"),
            postgresql_where=sa.text("next_alert_at IS NOT NULL"),
        ),
        # (open_due_at, id): the queues' whole order, so a page is an index walk.
        sa.Index(
            "ix_sla_clocks_open_due_at",
            "open_due_at", "id",
            sqlite_where=sa.text("open_due_at IS NOT NULL"),
            postgresql_where=sa.text("open_due_at IS NOT NULL"),
        ),
        # Compliance over a period: the stopped clocks of one target, walked by stop time
        # (services/reports.compliance; without it every clock was read).
        sa.Index("ix_sla_clocks_target_stopped", "target", "stopped_at"),
        # Running clocks waiting for the agency (paused): the queue's and the dashboard's
        # second part, walked in order without passing every running clock.
        sa.Index(
            "ix_sla_clocks_waiting",
            "open_due_at", "id",
            sqlite_where=sa.text("open_due_at IS NOT NULL AND paused_at IS NOT NULL"),
            postgresql_where=sa.text("open_due_at IS NOT NULL AND paused_at IS NOT NULL"),
        ),
        # Running clocks of requests nobody holds, in deadline order: the queue's
        # unassigned tab walks one page of this (joining the requests first, PostgreSQL
        # sorted every unassigned request's clock).
        sa.Index(
            "ix_sla_clocks_unassigned",
            "open_due_at", "id",
            sqlite_where=sa.text(UNASSIGNED_RUNNING["sqlite"]),
            postgresql_where=sa.text(UNASSIGNED_RUNNING["postgresql"]),
        ),
        # Paused clocks of requests nobody holds: the unassigned tab's part waiting for
        # the agency. Requests waiting for an answer are nearly all held by the reviewer
        # who asked, so walking every waiting clock for the few unassigned ones read
        # 25,000 rows at 1M requests (82 ms for the tab's last page on SQLite).
        sa.Index(
            "ix_sla_clocks_unassigned_waiting",
            "open_due_at", "id",
            sqlite_where=sa.text(UNASSIGNED_PAUSED["sqlite"]),
            postgresql_where=sa.text(UNASSIGNED_PAUSED["postgresql"]),
        ),
        # A reviewer's running clocks not waiting for the agency, in deadline order: the
        # start page counts those due within the hour. Walking the reviewer's requests
        # instead read every request of theirs waiting for an answer first (56 ms of SQL
        # at 1M requests on SQLite, for one reviewer holding 25,000 of them).
        sa.Index(
            "ix_sla_clocks_holder_due",
            "holder_id", "open_due_at",
            sqlite_where=sa.text(HELD_NOT_WAITING),
            postgresql_where=sa.text(HELD_NOT_WAITING),
        ),
        # Everything the dashboard's band counts read, so they never touch the rows.
        sa.Index(
            "ix_sla_clocks_open_bands",
            "open_due_at", "paused_at", "next_alert_at", "fired", "thresholds",
            sqlite_where=sa.text("open_due_at IS NOT NULL"),
            postgresql_where=sa.text("open_due_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("legal_requests.id"))
    target: Mapped[str] = mapped_column(sa.String(16))
    policy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sla_policies.id"))
    # A snapshot of what governs this clock, so editing a policy later does not rewrite
    # history (re-matching on the record does, see services/clocks.reclassify).
    policy_code: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(500))
    kind: Mapped[str] = mapped_column(sa.String(16))
    seconds: Mapped[int]
    # The run's full allowance (wall or working time): thresholds are fractions of it.
    allowance_seconds: Mapped[float] = mapped_column(default=0.0)
    cutoff: Mapped[str | None] = mapped_column(sa.String(5))
    resume: Mapped[str] = mapped_column(sa.String(8))
    force_majeure: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Every policy that applied when the clock started, the governing one first: code,
    # name, basis, source, instrument, article, url, its rule and the deadline it set
    # (what the API and the pages show as "governing" and "also applies").
    matches: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType, default=list, server_default="[]")
    # The runs of the other legal regimes that limit this one (workflows.sla.Bound):
    # policy, rule, started_at, due_at, allowance_seconds, paused_at.
    bounds: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONType, default=list, server_default="[]")
    # "clarification" or "force_majeure" while a pause is under way (the clock may run
    # on meanwhile, under a law that allows no pause).
    pause_reason: Mapped[str | None] = mapped_column(sa.String(16))
    # Brought forward to the resolution's deadline (an acknowledgement never falls due
    # after it).
    clamped: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    thresholds: Mapped[list[float]] = mapped_column(JSONType)
    alert_times: Mapped[list[str]] = mapped_column(JSONType)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    open_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[float] = mapped_column(default=0.0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fired: Mapped[int] = mapped_column(default=0)
    next_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run: Mapped[int] = mapped_column(default=1)
    # The clock runs and nobody holds its request (``LegalRequest.assigned_reviewer_id``
    # is NULL), kept by services.clocks in the transaction that assigns the request or
    # starts or stops the clock: the unassigned tab's order is then one partial index
    # (``ix_sla_clocks_unassigned``). Running only: "open_due_at IS NOT NULL" beside it
    # made PostgreSQL multiply two selectivities, expect a tenth of the rows, and sort.
    unassigned: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Who holds the request (``LegalRequest.assigned_reviewer_id``) while the clock runs,
    # NULL otherwise: kept with ``unassigned``, by the same calls. A copy, not a foreign
    # key: the request's column is the truth, and this one only orders an index
    # (``ix_sla_clocks_holder_due``).
    holder_id: Mapped[int | None] = mapped_column(sa.Integer)

    policy: Mapped[SlaPolicy | None] = relationship()

    @property
    def paused_total(self) -> timedelta:
        return timedelta(seconds=self.paused_seconds)


class HolidayOverride(Model):
    """A holiday announced late (moon sighting) or a predicted one that moved."""

    __tablename__ = "holiday_overrides"
    __table_args__ = (sa.UniqueConstraint("country", "subdivision", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(sa.String(2), index=True)
    subdivision: Mapped[str | None] = mapped_column(sa.String(10))
    day: Mapped[date] = mapped_column(sa.Date)
    holiday: Mapped[bool] = mapped_column(default=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
