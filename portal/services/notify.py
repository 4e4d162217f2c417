"""Putting a mail in the outbox from any service, and sending it right away when asked.

Mails that a person is waiting for (a password reset, a registration link) are enqueued
in the caller's transaction and then delivered at once by :func:`deliver_now`; the
worker retries whatever that could not send.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import DeliveryStatus, Notification, outbox_row
from portal.models.columns import utcnow
from portal.services import outbox


def enqueue_mail(
    template: str,
    *,
    recipient: str,
    locale: str = "en",
    params: dict[str, Any],
    dedup_key: str,
    user_id: int | None = None,
    request_id: int | None = None,
    now: datetime | None = None,
) -> Notification:
    """Add a mail to the session (the caller's transaction commits it).

    ``template`` names ``templates/emails/<template>.txt`` (first line is the subject);
    ``params`` must be JSON-serialisable. ``dedup_key`` must be unique: the same key can
    never be queued twice.
    """
    note = Notification(**outbox_row(
        template, dedup_key=dedup_key, recipient=recipient, params=params,
        now=now or utcnow(), locale=locale, user_id=user_id, request_id=request_id))
    db.session.add(note)
    return note


def deliver_now(ids: Iterable[int]) -> None:
    """Try to send these (committed) notifications at once; failures stay queued for the
    worker with their backoff."""
    wanted = list(ids)
    if not wanted:
        return
    pending = db.session.scalars(
        sa.select(Notification.id).where(Notification.id.in_(wanted),
                                          Notification.status == DeliveryStatus.PENDING)
    ).all()
    if pending:
        outbox.deliver_due(utcnow(), limit=len(pending), only=pending)
