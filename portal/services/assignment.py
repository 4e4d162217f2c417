"""Who holds a request: the actor's standing on it (for the machine's claim conditions),
the effects of claiming, unassigning and reassigning, and the reviewers it can go to.

Whether any of it may happen is the machine's answer (``workflows.request_flow``: the
``claim``, ``unassign`` and ``reassign`` rows, and the ``claimed_only`` and ``lead_only``
conditions); this module reads the facts it needs and records what was done, inside the
transaction of ``lifecycle.fire``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LegalRequest, User
from portal.services.actors import Actor
from portal.services.errors import FieldError, ValidationFailed
from workflows import machine
from workflows.request_flow import Facts, TransitionError
from workflows.roles import Role
from workflows.states import RequestState

#: Longest reason kept with an assignment.
MAX_REASON_LENGTH = 2000


class Held(Protocol):
    """What standing is read from: a request row (ORM, Core, or the detail's tuple)."""

    @property
    def agency_id(self) -> int: ...

    @property
    def state(self) -> RequestState: ...

    @property
    def assigned_reviewer_id(self) -> int | None: ...


@dataclass(frozen=True)
class Standing:
    """The actor's standing on a request's claim, as the machine's conditions take it."""

    holds_claim: bool = False
    lead: bool = False


def is_lead_reviewer(user_id: int | None) -> bool:
    """Whether the user is an active lead reviewer (read now: a flag taken away counts at
    once, in a session that started before)."""
    if user_id is None:
        return False
    return bool(db.session.scalar(
        sa.select(User.lead_reviewer).where(User.id == user_id,
                                            User.role == Role.LEGAL_REVIEWER,
                                            User.active.is_(True))))


def standing(actor: Actor, req: Held) -> Standing:
    """The actor's standing on ``req``: whether it holds the request, and whether it is a
    lead reviewer (asked of the database only for a reviewer of a request someone else
    holds, the one case where it matters)."""
    if actor.role is not Role.LEGAL_REVIEWER:
        return Standing()
    holder = req.assigned_reviewer_id
    if holder is not None and holder == actor.user_id:
        return Standing(holds_claim=True)
    if holder is None:
        return Standing()
    return Standing(lead=is_lead_reviewer(actor.user_id))


def activity_refusal(actor: Actor, req: Held, activity: str) -> TransitionError | None:
    """Why the machine would not let ``actor`` carry out ``activity`` (a row of
    ``request_flow.ACTIVITIES``) on ``req`` now, or ``None``.

    Raises:
        UnknownTrigger: the machine has no such activity.
    """
    held = standing(actor, req)
    return machine.refusal(req.state, activity, role=actor.role,
                           is_owner=actor.owns(req.agency_id),
                           facts=Facts(claimed=req.assigned_reviewer_id is not None),
                           holds_claim=held.holds_claim, lead=held.lead)


def decide_refusal(actor: Actor, req: Held) -> TransitionError | None:
    """Why the machine would not let ``actor`` decide the items of ``req`` now (its
    ``decide_items`` activity: a legal reviewer, under review or disputed, who holds the
    request, or leads, or nobody holds it), or ``None``. Answers to contested items are
    decisions too."""
    return activity_refusal(actor, req, "decide_items")


def after_effect_refusal(actor: Actor, req: Held) -> TransitionError | None:
    """Why the machine would not let ``actor`` record a restoration or a user's notice on
    ``req`` now (its ``record_after_effects`` activity: a legal reviewer who holds the
    request, or leads, or nobody holds it), or ``None``."""
    return activity_refusal(actor, req, "record_after_effects")


def reclassify_refusal(actor: Actor, req: Held) -> TransitionError | None:
    """Why the machine would not let ``actor`` reclassify ``req`` now (its ``reclassify``
    activity: a legal reviewer, while the request is open, who holds it, or leads, or
    nobody holds it), or ``None``."""
    return activity_refusal(actor, req, "reclassify")


def _reason(inputs: Mapping[str, str]) -> str:
    reason = (inputs.get("reason") or "").strip()
    if len(reason) > MAX_REASON_LENGTH or "\x00" in reason:
        raise ValidationFailed([FieldError(
            "reason", f"at most {MAX_REASON_LENGTH} characters, no NUL", "invalid")])
    return reason


def _record(req: LegalRequest, to: int | None, inputs: Mapping[str, str]) -> dict[str, object]:
    payload: dict[str, object] = {"from_reviewer_id": req.assigned_reviewer_id,
                                  "to_reviewer_id": to, "assigned_reviewer_id": to}
    reason = _reason(inputs)
    if reason:
        payload["reason"] = reason
    req.assigned_reviewer_id = to
    return payload


def claim(req: LegalRequest, actor: Actor, inputs: Mapping[str, str]) -> dict[str, object]:
    """The actor takes a request nobody holds (the machine checked that nobody does)."""
    return _record(req, actor.user_id, inputs)


def unassign(req: LegalRequest, actor: Actor, inputs: Mapping[str, str]) -> dict[str, object]:
    """Nobody holds the request any more; it waits in the queue for a reviewer."""
    return _record(req, None, inputs)


def reassign(req: LegalRequest, actor: Actor, inputs: Mapping[str, str]) -> dict[str, object]:
    """Hand the request to the reviewer ``inputs["reviewer"]`` (a user id).

    Raises:
        ValidationFailed: the reviewer is not an active legal reviewer, or already holds
            the request.
    """
    text = (inputs.get("reviewer") or "").strip()
    target = int(text) if text.isdigit() and len(text) < 12 else None
    found = db.session.execute(
        sa.select(User.id).where(User.id == target, User.role == Role.LEGAL_REVIEWER,
                                 User.active.is_(True))
    ).first() if target is not None else None
    if found is None:
        raise ValidationFailed([FieldError(
            "reviewer", "choose an active legal reviewer", "not_reviewer")])
    if target == req.assigned_reviewer_id:
        raise ValidationFailed([FieldError(
            "reviewer", "this reviewer already holds the request", "same_reviewer")])
    return _record(req, target, inputs)


@dataclass(frozen=True)
class Reviewer:
    """A reviewer a request can be handed to."""

    id: int
    name: str
    email: str
    lead: bool


def active_reviewers(limit: int = 500) -> list[Reviewer]:
    """Active legal reviewers by name, for the reassign form's choice."""
    rows = db.session.execute(
        sa.select(User.id, User.name, User.email, User.lead_reviewer)
        .where(User.role == Role.LEGAL_REVIEWER, User.active.is_(True))
        .order_by(User.name, User.email).limit(limit))
    return [Reviewer(r.id, r.name, r.email, r.lead_reviewer) for r in rows]

