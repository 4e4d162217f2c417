"""Force majeure: the platform cannot comply for reasons it is not answerable for (an
outage, a de facto impossibility). Under the EU terrorist-content regulation (Art. 3(7))
the hour stops and starts again in full once the reasons have ceased; only policies
whose rules allow it pause, everything else runs on."""

from __future__ import annotations

from datetime import datetime

from portal.models import LegalRequest
from portal.models.columns import utcnow
from portal.services import clocks
from portal.services.access import get_request
from portal.services.actors import Actor
from portal.services.audit import append_event
from portal.services.errors import Conflict, FieldError, Forbidden, ValidationFailed
from portal.services.transaction import transaction
from workflows.roles import Role
from workflows.states import OPEN_STATES

#: Who declares it: the reviewer handling the request, or a liaison during an incident.
DECLARERS = (Role.LEGAL_REVIEWER, Role.PLATFORM_LIAISON)


class ForceMajeureRefused(Conflict):
    """The clock cannot pause or resume now; ``reason`` is the clock's code (``no_clock``,
    ``not_allowed``, ``paused``, ``not_paused``)."""

    code = "force_majeure_refused"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def declare(actor: Actor, reference: str, *, begin: bool, reason: str,
            expected_version: int | None = None, now: datetime | None = None
            ) -> LegalRequest:
    """Begin (``begin=True``) or end a force majeure on ``reference``'s resolution clock,
    with the reason on an audit event, in one transaction.

    Raises:
        Forbidden: the actor is neither a legal reviewer nor a platform liaison.
        NotFound: no such request.
        ValidationFailed: no reason given, or one longer than 2000 characters.
        Conflict: the request changed since ``expected_version`` or is closed.
        ForceMajeureRefused: no running resolution clock, none of its rules allows it,
            another pause is under way, or (ending) none began.
    """
    now = now or utcnow()
    if actor.role not in DECLARERS:
        raise Forbidden("only platform staff who handle requests declare a force majeure")
    text = reason.strip()
    if not text or len(text) > 2000:
        raise ValidationFailed([FieldError("reason", "say what stops the platform "
                                           "(at most 2000 characters)",
                                           "required" if not text else "too_long")])
    with transaction():
        req = get_request(actor, reference, for_update=True)
        if expected_version is not None and req.version != expected_version:
            raise Conflict(f"{reference} changed since you loaded it; reload and try again")
        if req.state not in OPEN_STATES:
            raise Conflict(f"{reference} is {req.state.value}; its deadlines no longer run")
        try:
            changes = clocks.force_majeure(req, now, begin=begin)
        except clocks.ClockRefused as exc:
            raise ForceMajeureRefused(str(exc), exc.code) from None
        append_event(req, "force_majeure", actor=actor, now=now, payload={
            "began" if begin else "ended": now.isoformat(), "reason": text, "sla": changes,
        })
    return req
