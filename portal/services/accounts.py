"""Agencies and users: creating them and changing their standing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Agency, ReviewerJurisdiction, User, VerificationStatus
from portal.models.columns import utcnow
from portal.services import official_domains
from portal.services.errors import FieldError, NotFound, ValidationFailed
from portal.services.transaction import transaction
from workflows.roles import USER_ROLES, Role

_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MIN_PASSWORD_LENGTH = 12


def normalise_email(address: str) -> str:
    """The canonical form of an e-mail address (lower-case domain and local part).

    Raises:
        ValidationFailed: not a syntactically valid address.
    """
    # Imported here: email-validator brings dnspython (about 2 MB) into every process.
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed([FieldError("email", str(exc), "invalid")]) from None
    return checked.normalized.lower()


def create_agency(
    name: str,
    *,
    country: str,
    domain: str,
    verified: bool = False,
    verified_until: datetime | None = None,
    focal_point: bool = False,
    now: datetime | None = None,
) -> Agency:
    """Register an agency (pending, or verified at once when an administrator says so).

    Raises:
        ValidationFailed: blank name, bad country code or domain (malformed, a public
            suffix or a public mail service's), or the domain is taken.
    """
    now = now or utcnow()
    errors: list[FieldError] = []
    name = name.strip()
    country = country.strip().upper()
    domain = domain.strip().lower().rstrip(".")
    if not name or len(name) > 200:
        errors.append(FieldError("name", "a name of 1 to 200 characters", "invalid"))
    if not (len(country) == 2 and country.isascii() and country.isalpha()):
        errors.append(FieldError("country", "a two-letter ISO 3166-1 country code", "invalid"))
    refused = official_domains.refusal(domain) if _DOMAIN.match(domain) else None
    if not _DOMAIN.match(domain):
        errors.append(FieldError("domain", f"{domain!r} is not a domain name", "invalid"))
    elif refused is not None:
        errors.append(refused)
    elif db.session.scalar(sa.select(Agency.id).where(Agency.official_domain == domain)):
        errors.append(FieldError("domain", f"{domain} is already registered", "taken"))
    if errors:
        raise ValidationFailed(errors)
    agency = Agency(
        name=name, country=country, official_domain=domain, focal_point=focal_point,
        status=VerificationStatus.PENDING, created_at=now,
    )
    if verified:
        agency.status = VerificationStatus.VERIFIED
        agency.verified_at = now
        agency.verified_until = verified_until
    with transaction():
        db.session.add(agency)
    return agency


def create_user(
    email: str,
    *,
    role: str,
    agency_id: int | None = None,
    password: str | None = None,
    name: str = "",
    locale: str = "en",
    timezone: str = "UTC",
    jurisdictions: Sequence[str] = (),
) -> User:
    """Create a user. Officials need an agency and an address on its official domain. A
    legal reviewer may be given the ``jurisdictions`` they cover (checked codes, see
    ``services/coverage.parse_codes``), stored in the same transaction.

    Raises:
        ValidationFailed: bad address or role, address taken, missing or foreign agency,
            address not on the agency's domain, password too short, jurisdictions for
            someone who is not a legal reviewer.
    """
    errors: list[FieldError] = []
    address = normalise_email(email)
    if role not in {r.value for r in USER_ROLES}:
        allowed = ", ".join(r.value for r in USER_ROLES)
        raise ValidationFailed([FieldError("role", f"role must be one of: {allowed}", "choice")])
    chosen = Role(role)
    agency: Agency | None = None
    if chosen is Role.AGENCY_OFFICIAL:
        agency = db.session.get(Agency, agency_id) if agency_id is not None else None
        if agency is None:
            errors.append(FieldError("agency", "an agency official needs an existing agency",
                                     "required"))
        elif not address.endswith("@" + agency.official_domain) and not address.endswith(
            "." + agency.official_domain
        ):
            errors.append(
                FieldError("email", f"the address must be on {agency.official_domain}",
                           "domain")
            )
    elif agency_id is not None:
        errors.append(FieldError("agency", "only agency officials belong to an agency",
                                 "invalid"))
    if db.session.scalar(sa.select(User.id).where(User.email == address)):
        errors.append(FieldError("email", f"{address} already has an account", "taken"))
    if jurisdictions and chosen is not Role.LEGAL_REVIEWER:
        errors.append(FieldError("jurisdictions", "only legal reviewers cover jurisdictions",
                                 "coverage_not_reviewer"))
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors.append(FieldError("password", f"at least {MIN_PASSWORD_LENGTH} characters",
                                 "too_short"))
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=address, role=chosen, agency_id=agency.id if agency else None, name=name,
        locale=locale, timezone=timezone,
    )
    if password is not None:
        user.set_password(password)
    with transaction():
        db.session.add(user)
        if jurisdictions:
            db.session.flush()
            db.session.execute(sa.insert(ReviewerJurisdiction), [
                {"user_id": user.id, "country": code} for code in sorted(set(jurisdictions))])
    return user


def get_agency(agency_id: int) -> Agency:
    """Raises: NotFound."""
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(f"no agency {agency_id}")
    return agency
