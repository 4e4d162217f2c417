"""The legal reviewer's queue: open requests by time left on their most urgent running
clock, in tabs (unassigned, mine, all open) narrowed by :class:`RequestFilters`.

Read-only. The queue walks running clocks in deadline order through
``SlaClock.open_due_at`` (NULL once a clock stops, with a partial index), so closed
history never enters its queries; pages are keyset pages (read from a cursor, the last
as cheap as the first) and the tab counts are bounded, so a page costs the same with a
backlog of 500 or 500,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql import ColumnElement

from portal.extensions import db
from portal.models import LegalRequest, SlaClock
from portal.models.legal_request import OPEN_CLOCKLESS
from portal.services.access import require_staff
from portal.services.actors import Actor
from portal.services.paging import Keyset, Page, Position, as_position, keyset_page
from portal.services.reports import (
    WAITING_INDEX_HINT,
    ClockStatus,
    clock_of,
    clock_statuses,
    waiting,
)
from portal.services.request_filters import RequestFilters
from workflows.decisions import PENDING
from workflows.states import OPEN_STATES

#: Rows per page of the queue.
QUEUE_PAGE_SIZE = 50
#: Tab counts stop here: a tab with more shows "500+" (see :class:`QueueCounts`).
COUNT_CAP = 500
#: SQLite's index for the unassigned tab's clocks waiting for the agency (see
#: ``reports.WAITING_INDEX_HINT`` for why SQLite is told).
UNASSIGNED_WAITING_INDEX_HINT = "INDEXED BY ix_sla_clocks_unassigned_waiting"


class QueueTab(StrEnum):
    UNASSIGNED = "unassigned"
    MINE = "mine"
    OPEN = "open"


@dataclass(frozen=True)
class QueueRow:
    """A request in the queue: its items still pending and its most urgent running clock
    (an acknowledgement breached before the resolution deadline is the one shown)."""

    request: LegalRequest
    pending: int
    clock: ClockStatus | None


@dataclass(frozen=True)
class QueueCounts:
    """Requests per tab, each counted up to ``COUNT_CAP + 1``: a tab that holds more
    shows as "500+" (:meth:`capped`)."""

    unassigned: int = 0
    mine: int = 0
    open: int = 0

    def of(self, tab: QueueTab) -> int:
        return int(getattr(self, tab.value))

    def capped(self, tab: QueueTab) -> bool:
        """Whether the tab holds more than ``COUNT_CAP`` requests (not all counted)."""
        return self.of(tab) > COUNT_CAP


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
    page: int | Position,
    now: datetime,
    size: int = QUEUE_PAGE_SIZE,
) -> tuple[Page[QueueRow], QueueCounts]:
    """Open requests by time left on their most urgent running clock (acknowledgement,
    resolution or dispute: the earliest deadline, as the request page and the dashboard
    read it): breached first, then soonest due, paused last; and how many each tab holds
    under ``filters``.

    Requests with no running answer clock (no policy sets one) come after all others.

    ``page`` is a keyset position (:func:`portal.services.paging.position_of`; a page
    number from an old link is still served). Four statements as a rule: the tab counts
    (bounded, see :class:`QueueCounts`), the page's ids in order, those requests (with
    agency and reviewer; pending items from the counts kept on the request row), and the
    clock readings. A page that spans two parts of the order (running, paused, without a
    clock) reads each part it reaches, an index walk of one page in each.

    Raises:
        Forbidden: the actor is not platform staff.
    """
    require_staff(actor)
    where = [LegalRequest.state.in_(OPEN_STATES), *filters.conditions()]
    tabs = {t: _tab_condition(t, actor) for t in QueueTab}

    # Bounded: each tab's requests are counted up to COUNT_CAP + 1 (an index walk of at
    # most that many rows), not every open request read on every view.
    def how_many(condition: ColumnElement[bool] | None) -> Any:
        rows = sa.select(sa.literal(1)).select_from(LegalRequest).where(*where)
        if condition is not None:
            rows = rows.where(condition)
        return (sa.select(sa.func.count()).select_from(rows.limit(COUNT_CAP + 1).subquery())
                .scalar_subquery())

    totals = db.session.execute(sa.select(*(how_many(tabs[t]) for t in QueueTab))).one()
    counts = QueueCounts(**{t.value: int(n) for t, n in zip(QueueTab, totals, strict=True)})
    condition = tabs[tab]
    # The clock walks read the unassigned tab off the clocks' own flag: one partial
    # index in deadline order (joining unassigned requests first, PostgreSQL sorted
    # every one of them). The clockless part reads it off the request.
    clock_where = list(where)
    running = sa.and_(SlaClock.request_id == LegalRequest.id,
                      SlaClock.open_due_at.is_not(None))
    clock_join = running
    if tab == QueueTab.UNASSIGNED:
        # The flag alone (it marks running clocks only): with "open_due_at IS NOT NULL"
        # beside it PostgreSQL multiplied the two selectivities, expected a tenth of the
        # rows and sorted them. A literal true, not a parameter: the planner must see
        # that the partial index applies.
        clock_join = sa.and_(SlaClock.request_id == LegalRequest.id,
                             SlaClock.unassigned == sa.true())
    elif condition is not None:
        clock_where.append(condition)
    if condition is not None:
        where.append(condition)
    by_deadline = (SlaClock.open_due_at, SlaClock.id)
    # A request may run several clocks at once (an acknowledgement beside its resolution):
    # it appears once, by its lead clock. That is its first running clock in the walk's
    # order: one not waiting for the agency before any that is, then the earliest due.
    other = aliased(SlaClock)
    other_running = sa.and_(other.request_id == SlaClock.request_id,
                            other.open_due_at.is_not(None))
    earlier = sa.or_(other.open_due_at < SlaClock.open_due_at,
                     sa.and_(other.open_due_at == SlaClock.open_due_at, other.id < SlaClock.id))
    other_waiting = sa.and_(other.paused_at.is_not(None),
                            other.paused_at <= other.open_due_at)
    lead_if_not_waiting = sa.not_(sa.exists().where(
        other_running, sa.not_(other_waiting), earlier))
    lead_if_waiting = sa.not_(sa.exists().where(
        other_running, sa.or_(sa.not_(other_waiting), earlier)))

    # The walk selects ids only and the page's 50 requests are loaded afterwards: narrow
    # rows without joins are cheaper to walk and sort.
    def clocked(*more: ColumnElement[bool]) -> tuple[Keyset, Any]:
        rows = (sa.select(LegalRequest.id, SlaClock.target).join(SlaClock, clock_join)
                .where(*clock_where, *more))
        count = (sa.select(sa.func.count()).select_from(LegalRequest).join(SlaClock, clock_join)
                 .where(*clock_where, *more))
        return Keyset(rows, by_deadline), count

    # Kept on the request row (services.clocks.store): a partial index holds exactly
    # these, written as the index writes them (literals, not parameters: the planner
    # must see that the index applies).
    without_clock = sa.text(OPEN_CLOCKLESS)
    walk_waiting, count_waiting = clocked(waiting(), lead_if_waiting)
    # The unassigned tab's waiting clocks have an index of their own: requests waiting
    # for an answer are nearly all held, so the index of every waiting clock would be
    # walked for the few nobody holds.
    waiting_hint = (UNASSIGNED_WAITING_INDEX_HINT if tab == QueueTab.UNASSIGNED
                    else WAITING_INDEX_HINT)
    parts = [
        clocked(sa.not_(waiting()), lead_if_not_waiting),
        (Keyset(walk_waiting.rows.with_hint(SlaClock, waiting_hint, "sqlite"),
                walk_waiting.key), count_waiting),
        # Open requests no policy sets a deadline for: last, oldest first.
        (Keyset(sa.select(LegalRequest.id, sa.null().label("target"))
                .where(*where, without_clock),
                (LegalRequest.received_at, LegalRequest.id)),
         sa.select(sa.func.count()).select_from(LegalRequest).where(*where, without_clock)),
    ]
    walked = keyset_page([keyset for keyset, _ in parts], as_position(page), size,
                         total=counts.of(tab), counts=[count for _, count in parts])
    rows = walked.rows
    ids = [request_id for request_id, _ in rows]
    loaded = {req.id: req for req in db.session.scalars(
        sa.select(LegalRequest).where(LegalRequest.id.in_(ids)).options(
            joinedload(LegalRequest.agency), joinedload(LegalRequest.assigned_reviewer)))
    } if ids else {}
    statuses = clock_statuses(ids, now)
    found = [
        QueueRow(req, int((req.decision_counts or {}).get(PENDING, 0)),
                 clock_of(statuses.get(req.id, []), target) if target else None)
        # Requests are never deleted, so every id walked is loaded.
        for req, target in ((loaded[request_id], target) for request_id, target in rows)
    ]
    return walked.with_rows(found), counts

