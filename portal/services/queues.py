"""Read-only queries behind the reviewer's queue and workspace and the liaison dashboard.

Nothing here changes the database. Every list is paginated and loads what it shows in a
few statements whatever its length (the request rows with their agency and reviewer,
then one :func:`portal.services.reports.clock_statuses` call for the SLA readings).

The queue and the dashboard walk running clocks in deadline order through
``SlaClock.open_due_at`` (NULL once a clock stops, with a partial index), so closed
history never enters their queries and a page reads only its own rows. Their counts
(per tab, per band) still read every open request or running clock once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import ColumnElement

from portal.extensions import db
from portal.models import Agency, Event, LegalRequest, Message, RequestItem, SlaClock, User
from portal.models.columns import UTCDateTime
from portal.services import access
from portal.services.actors import Actor
from portal.services.errors import Forbidden, NotFound
from portal.services.lifecycle import item_tally as _item_tally
from portal.services.lifecycle import tally_of
from portal.services.listing import page_number
from portal.services.reports import Band, ClockStatus, clock_statuses
from workflows.decisions import Decision, ItemTally
from workflows.roles import Role
from workflows.states import OPEN_STATES, RequestState

T = TypeVar("T")

#: Rows per page of the queue and the dashboard, and items per page of the workspace.
QUEUE_PAGE_SIZE = 50
DASHBOARD_PAGE_SIZE = 50
ITEMS_PAGE_SIZE = 100
#: Newest events and messages the workspace shows (the rest stay on the record).
HISTORY_LIMIT = 100
#: Thresholds per policy the band expression looks at (the defaults have four).
MAX_THRESHOLDS = 6
#: The clocks that say how long the platform has left to answer: ``resolve`` until the
#: request is actioned or closed, ``dispute`` while a dispute is open (never both running).
ANSWER_TARGETS = ("resolve", "dispute")
#: Filter value for items without a decision.
PENDING = "pending"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list; ``number`` counts from 1."""

    rows: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first row shown (0 when empty)."""
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.size + len(self.rows)


def _offset(page: int, size: int) -> int:
    return (page_number(page) - 1) * size


def _require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise Forbidden("only platform staff see the queues and dashboards")


@dataclass(frozen=True)
class RequestFilters:
    """What a list is narrowed to; ``None`` means any."""

    jurisdiction: str | None = None
    category: str | None = None
    priority: str | None = None
    agency_id: int | None = None
    reviewer_id: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.jurisdiction:
            found.append(LegalRequest.jurisdiction == self.jurisdiction.upper())
        if self.category:
            found.append(LegalRequest.category == self.category)
        if self.priority:
            found.append(LegalRequest.priority == self.priority)
        if self.agency_id is not None:
            found.append(LegalRequest.agency_id == self.agency_id)
        if self.reviewer_id is not None:
            found.append(LegalRequest.assigned_reviewer_id == self.reviewer_id)
        return found


# -- clock standing in SQL --------------------------------------------------------------

def _paused() -> ColumnElement[bool]:
    return SlaClock.paused_at.is_not(None)


def waiting() -> ColumnElement[bool]:
    """A clock paused within its deadline (waiting for the agency): these come last.

    Every other running clock sorts by ``open_due_at`` alone, which already puts the
    breached ones first (their deadline has passed) and keeps a clock that was paused
    after its deadline among them, as :func:`portal.services.reports.band_of` reads it.
    Splitting the order this way lets each part walk the partial index on
    ``open_due_at`` instead of sorting every open clock.
    """
    return sa.and_(_paused(), SlaClock.paused_at < SlaClock.open_due_at)


@dataclass(frozen=True)
class Segment:
    """One part of a list walked in order: its rows, and how many there are (a number
    when known, else a statement that counts them, run only when a page starts past
    the part)."""

    rows: Any
    size: Any


def _walk(segments: Sequence[Segment], *, offset: int, size: int, total: int,
          params: dict[str, Any] | None = None) -> list[Any]:
    """Rows [offset, offset + size) of the segments one after the other.

    Each segment is read with its own LIMIT/OFFSET, so each can walk an index in order;
    a segment is read only if the page reaches it (``total`` says where the list ends).
    """
    found: list[Any] = []
    skip = offset
    for segment in segments:
        if len(found) >= size or offset + len(found) >= total:
            break
        known = segment.size if isinstance(segment.size, int) else None
        if known is not None and skip >= known:
            skip -= known
            continue
        rows = db.session.execute(segment.rows.limit(size - len(found)).offset(skip),
                                  params or {}).all()
        if not rows and skip:
            # The page starts past this segment: count it to know how far past.
            length = known if known is not None else int(
                db.session.scalar(segment.size, params or {}) or 0)
            skip = max(skip - length, 0)
            continue
        found += rows
        skip = 0
    return found


def _quick_cases(now: datetime) -> list[tuple[ColumnElement[bool], str]]:
    """The bands the plain columns settle, without reading the threshold times."""
    return [
        (sa.and_(_paused(), SlaClock.paused_at >= SlaClock.open_due_at), Band.BREACHED.value),
        (_paused(), Band.PAUSED.value),
        (SlaClock.open_due_at <= now, Band.BREACHED.value),
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
    (50/75/90 %) that is exactly the band :func:`reports.band_of` gives its fraction.
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


#: Bands a running clock can be in, in the order the dashboard counts them.
RUNNING_BANDS: tuple[Band, ...] = (
    Band.BREACHED, Band.NINETY, Band.THREE_QUARTERS, Band.HALF, Band.ON_TRACK, Band.PAUSED,
)


# -- the review queue -------------------------------------------------------------------

class QueueTab(StrEnum):
    UNASSIGNED = "unassigned"
    MINE = "mine"
    OPEN = "open"


@dataclass(frozen=True)
class QueueRow:
    """A request in the queue: its items still pending and its answer clock."""

    request: LegalRequest
    pending: int
    clock: ClockStatus | None


@dataclass(frozen=True)
class QueueCounts:
    unassigned: int = 0
    mine: int = 0
    open: int = 0

    def of(self, tab: QueueTab) -> int:
        return int(getattr(self, tab.value))


def _tab_condition(tab: QueueTab, actor: Actor) -> ColumnElement[bool] | None:
    if tab is QueueTab.UNASSIGNED:
        return LegalRequest.assigned_reviewer_id.is_(None)
    if tab is QueueTab.MINE:
        return LegalRequest.assigned_reviewer_id == (actor.user_id or -1)
    return None


def review_queue(
    actor: Actor,
    *,
    tab: QueueTab,
    filters: RequestFilters,
    page: int,
    now: datetime,
    size: int = QUEUE_PAGE_SIZE,
) -> tuple[Page[QueueRow], QueueCounts]:
    """Open requests by time left on their answer clock: breached first, then soonest
    due, paused last; and how many each tab holds under ``filters``.

    Requests with no running answer clock (no policy sets one) come after all others.

    Four statements as a rule: the tab counts, the page's ids in order, those requests
    (with agency and reviewer; pending items from the counts kept on the request row),
    and the clock readings. A page that spans two parts of the order (running, paused,
    without a clock) reads each part it covers, and one that starts past a part counts
    that part first.

    Raises:
        Forbidden: the actor is not platform staff.
    """
    _require_staff(actor)
    where = [LegalRequest.state.in_(OPEN_STATES), *filters.conditions()]
    tabs = {t: _tab_condition(t, actor) for t in QueueTab}
    # Requests, not clocks: an open request has one running answer clock at most, and
    # counting the request rows alone is far cheaper than joining every open clock.
    def how_many(condition: ColumnElement[bool] | None) -> Any:
        if condition is None:
            return sa.func.count()
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    totals = db.session.execute(
        sa.select(*(how_many(tabs[t]) for t in QueueTab)).select_from(LegalRequest).where(*where)
    ).one()
    counts = QueueCounts(**{t.value: int(n) for t, n in zip(QueueTab, totals, strict=True)})
    condition = tabs[tab]
    if condition is not None:
        where.append(condition)
    running = sa.and_(SlaClock.request_id == LegalRequest.id,
                      SlaClock.target.in_(ANSWER_TARGETS), SlaClock.open_due_at.is_not(None))
    by_deadline = (SlaClock.open_due_at, SlaClock.id)

    # The walk selects ids only and the page's 50 requests are loaded afterwards: the
    # planner may sort every matching row before the LIMIT, and narrow rows without
    # joins sort several times faster (PostgreSQL: 17 ms -> 8 ms over 2,500 rows).
    def clocked(*more: ColumnElement[bool]) -> Segment:
        rows = (sa.select(LegalRequest.id, SlaClock.target).join(SlaClock, running)
                .where(*where, *more).order_by(*by_deadline))
        count = (sa.select(sa.func.count()).select_from(LegalRequest).join(SlaClock, running)
                 .where(*where, *more))
        return Segment(rows, count)

    without_clock = sa.not_(sa.exists().where(running))
    rows = _walk(
        [
            clocked(sa.not_(waiting())),
            clocked(waiting()),
            # Open requests no policy sets a deadline for: last, oldest first.
            Segment(
                sa.select(LegalRequest.id, sa.null().label("target"))
                .where(*where, without_clock)
                .order_by(LegalRequest.received_at, LegalRequest.id),
                sa.select(sa.func.count()).select_from(LegalRequest)
                .where(*where, without_clock),
            ),
        ],
        offset=_offset(page, size), size=size, total=counts.of(tab),
    )
    ids = [request_id for request_id, _ in rows]
    loaded = {req.id: req for req in db.session.scalars(
        sa.select(LegalRequest).where(LegalRequest.id.in_(ids)).options(
            joinedload(LegalRequest.agency), joinedload(LegalRequest.assigned_reviewer)))
    } if ids else {}
    statuses = clock_statuses(ids, now)
    found = [
        QueueRow(req, int((req.decision_counts or {}).get(PENDING, 0)),
                 _status(statuses.get(req.id, []), target) if target else None)
        # Requests are never deleted, so every id walked is loaded.
        for req, target in ((loaded[request_id], target) for request_id, target in rows)
    ]
    return Page(found, page_number(page), size, counts.of(tab)), counts


def _status(statuses: Sequence[ClockStatus], target: str) -> ClockStatus | None:
    return next((s for s in statuses if s.target == target), None)


# -- the reviewer's workspace -----------------------------------------------------------

def decision_filter_values() -> tuple[str, ...]:
    """Values the item list can be filtered by: pending, then each decision."""
    return (PENDING, *(d.value for d in Decision))


def _item_conditions(request_id: int, decision: str, text: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [RequestItem.request_id == request_id]
    if decision == PENDING:
        where.append(RequestItem.decision.is_(None))
    elif decision in Decision._value2member_map_:
        where.append(RequestItem.decision == Decision(decision))
    if text.strip():
        where.append(RequestItem.target.icontains(text.strip(), autoescape=True))
    return where


@dataclass(frozen=True)
class Workspace:
    """Everything the reviewer's page of one request shows."""

    request: LegalRequest
    clocks: list[ClockStatus]
    tally: ItemTally
    #: Items per decision code; ``"pending"`` for those not decided yet.
    counts: dict[str, int]
    items: Page[RequestItem]
    #: How many items match the current filter (all pages).
    matching: int
    events: list[Event]
    earlier_events: int
    messages: list[Message]
    earlier_messages: bool
    #: Message bodies by id, for the timeline's message and note events.
    message_bodies: dict[int, Message] = field(default_factory=dict)


def _visible(actor: Actor, reference: str) -> LegalRequest:
    req = db.session.scalars(
        access.visible_requests(actor)
        .where(LegalRequest.reference == reference)
        .options(joinedload(LegalRequest.agency), joinedload(LegalRequest.filed_by),
                 joinedload(LegalRequest.assigned_reviewer))
    ).first()
    if req is None:
        raise NotFound(f"no request {reference!r}")
    return req


def workspace(
    actor: Actor,
    reference: str,
    *,
    decision: str = "",
    text: str = "",
    page: int = 1,
    now: datetime,
    size: int = ITEMS_PAGE_SIZE,
    history: int = HISTORY_LIMIT,
) -> Workspace:
    """The request with its clocks, item counts, one page of items under a filter, and
    its newest events and messages (internal notes included: staff only).

    A constant number of statements, whatever the number of items.

    Raises:
        Forbidden: the actor is not platform staff.
        NotFound: no such request.
    """
    _require_staff(actor)
    req = _visible(actor, reference)
    statuses = clock_statuses([req.id], now).get(req.id, [])
    # Kept on the request row by every service that decides items.
    counts = {code: int(n) for code, n in (req.decision_counts or {}).items() if n}
    tally = tally_of(counts)
    where = _item_conditions(req.id, decision, text)
    if text.strip():
        matching = db.session.scalar(
            sa.select(sa.func.count()).select_from(RequestItem).where(*where)) or 0
    elif decision in decision_filter_values():
        matching = counts.get(decision, 0)
    else:
        matching = tally.total
    # A page past the end (items decided away from the filter) shows the last one.
    page = min(max(page, 1), max(1, math.ceil(matching / size)))
    items = list(db.session.scalars(
        sa.select(RequestItem).where(*where).order_by(RequestItem.position)
        .limit(size).offset(_offset(page, size))
    ))
    events = list(db.session.scalars(
        sa.select(Event).where(Event.request_id == req.id)
        .options(joinedload(Event.actor))
        .order_by(Event.seq.desc()).limit(history)
    ))
    events.reverse()
    messages = list(db.session.scalars(
        sa.select(Message).where(Message.request_id == req.id)
        .options(joinedload(Message.author))
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(history + 1)
    ))
    earlier_messages = len(messages) > history
    messages = messages[:history]
    messages.reverse()
    return Workspace(
        request=req, clocks=statuses, tally=tally, counts=counts,
        items=Page(items, page, size, matching), matching=matching,
        events=events, earlier_events=max(req.event_count - len(events), 0),
        messages=messages, earlier_messages=earlier_messages,
        message_bodies={m.id: m for m in messages},
    )


def matching_item_ids(actor: Actor, reference: str, *, decision: str = "",
                      text: str = "") -> list[int]:
    """Ids of every item of the request matching the filter, in list order.

    Raises:
        Forbidden: the actor is not platform staff.
        NotFound: no such request.
    """
    _require_staff(actor)
    req = access.get_request(actor, reference)
    return list(db.session.scalars(
        sa.select(RequestItem.id).where(*_item_conditions(req.id, decision, text))
        .order_by(RequestItem.position)
    ))


def item_tally(actor: Actor, reference: str) -> ItemTally:
    """Counts of the request's items by decision state (for explaining a refusal).

    Raises:
        NotFound: no such request visible to the actor.
    """
    return _item_tally(access.get_request(actor, reference).id)


def latest_event(actor: Actor, reference: str, kind: str) -> Event | None:
    """The request's newest event of ``kind``, if any.

    Raises:
        NotFound: no such request visible to the actor.
    """
    req = access.get_request(actor, reference)
    return db.session.scalars(
        sa.select(Event).where(Event.request_id == req.id, Event.kind == kind)
        .order_by(Event.seq.desc()).limit(1)
    ).first()


# -- the liaison's SLA dashboard --------------------------------------------------------

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
        (sa.and_(_paused(), clock.paused_at >= clock.open_due_at), Band.BREACHED.value),
        (_paused(), Band.PAUSED.value),
        (clock.open_due_at <= now, Band.BREACHED.value),
        (sa.and_(settled, clock.fired == 0), Band.ON_TRACK.value),
        (settled, "settled"),
        else_="unswept",
    ).label("case")
    # Only settled clocks need their thresholds; grouping every clock by a JSON value
    # was half of this query's time on PostgreSQL.
    thresholds_if_settled = sa.case(
        (sa.and_(sa.not_(_paused()), clock.open_due_at > now, settled, clock.fired > 0),
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
        rest = _band_counts([clock.open_due_at > now, clock.paused_at.is_(None),
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
    page: int,
    now: datetime,
    size: int = DASHBOARD_PAGE_SIZE,
) -> tuple[Page[DashboardRow], dict[str, int]]:
    """Every running clock of every open request, by time left (breached first, paused
    last), optionally only those in ``band``; and the count of clocks per band under
    ``filters`` (``band`` aside).

    Three statements: the band counts, the page (two when it spans the running and the
    paused clocks), the clock readings.

    Raises:
        Forbidden: the actor is not platform staff.
    """
    _require_staff(actor)
    # A clock runs only while its request is open (services/clocks.CLOCK_EFFECTS stops
    # each one on the way out), so the requests are joined only to filter on them.
    conditions = filters.conditions()
    where = [SlaClock.open_due_at.is_not(None), *conditions]

    counts = {b.value: 0 for b in RUNNING_BANDS}
    if conditions:
        counts.update(_band_counts(where, now, join_requests=True))
    else:
        counts.update(_band_counts_unfiltered(now))
    paused = counts[Band.PAUSED.value]
    total = sum(counts.values())
    if band:
        where.append(band_expression(now) == band)
        total = counts.get(band, 0)
        paused = total if band == Band.PAUSED.value else 0
    query = (
        sa.select(LegalRequest, SlaClock.target)
        .join(SlaClock, SlaClock.request_id == LegalRequest.id)
        .where(*where)
        .options(joinedload(LegalRequest.agency), joinedload(LegalRequest.assigned_reviewer))
        .order_by(SlaClock.open_due_at, SlaClock.id)
    )
    rows = _walk(
        [Segment(query.where(sa.not_(waiting())), total - paused),
         Segment(query.where(waiting()), paused)],
        offset=_offset(page, size), size=size, total=total, params=band_params(now))
    statuses = clock_statuses(sorted({req.id for req, _ in rows}), now)
    found = []
    for req, target in rows:
        status = _status(statuses.get(req.id, []), target)
        if status is not None:
            found.append(DashboardRow(req, status))
    return Page(found, max(page, 1), size, total), counts


def awaiting_close(actor: Actor, *, limit: int = 20) -> tuple[list[LegalRequest], int]:
    """Actioned requests not closed yet, oldest outcome first, and how many there are.

    Raises:
        Forbidden: the actor is not platform staff.
    """
    _require_staff(actor)
    condition = LegalRequest.state == RequestState.ACTIONED
    total = db.session.scalar(
        sa.select(sa.func.count()).select_from(LegalRequest).where(condition)) or 0
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
    _require_staff(actor)
    agencies = db.session.execute(
        sa.select(Agency.id, Agency.name, Agency.country).order_by(Agency.name, Agency.id)
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


# -- compliance export ------------------------------------------------------------------

EXPORT_COLUMNS: tuple[str, ...] = (
    "reference", "jurisdiction", "agency", "category", "priority", "received_at", "state",
    "resolution", "resolve_due_at", "stopped_at", "outcome", "policy", "source",
)


def export_rows(actor: Actor, start: datetime, end: datetime, *,
                batch: int = 2_000) -> Iterator[tuple[str, ...]]:
    """One row per request counted in the compliance of [start, end), as text in
    :data:`EXPORT_COLUMNS` order: codes, not labels; times in ISO 8601 UTC.

    Reads ``batch`` rows at a time (keyset on the clock id), so any number of rows
    streams in constant memory.

    Raises:
        Forbidden: (on the first row) the actor is not platform staff.
    """
    _require_staff(actor)
    # The clocks reports.compliance counts: resolve clocks stopped in the period, and
    # those still running at its end that were already past due (and not paused).
    query = (
        sa.select(SlaClock.id, LegalRequest.reference, LegalRequest.jurisdiction, Agency.name,
                  LegalRequest.category, LegalRequest.priority, LegalRequest.received_at,
                  LegalRequest.state, LegalRequest.resolution, SlaClock.due_at,
                  SlaClock.stopped_at, SlaClock.policy_code, SlaClock.source)
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
    last_id = 0
    while True:
        rows = db.session.execute(
            query.where(SlaClock.id > last_id).order_by(SlaClock.id).limit(batch)
        ).all()
        if not rows:
            return
        for (_, reference, jurisdiction, agency, category, priority, received_at, state,
             resolution, due_at, stopped_at, policy, source) in rows:
            outcome = "met" if stopped_at is not None and stopped_at < due_at else "breached"
            yield (
                reference, jurisdiction, agency, category.value, priority.value,
                received_at.isoformat(), state.value, resolution.value if resolution else "",
                due_at.isoformat(), stopped_at.isoformat() if stopped_at else "", outcome,
                policy, source,
            )
        last_id = rows[-1][0]
