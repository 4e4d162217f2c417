"""Deciding a request's items, one by one or in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LegalRequest, RequestItem
from portal.models.columns import utcnow
from portal.services import audit
from portal.services.access import get_request
from portal.services.actors import Actor
from portal.services.audit import append_event
from portal.services.errors import Conflict, FieldError, Forbidden, ValidationFailed
from portal.services.transaction import transaction
from workflows.decisions import Decision
from workflows.request_flow import DECIDABLE_STATES
from workflows.roles import Role

#: Ids per UPDATE: well under SQLite's bound-parameter limit.
_CHUNK = 5_000


def recount(req: LegalRequest) -> dict[str, int]:
    """Count the request's items by decision again and store it on the row (inside the
    caller's transaction, after it changed decisions)."""
    counts = {
        (decision.value if decision is not None else "pending"): n
        for decision, n in db.session.execute(
            sa.select(RequestItem.decision, sa.func.count())
            .where(RequestItem.request_id == req.id).group_by(RequestItem.decision)
        )
    }
    req.decision_counts = counts
    return counts


def ranges(numbers: Sequence[int]) -> list[list[int]]:
    """Compress sorted positions into [first, last] runs for the audit payload."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return runs


def decide_items(
    actor: Actor,
    reference: str,
    *,
    decision: str,
    reason: str = "",
    item_ids: Sequence[int] | None = None,
    all_pending: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> int:
    """Record ``decision`` on the listed items (or every pending one); return how many.

    Raises:
        NotFound: no such request visible to the actor.
        Forbidden: the actor is not a legal reviewer.
        Conflict: the request is not under review or in dispute, or it changed since
            ``expected_version``.
        ValidationFailed: unknown decision, a ``no_action`` without a reason, no items
            chosen, or ids that are not items of this request (each listed).
    """
    now = now or utcnow()
    if actor.role is not Role.LEGAL_REVIEWER:
        # Another agency's request is not found, even here: check visibility first.
        get_request(actor, reference)
        raise Forbidden("only a legal reviewer can decide items")
    errors: list[FieldError] = []
    if decision not in Decision._value2member_map_:
        errors.append(FieldError("decision", f"unknown decision {decision!r}", "choice"))
    elif decision == Decision.NO_ACTION and not reason.strip():
        errors.append(FieldError("reason", "a reason is required for no_action", "required"))
    if (item_ids is None) == (not all_pending):
        errors.append(
            FieldError("item_ids", "give either a list of items or all pending", "required")
        )
    elif item_ids is not None and not item_ids:
        errors.append(FieldError("item_ids", "no items selected", "required"))
    if errors:
        raise ValidationFailed(errors)
    chosen = Decision(decision)
    with transaction():
        req = get_request(actor, reference, for_update=True)
        if req.state not in DECIDABLE_STATES:
            raise Conflict(
                f"items can be decided only while under review or in dispute; "
                f"{reference} is {req.state.value}"
            )
        if expected_version is not None and req.version != expected_version:
            raise Conflict(f"{reference} changed since you loaded it; reload and try again")
        positions = _target_positions(req, item_ids)
        for start in range(0, len(positions), _CHUNK):
            chunk = [item_id for item_id, _ in positions[start : start + _CHUNK]]
            db.session.execute(
                sa.update(RequestItem)
                .where(RequestItem.request_id == req.id, RequestItem.id.in_(chunk))
                .values(decision=chosen, reason=reason.strip() or None,
                        decided_by_id=actor.user_id, decided_at=now),
                execution_options={"synchronize_session": False},
            )
        if positions:
            recount(req)
            audit.refresh_items(req, (p for _, p in positions))
            append_event(
                req, "items_decided", actor=actor, now=now,
                payload={
                    "decision": chosen.value,
                    "reason": reason.strip(),
                    "count": len(positions),
                    "positions": ranges(sorted(p for _, p in positions)),
                },
            )
    return len(positions)


def _target_positions(
    req: LegalRequest, item_ids: Sequence[int] | None
) -> list[tuple[int, int]]:
    """(id, position) of the items to change; every unknown id is an error."""
    query = sa.select(RequestItem.id, RequestItem.position).where(
        RequestItem.request_id == req.id
    )
    if item_ids is None:
        rows = db.session.execute(query.where(RequestItem.decision.is_(None))).all()
        return [(i, p) for i, p in rows]
    wanted = set(item_ids)
    found: list[tuple[int, int]] = []
    ids = sorted(wanted)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found += [(i, p) for i, p in db.session.execute(query.where(RequestItem.id.in_(chunk)))]
    missing = wanted - {i for i, _ in found}
    if missing:
        raise ValidationFailed(
            [FieldError("item_ids", f"item {i} is not part of {req.reference}", "unknown", i)
             for i in sorted(missing)]
        )
    return found
