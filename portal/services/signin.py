"""Checking a password or a second-factor code, at sign-in and whenever a signed-in person
confirms it is them: failures slow further attempts down and tell the owner; networks
signed in from are remembered.

Wrong passwords and wrong codes are two counts (a right password never clears the count
of wrong codes, so password + a few wrong codes, repeated, gains nothing). Neither locks
the account: past a few free failures each further attempt of that kind must wait a
delay that doubles up to a cap (``signin_delays``), so a stranger who fails on purpose
delays a reviewer by minutes at most, while guessing stays slow. An attempt made too
soon is refused without being checked and without being counted.
"""

from __future__ import annotations

import functools
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import db
from portal.models import User, UserNetwork
from portal.models.columns import utcnow
from portal.services import notify, two_factor
from portal.services.accounts import normalise_email
from portal.services.errors import FieldError, ValidationFailed
from portal.services.signin_delays import DelaySchedule
from portal.services.transaction import lock_for_writing, transaction


class Factor(StrEnum):
    """What an attempt tried: each has its own count of failures."""

    PASSWORD = "password"
    CODE = "code"  # an authenticator code, a recovery code or an enrolment code


@dataclass(frozen=True)
class TooSoon(FieldError):
    """An attempt refused unchecked: the next may be made at ``retry_at``."""

    retry_at: datetime | None = None


@dataclass(frozen=True)
class Attempt:
    """The outcome of a password check. ``user`` is set only when it succeeded;
    ``retry_at`` only when the attempt came too soon after failures and was not checked."""

    user: User | None
    retry_at: datetime | None = None
    mail_id: int | None = None


@dataclass(frozen=True)
class Check:
    """The outcome of a password or a code of a known user. ``checked`` is false when
    the attempt came too soon after failures (it was neither checked nor counted);
    ``retry_at`` says when the next attempt may be made, if not now."""

    ok: bool
    checked: bool = True
    retry_at: datetime | None = None
    mail_id: int | None = None


def schedule() -> DelaySchedule:
    """The delay schedule of this app's settings."""
    return DelaySchedule.from_config(current_app.config)


def retry_at(user: User, factor: Factor, now: datetime) -> datetime | None:
    """When the next attempt of ``factor`` may be checked, or ``None`` for now."""
    failures, last, _mailed = _counter(user, factor)
    return schedule().retry_at(failures, last, now)


def record_outcome(user: User, factor: Factor, ok: bool, *, ip_address: str | None,
                   now: datetime) -> int | None:
    """Count one checked attempt, inside the caller's transaction (which must hold the
    user's row for update): success clears this factor's count only; a failure adds one
    and, when the count reaches ``SIGNIN_NOTICE_FAILURES`` and the owner was not told
    within ``SIGNIN_NOTICE_WINDOW_MINUTES``, queues the owner's mail, whose id is
    returned (the caller delivers it after the commit)."""
    if ok:
        _set_counter(user, factor, 0, None)
        return None
    delays = schedule()
    failures, last, mailed = _counter(user, factor)
    failures = delays.current(failures, last, now) + 1
    _set_counter(user, factor, failures, now)
    config = current_app.config
    window = timedelta(minutes=float(config["SIGNIN_NOTICE_WINDOW_MINUTES"]))
    if failures < int(config["SIGNIN_NOTICE_FAILURES"]) or (
            mailed is not None and now - mailed < window):
        return None
    _set_mailed(user, factor, now)
    note = notify.enqueue_mail(
        "sign_in_failures", recipient=user.email, locale=user.locale, user_id=user.id,
        dedup_key=f"sign-in-failures:{user.id}:{factor.value}:{now.isoformat()}", now=now,
        params={"factor": factor.value, "count": failures, "ip": ip_address or "unknown",
                "at": now.isoformat(),
                "minutes": max(int(delays.cap.total_seconds()) // 60, 1)},
    )
    db.session.flush()
    return note.id


def check_password(email: str, password: str, *, ip_address: str | None,
                   now: datetime | None = None) -> Attempt:
    """Check ``email`` and ``password``. Callers show one message for every failure."""
    now = now or utcnow()
    try:
        address = normalise_email(email)
    except ValidationFailed:
        _hash_for_nothing(password)
        return Attempt(None)
    with transaction():
        # Concurrent attempts on one account are taken one at a time (the row lock; on
        # SQLite the write lock), so parallel guesses cannot all pass the delay check.
        lock_for_writing()
        user = db.session.scalar(sa.select(User).where(User.email == address)
                                 .with_for_update())
        # Every refusal costs one password hash, like a wrong password: the time taken
        # must not tell whether an address has an account, or one being delayed.
        if user is None or not user.active:
            _hash_for_nothing(password)
            return Attempt(None)
        wait = retry_at(user, Factor.PASSWORD, now)
        if wait is not None:
            _hash_for_nothing(password)
            return Attempt(None, retry_at=wait)
        ok = user.check_password(password)
        mail_id = record_outcome(user, Factor.PASSWORD, ok, ip_address=ip_address, now=now)
    notify.deliver_now([mail_id] if mail_id is not None else [])
    return Attempt(user if ok else None, mail_id=mail_id)


@functools.lru_cache(maxsize=4)
def _hash_of_nothing(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


def _hash_for_nothing(password: str) -> None:
    """Spend what checking ``password`` against a real account's hash would cost (the
    configured method, the same work factor), and throw the answer away."""
    method = str(current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))
    check_password_hash(_hash_of_nothing(method), password)


def check_code(user: User, code: str, *, ip_address: str | None,
               now: datetime | None = None) -> Check:
    """Check a second-factor code of ``user`` (an authenticator code, never accepted
    twice, or an unused recovery code, used up by this)."""
    return _check(user, Factor.CODE, code, ip_address=ip_address, now=now)


def confirm_password(user: User, password: str, *, ip_address: str | None,
                     now: datetime | None = None) -> Check:
    """Check the password of a signed-in ``user`` who confirms it is them; counted like
    a sign-in, so a stolen session cannot guess the password here."""
    return _check(user, Factor.PASSWORD, password, ip_address=ip_address, now=now)


def _check(user: User, factor: Factor, secret: str, *, ip_address: str | None,
           now: datetime | None) -> Check:
    now = now or utcnow()
    with transaction():
        lock_for_writing()
        db.session.refresh(user, with_for_update=True)
        wait = retry_at(user, factor, now)
        if wait is not None:
            return Check(False, checked=False, retry_at=wait)
        if factor is Factor.PASSWORD:
            ok = user.check_password(secret)
        else:
            ok = two_factor.use_code(user, secret, now=now)
        mail_id = record_outcome(user, factor, ok, ip_address=ip_address, now=now)
        after = None if ok else retry_at(user, factor, now)
    notify.deliver_now([mail_id] if mail_id is not None else [])
    return Check(ok, retry_at=after, mail_id=mail_id)


def _counter(user: User, factor: Factor) -> tuple[int, datetime | None, datetime | None]:
    if factor is Factor.PASSWORD:
        return user.failed_logins or 0, user.login_failed_at, user.login_failures_mailed_at
    return user.failed_codes or 0, user.code_failed_at, user.code_failures_mailed_at


def _set_counter(user: User, factor: Factor, failures: int, at: datetime | None) -> None:
    if factor is Factor.PASSWORD:
        user.failed_logins, user.login_failed_at = failures, at
    else:
        user.failed_codes, user.code_failed_at = failures, at


def _set_mailed(user: User, factor: Factor, at: datetime) -> None:
    if factor is Factor.PASSWORD:
        user.login_failures_mailed_at = at
    else:
        user.code_failures_mailed_at = at


def sign_out(user: User) -> None:
    """End every session of ``user``: the one signing out, and any copy of its cookie."""
    with transaction():
        db.session.refresh(user, with_for_update=True)
        user.end_sessions()


def network_of(ip_address: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to."""
    if not ip_address:
        return None
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def record_network(user: User, ip_address: str | None, *, now: datetime | None = None) -> None:
    """Remember that ``user`` signed in from this network (first and last time)."""
    network = network_of(ip_address)
    if network is None:
        return
    now = now or utcnow()
    with transaction():
        seen = db.session.scalar(sa.select(UserNetwork).where(
            UserNetwork.user_id == user.id, UserNetwork.network == network))
        if seen is None:
            db.session.add(UserNetwork(user_id=user.id, network=network, first_seen=now,
                                       last_seen=now))
        else:
            seen.last_seen = now
