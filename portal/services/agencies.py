"""The administrator's view of agencies: the verification queue, the list of agencies,
and changes to an agency's standing (approve, reject, suspend, reinstate) as
``workflows.agency_flow`` allows them.

Each public function that changes something is one transaction. Agencies have no audit
chain of their own (that is per request): what a change did is kept in the columns it
sets (``status``, ``status_reason``, ``verified_at`` …) and one ``portal.admin`` log line
names who did it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from portal.extensions import db
from portal.i18n import LANGUAGES
from portal.models import Agency, User, VerificationStatus
from portal.models.columns import utcnow
from portal.services import notify
from portal.services.accounts import normalise_email
from portal.services.actors import Actor
from portal.services.errors import Conflict, FieldError, NotFound, Problem, ValidationFailed
from portal.services.paging import DEFAULT_PER_PAGE, Page, count_of, page_of
from portal.services.transaction import lock_for_writing, transaction
from workflows import agency_flow, calendars
from workflows.agency_flow import AgencyTransitionError, Facts, Inputs
from workflows.codes import RequesterType

log = logging.getLogger("portal.admin")

#: How many pending agencies the verification queue shows at once.
QUEUE_SIZE = 20
#: How many officials an agency page lists (the users list has them all).
OFFICIALS_SHOWN = 100


@dataclass(frozen=True)
class AgencyRow:
    agency: Agency
    officials: int


def verification_queue(limit: int = QUEUE_SIZE) -> tuple[list[Agency], int]:
    """Pending agencies, oldest registration first, and how many are pending in all."""
    pending = sa.select(Agency).where(Agency.status == VerificationStatus.PENDING)
    rows = db.session.scalars(pending.order_by(Agency.created_at, Agency.id).limit(limit)).all()
    return list(rows), count_of(pending)


def list_agencies(*, status: str | None = None, search: str = "", number: int = 1,
                  per_page: int = DEFAULT_PER_PAGE) -> Page[AgencyRow]:
    """Agencies by name, optionally of one status and matching ``search`` (part of the
    name or domain, or the exact country code), each with its count of officials."""
    officials = (
        sa.select(sa.func.count(User.id)).where(User.agency_id == Agency.id)
        .correlate(Agency).scalar_subquery()
    )
    query = sa.select(Agency)
    if status:
        query = query.where(Agency.status == VerificationStatus(status))
    text = search.strip()
    if text:
        # autoescape: a % or _ typed into the search is a character, not a wildcard.
        matches = [Agency.name.icontains(text, autoescape=True),
                   Agency.official_domain.icontains(text, autoescape=True)]
        if len(text) == 2 and text.isascii() and text.isalpha():
            matches.append(Agency.country == text.upper())
        query = query.where(sa.or_(*matches))
    # Counted without the officials column: the count need not run its subquery.
    page = page_of(query.add_columns(officials).order_by(Agency.name, Agency.id),
                   number, per_page, count=count_of(query))
    return page.with_rows([AgencyRow(agency, count) for agency, count in page.rows])


def agency_officials(agency_id: int, limit: int = OFFICIALS_SHOWN) -> tuple[list[User], int]:
    """The agency's officials by name (at most ``limit``) and how many it has."""
    query = sa.select(User).where(User.agency_id == agency_id)
    rows = db.session.scalars(query.order_by(User.name, User.email).limit(limit)).all()
    return list(rows), count_of(query)


def agency_choices() -> list[tuple[int, str, str]]:
    """``(id, name, country)`` of every agency an official may be added to (not rejected)."""
    rows = db.session.execute(
        sa.select(Agency.id, Agency.name, Agency.country)
        .where(Agency.status != VerificationStatus.REJECTED)
        .order_by(Agency.name, Agency.id)
    ).all()
    return [(row.id, row.name, row.country) for row in rows]


def allowed_actions(agency: Agency) -> tuple[str, ...]:
    """What an administrator may do to the agency's standing now (the table's answer for
    its status): the buttons its page shows."""
    return agency_flow.allowed_actions(agency.status)


def _locked_agency(agency_id: int) -> Agency:
    lock_for_writing()
    agency = db.session.scalars(
        sa.select(Agency).where(Agency.id == agency_id).with_for_update()
    ).first()
    if agency is None:
        raise NotFound(f"no agency {agency_id}")
    return agency


def _mail_officials(agency: Agency, now: datetime) -> list[int]:
    """Queue the agency-status mail for each active official, in their own language."""
    officials = db.session.scalars(
        sa.select(User).where(User.agency_id == agency.id, User.active.is_(True))
    ).all()
    params = {
        "agency": agency.name,
        "status": agency.status.value,
        "reason": agency.status_reason or "",
        "verified_until": agency.verified_until.isoformat() if agency.verified_until else None,
    }
    notes = [
        notify.enqueue_mail(
            "agency_status", recipient=user.email, locale=user.locale, user_id=user.id,
            params={**params, "name": user.name},
            dedup_key=f"agency-status:{agency.id}:{user.id}:{now.isoformat()}", now=now,
        )
        for user in officials
    ]
    db.session.flush()
    return [note.id for note in notes]


def _refusal(exc: AgencyTransitionError) -> Conflict | ValidationFailed:
    """The service error for what the table refused: a status the action does not leave
    is a conflict (the page was out of date); anything about the input is a field error."""
    if isinstance(exc, agency_flow.InputRefused | agency_flow.GuardFailed):
        return ValidationFailed([FieldError(exc.field, exc.message, exc.code)])
    return Conflict(exc.message)


def change_status(actor: Actor, agency_id: int, action: str, inputs: Inputs | None = None,
                  *, now: datetime | None = None) -> Agency:
    """Take ``action`` (a row of ``workflows.agency_flow.TRANSITIONS``) on the agency,
    and tell its officials by mail.

    The inputs are checked before the agency is read, as a form is; then its status and
    the guards, under a row lock.

    Raises:
        NotFound: no such agency.
        ValidationFailed: a missing or refused input, or a guard that does not hold
            (e.g. reinstating an expired verification).
        Conflict: the action does not leave the agency's status.
        workflows.agency_flow.UnknownAction: ``action`` is not in the table (a
            programming error, not a user's).
    """
    now = now or utcnow()
    transition = agency_flow.lookup(action)
    try:
        given = agency_flow.checked_inputs(transition, inputs or Inputs(), today=now.date())
        with transaction():
            agency = _locked_agency(agency_id)
            agency_flow.check_status(transition, agency.status,
                                     Facts(now, agency.verified_until))
            agency.status = transition.dest
            agency.status_reason = given.reason
            if given.valid_until is not None:
                agency.verified_at = now
                agency.verified_until = agency_flow.expiry(given.valid_until)
            sent = _mail_officials(agency, now)
    except AgencyTransitionError as exc:
        raise _refusal(exc) from None
    log.info("agency %s: %s by user %s, now %s", agency.id, action, actor.user_id,
             agency.status.value)
    notify.deliver_now(sent)
    return agency


def approve_agency(actor: Actor, agency_id: int, *, valid_until: date | None,
                   now: datetime | None = None) -> Agency:
    """Verify the agency (or renew its verification) until the end of ``valid_until``.

    Any status may be approved: a pending or rejected registration, a suspended agency
    (this lifts the suspension) or a verified one (a renewal).

    Raises:
        NotFound: no such agency.
        ValidationFailed: no date, or a date that is not after today.
    """
    return change_status(actor, agency_id, "approve", Inputs(valid_until=valid_until),
                         now=now)


def reject_agency(actor: Actor, agency_id: int, *, reason: str,
                  now: datetime | None = None) -> Agency:
    """Refuse a pending registration, with the reason its officials are told.

    Raises:
        NotFound: no such agency.
        ValidationFailed: no reason, or one too long.
        Conflict: the agency is not pending.
    """
    return change_status(actor, agency_id, "reject", Inputs(reason=reason), now=now)


def suspend_agency(actor: Actor, agency_id: int, *, reason: str,
                   now: datetime | None = None) -> Agency:
    """Stop a verified agency from filing, with the reason its officials are told.

    Raises:
        NotFound: no such agency.
        ValidationFailed: no reason, or one too long.
        Conflict: the agency is not verified.
    """
    return change_status(actor, agency_id, "suspend", Inputs(reason=reason), now=now)


def reinstate_agency(actor: Actor, agency_id: int, *, now: datetime | None = None) -> Agency:
    """Lift a suspension; the verification keeps its expiry date.

    Raises:
        NotFound: no such agency.
        Conflict: the agency is not suspended.
        ValidationFailed: its verification has expired meanwhile (approve it again with a
            new date instead).
    """
    return change_status(actor, agency_id, "reinstate", now=now)


def set_focal_point(actor: Actor, agency_id: int, focal_point: bool) -> Agency:
    """Mark (or unmark) the agency as its country's focal point.

    Raises:
        NotFound: no such agency.
    """
    with transaction():
        agency = _locked_agency(agency_id)
        agency.focal_point = focal_point
    log.info("agency %s focal point %s by user %s", agency.id, focal_point, actor.user_id)
    return agency


#: Longest name of a focal point (the column's length).
MAX_FOCAL_NAME = 200


def set_focal_contact(actor: Actor, agency_id: int, *, name: str, email: str,
                      locale: str) -> Agency:
    """Designate (or, with an empty ``email``, remove) the person told of every urgent or
    emergency request filed in the agency's name, and the language they are mailed in.

    Only administrators change it, never the agency's officials: it is the second
    channel that must still work when one official's account is in the wrong hands.

    Raises:
        NotFound: no such agency.
        ValidationFailed: an invalid address, a name too long, or an unknown language;
            nothing is changed.
    """
    errors: list[FieldError] = []
    address: str | None = None
    if email.strip():
        try:
            address = normalise_email(email)
        except ValidationFailed as exc:
            errors += exc.errors
    name = name.strip()
    if len(name) > MAX_FOCAL_NAME or "\x00" in name:
        errors.append(FieldError("name", f"at most {MAX_FOCAL_NAME} characters", "too_long"))
    if locale not in LANGUAGES:
        errors.append(FieldError("locale", f"unknown language {locale!r}", "choice"))
    if errors:
        raise ValidationFailed(errors)
    with transaction():
        agency = _locked_agency(agency_id)
        agency.focal_contact_email = address
        agency.focal_contact_name = name if address else ""
        agency.focal_contact_locale = locale
    log.info("agency %s focal contact %s by user %s", agency.id,
             "set" if address else "removed", actor.user_id)
    return agency


def set_subdivision(actor: Actor, agency_id: int, subdivision: str) -> Agency:
    """Set (or, with an empty value, clear) the agency's region: its holidays count in the
    agency's business-day deadlines as well as the national ones (a Bavarian agency has
    Corpus Christi). ``DE-BY`` and ``BY`` are the same. It applies to clocks started from
    then on.

    Raises:
        NotFound: no such agency.
        ValidationFailed: not a region the holidays package knows for the agency's
            country; nothing is changed.
    """
    code = subdivision.strip().upper()
    with transaction():
        agency = _locked_agency(agency_id)
        country = agency.country.upper()
        if code.startswith(f"{country}-"):
            code = code[len(country) + 1:]
        if code and code not in {s.upper() for s in calendars.subdivisions_of(country)}:
            raise ValidationFailed([Problem(
                "subdivision", f"{code} is not a region of {country}", "subdivision",
                value=code)])
        agency.subdivision = code or None
    log.info("agency %s subdivision %s by user %s", agency.id, code or "-", actor.user_id)
    return agency


def set_requester_type(actor: Actor, agency_id: int, requester_type: str) -> Agency:
    """Set (or, with an empty value, clear) what kind of authority the agency is: court,
    executive, police or regulator. Transparency reports group requests by it.

    Raises:
        NotFound: no such agency.
        ValidationFailed: not one of the four types; nothing is changed.
    """
    code = requester_type.strip().lower()
    if code and code not in {t.value for t in RequesterType}:
        raise ValidationFailed([Problem(
            "requester_type", f"{code!r} is not a requester type: court, executive, "
            "police or regulator", "requester_type", value=code)])
    with transaction():
        agency = _locked_agency(agency_id)
        agency.requester_type = RequesterType(code) if code else None
    log.info("agency %s requester type %s by user %s", agency.id, code or "-", actor.user_id)
    return agency
