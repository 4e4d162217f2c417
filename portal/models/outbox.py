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


def outbox_row(template: str, *, dedup_key: str, recipient: str, params: dict[str, Any],
               now: datetime, locale: str = "en", user_id: int | None = None,
               request_id: int | None = None, channel: str = "email") -> dict[str, Any]:
    """A pending :class:`Notification` as a row for ``insert(notifications)``: due
    ``now``. The services that write many at once (notices, alerts, webhooks, the second
    channel of an urgent filing) build them here, and ``notify.enqueue_mail`` its one."""
    return {"dedup_key": dedup_key, "channel": channel, "template": template,
            "params": params, "recipient": recipient, "recipient_user_id": user_id,
            "locale": locale, "request_id": request_id, "next_attempt_at": now,
            "created_at": now}
