"""Who may see what: the one place visibility is decided (requests, internal notes, and
the staff-only parts of the audit record)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.interfaces import ORMOption
from sqlalchemy.sql import Select

from portal.extensions import db
from portal.models import Event, LegalRequest, Message
from portal.services.actors import Actor
from portal.services.errors import Forbidden, NotFound


def agency_scope(actor: Actor) -> int | None:
    """The one agency whose requests ``actor`` may see, or ``None`` for staff, who see
    every request (an official without an agency sees none: no agency has id -1)."""
    if actor.is_staff:
        return None
    return actor.agency_id or -1


def visibility(actor: Actor) -> sa.ColumnElement[bool]:
    """The condition on ``legal_requests`` rows that ``actor`` may see: staff see all,
    officials their agency's."""
    scope = agency_scope(actor)
    if scope is None:
        return sa.true()
    return LegalRequest.agency_id == scope


#: Events only platform staff read: internal notes, and how the platform checked an
#: urgent request with the agency behind the filer's back (the filer is who was checked).
#: The reviewer's notes on items are staff's working record too.
STAFF_ONLY_EVENTS = ("note", "out_of_band_confirmed", "item_noted")
#: Transitions only platform staff read: which reviewer holds a request is the platform's
#: own business (the rows of workflows.request_flow that keep the state).
STAFF_ONLY_TRIGGERS = ("claim", "unassign", "reassign")


def visible_events(actor: Actor) -> sa.ColumnElement[bool]:
    """The audit events ``actor`` may read on a request it sees: an agency never learns
    that an internal note was written, or how its request was checked."""
    if actor.is_staff:
        return sa.true()
    return sa.and_(Event.kind.not_in(STAFF_ONLY_EVENTS),
                   sa.or_(Event.trigger.is_(None), Event.trigger.not_in(STAFF_ONLY_TRIGGERS)))


def visible_messages(actor: Actor) -> sa.ColumnElement[bool]:
    """The messages ``actor`` may read on a request it sees: internal notes are staff's."""
    if actor.is_staff:
        return sa.true()
    return Message.internal.is_(False)


#: Event payload fields only platform staff see: who acted from where, which platform
#: employee took the request, and the safeguards' reading of a filing (a filer who could
#: read its flags, or whether anyone else was told, would learn what to avoid).
STAFF_ONLY_PAYLOAD = frozenset({"ip", "user_agent", "assigned_reviewer_id", "risk_flags",
                                "second_channel", "request_id", "from_reviewer_id",
                                "to_reviewer_id"})


def visible_payload(actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
    """An event's payload as ``actor`` may read it."""
    if actor.is_staff:
        return dict(payload)
    return {k: v for k, v in payload.items() if k not in STAFF_ONLY_PAYLOAD}


def visible_requests(actor: Actor) -> Select[LegalRequest]:
    """A select of the requests ``actor`` may see."""
    return sa.select(LegalRequest).where(visibility(actor))


def require_staff(actor: Actor) -> None:
    """Only platform staff see every request at once (queues, workspace, dashboards).

    Raises:
        Forbidden: the actor is not platform staff.
    """
    if not actor.is_staff:
        raise Forbidden("only platform staff see the queues and dashboards")


def get_request(actor: Actor, reference: str, *, for_update: bool = False,
                options: Sequence[ORMOption] = ()) -> LegalRequest:
    """Load the request ``reference`` as ``actor`` may see it.

    ``options`` are loader options (e.g. ``joinedload``) for what the caller reads next.
    With ``for_update`` the row is locked until the transaction ends (PostgreSQL; SQLite
    has one writer at a time and relies on the version check).

    Raises:
        NotFound: no such request, or it belongs to another agency (never confirmed).
    """
    query = visible_requests(actor).where(LegalRequest.reference == reference)
    if options:
        query = query.options(*options)
    if for_update:
        query = query.with_for_update()
    found = db.session.scalars(query).first()
    if found is None:
        raise NotFound(f"no request {reference!r}")
    return found
