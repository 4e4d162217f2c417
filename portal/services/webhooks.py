"""Agencies' webhooks: registered, told of state changes and SLA alerts through the
outbox, delivered signed with HMAC-SHA256, each attempt logged."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import Notification, Webhook, WebhookDelivery
from portal.models.columns import utcnow
from portal.services.actors import Actor
from portal.services.errors import FieldError, Forbidden, NotFound, ValidationFailed
from portal.services.transaction import transaction
from workflows.roles import Role

#: Headers of every delivery (documented in docs/API.md).
SIGNATURE_HEADER = "X-Portal-Signature"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
EVENT_HEADER = "X-Portal-Event"
DELIVERY_HEADER = "X-Portal-Delivery"
MAX_WEBHOOKS_PER_AGENCY = 10


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + HMAC-SHA256 of ``"<timestamp>.<body>"`` with the webhook's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _check_url(url: str) -> list[FieldError]:
    parts = urlsplit(url)
    allowed = {"https"} | ({"http"} if current_app.config["WEBHOOK_ALLOW_HTTP"] else set())
    if parts.scheme not in allowed or not parts.hostname:
        schemes = " or ".join(sorted(allowed))
        return [FieldError("url", f"an absolute {schemes} URL", "invalid")]
    if len(url) > 2000:
        return [FieldError("url", "at most 2000 characters", "too_long")]
    problem = destination_problem(parts.hostname, parts.port)
    if problem:
        return [FieldError("url", problem, "forbidden_destination")]
    return []


def destination_problem(host: str, port: int | None) -> str | None:
    """Why the portal will not call this host, or ``None``.

    Webhook URLs come from outside; without this an agency could make the portal call
    addresses inside the platform's own network (loopback, private ranges, cloud metadata
    at 169.254.169.254). Checked when a webhook is registered and again before every
    delivery, since DNS can change in between.
    """
    if current_app.config["WEBHOOK_ALLOW_PRIVATE"]:
        return None
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return f"{host} does not resolve"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return f"{host} resolves to a non-public address ({address})"
    return None


def create(actor: Actor, url: str, description: str = "", *,
           now: datetime | None = None) -> tuple[Webhook, str]:
    """Register a webhook for the actor's agency; return it and its secret (shown once).

    Raises:
        Forbidden: the actor is not an agency official.
        ValidationFailed: a bad URL, or too many webhooks.
    """
    if actor.role is not Role.AGENCY_OFFICIAL or actor.agency_id is None:
        raise Forbidden("webhooks belong to agencies")
    errors = _check_url(url.strip())
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Webhook).where(
        Webhook.agency_id == actor.agency_id, Webhook.deleted_at.is_(None))) or 0
    if count >= MAX_WEBHOOKS_PER_AGENCY:
        errors.append(FieldError("url", f"at most {MAX_WEBHOOKS_PER_AGENCY} webhooks",
                                 "too_many"))
    if errors:
        raise ValidationFailed(errors)
    secret = secrets.token_hex(32)
    hook = Webhook(agency_id=actor.agency_id, url=url.strip(),
                   description=description.strip()[:200], secret=secret,
                   created_by_id=actor.user_id, created_at=now or utcnow())
    with transaction():
        db.session.add(hook)
    return hook, secret


def of_agency(actor: Actor) -> list[Webhook]:
    if actor.agency_id is None:
        return []
    return list(db.session.scalars(
        sa.select(Webhook).where(Webhook.agency_id == actor.agency_id,
                                 Webhook.deleted_at.is_(None)).order_by(Webhook.id)))


def recent_deliveries(webhook_ids: list[int], per_hook: int = 20
                      ) -> dict[int, list[WebhookDelivery]]:
    """The latest attempts of each webhook (one query)."""
    if not webhook_ids:
        return {}
    ranked = (
        sa.select(WebhookDelivery.id,
                  sa.func.row_number().over(
                      partition_by=WebhookDelivery.webhook_id,
                      order_by=WebhookDelivery.attempted_at.desc()).label("n"))
        .where(WebhookDelivery.webhook_id.in_(webhook_ids)).subquery()
    )
    rows = db.session.scalars(
        sa.select(WebhookDelivery).join(ranked, ranked.c.id == WebhookDelivery.id)
        .where(ranked.c.n <= per_hook).order_by(WebhookDelivery.attempted_at.desc())
    ).all()
    found: dict[int, list[WebhookDelivery]] = {i: [] for i in webhook_ids}
    for row in rows:
        found[row.webhook_id].append(row)
    return found


def delete(actor: Actor, webhook_id: int, *, now: datetime | None = None) -> None:
    """Stop a webhook (its delivery log is kept).

    Raises:
        NotFound: no such webhook of the actor's agency.
    """
    with transaction():
        hook = db.session.get(Webhook, webhook_id)
        if hook is None or hook.deleted_at is not None or hook.agency_id != actor.agency_id:
            raise NotFound(f"no webhook {webhook_id}")
        hook.deleted_at = now or utcnow()
        hook.active = False


def event_rows(agency_id: int, *, event: str, payload: dict[str, Any], dedup: str,
               request_id: int, now: datetime,
               hooks: Iterable[tuple[int, str]] | None = None) -> list[dict[str, Any]]:
    """Outbox rows telling each active webhook of the agency about one event."""
    if hooks is None:
        hooks = db.session.execute(
            sa.select(Webhook.id, Webhook.url).where(
                Webhook.agency_id == agency_id, Webhook.active.is_(True))).all()
    return [
        {"dedup_key": f"wh:{hook_id}:{dedup}", "channel": "webhook", "template": event,
         "params": {"webhook_id": hook_id, "event": event, "data": payload},
         "recipient": url, "recipient_user_id": None, "locale": "en",
         "request_id": request_id, "next_attempt_at": now, "created_at": now}
        for hook_id, url in hooks
    ]


def enqueue(agency_id: int, *, event: str, payload: dict[str, Any], dedup: str,
            request_id: int, now: datetime) -> None:
    """Add the outbox rows for one event to the caller's transaction."""
    rows = event_rows(agency_id, event=event, payload=payload, dedup=dedup,
                      request_id=request_id, now=now)
    if rows:
        db.session.execute(sa.insert(Notification), rows)


class DeliveryError(Exception):
    """The receiver did not accept the delivery (it will be retried)."""


def deliver(note: Notification, *, now: datetime | None = None) -> None:
    """POST one webhook notification, signed; log the attempt.

    Raises:
        DeliveryError: no 2xx answer (or the webhook is gone).
    """
    now = now or utcnow()
    hook = db.session.get(Webhook, note.params["webhook_id"])
    if hook is None or not hook.active:
        raise DeliveryError("the webhook was deleted")
    parts = urlsplit(hook.url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise DeliveryError("not an http(s) URL")
    problem = destination_problem(parts.hostname, parts.port)
    if problem:
        raise DeliveryError(problem)
    body = json.dumps({"id": note.id, "event": note.params["event"],
                       "data": note.params["data"]}, sort_keys=True).encode()
    timestamp = str(int(now.timestamp()))
    outgoing = urllib.request.Request(
        hook.url, data=body, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "liaison-portal-webhook",
                 TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(hook.secret, timestamp, body),
                 EVENT_HEADER: note.params["event"], DELIVERY_HEADER: str(note.id)},
    )
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        # The scheme is http(s) and the destination public, checked just above.
        with urllib.request.urlopen(  # nosec B310
            outgoing, timeout=float(current_app.config["WEBHOOK_TIMEOUT"])
        ) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    db.session.add(WebhookDelivery(
        webhook_id=hook.id, notification_id=note.id, event=note.params["event"],
        attempted_at=now, status_code=status, error=error,
        duration_ms=int((time.monotonic() - started) * 1000)))
    if error is not None or status is None or not 200 <= status < 300:
        raise DeliveryError(error or f"HTTP {status}")
