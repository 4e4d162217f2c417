"""Agencies registering themselves, and officials inviting colleagues.

A registration creates a pending agency and its first official (without a password: the
confirmation link mailed to the official sets it) and tells every active administrator
that an agency awaits verification, all in one transaction. An official of an agency
that may file invites colleagues on the agency's domain; each gets a link to set their
name and password.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from babel import Locale
from babel.core import get_global

from portal.extensions import db
from portal.models import Agency, Notification, User, VerificationStatus
from portal.models.columns import utcnow
from portal.services import attachments, documents, notify, official_domains
from portal.services.accounts import _DOMAIN, normalise_email
from portal.services.actors import Actor
from portal.services.errors import FieldError, Forbidden, ValidationFailed
from portal.services.paging import Page, page_of
from portal.services.passwords import LinkPurpose, make_token, max_age
from portal.services.transaction import lock_for_writing, transaction
from workflows.roles import Role

MAX_NAME_LENGTH = 200
#: Territory codes CLDR knows that are not countries (EU, UN, pseudo-locales, unknown).
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes of the countries an agency may belong to."""
    codes = (str(code) for code in Locale("en").territories)
    return frozenset(code for code in codes
                     if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)


def default_time_zone(country: str) -> str:
    """The country's time zone when it has exactly one, else UTC (changeable later)."""
    zones = get_global("territory_zones").get(country, [])
    return str(zones[0]) if len(zones) == 1 else "UTC"


def on_domain(address: str, domain: str) -> bool:
    """Whether an address is on ``domain`` or one of its subdomains."""
    host = address.rpartition("@")[2]
    return host == domain or host.endswith("." + domain)


@dataclass(frozen=True)
class AgencyRegistration:
    """What a registering agency tells the portal."""

    agency_name: str
    country: str
    domain: str
    official_name: str
    official_email: str
    locale: str = "en"
    #: Proof of who the agency is (a letter of appointment, a decree, …): PDFs that
    #: only administrators read, in the verification queue.
    evidence: Sequence[documents.DocumentInput] = ()


def _clean_domain(raw: str) -> str:
    domain = raw.strip().lower().rstrip(".")
    for prefix in ("https://", "http://"):
        if domain.startswith(prefix):
            domain = domain[len(prefix):]
    domain = domain.split("/", 1)[0]
    return domain[4:] if domain.startswith("www.") else domain


def _name_errors(field: str, value: str) -> list[FieldError]:
    if not value:
        return [FieldError(field, "a name is required", "required")]
    if len(value) > MAX_NAME_LENGTH:
        return [FieldError(field, f"at most {MAX_NAME_LENGTH} characters", "too_long")]
    return []


def _domain_errors(domain: str) -> list[FieldError]:
    if not _DOMAIN.match(domain):
        return [FieldError("domain", f"{domain!r} is not a domain name", "invalid")]
    refused = official_domains.refusal(domain)
    if refused is not None:
        return [refused]
    if db.session.scalar(sa.select(Agency.id).where(Agency.official_domain == domain)):
        return [FieldError("domain", f"{domain} is already registered", "taken")]
    labels = domain.split(".")
    parents = [".".join(labels[i:]) for i in range(1, len(labels))]
    related = db.session.scalar(
        sa.select(Agency.official_domain).where(sa.or_(
            Agency.official_domain.in_(parents),
            Agency.official_domain.endswith("." + domain, autoescape=True),
        )).limit(1)
    )
    if related is not None:
        return [FieldError("domain", f"{domain} overlaps the registered domain {related}",
                           "overlaps")]
    return []


def _email_errors(field: str, raw: str, domain: str) -> tuple[str, list[FieldError]]:
    try:
        address = normalise_email(raw)
    except ValidationFailed as exc:
        return "", [FieldError(field, exc.errors[0].message, "invalid")]
    if domain and not on_domain(address, domain):
        return address, [FieldError(field, f"the address must be on {domain}", "domain")]
    if db.session.scalar(sa.select(User.id).where(User.email == address)):
        return address, [FieldError(field, f"{address} already has an account", "taken")]
    return address, []


def register_agency(data: AgencyRegistration, *, confirm_link: Callable[[str], str],
                    review_link: str, account_link: str,
                    now: datetime | None = None) -> User | None:
    """Register a pending agency and its first official, mail the official a link to
    set a password, and tell the administrators; returns the official.

    An address that already has an account is never reported as such (the form would
    tell anyone which addresses have accounts): its owner is mailed instead, nothing is
    registered, and ``None`` is returned, which the caller answers like a registration.

    ``confirm_link`` turns a token into the absolute URL of the confirmation page;
    ``review_link`` is where administrators verify agencies; ``account_link`` is where
    an owner who forgot their password asks for a new one.

    Raises:
        ValidationFailed: every problem found (fields ``agency_name``, ``country``,
            ``domain``, ``official_name``, ``official_email``): blank or too long
            names, unknown country, malformed, taken or overlapping domain, a public
            suffix or a public mail service's domain, malformed
            address, or an address off the domain; field ``evidence`` (by position):
            a refused document (:func:`documents.check_documents`). Nothing is stored,
            no file is left behind.
    """
    now = now or utcnow()
    agency_name = data.agency_name.strip()
    official_name = data.official_name.strip()
    country = data.country.strip().upper()
    domain = _clean_domain(data.domain)
    evidence_errors = documents.check_documents(data.evidence, "evidence")
    with attachments.staged() as staging, transaction():
        lock_for_writing()  # two registrations of one domain: the second sees the first
        errors = _name_errors("agency_name", agency_name)
        if country not in country_codes():
            errors.append(FieldError("country", "an ISO 3166-1 alpha-2 country code",
                                     "choice"))
        domain_errors = _domain_errors(domain)
        errors += domain_errors
        errors += _name_errors("official_name", official_name)
        checked_domain = "" if domain_errors and domain_errors[0].code == "invalid" else domain
        address, email_errors = _email_errors("official_email", data.official_email,
                                              checked_domain)
        taken = [e for e in email_errors if e.code == "taken"]
        errors += [e for e in email_errors if e.code != "taken"]
        errors += evidence_errors
        if errors:
            raise ValidationFailed(errors)
        official: User | None = None
        if taken:
            ids = [_tell_owner(address, agency_name, domain, account_link, now)]
        else:
            official, ids = _register(agency_name, country, domain, official_name, address,
                                      data.locale, confirm_link, review_link, now)
            assert official.agency_id is not None
            documents.add_evidence(official.agency_id, official.id, data.evidence, now,
                                   staging)
    notify.deliver_now(ids)
    return official


def _tell_owner(address: str, agency_name: str, domain: str, account_link: str,
                now: datetime) -> int:
    """Mail the owner of ``address`` that someone tried to register an agency with it."""
    owner = db.session.scalar(sa.select(User).where(User.email == address))
    assert owner is not None, "the address was found taken in this transaction"
    note = notify.enqueue_mail(
        "registration_attempt", recipient=address, locale=owner.locale, user_id=owner.id,
        now=now, dedup_key=f"registration-attempt:{owner.id}:{int(now.timestamp()) // 60}",
        params={"name": owner.name or address, "agency": agency_name, "domain": domain,
                "link": account_link})
    db.session.flush()
    return note.id


def _register(agency_name: str, country: str, domain: str, official_name: str, address: str,
              locale: str, confirm_link: Callable[[str], str], review_link: str,
              now: datetime) -> tuple[User, list[int]]:
    """The pending agency, its first official and their mails, in the caller's
    transaction; returns the official and the ids of the mails to deliver."""
    agency = Agency(name=agency_name, country=country, official_domain=domain,
                    status=VerificationStatus.PENDING, created_at=now)
    db.session.add(agency)
    db.session.flush()
    official = User(email=address, role=Role.AGENCY_OFFICIAL, agency_id=agency.id,
                    name=official_name, locale=locale,
                    timezone=default_time_zone(country), created_at=now)
    db.session.add(official)
    db.session.flush()
    hours = max(max_age(LinkPurpose.CONFIRM) // 3600, 1)
    notes = [notify.enqueue_mail(
        "confirm_registration", recipient=address, locale=official.locale,
        user_id=official.id, dedup_key=f"confirm-registration:{official.id}", now=now,
        params={"name": official_name, "agency": agency_name, "domain": domain,
                "link": confirm_link(make_token(official, LinkPurpose.CONFIRM)),
                "hours": hours},
    )]
    admins = db.session.scalars(
        sa.select(User).where(User.role == Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
    ).all()
    for admin in admins:
        notes.append(notify.enqueue_mail(
            "agency_awaiting_verification", recipient=admin.email, locale=admin.locale,
            user_id=admin.id, dedup_key=f"agency-registered:{agency.id}:{admin.id}",
            now=now,
            params={"agency": agency_name, "country": country, "domain": domain,
                    "official": official_name, "email": address,
                    "link": review_link},
        ))
    db.session.flush()
    return official, [note.id for note in notes]


def invite_colleague(actor: Actor, email: str, *, link: Callable[[str], str],
                     now: datetime | None = None) -> User:
    """Invite a colleague on the agency's domain; returns their (password-less) account.

    Inviting someone again whose invitation is still open sends a fresh link (at most one
    a minute). ``link`` turns a token into the absolute URL of the acceptance page.

    Raises:
        Forbidden: the actor is not an official, or the agency may not file (pending,
            rejected, suspended or expired).
        ValidationFailed: field ``email``: malformed, off the agency's domain, or
            already an account.
    """
    now = now or utcnow()
    if actor.role is not Role.AGENCY_OFFICIAL or actor.agency_id is None:
        raise Forbidden("only agency officials invite colleagues")
    ids: list[int] = []
    with transaction():
        lock_for_writing()
        agency = db.session.get(Agency, actor.agency_id)
        inviter = db.session.get(User, actor.user_id) if actor.user_id else None
        if agency is None or inviter is None:
            raise Forbidden("only agency officials invite colleagues")
        block = agency.filing_block(now)
        if block is not None:
            raise Forbidden(block)
        try:
            address = normalise_email(email)
        except ValidationFailed as exc:
            raise ValidationFailed([FieldError("email", exc.errors[0].message,
                                               "invalid")]) from None
        if not on_domain(address, agency.official_domain):
            raise ValidationFailed([FieldError(
                "email", f"the address must be on {agency.official_domain}", "domain")])
        colleague = db.session.scalar(sa.select(User).where(User.email == address))
        if colleague is None:
            colleague = User(email=address, role=Role.AGENCY_OFFICIAL, agency_id=agency.id,
                             name="", locale=inviter.locale, timezone=inviter.timezone,
                             created_at=now)
            db.session.add(colleague)
            db.session.flush()
        elif not (colleague.agency_id == agency.id and colleague.password_hash is None
                  and colleague.active):
            raise ValidationFailed([FieldError("email", f"{address} already has an account",
                                               "taken")])
        dedup_key = f"invitation:{colleague.id}:{int(now.timestamp()) // 60}"
        if db.session.scalar(sa.select(Notification.id)
                             .where(Notification.dedup_key == dedup_key)) is None:
            note = notify.enqueue_mail(
                "invitation", recipient=address, locale=colleague.locale,
                user_id=colleague.id, dedup_key=dedup_key, now=now,
                params={"inviter": inviter.name or inviter.email, "agency": agency.name,
                        "link": link(make_token(colleague, LinkPurpose.INVITE)),
                        "days": max(max_age(LinkPurpose.INVITE) // 86400, 1)},
            )
            db.session.flush()
            ids.append(note.id)
    notify.deliver_now(ids)
    return colleague


@dataclass(frozen=True)
class Colleague:
    name: str
    email: str
    invited: bool  # invited, has not set a password yet
    active: bool


def colleagues(actor: Actor, *, page: int = 1, per_page: int = 50) -> Page[Colleague]:
    """One page of the officials of the actor's agency (name, then address), counted, in
    two queries.

    Raises:
        Forbidden: the actor is not an agency official.
    """
    if actor.role is not Role.AGENCY_OFFICIAL or actor.agency_id is None:
        raise Forbidden("only agency officials see their colleagues")
    found = page_of(
        sa.select(User.name, User.email, User.password_hash.is_(None), User.active)
        .where(User.agency_id == actor.agency_id).order_by(User.name, User.email),
        page, per_page, count=True,
    )
    return found.with_rows([Colleague(n, e, bool(i), bool(a)) for n, e, i, a in found.rows])
