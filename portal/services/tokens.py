"""API tokens: created (shown once), checked, revoked; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import ApiToken, User
from portal.models.columns import utcnow
from portal.services import signin
from portal.services.errors import FieldError, NotFound, ValidationFailed
from portal.services.transaction import transaction
from workflows.roles import Role

TOKEN_PREFIX = "lp_"
#: Recording every use would write on every API call; once a minute is enough to say
#: whether a token is still in use.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, *, now: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the token, which is never shown
    again.

    Raises:
        ValidationFailed: blank or over-long name, or a deactivated user.
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed([FieldError("name", "a name of 1 to 100 characters",
                                           "invalid")])
    if not user.active:
        raise ValidationFailed([FieldError("user", "the account is deactivated", "invalid")])
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, prefix=token[:10], token_hash=digest(token),
                   created_at=now or utcnow())
    with transaction():
        db.session.add(row)
    return row, token


@dataclass(frozen=True)
class TokenOwner:
    """Who a valid token acts for."""

    user_id: int
    role: Role
    agency_id: int | None


#: digest -> (monotonic expiry, owner). Checking a token costs a query and, once a
#: minute, a write; API clients call in bursts, so each process remembers a good token for
#: ``API_TOKEN_CACHE_SECONDS``. Revoking in this process forgets it at once; other
#: processes stop accepting it within that many seconds (docs/API.md says so).
_cache: dict[str, tuple[float, TokenOwner]] = {}
_CACHE_LIMIT = 10_000


def authenticate(token: str, *, ip_address: str | None = None,
                 now: datetime | None = None) -> TokenOwner | None:
    """The owner of a valid, unrevoked token whose account is active, or ``None``."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    key = digest(token)
    ttl = float(current_app.config["API_TOKEN_CACHE_SECONDS"])
    cached = _cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    now = now or utcnow()
    row = db.session.execute(
        sa.select(ApiToken.id, ApiToken.last_used_at, User.id, User.role, User.agency_id,
                  User.active)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == key, ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row[5]:
        _cache.pop(key, None)
        return None
    token_id, last_used, user_id, role, agency_id, _ = row
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id)
                           .values(last_used_at=now))
        db.session.commit()
        # Calls from a case system count as sign-ins for the urgent-request safeguards.
        user = db.session.get(User, user_id)
        if user is not None:
            signin.record_network(user, ip_address, now=now)
    owner = TokenOwner(user_id, role, agency_id)
    if ttl > 0:
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[key] = (time.monotonic() + ttl, owner)
    return owner


def tokens_of(user_id: int) -> list[ApiToken]:
    return list(db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user_id)
        .order_by(ApiToken.created_at.desc())))


def revoke(user_id: int, token_id: int, *, now: datetime | None = None) -> None:
    """Revoke one of the user's own tokens.

    Raises:
        NotFound: no such token of this user.
    """
    with transaction():
        row = db.session.get(ApiToken, token_id)
        if row is None or row.user_id != user_id:
            raise NotFound(f"no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = now or utcnow()
        _cache.pop(row.token_hash, None)
