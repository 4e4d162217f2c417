"""Firing a lifecycle trigger: check, transition, side effects and audit, one transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import CursorResult

from portal.extensions import db
from portal.models import LegalRequest, Message, RequestItem
from portal.models.columns import utcnow
from portal.services import (
    assignment,
    attachments,
    audit,
    clocks,
    decisions,
    disputes,
    documents,
    notices,
    safeguards,
    webhooks,
)
from portal.services.access import get_request
from portal.services.actors import SYSTEM, Actor
from portal.services.audit import append_event
from portal.services.errors import Conflict, FieldError, ValidationFailed
from portal.services.transaction import transaction
from workflows import machine, territory
from workflows.codes import Category, DocumentContext, RequestedAction
from workflows.decisions import (
    ACTED_DECISIONS,
    Decision,
    ItemTally,
    NoActionReason,
    is_tco_order,
)
from workflows.request_flow import (
    BY_TRIGGER,
    DECIDABLE_STATES,
    Facts,
    TransitionError,
    UnknownTrigger,
    lookup,
    resolution_after,
)
from workflows.states import RequestState, Resolution


def dispute_window_open(req: RequestRow, now: datetime) -> bool:
    """Disputes are accepted for ``DISPUTE_WINDOW_DAYS`` after the outcome."""
    outcome_at = req.closed_at if req.state is RequestState.CLOSED else req.actioned_at
    if outcome_at is None:
        return False
    return now < outcome_at + timedelta(days=current_app.config["DISPUTE_WINDOW_DAYS"])


class RequestRow(assignment.Held, Protocol):
    """What facts are gathered from: a request row, loaded by the ORM or read by a Core
    query (the API's detail). Read-only: the detail's rows are tuples. Its agency, state
    and holder are :class:`assignment.Held`'s."""

    @property
    def id(self) -> int: ...

    @property
    def jurisdiction(self) -> str: ...

    @property
    def category(self) -> Category: ...

    @property
    def requested_action(self) -> RequestedAction | None: ...

    @property
    def resolution(self) -> Resolution | None: ...

    @property
    def decision_counts(self) -> dict[str, int]: ...

    @property
    def actioned_at(self) -> datetime | None: ...

    @property
    def closed_at(self) -> datetime | None: ...

    @property
    def disputed_at(self) -> datetime | None: ...

    @property
    def second_channel_notices(self) -> int | None: ...

    @property
    def out_of_band_confirmed_at(self) -> datetime | None: ...


def narrow_scopes_unexplained(request_id: int) -> int:
    """How many of the request's acted-on items are given effect in fewer places than the
    EEA with no reason recorded (a scope names the EEA exactly when it covers it, and
    ``global`` covers everything: workflows.territory)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(RequestItem).where(
            RequestItem.request_id == request_id,
            RequestItem.decision.in_(ACTED_DECISIONS),
            RequestItem.territorial_scope != territory.GLOBAL,
            RequestItem.territorial_scope.not_like(f"%{territory.EEA}%"),
            sa.func.coalesce(sa.func.trim(RequestItem.scope_reason), "") == "",
        )
    ) or 0


def gather_facts(req: RequestRow, now: datetime) -> Facts:
    """What the machine's guards look at, read from the request (and, while it is
    disputed, one count of the items decided since; for a TCO order whose items can be
    decided, one count of those given effect in fewer places than the EEA). The one
    source of facts for firing a trigger and for every list of what an actor may do now:
    item counts, resolution, dispute window, whether an urgent request nobody else was
    told of is confirmed out of band, whether a TCO order is given effect everywhere
    it must be, and whether a reviewer holds the request.
    """
    changed = False
    if req.state is RequestState.DISPUTED and req.disputed_at is not None:
        changed = (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(RequestItem)
                .where(
                    RequestItem.request_id == req.id,
                    RequestItem.decided_at > req.disputed_at,
                )
            )
            or 0
        ) > 0
    tco = is_tco_order(req.jurisdiction, req.category, req.requested_action)
    narrow = narrow_scopes_unexplained(req.id) if tco and req.state in DECIDABLE_STATES else 0
    return Facts(
        tally=ItemTally.of_counts(req.decision_counts),
        resolution=req.resolution,
        dispute_window_open=dispute_window_open(req, now),
        decisions_changed_since_dispute=changed,
        out_of_band_needed=safeguards.needs_out_of_band(req),
        out_of_band_confirmed=req.out_of_band_confirmed_at is not None,
        tco_order=tco,
        narrow_scopes_unexplained=narrow,
        claimed=req.assigned_reviewer_id is not None,
    )


def options(actor: Actor, req: RequestRow, now: datetime) -> list[machine.Option]:
    """What ``actor`` may do with ``req`` from its state, asked of the machine with the
    request's facts and the actor's standing on who holds it: each trigger with the
    refusal a guard gives now, if any."""
    held = assignment.standing(actor, req)
    return machine.options(req.state, role=actor.role, is_owner=actor.owns(req.agency_id),
                           facts=gather_facts(req, now), holds_claim=held.holds_claim,
                           lead=held.lead)


Effect = Callable[[LegalRequest, Actor, Mapping[str, str], Facts, datetime], dict[str, object]]


def _begin_review(req: LegalRequest, actor: Actor, inputs: Mapping[str, str],
                  facts: Facts, now: datetime) -> dict[str, object]:
    req.assigned_reviewer_id = actor.user_id
    # Beginning the review is the platform's acknowledgement of the order to the
    # authority (the agency sees it on its request page and in the API).
    if req.receipt_confirmed_at is None:
        req.receipt_confirmed_at = now
    return {"assigned_reviewer_id": actor.user_id,
            "receipt_confirmed_at": now.isoformat()}


def _message(field: str) -> Effect:
    """The trigger's text becomes a message the agency sees, as well as an event."""

    def effect(req: LegalRequest, actor: Actor, inputs: Mapping[str, str],
               facts: Facts, now: datetime) -> dict[str, object]:
        text = inputs[field].strip()
        assert actor.user_id is not None
        audit.add_message(
            req, Message(request_id=req.id, author_id=actor.user_id, body=text, created_at=now)
        )
        return {field: text}

    return effect


def _actioned(req: LegalRequest, actor: Actor, inputs: Mapping[str, str],
              facts: Facts, now: datetime) -> dict[str, object]:
    req.actioned_at = now
    return {}


def _decline(req: LegalRequest, actor: Actor, inputs: Mapping[str, str],
             facts: Facts, now: datetime) -> dict[str, object]:
    reason = inputs["reason"].strip()
    code = inputs["no_action_reason"].strip()
    if code not in NoActionReason._value2member_map_:
        raise ValidationFailed([FieldError("no_action_reason", f"unknown reason {code!r}",
                                           "choice")])
    changed = cast(CursorResult[Any], db.session.execute(
        sa.update(RequestItem)
        .where(RequestItem.request_id == req.id, RequestItem.decision.is_(None))
        .values(decision=Decision.NO_ACTION, reason=reason,
                no_action_reason=NoActionReason(code),
                decided_by_id=actor.user_id, decided_at=now)
    )).rowcount
    req.closed_at = now
    if changed:
        decisions.recount(req)
        audit.refresh_items(req)
    return {"reason": reason, "no_action_reason": code, "items_set_no_action": changed}


def _withdraw(req: LegalRequest, actor: Actor, inputs: Mapping[str, str],
              facts: Facts, now: datetime) -> dict[str, object]:
    req.closed_at = now
    return {"reason": inputs["reason"].strip()}


def _dispute(req: LegalRequest, actor: Actor, inputs: Mapping[str, str],
             facts: Facts, now: datetime) -> dict[str, object]:
    req.disputed_at = now
    return _message("reason")(req, actor, inputs, facts, now)


def _uphold(req: LegalRequest, actor: Actor, inputs: Mapping[str, str],
            facts: Facts, now: datetime) -> dict[str, object]:
    req.closed_at = now
    payload = _message("reason")(req, actor, inputs, facts, now)
    answered = disputes.close_round(req, actor, now, inputs["reason"].strip())
    if answered:
        payload["answered"] = answered
    return payload


def _revise(req: LegalRequest, actor: Actor, inputs: Mapping[str, str],
            facts: Facts, now: datetime) -> dict[str, object]:
    req.actioned_at = now
    answered = disputes.close_round(req, actor, now, None)
    return {"answered": answered} if answered else {}


def _assignment(change: Callable[[LegalRequest, Actor, Mapping[str, str]],
                                 dict[str, object]]) -> Effect:
    def effect(req: LegalRequest, actor: Actor, inputs: Mapping[str, str],
               facts: Facts, now: datetime) -> dict[str, object]:
        return change(req, actor, inputs)

    return effect


def _close(req: LegalRequest, actor: Actor, inputs: Mapping[str, str],
           facts: Facts, now: datetime) -> dict[str, object]:
    req.closed_at = now
    return {}


#: What each trigger does to the row besides changing its state (the table in
#: workflows says whether it may happen; this says what the portal records).
EFFECTS: Mapping[str, Effect] = {
    "begin_review": _begin_review,
    "request_info": _message("question"),
    "provide_info": _message("answer"),
    "action": _actioned,
    "decline": _decline,
    "withdraw": _withdraw,
    "dispute": _dispute,
    "revise": _revise,
    "uphold": _uphold,
    "close": _close,
    "claim": _assignment(assignment.claim),
    "unassign": _assignment(assignment.unassign),
    "reassign": _assignment(assignment.reassign),
}


def fire(
    actor: Actor,
    reference: str,
    trigger: str,
    *,
    inputs: Mapping[str, str] | None = None,
    expected_version: int | None = None,
    contested: Sequence[disputes.Contest] | None = None,
    now: datetime | None = None,
    attached: Sequence[documents.DocumentInput] = (),
) -> LegalRequest:
    """Fire ``trigger`` on the request as ``actor``; commit the transition, its side
    effects and its audit event together. ``attached`` documents come with an answer
    (``provide_info``): recorded in the same transaction, with their own event.

    ``expected_version`` is the version the actor last saw (a page or API client); if the
    request changed since, nothing happens. ``contested`` are the items a dispute
    contests (none: every item).

    Raises:
        NotFound: no such request visible to the actor.
        Conflict: the request changed since ``expected_version``, or concurrently.
        UnknownTrigger, NotPermitted, IllegalTransition, MissingInput, GuardFailed:
            the table refused (see :mod:`workflows.request_flow`).
        ValidationFailed: a decline's ``no_action_reason`` is not one of the list; a
            reassignment's reviewer is not another active reviewer; contested items that
            are not the request's, or given with another trigger than ``dispute``;
            documents attached to another action than an answer, or refused (field
            ``documents``, by position); nothing is stored.
    """
    now = now or utcnow()
    inputs = dict(inputs or {})
    if trigger not in BY_TRIGGER:  # an activity of the machine is not an action
        raise UnknownTrigger(trigger, None, f"'{trigger}' is not an action")
    if contested and trigger != "dispute":
        raise ValidationFailed([FieldError("items", "only a dispute names items",
                                           "not_dispute")])
    if attached:
        if trigger != "provide_info":
            raise ValidationFailed([FieldError("documents", "documents come only with an "
                                               "answer", "not_allowed")])
        errors = documents.check_documents(attached)
        if errors:
            raise ValidationFailed(errors)
    with attachments.staged() as staging, transaction():
        req = get_request(actor, reference, for_update=True)
        if expected_version is not None and req.version != expected_version:
            raise Conflict(
                f"{reference} changed since you loaded it (version {expected_version}, "
                f"now {req.version}); reload and try again"
            )
        facts = gather_facts(req, now)
        source = req.state
        acted_before = req.actioned_at is not None
        held = assignment.standing(actor, req)
        dest = machine.fire(
            source, trigger, role=actor.role, is_owner=actor.owns(req.agency_id),
            inputs=inputs, facts=facts, holds_claim=held.holds_claim, lead=held.lead,
        )
        holder = req.assigned_reviewer_id
        payload = EFFECTS[trigger](req, actor, inputs, facts, now)
        if req.assigned_reviewer_id != holder:
            # The unassigned tab reads who holds the request off its clocks.
            clocks.follow_assignment(req)
        if trigger == "dispute":
            # The items contested are the one input that is not text: recorded here, in
            # the dispute's transaction, and named on its event.
            payload.update(disputes.open_round(req, contested, now))
        # Judged on the items as the effect left them (declining decides pending items).
        resolution = resolution_after(lookup(trigger), ItemTally.of_counts(req.decision_counts),
                                      req.resolution)
        if resolution is not req.resolution:
            req.resolution = resolution
            payload["resolution"] = resolution.value if resolution else None
        req.state = dest
        if dest is RequestState.ACTIONED and not acted_before:
            # The first time the platform acts on a request it enters the filer's and the
            # agency's history (services/safeguards says why only then).
            safeguards.count_acted_on(req)
        sla_changes = clocks.on_transition(req, trigger, now)
        if sla_changes:
            payload["sla"] = sla_changes
        event = append_event(
            req, "transition", actor=actor, now=now, trigger=trigger,
            from_state=source.value, to_state=dest.value, payload=payload,
        )
        # Whoever must act on it or learn its outcome is told in the same transaction.
        notices.on_transition(req, trigger, event.seq, actor, now)
        # Who holds the request changes, not its state: nothing for the agency then.
        if dest is not source:
            webhooks.enqueue(
                req.agency_id, event="request.state_changed", request_id=req.id, now=now,
                dedup=f"{req.reference}:{event.seq}",
                payload={"reference": req.reference, "trigger": trigger,
                         "from_state": source.value, "to_state": dest.value,
                         "resolution": req.resolution.value if req.resolution else None,
                         "at": now.isoformat()},
            )
        if attached:
            documents.add_to_request(req, actor, attached, DocumentContext.ANSWER, now,
                                     staging)
    return req


def close_after_dispute_window(now: datetime | None = None, *, limit: int = 500) -> list[str]:
    """Close, as the system, actioned requests whose dispute window has ended.

    Each is its own transaction; one changed concurrently is left for the next pass.
    Returns the references closed.
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=current_app.config["DISPUTE_WINDOW_DAYS"])
    references = db.session.scalars(
        sa.select(LegalRequest.reference)
        .where(LegalRequest.state == RequestState.ACTIONED, LegalRequest.actioned_at <= cutoff)
        .order_by(LegalRequest.actioned_at)
        .limit(limit)
    ).all()
    db.session.rollback()
    closed = []
    for reference in references:
        try:
            fire(SYSTEM, reference, "close", now=now)
        except (Conflict, TransitionError):
            continue
        closed.append(reference)
    return closed
