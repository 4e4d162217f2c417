"""Contested items: what an agency disputes of a request's outcome, item by item, and
the reviewer's answer to each."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.columns import UTCDateTime, code_enum
from portal.models.legal_request import RequestItem
from workflows.codes import DisputeAnswer


class ItemDispute(Model):
    """One item contested in one dispute of a request (``round`` counts the request's
    disputes from 1). A whole-request dispute contests every item. The answer is empty
    until the reviewer gives it, or until upholding or revising answers what is left."""

    __tablename__ = "item_disputes"
    __table_args__ = (
        sa.UniqueConstraint("item_id", "round"),
        sa.Index("ix_item_disputes_request_round", "request_id", "round", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("legal_requests.id"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("request_items.id"))
    round: Mapped[int]
    #: The agency's reason for this item, when it gave one besides the dispute's own.
    reason: Mapped[str | None] = mapped_column(sa.Text)
    answer: Mapped[DisputeAnswer | None] = mapped_column(code_enum(DisputeAnswer, 10))
    answer_text: Mapped[str | None] = mapped_column(sa.Text)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    item: Mapped[RequestItem] = relationship()
