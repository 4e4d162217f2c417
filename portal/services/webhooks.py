"""Agencies' webhooks: registered, told of state changes and SLA alerts through the
outbox, delivered signed with HMAC-SHA256, each attempt logged.

Only to public addresses on standard ports, checked at registration and again at each
delivery, over a connection pinned to the checked address, never following a redirect
(:mod:`~portal.services.webhook_destinations`, :mod:`~portal.services.webhook_transport`);
the agency sees each failure as a category, the server log the detail. Secrets are
encrypted at rest (:mod:`portal.secret_box`)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from portal import secret_box
from portal.extensions import db
from portal.models import Agency, Notification, Webhook, WebhookDelivery, outbox_row
from portal.models.columns import utcnow
from portal.services import webhook_destinations as destinations
from portal.services import webhook_transport as transport
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

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + HMAC-SHA256 of ``"<timestamp>.<body>"`` with the webhook's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _check_url(url: str, config: Mapping[str, Any]) -> list[FieldError]:
    """The URL's problems: its form, then its port and every address its host resolves
    to (both reported)."""
    refusals: list[destinations.DestinationRefused] = []
    try:
        target = destinations.parse_url(url, config)
    except destinations.DestinationRefused as refused:
        refusals.append(refused)
    else:
        try:
            destinations.check_port(target, config)
        except destinations.DestinationRefused as refused:
            refusals.append(refused)
        try:
            # With the checks off (development) a name need not resolve yet.
            if not config["WEBHOOK_ALLOW_PRIVATE"]:
                destinations.resolve(target, config, testing=current_app.testing)
        except destinations.DestinationRefused as refused:
            refusals.append(refused)
    for problem in refusals:
        log.info("webhook URL refused at registration: %s", problem.detail)
    return [FieldError("url", r.message, r.field_code) for r in refusals]


def _agency_block(agency_id: int, now: datetime) -> str | None:
    """Why this agency may not have webhooks now (pending, rejected, suspended or
    expired: the same rule as filing), or ``None``."""
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        return "the agency does not exist"
    return agency.filing_block(now)


def create(actor: Actor, url: str, description: str = "", *,
           now: datetime | None = None) -> tuple[Webhook, str]:
    """Register a webhook for the actor's agency; return it and its secret (shown once).

    The secret is stored encrypted (:mod:`portal.secret_box`).

    Raises:
        Forbidden: the actor is not an agency official, or the agency is not verified
            now (pending, rejected, suspended or expired).
        ValidationFailed: a bad URL (``invalid``, ``too_long``, ``credentials``,
            ``forbidden_port``, ``forbidden_destination``), or too many webhooks.
    """
    now = now or utcnow()
    if actor.role is not Role.AGENCY_OFFICIAL or actor.agency_id is None:
        raise Forbidden("webhooks belong to agencies")
    block = _agency_block(actor.agency_id, now)
    if block is not None:
        raise Forbidden(f"cannot register webhooks: {block}")
    config = current_app.config
    errors = _check_url(url.strip(), config)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Webhook).where(
        Webhook.agency_id == actor.agency_id, Webhook.deleted_at.is_(None))) or 0
    if count >= MAX_WEBHOOKS_PER_AGENCY:
        errors.append(FieldError("url", f"at most {MAX_WEBHOOKS_PER_AGENCY} webhooks",
                                 "too_many"))
    if errors:
        raise ValidationFailed(errors)
    secret = secrets.token_hex(32)
    hook = Webhook(agency_id=actor.agency_id, url=url.strip(),
                   description=description.strip()[:200],
                   secret_encrypted=secret_box.seal(secret, config),
                   created_by_id=actor.user_id, created_at=now)
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


def reseal_secrets() -> int:
    """Re-encrypt every webhook secret with the current ``WEBHOOK_SECRET_KEY`` (after a
    key rotation); return how many. All or nothing.

    Raises:
        secret_box.SecretUnreadable: a secret opens with no configured key (its
            webhook's id is named); nothing was changed.
    """
    config = current_app.config
    count = 0
    with transaction():
        for hook in db.session.scalars(sa.select(Webhook).order_by(Webhook.id)):
            try:
                hook.secret_encrypted = secret_box.reseal(hook.secret_encrypted, config)
            except secret_box.SecretUnreadable:
                raise secret_box.SecretUnreadable(
                    f"the secret of webhook {hook.id} opens with no configured key") from None
            count += 1
    return count


#: Built once: every filing and transition runs it.
_ACTIVE_HOOKS = sa.select(Webhook.id, Webhook.url).where(
    Webhook.agency_id == sa.bindparam("agency_id"), Webhook.active.is_(True))


def event_rows(agency_id: int, *, event: str, payload: dict[str, Any], dedup: str,
               request_id: int, now: datetime,
               hooks: Iterable[tuple[int, str]] | None = None) -> list[dict[str, Any]]:
    """Outbox rows telling each active webhook of the agency about one event."""
    if hooks is None:
        hooks = db.session.execute(_ACTIVE_HOOKS, {"agency_id": agency_id}).all()
    return [
        outbox_row(event, dedup_key=f"wh:{hook_id}:{dedup}", recipient=url,
                   params={"webhook_id": hook_id, "event": event, "data": payload},
                   now=now, request_id=request_id, channel="webhook")
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
    """The delivery did not succeed. ``str()`` is what may be recorded and shown (a
    :class:`~portal.services.webhook_transport.Failure` or a short fixed reason, never
    internal detail); ``retry`` says whether trying again later may help."""

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.retry = retry


def deliver(note: Notification, *, now: datetime | None = None) -> None:
    """POST one webhook notification, signed, and log the attempt.

    The URL is checked again here (DNS may have changed since registration) and the
    connection goes to the address checked, with no redirect followed. The agency's log
    (``WebhookDelivery.error``) gets only the failure's category; the detail goes to the
    server log.

    Raises:
        DeliveryError: no 2xx answer (retried later), or nothing to deliver to: the
            webhook was deleted, or its agency may not receive deliveries now (not
            retried).
    """
    now = now or utcnow()
    config = current_app.config
    hook = db.session.get(Webhook, note.params["webhook_id"])
    if hook is None or not hook.active:
        raise DeliveryError("the webhook was deleted", retry=False)
    block = _agency_block(hook.agency_id, now)
    if block is not None:
        log.info("webhook %s: notification %s not delivered: %s", hook.id, note.id, block)
        raise DeliveryError("the agency may not receive deliveries now", retry=False)
    body = json.dumps({"id": note.id, "event": note.params["event"],
                       "data": note.params["data"]}, sort_keys=True).encode()
    timestamp = str(int(now.timestamp()))
    try:
        secret = secret_box.unseal(hook.secret_encrypted, config)
    except secret_box.SecretUnreadable:
        # The operator dropped a key still in use: retried, so that putting the key back
        # in WEBHOOK_SECRET_OLD_KEYS delivers what waited.
        log.error("webhook %s: its secret opens with no configured key "
                  "(WEBHOOK_SECRET_KEY / WEBHOOK_SECRET_OLD_KEYS)", hook.id)
        raise DeliveryError("the signing secret cannot be read") from None
    headers = {"Content-Type": "application/json", "User-Agent": "liaison-portal-webhook",
               TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body),
               EVENT_HEADER: note.params["event"], DELIVERY_HEADER: str(note.id)}
    duration = 0.0  # a refused destination was never contacted
    try:
        target = destinations.parse_url(hook.url, config)
        destinations.check_port(target, config)
        addresses = destinations.resolve(target, config, testing=current_app.testing)
    except destinations.DestinationRefused as refused:
        outcome = transport.Outcome(None, transport.Failure.REFUSED, refused.detail)
    else:
        started = time.monotonic()
        outcome = transport.post(target, addresses, body, headers,
                                 timeout=float(config["WEBHOOK_TIMEOUT"]),
                                 ca_file=config["WEBHOOK_CA_FILE"])
        duration = time.monotonic() - started
    db.session.add(WebhookDelivery(
        webhook_id=hook.id, notification_id=note.id, event=note.params["event"],
        attempted_at=now, status_code=outcome.status,
        error=outcome.failure.value if outcome.failure else None,
        duration_ms=int(duration * 1000)))
    if outcome.failure is not None:
        log.warning("webhook %s: notification %s failed (%s): %s", hook.id, note.id,
                    outcome.failure.value, outcome.detail)
        status = f" ({outcome.status})" if outcome.status is not None else ""
        raise DeliveryError(f"{outcome.failure.value}{status}")
