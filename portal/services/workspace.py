"""The legal reviewer's workspace: one request with its clocks, item counts, a filtered
page of its items, and its newest events and messages.

Read-only, and a constant number of statements whatever the number of items (the item
counts are kept on the request row by every service that decides items).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import ColumnElement

from portal.extensions import db
from portal.models import (
    Attachment,
    Event,
    LegalRequest,
    Message,
    OutOfBandConfirmation,
    RequestItem,
)
from portal.services import access, safeguards
from portal.services.access import require_staff
from portal.services.actors import Actor
from portal.services.documents import documents_of
from portal.services.errors import NotFound
from portal.services.listing import decision_filter
from portal.services.paging import LAST, Keyset, Page, Position, as_position, keyset_page
from portal.services.reports import ClockStatus, clock_statuses
from workflows.decisions import PENDING, Decision, ItemTally

#: Items per page of the workspace.
ITEMS_PAGE_SIZE = 100
#: Newest events and messages the workspace shows (the rest stay on the record).
HISTORY_LIMIT = 100
def decision_filter_values() -> tuple[str, ...]:
    """Values the item list can be filtered by: pending, then each decision."""
    return (PENDING, *(d.value for d in Decision))


def _item_conditions(request_id: int, decision: str, text: str) -> list[ColumnElement[bool]]:
    where = [RequestItem.request_id == request_id, *decision_filter(decision)]
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
    #: Where ``items`` is in the list (a keyset position), for forms that come back to it.
    position: Position
    #: How many items match the current filter (all pages).
    matching: int
    events: list[Event]
    earlier_events: int
    messages: list[Message]
    earlier_messages: bool
    #: Message bodies by id, for the timeline's message and note events.
    message_bodies: dict[int, Message] = field(default_factory=dict)
    #: The agency's out-of-band confirmation, for an urgent request nobody else was told of.
    confirmation: OutOfBandConfirmation | None = None
    #: The request's documents (the order, annexures, translations, …), oldest first,
    #: with who sent each.
    documents: list[Attachment] = field(default_factory=list)


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
    page: int | Position = 1,
    now: datetime,
    size: int = ITEMS_PAGE_SIZE,
    history: int = HISTORY_LIMIT,
) -> Workspace:
    """The request with its clocks, its documents, item counts, one page of items under
    a filter, and its newest events and messages (internal notes included: staff only).

    A constant number of statements, whatever the number of items.

    Raises:
        Forbidden: the actor is not platform staff.
        NotFound: no such request.
    """
    require_staff(actor)
    req = _visible(actor, reference)
    statuses = clock_statuses([req.id], now).get(req.id, [])
    # Kept on the request row by every service that decides items.
    counts = {code: int(n) for code, n in (req.decision_counts or {}).items() if n}
    tally = ItemTally.of_counts(counts)
    where = _item_conditions(req.id, decision, text)
    if text.strip():
        matching = db.session.scalar(
            sa.select(sa.func.count()).select_from(RequestItem).where(*where)) or 0
    elif decision in decision_filter_values():
        matching = counts.get(decision, 0)
    else:
        matching = tally.total
    # Keyset pages in filing order: the last page as cheap as the first.
    in_order = [Keyset(sa.select(RequestItem).where(*where), (RequestItem.position,))]
    position = as_position(page)
    items = keyset_page(in_order, position, size, total=matching)
    if not items.rows and matching and position.kind != LAST:
        # A page past the end (items decided away from the filter) shows the last one.
        position = Position(LAST)
        items = keyset_page(in_order, position, size, total=matching)
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
    # Read only for the few requests that have one.
    confirmation = (safeguards.confirmation_of(req.id)
                    if req.out_of_band_confirmed_at is not None else None)
    return Workspace(
        request=req, clocks=statuses, tally=tally, counts=counts,
        items=items, position=position, matching=matching,
        events=events, earlier_events=max(req.event_count - len(events), 0),
        messages=messages, earlier_messages=earlier_messages,
        message_bodies={m.id: m for m in messages},
        confirmation=confirmation,
        documents=documents_of(req.id),
    )


def matching_item_ids(actor: Actor, reference: str, *, decision: str = "",
                      text: str = "") -> list[int]:
    """Ids of every item of the request matching the filter, in list order.

    Raises:
        Forbidden: the actor is not platform staff.
        NotFound: no such request.
    """
    require_staff(actor)
    req = access.get_request(actor, reference)
    return list(db.session.scalars(
        sa.select(RequestItem.id).where(*_item_conditions(req.id, decision, text))
        .order_by(RequestItem.position)
    ))


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
