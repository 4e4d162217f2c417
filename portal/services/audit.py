"""Appending to a request's audit chain, and verifying every chain."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, LegalRequest
from portal.models.event import event_body
from portal.services.actors import Actor
from workflows.audit import Link, chain_hash, replay_state, verify_chain


def append_event(
    req: LegalRequest,
    kind: str,
    *,
    actor: Actor,
    now: datetime,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Add the next event of ``req``'s chain to the session (the caller commits).

    The request row records the new head and count; because that row is version-checked,
    two transactions can never append the same ``seq``.
    """
    payload = dict(payload or {})
    if actor.ip_address:
        payload.setdefault("ip", actor.ip_address)
    if actor.user_agent:
        payload.setdefault("user_agent", actor.user_agent[:300])
    event = Event(
        request_id=req.id,
        seq=req.event_count + 1,
        kind=kind,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor.user_id,
        actor_role=actor.role.value,
        payload=payload,
        created_at=now,
        prev_hash=req.audit_head,
    )
    event.hash = chain_hash(event.prev_hash, event.body(req.reference))
    req.event_count = event.seq
    req.audit_head = event.hash
    req.updated_at = now
    db.session.add(event)
    return event


@dataclass(frozen=True)
class BrokenChain:
    """A request whose record does not verify, and the first event where it breaks."""

    reference: str
    seq: int
    problem: str


def verify_all(batch: int = 500) -> Iterator[BrokenChain]:
    """Check every request's chain (and that it replays to the stored state).

    Yields one :class:`BrokenChain` per broken request, in id order; reads in batches so
    a large database is streamed, not loaded.
    """
    last_id = 0
    while True:
        rows = db.session.execute(
            sa.select(
                LegalRequest.id, LegalRequest.reference, LegalRequest.state,
                LegalRequest.event_count, LegalRequest.audit_head,
            )
            .where(LegalRequest.id > last_id)
            .order_by(LegalRequest.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for req_id, reference, state, count, head in rows:
            broken = verify_request(req_id, reference, state.value, count, head)
            if broken is not None:
                yield broken
        last_id = rows[-1][0]


def verify_request(
    req_id: int, reference: str, state: str, count: int, head: str
) -> BrokenChain | None:
    """Verify one request's chain; see :func:`verify_all`."""
    # Plain rows rather than Event objects: a large database is walked without filling the
    # session's identity map.
    rows = db.session.execute(
        sa.select(Event.seq, Event.kind, Event.trigger, Event.from_state, Event.to_state,
                  Event.actor_id, Event.actor_role, Event.payload, Event.created_at,
                  Event.prev_hash, Event.hash)
        .where(Event.request_id == req_id).order_by(Event.seq)
    ).all()
    links = [
        Link(seq=r.seq, prev_hash=r.prev_hash, hash=r.hash, body=event_body(
            reference=reference, seq=r.seq, kind=r.kind, trigger=r.trigger,
            from_state=r.from_state, to_state=r.to_state, actor_id=r.actor_id,
            actor_role=r.actor_role, payload=r.payload, created_at=r.created_at))
        for r in rows
    ]
    found = verify_chain(links, head_hash=head, count=count)
    if found is not None:
        return BrokenChain(reference, found.seq, found.problem)
    try:
        replayed = replay_state(link.body for link in links)
    except ValueError as exc:
        return BrokenChain(reference, count, str(exc))
    if replayed is None or replayed.value != state:
        return BrokenChain(
            reference, count, f"the events lead to {replayed} but the request is {state}"
        )
    return None
