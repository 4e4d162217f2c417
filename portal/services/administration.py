"""The administrator's operations: verifying agencies, managing accounts, maintaining SLA
policies and holiday overrides.

Each public function that changes something is one transaction. Agencies and users have
no audit chain of their own (that is per request): what a change did is kept in the
columns it sets (``status``, ``status_reason``, ``verified_at`` …) and one ``portal.admin``
log line names who did it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from math import ceil
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit
from zoneinfo import available_timezones

import holidays as pyholidays
import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import Select

from portal.extensions import db
from portal.models import Agency, HolidayOverride, SlaPolicy, User, VerificationStatus
from portal.models.columns import utcnow
from portal.services import accounts, clocks, notify, passwords
from portal.services.actors import Actor
from portal.services.errors import Conflict, FieldError, NotFound, ValidationFailed
from portal.services.listing import page_number
from portal.services.passwords import LinkPurpose
from portal.services.transaction import lock_for_writing, transaction
from workflows import calendars, sla
from workflows.codes import Category, Priority
from workflows.roles import Role

log = logging.getLogger("portal.admin")

T = TypeVar("T")

#: Page sizes of the admin lists.
DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 100
#: How many pending agencies the verification queue shows at once.
QUEUE_SIZE = 20
#: How many officials an agency page lists (the users list has them all).
OFFICIALS_SHOWN = 100

#: Roles the platform's own people hold; an official never becomes one, nor the reverse.
STAFF_CHOICES: tuple[Role, ...] = (Role.LEGAL_REVIEWER, Role.PLATFORM_LIAISON, Role.ADMIN)

MAX_REASON_LENGTH = 2000
_POLICY_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class Problem(FieldError):
    """A field error that names the offending value (a jurisdiction code, a threshold),
    so a page can say which one in the reader's language."""

    value: str = ""


# -- paging -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, the total count and where it is."""

    items: list[T]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _bounds(number: int, per_page: int) -> tuple[int, int]:
    return page_number(number), min(max(per_page, 1), MAX_PER_PAGE)


def _count(query: Select[Any]) -> int:
    counted = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    return db.session.scalar(counted) or 0


def _page_of(query: Select[Any], number: int, per_page: int) -> Page[Any]:
    number, per_page = _bounds(number, per_page)
    total = _count(query)
    rows = db.session.scalars(query.limit(per_page).offset((number - 1) * per_page)).all()
    return Page(list(rows), total, number, per_page)


def _like(column: Any, text: str) -> Any:
    return column.icontains(text, autoescape=True)


# -- agencies ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AgencyRow:
    agency: Agency
    officials: int


def verification_queue(limit: int = QUEUE_SIZE) -> tuple[list[Agency], int]:
    """Pending agencies, oldest registration first, and how many are pending in all."""
    pending = sa.select(Agency).where(Agency.status == VerificationStatus.PENDING)
    rows = db.session.scalars(pending.order_by(Agency.created_at, Agency.id).limit(limit)).all()
    return list(rows), _count(pending)


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
        matches = [_like(Agency.name, text), _like(Agency.official_domain, text)]
        if len(text) == 2 and text.isascii() and text.isalpha():
            matches.append(Agency.country == text.upper())
        query = query.where(sa.or_(*matches))
    number, per_page = _bounds(number, per_page)
    total = _count(query)
    rows = db.session.execute(
        query.add_columns(officials).order_by(Agency.name, Agency.id)
        .limit(per_page).offset((number - 1) * per_page)
    ).all()
    return Page([AgencyRow(agency, count) for agency, count in rows], total, number, per_page)


def agency_officials(agency_id: int, limit: int = OFFICIALS_SHOWN) -> tuple[list[User], int]:
    """The agency's officials by name (at most ``limit``) and how many it has."""
    query = sa.select(User).where(User.agency_id == agency_id)
    rows = db.session.scalars(query.order_by(User.name, User.email).limit(limit)).all()
    return list(rows), _count(query)


def agency_choices() -> list[tuple[int, str, str]]:
    """``(id, name, country)`` of every agency an official may be added to (not rejected)."""
    rows = db.session.execute(
        sa.select(Agency.id, Agency.name, Agency.country)
        .where(Agency.status != VerificationStatus.REJECTED)
        .order_by(Agency.name, Agency.id)
    ).all()
    return [(row.id, row.name, row.country) for row in rows]


def _locked_agency(agency_id: int) -> Agency:
    lock_for_writing()
    agency = db.session.scalars(
        sa.select(Agency).where(Agency.id == agency_id).with_for_update()
    ).first()
    if agency is None:
        raise NotFound(f"no agency {agency_id}")
    return agency


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed([FieldError("reason", "a reason is required", "required")])
    if len(text) > MAX_REASON_LENGTH:
        raise ValidationFailed([FieldError(
            "reason", f"at most {MAX_REASON_LENGTH} characters", "too_long")])
    return text


def _refuse_status(agency: Agency, action: str) -> Conflict:
    return Conflict(f"cannot {action} an agency that is {agency.status.value}")


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


def _end_of(day: date) -> datetime:
    """A verification "until" a date lasts through that whole day (UTC)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def approve_agency(actor: Actor, agency_id: int, *, valid_until: date | None,
                   now: datetime | None = None) -> Agency:
    """Verify the agency (or renew its verification) until the end of ``valid_until``,
    and tell its officials.

    Any status may be approved: a pending or rejected registration, a suspended agency
    (this lifts the suspension) or a verified one (a renewal).

    Raises:
        NotFound: no such agency.
        ValidationFailed: no date, or a date that is not after today.
    """
    now = now or utcnow()
    if valid_until is None:
        raise ValidationFailed([FieldError("valid_until", "an expiry date is required",
                                           "required")])
    if valid_until <= now.date():
        raise ValidationFailed([FieldError("valid_until", "the expiry date must be after today",
                                           "not_future")])
    with transaction():
        agency = _locked_agency(agency_id)
        agency.status = VerificationStatus.VERIFIED
        agency.status_reason = None
        agency.verified_at = now
        agency.verified_until = _end_of(valid_until)
        sent = _mail_officials(agency, now)
    log.info("agency %s verified until %s by user %s", agency.id, valid_until, actor.user_id)
    notify.deliver_now(sent)
    return agency


def reject_agency(actor: Actor, agency_id: int, *, reason: str,
                  now: datetime | None = None) -> Agency:
    """Refuse a pending registration, with the reason its officials are told.

    Raises:
        NotFound: no such agency.
        ValidationFailed: no reason, or one too long.
        Conflict: the agency is not pending.
    """
    now = now or utcnow()
    text = _reason(reason)
    with transaction():
        agency = _locked_agency(agency_id)
        if agency.status is not VerificationStatus.PENDING:
            raise _refuse_status(agency, "reject")
        agency.status = VerificationStatus.REJECTED
        agency.status_reason = text
        sent = _mail_officials(agency, now)
    log.info("agency %s rejected by user %s", agency.id, actor.user_id)
    notify.deliver_now(sent)
    return agency


def suspend_agency(actor: Actor, agency_id: int, *, reason: str,
                   now: datetime | None = None) -> Agency:
    """Stop a verified agency from filing, with the reason its officials are told.

    Raises:
        NotFound: no such agency.
        ValidationFailed: no reason, or one too long.
        Conflict: the agency is not verified.
    """
    now = now or utcnow()
    text = _reason(reason)
    with transaction():
        agency = _locked_agency(agency_id)
        if agency.status is not VerificationStatus.VERIFIED:
            raise _refuse_status(agency, "suspend")
        agency.status = VerificationStatus.SUSPENDED
        agency.status_reason = text
        sent = _mail_officials(agency, now)
    log.info("agency %s suspended by user %s", agency.id, actor.user_id)
    notify.deliver_now(sent)
    return agency


def reinstate_agency(actor: Actor, agency_id: int, *, now: datetime | None = None) -> Agency:
    """Lift a suspension; the verification keeps its expiry date.

    Raises:
        NotFound: no such agency.
        Conflict: the agency is not suspended.
        ValidationFailed: its verification has expired meanwhile (approve it again with a
            new date instead).
    """
    now = now or utcnow()
    with transaction():
        agency = _locked_agency(agency_id)
        if agency.status is not VerificationStatus.SUSPENDED:
            raise _refuse_status(agency, "reinstate")
        if agency.verified_until is None or agency.verified_until <= now:
            raise ValidationFailed([FieldError(
                "valid_until", "the verification has expired: approve it with a new date",
                "expired")])
        agency.status = VerificationStatus.VERIFIED
        agency.status_reason = None
        sent = _mail_officials(agency, now)
    log.info("agency %s reinstated by user %s", agency.id, actor.user_id)
    notify.deliver_now(sent)
    return agency


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


# -- users ------------------------------------------------------------------------------

def list_users(*, role: str | None = None, search: str = "", agency_id: int | None = None,
               number: int = 1, per_page: int = DEFAULT_PER_PAGE) -> Page[User]:
    """Users by e-mail address, optionally of one role or agency and matching ``search``
    (part of the address or the name); each with its agency loaded in the same query."""
    query = sa.select(User).options(joinedload(User.agency))
    if role:
        query = query.where(User.role == Role(role))
    if agency_id is not None:
        query = query.where(User.agency_id == agency_id)
    text = search.strip()
    if text:
        query = query.where(sa.or_(_like(User.email, text), _like(User.name, text)))
    return _page_of(query.order_by(User.email, User.id), number, per_page)


def get_user(user_id: int) -> User:
    """Raises: NotFound."""
    user = db.session.scalars(
        sa.select(User).options(joinedload(User.agency)).where(User.id == user_id)
    ).first()
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def create_account(actor: Actor, *, email: str, role: str, agency_id: int | None = None,
                   name: str = "", password: str | None = None, locale: str = "en",
                   timezone: str = "", setup: SetupLinks | None = None) -> User:
    """Create a staff account or an agency official.

    Either ``password`` is the initial password, or the new user is mailed the ``setup``
    links to choose one (see :func:`send_setup_link`). A blank ``timezone`` is the
    agency's country's for an official, UTC for staff.

    Raises:
        ValidationFailed: everything ``accounts.create_user`` refuses, an unknown time
            zone, or neither a password nor setup links.
    """
    zone = timezone.strip()
    if zone and zone not in _zones():
        raise ValidationFailed([Problem("timezone", f"unknown time zone {zone!r}",
                                        "unknown_zone", value=zone)])
    if password is None and setup is None:
        raise ValidationFailed([FieldError("password", "an initial password is required",
                                           "required")])
    if not zone:
        agency = db.session.get(Agency, agency_id) if agency_id is not None else None
        zone = calendars.country_timezone(agency.country).key if agency else "UTC"
    user = accounts.create_user(email, role=role, agency_id=agency_id, password=password,
                                name=name.strip(), locale=locale, timezone=zone)
    log.info("user %s (%s) created by user %s", user.id, user.role.value, actor.user_id)
    if password is None and setup is not None:
        send_setup_link(actor, user.id, setup)
    return user


@dataclass(frozen=True)
class SetupLinks:
    """Where a person chooses their password: ``reset`` turns a one-time token into the
    absolute URL of the sign-in pages' reset page (``None`` when there is none), and
    ``forgot`` is the page that mails a fresh link."""

    forgot: str
    reset: Callable[[str], str] | None = None


def send_setup_link(actor: Actor, user_id: int, setup: SetupLinks,
                    now: datetime | None = None) -> None:
    """Mail the user a one-time link to choose their password (and the page that sends a
    fresh one once it has expired).

    Raises:
        NotFound: no such user.
    """
    now = now or utcnow()
    with transaction():
        user = get_user(user_id)
        link = setup.reset(passwords.make_token(user, LinkPurpose.RESET)) if setup.reset \
            else None
        note = notify.enqueue_mail(
            "admin_account_created", recipient=user.email, locale=user.locale,
            user_id=user.id, dedup_key=f"account-setup:{user.id}:{now.isoformat()}", now=now,
            params={"name": user.name, "email": user.email, "link": link,
                    "minutes": max(passwords.max_age(LinkPurpose.RESET) // 60, 1),
                    "forgot": setup.forgot},
        )
        db.session.flush()
        sent = [note.id]
    log.info("password setup link for user %s sent by user %s", user_id, actor.user_id)
    notify.deliver_now(sent)


def _locked_user(user_id: int) -> User:
    lock_for_writing()
    user = db.session.scalars(sa.select(User).where(User.id == user_id).with_for_update()
                              ).first()
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _keep_an_admin(user: User, field: str) -> None:
    """Refuse to take away the last active administrator (locks the admins' rows, so two
    administrators demoting each other at once cannot both succeed)."""
    if user.role is not Role.ADMIN or not user.active:
        return
    admins = db.session.scalars(
        sa.select(User.id).where(User.role == Role.ADMIN, User.active.is_(True))
        .with_for_update()
    ).all()
    if set(admins) <= {user.id}:
        raise ValidationFailed([FieldError(field, "the last active administrator must stay",
                                           "last_admin")])


def change_role(actor: Actor, user_id: int, role: str) -> User:
    """Move a staff member to another staff role. Officials stay officials, staff stay
    staff; an administrator cannot change their own role; the last active administrator
    stays one. A liaison lead who stops being a liaison is no longer a lead.

    Raises:
        NotFound: no such user.
        ValidationFailed: a role outside the staff roles, an official, one's own role, or
            the last active administrator.
    """
    choices = {r.value for r in STAFF_CHOICES}
    if role not in choices:
        raise ValidationFailed([FieldError("role", "choose a staff role", "choice")])
    chosen = Role(role)
    with transaction():
        user = _locked_user(user_id)
        if user.role not in STAFF_CHOICES:
            raise ValidationFailed([FieldError(
                "role", "an agency official cannot become staff", "official_staff")])
        if user.id == actor.user_id and chosen is not user.role:
            raise ValidationFailed([FieldError("role", "you cannot change your own role",
                                               "self")])
        if chosen is user.role:
            return user
        if chosen is not Role.ADMIN:
            _keep_an_admin(user, "role")
        user.role = chosen
        if chosen is not Role.PLATFORM_LIAISON:
            user.liaison_lead = False
    log.info("user %s now %s, by user %s", user.id, chosen.value, actor.user_id)
    return user


def set_liaison_lead(actor: Actor, user_id: int, lead: bool) -> User:
    """Make a platform liaison a lead (told personally of breaches), or not.

    Raises:
        NotFound: no such user.
        ValidationFailed: making a lead of someone who is not a platform liaison.
    """
    with transaction():
        user = _locked_user(user_id)
        if lead and user.role is not Role.PLATFORM_LIAISON:
            raise ValidationFailed([FieldError(
                "liaison_lead", "only platform liaisons can lead", "not_liaison")])
        user.liaison_lead = lead
    log.info("user %s liaison lead %s, by user %s", user.id, lead, actor.user_id)
    return user


def set_active(actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate (cannot sign in) or reactivate an account.

    Raises:
        NotFound: no such user.
        ValidationFailed: deactivating oneself, or the last active administrator.
    """
    with transaction():
        user = _locked_user(user_id)
        if not active:
            if user.id == actor.user_id:
                raise ValidationFailed([FieldError(
                    "active", "you cannot deactivate your own account", "self")])
            _keep_an_admin(user, "active")
        user.active = active
    log.info("user %s active %s, by user %s", user.id, active, actor.user_id)
    return user


# -- SLA policies -----------------------------------------------------------------------

@dataclass(frozen=True)
class RuleData:
    """One target's rule as entered: ``seconds`` of wall or working time, or a cut-off."""

    kind: str
    seconds: int = 0
    cutoff: str | None = None
    resume: str = "extend"


@dataclass(frozen=True)
class PolicyData:
    """A policy as entered. Empty match lists mean "any"; ``targets`` omits the targets
    the policy sets no deadline for. ``code`` only counts when the policy is created."""

    name: str
    source: str
    code: str = ""
    jurisdictions: Sequence[str] = ()
    categories: Sequence[str] = ()
    exclude_categories: Sequence[str] = ()
    priorities: Sequence[str] = ()
    targets: dict[str, RuleData] = field(default_factory=dict)
    thresholds: Sequence[float] = sla.DEFAULT_THRESHOLDS
    source_url: str = ""
    active: bool = True
    position: int = 0


def list_policies() -> list[SlaPolicy]:
    """Every policy in match order (a handful: operators write them by hand)."""
    return list(db.session.scalars(
        sa.select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)))


def get_policy(policy_id: int) -> SlaPolicy:
    """Raises: NotFound."""
    row = db.session.get(SlaPolicy, policy_id)
    if row is None:
        raise NotFound(f"no policy {policy_id}")
    return row


def _codes(values: Iterable[str], allowed: type[Category] | type[Priority], name: str,
           errors: list[FieldError]) -> list[str] | None:
    chosen = sorted({v for v in values if v})
    known = {member.value for member in allowed}
    for value in chosen:
        if value not in known:
            errors.append(Problem(name, f"unknown code {value!r}", "choice", value=value))
    return chosen or None


def _jurisdictions(values: Iterable[str], errors: list[FieldError]) -> list[str] | None:
    chosen: list[str] = []
    for raw in values:
        code = raw.strip().upper()
        if not code:
            continue
        if code in sla.JURISDICTION_GROUPS or (
                len(code) == 2 and code.isascii() and code.isalpha()):
            if code not in chosen:
                chosen.append(code)
        else:
            errors.append(Problem("jurisdictions", f"{raw.strip()!r} is not a country code "
                                  "or a known group", "jurisdiction", value=raw.strip()))
    return sorted(chosen) or None


def _thresholds(values: Sequence[float], errors: list[FieldError]) -> list[float]:
    found = [float(v) for v in values]
    if not found:
        errors.append(FieldError("thresholds", "at least the breach (1.0) is needed",
                                 "required"))
        return found
    for value in found:
        if not 0 < value <= 1:
            errors.append(Problem("thresholds", f"{value} is not in (0, 1]",
                                  "threshold_range", value=str(value)))
    if any(a >= b for a, b in zip(found, found[1:], strict=False)):
        errors.append(FieldError("thresholds", "thresholds must increase",
                                 "threshold_order"))
    if found[-1] != 1.0:
        errors.append(FieldError("thresholds", "the last threshold must be 1.0 (the breach)",
                                 "threshold_last"))
    return found


def _rule(target: str, data: RuleData, errors: list[FieldError]) -> dict[str, Any] | None:
    """The stored form of one rule, checked by building the pure rule."""
    before = len(errors)
    try:
        kind = sla.ClockKind(data.kind)
    except ValueError:
        errors.append(FieldError(f"{target}.kind", f"unknown clock kind {data.kind!r}",
                                 "choice"))
        return None
    if data.resume not in {r.value for r in sla.ResumeRule}:
        errors.append(FieldError(f"{target}.resume", f"unknown resume rule {data.resume!r}",
                                 "choice"))
    if kind is sla.ClockKind.END_OF_DAY:
        if not data.cutoff:
            errors.append(FieldError(f"{target}.cutoff", "an end-of-day rule needs a cut-off",
                                     "cutoff_required"))
    elif data.seconds <= 0:
        code = "business_duration" if kind is sla.ClockKind.BUSINESS else "duration"
        errors.append(FieldError(f"{target}.duration", "the duration must be positive", code))
    if len(errors) > before:
        return None
    stored = {
        "kind": kind.value,
        "seconds": 0 if kind is sla.ClockKind.END_OF_DAY else int(data.seconds),
        "cutoff": data.cutoff if kind is sla.ClockKind.END_OF_DAY else None,
        "resume": data.resume,
    }
    try:
        clocks.rule_from_json(stored)
    except (ValueError, KeyError) as exc:
        errors.append(FieldError(f"{target}.kind", str(exc), "rule"))
        return None
    return stored


def _url(value: str, errors: list[FieldError]) -> str:
    url = value.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        errors.append(FieldError("source_url", "an http:// or https:// address", "url"))
    return url


def check_policy(data: PolicyData, *, code: str) -> dict[str, Any]:
    """The column values for ``data``, after checking every rule; every problem found is
    reported at once. The final word is the pure ``workflows.sla.Policy``: whatever it
    refuses is refused.

    Raises:
        ValidationFailed: with one error per problem.
    """
    errors: list[FieldError] = []
    name = data.name.strip()
    if not name or len(name) > 200:
        errors.append(FieldError("name", "a name of 1 to 200 characters", "required"
                                 if not name else "too_long"))
    source = data.source.strip()
    if not source:
        errors.append(FieldError("source", "cite the law or commitment", "required"))
    elif len(source) > 500:
        errors.append(FieldError("source", "at most 500 characters", "too_long"))
    values: dict[str, Any] = {
        "name": name,
        "source": source,
        "source_url": _url(data.source_url, errors),
        "jurisdictions": _jurisdictions(data.jurisdictions, errors),
        "categories": _codes(data.categories, Category, "categories", errors),
        "exclude_categories": _codes(data.exclude_categories, Category,
                                     "exclude_categories", errors) or [],
        "priorities": _codes(data.priorities, Priority, "priorities", errors),
        "thresholds": _thresholds(data.thresholds, errors),
        "active": bool(data.active),
        "position": data.position,
    }
    if not 0 <= data.position <= 10_000:
        errors.append(FieldError("position", "a position from 0 to 10000", "invalid"))
    both = set(values["categories"] or ()) & set(values["exclude_categories"])
    if both:
        errors.append(Problem("exclude_categories", "a category cannot be both included "
                              "and excluded", "overlap", value=", ".join(sorted(both))))
    targets: dict[str, Any] = {}
    known = {t.value for t in sla.Target}
    for target, rule in data.targets.items():
        if target not in known:
            errors.append(FieldError("targets", f"unknown target {target!r}", "choice"))
            continue
        stored = _rule(target, rule, errors)
        if stored is not None:
            targets[target] = stored
    if not data.targets:
        errors.append(FieldError("targets", "the policy sets no deadline", "no_target"))
    values["targets"] = targets
    if not errors:
        row = SlaPolicy(code=code, **values)
        try:
            clocks.to_policy(row)
        except (ValueError, KeyError) as exc:
            errors.append(FieldError("targets", str(exc), "rule"))
    if errors:
        raise ValidationFailed(errors)
    return values


def create_policy(actor: Actor, data: PolicyData, *, now: datetime | None = None
                  ) -> SlaPolicy:
    """Add a policy. It applies to clocks started from now on.

    Raises:
        ValidationFailed: a bad or taken code, or anything :func:`check_policy` refuses.
    """
    now = now or utcnow()
    code = data.code.strip().lower()
    errors: list[FieldError] = []
    if not _POLICY_CODE.match(code):
        errors.append(FieldError("code", "lower-case letters, digits and hyphens",
                                 "policy_code"))
    elif db.session.scalar(sa.select(SlaPolicy.id).where(SlaPolicy.code == code)):
        errors.append(FieldError("code", f"{code} is already used", "taken"))
    try:
        values = check_policy(data, code=code)
    except ValidationFailed as exc:
        raise ValidationFailed(errors + exc.errors) from None
    if errors:
        raise ValidationFailed(errors)
    row = SlaPolicy(code=code, updated_at=now, **values)
    with transaction():
        db.session.add(row)
    log.info("SLA policy %s created by user %s", code, actor.user_id)
    return row


def update_policy(actor: Actor, policy_id: int, data: PolicyData, *,
                  seen: datetime | None = None, now: datetime | None = None) -> SlaPolicy:
    """Change a policy. Running clocks keep the deadlines they were given; the change
    applies to clocks started from now on. ``seen`` is the ``updated_at`` the editor
    loaded: if the policy changed since, nothing is saved.

    Raises:
        NotFound: no such policy.
        ValidationFailed: anything :func:`check_policy` refuses.
        Conflict: someone else saved the policy since ``seen``.
    """
    now = now or utcnow()
    with transaction():
        lock_for_writing()
        row = db.session.scalars(
            sa.select(SlaPolicy).where(SlaPolicy.id == policy_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound(f"no policy {policy_id}")
        if seen is not None and row.updated_at != seen:
            raise Conflict(f"policy {row.code} was changed by someone else")
        values = check_policy(data, code=row.code)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = now
    log.info("SLA policy %s changed by user %s", row.code, actor.user_id)
    return row


# -- holiday overrides ------------------------------------------------------------------

@dataclass(frozen=True)
class HolidayDay:
    """One date of the comparison: what the package predicts and what an override says.

    ``effect`` is ``predicted`` (no override), ``added`` (an override adds a holiday),
    ``confirmed`` (an override repeats a predicted one), ``cancelled`` (an override
    removes a predicted one) or ``no_effect`` (an override removes a day that was not a
    holiday anyway).
    """

    day: date
    predicted: str | None
    override: HolidayOverride | None

    @property
    def effect(self) -> str:
        if self.override is None:
            return "predicted"
        if self.override.holiday:
            return "confirmed" if self.predicted is not None else "added"
        return "cancelled" if self.predicted is not None else "no_effect"

    @property
    def is_holiday(self) -> bool:
        if self.override is not None:
            return self.override.holiday
        return self.predicted is not None


@dataclass(frozen=True)
class HolidayComparison:
    country: str
    year: int
    subdivision: str | None
    supported: bool
    timezone: str
    weekend: list[int]
    days: list[HolidayDay]


@lru_cache(maxsize=1)
def supported_countries() -> Mapping[str, tuple[str, ...]]:
    """Countries python-holidays knows, with their subdivision codes (asking the package
    costs several milliseconds, so it is asked once)."""
    return MappingProxyType({code: tuple(subdivs) for code, subdivs in
                             pyholidays.list_supported_countries().items()})


def _country(raw: str, errors: list[FieldError]) -> str:
    code = raw.strip().upper()
    if not (len(code) == 2 and code.isascii() and code.isalpha()):
        errors.append(FieldError("country", "a two-letter ISO 3166-1 country code", "invalid"))
    return code


def _subdivision(country: str, raw: str | None, errors: list[FieldError]) -> str | None:
    subdivision = (raw or "").strip().upper() or None
    if subdivision is None:
        return None
    known = supported_countries().get(country)
    if known is None or subdivision not in {s.upper() for s in known}:
        errors.append(Problem("subdivision", f"{subdivision} is not a subdivision of {country}",
                              "subdivision", value=subdivision))
    return subdivision


def list_overrides(*, country: str | None = None, number: int = 1,
                   per_page: int = DEFAULT_PER_PAGE) -> Page[HolidayOverride]:
    """Overrides by country and date, optionally of one country."""
    query = sa.select(HolidayOverride)
    if country:
        query = query.where(HolidayOverride.country == country.strip().upper())
    query = query.order_by(HolidayOverride.country, HolidayOverride.day.desc(),
                           HolidayOverride.id)
    return _page_of(query, number, per_page)


def add_override(actor: Actor, *, country: str, day: date | None, holiday: bool,
                 subdivision: str | None = None, name: str = "",
                 now: datetime | None = None) -> HolidayOverride:
    """Add a holiday (``holiday=True``) or cancel a predicted one (``False``) on ``day``.

    It applies to clocks started (or resumed) from now on.

    Raises:
        ValidationFailed: a bad country, an unknown subdivision, no date, a name too
            long, or an override for that day and place already exists.
    """
    now = now or utcnow()
    errors: list[FieldError] = []
    code = _country(country, errors)
    subdivision = _subdivision(code, subdivision, errors) if not errors else None
    label = name.strip()
    if len(label) > 200:
        errors.append(FieldError("name", "at most 200 characters", "too_long"))
    if day is None:
        errors.append(FieldError("day", "a date is required", "required"))
    if errors:
        raise ValidationFailed(errors)
    assert day is not None
    with transaction():
        lock_for_writing()
        same_place = (HolidayOverride.subdivision.is_(None) if subdivision is None
                      else HolidayOverride.subdivision == subdivision)
        if db.session.scalar(sa.select(HolidayOverride.id).where(
                HolidayOverride.country == code, same_place, HolidayOverride.day == day)):
            raise ValidationFailed([FieldError(
                "day", "there is already an override for that day", "override_taken")])
        row = HolidayOverride(country=code, subdivision=subdivision, day=day,
                              holiday=holiday, name=label, created_at=now)
        db.session.add(row)
    log.info("holiday override %s %s %s (%s) by user %s", code, subdivision or "-", day,
             holiday, actor.user_id)
    return row


def delete_override(actor: Actor, override_id: int) -> HolidayOverride:
    """Remove an override; the package's prediction applies again.

    Raises:
        NotFound: no such override.
    """
    with transaction():
        row = db.session.get(HolidayOverride, override_id)
        if row is None:
            raise NotFound(f"no holiday override {override_id}")
        db.session.delete(row)
    log.info("holiday override %s %s %s deleted by user %s", row.country, row.subdivision,
             row.day, actor.user_id)
    return row


def _holiday_language(country: str, locale: str) -> str | None:
    """The python-holidays language closest to the reader's locale, if it has one."""
    languages = pyholidays.list_localized_countries().get(country, [])
    for language in languages:
        if language == locale:
            return language
    for language in languages:
        if language.split("_")[0] == locale:
            return language
    return None


@lru_cache(maxsize=256)
def _predicted(country: str, subdivision: str | None, year: int,
               language: str | None) -> tuple[tuple[date, str], ...]:
    # Building a table costs up to ~0.1 s for some countries (lunar calendars): cached.
    if country not in supported_countries():
        return ()
    table = pyholidays.country_holidays(country, subdiv=subdivision, years=year,
                                        language=language)
    return tuple(sorted(table.items()))


def compare_holidays(country: str, year: int, *, subdivision: str | None = None,
                     locale: str = "en") -> HolidayComparison:
    """For one country (and subdivision) and year: the public holidays python-holidays
    predicts side by side with the overrides that apply there, so the effect of each
    override is visible.

    Raises:
        ValidationFailed: a bad country code or an unknown subdivision.
    """
    errors: list[FieldError] = []
    code = _country(country, errors)
    subdivision = _subdivision(code, subdivision, errors) if not errors else None
    if errors:
        raise ValidationFailed(errors)
    predicted = dict(_predicted(code, subdivision, year, _holiday_language(code, locale)))
    overrides = db.session.scalars(
        sa.select(HolidayOverride).where(
            HolidayOverride.country == code,
            sa.or_(HolidayOverride.subdivision.is_(None),
                   HolidayOverride.subdivision == subdivision),
            HolidayOverride.day >= date(year, 1, 1),
            HolidayOverride.day <= date(year, 12, 31),
        ).order_by(HolidayOverride.subdivision.is_(None).desc(), HolidayOverride.id)
    ).all()
    # As the calendars apply them, a subdivision's override wins over the country's.
    by_day = {row.day: row for row in overrides}
    days = sorted(set(predicted) | set(by_day))
    return HolidayComparison(
        country=code, year=year, subdivision=subdivision,
        supported=code in supported_countries(),
        timezone=calendars.country_timezone(code).key,
        weekend=sorted(calendars.WEEKENDS.get(code, calendars.SATURDAY_SUNDAY)),
        days=[HolidayDay(day, predicted.get(day), by_day.get(day)) for day in days],
    )
