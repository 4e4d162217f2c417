"""The API's own records: tokens, idempotent filings, and agencies' webhooks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.columns import JSONType, UTCDateTime, utcnow
from portal.models.user import User


class TokenScope(StrEnum):
    """What a token may do, within its user's rights. Every token may read."""

    #: GET calls only.
    READ = "read"
    #: Also file requests (``POST /requests``), post messages and manage webhooks.
    FILE = "file"
    #: Also fire lifecycle actions and, for legal reviewers, decide items.
    ACT = "act"


class ApiToken(Model):
    """A bearer token acting with its user's rights, narrowed to its scopes, until it
    expires. Only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # The first characters of the token, shown in lists so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # TokenScope values, space-separated in a fixed order ("read file act"); "read" is
    # always among them.
    scopes: Mapped[str] = mapped_column(sa.String(40), default=TokenScope.READ.value)

    user: Mapped[User] = relationship()


class IdempotencyRecord(Model):
    """The response to a ``POST /requests`` made with an ``Idempotency-Key``: the same
    key and body get the same response again, without filing twice."""

    __tablename__ = "idempotency_records"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(sa.String(200))
    body_sha256: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Webhook(Model):
    """An agency's callback URL, told of state changes and SLA alerts. The secret signs
    each delivery (HMAC-SHA256); it is shown once, when the webhook is created, and
    stored encrypted (a Fernet token, :mod:`portal.secret_box`): the worker must read it
    back to sign, so it cannot be a hash, but a copy of the database alone does not
    give it away."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    secret_encrypted: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookDelivery(Model):
    """One attempt to deliver a webhook notification, as the agency sees it: ``error`` is
    a category (``webhook_transport.Failure``), never the underlying detail."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.Index("ix_webhook_deliveries_webhook_attempted", "webhook_id",
                               "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhooks.id"))
    notification_id: Mapped[int] = mapped_column(sa.ForeignKey("notifications.id"))
    event: Mapped[str] = mapped_column(sa.String(40))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.String(500))
    duration_ms: Mapped[int] = mapped_column(default=0)
