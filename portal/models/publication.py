"""A reviewer's decision to publish a request as a Lumen-style notice, with what was
redacted and the notice exactly as it left."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.columns import JSONType, UTCDateTime
from portal.models.user import User


class NoticePublication(Model):
    """One publication of a request: who decided it and when, the items whose targets
    were redacted, the passages redacted from the text, and the redacted notice."""

    __tablename__ = "notice_publications"
    __table_args__ = (
        sa.Index("ix_notice_publications_request_decided", "request_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("legal_requests.id"))
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Lumen's notice type (GovernmentRequest, CourtOrder, LawEnforcementRequest, ...).
    notice_type: Mapped[str] = mapped_column(sa.String(32))
    redacted_item_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    # The passages themselves stay here, with the staff: the notice shows "[REDACTED]".
    redacted_passages: Mapped[list[str]] = mapped_column(JSONType, default=list)
    notice: Mapped[dict[str, Any]] = mapped_column(JSONType)

    decided_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<NoticePublication {self.id} request {self.request_id}>"
