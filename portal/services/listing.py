"""Read-only queries behind the request pages: an agency's list of requests, and one
request's items, timeline, messages, documents, clocks and open question.

Nothing here writes. Every function runs a fixed number of statements whatever the number
of rows (pages are fetched with LIMIT, counts with GROUP BY, related rows with joins), so
a page costs the same with five requests or a hundred thousand.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import (
    Agency,
    Event,
    LegalRequest,
    Message,
    RequestItem,
    SlaClock,
    SlaPolicy,
)
from portal.services import reports
from portal.services.access import (
    agency_scope,
    visible_events,
    visible_messages,
    visible_requests,
)
from portal.services.actors import Actor
from portal.services.errors import NotFound
from portal.services.paging import (
    Keyset,
    Page,
    Position,
    as_position,
    count_of,
    keyset_page,
    page_of,
)
from portal.services.request_filters import RequestFilters
from workflows.codes import Category, Priority, RequestedAction
from workflows.decisions import PENDING, Decision
from workflows.states import RequestState, Resolution

#: Page sizes: the list of requests, a request's items, its timeline and its messages.
REQUESTS_PER_PAGE = 50
ITEMS_PER_PAGE = 100
EVENTS_PER_PAGE = 100
MESSAGES_PER_PAGE = 50



# -- the agency's list ------------------------------------------------------------------

def list_requests(actor: Actor, filters: RequestFilters, *, page: int | Position = 1,
                  per_page: int = REQUESTS_PER_PAGE) -> Page[LegalRequest]:
    """The requests ``actor`` may see, newest first, narrowed by ``filters``: the keyset
    page at ``page`` (an index walk of one page, the last page as cheap as the first)."""
    query = visible_requests(actor).where(*filters.conditions())
    newest_first = Keyset(query, (LegalRequest.received_at, LegalRequest.id),
                          descending=frozenset({0, 1}))
    return keyset_page([newest_first], as_position(page), per_page)


#: The agency's "waiting for your answer" view: its requests on which the platform asked
#: a question that only the agency can answer.
WAITING_FOR_AGENCY = RequestFilters(state=RequestState.AWAITING_INFO.value)


def count_requests(actor: Actor, filters: RequestFilters) -> int:
    """How many requests ``actor`` may see that ``filters`` keep (one COUNT query)."""
    return count_of(visible_requests(actor).where(*filters.conditions()))


def requests_after(actor: Actor, filters: RequestFilters, *,
                   updated_since: datetime | None = None, before_id: int | None = None,
                   limit: int) -> tuple[list[LegalRequest], int | None]:
    """Up to ``limit`` requests ``actor`` may see, newest (highest id) first, below
    ``before_id``; and the id to continue below, if more follow (the API's cursor)."""
    query = visible_requests(actor).where(*filters.conditions())
    if updated_since is not None:
        query = query.where(LegalRequest.updated_at >= updated_since)
    if before_id is not None:
        query = query.where(LegalRequest.id < before_id)
    rows = list(db.session.scalars(query.order_by(LegalRequest.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more else None


def resolve_clocks(request_ids: Sequence[int], now: datetime
                   ) -> dict[int, reports.ClockStatus]:
    """The resolve clock of each request, read at ``now`` (one query for the page)."""
    statuses = reports.clock_statuses(list(request_ids), now)
    return {
        request_id: status
        for request_id, found in statuses.items()
        for status in found
        if status.target == "resolve"
    }


# -- one request ------------------------------------------------------------------------

def item_counts(request_id: int) -> dict[str, int]:
    """Items by decision (``pending`` for undecided), as the request row keeps them."""
    counts = db.session.scalar(
        sa.select(LegalRequest.decision_counts).where(LegalRequest.id == request_id))
    return {k: v for k, v in (counts or {}).items() if v}


def decision_filter(decision: str) -> list[sa.ColumnElement[bool]]:
    """The condition on items for a decision filter: ``pending`` for undecided items, a
    decision's code for those with it; an unknown filter (a stale link) keeps every item."""
    if decision == PENDING:
        return [RequestItem.decision.is_(None)]
    if decision in Decision._value2member_map_:
        return [RequestItem.decision == Decision(decision)]
    return []


def items_page(request_id: int, decision: str = "", *, page: int = 1,
               per_page: int = ITEMS_PER_PAGE) -> Page[RequestItem]:
    """A page of the request's items in filing order, optionally only ``pending`` ones
    or those with one decision (an unknown filter shows every item)."""
    query = sa.select(RequestItem).where(RequestItem.request_id == request_id,
                                         *decision_filter(decision))
    return page_of(query.order_by(RequestItem.position), page, per_page)


def items_after(request_id: int, decision: str = "", *, after_position: int | None = None,
                limit: int) -> tuple[list[RequestItem], int | None]:
    """Up to ``limit`` of the request's items in filing order after ``after_position``,
    filtered as :func:`items_page` does; and the position to continue after, if more
    follow (the API's cursor)."""
    query = sa.select(RequestItem).where(RequestItem.request_id == request_id,
                                         *decision_filter(decision))
    if after_position is not None:
        query = query.where(RequestItem.position > after_position)
    rows = list(db.session.scalars(query.order_by(RequestItem.position).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].position if more else None


def all_events(actor: Actor, request_id: int) -> list[Event]:
    """The request's whole timeline as ``actor`` may read it, oldest first."""
    return list(db.session.scalars(
        sa.select(Event).where(Event.request_id == request_id, visible_events(actor))
        .order_by(Event.seq)))


def events_page(actor: Actor, request_id: int, *, page: int = 1,
                per_page: int = EVENTS_PER_PAGE) -> Page[Event]:
    """The request's timeline in order, with each event's actor. Internal notes are for
    staff only: an agency never sees that one was written."""
    query = (
        sa.select(Event).options(joinedload(Event.actor))
        .where(Event.request_id == request_id)
    )
    return page_of(query.where(visible_events(actor)).order_by(Event.seq), page, per_page)


def messages_page(actor: Actor, request_id: int, *, page: int = 1,
                  per_page: int = MESSAGES_PER_PAGE) -> Page[Message]:
    """The request's messages, oldest first, with their authors; no internal notes for
    agencies."""
    query = (
        sa.select(Message).options(joinedload(Message.author))
        .where(Message.request_id == request_id)
    )
    return page_of(query.where(visible_messages(actor)).order_by(Message.created_at, Message.id),
                   page, per_page)


#: The request's columns in the API's detail, and its clocks' (what clocks.readings
#: shows: a reading needs the deadline and the pause and stop times, not the run's
#: thresholds, alert times or bounds, JSON parsed on every read).
_REQUEST_COLUMNS = (
    "id", "reference", "agency_id", "state", "resolution", "category", "priority",
    "jurisdiction", "received_at", "updated_at", "item_count", "version", "legal_statute",
    "legal_article", "issuing_authority", "order_reference", "order_date", "description",
    "decision_counts", "actioned_at", "closed_at", "disputed_at", "second_channel_notices",
    "out_of_band_confirmed_at", "requested_action", "receipt_confirmed_at",
    "assigned_reviewer_id")
_CLOCK_COLUMNS = (
    "target", "policy_code", "source", "kind", "resume", "due_at", "paused_at",
    "stopped_at", "force_majeure", "matches", "pause_reason", "clamped")


class DetailRequest(NamedTuple):
    """The request's columns as the detail reads them, and its agency's name."""

    id: int
    reference: str
    agency_id: int
    state: RequestState
    resolution: Resolution | None
    category: Category
    priority: Priority
    jurisdiction: str
    received_at: datetime
    updated_at: datetime
    item_count: int
    version: int
    legal_statute: str
    legal_article: str
    issuing_authority: str
    order_reference: str
    order_date: date | None
    description: str
    decision_counts: dict[str, int]
    actioned_at: datetime | None
    closed_at: datetime | None
    disputed_at: datetime | None
    second_channel_notices: int | None
    out_of_band_confirmed_at: datetime | None
    requested_action: RequestedAction | None
    receipt_confirmed_at: datetime | None
    assigned_reviewer_id: int | None
    agency_name: str


class DetailClock(NamedTuple):
    """One clock's columns as a reading needs them."""

    target: str
    policy_code: str
    source: str
    kind: str
    resume: str
    due_at: datetime
    paused_at: datetime | None
    stopped_at: datetime | None
    force_majeure: bool
    matches: Any
    pause_reason: str | None
    clamped: bool


@dataclass(frozen=True)
class _DetailRead:
    """The detail's query compiled once for a dialect: its SQL, its parameters' order
    and each column's result processor (SQLAlchemy's own: enums, UTC times, JSON)."""

    sql: str
    positions: tuple[str, ...] | None
    processors: tuple[Any, ...]


@functools.lru_cache(maxsize=16)  # per engine's dialect (tests build many)
def _detail_read(dialect: sa.engine.Dialect, scoped: bool) -> _DetailRead:
    """The request, its agency's name and its clocks (outer-joined: up to three rows) in
    one query; ``scoped``, only if it belongs to the agency ``:agency_id``. Compiled once
    per dialect and kind."""
    r, c = LegalRequest.__table__.c, SlaClock.__table__.c
    columns = [*(r[name] for name in _REQUEST_COLUMNS),
               Agency.__table__.c.name.label("agency_name"),
               *(c[name] for name in _CLOCK_COLUMNS)]
    query = (
        sa.select(*columns)
        .select_from(LegalRequest.__table__.join(Agency.__table__)
                     .outerjoin(SlaClock.__table__))
        .where(r.reference == sa.bindparam("reference"))
        .order_by(c.id)
    )
    if scoped:
        query = query.where(r.agency_id == sa.bindparam("agency_id"))
    compiled = query.compile(dialect=dialect)
    processors = tuple(column.type._cached_result_processor(dialect, None)
                       for column in columns)
    positions = tuple(compiled.positiontup) if compiled.positiontup else None
    return _DetailRead(str(compiled), positions, processors)


def _processed(values: Sequence[Any], processors: Sequence[Any]) -> list[Any]:
    return [value if convert is None or value is None else convert(value)
            for value, convert in zip(values, processors, strict=True)]


@dataclass(frozen=True)
class Detail:
    """A request as the API's detail shows it: its columns (``request``) and clocks."""

    request: DetailRequest
    clocks: list[DetailClock]


def request_detail(actor: Actor, reference: str) -> Detail:
    """The request ``reference`` with its agency's name and its SLA clocks, in one query.

    Raises:
        NotFound: no such request, or another agency's (never confirmed).
    """
    # Who may see it is access's rule, applied as a parameter of the prepared query.
    scope = agency_scope(actor)
    # On a connection of its own, not through the ORM session: the session's transaction
    # and its teardown cost as much as the query. The rows are read whole before the
    # connection goes back to the pool; anything read later in the call (the guards'
    # counts) sees the database as committed by then, as each statement under
    # PostgreSQL's READ COMMITTED always did.
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # One statement needs no transaction around it: psycopg sent BEGIN before it
            # and the pool ROLLBACK after it, two round trips of four. (SQLite begins no
            # transaction for a read, and would run a PRAGMA to set the level back.)
            connection.execution_options(isolation_level="AUTOCOMMIT")
        read = _detail_read(connection.dialect, scope is not None)
        params: dict[str, Any] = {"reference": reference, "agency_id": scope}
        # The compiled SQL on the DB-API cursor (the engine's cursor events do not see
        # it; nothing in the portal listens to them): the request's columns repeat on
        # each clock's row, and SQLAlchemy's execution converted every column of every
        # row (times parsed, JSON decoded, enums looked up) and built its result: 40 %
        # of this read. Here the request's are converted once and each clock's own.
        cursor = connection.connection.cursor()
        try:
            cursor.execute(read.sql, tuple(params[name] for name in read.positions)
                           if read.positions is not None else params)
            rows = cursor.fetchall()
        finally:
            cursor.close()
    if not rows:
        raise NotFound(f"no request {reference!r}")
    split = len(_REQUEST_COLUMNS) + 1
    request = DetailRequest(*_processed(rows[0][:split], read.processors[:split]))
    clocks = [DetailClock(*_processed(row[split:], read.processors[split:]))
              for row in rows if row[split] is not None]
    return Detail(request, clocks)


@dataclass(frozen=True)
class Question:
    """The clarification the platform asked for, and when."""

    text: str
    asked_at: datetime


def open_question(req: LegalRequest) -> Question | None:
    """The question the request is waiting on, while it is ``awaiting_info``."""
    if req.state is not RequestState.AWAITING_INFO:
        return None
    event = db.session.scalar(
        sa.select(Event)
        .where(Event.request_id == req.id, Event.trigger == "request_info")
        .order_by(Event.seq.desc()).limit(1)
    )
    if event is None:
        return None
    return Question(str(event.payload.get("question", "")), event.created_at)


@dataclass(frozen=True)
class ClockDetail:
    """One SLA clock of a request as the request page shows it."""

    status: reports.ClockStatus
    policy_name: str
    source_url: str


#: The order clocks are shown in.
_TARGET_ORDER = {"acknowledge": 0, "resolve": 1, "dispute": 2}


def clock_details(request_id: int, now: datetime) -> list[ClockDetail]:
    """Every clock of the request, read at ``now``, with the governing policy's name."""
    statuses = reports.clock_statuses([request_id], now).get(request_id, [])
    names = {
        target: (name, url)
        for target, name, url in db.session.execute(
            sa.select(SlaClock.target, SlaPolicy.name, SlaPolicy.source_url)
            .outerjoin(SlaPolicy, SlaPolicy.id == SlaClock.policy_id)
            .where(SlaClock.request_id == request_id)
        )
    }
    details = []
    for status in statuses:
        name, url = names.get(status.target, (None, None))
        details.append(ClockDetail(status, name or status.policy_code, url or ""))
    return sorted(details, key=lambda d: _TARGET_ORDER.get(d.status.target, 9))
