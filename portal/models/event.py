"""The audit record: append-only events in a SHA-256 hash chain per request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.columns import JSONType, UTCDateTime
from portal.models.legal_request import LegalRequest
from portal.models.user import User
from workflows.audit import Link


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
        )

    def link(self, reference: str) -> Link:
        return Link(seq=self.seq, prev_hash=self.prev_hash, hash=self.hash,
                    body=self.body(reference))


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
) -> dict[str, Any]:
    """The canonical body of an event, as hashed when written and when verified."""
    return {
        "request": reference,
        "seq": seq,
        "kind": kind,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "payload": payload,
        "at": created_at.isoformat(timespec="microseconds"),
    }
