"""The administrator's view of user accounts: the list of users, creating staff and
official accounts, the password set-up link, and changing a staff member's role, liaison
lead or lead reviewer flag or whether an account may sign in.

Each public function that changes something is one transaction. Users have no audit
chain of their own (that is per request): what a change did is kept in the columns it
sets and one ``portal.admin`` log line names who did it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import available_timezones

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Agency, User
from portal.models.columns import utcnow
from portal.services import accounts, coverage, notify, passwords
from portal.services.actors import Actor
from portal.services.errors import FieldError, NotFound, Problem, ValidationFailed
from portal.services.paging import DEFAULT_PER_PAGE, Page, page_of
from portal.services.passwords import LinkPurpose
from portal.services.transaction import lock_for_writing, transaction
from workflows import calendars
from workflows.roles import Role

log = logging.getLogger("portal.admin")

#: Roles the platform's own people hold; an official never becomes one, nor the reverse.
STAFF_CHOICES: tuple[Role, ...] = (Role.LEGAL_REVIEWER, Role.PLATFORM_LIAISON, Role.ADMIN)


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
        # autoescape: a % or _ typed into the search is a character, not a wildcard.
        query = query.where(sa.or_(User.email.icontains(text, autoescape=True),
                                   User.name.icontains(text, autoescape=True)))
    return page_of(query.order_by(User.email, User.id), number, per_page, count=True)


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
                   timezone: str = "", setup: SetupLinks | None = None,
                   jurisdictions: str = "") -> User:
    """Create a staff account or an agency official.

    Either ``password`` is the initial password, or the new user is mailed the ``setup``
    links to choose one (see :func:`send_setup_link`). A blank ``timezone`` is the
    agency's country's for an official, UTC for staff. A legal reviewer covers the
    ``jurisdictions`` typed (country codes; none: all).

    Raises:
        ValidationFailed: everything ``accounts.create_user`` refuses, an unknown time
            zone or jurisdiction code, or neither a password nor setup links.
    """
    zone = timezone.strip()
    if zone and zone not in _zones():
        raise ValidationFailed([Problem("timezone", f"unknown time zone {zone!r}",
                                        "unknown_zone", value=zone)])
    if password is None and setup is None:
        raise ValidationFailed([FieldError("password", "an initial password is required",
                                           "required")])
    codes = coverage.parse_codes(jurisdictions)
    if not zone:
        agency = db.session.get(Agency, agency_id) if agency_id is not None else None
        zone = calendars.country_timezone(agency.country).key if agency else "UTC"
    user = accounts.create_user(email, role=role, agency_id=agency_id, password=password,
                                name=name.strip(), locale=locale, timezone=zone,
                                jurisdictions=codes)
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
    stays one. A liaison lead who stops being a liaison is no longer a lead, nor a lead
    reviewer who stops being a reviewer; a reviewer who stops being one covers no
    jurisdictions any more (made a reviewer again, they cover all).

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
        if chosen is not Role.LEGAL_REVIEWER:
            user.lead_reviewer = False
            coverage.clear(user.id)
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


def set_lead_reviewer(actor: Actor, user_id: int, lead: bool) -> User:
    """Make a legal reviewer a lead reviewer (may act on requests other reviewers hold,
    and hand requests between reviewers), or not.

    Raises:
        NotFound: no such user.
        ValidationFailed: making a lead reviewer of someone who is not a legal reviewer.
    """
    with transaction():
        user = _locked_user(user_id)
        if lead and user.role is not Role.LEGAL_REVIEWER:
            raise ValidationFailed([FieldError(
                "lead_reviewer", "only legal reviewers can be lead reviewers",
                "not_reviewer")])
        user.lead_reviewer = lead
    log.info("user %s lead reviewer %s, by user %s", user.id, lead, actor.user_id)
    return user


def set_active(actor: Actor, user_id: int, active: bool) -> User:
    """Deactivate (cannot sign in; every session of the account ends) or reactivate an
    account.

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
            # Signed-in sessions of a deactivated account end now, not when they idle out.
            user.end_sessions()
        user.active = active
    log.info("user %s active %s, by user %s", user.id, active, actor.user_id)
    return user
