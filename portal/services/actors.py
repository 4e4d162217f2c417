"""Who is acting: a user, or the worker."""

from __future__ import annotations

from dataclasses import dataclass

from portal.models import User
from workflows.roles import STAFF_ROLES, Role


@dataclass(frozen=True)
class Actor:
    """The identity a service acts for, with where the action came from."""

    user_id: int | None
    role: Role
    agency_id: int | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    #: The HTTP request's id (``X-Request-ID``), written on the audit events it appends.
    request_id: str | None = None

    @classmethod
    def of(cls, user: User, *, ip_address: str | None = None,
           user_agent: str | None = None, request_id: str | None = None) -> Actor:
        return cls(user.id, user.role, user.agency_id, ip_address, user_agent, request_id)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def owns(self, agency_id: int) -> bool:
        """True for officials of the agency that filed the request."""
        return self.role is Role.AGENCY_OFFICIAL and self.agency_id == agency_id


#: The worker acting on its own (automatic close after the dispute window, SLA alerts).
SYSTEM = Actor(user_id=None, role=Role.SYSTEM)
