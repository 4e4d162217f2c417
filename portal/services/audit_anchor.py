"""Anchoring the audit record: its head at one moment, kept outside the database.

A hash chain proves that what remains is consistent, not that it is what was written:
whoever can write to the database can rewrite a request's whole history and recompute
every hash. An anchor (the global sequence number reached, and every request's head at
that number folded into one hash) kept in a file elsewhere, or mailed to people outside
the platform's database team, makes such a rewrite of anything before it detectable:
``flask audit verify --anchor FILE``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import Event, LegalRequest, Notification
from portal.services import notify
from portal.services.audit import iso
from portal.services.audit_verify import ledger_last, read_snapshot
from portal.services.transaction import transaction
from workflows.audit import Anchor, HeadFold

#: Requests per query while the heads are collected.
_BATCH = 1000


def take_anchor(now: datetime) -> Anchor:
    """The record's head now: every request's newest event, in one consistent view."""
    read_snapshot()
    try:
        last = ledger_last()
        folder = HeadFold()
        heads: list[tuple[int, str, int, str]] = []
        last_id = 0
        while True:
            requests = db.session.execute(
                sa.select(LegalRequest.id, LegalRequest.reference)
                .where(LegalRequest.id > last_id).order_by(LegalRequest.id).limit(_BATCH)
            ).all()
            if not requests:
                break
            last_id = requests[-1].id
            newest = (sa.select(Event.request_id, sa.func.max(Event.gseq).label("g"))
                      .where(Event.request_id.in_([r.id for r in requests]),
                             Event.gseq <= last)
                      .group_by(Event.request_id).subquery())
            found = {row.request_id: (row.seq, row.hash) for row in db.session.execute(
                sa.select(Event.request_id, Event.seq, Event.hash).join(
                    newest, sa.and_(Event.request_id == newest.c.request_id,
                                    Event.gseq == newest.c.g)))}
            for r in requests:
                if r.id in found:
                    seq, digest = found[r.id]
                    folder.add(r.id, r.reference, seq, digest)
                    heads.append((r.id, r.reference, seq, digest))
    finally:
        db.session.rollback()
    return Anchor(at=iso(now) or "", events=last, requests=folder.requests,
                  head=folder.hexdigest(), heads=tuple(heads))


def recipients() -> list[str]:
    """``AUDIT_ANCHOR_RECIPIENTS``: a list, or one string of comma-separated addresses."""
    configured = current_app.config.get("AUDIT_ANCHOR_RECIPIENTS") or []
    if isinstance(configured, str):
        configured = configured.split(",")
    return [a.strip() for a in configured if a.strip()]


def mail_anchor(anchor: Anchor, addresses: Sequence[str], now: datetime) -> list[int]:
    """Queue the anchor (its one-line form) to each address through the outbox, try to
    send it at once, and return the notification ids (the worker retries failures).

    The same anchor is never queued twice to one address.
    """
    line = anchor.to_json(with_heads=False).strip()
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    queued: list[int] = []
    with transaction():
        for address in addresses:
            hashed = hashlib.sha256(address.lower().encode()).hexdigest()[:32]
            key = f"audit-anchor:{anchor.events}:{anchor.head[:32]}:{hashed}"
            exists = db.session.scalar(sa.select(Notification.id).where(
                Notification.dedup_key == key))
            if exists is not None:
                continue
            note = notify.enqueue_mail(
                "audit_anchor", recipient=address, locale=locale, dedup_key=key, now=now,
                params={"at": anchor.at, "events": anchor.events,
                        "requests": anchor.requests, "head": anchor.head, "line": line})
            db.session.flush()
            queued.append(note.id)
    notify.deliver_now(queued)
    return queued
