"""Two-factor sign-in: TOTP (RFC 6238) with one-time recovery codes.

Required for platform staff and administrators, and for officials of agencies that
require it (the default); anyone may turn it on.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import pyotp
import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import Agency, RecoveryCode, User
from portal.models.columns import utcnow
from portal.services.errors import FieldError, ValidationFailed
from portal.services.transaction import transaction

ISSUER = "Liaison portal"
RECOVERY_CODES = 10


def required_for(user: User) -> bool:
    """Whether ``user`` must pass a second factor to sign in."""
    if user.two_factor_enabled:
        return True
    if not current_app.config["TWO_FACTOR_ENFORCED"]:
        return False
    if user.is_staff:
        return True
    agency = db.session.get(Agency, user.agency_id) if user.agency_id else None
    return agency is None or agency.require_two_factor


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG data URI, drawn here: the secret never leaves the portal."""
    import segno  # only the enrolment page draws a QR code

    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().replace("-", "").lower().encode()).hexdigest()


def _new_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 40 bits each, single use
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_digest(raw)))
    return codes


def totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step ``code`` belongs to (now, or one step either side), or ``None``."""
    totp = pyotp.TOTP(secret)
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    step = int(now.timestamp()) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.at(candidate * totp.interval), code):
            return candidate
    return None


def install(user: User, secret: str, step: int, now: datetime) -> list[str]:
    """Make ``secret`` the user's authenticator (from time step ``step`` on) with fresh
    recovery codes, inside the caller's transaction; return the codes (shown once).
    Callers go through ``services/enrolment.enrol``, which checks who may do this."""
    user.totp_secret = secret
    user.totp_enabled_at = now
    user.totp_last_step = step
    return _new_codes(user)


def use_code(user: User, code: str, *, now: datetime | None = None) -> bool:
    """Whether ``code`` is a current authenticator code of ``user`` (never the same one
    twice) or an unused recovery code (used up by this), inside the caller's
    transaction. Callers go through ``signin.check_code``, which counts failures: this
    function alone would let codes be guessed without limit."""
    now = now or utcnow()
    if not user.two_factor_enabled or user.totp_secret is None:
        return False
    step = totp_step(user.totp_secret, code, now)
    if step is not None:
        if user.totp_last_step is not None and step <= user.totp_last_step:
            return False  # replayed, or older than one already used
        user.totp_last_step = step
        return True
    recovery = db.session.scalar(sa.select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _digest(code),
        RecoveryCode.used_at.is_(None)))
    if recovery is None:
        return False
    recovery.used_at = now
    return True


def regenerate_codes(user: User) -> list[str]:
    """New recovery codes in place of the old ones (shown once). Pages ask for the
    password or a code first (a stolen session must not mint codes)."""
    with transaction():
        return _new_codes(user)


def remaining_codes(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def disable(user: User) -> None:
    """Turn it off (only where it is not required); every other session of the account
    ends.

    Raises:
        ValidationFailed: it is required for this user.
    """
    if current_app.config["TWO_FACTOR_ENFORCED"] and (
        user.is_staff or (user.agency and user.agency.require_two_factor)
    ):
        raise ValidationFailed([FieldError("two_factor", "two-factor sign-in is required "
                                           "for this account", "required")])
    with transaction():
        db.session.refresh(user, with_for_update=True)
        remove(user)
        user.end_sessions()


def remove(user: User) -> None:
    """Forget the user's authenticator and recovery codes (caller's transaction)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
