"""The outbox as the development mail page shows it: each mail rendered as it was (or
will be) sent, newest first."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Notification
from portal.services import outbox

#: Mails the page shows at most (the newest).
DEV_MAIL_LIMIT = 50


@dataclass(frozen=True)
class ShownMail:
    """One mail of the outbox with its rendered subject and body."""

    notification: Notification
    subject: str
    body: str


def recent_mail(limit: int = DEV_MAIL_LIMIT) -> list[ShownMail]:
    """The newest mails of the outbox (sent, waiting or failed), newest first, each in its
    recipient's language. One statement; rendering reads no rows."""
    notes = db.session.scalars(
        sa.select(Notification).where(Notification.channel == "email")
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    shown = []
    for note in notes:
        rendered = outbox.render(note)
        shown.append(ShownMail(note, rendered.subject, rendered.body))
    return shown
