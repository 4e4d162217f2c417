"""Recording that an order reached the platform before it was filed on the portal (by
mail, through a government portal): the SLA clocks then count from that receipt, under
the policies in force at that time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.models import LegalRequest
from portal.models.columns import utcnow
from portal.services import clocks
from portal.services.access import get_request
from portal.services.actors import Actor
from portal.services.audit import append_event
from portal.services.errors import Conflict, FieldError, Forbidden, ValidationFailed
from portal.services.transaction import transaction
from workflows.calendars import country_timezone
from workflows.codes import ReceiptChannel
from workflows.roles import Role
from workflows.states import OPEN_STATES

#: Staff who may record it: the reviewers who handle the request and the liaisons who
#: receive orders by other channels.
RECORDERS = (Role.LEGAL_REVIEWER, Role.PLATFORM_LIAISON)

#: A receipt this close to the filing is the filing: nothing to record.
SAME_TIME = timedelta(minutes=1)


@dataclass(frozen=True)
class EarlierReceipt:
    """When and how the order reached the platform, and why staff say so."""

    received_at: datetime | None
    channel: str
    reason: str


def _check(data: EarlierReceipt) -> list[FieldError]:
    errors = []
    if data.received_at is None:
        errors.append(FieldError("received_at", "give the date and time of receipt",
                                 "required"))
    elif data.received_at.tzinfo is None:
        errors.append(FieldError("received_at", "a time with its zone", "invalid"))
    if data.channel not in ReceiptChannel._value2member_map_:
        errors.append(FieldError("channel", f"unknown channel {data.channel!r}", "choice"))
    reason = data.reason.strip()
    if not reason:
        errors.append(FieldError("reason", "say how the receipt is known", "required"))
    elif len(reason) > 2000:
        errors.append(FieldError("reason", "at most 2000 characters", "too_long"))
    return errors


def record_earlier_receipt(actor: Actor, reference: str, data: EarlierReceipt, *,
                           expected_version: int | None = None,
                           now: datetime | None = None) -> LegalRequest:
    """Record that ``reference``'s order was received at ``data.received_at``, before its
    filing, and count its acknowledge and resolve clocks from then (in one transaction,
    with an audit event naming the time, the channel, the reason and the new deadlines).

    The policies are those in force at that receipt; a clock that has stopped keeps its
    stop and is met or missed against its new deadline. A later correction may move the
    receipt again, never after the filing.

    Raises:
        Forbidden: the actor is neither a legal reviewer nor a platform liaison.
        NotFound: no such request.
        ValidationFailed: a field is missing or wrong; the time is in the future, not
            before the filing, or before the order's own date; nothing is stored.
        Conflict: the request changed since ``expected_version`` or is closed.
    """
    now = now or utcnow()
    if actor.role not in RECORDERS:
        raise Forbidden("only platform staff who handle requests record an earlier receipt")
    errors = _check(data)
    if errors:
        raise ValidationFailed(errors)
    assert data.received_at is not None
    when = data.received_at
    with transaction():
        req = get_request(actor, reference, for_update=True)
        if expected_version is not None and req.version != expected_version:
            raise Conflict(f"{reference} changed since you loaded it; reload and try again")
        if req.state not in OPEN_STATES:
            raise Conflict(f"{reference} is {req.state.value}; its deadlines no longer run")
        if when > now:
            raise ValidationFailed([FieldError("received_at", "in the future", "future")])
        if when > req.received_at - SAME_TIME:
            raise ValidationFailed([FieldError(
                "received_at", "not before the filing: the filing is the receipt",
                "not_earlier")])
        if req.order_date is not None:
            # The order cannot reach the platform before the day it was made (in its
            # own country's time).
            made = datetime.combine(req.order_date, datetime.min.time(),
                                    tzinfo=country_timezone(req.jurisdiction))
            if when < made:
                raise ValidationFailed([FieldError(
                    "received_at", "before the order's own date", "before_order")])
        was = req.clock_start
        req.order_received_at = when
        req.order_received_via = ReceiptChannel(data.channel).value
        changes = clocks.recount_from_receipt(req, was, now)
        append_event(req, "receipt_recorded", actor=actor, now=now, payload={
            "received_at": when.isoformat(), "channel": req.order_received_via,
            "reason": data.reason.strip(), "was": was.isoformat(), "sla": changes,
        })
    return req
