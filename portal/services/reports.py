"""What the dashboards show: each clock's standing now, and compliance over a period."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LegalRequest, SlaClock
from portal.services import clocks
from workflows import calendars, sla


class Band(StrEnum):
    """How a clock stands, as the dashboard colours it (always with text too)."""

    ON_TRACK = "on_track"
    HALF = "50"
    THREE_QUARTERS = "75"
    NINETY = "90"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"


@dataclass(frozen=True)
class ClockStatus:
    """One clock of one request, read at ``now``."""

    request_id: int
    target: str
    policy_code: str
    source: str
    due_at: datetime
    remaining: timedelta
    fraction_used: float
    paused: bool
    breached: bool
    stopped: bool
    band: Band


def band_of(fraction: float, *, paused: bool, stopped: bool, breached: bool) -> Band:
    if stopped:
        return Band.MISSED if breached else Band.MET
    if breached:
        return Band.BREACHED
    if paused:
        return Band.PAUSED
    if fraction >= 0.9:
        return Band.NINETY
    if fraction >= 0.75:
        return Band.THREE_QUARTERS
    if fraction >= 0.5:
        return Band.HALF
    return Band.ON_TRACK


def clock_statuses(request_ids: Sequence[int], now: datetime) -> dict[int, list[ClockStatus]]:
    """Every clock of the given requests, read at ``now``, in one query.

    Business clocks need their jurisdiction's calendar; each is built once per call.
    """
    if not request_ids:
        return {}
    rows = db.session.execute(
        sa.select(SlaClock, LegalRequest.jurisdiction)
        .join(LegalRequest, LegalRequest.id == SlaClock.request_id)
        .where(SlaClock.request_id.in_(list(request_ids)))
        .order_by(SlaClock.request_id, SlaClock.id)
    ).all()
    calendar_cache: dict[str, calendars.BusinessCalendar] = {}
    found: dict[int, list[ClockStatus]] = defaultdict(list)
    for row, jurisdiction in rows:
        clock = clocks.to_clock(row)
        calendar = None
        if clock.rule.kind is sla.ClockKind.BUSINESS:
            if jurisdiction not in calendar_cache:
                calendar_cache[jurisdiction] = clocks.calendar_for(jurisdiction, now)
            calendar = calendar_cache[jurisdiction]
        fraction = sla.fraction_used(clock, now, calendar)
        is_breached = sla.breached(clock, now)
        found[row.request_id].append(ClockStatus(
            request_id=row.request_id, target=row.target, policy_code=row.policy_code,
            source=row.source, due_at=row.due_at, remaining=sla.remaining(clock, now),
            fraction_used=fraction, paused=clock.paused_at is not None,
            breached=is_breached, stopped=clock.stopped_at is not None,
            band=band_of(fraction, paused=clock.paused_at is not None,
                         stopped=clock.stopped_at is not None, breached=is_breached),
        ))
    return dict(found)


@dataclass(frozen=True)
class Compliance:
    """Met and breached deadlines of one (jurisdiction, policy) over a period, and the
    time from receipt to the clock stopping (time to action) in hours."""

    jurisdiction: str
    policy_code: str
    source: str
    met: int
    breached: int
    still_open_breached: int
    p50_hours: float | None
    p90_hours: float | None
    p95_hours: float | None

    @property
    def total(self) -> int:
        return self.met + self.breached + self.still_open_breached


def compliance(start: datetime, end: datetime, *, target: str = "resolve") -> list[Compliance]:
    """Compliance per jurisdiction and governing policy for clocks stopped in
    [start, end), plus clocks still running that were already past due by ``end`` (or
    by now, for a period that has not ended)."""
    end_or_now = min(end, datetime.now(UTC))
    stopped = db.session.execute(
        sa.select(LegalRequest.jurisdiction, SlaClock.policy_code, SlaClock.source,
                  SlaClock.due_at, SlaClock.stopped_at, LegalRequest.received_at)
        .join(LegalRequest, LegalRequest.id == SlaClock.request_id)
        .where(SlaClock.target == target, SlaClock.stopped_at >= start,
               SlaClock.stopped_at < end)
    ).all()
    overdue = db.session.execute(
        sa.select(LegalRequest.jurisdiction, SlaClock.policy_code, SlaClock.source,
                  sa.func.count())
        .join(LegalRequest, LegalRequest.id == SlaClock.request_id)
        .where(SlaClock.target == target, SlaClock.open_due_at < end_or_now,
               SlaClock.paused_at.is_(None))
        .group_by(LegalRequest.jurisdiction, SlaClock.policy_code, SlaClock.source)
    ).all()
    groups: dict[tuple[str, str], _Tally] = {}
    for jurisdiction, code, source, due_at, stopped_at, received_at in stopped:
        assert stopped_at is not None  # the query only selects stopped clocks
        tally = groups.setdefault((jurisdiction, code), _Tally(source))
        if stopped_at < due_at:
            tally.met += 1
        else:
            tally.breached += 1
        tally.hours.append((stopped_at - received_at).total_seconds() / 3600)
    for jurisdiction, code, source, n in overdue:
        groups.setdefault((jurisdiction, code), _Tally(source)).still_open_breached = n
    return [
        Compliance(
            jurisdiction=jurisdiction, policy_code=code, source=t.source, met=t.met,
            breached=t.breached, still_open_breached=t.still_open_breached,
            p50_hours=_percentile(t.hours, 0.5), p90_hours=_percentile(t.hours, 0.9),
            p95_hours=_percentile(t.hours, 0.95),
        )
        for (jurisdiction, code), t in sorted(groups.items())
    ]


@dataclass
class _Tally:
    source: str
    met: int = 0
    breached: int = 0
    still_open_breached: int = 0
    hours: list[float] = field(default_factory=list)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(q * 100) - 1]
