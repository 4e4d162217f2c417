"""Delivering the outbox: each notification rendered in its recipient's language, sent,
and marked, with retries and backoff; several dispatchers may run at once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale

from portal import mail
from portal.extensions import db
from portal.models import DeliveryStatus, Notification
from portal.models.columns import utcnow
from portal.services import webhooks
from portal.services.transaction import lock_for_writing, transaction


@dataclass
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


#: Mail params that hold a working one-time link (a password reset, a registration's
#: confirmation, an invitation, an account's first password): dropped from the stored
#: params once the mail is sent or given up, so the outbox never keeps a usable link in
#: plain text. The notification row (template, recipient, status, sent_at) still shows
#: the mail went out.
SECRET_PARAMS: dict[str, tuple[str, ...]] = {
    "password_reset": ("link",),
    "confirm_registration": ("link",),
    "invitation": ("link",),
    "admin_account_created": ("link",),
}


def forget_secrets(note: Notification) -> None:
    """Drop the params of ``note`` that only its delivery needed (see SECRET_PARAMS).

    In development they are kept: mail goes to the log there, and the development mail
    page (/dev/mail) shows each mail with its links, so the demo's reset link can be
    followed after the worker has "sent" it."""
    if current_app.config["ENVIRONMENT"] == "development":
        return
    secret = SECRET_PARAMS.get(note.template, ())
    if any(key in note.params for key in secret):
        # A new dict: the JSON column notices reassignment, not changes in place.
        note.params = {k: v for k, v in note.params.items() if k not in secret}


def backoff(attempts: int, first: float = 60.0) -> timedelta:
    """Wait before the next attempt: ``first`` seconds (``OUTBOX_RETRY_SECONDS``, a
    minute), doubling with each attempt (1, 2, 4, 8 … minutes), at most 6 hours."""
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), 6 * 3600))


def render(note: Notification) -> mail.Mail:
    """The message in the recipient's language (templates/emails/<template>.txt, whose
    first line is the subject)."""
    with force_locale(note.locale or "en"):
        text = render_template(f"emails/{note.template}.txt", **note.params)
    subject, _, body = text.strip().partition("\n")
    # The sender's domain: of its address, not of the header ("Portal <p@x.org>" gave
    # Message-IDs ending in "x.org>>").
    domain = parseaddr(current_app.config["MAIL_SENDER"])[1].rpartition("@")[2]
    domain = domain or "portal.invalid"
    return mail.Mail(to=note.recipient, subject=subject.strip(), body=body.strip() + "\n",
                     message_id=f"<notification-{note.id}@{domain}>")


def deliver_due(now: datetime | None = None, *, limit: int | None = None,
                only: Sequence[int] | None = None,
                seconds: float | None = None) -> DeliveryResult:
    """Send due notifications over one SMTP connection, in batches sized by time, until
    none is due or the pass's time is spent.

    The pass is bounded by time (``seconds``, default ``OUTBOX_PASS_SECONDS``), not by a
    count: an alert wave of thousands of mails goes out in one pass, while a slow mail
    server still lets the worker sweep the clocks again soon. ``limit`` caps the count
    too (callers sending the mails they just queued). Each batch locks the notifications
    it takes (``SKIP LOCKED``: another dispatcher takes the next ones), sends them for
    ``OUTBOX_BATCH_SECONDS`` and marks them in the same transaction, so a crash loses
    nothing; a crash before the commit sends that batch's mails again, each with the
    same Message-ID. ``only`` restricts delivery to these notification ids.
    """
    now = now or utcnow()
    config = current_app.config
    budget = float(config["OUTBOX_PASS_SECONDS"] if seconds is None else seconds)
    deadline = time.monotonic() + budget
    batch_seconds = float(config["OUTBOX_BATCH_SECONDS"])
    result = DeliveryResult()
    with mail.Postman(config) as postman:
        while time.monotonic() < deadline and (limit is None or result.handled < limit):
            room = _BATCH_ROWS if limit is None else min(_BATCH_ROWS, limit - result.handled)
            batch_ends = min(deadline, time.monotonic() + batch_seconds)
            if not _deliver_batch(now, only, postman, result, room, batch_ends):
                break
    return result


#: Rows a batch locks at most; it commits after OUTBOX_BATCH_SECONDS whatever it sent.
_BATCH_ROWS = 200


def _deliver_batch(now: datetime, only: Sequence[int] | None, postman: mail.Postman,
                   result: DeliveryResult, room: int, ends: float) -> bool:
    """Lock up to ``room`` due notifications, send them until ``ends``, and commit what
    was sent in one transaction; False if none was due."""
    config = current_app.config
    with transaction():
        lock_for_writing()
        query = sa.select(Notification).where(
            Notification.status == DeliveryStatus.PENDING,
            Notification.next_attempt_at <= now,
        )
        if only is not None:
            query = query.where(Notification.id.in_(list(only)))
        notes = db.session.scalars(
            query
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(room)
            .with_for_update(skip_locked=True)
        ).all()
        if not notes:
            return False
        for number, note in enumerate(notes):
            # The batch ends at its time (the rows not reached are unlocked at the commit
            # for the next batch, or another dispatcher): a crash re-sends at most what
            # one batch sent, each with its own stable Message-ID.
            if number and time.monotonic() >= ends:
                break
            _deliver(note, now, postman, result, config)
    return True


def _deliver(note: Notification, now: datetime, postman: mail.Postman,
             result: DeliveryResult, config: Any) -> None:
    note.attempts += 1
    try:
        if note.channel == "webhook":
            webhooks.deliver(note, now=now)
        else:
            postman.send(render(note))
    except (mail.MailError, webhooks.DeliveryError) as exc:
        note.last_error = str(exc)[:2000]
        if (note.attempts >= config["MAIL_MAX_ATTEMPTS"]
                or not getattr(exc, "retry", True)):
            note.status = DeliveryStatus.FAILED
            forget_secrets(note)
            result.failed += 1
        else:
            note.next_attempt_at = now + backoff(note.attempts,
                                                 float(config["OUTBOX_RETRY_SECONDS"]))
            result.retried += 1
    else:
        note.status = DeliveryStatus.SENT
        note.sent_at = now
        note.last_error = None
        forget_secrets(note)
        result.sent += 1
