"""Agency verification as data: the one table of what an administrator may do to an
agency's standing, from which status, and with what.

An agency registers (``pending``); an administrator approves it until a date
(``verified``) or rejects it; a verified agency can be suspended and reinstated, and any
agency can be approved again with a new date (a renewal, or a second look at a rejected
registration). A verification whose date has passed has expired: the status stays
``verified`` and the agency cannot file until it is renewed.

The agencies service checks every change against :data:`TRANSITIONS`, and the admin pages
offer the actions :func:`allowed_actions` names; nowhere else lists them. Every action is
an administrator's (the admin pages are theirs alone), so the table names no roles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum


class VerificationStatus(StrEnum):
    """Where an agency stands; it may file only while ``verified`` and not expired."""

    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


S = VerificationStatus

#: The longest reason an administrator may give (its officials read it in a mail).
MAX_REASON_LENGTH = 2000


@dataclass(frozen=True)
class Inputs:
    """What an administrator gives with an action: a reason its officials are told, or
    the last day the verification lasts."""

    reason: str | None = None
    valid_until: date | None = None


@dataclass(frozen=True)
class Facts:
    """What the guards look at: the time, and the agency's current expiry."""

    now: datetime
    verified_until: datetime | None = None


@dataclass(frozen=True)
class Guard:
    """A named condition on the agency's facts, the input it concerns (``field``), a
    stable ``code`` and what is said when it fails."""

    name: str
    check: Callable[[Facts], bool]
    field: str
    code: str
    message: str


def _verification_current(facts: Facts) -> bool:
    return facts.verified_until is not None and facts.verified_until > facts.now


VERIFICATION_CURRENT = Guard(
    "verification_current", _verification_current, field="valid_until", code="expired",
    message="the verification has expired: approve it with a new date",
)


@dataclass(frozen=True)
class AgencyTransition:
    """One action on an agency's standing.

    ``inputs`` are what it needs (``reason``, ``valid_until``). A reason is kept as the
    agency's ``status_reason``; an action without one clears it. ``valid_until`` sets the
    verification's time and its expiry; an action without it keeps the expiry.
    """

    action: str
    sources: tuple[VerificationStatus, ...]
    dest: VerificationStatus
    inputs: tuple[str, ...] = ()
    guards: tuple[Guard, ...] = ()
    summary: str = ""


TRANSITIONS: tuple[AgencyTransition, ...] = (
    AgencyTransition(
        "approve", (S.PENDING, S.VERIFIED, S.REJECTED, S.SUSPENDED), S.VERIFIED,
        inputs=("valid_until",),
        summary="verify until a date: a registration, a renewal, or lifting a suspension "
        "with a new date",
    ),
    AgencyTransition(
        "reject", (S.PENDING,), S.REJECTED, inputs=("reason",),
        summary="refuse a registration, telling its officials why",
    ),
    AgencyTransition(
        "suspend", (S.VERIFIED,), S.SUSPENDED, inputs=("reason",),
        summary="stop a verified agency from filing, telling its officials why",
    ),
    AgencyTransition(
        "reinstate", (S.SUSPENDED,), S.VERIFIED, guards=(VERIFICATION_CURRENT,),
        summary="lift a suspension; the verification keeps its expiry date",
    ),
)

BY_ACTION: Mapping[str, AgencyTransition] = {t.action: t for t in TRANSITIONS}


class AgencyTransitionError(Exception):
    """An action was refused. ``code`` is stable; ``message`` is English (logs)."""

    code = "agency_action_refused"

    def __init__(self, action: str, status: VerificationStatus | None, message: str) -> None:
        super().__init__(message)
        self.action = action
        self.status = status
        self.message = message


class UnknownAction(AgencyTransitionError):
    code = "unknown_action"


class IllegalTransition(AgencyTransitionError):
    """The action does not leave the agency's current status."""

    code = "illegal_transition"


class InputRefused(AgencyTransitionError):
    """An input the action needs is missing (``code`` ``required``) or not acceptable;
    ``field`` names it."""

    def __init__(self, action: str, status: VerificationStatus | None, field: str,
                 code: str, message: str) -> None:
        super().__init__(action, status, message)
        self.field = field
        self.code = code


class GuardFailed(AgencyTransitionError):
    """A guard does not hold; ``guard`` names it, ``field`` is the input that would set
    it right (through another action) and ``code`` is the guard's."""

    def __init__(self, action: str, status: VerificationStatus, guard: Guard) -> None:
        super().__init__(action, status, guard.message)
        self.guard = guard.name
        self.field = guard.field
        self.code = guard.code


def lookup(action: str) -> AgencyTransition:
    """Return the table row for ``action``.

    Raises:
        UnknownAction: if no transition has that name.
    """
    try:
        return BY_ACTION[action]
    except KeyError:
        raise UnknownAction(action, None, f"'{action}' is not an agency action") from None


def allowed_actions(status: VerificationStatus) -> tuple[str, ...]:
    """Actions that leave ``status`` (guards not evaluated), in table order: the buttons
    an agency's page offers."""
    return tuple(t.action for t in TRANSITIONS if status in t.sources)


def checked_inputs(transition: AgencyTransition, inputs: Inputs, *, today: date) -> Inputs:
    """The inputs ``transition`` needs, cleaned (a reason without its surrounding
    blanks); what it does not need is dropped.

    Raises:
        InputRefused: a needed input is missing (``required``), a reason is longer than
            ``MAX_REASON_LENGTH`` (``too_long``) or the date is not after ``today``
            (``not_future``).
    """
    action = transition.action
    reason: str | None = None
    valid_until: date | None = None
    if "reason" in transition.inputs:
        reason = (inputs.reason or "").strip()
        if not reason:
            raise InputRefused(action, None, "reason", "required", "a reason is required")
        if len(reason) > MAX_REASON_LENGTH:
            raise InputRefused(action, None, "reason", "too_long",
                               f"at most {MAX_REASON_LENGTH} characters")
    if "valid_until" in transition.inputs:
        valid_until = inputs.valid_until
        if valid_until is None:
            raise InputRefused(action, None, "valid_until", "required",
                               "an expiry date is required")
        if valid_until <= today:
            raise InputRefused(action, None, "valid_until", "not_future",
                               "the expiry date must be after today")
    return Inputs(reason=reason, valid_until=valid_until)


def check_status(transition: AgencyTransition, status: VerificationStatus,
                 facts: Facts) -> None:
    """Whether ``transition`` may leave ``status`` now.

    Raises:
        IllegalTransition: the action does not leave ``status``.
        GuardFailed: a guard does not hold for ``facts``.
    """
    action = transition.action
    if status not in transition.sources:
        allowed = ", ".join(s.value for s in transition.sources)
        raise IllegalTransition(
            action, status,
            f"cannot {action} an agency that is {status.value} (only from: {allowed})")
    for guard in transition.guards:
        if not guard.check(facts):
            raise GuardFailed(action, status, guard)


def check(status: VerificationStatus, action: str, inputs: Inputs, facts: Facts
          ) -> AgencyTransition:
    """Check everything the table says about ``action`` on an agency in ``status`` now;
    return its row. The inputs are checked first, as a form is, then the status.

    Raises:
        UnknownAction: no such action.
        InputRefused: see :func:`checked_inputs`.
        IllegalTransition: the action does not leave ``status``.
        GuardFailed: a guard does not hold for ``facts``.
    """
    transition = lookup(action)
    checked_inputs(transition, inputs, today=facts.now.date())
    check_status(transition, status, facts)
    return transition


def expiry(valid_until: date) -> datetime:
    """When a verification "until" a date ends: that whole day lasts (UTC)."""
    return datetime.combine(valid_until, time(23, 59, 59), tzinfo=UTC)


def filing_block(status: VerificationStatus, verified_until: datetime | None,
                 now: datetime) -> str | None:
    """Why an agency in ``status`` cannot file at ``now``, in English, or ``None`` if it
    can. A verification without an expiry does not expire."""
    if status is S.PENDING:
        return "the agency has not been verified yet"
    if status is S.REJECTED:
        return "the agency's verification was rejected"
    if status is S.SUSPENDED:
        return "the agency is suspended"
    if verified_until is not None and verified_until <= now:
        return "the agency's verification has expired"
    return None
