"""Webhooks delivered through the outbox to a real local HTTP receiver, signed."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import DeliveryStatus, Notification
from portal.models.columns import utcnow
from portal.services import outbox, tokens
from tests.factories import World
from tests.receivers import Receiver


@pytest.fixture
def receiver(app):
    # The production checks stay on: only this loopback server counts as public, and
    # its port is allowed.
    with Receiver() as r:
        app.config.update(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE=False,
                          WEBHOOK_TESTING_PUBLIC_NETWORKS=["127.0.0.1/32"],
                          WEBHOOK_EXTRA_PORTS=[r.port])
        yield r


def test_state_changes_are_posted_signed(client, receiver):
    w = World()
    _, token = tokens.create_token(w.official, "t", scopes=["file"])
    headers = {"Authorization": f"Bearer {token}"}
    secret = client.post("/api/v1/webhooks", json={"url": receiver.url()},
                         headers=headers).json["secret"]
    ref = w.file(priority="standard").reference  # no mail to the focal point
    w.to_review(ref)
    # The webhooks only: the reviewers' mail about the new request is in the outbox too.
    hooks = db.session.scalars(sa.select(Notification.id).where(
        Notification.channel == "webhook")).all()
    result = outbox.deliver_due(utcnow() + timedelta(seconds=1), only=hooks)
    assert result.sent == 2 and len(receiver.received) == 2
    for got in receiver.received:
        got_headers, body = got.headers, got.body
        timestamp = got_headers["X-Portal-Timestamp"]
        expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        assert hmac.compare_digest(got_headers["X-Portal-Signature"], expected)
        assert got_headers["X-Portal-Event"] == "request.state_changed"
    states = [json.loads(got.body)["data"]["to_state"] for got in receiver.received]
    assert states == ["received", "legal_review"]
    listed = client.get("/api/v1/webhooks", headers=headers).json["data"][0]
    assert [d["status_code"] for d in listed["recent_deliveries"]] == [200, 200]


def test_failed_deliveries_are_retried_with_backoff_and_logged(client, receiver):
    w = World()
    _, token = tokens.create_token(w.official, "t", scopes=["file"])
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/webhooks", json={"url": receiver.url()}, headers=headers)
    receiver.status = 503
    w.file()
    start = utcnow() + timedelta(seconds=1)
    assert outbox.deliver_due(start).retried == 1
    note = db.session.scalar(sa.select(Notification).where(Notification.channel == "webhook"))
    assert note.status is DeliveryStatus.PENDING and note.last_error == "HTTP 5xx (503)"
    assert outbox.deliver_due(start).retried == 0  # not due again yet
    receiver.status = 204
    assert outbox.deliver_due(start + timedelta(minutes=1)).sent == 1
    listed = client.get("/api/v1/webhooks", headers=headers).json["data"][0]
    assert [(d["status_code"], d["error"]) for d in listed["recent_deliveries"]] == [
        (204, None), (503, "HTTP 5xx")]
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["X-Portal-Delivery"] == receiver.received[1].headers[
        "X-Portal-Delivery"]
