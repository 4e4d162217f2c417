"""A person's own account settings: name, language and time zone."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from portal.extensions import db
from portal.i18n import LANGUAGES
from portal.models import User
from portal.services.actors import Actor
from portal.services.errors import FieldError, NotFound, ValidationFailed
from portal.services.transaction import transaction

MAX_NAME_LENGTH = 200


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """The IANA time zones this machine knows, sorted (read from disk once)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def is_time_zone(name: str) -> bool:
    return name in _zone_set()


@lru_cache(maxsize=1)
def _zone_set() -> frozenset[str]:
    return frozenset(time_zones())


def update_profile(actor: Actor, *, name: str, locale: str, timezone: str) -> User:
    """Change the actor's name, language and time zone.

    Raises:
        NotFound: the actor has no account (the worker).
        ValidationFailed: blank or too long name, unknown language or time zone.
    """
    errors: list[FieldError] = []
    name = name.strip()
    timezone = timezone.strip()
    if not name:
        errors.append(FieldError("name", "a name is required", "required"))
    elif len(name) > MAX_NAME_LENGTH:
        errors.append(FieldError("name", f"at most {MAX_NAME_LENGTH} characters", "too_long"))
    if locale not in LANGUAGES:
        errors.append(FieldError("locale", f"one of: {', '.join(LANGUAGES)}", "choice"))
    if not is_time_zone(timezone):
        errors.append(FieldError("timezone", f"{timezone!r} is not a known time zone",
                                 "choice"))
    if actor.user_id is None:
        raise NotFound("the worker has no account settings")
    with transaction():
        user = db.session.get(User, actor.user_id)
        if user is None:
            raise NotFound(f"no user {actor.user_id}")
        if errors:
            raise ValidationFailed(errors)
        user.name = name
        user.locale = locale
        user.timezone = timezone
    return user
