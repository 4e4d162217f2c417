"""Agencies: the government bodies that file requests."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.columns import UTCDateTime, code_enum, utcnow
from workflows.agency_flow import VerificationStatus, filing_block
from workflows.codes import RequesterType


class Agency(Model):
    """A government agency; it may file only while verified and not expired."""

    __tablename__ = "agencies"
    # The verification queue: pending agencies, oldest first.
    __table_args__ = (sa.Index("ix_agencies_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # ISO 3166-1 alpha-2, or "EU" for a body of the European Union.
    country: Mapped[str] = mapped_column(sa.String(2), index=True)
    # Its region (a python-holidays subdivision code, e.g. BY for Bavaria): its holidays
    # count in the agency's business-day deadlines too.
    subdivision: Mapped[str | None] = mapped_column(sa.String(10))
    # What kind of authority it is (court, executive, police, regulator): transparency
    # reports group by it. NULL until an administrator says.
    requester_type: Mapped[RequesterType | None] = mapped_column(code_enum(RequesterType, 16))
    official_domain: Mapped[str] = mapped_column(sa.String(253), unique=True)
    status: Mapped[VerificationStatus] = mapped_column(
        code_enum(VerificationStatus, 16), default=VerificationStatus.PENDING
    )
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    focal_point: Mapped[bool] = mapped_column(default=False)
    # The person an administrator designated to hear of every urgent or emergency request
    # filed in the agency's name: a second channel that no official's account can change.
    # Not necessarily a portal user; mailed in ``focal_contact_locale``.
    focal_contact_name: Mapped[str] = mapped_column(sa.String(200), default="",
                                                    server_default="")
    focal_contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    focal_contact_locale: Mapped[str] = mapped_column(sa.String(10), default="en",
                                                      server_default="en")
    # Officials of this agency must use two-factor sign-in (platform staff always must).
    require_two_factor: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def filing_block(self, now: datetime) -> str | None:
        """Why this agency cannot file now, in English, or ``None`` if it can (the rule is
        :func:`workflows.agency_flow.filing_block`)."""
        return filing_block(self.status, self.verified_until, now)

    def __repr__(self) -> str:
        return f"<Agency {self.id} {self.official_domain}>"
