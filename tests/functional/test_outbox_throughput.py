"""The outbox in an alert wave: one pass delivers what is due (bounded by time, not 200),
over one SMTP connection per 100 mails (not one each).

Before: at most 200 mails a pass, a connection each; in a wave of 1,500 requests mails
left p50 152 s and p99 255 s after they were due. bench/outbox.py measures 10,000."""

from __future__ import annotations

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal.extensions import db
from portal.models import DeliveryStatus, Notification
from portal.models.columns import utcnow
from portal.services import outbox
from tests.smtp import Inbox, free_port


class CountingInbox(Inbox):
    """Counts connections (EHLO/HELO greetings) and refuses one recipient."""

    connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        type(self).connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
        if address == "refused@platform.example":
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def queue(count: int, *, refused_at: int | None = None) -> None:
    now = utcnow()
    db.session.execute(sa.insert(Notification), [{
        "dedup_key": f"wave:{n}", "channel": "email", "template": "sla_alert",
        "params": {"reference": f"TR-2026-{n:06d}", "target": "resolve", "threshold": 0.5,
                   "due_at": now.isoformat(), "policy": "turkey", "source": "Law No. 5651",
                   "jurisdiction": "TR", "category": "terrorism", "priority": "urgent"},
        "recipient": ("refused@platform.example" if n == refused_at
                      else f"liaison{n}@platform.example"),
        "locale": ("en", "tr", "ar")[n % 3], "status": DeliveryStatus.PENDING,
        "attempts": 0, "next_attempt_at": now, "created_at": now,
    } for n in range(count)])
    db.session.commit()


def test_one_pass_delivers_the_whole_wave_over_few_connections(app):
    queue(1000, refused_at=500)
    inbox = CountingInbox()
    CountingInbox.connections = 0
    server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    server.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port,
                      MAIL_SENDER="Portal <portal@platform.example>")
    try:
        result = outbox.deliver_due()
    finally:
        server.stop()
    assert (result.sent, result.retried, result.failed) == (999, 1, 0)
    assert len(inbox.messages) == 999
    # 100 mails a connection, and a new one after the refused recipient.
    assert CountingInbox.connections <= 12, CountingInbox.connections
    ids = {str(m["Message-ID"]) for m in inbox.messages}
    assert len(ids) == 999
    # The sender's domain, without the ">" of "Portal <portal@platform.example>".
    sent_ids = db.session.scalars(sa.select(Notification.id).where(
        Notification.status == DeliveryStatus.SENT)).all()
    assert ids == {f"<notification-{i}@platform.example>" for i in sent_ids}
    # Subjects and bodies in the recipient's language survive the faster encoding.
    arabic = next(m for m in inbox.messages if str(m["To"]) == "liaison2@platform.example")
    assert str(arabic["Subject"]).startswith("[TR-2026-000002] ")
    assert not str(arabic["Subject"]).isascii()
    assert "TR-2026-000002" in arabic.get_body(("plain",)).get_content()
    retry = db.session.scalar(sa.select(Notification).where(
        Notification.recipient == "refused@platform.example"))
    assert retry.status is DeliveryStatus.PENDING and "550" in retry.last_error
