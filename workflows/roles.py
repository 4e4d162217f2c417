"""Who may act on a request."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A user's role. ``SYSTEM`` is the worker acting on its own, never a user's role."""

    AGENCY_OFFICIAL = "agency_official"
    LEGAL_REVIEWER = "legal_reviewer"
    PLATFORM_LIAISON = "platform_liaison"
    ADMIN = "admin"
    SYSTEM = "system"


#: Roles a user account can hold (the worker's ``SYSTEM`` is not one of them).
USER_ROLES: tuple[Role, ...] = (
    Role.AGENCY_OFFICIAL,
    Role.LEGAL_REVIEWER,
    Role.PLATFORM_LIAISON,
    Role.ADMIN,
)

#: The platform's own people: they see every request and internal notes.
STAFF_ROLES: frozenset[Role] = frozenset(
    {Role.LEGAL_REVIEWER, Role.PLATFORM_LIAISON, Role.ADMIN, Role.SYSTEM}
)
