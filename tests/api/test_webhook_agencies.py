"""Only a verified agency, whose verification has not expired, may register webhooks or
receive deliveries (the same rule as filing)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import DeliveryStatus, Notification, WebhookDelivery
from portal.models.columns import utcnow
from portal.services import agencies, outbox, tokens
from tests.receivers import Receiver
from workflows.agency_flow import VerificationStatus


def bearer(user) -> dict[str, str]:
    return {"Authorization": "Bearer " + tokens.create_token(user, "t", scopes=["file"])[1]}


def set_standing(agency, standing: str) -> None:
    if standing == "expired":
        agency.verified_until = utcnow() - timedelta(days=1)
    else:
        agency.status = VerificationStatus(standing)
    db.session.commit()


@pytest.mark.parametrize(("standing", "why"), [
    ("pending", "the agency has not been verified yet"),
    ("rejected", "the agency's verification was rejected"),
    ("suspended", "the agency is suspended"),
    ("expired", "the agency's verification has expired"),
])
def test_an_agency_that_is_not_verified_now_cannot_register_webhooks(
        client, world, standing, why):
    headers = bearer(world.official)
    set_standing(world.agency, standing)
    refused = client.post("/api/v1/webhooks", json={"url": "https://example.org/hook"},
                          headers=headers)
    assert refused.status_code == 403
    assert refused.content_type == "application/problem+json"
    assert refused.json["type"].endswith("#problem-forbidden")
    assert refused.json["detail"] == f"cannot register webhooks: {why}"
    assert client.get("/api/v1/webhooks", headers=headers).json["data"] == []


def test_a_verified_agency_can(client, world):
    created = client.post("/api/v1/webhooks", json={"url": "https://example.org/hook"},
                          headers=bearer(world.official))
    assert created.status_code == 201


def test_an_agency_suspended_after_registering_receives_nothing(client, app, world):
    with Receiver() as receiver:
        app.config.update(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE=False,
                          WEBHOOK_TESTING_PUBLIC_NETWORKS=["127.0.0.1/32"],
                          WEBHOOK_EXTRA_PORTS=[receiver.port])
        headers = bearer(world.official)
        assert client.post("/api/v1/webhooks", json={"url": receiver.url()},
                           headers=headers).status_code == 201
        world.file()
        agencies.suspend_agency(world.actor("admin"), world.agency.id, reason="audit")
        result = outbox.deliver_due(utcnow() + timedelta(seconds=1))
        assert receiver.received == []
    # Given up at once: retrying would deliver to an agency that is not entitled to it.
    # (What was sent is the urgent request's mail to the agency's focal point.)
    assert (result.retried, result.failed) == (0, 1)
    note = db.session.scalar(sa.select(Notification).where(Notification.channel == "webhook"))
    assert note.status is DeliveryStatus.FAILED
    assert note.last_error == "the agency may not receive deliveries now"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 0
