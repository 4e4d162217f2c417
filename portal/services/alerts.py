"""The sweeps: every SLA threshold crossing, and every end of a deferred user notice,
fires exactly once, as an audit event and outbox notifications, even with several
sweepers running at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult

from portal.extensions import db
from portal.models import (
    Event,
    LegalRequest,
    Notification,
    RequestItem,
    SlaClock,
    Webhook,
    outbox_row,
)
from portal.models.columns import utcnow
from portal.models.event import event_body
from portal.services import audit, clocks, decisions, notices, webhooks
from portal.services.errors import Conflict
from portal.services.transaction import lock_for_writing, transaction
from workflows import sla
from workflows.audit import CHAIN_VERSION, chain_hash
from workflows.roles import Role


@dataclass
class SweepResult:
    """What one sweep did."""

    alerts: int = 0
    notifications: int = 0
    requests: int = 0
    skipped_busy: int = 0


def sweep(now: datetime | None = None, *, batch: int = 500) -> SweepResult:
    """Fire every threshold crossed by ``now``; one transaction per batch of requests.

    Requests locked by someone else (a reviewer acting on them right now) are skipped
    and picked up by the next sweep: on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so
    any number of sweepers can run at once; on SQLite the write lock serialises them.
    """
    now = now or utcnow()
    result = SweepResult()
    busy: set[int] = set()
    while True:
        with transaction():
            lock_for_writing()
            candidates = sa.select(SlaClock.request_id).where(alert_due(now))
            if busy:
                candidates = candidates.where(SlaClock.request_id.not_in(busy))
            ids = list(dict.fromkeys(db.session.scalars(
                candidates.order_by(SlaClock.next_alert_at).limit(batch))))
            if not ids:
                return result
            locked = _lock_requests(ids)
            busy.update(set(ids) - set(locked))
            result.skipped_busy = len(busy)
            fired, notified = _fire(locked, now)
            result.alerts += fired
            result.notifications += notified
            result.requests += len(locked)


def alert_due(now: datetime) -> sa.ColumnElement[bool]:
    """The clocks with a threshold to fire at ``now``, found by walking the index on
    ``next_alert_at``. The breach is due only once the deadline has passed (reaching it is
    in time, ``workflows.sla.breached``): a clock whose next alert is its breach, at
    exactly ``now``, is left to a later sweep (else the sweep would take it again and
    again, firing nothing)."""
    return sa.and_(SlaClock.next_alert_at <= now,
                   sa.or_(SlaClock.next_alert_at < now,
                          SlaClock.next_alert_at != SlaClock.due_at))


def _lock_requests(ids: list[int]) -> dict[int, Any]:
    # Everything an event's snapshot records of the request comes with the lock.
    columns = {c.key: c for c in (LegalRequest.id, LegalRequest.reference,
                                  LegalRequest.event_count, LegalRequest.audit_head,
                                  LegalRequest.version, *audit.SNAPSHOT_COLUMNS)}
    rows = db.session.execute(
        sa.select(*columns.values())
        .where(LegalRequest.id.in_(ids))
        .with_for_update(skip_locked=True)
    ).all()
    return {row.id: row for row in rows}


def _digests(requests: dict[int, sa.Row[Any]]) -> dict[int, dict[str, Any]]:
    """Each locked request's digests; those it has none of yet, or only under an earlier
    rule (filed before the record kept them, or inserted in bulk), are computed from its
    rows and stored on it."""
    digests = {rid: r.record_digests for rid, r in requests.items()
               if audit.current(r.record_digests)}
    missing = {rid: r.item_count for rid, r in requests.items()
               if not audit.current(r.record_digests)}
    if missing:
        filled = audit.fill_digests(missing)
        table = cast(sa.Table, LegalRequest.__table__)
        db.session.execute(
            sa.update(table).where(table.c.id == sa.bindparam("rid"))
            .values(record_digests=sa.bindparam("digests"),
                    item_buckets=sa.bindparam("buckets")),
            [{"rid": rid, "digests": d, "buckets": b} for rid, (d, b) in filled.items()],
        )
        digests.update({rid: d for rid, (d, _) in filled.items()})
    return digests


def _fire(requests: dict[int, sa.Row[Any]], now: datetime) -> tuple[int, int]:
    """Fire the crossed thresholds of the (locked) requests' clocks; return the numbers of
    alerts and notifications written."""
    if not requests:
        return 0, 0
    rows = db.session.scalars(
        sa.select(SlaClock)
        .where(SlaClock.request_id.in_(list(requests)), SlaClock.next_alert_at <= now)
        .order_by(SlaClock.request_id, SlaClock.id)
        .with_for_update()
    ).all()
    events: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    heads: dict[int, tuple[int, str]] = {
        rid: (r.event_count, r.audit_head) for rid, r in requests.items()
    }
    snapshots: dict[int, dict[str, Any]] = {}
    digests: dict[int, dict[str, Any]] | None = None
    people = notices.sla_people({r.assigned_reviewer_id for r in requests.values()
                                 if r.assigned_reviewer_id is not None})
    in_app: list[dict[str, Any]] = []
    hooks: dict[int, list[tuple[int, str]]] = {}
    for agency_id, hook_id, url in db.session.execute(
        sa.select(Webhook.agency_id, Webhook.id, Webhook.url).where(
            Webhook.active.is_(True),
            Webhook.agency_id.in_({r.agency_id for r in requests.values()}))
    ):
        hooks.setdefault(agency_id, []).append((hook_id, url))
    for row in rows:
        clock, crossed = sla.fire_thresholds(clocks.to_clock(row), now)
        if not crossed:
            continue
        run = row.run
        clocks.store(row, clock)
        if 1.0 in crossed:
            row.breached_at = row.due_at
        req = requests[row.request_id]
        if row.request_id not in snapshots:
            # An alert changes no field or row the snapshot covers (clocks are not in it).
            if digests is None:
                digests = _digests(requests)
            snapshots[row.request_id] = audit.snapshot_of(req, digests[row.request_id])
        for threshold in crossed:
            count, _ = heads[row.request_id]
            events.append({
                "request_id": row.request_id, "seq": count + 1, "kind": "sla_alert",
                "trigger": None, "from_state": None, "to_state": None, "actor_id": None,
                "actor_role": Role.SYSTEM.value, "created_at": now,
                "payload": {"target": row.target, "threshold": threshold, "run": run,
                            "due_at": row.due_at.isoformat(), "policy": row.policy_code,
                            "source": row.source},
                "chain_version": CHAIN_VERSION, "snapshot": snapshots[row.request_id],
            })
            heads[row.request_id] = (count + 1, "")
        told, mails = notices.sla_rows(
            people, clock_id=row.id, run=run, threshold=max(crossed),
            request_id=row.request_id, reference=req.reference,
            assignee_id=req.assigned_reviewer_id, priority=req.priority, now=now,
            params={"reference": req.reference, "target": row.target,
                    "threshold": max(crossed), "due_at": row.due_at.isoformat(),
                    "policy": row.policy_code, "source": row.source,
                    "jurisdiction": req.jurisdiction, "category": req.category.value,
                    "priority": req.priority.value})
        in_app += told
        notes += mails
        notes += webhooks.event_rows(
            req.agency_id, event="request.sla_alert", request_id=row.request_id, now=now,
            dedup=f"sla:{row.id}:{run}:{max(crossed)}",
            hooks=hooks.get(req.agency_id, []),
            payload={"reference": req.reference, "target": row.target,
                     "threshold": max(crossed), "due_at": row.due_at.isoformat(),
                     "policy": row.policy_code, "at": now.isoformat()},
        )
    if events:
        _number_and_hash(events, requests)
        db.session.execute(sa.insert(Event), events)
        heads = {rid: (count, requests[rid].audit_head) for rid, (count, _) in heads.items()}
        for e in events:
            heads[e["request_id"]] = (e["seq"], e["hash"])
        _advance_heads(requests, heads, now)
    if notes:
        db.session.execute(sa.insert(Notification), notes)
    notices.insert(in_app, [])
    return len(events), len(notes)


def _number_and_hash(events: list[dict[str, Any]], requests: dict[int, sa.Row[Any]]) -> None:
    """Give the batch's events their global numbers (taken together, in order) and
    chain each request's events from its current head."""
    first = audit.allocate(len(events))
    prev = {rid: r.audit_head for rid, r in requests.items()}
    for n, e in enumerate(events):
        e["gseq"] = first + n
        body = event_body(
            reference=requests[e["request_id"]].reference, seq=e["seq"], kind=e["kind"],
            trigger=None, from_state=None, to_state=None, actor_id=None,
            actor_role=e["actor_role"], payload=e["payload"], created_at=e["created_at"],
            version=CHAIN_VERSION, gseq=e["gseq"], snapshot=e["snapshot"],
        )
        e["prev_hash"] = prev[e["request_id"]]
        e["hash"] = prev[e["request_id"]] = chain_hash(e["prev_hash"], body)


def _advance_heads(requests: dict[int, sa.Row[Any]], heads: dict[int, tuple[int, str]],
                   now: datetime) -> None:
    """Record each request's new audit head in one version-checked executemany."""
    changed = [
        {"rid": rid, "old_version": requests[rid].version,
         "new_version": requests[rid].version + 1, "count": count, "head": head, "now": now}
        for rid, (count, head) in heads.items() if count != requests[rid].event_count
    ]
    if not changed:
        return
    table = cast(sa.Table, LegalRequest.__table__)
    result = db.session.execute(
        sa.update(table)
        .where(table.c.id == sa.bindparam("rid"),
               table.c.version == sa.bindparam("old_version"))
        .values(event_count=sa.bindparam("count"), audit_head=sa.bindparam("head"),
                version=sa.bindparam("new_version"), updated_at=sa.bindparam("now")),
        changed,
    )
    # The rows are locked, so a mismatch means something is badly wrong: the whole batch
    # is rolled back rather than leave a chain whose head the request does not record.
    if cast(CursorResult[Any], result).rowcount != len(changed):
        raise Conflict("a request changed during the sweep; the batch was rolled back")


# --- deferred user notices --------------------------------------------------------------------

@dataclass
class NoticeSweepResult:
    """What one sweep of deferred notices did."""

    ended: int = 0  # items whose deferral ended
    alerts: int = 0  # events: one per request per sweep
    notifications: int = 0
    requests: int = 0
    skipped_busy: int = 0


def sweep_notices(now: datetime | None = None, *, batch: int = 500) -> NoticeSweepResult:
    """Alert on every deferred user notice whose time has come by ``now``: one
    ``notice_deferral_ended`` event per request (its items' positions and the legal
    bases), and a mail to its reviewer and the liaison team, who must now tell the users.
    Each item alerts once (its ``notice_alert_at`` is cleared in the same transaction);
    requests locked by someone else are left for the next sweep, as :func:`sweep` does.
    """
    now = now or utcnow()
    result = NoticeSweepResult()
    busy: set[int] = set()
    while True:
        with transaction():
            lock_for_writing()
            candidates = sa.select(RequestItem.request_id).where(
                RequestItem.notice_alert_at <= now)
            if busy:
                candidates = candidates.where(RequestItem.request_id.not_in(busy))
            ids = list(dict.fromkeys(db.session.scalars(
                candidates.order_by(RequestItem.notice_alert_at).limit(batch))))
            if not ids:
                return result
            locked = _lock_requests(ids)
            busy.update(set(ids) - set(locked))
            result.skipped_busy = len(busy)
            ended, fired, notified = _end_deferrals(locked, now)
            result.ended += ended
            result.alerts += fired
            result.notifications += notified
            result.requests += len(locked)


def _end_deferrals(requests: dict[int, sa.Row[Any]], now: datetime) -> tuple[int, int, int]:
    """Clear the ended deferrals' alert times of the (locked) requests and write their
    events and notifications; return the numbers of items, events and notifications."""
    if not requests:
        return 0, 0, 0
    rows = db.session.execute(
        sa.select(RequestItem.request_id, RequestItem.position,
                  RequestItem.notice_deferred_until, RequestItem.notice_deferral_basis)
        .where(RequestItem.request_id.in_(list(requests)), RequestItem.notice_alert_at <= now)
        .order_by(RequestItem.request_id, RequestItem.position)
    ).all()
    if not rows:
        return 0, 0, 0
    db.session.execute(
        sa.update(RequestItem)
        .where(RequestItem.request_id.in_(list(requests)), RequestItem.notice_alert_at <= now)
        .values(notice_alert_at=None),
        execution_options={"synchronize_session": False},
    )
    ended: dict[int, list[Any]] = {}
    for row in rows:
        ended.setdefault(row.request_id, []).append(row)
    # Clearing the alert time changes nothing the record covers (it is the sweep's own
    # marker, not part of an item's line).
    digests = _digests({rid: requests[rid] for rid in ended})
    people = notices.sla_people({requests[rid].assigned_reviewer_id for rid in ended
                                 if requests[rid].assigned_reviewer_id is not None})
    events: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for rid, items in ended.items():
        req = requests[rid]
        seq = req.event_count + 1
        bases = sorted({r.notice_deferral_basis.value for r in items
                        if r.notice_deferral_basis is not None})
        until = max(r.notice_deferred_until for r in items if r.notice_deferred_until)
        events.append({
            "request_id": rid, "seq": seq, "kind": "notice_deferral_ended",
            "trigger": None, "from_state": None, "to_state": None, "actor_id": None,
            "actor_role": Role.SYSTEM.value, "created_at": now,
            "payload": {"count": len(items), "bases": bases,
                        "deferred_until": until.isoformat(),
                        "positions": decisions.ranges([r.position for r in items])},
            "chain_version": CHAIN_VERSION,
            "snapshot": audit.snapshot_of(req, digests[rid]),
        })
        recipients = {p.user_id: p for p in people.liaisons}
        reviewer = people.reviewers.get(req.assigned_reviewer_id or -1)
        if reviewer is not None:
            recipients[reviewer.user_id] = reviewer
        params = {"reference": req.reference, "count": len(items), "bases": bases,
                  "deferred_until": until.isoformat(), "jurisdiction": req.jurisdiction}
        notes += [outbox_row(
            "notice_deferral_ended", dedup_key=f"notice:{rid}:{seq}:{person.user_id}",
            recipient=person.email, params=params, now=now, locale=person.locale,
            user_id=person.user_id, request_id=rid) for person in recipients.values()]
    _number_and_hash(events, requests)
    db.session.execute(sa.insert(Event), events)
    heads = {rid: (r.event_count, r.audit_head) for rid, r in requests.items()}
    for e in events:
        heads[e["request_id"]] = (e["seq"], e["hash"])
    _advance_heads(requests, heads, now)
    if notes:
        db.session.execute(sa.insert(Notification), notes)
    return len(rows), len(events), len(notes)
