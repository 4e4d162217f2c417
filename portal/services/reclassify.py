"""Changing a request's category or priority: the SLA policy is matched again, on the
record, counted from the receipt or from the reclassification as the reviewer chooses."""

from __future__ import annotations

from datetime import datetime

from portal.models import LegalRequest
from portal.models.columns import utcnow
from portal.services import assignment, clocks
from portal.services.access import get_request
from portal.services.actors import Actor
from portal.services.audit import append_event
from portal.services.errors import Conflict, FieldError, Forbidden, Problem, ValidationFailed
from portal.services.transaction import transaction
from workflows.codes import Category, Priority
from workflows.roles import Role
from workflows.sla import CountFrom
from workflows.states import OPEN_STATES


def reclassify(
    actor: Actor,
    reference: str,
    *,
    category: str | None = None,
    priority: str | None = None,
    reason: str,
    count_from: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> LegalRequest:
    """Change the category and/or priority of an open request and re-match its clocks.

    ``count_from`` is the reviewer's choice (``workflows.sla.CountFrom``): ``receipt``
    gives the deadlines the request would have had from its receipt (possibly already
    passed); ``reclassification`` starts them again now. The choice and the reason are
    on the audit event.

    Raises:
        NotFound: no such request visible to the actor.
        Forbidden: the actor is not a legal reviewer.
        NotAssignee: another reviewer holds the request, and the actor does not lead
            (the machine's ``reclassify`` activity).
        Conflict: the request is no longer open, or changed since ``expected_version``.
        ValidationFailed: unknown codes, nothing changed, no reason or no choice of where
            the deadlines count from, or no SLA policy sets a deadline for the new
            classification.
    """
    now = now or utcnow()
    if actor.role is not Role.LEGAL_REVIEWER:
        raise Forbidden("only a legal reviewer can change a request's category or priority")
    errors: list[FieldError] = []
    if count_from not in CountFrom._value2member_map_:
        errors.append(FieldError("count_from", "say whether the deadlines count from the "
                                 "receipt or from the reclassification", "required"
                                 if not count_from else "choice"))
    if category is not None and category not in Category._value2member_map_:
        errors.append(FieldError("category", f"unknown category {category!r}", "choice"))
    if priority is not None and priority not in Priority._value2member_map_:
        errors.append(FieldError("priority", f"unknown priority {priority!r}", "choice"))
    if not reason.strip():
        errors.append(FieldError("reason", "say why the request is reclassified", "required"))
    if errors:
        raise ValidationFailed(errors)
    with transaction():
        req = get_request(actor, reference, for_update=True)
        if expected_version is not None and req.version != expected_version:
            raise Conflict(f"{reference} changed since you loaded it; reload and try again")
        if req.state not in OPEN_STATES:
            raise Conflict(f"{reference} is {req.state.value}; only open requests change")
        refused = assignment.reclassify_refusal(actor, req)
        if refused is not None:
            raise refused
        payload: dict[str, object] = {"reason": reason.strip()}
        if category is not None and category != req.category.value:
            payload["category"] = [req.category.value, category]
            req.category = Category(category)
        if priority is not None and priority != req.priority.value:
            payload["priority"] = [req.priority.value, priority]
            req.priority = Priority(priority)
        if len(payload) == 1:
            raise ValidationFailed(
                [FieldError("category", "neither the category nor the priority changes",
                            "unchanged")])
        if not clocks.covers(clocks.active_policies(), jurisdiction=req.jurisdiction,
                             category=req.category.value, priority=req.priority.value,
                             received_at=req.clock_start, action=clocks.action_of(req)):
            raise ValidationFailed([Problem(
                "category", "no SLA policy sets a deadline for this classification",
                "no_sla_policy", value=req.jurisdiction)])
        payload["count_from"] = count_from
        payload["sla"] = clocks.rematch(req, now, CountFrom(count_from))
        append_event(req, "reclassified", actor=actor, now=now, payload=payload)
    return req
