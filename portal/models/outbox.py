"""The notification outbox: written in the same transaction as what caused it, delivered
later by the worker with retries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.columns import JSONType, UTCDateTime, code_enum, utcnow


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Notification(Model):
    """A message waiting to go out (mail now; webhooks use the same outbox).

    ``template`` and ``params`` are rendered at delivery, in ``locale``. ``dedup_key`` is
    unique, so what caused it can never enqueue it twice.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index(
            "ix_notifications_due",
            "next_attempt_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    channel: Mapped[str] = mapped_column(sa.String(16), default="email")
    template: Mapped[str] = mapped_column(sa.String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    recipient: Mapped[str] = mapped_column(sa.String(500))
    recipient_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    locale: Mapped[str] = mapped_column(sa.String(10), default="en")
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("legal_requests.id"),
                                                   index=True)
    status: Mapped[DeliveryStatus] = mapped_column(code_enum(DeliveryStatus, 16),
                                                   default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
