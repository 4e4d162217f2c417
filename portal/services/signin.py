"""Checking a password at sign-in: failed attempts lock the account for a while and tell
its owner; networks signed in from are remembered."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import User, UserNetwork
from portal.models.columns import utcnow
from portal.services import notify
from portal.services.accounts import normalise_email
from portal.services.errors import ValidationFailed
from portal.services.transaction import transaction


@dataclass(frozen=True)
class Attempt:
    """The outcome of a password check. ``user`` is set only when it succeeded."""

    user: User | None
    locked: bool = False
    mail_id: int | None = None


def check_password(email: str, password: str, *, ip_address: str | None,
                   now: datetime | None = None) -> Attempt:
    """Check ``email`` and ``password``. Callers show one message for every failure."""
    now = now or utcnow()
    try:
        address = normalise_email(email)
    except ValidationFailed:
        return Attempt(None)
    with transaction():
        user = db.session.scalar(sa.select(User).where(User.email == address)
                                 .with_for_update())
        if user is None or not user.active:
            return Attempt(None)
        if user.locked_until is not None and user.locked_until > now:
            return Attempt(None, locked=True)
        if user.check_password(password):
            user.failed_logins = 0
            user.locked_until = None
            return Attempt(user)
        mail_id = _count_failure(user, ip_address, now)
    if mail_id is None:
        return Attempt(None)
    notify.deliver_now([mail_id])
    return Attempt(None, locked=True, mail_id=mail_id)


def second_factor_failed(user: User, *, ip_address: str | None,
                         now: datetime | None = None) -> bool:
    """Count a wrong second-factor code like a wrong password; return whether the account
    is now locked."""
    now = now or utcnow()
    with transaction():
        db.session.refresh(user, with_for_update=True)
        mail_id = _count_failure(user, ip_address, now)
    if mail_id is not None:
        notify.deliver_now([mail_id])
    return mail_id is not None


def is_locked(user: User, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return user.locked_until is not None and user.locked_until > now


def _count_failure(user: User, ip_address: str | None, now: datetime) -> int | None:
    """One more failure; at the threshold, lock the account and queue the owner's mail
    (its id is returned)."""
    user.failed_logins += 1
    if user.failed_logins < current_app.config["LOCKOUT_THRESHOLD"]:
        return None
    minutes = int(current_app.config["LOCKOUT_MINUTES"])
    user.locked_until = now + timedelta(minutes=minutes)
    user.failed_logins = 0
    note = notify.enqueue_mail(
        "account_locked", recipient=user.email, locale=user.locale, user_id=user.id,
        dedup_key=f"locked:{user.id}:{int(now.timestamp())}", now=now,
        params={"minutes": minutes, "ip": ip_address or "unknown", "at": now.isoformat()},
    )
    db.session.flush()
    return note.id


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
