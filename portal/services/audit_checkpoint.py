"""Checkpoints of the audit record, and verifying only what changed since one
(``flask audit verify --since``).

A verification that finds the record intact stores a checkpoint: the global sequence
number it reached and every request's newest event folded into one hash (the fold an
anchor records), signed with the portal's secret key. ``--since`` then checks in full
every request with an event after the checkpoint; for every other request it reads its
newest event alone, which must still hash to itself and be the head the request row
records, and the row's fields must be those it recorded; the heads of all requests
as they stood at the checkpoint must fold to the checkpoint's hash again, so a history
rewritten before the checkpoint (even consistently, hashes and rows together) or a
request deleted is found without reading it.

On PostgreSQL a checkpoint also stores each request's seal (``audit_seals``): SHA-256,
computed by the database, over the request row's columns and its newest event's columns
that the check above reads, taken in the verification's own snapshot, and their digest
in the signed checkpoint. ``--since`` recomputes every seal in one query: an unchanged
seal means those columns are what the verification found intact, so the check above
would pass again and the newest event is not read into Python nor hashed; a request
whose seal differs (or every one, when the seals no longer match the checkpoint's
digest) is checked as above, with the same findings. Its cost then follows the requests
that changed, plus one database pass over the requests' heads. SQLite has no SHA-256 in
SQL: there ``--since`` reads every head.

What ``--since`` does not read, and a full verification (the default) does: the items,
messages, notes and documents of requests with no event since the checkpoint, and the
events before each such request's newest one. A row changed there by hand, or an old
event's text changed without its hash, is found by the next full verification
(tests/functional/test_audit_tamper_matrix.py lists which edits each one finds).
The checkpoint lives in the database: its signature stops a row written by hand, but
only an anchor kept outside the database (``audit anchor``) proves the record against
someone who holds both the database and the secret key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import AuditCheckpoint, AuditSeal, Event, LegalRequest
from portal.models.event import event_body
from portal.services import audit_numbers, audit_verify
from portal.services.audit import SNAPSHOT_COLUMNS, among, iso, snapshot_fields
from portal.services.audit_findings import Finding
from portal.services.audit_verify import Tally
from portal.services.transaction import transaction
from workflows.audit import PROTECTED_FIELDS, HeadFold, chain_hash

#: Requests per query while the heads of the unchanged ones are read.
STREAM = 5000
#: Requests per query while their seals are compared (narrow rows; each query pays the
#: start of PostgreSQL's parallel workers, about 50 ms).
SEALED_STREAM = 50_000


class CheckpointRefused(Exception):
    """No checkpoint to start from, or one the portal did not write."""


def _mac(taken_at: datetime, last_gseq: int, requests: int, head: str, kind: str,
         seals: str | None = None) -> str:
    key = hashlib.sha256(b"audit checkpoint\n" + str(current_app.config["SECRET_KEY"])
                         .encode()).digest()
    message = f"{iso(taken_at)}\n{last_gseq}\n{requests}\n{head}\n{kind}"
    if seals is not None:  # checkpoints written before seals keep their signature
        message += f"\n{seals}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def seals_digest(seals: Iterable[tuple[int, str]]) -> str:
    """SHA-256 over ``(request id, seal)`` rows in id order: what a checkpoint signs."""
    digest = hashlib.sha256(b"liaison-portal audit seals\n")
    for request_id, seal in seals:
        digest.update(f"{request_id}\t{seal}\n".encode())
    return digest.hexdigest()


def save(tally: Tally, kind: str, now: datetime) -> AuditCheckpoint:
    """Store where a verification that found nothing left the record (``kind``: "full"
    or "since"), with the seals it took (``tally.seals``: replaces every stored seal)."""
    seals = tally.seals
    with transaction():
        digest = None
        if seals is not None:
            digest = seals_digest(seals)
            db.session.execute(sa.text("TRUNCATE audit_seals"))
            raw = db.session.connection().connection.driver_connection
            # COPY: 234,078 rows in well under a second (an INSERT per thousand rows
            # took several).
            with raw.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
                    "COPY audit_seals (request_id, seal) FROM STDIN") as copy:
                for row in seals:
                    copy.write_row(row)
        checkpoint = AuditCheckpoint(
            taken_at=now, last_gseq=tally.last_gseq, requests=tally.fold.requests,
            head=tally.fold.hexdigest(), kind=kind, seals=digest,
            mac=_mac(now, tally.last_gseq, tally.fold.requests, tally.fold.hexdigest(), kind,
                     digest))
        db.session.add(checkpoint)
    return checkpoint


def newest() -> AuditCheckpoint:
    """The newest checkpoint.

    Raises:
        CheckpointRefused: there is none, or its signature does not match (written or
            changed outside the portal, or under another secret key).
    """
    found = db.session.scalar(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())
                              .limit(1))
    if found is None:
        raise CheckpointRefused("no checkpoint yet: run a full `flask audit verify` first")
    want = _mac(found.taken_at, found.last_gseq, found.requests, found.head, found.kind,
                found.seals)
    if not hmac.compare_digest(want, found.mac):
        raise CheckpointRefused(
            f"checkpoint {found.id} does not carry the portal's signature (written or "
            "changed outside the portal, or the secret key changed): run a full "
            "`flask audit verify`")
    db.session.rollback()  # the verification reads from a snapshot of its own
    return found


def verify_since(checkpoint: AuditCheckpoint, tally: Tally) -> Iterator[Finding]:
    """Check what changed since ``checkpoint`` in full, and that nothing recorded before
    it was rewritten (see the module's note for what is not read); yield every finding.
    ``tally.fold`` ends with every request's newest event, for the next checkpoint."""
    limit, at = checkpoint.last_gseq, iso(checkpoint.taken_at)
    audit_verify.read_snapshot()
    try:
        tally.last_gseq = audit_verify.ledger_last()
        yield from audit_numbers.sequence_findings(tally.last_gseq)
        touched = set(db.session.scalars(
            sa.select(Event.request_id).where(Event.gseq > limit).distinct()))
        numbers: dict[tuple[str, int], list[int]] = {}
        before = HeadFold()
        sealing = db.session.get_bind().dialect.name == "postgresql"
        stored = _stored_seals() if sealing and checkpoint.seals is not None else {}
        trusted = bool(stored) and seals_digest(stored.items()) == checkpoint.seals
        seals: list[tuple[int, str]] = []
        last_id = 0
        while True:
            heads = _sealed_heads(last_id) if sealing else _heads(last_id)
            if not heads:
                break
            last_id = heads[-1].id
            events: dict[int, list[Any]] = {}
            changed = [h.id for h in heads if h.id in touched]
            if changed:
                for batch in audit_verify.batches(changed):
                    yield from audit_verify.check_batch(batch, tally, numbers, events)
            sealed: set[int] = set()
            full: dict[int, Any] = {}
            if sealing:
                seals += ((h.id, h.seal) for h in heads)
                sealed = {h.id for h in heads if h.id not in events and trusted
                          and h.seal == stored.get(h.id) and h.e_seq is not None}
                unsealed = [h.id for h in heads if h.id not in events and h.id not in sealed]
                # A page of seals holds SEALED_STREAM heads, a read of whole heads STREAM.
                for start in range(0, len(unsealed), STREAM):
                    full.update((h.id, h) for h in _heads(0, unsealed[start:start + STREAM]))
            for h in heads:
                if h.id in events:
                    _fold_changed(h, events[h.id], limit, tally, before)
                elif h.id in sealed:
                    yield from _sealed(h, tally, before, numbers)
                else:
                    yield from _unchanged(full[h.id] if sealing else h, tally, before, numbers)
        if sealing:
            tally.seals = seals
        yield from audit_numbers.counter_findings(numbers)
        if tally.last_gseq < limit:
            yield Finding(None, None, "checkpoint", f"the checkpoint of {at} counts {limit} "
                          f"events; the record has {tally.last_gseq} (the newest were "
                          "deleted, or the ledger was changed)")
        elif (before.hexdigest(), before.requests) != (checkpoint.head, checkpoint.requests):
            yield Finding(None, None, "checkpoint", f"the record up to g#{limit} does not "
                          f"fold to the head the checkpoint of {at} recorded "
                          f"({before.requests} requests now, {checkpoint.requests} then): "
                          "something recorded before it was rewritten or deleted; run a "
                          "full `flask audit verify` (with --anchor) to find it")
    finally:
        db.session.rollback()


_HEAD_COLUMNS = tuple(column.label(f"e_{column.key}") for column in (
    Event.seq, Event.kind, Event.trigger, Event.from_state, Event.to_state, Event.actor_id,
    Event.actor_role, Event.payload, Event.created_at, Event.prev_hash, Event.hash,
    Event.chain_version, Event.gseq, Event.snapshot))


#: The request columns an unchanged request's check reads (with _HEAD_COLUMNS).
_REQUEST_COLUMNS = tuple({c.key: c for c in (
    LegalRequest.id, LegalRequest.reference, LegalRequest.event_count,
    LegalRequest.audit_head, *SNAPSHOT_COLUMNS)}.values())
_NEWEST = sa.and_(Event.request_id == LegalRequest.id, Event.seq == LegalRequest.event_count)


def _heads(after_id: int, ids: list[int] | None = None) -> list[Any]:
    """The next requests in id order (or those of ``ids``), their protected fields, and
    the event their row names as the newest."""
    query = (sa.select(*_REQUEST_COLUMNS, *_HEAD_COLUMNS).outerjoin(Event, _NEWEST)
             .where(LegalRequest.id > after_id).order_by(LegalRequest.id).limit(STREAM))
    if ids is not None:
        query = query.where(among(LegalRequest.id, ids))
    return list(db.session.connection().execute(query).all())


def _seal() -> sa.ColumnElement[str]:
    """A request's seal (PostgreSQL): SHA-256 over the text of every column the check of
    an unchanged request reads, its newest event's included. The text of a row is its
    values' (JSON as stored, times to the microsecond), so any change to them changes
    the seal."""
    values = sa.cast(sa.tuple_(*_REQUEST_COLUMNS, *(c.element for c in _HEAD_COLUMNS)),
                     sa.Text)
    return sa.func.encode(sa.func.sha256(sa.func.convert_to(values, "UTF8")), "hex")


def take_seals() -> list[tuple[int, str]]:
    """Every request's seal in id order, as the current transaction sees them
    (PostgreSQL)."""
    return [(r.id, r.seal) for r in db.session.connection().execute(
        sa.select(LegalRequest.id, _seal().label("seal")).outerjoin(Event, _NEWEST)
        .order_by(LegalRequest.id))]


def _stored_seals() -> dict[int, str]:
    """The stored seals by request, in id order."""
    return {request_id: seal for request_id, seal in db.session.connection().execute(
        sa.select(AuditSeal.request_id, AuditSeal.seal).order_by(AuditSeal.request_id))}


def _sealed_heads(after_id: int) -> list[Any]:
    """The next requests in id order with what folding them needs and their seal now
    (computed by PostgreSQL's parallel workers: joined with the stored seals, the seal
    was computed above the join, in one process)."""
    r, e = LegalRequest, Event
    covered = sa.and_(e.chain_version >= 2, sa.func.jsonb_typeof(e.snapshot) == "object")
    return list(db.session.connection().execute(
        sa.select(r.id, r.reference, r.event_count, e.seq.label("e_seq"),
                  e.hash.label("e_hash"), sa.func.coalesce(covered, False).label("covered"),
                  _seal().label("seal"))
        .outerjoin(e, _NEWEST).where(r.id > after_id).order_by(r.id)
        .limit(SEALED_STREAM)).all())


def _sealed(head: Any, tally: Tally, before: HeadFold,
            numbers: dict[tuple[str, int], list[int]]) -> Iterator[Finding]:
    """A request whose seal is the one the checkpoint stored: what :func:`_unchanged`
    counts and folds for it, without reading its newest event (that check passed on these
    very values)."""
    tally.requests += 1
    tally.unchanged += 1
    tally.sealed += 1
    yield from audit_numbers.numbered(head.reference, numbers)
    tally.events += 1
    tally.fold.add(head.id, head.reference, head.e_seq, head.e_hash)
    before.add(head.id, head.reference, head.e_seq, head.e_hash)
    if not head.covered:
        tally.legacy_requests += 1


def _fold_changed(head: Any, mine: list[Any], limit: int, tally: Tally,
                  before: HeadFold) -> None:
    """A request checked in full: fold its newest event, and its newest one by the
    checkpoint."""
    if mine:
        tally.fold.add(head.id, head.reference, mine[-1].seq, mine[-1].hash)
    then = [e for e in mine if e.gseq is not None and e.gseq <= limit]
    if then:
        before.add(head.id, head.reference, then[-1].seq, then[-1].hash)


def _unchanged(head: Any, tally: Tally,
               before: HeadFold, numbers: dict[tuple[str, int], list[int]]) -> Iterator[Finding]:
    """A request with no event since the checkpoint: its newest event must be the one its
    row points to; it counts in both folds as it is."""
    tally.requests += 1
    tally.unchanged += 1
    yield from audit_numbers.numbered(head.reference, numbers)
    ref, seq = head.reference, head.e_seq
    if seq is None:
        yield Finding(ref, head.event_count or None, "chain",
                      f"its newest event (#{head.event_count}) is missing (deleted)"
                      if head.event_count else "it has no events (inserted outside the portal)")
        return
    tally.events += 1
    body = event_body(
        reference=ref, seq=seq, kind=head.e_kind, trigger=head.e_trigger,
        from_state=head.e_from_state, to_state=head.e_to_state, actor_id=head.e_actor_id,
        actor_role=head.e_actor_role, payload=head.e_payload, created_at=head.e_created_at,
        version=head.e_chain_version, gseq=head.e_gseq, snapshot=head.e_snapshot)
    if head.e_hash != head.audit_head or chain_hash(head.e_prev_hash, body) != head.e_hash:
        yield Finding(ref, seq, "chain", "the newest event does not match its hash, or is "
                      "not the head the request row records (changed outside the portal)")
        return
    tally.fold.add(head.id, ref, seq, head.e_hash)
    before.add(head.id, ref, seq, head.e_hash)
    # The row's fields against what its newest event recorded: a column changed by hand
    # shows here without reading the request's other rows.
    recorded = head.e_snapshot if int(body.get("v", 1)) >= 2 else None
    if isinstance(recorded, dict):
        now = snapshot_fields(head)
        for key in PROTECTED_FIELDS:
            if key in recorded and now.get(key) != recorded[key]:
                yield Finding(ref, seq, f"field {key}", f"is {now.get(key)!r}; its newest "
                              f"event recorded {recorded[key]!r}")
    else:
        tally.legacy_requests += 1
