"""Passwords: signed, expiring links that let a person set one (reset, registration
confirmation, invitation), and changing one's own.

A link carries the user's id and a fingerprint of the current password hash and e-mail
address, signed with the app's ``SECRET_KEY`` and a salt per purpose. Setting a password
changes the fingerprint, so a link works once; its age is checked against a setting per
purpose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.extensions import db
from portal.models import Notification, User
from portal.models.columns import utcnow
from portal.services import notify, signin
from portal.services.accounts import MIN_PASSWORD_LENGTH, normalise_email
from portal.services.actors import Actor
from portal.services.errors import FieldError, NotFound, ServiceError, ValidationFailed
from portal.services.transaction import lock_for_writing, transaction

#: Longer passwords are refused: hashing megabytes on every sign-in is a cheap attack.
MAX_PASSWORD_LENGTH = 1024


class LinkPurpose(StrEnum):
    RESET = "reset"
    CONFIRM = "confirm"
    INVITE = "invite"


#: Salt of each purpose: a link made for one purpose is refused for every other.
_SALTS: dict[LinkPurpose, str] = {
    LinkPurpose.RESET: "portal.password-reset",
    LinkPurpose.CONFIRM: "portal.confirm-registration",
    LinkPurpose.INVITE: "portal.invitation",
}

#: The setting that holds each purpose's lifetime in seconds, and its default.
MAX_AGE_SETTINGS: dict[LinkPurpose, tuple[str, int]] = {
    LinkPurpose.RESET: ("PASSWORD_RESET_MAX_AGE", 3600),
    LinkPurpose.CONFIRM: ("REGISTRATION_LINK_MAX_AGE", 7 * 24 * 3600),
    LinkPurpose.INVITE: ("INVITATION_MAX_AGE", 7 * 24 * 3600),
}


class InvalidLink(ServiceError):
    """The link is malformed, forged, made for another purpose, or already used."""

    code = "invalid_link"


class ExpiredLink(InvalidLink):
    """The link is genuine but older than its purpose allows."""

    code = "expired_link"


def max_age(purpose: LinkPurpose) -> int:
    """How long a link of this purpose stays valid, in seconds."""
    setting, default = MAX_AGE_SETTINGS[purpose]
    return int(current_app.config.get(setting, default))


def _serializer(purpose: LinkPurpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALTS[purpose])


def _fingerprint(user: User) -> str:
    """Changes whenever the password (or the address the link was mailed to) changes."""
    material = f"{user.password_hash or '-'}\x00{user.email}".encode()
    return hashlib.sha256(material).hexdigest()[:24]


def make_token(user: User, purpose: LinkPurpose) -> str:
    """A signed token for ``user`` (the user must have an id)."""
    return str(_serializer(purpose).dumps([user.id, _fingerprint(user)]))


def user_for_token(token: str, purpose: LinkPurpose, *, for_update: bool = False) -> User:
    """The active user a link was made for, if it is still valid.

    Raises:
        ExpiredLink: genuine, but older than ``max_age(purpose)``.
        InvalidLink: malformed, forged, for another purpose, already used, or its user is
            gone or deactivated.
    """
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age(purpose))
    except SignatureExpired:
        raise ExpiredLink("the link has expired") from None
    except BadSignature:
        raise InvalidLink("the link is not valid") from None
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        raise InvalidLink("the link is not valid")
    user_id, fingerprint = payload
    user = db.session.get(User, user_id, with_for_update=for_update or None,
                          populate_existing=for_update)
    if user is None or not user.active or fingerprint != _fingerprint(user):
        raise InvalidLink("the link has been used already or is no longer valid")
    return user


def password_errors(password: str, field: str = "password") -> list[FieldError]:
    """What is wrong with a new password (empty list: nothing)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [FieldError(field, f"at least {MIN_PASSWORD_LENGTH} characters", "too_short")]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [FieldError(field, f"at most {MAX_PASSWORD_LENGTH} characters", "too_long")]
    return []


def request_reset(email: str, *, link: Callable[[str], str],
                  now: datetime | None = None) -> list[int]:
    """Mail a password-reset link to the active account with this address, if any.

    Unknown, malformed and deactivated addresses get no mail and no error, so the answer
    never reveals who has an account. At most one link per account per minute is sent
    (repeated clicks do not flood a mailbox). ``link`` turns a token into the absolute
    URL of the reset page. Returns the ids of the queued mails, already delivered when
    the mail server took them.
    """
    now = now or utcnow()
    try:
        address = normalise_email(email)
    except ValidationFailed:
        return []
    ids: list[int] = []
    with transaction():
        user = db.session.scalar(sa.select(User).where(User.email == address))
        if user is None or not user.active:
            return []
        dedup_key = f"password-reset:{user.id}:{int(now.timestamp()) // 60}"
        if db.session.scalar(sa.select(Notification.id)
                             .where(Notification.dedup_key == dedup_key)) is not None:
            return []
        note = notify.enqueue_mail(
            "password_reset", recipient=user.email, locale=user.locale, user_id=user.id,
            dedup_key=dedup_key, now=now,
            params={"name": user.name, "link": link(make_token(user, LinkPurpose.RESET)),
                    "minutes": max(max_age(LinkPurpose.RESET) // 60, 1)},
        )
        db.session.flush()
        ids.append(note.id)
    notify.deliver_now(ids)
    return ids


def set_password_from_link(token: str, purpose: LinkPurpose, password: str, *,
                           name: str | None = None) -> User:
    """Set the password of the user a link was made for; the link dies with it, and
    every session of the account ends.

    ``name``, when given (an invitation), is set too and must not be blank.

    Raises:
        ExpiredLink, InvalidLink: see :func:`user_for_token`.
        ValidationFailed: the password is too short or too long, or the name is blank
            or too long.
    """
    errors = password_errors(password)
    if name is not None:
        name = name.strip()
        if not name:
            errors.append(FieldError("name", "a name is required", "required"))
        elif len(name) > 200:
            errors.append(FieldError("name", "at most 200 characters", "too_long"))
    with transaction():
        lock_for_writing()
        user = user_for_token(token, purpose, for_update=True)
        if errors:
            raise ValidationFailed(errors)
        if name is not None:
            user.name = name
        user.set_password(password)
        # Whoever holds a session of this account (the reason for a reset, perhaps)
        # is signed out; wrong guesses at the old password no longer delay the new one.
        user.end_sessions()
        signin.record_outcome(user, signin.Factor.PASSWORD, True, ip_address=None,
                              now=utcnow())
    return user


def change_password(actor: Actor, current: str, new: str, *,
                    now: datetime | None = None) -> None:
    """Change the actor's own password, given the current one; every other session of the
    account ends. The current password is checked like a sign-in (a wrong one is
    counted, and one tried too soon after wrong ones is not checked), so a stolen session
    cannot guess it here.

    Raises:
        NotFound: the actor has no account (the worker).
        ValidationFailed: the current password is not right (``wrong``) or was tried too
            soon after wrong ones (:class:`signin.TooSoon`, ``too_soon``), or the new one
            breaks the rules.
    """
    if actor.user_id is None:
        raise NotFound("the worker has no password")
    now = now or utcnow()
    mail_id = None
    with transaction():
        lock_for_writing()
        user = db.session.get(User, actor.user_id, with_for_update=True,
                              populate_existing=True)
        if user is None:
            raise NotFound(f"no user {actor.user_id}")
        errors: list[FieldError] = []
        wait = signin.retry_at(user, signin.Factor.PASSWORD, now)
        if wait is not None:
            errors.append(signin.TooSoon("current_password", "too many wrong passwords; "
                                         "wait", "too_soon", retry_at=wait))
        else:
            right = user.check_password(current)
            mail_id = signin.record_outcome(user, signin.Factor.PASSWORD, right,
                                            ip_address=actor.ip_address, now=now)
            if not right:
                errors.append(FieldError("current_password",
                                         "the current password is not right", "wrong"))
        errors += password_errors(new)
        if not errors:
            user.set_password(new)
            user.end_sessions()
    # The count of a wrong current password is committed with the refusal.
    notify.deliver_now([mail_id] if mail_id is not None else [])
    if errors:
        raise ValidationFailed(errors)
