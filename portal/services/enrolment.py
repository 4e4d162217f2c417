"""Setting up a second factor: enrolment (a first authenticator, or a new one in place
of the old), the one-time enrolment codes administrators issue to staff, and an
administrator's reset of someone's two-factor sign-in.

A staff member's first second factor needs an enrolment code from an administrator, not
only the password: otherwise whoever steals a reviewer's password before the reviewer
enrols could enrol their own authenticator and own the account. Officials enrol with
their password (their agency vouches for them, and there are too many for an
administrator to hand out codes). Codes are shown once, kept as SHA-256, expire after
``ENROLMENT_CODE_HOURS`` and work once; a wrong one counts as a wrong code.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import EnrolmentCode, User
from portal.models.columns import utcnow
from portal.services import notify, signin, two_factor
from portal.services.actors import Actor
from portal.services.errors import FieldError, NotFound, ValidationFailed
from portal.services.signin import Factor, TooSoon
from portal.services.transaction import lock_for_writing, transaction

log = logging.getLogger("portal.admin")

#: Letters and digits that cannot be mistaken for one another when read out.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: 12 characters of 32: 60 bits, against a code that also expires and counts failures.
LENGTH = 12


@dataclass(frozen=True)
class IssuedCode:
    """An enrolment code as it is shown, once, to the administrator who issued it."""

    code: str
    expires_at: datetime


def needs_enrolment_code(user: User) -> bool:
    """Whether setting up a second factor needs an administrator's code: a staff
    member's first one. Replacing an authenticator needs the password or a current code
    instead (the pages ask for it)."""
    return user.is_staff and not user.two_factor_enabled


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _digest(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _locked_user(user_id: int) -> User:
    lock_for_writing()
    user = db.session.scalars(sa.select(User).where(User.id == user_id).with_for_update()
                              ).first()
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def issue_code(actor: Actor, user_id: int, *, now: datetime | None = None) -> IssuedCode:
    """A new enrolment code for a staff member without a second factor; any unused code
    issued before stops working. ``actor.user_id`` is ``None`` on the command line.

    Raises:
        NotFound: no such user.
        ValidationFailed: on ``enrolment_code``: an official (``official``: they enrol
            with their password), a deactivated account (``inactive``), one's own
            account (``self``: ask another administrator), or an account that has a
            second factor already (``enabled``: reset it first).
    """
    now = now or utcnow()
    hours = float(current_app.config["ENROLMENT_CODE_HOURS"])
    with transaction():
        user = _locked_user(user_id)
        problem = None
        if not user.is_staff:
            problem = ("officials set up two-factor sign-in with their password", "official")
        elif not user.active:
            problem = ("the account is deactivated", "inactive")
        elif actor.user_id == user.id:
            problem = ("ask another administrator for your own code", "self")
        elif user.two_factor_enabled:
            problem = ("the account has two-factor sign-in already; reset it first",
                       "enabled")
        if problem is not None:
            raise ValidationFailed([FieldError("enrolment_code", *problem)])
        db.session.execute(sa.delete(EnrolmentCode).where(
            EnrolmentCode.user_id == user.id, EnrolmentCode.used_at.is_(None)))
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        issued = IssuedCode(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}", now + timedelta(hours=hours))
        db.session.add(EnrolmentCode(user_id=user.id, code_hash=_digest(raw),
                                     issued_by_id=actor.user_id, issued_at=now,
                                     expires_at=issued.expires_at))
    log.info("enrolment code for user %s issued by %s", user_id,
             f"user {actor.user_id}" if actor.user_id else "the command line")
    return issued


def enrol(user: User, secret: str, code: str, *, enrolment_code: str = "",
          ip_address: str | None = None, now: datetime | None = None) -> list[str]:
    """Make ``secret`` the user's authenticator once ``code`` shows it works (a first
    one, or a new one in place of the old); return the new recovery codes (shown once).
    Every other session of the account ends. A staff member's first one also needs
    ``enrolment_code``, which is then used up; a wrong one is counted as a wrong code.

    Raises:
        ValidationFailed: ``code`` does not match the secret (``invalid``);
            ``enrolment_code`` missing (``required``), not right, used or expired
            (``invalid``), or tried too soon after wrong codes (:class:`TooSoon`,
            ``too_soon``).
    """
    now = now or utcnow()
    step = two_factor.totp_step(secret, code, now)
    errors: list[FieldError] = []
    mail_id = None
    codes: list[str] = []
    with transaction():
        lock_for_writing()
        db.session.refresh(user, with_for_update=True)
        ticket = None
        if needs_enrolment_code(user):
            given = _normalise(enrolment_code)
            wait = signin.retry_at(user, Factor.CODE, now)
            if not given:
                errors.append(FieldError("enrolment_code", "an administrator's enrolment "
                                         "code is required", "required"))
            elif wait is not None:
                errors.append(TooSoon("enrolment_code", "too many wrong codes; wait",
                                      "too_soon", retry_at=wait))
            else:
                ticket = db.session.scalar(sa.select(EnrolmentCode).where(
                    EnrolmentCode.user_id == user.id,
                    EnrolmentCode.code_hash == _digest(given),
                    EnrolmentCode.used_at.is_(None), EnrolmentCode.expires_at > now))
                mail_id = signin.record_outcome(user, Factor.CODE, ticket is not None,
                                                ip_address=ip_address, now=now)
                if ticket is None:
                    errors.append(FieldError("enrolment_code", "the enrolment code is not "
                                             "right, used already, or expired", "invalid"))
        if step is None:
            errors.append(FieldError("code", "the code does not match; check the "
                                     "authenticator's clock and try the next code",
                                     "invalid"))
        if not errors:
            if ticket is not None:
                ticket.used_at = now
            codes = two_factor.install(user, secret, step or 0, now)
            user.end_sessions()
    notify.deliver_now([mail_id] if mail_id is not None else [])
    if errors:
        raise ValidationFailed(errors)
    return codes


def reset(actor: Actor, user_id: int) -> User:
    """An administrator turns off someone's two-factor sign-in (a lost phone): the
    authenticator and recovery codes are forgotten and every session of the account
    ends. A staff member then needs a new enrolment code to set one up again.

    Raises:
        NotFound: no such user.
        ValidationFailed: on ``two_factor``: one's own account (``self``: the account
            page does it, after confirming) or an account without it (``not_enabled``).
    """
    with transaction():
        user = _locked_user(user_id)
        if actor.user_id == user.id:
            raise ValidationFailed([FieldError("two_factor", "use your account page",
                                               "self")])
        if not user.two_factor_enabled:
            raise ValidationFailed([FieldError("two_factor", "two-factor sign-in is not "
                                               "on for this account", "not_enabled")])
        two_factor.remove(user)
        user.end_sessions()
    log.info("two-factor sign-in of user %s reset by user %s", user_id, actor.user_id)
    return user


def pending_code(user_id: int, now: datetime | None = None) -> EnrolmentCode | None:
    """The user's enrolment code that still works, if any (for the administrator's page:
    when it expires, never the code)."""
    now = now or utcnow()
    return db.session.scalar(sa.select(EnrolmentCode).where(
        EnrolmentCode.user_id == user_id, EnrolmentCode.used_at.is_(None),
        EnrolmentCode.expires_at > now).order_by(EnrolmentCode.id.desc()).limit(1))
