"""What the dashboards show: each clock's standing now (read in Python for the rows
shown, and computed by the database as a band for counting and filtering running clocks),
and compliance over a period (counted and timed by the database), with its CSV export."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from portal.extensions import db
from portal.models import Agency, LegalRequest, RequestFacts, SlaClock, SlaPolicy
from portal.models.columns import UTCDateTime
from portal.services import clocks, report_sql
from portal.services.access import require_staff
from portal.services.actors import Actor
from workflows import calendars, sla
from workflows.states import Resolution


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
    #: The governing rule's pause rule (none, extend, restart), the pause under way.
    pause_rule: str = "extend"
    pause_reason: str | None = None
    #: Brought forward to the resolution deadline.
    clamped: bool = False
    #: The other policies that apply (code, basis, source, due_at, pause rule).
    others: tuple[dict[str, Any], ...] = ()


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

    Business clocks count in their policy's calendar (its holiday categories, its region
    and the filing agency's); each distinct calendar is built once per call.
    """
    if not request_ids:
        return {}
    rows = db.session.execute(
        sa.select(SlaClock, LegalRequest.jurisdiction, Agency.country, Agency.subdivision)
        .join(LegalRequest, LegalRequest.id == SlaClock.request_id)
        .join(Agency, Agency.id == LegalRequest.agency_id)
        .where(SlaClock.request_id.in_(list(request_ids)))
        .order_by(SlaClock.request_id, SlaClock.id)
    ).all()
    calendars_of = _Calendars(now)
    found: dict[int, list[ClockStatus]] = defaultdict(list)
    for row, jurisdiction, agency_country, agency_subdivision in rows:
        clock = clocks.to_clock(row)
        calendar = None
        if clock.rule.kind is sla.ClockKind.BUSINESS:
            calendar = calendars_of(row.policy_code, jurisdiction, agency_country,
                                    agency_subdivision)
        fraction = sla.fraction_used(clock, now, calendar)
        is_breached = sla.breached(clock, now)
        found[row.request_id].append(ClockStatus(
            request_id=row.request_id, target=row.target, policy_code=row.policy_code,
            source=row.source, due_at=row.due_at, remaining=sla.remaining(clock, now),
            fraction_used=fraction, paused=clock.paused_at is not None,
            breached=is_breached, stopped=clock.stopped_at is not None,
            band=band_of(fraction, paused=clock.paused_at is not None,
                         stopped=clock.stopped_at is not None, breached=is_breached),
            pause_rule=row.resume, pause_reason=row.pause_reason, clamped=row.clamped,
            others=tuple(m for m in (row.matches or ()) if m.get("policy") != row.policy_code),
        ))
    return dict(found)


class _Calendars:
    """The calendar of a clock's policy for one request, each built once."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.policies: dict[str, sla.Policy] | None = None
        self.built: dict[tuple[Any, ...], calendars.BusinessCalendar] = {}

    def __call__(self, code: str, jurisdiction: str, agency_country: str,
                 agency_subdivision: str | None) -> calendars.BusinessCalendar:
        if self.policies is None:
            # Read once, and only when a business clock is shown.
            self.policies = {}
            for row in db.session.scalars(sa.select(SlaPolicy)):
                try:
                    self.policies[row.code] = clocks.to_policy(row)
                except (ValueError, KeyError):
                    continue
        policy = self.policies.get(code)
        if policy is None:  # deleted since: the jurisdiction's own calendar
            key: tuple[Any, ...] = (jurisdiction, (), ("public",))
        else:
            key = sla.calendar_key(policy, jurisdiction, agency_country=agency_country,
                                   agency_subdivision=agency_subdivision)
        if key not in self.built:
            country, regions, categories = key
            self.built[key] = clocks.calendar_for(country, self.now, subdivisions=regions,
                                                  categories=categories)
        return self.built[key]


def clock_of(statuses: Sequence[ClockStatus], target: str) -> ClockStatus | None:
    """The reading of the ``target`` clock among one request's ``statuses``, if any."""
    return next((s for s in statuses if s.target == target), None)


# -- a running clock's band, computed by the database ----------------------------------

#: Thresholds per policy the band expression looks at (the defaults have four).
MAX_THRESHOLDS = 6


def clock_paused() -> ColumnElement[bool]:
    """A paused clock, whether its deadline had passed when it paused or not."""
    return SlaClock.paused_at.is_not(None)


#: SQLite's planner walks every running clock to find the few that wait (it prefers the
#: larger index on open_due_at); this names the partial index of waiting clocks for it.
#: PostgreSQL's planner finds that index by its statistics.
WAITING_INDEX_HINT = "INDEXED BY ix_sla_clocks_waiting"


def waiting() -> ColumnElement[bool]:
    """A clock paused within its deadline (waiting for the agency): these come last.

    Every other running clock sorts by ``open_due_at`` alone, which already puts the
    breached ones first (their deadline has passed) and keeps a clock that was paused
    after its deadline among them, as :func:`band_of` reads it.
    Splitting the order this way lets each part walk the partial index on
    ``open_due_at`` instead of sorting every open clock.
    """
    return sa.and_(clock_paused(), SlaClock.paused_at <= SlaClock.open_due_at)




def _quick_cases(now: datetime) -> list[tuple[ColumnElement[bool], str]]:
    """The bands the plain columns settle, without reading the threshold times."""
    return [
        (sa.and_(clock_paused(), SlaClock.paused_at > SlaClock.open_due_at), Band.BREACHED.value),
        (clock_paused(), Band.PAUSED.value),
        # Reaching the deadline is within it (workflows.sla.breached): only after it.
        (SlaClock.open_due_at < now, Band.BREACHED.value),
        # next_alert_at is the time of threshold number ``fired`` (services/clocks.store
        # keeps both), so a clock with none fired and the next still ahead crossed none.
        (sa.and_(SlaClock.fired == 0, SlaClock.next_alert_at > now), Band.ON_TRACK.value),
    ]


def _settled_by_sweep(now: datetime) -> list[tuple[ColumnElement[bool], str]]:
    """Clocks whose next threshold is still ahead: nothing crossed since the last sweep,
    so the highest threshold fired (one JSON read) gives the band. This is the common
    case while the worker runs; only clocks it has not swept yet take the long way."""
    settled = sa.and_(SlaClock.next_alert_at > now, SlaClock.fired > 0)
    highest = sa.case(*(
        (SlaClock.fired == i + 1, SlaClock.thresholds[i].as_float())
        for i in range(MAX_THRESHOLDS)
    ))
    return [
        (sa.and_(settled, highest >= 0.9), Band.NINETY.value),
        (sa.and_(settled, highest >= 0.75), Band.THREE_QUARTERS.value),
        (sa.and_(settled, highest >= 0.5), Band.HALF.value),
        (settled, Band.ON_TRACK.value),
    ]


def band_expression(now: datetime) -> ColumnElement[str]:
    """The dashboard band of a running clock at ``now``, computed by the database.

    Uses the threshold times each clock stores (``alert_times``, aware UTC in ISO form,
    which sorts as text), so business-hour clocks need no calendar here. A clock is in
    the band of the highest threshold it has crossed: with the default thresholds
    (50/75/90 %) that is exactly the band :func:`band_of` gives its fraction.
    """
    binary = db.session.get_bind().dialect.name == "postgresql"
    return _band_case(binary)


def band_params(now: datetime) -> dict[str, Any]:
    """The values a statement using :func:`band_expression` is executed with."""
    return {"band_now": now, "band_now_text": now.astimezone(UTC).isoformat()}


@functools.cache
def _band_case(binary: bool) -> ColumnElement[str]:
    """The band expression, built once per dialect (building it cost ~9 ms a page) with
    ``band_now`` and ``band_now_text`` left as parameters."""
    now: Any = sa.bindparam("band_now", type_=UTCDateTime())
    now_text: Any = sa.bindparam("band_now_text", type_=sa.String())
    # Compared byte by byte: a linguistic collation (PostgreSQL's default) may skip the
    # punctuation and misorder times with and without microseconds.

    def alert_time(i: int) -> ColumnElement[str]:
        text: ColumnElement[str] = SlaClock.alert_times[i].as_string()
        return sa.collate(text, "C") if binary else text

    def crossed(fraction: float) -> ColumnElement[bool]:
        # Never NULL (a policy with fewer thresholds has no time at i), so that NOT works;
        # the time first: for most clocks it is still ahead and the threshold is not read.
        return sa.or_(*(
            sa.and_(sa.func.coalesce(alert_time(i), "~") <= now_text,
                    SlaClock.thresholds[i].as_float() >= fraction)
            for i in range(MAX_THRESHOLDS)
        ))

    return sa.case(
        *_quick_cases(now),
        *_settled_by_sweep(now),
        (sa.not_(crossed(0.5)), Band.ON_TRACK.value),
        (crossed(0.9), Band.NINETY.value),
        (crossed(0.75), Band.THREE_QUARTERS.value),
        else_=Band.HALF.value,
    )


# -- compliance over a period ----------------------------------------------------------

@dataclass(frozen=True)
class Compliance:
    """Met and breached deadlines of one (jurisdiction, policy) over a period, and the
    time from receipt to the clock stopping (time to action) in hours.

    Requests the platform declined and those the agency withdrew are counted apart
    (``declined``, ``withdrawn``): neither met nor breached, and not in the times to
    action. Met means stopped at or before the deadline.
    """

    jurisdiction: str
    policy_code: str
    source: str
    met: int
    breached: int
    still_open_breached: int
    p50_hours: float | None
    p90_hours: float | None
    p95_hours: float | None
    declined: int = 0
    withdrawn: int = 0

    @property
    def measured(self) -> int:
        """The deadlines met or breached: what a share met is a share of."""
        return self.met + self.breached + self.still_open_breached

    @property
    def total(self) -> int:
        return self.measured + self.declined + self.withdrawn


def _outcome_case(target: str) -> ColumnElement[str]:
    """How a stopped clock counts (``workflows.sla.outcome``), computed by the database:
    a resolve clock of a declined or withdrawn request is counted apart; otherwise met
    when it stopped (or paused for good) at or before its deadline."""
    settled = sa.func.coalesce(SlaClock.paused_at, SlaClock.stopped_at)
    cases: list[tuple[ColumnElement[bool], str]] = []
    if target == sla.Target.RESOLVE.value:
        cases += [
            (LegalRequest.resolution == Resolution.DECLINED, sla.Outcome.DECLINED.value),
            (LegalRequest.resolution == Resolution.WITHDRAWN, sla.Outcome.WITHDRAWN.value),
        ]
    cases.append((settled <= SlaClock.due_at, sla.Outcome.MET.value))
    return sa.case(*cases, else_=sla.Outcome.BREACHED.value)


def compliance(start: datetime, end: datetime) -> list[Compliance]:
    """Compliance per jurisdiction and governing policy for resolve clocks stopped in
    [start, end), plus clocks still running that were already past due by ``end`` (or
    by now, for a period that has not ended).

    Counted and timed by the database from the requests' facts (``request_facts``: each
    resolve clock's stop, policy, outcome and time, kept by services/report_facts), over
    an index that covers every column read, so the cost follows the clocks of the period
    and no row of the requests or clocks is read.
    """
    end_or_now = min(end, datetime.now(UTC))
    facts = RequestFacts
    stopped_in_period = (facts.resolve_stopped_at >= start, facts.resolve_stopped_at < end)
    counted = db.session.execute(
        sa.select(facts.jurisdiction, facts.resolve_policy, sa.func.max(facts.resolve_source),
                  facts.sla_outcome, sa.func.count())
        .where(*stopped_in_period)
        .group_by(facts.jurisdiction, facts.resolve_policy, facts.sla_outcome)
    ).all()
    timed = report_sql.percentiles(
        sa.select(facts.jurisdiction.label("k_j"), facts.resolve_policy.label("k_p"),
                  facts.resolve_seconds.label("seconds"))
        .where(*stopped_in_period,
               facts.sla_outcome.in_([sla.Outcome.MET.value, sla.Outcome.BREACHED.value])),
        ["k_j", "k_p"], "seconds", (0.5, 0.9, 0.95))
    overdue = db.session.execute(
        sa.select(facts.jurisdiction, facts.resolve_policy, sa.func.max(facts.resolve_source),
                  sa.func.count())
        .where(facts.sla_running_due_at < end_or_now)
        .group_by(facts.jurisdiction, facts.resolve_policy)
    ).all()
    groups: dict[tuple[str, str], _Tally] = {}
    # A stopped or running resolve clock always has its policy, source and outcome.
    for jurisdiction, code, source, result, n in counted:
        tally = groups.setdefault((jurisdiction, str(code)), _Tally(str(source)))
        setattr(tally, {"met": "met", "breached": "breached", "declined": "declined",
                        "withdrawn": "withdrawn"}[str(result)], n)
    for jurisdiction, code, source, n in overdue:
        groups.setdefault((jurisdiction, str(code)), _Tally(str(source))).still_open_breached = n
    found = []
    for (jurisdiction, code), t in sorted(groups.items()):
        p50, p90, p95 = timed.get((jurisdiction, code), [None, None, None])
        found.append(Compliance(
            jurisdiction=jurisdiction, policy_code=code, source=t.source, met=t.met,
            breached=t.breached, still_open_breached=t.still_open_breached,
            p50_hours=_hours(p50), p90_hours=_hours(p90), p95_hours=_hours(p95),
            declined=t.declined, withdrawn=t.withdrawn,
        ))
    return found


def _hours(seconds: float | None) -> float | None:
    # Not rounded as the transparency report's are: the page shows one decimal.
    return None if seconds is None else seconds / 3600


@dataclass
class _Tally:
    source: str
    met: int = 0
    breached: int = 0
    still_open_breached: int = 0
    declined: int = 0
    withdrawn: int = 0


# -- compliance export ------------------------------------------------------------------

EXPORT_COLUMNS: tuple[str, ...] = (
    "reference", "jurisdiction", "agency", "category", "priority", "received_at", "state",
    "resolution", "resolve_due_at", "stopped_at", "outcome", "policy", "source",
)
#: The columns of the export whose text people typed (an agency's name, a policy's code
#: and source, set by administrators): the only cells a spreadsheet formula could hide in.
EXPORT_FREE_TEXT: tuple[int, ...] = tuple(
    EXPORT_COLUMNS.index(name) for name in ("agency", "policy", "source"))


def _period_holds_most_clocks(start: datetime, end: datetime) -> bool:
    """Whether more than a quarter of all resolve clocks may be counted in [start, end):
    an upper bound read from the two indexes alone (clocks stopped in the period, and
    running clocks due before its end, paused or not), against every resolve clock."""
    resolve = SlaClock.target == "resolve"
    stopped = db.session.scalar(sa.select(sa.func.count()).select_from(SlaClock).where(
        resolve, SlaClock.stopped_at >= start, SlaClock.stopped_at < end)) or 0
    due = db.session.scalar(sa.select(sa.func.count()).select_from(SlaClock).where(
        SlaClock.open_due_at < end)) or 0
    total = db.session.scalar(sa.select(sa.func.count()).select_from(SlaClock).where(
        resolve)) or 0
    return 4 * (stopped + due) > total


def export_rows(actor: Actor, start: datetime, end: datetime, *,
                batch: int = 10_000) -> Iterator[tuple[str, ...]]:
    """One row per request counted in the compliance of [start, end), as text in
    :data:`EXPORT_COLUMNS` order: codes, not labels; times in ISO 8601 UTC.

    Reads ``batch`` rows at a time from one ordered query (a server-side cursor on
    PostgreSQL), so any number of rows streams in constant memory.

    Raises:
        Forbidden: (on the first row) the actor is not platform staff.
    """
    require_staff(actor)
    # The clocks compliance() counts: resolve clocks stopped in the period, and
    # those still running at its end that were already past due (and not paused).
    outcome = sa.case((SlaClock.stopped_at.is_(None), sla.Outcome.BREACHED.value),
                      else_=_outcome_case("resolve"))

    def code(column: Any) -> Any:
        # The stored code as it is: no enum object made and turned back into text.
        return sa.type_coerce(column, sa.String)

    query = (
        sa.select(LegalRequest.reference, LegalRequest.jurisdiction, Agency.name,
                  code(LegalRequest.category), code(LegalRequest.priority),
                  report_sql.iso_time(LegalRequest.received_at), code(LegalRequest.state),
                  sa.func.coalesce(code(LegalRequest.resolution), ""),
                  report_sql.iso_time(SlaClock.due_at), report_sql.iso_time(SlaClock.stopped_at),
                  outcome, SlaClock.policy_code, SlaClock.source)
        .join(LegalRequest, LegalRequest.id == SlaClock.request_id)
        .join(Agency, Agency.id == LegalRequest.agency_id)
        .where(
            SlaClock.target == "resolve",
            sa.or_(
                sa.and_(SlaClock.stopped_at >= start, SlaClock.stopped_at < end),
                sa.and_(SlaClock.open_due_at < end, SlaClock.paused_at.is_(None)),
            ),
        )
    )
    # The driver's rows, not SQLAlchemy's: a large export spent half its time building
    # Row objects and aware datetimes only to write them out as text again.
    if report_sql.dialect() == "sqlite" and _period_holds_most_clocks(start, end):
        # SQLite cannot tell how much of an index a range covers, and takes the period's
        # two indexes whatever it holds. When the period holds most resolve clocks, one
        # pass over the table in id order is half the time (100,000 rows: 360 ms against
        # 730) and needs no sort; for a short period out of years the indexes win.
        query = query.with_hint(SlaClock, "NOT INDEXED", "sqlite")
    if report_sql.dialect() == "postgresql":
        # One hash join over the period's clocks; parallel workers only added their
        # start-up and a merge (for this transaction). With the default work_mem (4 MB)
        # the hash ran in two batches and the sort of 100,000 rows went to disk (18 MB).
        db.session.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    # One query read ``batch`` rows at a time through a server-side cursor on PostgreSQL
    # (SQLite's cursor reads as it goes): keyset batches of 10,000 were an index walk
    # and 10,000 primary-key lookups each, 620 ms for 100,000 rows against 370 ms.
    # The rows come out of the database as the export's text (times formatted there
    # too: formatting them here was a sixth of a 100,000-row export).
    with report_sql.streamed(query.order_by(SlaClock.id)) as cursor:
        while rows := cursor.fetchmany(batch):
            yield from rows
