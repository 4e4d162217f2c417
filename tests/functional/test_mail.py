"""The outbox delivered to a real SMTP server (aiosmtpd on a free loopback port)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import DeliveryStatus, Notification
from portal.services import outbox
from tests.factories import make_user
from tests.smtp import free_port

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def enqueue(user, template="sla_alert", threshold=0.75, key="k1") -> Notification:
    note = Notification(
        dedup_key=key, template=template, recipient=user.email, recipient_user_id=user.id,
        locale=user.locale, next_attempt_at=NOW,
        params={"reference": "TR-2026-000042", "target": "resolve", "threshold": threshold,
                "due_at": "2026-11-18T14:00:00+00:00", "policy": "tr-5651",
                "source": "Law No. 5651 Art. 8/A", "jurisdiction": "TR",
                "category": "disinformation", "priority": "urgent"},
    )
    db.session.add(note)
    db.session.commit()
    return note


def test_delivers_in_the_recipients_language(smtp):
    english = make_user("legal_reviewer")
    turkish = make_user("platform_liaison")
    turkish.locale = "tr"
    db.session.commit()
    enqueue(english, key="en")
    enqueue(turkish, key="tr")
    result = outbox.deliver_due(NOW)
    assert (result.sent, result.retried, result.failed) == (2, 0, 0)
    by_to = {m["To"]: m for m in smtp.messages}
    assert set(by_to) == {english.email, turkish.email}
    en = by_to[english.email]
    assert en["Subject"] == "[TR-2026-000042] 75% of the resolution deadline used"
    assert "Law No. 5651 Art. 8/A" in en.get_payload(decode=True).decode()
    assert en["Message-ID"].startswith("<notification-")
    tr = by_to[turkish.email]
    assert tr["Subject"] != en["Subject"] and "TR-2026-000042" in tr["Subject"]
    assert "%75" in tr["Subject"] or "75" in tr["Subject"]
    assert all(n.status is DeliveryStatus.SENT for n in db.session.scalars(
        sa.select(Notification)))
    assert outbox.deliver_due(NOW).sent == 0  # nothing is sent twice


def test_unreachable_server_is_retried_with_backoff_then_failed(app):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(),
                      MAIL_MAX_ATTEMPTS=3, MAIL_TIMEOUT=2)
    note = enqueue(make_user("legal_reviewer"))
    first = outbox.deliver_due(NOW)
    assert first.retried == 1
    db.session.refresh(note)
    assert note.status is DeliveryStatus.PENDING and note.attempts == 1
    assert note.next_attempt_at == NOW + timedelta(minutes=1)
    assert "ConnectionRefusedError" in note.last_error
    assert outbox.deliver_due(NOW).retried == 0  # not due yet
    outbox.deliver_due(NOW + timedelta(minutes=1))
    db.session.refresh(note)
    assert note.next_attempt_at == NOW + timedelta(minutes=3)
    last = outbox.deliver_due(NOW + timedelta(minutes=3))
    db.session.refresh(note)
    assert last.failed == 1 and note.status is DeliveryStatus.FAILED and note.attempts == 3


def test_breach_mail_to_the_lead(smtp):
    lead = make_user("platform_liaison")
    enqueue(lead, template="sla_breach", threshold=1.0)
    outbox.deliver_due(NOW)
    [message] = smtp.messages
    assert "BREACHED" in message["Subject"]
    assert "lead the liaison team" in message.get_payload(decode=True).decode()


def test_mails_for_several_languages_in_one_pass_keep_their_own_labels(smtp):
    english = make_user("legal_reviewer")
    indonesian = make_user("platform_liaison")
    indonesian.locale = "id"
    db.session.commit()
    enqueue(english, key="a")
    enqueue(indonesian, key="b")
    enqueue(english, key="c")
    outbox.deliver_due(NOW)
    bodies = {m["To"]: m.get_payload(decode=True).decode() for m in smtp.messages}
    assert "Disinformation" in bodies[english.email]
    assert "Disinformasi" in bodies[indonesian.email]
