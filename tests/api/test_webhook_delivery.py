"""Webhooks delivered through the outbox to a real local HTTP receiver, signed."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import DeliveryStatus, Notification
from portal.models.columns import utcnow
from portal.services import outbox, tokens
from tests.factories import World


class Receiver:
    """A local HTTP server that records what it receives and answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(app):
    app.config["WEBHOOK_ALLOW_HTTP"] = True
    with Receiver() as r:
        yield r


def test_state_changes_are_posted_signed(client, receiver):
    w = World()
    _, token = tokens.create_token(w.official, "t")
    headers = {"Authorization": f"Bearer {token}"}
    secret = client.post("/api/v1/webhooks", json={"url": receiver.url},
                         headers=headers).json["secret"]
    ref = w.file(priority="standard").reference  # no mail to the focal point
    w.to_review(ref)
    result = outbox.deliver_due(utcnow() + timedelta(seconds=1))
    assert result.sent == 2 and len(receiver.received) == 2
    for got_headers, body in receiver.received:
        timestamp = got_headers["X-Portal-Timestamp"]
        expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        assert hmac.compare_digest(got_headers["X-Portal-Signature"], expected)
        assert got_headers["X-Portal-Event"] == "request.state_changed"
    states = [json.loads(body)["data"]["to_state"] for _, body in receiver.received]
    assert states == ["received", "legal_review"]
    listed = client.get("/api/v1/webhooks", headers=headers).json["data"][0]
    assert [d["status_code"] for d in listed["recent_deliveries"]] == [200, 200]


def test_failed_deliveries_are_retried_with_backoff_and_logged(client, receiver):
    w = World()
    _, token = tokens.create_token(w.official, "t")
    headers = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/webhooks", json={"url": receiver.url}, headers=headers)
    receiver.status = 503
    w.file()
    start = utcnow() + timedelta(seconds=1)
    assert outbox.deliver_due(start).retried == 1
    note = db.session.scalar(sa.select(Notification).where(Notification.channel == "webhook"))
    assert note.status is DeliveryStatus.PENDING and "503" in note.last_error
    assert outbox.deliver_due(start).retried == 0  # not due again yet
    receiver.status = 204
    assert outbox.deliver_due(start + timedelta(minutes=1)).sent == 1
    listed = client.get("/api/v1/webhooks", headers=headers).json["data"][0]
    assert [d["status_code"] for d in listed["recent_deliveries"]] == [204, 503]
    assert len(receiver.received) == 2
    assert receiver.received[0][0]["X-Portal-Delivery"] == receiver.received[1][0][
        "X-Portal-Delivery"]
