"""The platform liaison's SLA dashboard: every running clock of every open request by
time left, counted per band, with the filters to narrow it; and the actioned requests
waiting to be closed.

Read-only. The dashboard walks running clocks in deadline order through
``SlaClock.open_due_at`` (NULL once a clock stops, with a partial index), so closed
history never enters its queries and a page reads only its own rows (keyset pages, read
from a cursor). Bands are computed
by the database (:func:`portal.services.reports.band_expression`). The dashboard's
band counts are bounded (:func:`bounded_band_counts`: at most ``BAND_COUNT_LIMIT``
clocks read per walk, a count past it shown as a floor, "500+"); the exact totals over
every running clock (/metrics, the liaison's start page) come from a covering index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import ColumnElement

from portal.extensions import db
from portal.models import Agency, LegalRequest, SlaClock, User, VerificationStatus
from portal.services.access import require_staff
from portal.services.actors import Actor
from portal.services.paging import AnySelect, Keyset, Page, Position, as_position, keyset_page
from portal.services.reports import (
    WAITING_INDEX_HINT,
    Band,
    ClockStatus,
    band_expression,
    band_params,
    clock_of,
    clock_paused,
    clock_statuses,
    waiting,
)
from portal.services.request_filters import RequestFilters
from workflows.roles import Role
from workflows.states import RequestState

#: Rows per page of the dashboard.
DASHBOARD_PAGE_SIZE = 50
#: The count of actioned requests awaiting close stops here ("more than 1,000").
CLOSE_COUNT_CAP = 1000

#: Each of the dashboard's band-count walks reads at most this many clocks (+1): past
#: it a count shows as a floor ("500+"), so a view costs the same with 100,000 running
#: clocks as with 500. Computing the band of a clock not due yet costs ~10 µs on
#: PostgreSQL when the worker is behind (threshold times read from JSON): 500 of them
#: stay within ~5 ms.
BAND_COUNT_LIMIT = 500

#: Bands a running clock can be in, in the order the dashboard counts them.
RUNNING_BANDS: tuple[Band, ...] = (
    Band.BREACHED, Band.NINETY, Band.THREE_QUARTERS, Band.HALF, Band.ON_TRACK, Band.PAUSED,
)


class BandCounts(dict[str, int]):
    """Running clocks per band; ``capped`` names the bands whose count is a floor (more
    clocks may be in them than were counted: shown as "n+")."""

    def __init__(self, counts: dict[str, int], capped: frozenset[str] = frozenset()):
        super().__init__(counts)
        self.capped = capped

    def is_capped(self, band: str) -> bool:
        return band in self.capped

    def uncounted(self, band: str) -> bool:
        """Whether the walk stopped before it reached any clock of ``band`` (a floor of
        0 says nothing: shown as "not counted", not "0+")."""
        return band in self.capped and not self.get(band, 0)

    @property
    def any_uncounted(self) -> bool:
        return any(self.uncounted(band) for band in self.capped)


@dataclass(frozen=True)
class DashboardRow:
    """One running clock of an open request."""

    request: LegalRequest
    clock: ClockStatus


def _band_counts(where: list[ColumnElement[bool]], now: datetime, *,
                 join_requests: bool) -> dict[str, int]:
    """Clocks per band, the band computed for every clock that ``where`` selects."""
    reading = sa.select(band_expression(now).label("band")).select_from(SlaClock)
    if join_requests:
        reading = reading.join(LegalRequest, LegalRequest.id == SlaClock.request_id)
    banded = reading.where(*where).subquery()
    return {str(name): int(n) for name, n in db.session.execute(
        sa.select(banded.c.band, sa.func.count()).group_by(banded.c.band), band_params(now))}


def bounded_band_counts(conditions: list[ColumnElement[bool]], now: datetime) -> BandCounts:
    """Clocks per band under ``conditions`` (on the requests), each of three index walks
    reading at most ``BAND_COUNT_LIMIT`` + 1 clocks, whatever the backlog: the breached
    ones (a clock that does not wait for the agency is breached exactly when its
    deadline has passed), those not due yet (in deadline order, their band computed),
    and those waiting for the agency. A walk that stops at its limit makes the counts it
    gives floors (``capped``).
    """
    limit = BAND_COUNT_LIMIT

    # The range on open_due_at says the clock runs: "open_due_at IS NOT NULL" beside it
    # made PostgreSQL multiply the two selectivities (531 clocks not due yet expected,
    # 4,984 found at 1M requests) and sort every one instead of walking the index.
    def walk(*more: ColumnElement[bool]) -> AnySelect:
        query = sa.select(SlaClock.id).where(*conditions, *more)
        if conditions:
            query = query.join(LegalRequest, LegalRequest.id == SlaClock.request_id)
        return query.limit(limit + 1)

    def how_many(query: AnySelect) -> Any:
        return sa.select(sa.func.count()).select_from(query.subquery()).scalar_subquery()

    not_waiting = sa.not_(waiting())
    # Each walk in deadline order, though a count needs none: without it PostgreSQL
    # counted the waiting clocks from a bitmap of the whole partial index (24,921 entries
    # at 1M requests, growing with them) and the breached ones by a scan of the table in
    # storage order, which stops early only while running clocks are spread through it
    # (the oldest rows, stopped long ago, come first in a real table).
    waiting_walk = (walk(SlaClock.open_due_at.is_not(None), waiting())
                    .order_by(SlaClock.open_due_at, SlaClock.id)
                    .with_hint(SlaClock, WAITING_INDEX_HINT, "sqlite"))
    # (By deadline alone: the covering index of the bands serves that order.)
    breached_walk = walk(not_waiting, SlaClock.open_due_at < now).order_by(
        SlaClock.open_due_at)
    ahead = (walk(not_waiting, SlaClock.open_due_at >= now)
             .add_columns(band_expression(now).label("band"))
             .order_by(SlaClock.open_due_at, SlaClock.id).subquery())
    middle = [b for b in RUNNING_BANDS if b not in (Band.BREACHED, Band.PAUSED)]
    # One statement: the two counts, and the bands of the clocks not due yet.
    found = db.session.execute(sa.select(
        how_many(breached_walk), how_many(waiting_walk),
        *(sa.func.count().filter(ahead.c.band == b.value) for b in middle),
    ).select_from(ahead), band_params(now)).one()
    counts = {Band.BREACHED.value: int(found[0]), Band.PAUSED.value: int(found[1]),
              **{b.value: int(n) for b, n in zip(middle, found[2:], strict=True)}}
    capped = {name for name in (Band.BREACHED.value, Band.PAUSED.value)
              if counts[name] > limit}
    if sum(counts[b.value] for b in middle) > limit:
        capped |= {b.value for b in middle}
    return BandCounts(counts, frozenset(capped))


def open_clocks_by_band(now: datetime) -> dict[str, int]:
    """Every running clock, counted by band, exactly (/metrics; the dashboard and the
    liaison's start page bound their counts, see :func:`bounded_band_counts`)."""
    return _band_counts_unfiltered(now)


def _band_counts_unfiltered(now: datetime) -> dict[str, int]:
    """Clocks per band over every running clock, from the covering index alone.

    Most clocks are settled by plain columns: paused, past due, or (while the worker
    sweeps) with their next threshold still ahead, so the highest threshold fired gives
    the band. Those are counted by (kind of case, fired, thresholds) without reading the
    rows; only clocks the worker has not swept since a threshold passed go through the
    full expression. Same answers as :func:`band_expression`, in a few milliseconds
    instead of a read of every running clock.
    """
    clock = SlaClock
    settled = clock.next_alert_at > now
    case = sa.case(
        (sa.and_(clock_paused(), clock.paused_at > clock.open_due_at), Band.BREACHED.value),
        (clock_paused(), Band.PAUSED.value),
        # Reaching the deadline is within it: breached only once it has passed.
        (clock.open_due_at < now, Band.BREACHED.value),
        (sa.and_(settled, clock.fired == 0), Band.ON_TRACK.value),
        (settled, "settled"),
        else_="unswept",
    ).label("case")
    # Only settled clocks need their thresholds; grouping every clock by a JSON value
    # was half of this query's time on PostgreSQL.
    thresholds_if_settled = sa.case(
        (sa.and_(sa.not_(clock_paused()), clock.open_due_at >= now, settled, clock.fired > 0),
         clock.thresholds),
        else_=sa.null(),
    ).label("settled_thresholds")
    counts: dict[str, int] = {}
    unswept = 0
    for name, fired, thresholds, n in db.session.execute(
        sa.select(case, clock.fired, thresholds_if_settled, sa.func.count())
        .where(clock.open_due_at.is_not(None))
        .group_by(case, clock.fired, thresholds_if_settled)
    ):
        if name == "unswept":
            unswept += int(n)
            continue
        if name == "settled":
            highest = float(thresholds[int(fired) - 1])
            name = (Band.NINETY.value if highest >= 0.9 else
                    Band.THREE_QUARTERS.value if highest >= 0.75 else
                    Band.HALF.value if highest >= 0.5 else Band.ON_TRACK.value)
        counts[str(name)] = counts.get(str(name), 0) + int(n)
    if unswept:
        rest = _band_counts([clock.open_due_at >= now, clock.paused_at.is_(None),
                             sa.or_(clock.next_alert_at.is_(None),
                                    clock.next_alert_at <= now)],
                            now, join_requests=False)
        for name, n in rest.items():
            counts[name] = counts.get(name, 0) + n
    return counts


def sla_dashboard(
    actor: Actor,
    *,
    filters: RequestFilters,
    band: str | None = None,
    page: int | Position,
    now: datetime,
    size: int = DASHBOARD_PAGE_SIZE,
) -> tuple[Page[DashboardRow], BandCounts]:
    """Every running clock of every open request, by time left (breached first, paused
    last), optionally only those in ``band``; and the count of clocks per band under
    ``filters`` (``band`` aside), bounded (:class:`BandCounts`, ``BAND_COUNT_LIMIT``).

    ``page`` is a keyset position (:func:`portal.services.paging.position_of`; a page
    number from an old link is still served). Three statements: the band counts (one,
    three bounded walks), the page (two when it spans the running and the paused clocks:
    an index walk of one page in each, the last page as cheap as the first), the clock
    readings.

    Raises:
        Forbidden: the actor is not platform staff.
    """
    require_staff(actor)
    # A clock runs only while its request is open (services/clocks.CLOCK_EFFECTS stops
    # each one on the way out), so the requests are joined only to filter on them.
    conditions = filters.conditions()
    where = [SlaClock.open_due_at.is_not(None), *conditions]

    counts = bounded_band_counts(conditions, now)
    # Not shown as a length when a count it adds up is only a floor.
    total: int | None = None if counts.capped else sum(counts.values())
    if band:
        where.append(band_expression(now) == band)
        total = None if counts.is_capped(band) else counts.get(band, 0)
    query = (
        sa.select(LegalRequest, SlaClock.target)
        .join(SlaClock, SlaClock.request_id == LegalRequest.id)
        .where(*where)
        .options(joinedload(LegalRequest.agency), joinedload(LegalRequest.assigned_reviewer))
    )
    by_deadline = (SlaClock.open_due_at, SlaClock.id)
    counted = sa.select(sa.func.count()).select_from(SlaClock).join(
        LegalRequest, SlaClock.request_id == LegalRequest.id).where(*where)
    walked = keyset_page(
        [Keyset(query.where(sa.not_(waiting())), by_deadline),
         Keyset(query.where(waiting()).with_hint(SlaClock, WAITING_INDEX_HINT, "sqlite"),
                by_deadline)],
        as_position(page), size, total=total, params=band_params(now),
        counts=[counted.where(sa.not_(waiting())), counted.where(waiting())])
    rows = walked.rows
    statuses = clock_statuses(sorted({req.id for req, _ in rows}), now)
    found = []
    for req, target in rows:
        status = clock_of(statuses.get(req.id, []), target)
        if status is not None:
            found.append(DashboardRow(req, status))
    return walked.with_rows(found), counts


def awaiting_close(actor: Actor, *, limit: int = 20) -> tuple[list[LegalRequest], int]:
    """Actioned requests not closed yet, oldest outcome first, and how many there are,
    counted up to ``CLOSE_COUNT_CAP + 1`` (more shows as "more than 1,000": an index walk
    of at most that many rows, not of every actioned request).

    Raises:
        Forbidden: the actor is not platform staff.
    """
    require_staff(actor)
    condition = LegalRequest.state == RequestState.ACTIONED
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        sa.select(sa.literal(1)).select_from(LegalRequest).where(condition)
        .limit(CLOSE_COUNT_CAP + 1).subquery())) or 0
    rows = list(db.session.scalars(
        sa.select(LegalRequest).where(condition)
        .options(joinedload(LegalRequest.agency), joinedload(LegalRequest.assigned_reviewer))
        .order_by(LegalRequest.actioned_at, LegalRequest.id).limit(limit)
    ))
    return rows, int(total)


@dataclass(frozen=True)
class FilterChoices:
    agencies: list[tuple[int, str]]
    reviewers: list[tuple[int, str]]


def filter_choices(actor: Actor) -> FilterChoices:
    """Agencies and reviewers to filter by, by name (two small statements).

    Raises:
        Forbidden: the actor is not platform staff.
    """
    require_staff(actor)
    # A rejected registration never filed anything (only a verified agency files, and
    # only a pending one can be rejected): nothing to filter by.
    agencies = db.session.execute(
        sa.select(Agency.id, Agency.name, Agency.country)
        .where(Agency.status != VerificationStatus.REJECTED)
        .order_by(Agency.name, Agency.id)
    ).all()
    reviewers = db.session.execute(
        sa.select(User.id, User.name, User.email)
        .where(User.role == Role.LEGAL_REVIEWER)
        .order_by(User.name, User.email)
    ).all()
    return FilterChoices(
        agencies=[(i, f"{name} ({country})") for i, name, country in agencies],
        reviewers=[(i, name or email) for i, name, email in reviewers],
    )
