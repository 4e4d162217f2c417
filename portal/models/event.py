"""The audit record: append-only events in a SHA-256 hash chain per request, numbered in
one gapless sequence over the whole database (the ledger holds the last number)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.columns import JSONType, UTCDateTime
from portal.models.legal_request import LegalRequest
from portal.models.user import User
from workflows import audit
from workflows.audit import CHAIN_VERSION, Link


class Event(Model):
    """One thing that happened to a request. Never updated or deleted by the portal."""

    __tablename__ = "events"
    __table_args__ = (sa.UniqueConstraint("request_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("legal_requests.id"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(40))
    trigger: Mapped[str | None] = mapped_column(sa.String(40))
    from_state: Mapped[str | None] = mapped_column(sa.String(20))
    to_state: Mapped[str | None] = mapped_column(sa.String(20))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(sa.String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
    # The rule the body follows (workflows.audit): 1 for events written before snapshots,
    # which keep verifying under their own rule.
    chain_version: Mapped[int] = mapped_column(sa.SmallInteger, default=CHAIN_VERSION,
                                               server_default="1")
    # The event's number in the one sequence over every request: a gap is a deleted
    # event, also when a whole request went with all of its events.
    gseq: Mapped[int] = mapped_column(sa.BigInteger, unique=True, index=True)
    # Rule 2: the request's protected fields and digests of its rows after this event.
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    actor: Mapped[User | None] = relationship()
    # Declared so the unit of work writes the request row (its version-checked UPDATE)
    # before the event's INSERT: a stale writer then fails on the version check instead
    # of first taking the same sequence number.
    request: Mapped[LegalRequest] = relationship()

    def body(self, reference: str) -> dict[str, Any]:
        """The fields the hash covers (everything but the hashes themselves)."""
        return event_body(
            reference=reference,
            seq=self.seq,
            kind=self.kind,
            trigger=self.trigger,
            from_state=self.from_state,
            to_state=self.to_state,
            actor_id=self.actor_id,
            actor_role=self.actor_role,
            payload=self.payload,
            created_at=self.created_at,
            version=self.chain_version,
            gseq=self.gseq,
            snapshot=self.snapshot,
        )

    def link(self, reference: str) -> Link:
        return Link(seq=self.seq, prev_hash=self.prev_hash, hash=self.hash,
                    body=self.body(reference))


class AuditLedger(Model):
    """One row (id 1): the last number of the global event sequence. Every transaction
    that writes events takes its numbers here, holding the row until it commits, so the
    numbers follow the order of commits and a reader that sees number N sees every event
    up to N."""

    __tablename__ = "audit_ledger"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_gseq: Mapped[int] = mapped_column(sa.BigInteger)


class AuditCheckpoint(Model):
    """Where a verification of the whole record left it intact: the global sequence
    number it reached, how many requests had events by then, and their heads folded
    into one hash (``workflows.audit.HeadFold``). ``flask audit verify --since`` starts
    from the newest one. ``mac`` binds the row to the portal's secret key, so a row
    written by hand into the database is refused."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_gseq: Mapped[int] = mapped_column(sa.BigInteger)
    requests: Mapped[int]
    head: Mapped[str] = mapped_column(sa.String(64))
    # "full" (everything was checked) or "since" (from an earlier checkpoint).
    kind: Mapped[str] = mapped_column(sa.String(8))
    mac: Mapped[str] = mapped_column(sa.String(64))
    # SHA-256 over the rows of ``audit_seals`` this checkpoint wrote (PostgreSQL; NULL
    # when it wrote none), covered by ``mac``.
    seals: Mapped[str | None] = mapped_column(sa.String(64))


class AuditSeal(Model):
    """One request's head as the newest checkpoint found it intact: SHA-256 (computed by
    PostgreSQL) over the request row's columns ``audit verify --since`` reads and its
    newest event's. A request whose seal still matches is unchanged since that
    verification, so ``--since`` need not read and hash its newest event again. The
    newest checkpoint's ``seals`` covers the whole table (written by hand: not used)."""

    __tablename__ = "audit_seals"

    request_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seal: Mapped[str] = mapped_column(sa.String(64))


def event_body(
    *,
    reference: str,
    seq: int,
    kind: str,
    trigger: str | None,
    from_state: str | None,
    to_state: str | None,
    actor_id: int | None,
    actor_role: str,
    payload: dict[str, Any],
    created_at: datetime,
    version: int = 1,
    gseq: int | None = None,
    snapshot: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The canonical body of an event, as hashed when written and when verified."""
    # Rule 1 hashed the time as given; rule 2 always in UTC, so a caller's zone can never
    # make the stored (UTC) time hash differently.
    at = (created_at if version < 2 else created_at.astimezone(UTC)).isoformat(
        timespec="microseconds")
    return audit.event_body(
        reference=reference, seq=seq, kind=kind, trigger=trigger, from_state=from_state,
        to_state=to_state, actor_id=actor_id, actor_role=actor_role, payload=payload,
        at=at, version=version, gseq=gseq, snapshot=snapshot,
    )
