"""API tokens: created (shown once) with scopes and an expiry, checked, revoked; only
their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import ApiToken, TokenScope, User
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


def scope_text(scopes: Iterable[TokenScope | str]) -> str:
    """Scopes as stored and shown: space-separated, in TokenScope order, with "read"."""
    chosen = {TokenScope(s) for s in scopes} | {TokenScope.READ}
    return " ".join(s.value for s in TokenScope if s in chosen)


def create_token(user: User, name: str, *,
                 scopes: Iterable[TokenScope | str] = (TokenScope.READ,),
                 days: int | None = None,
                 now: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user`` that may do what ``scopes`` allow (reading always)
    for ``days`` days (``API_TOKEN_DAYS``, 90, by default); return the row and the token,
    which is never shown again.

    Raises:
        ValidationFailed: blank or over-long name, an unknown scope, a lifetime outside
            1 to ``API_TOKEN_MAX_DAYS`` days, or a deactivated user.
    """
    config = current_app.config
    errors: list[FieldError] = []
    name = name.strip()
    if not name or len(name) > 100:
        errors.append(FieldError("name", "a name of 1 to 100 characters", "invalid"))
    wanted = [str(s).strip().lower() for s in scopes]
    unknown = [s for s in wanted if s not in TokenScope._value2member_map_]
    if unknown:
        known = ", ".join(s.value for s in TokenScope)
        errors.append(FieldError("scopes", f"unknown scope {unknown[0]!r}; one of: {known}",
                                 "choice"))
    longest = int(config["API_TOKEN_MAX_DAYS"])
    lifetime = int(config["API_TOKEN_DAYS"]) if days is None else days
    if not 1 <= lifetime <= longest:
        errors.append(FieldError("days", f"a lifetime of 1 to {longest} days", "invalid"))
    if not user.active:
        errors.append(FieldError("user", "the account is deactivated", "invalid"))
    if errors:
        raise ValidationFailed(errors)
    now = now or utcnow()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, prefix=token[:10], token_hash=digest(token),
                   created_at=now, expires_at=now + timedelta(days=lifetime),
                   scopes=scope_text(wanted))
    with transaction():
        db.session.add(row)
    return row, token


class TokenRefused(Exception):
    """The token cannot be used; ``reason`` says why, for its holder."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenOwner:
    """Who a valid token acts for."""

    user_id: int
    role: Role
    agency_id: int | None
    scopes: frozenset[TokenScope]
    expires_at: datetime


#: digest -> (monotonic expiry, owner). Checking a token costs a query and, once a
#: minute, a write; API clients call in bursts, so each process remembers a good token for
#: ``API_TOKEN_CACHE_SECONDS``. Revoking in this process forgets it at once; other
#: processes stop accepting it within that many seconds (docs/API.md says so).
_cache: dict[str, tuple[float, TokenOwner]] = {}
_CACHE_LIMIT = 10_000


def authenticate(token: str, *, ip_address: str | None = None,
                 now: datetime | None = None) -> TokenOwner:
    """The owner of a valid token: known, unrevoked, unexpired, its account active.

    Raises:
        TokenRefused: the token is malformed or unknown, revoked, expired, or its
            account is deactivated.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise TokenRefused("the token is unknown")
    key = digest(token)
    now = now or utcnow()
    ttl = float(current_app.config["API_TOKEN_CACHE_SECONDS"])
    cached = _cache.get(key)
    if cached is not None and cached[0] > time.monotonic() and cached[1].expires_at > now:
        return cached[1]
    row = db.session.execute(
        sa.select(ApiToken.id, ApiToken.last_used_at, ApiToken.revoked_at,
                  ApiToken.expires_at, ApiToken.scopes, User.id, User.role, User.agency_id,
                  User.active)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == key)
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now or not row.active:
        _cache.pop(key, None)
        if row is None:
            raise TokenRefused("the token is unknown")
        if row.revoked_at is not None:
            raise TokenRefused("the token was revoked")
        if row.expires_at <= now:
            raise TokenRefused(f"the token expired at {row.expires_at.isoformat()}; "
                               "create a new one")
        raise TokenRefused("the token's account is deactivated")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == row[0])
                           .values(last_used_at=now))
        db.session.commit()
        # Calls from a case system count as sign-ins for the urgent-request safeguards.
        user = db.session.get(User, row[5])
        if user is not None:
            signin.record_network(user, ip_address, now=now)
    owner = TokenOwner(row[5], row.role, row.agency_id,
                       frozenset(TokenScope(s) for s in row.scopes.split()), row.expires_at)
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
