"""Deciding a request's items, one by one or in bulk, and what follows a decision: the
affected users' notice and a restriction lifted later.

Each function is one transaction and one audit event, whatever the number of items: a
decision, a restoration or a notice on 10,000 items is a few UPDATEs by id and one
event that lists their positions as ranges. What a reviewer gave is checked by
``workflows.decisions`` (``settle``, ``settle_notice``, ``settle_restoration``): every
problem at once, nothing written unless all is valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LegalRequest, RequestItem
from portal.models.columns import utcnow
from portal.services import assignment, audit, report_facts
from portal.services.access import get_request
from portal.services.actors import Actor
from portal.services.audit import append_event, record_text
from portal.services.errors import Conflict, FieldError, Forbidden, ValidationFailed
from portal.services.transaction import transaction
from workflows import audit as chain
from workflows.decisions import (
    ACTED_DECISIONS,
    Decision,
    Order,
    Rejected,
    Terms,
    settle,
    settle_notice,
    settle_restoration,
)
from workflows.request_flow import DECIDABLE_STATES
from workflows.roles import Role

#: Ids per UPDATE: well under SQLite's bound-parameter limit.
_CHUNK = 5_000


def recount(req: LegalRequest) -> dict[str, int]:
    """Count the request's items by decision again and store it on the row, with the
    time its first acted-on item was given effect (inside the caller's transaction, after
    it changed decisions)."""
    counts: dict[str, int] = {}
    first: datetime | None = None
    # By scope and no-action reason too: the reports' figures come from the same rows.
    rows = report_facts.item_rows(req)
    for decision, _, _, n, effect in rows:
        code = decision.value if decision is not None else "pending"
        counts[code] = counts.get(code, 0) + n
        if decision is not None and decision is not Decision.NO_ACTION and effect is not None:
            first = effect if first is None else min(first, effect)
    req.decision_counts = counts
    req.first_effect_at = first
    report_facts.count_items(req, report_facts.item_figures(
        (decision, bool(worldwide), reason, n) for decision, worldwide, reason, n, _ in rows))
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


def order_of(req: LegalRequest) -> Order:
    """What a decision's defaults and checks read of its request."""
    return Order(jurisdiction=req.jurisdiction, legal_statute=req.legal_statute,
                 legal_article=req.legal_article, category=req.category.value,
                 requested_action=(req.requested_action.value
                                   if req.requested_action is not None else None),
                 received_at=req.received_at)


def _selection_errors(item_ids: Sequence[int] | None, every: bool,
                      every_name: str) -> list[FieldError]:
    if (item_ids is None) == (not every):
        return [FieldError("item_ids", f"give either a list of items or {every_name}",
                           "required")]
    if item_ids is not None and not item_ids:
        return [FieldError("item_ids", "no items selected", "required")]
    return []


def _field_errors(rejected: Rejected) -> list[FieldError]:
    return [FieldError(p.field, p.message, p.code) for p in rejected.problems]


def _only_reviewers(actor: Actor, reference: str, what: str) -> None:
    if actor.role is not Role.LEGAL_REVIEWER:
        # Another agency's request is not found, even here: check visibility first.
        get_request(actor, reference)
        raise Forbidden(f"only a legal reviewer can {what}")


def _locked(actor: Actor, reference: str, expected_version: int | None) -> LegalRequest:
    req = get_request(actor, reference, for_update=True)
    if expected_version is not None and req.version != expected_version:
        raise Conflict(f"{reference} changed since you loaded it; reload and try again")
    return req


def _update(req: LegalRequest, ids: Sequence[int], values: Mapping[str, Any]) -> None:
    for start in range(0, len(ids), _CHUNK):
        db.session.execute(
            sa.update(RequestItem)
            .where(RequestItem.request_id == req.id,
                   RequestItem.id.in_(ids[start:start + _CHUNK]))
            .values(**values),
            execution_options={"synchronize_session": False},
        )


def decide_items(
    actor: Actor,
    reference: str,
    *,
    decision: str,
    reason: str = "",
    terms: Terms | None = None,
    item_ids: Sequence[int] | None = None,
    all_pending: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> int:
    """Record ``decision`` with its ``terms`` (scope, ground, effect, …; see
    ``workflows.decisions.settle`` for the defaults) on the listed items (or every pending
    one); return how many.

    A decision replaces the item's earlier one whole: a restoration is lifted with it,
    and no action ends a deferred notice (the user is not told of a restriction that is
    not there). A TCO order's removed, disabled or withheld items are preserved for six
    months from the effect.

    Raises:
        NotFound: no such request visible to the actor.
        Forbidden: the actor is not a legal reviewer.
        NotAssignee: another reviewer holds the request, and the actor does not lead
            (the machine's ``decide_items`` activity).
        Conflict: the request is not under review or in dispute, or it changed since
            ``expected_version``.
        ValidationFailed: every problem at once: unknown decision, reason, ground or
            scope; terms that do not fit the decision; no items chosen, or ids that are
            not items of this request (each listed).
    """
    now = now or utcnow()
    _only_reviewers(actor, reference, "decide items")
    errors = _selection_errors(item_ids, all_pending, "all pending")
    with transaction():
        req = get_request(actor, reference, for_update=True)
        if req.state not in DECIDABLE_STATES:
            raise Conflict(
                f"items can be decided only while under review or in dispute; "
                f"{reference} is {req.state.value}"
            )
        if expected_version is not None and req.version != expected_version:
            raise Conflict(f"{reference} changed since you loaded it; reload and try again")
        refused = assignment.decide_refusal(actor, req)
        if refused is not None:
            raise refused
        try:
            settled = settle(decision, terms or Terms(), order_of(req), now, reason=reason)
        except Rejected as exc:
            errors += _field_errors(exc)
        if errors:
            raise ValidationFailed(errors)
        positions = _target_positions(req, item_ids, RequestItem.decision.is_(None))
        values: dict[str, Any] = {
            "decision": settled.decision, "reason": reason.strip() or None,
            "decided_by_id": actor.user_id, "decided_at": now,
            **{name: getattr(settled, name) for name in chain.DECISION_FIELDS},
            "restored_at": None, "restored_reason": None, "restored_note": None,
        }
        if settled.decision is Decision.NO_ACTION:
            values.update(notice_deferred_until=None, notice_deferral_basis=None,
                          notice_alert_at=None)
        _update(req, [item_id for item_id, _ in positions], values)
        if positions:
            recount(req)
            audit.refresh_items(req, (p for _, p in positions))
            append_event(
                req, "items_decided", actor=actor, now=now,
                payload={
                    "decision": settled.decision.value,
                    "reason": reason.strip(),
                    **{name: record_text(getattr(settled, name))
                       for name in chain.DECISION_FIELDS},
                    "count": len(positions),
                    "positions": ranges(sorted(p for _, p in positions)),
                },
            )
    return len(positions)


def restore_items(
    actor: Actor,
    reference: str,
    *,
    reason: str,
    note: str = "",
    restored_at: datetime | None = None,
    item_ids: Sequence[int] | None = None,
    all_acted: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> int:
    """Record that the restriction on the listed items (or on every acted-on item not
    restored yet) was lifted at ``restored_at`` (by default now), for ``reason`` (the
    order annulled, a complaint upheld); return how many. The decision stays as it was:
    the platform did give effect to the order, and the resolution says so.

    Raises:
        NotFound: no such request visible to the actor.
        Forbidden: the actor is not a legal reviewer.
        NotAssignee: another reviewer holds the request, and the actor does not lead
            (the machine's ``record_after_effects`` activity).
        Conflict: it changed since ``expected_version``.
        ValidationFailed: every problem at once: no or an unknown reason, a time in the
            future; no items chosen; an item that is not this request's, has no action to
            lift, is restored already, or took effect after ``restored_at``.
    """
    now = now or utcnow()
    _only_reviewers(actor, reference, "restore items")
    errors = _selection_errors(item_ids, all_acted, "all acted on")
    restoration = None
    try:
        restoration = settle_restoration(reason=reason, note=note, restored_at=restored_at,
                                         now=now)
    except Rejected as exc:
        errors += _field_errors(exc)
    with transaction():
        req = _locked(actor, reference, expected_version)
        refused = assignment.after_effect_refusal(actor, req)
        if refused is not None:
            raise refused
        if errors:
            raise ValidationFailed(errors)
        assert restoration is not None
        positions = _target_positions(
            req, item_ids, sa.and_(RequestItem.decision.in_(ACTED_DECISIONS),
                                   RequestItem.restored_at.is_(None)),
            problems=lambda item: (
                "no action to lift" if item.decision not in ACTED_DECISIONS else
                "restored already" if item.restored_at is not None else
                "took effect after this time" if (item.effect_given_at or item.decided_at)
                > restoration.restored_at else None))
        if not positions:
            raise ValidationFailed([FieldError("item_ids", "no acted-on item is left to "
                                               "restore", "required")])
        if all_acted and db.session.scalar(
                sa.select(sa.func.count()).select_from(RequestItem).where(
                    RequestItem.request_id == req.id,
                    RequestItem.decision.in_(ACTED_DECISIONS),
                    RequestItem.restored_at.is_(None),
                    sa.func.coalesce(RequestItem.effect_given_at, RequestItem.decided_at)
                    > restoration.restored_at)):
            raise ValidationFailed([FieldError(
                "restored_at", "some items took effect after this time", "before_effect")])
        _update(req, [item_id for item_id, _ in positions], {
            "restored_at": restoration.restored_at,
            "restored_reason": restoration.reason, "restored_note": restoration.note})
        audit.refresh_items(req, (p for _, p in positions))
        append_event(req, "items_restored", actor=actor, now=now, payload={
            "restored_at": record_text(restoration.restored_at),
            "restored_reason": restoration.reason.value,
            "restored_note": restoration.note,
            "count": len(positions),
            "positions": ranges(sorted(p for _, p in positions)),
        })
    return len(positions)


def record_notice(
    actor: Actor,
    reference: str,
    *,
    notified: bool,
    notified_at: datetime | None = None,
    deferred_until: datetime | None = None,
    basis: str | None = None,
    item_ids: Sequence[int] | None = None,
    all_acted: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> int:
    """Record, for the listed items (or every acted-on one), that their users were told
    at ``notified_at`` (by default now), or that telling them is deferred until
    ``deferred_until`` on ``basis`` (TCO Art. 11(3), DSA Art. 9(5), a court's gag
    order); return how many. A deferral has its own clock: the sweep alerts the reviewer
    and the liaisons when it ends (``alerts.sweep_notices``).

    Raises:
        NotFound: no such request visible to the actor.
        Forbidden: the actor is not a legal reviewer.
        NotAssignee: another reviewer holds the request, and the actor does not lead
            (the machine's ``record_after_effects`` activity).
        Conflict: it changed since ``expected_version``.
        ValidationFailed: every problem at once: both or neither of told and deferred, a
            time on the wrong side of now, no or an unknown basis; no items chosen; an
            item that is not this request's, has no action (nothing to tell), or whose
            user was told already (a deferral).
    """
    now = now or utcnow()
    _only_reviewers(actor, reference, "record notices")
    errors = _selection_errors(item_ids, all_acted, "all acted on")
    notice = None
    try:
        notice = settle_notice(notified=notified, notified_at=notified_at,
                               deferred_until=deferred_until, basis=basis, now=now)
    except Rejected as exc:
        errors += _field_errors(exc)
    with transaction():
        req = _locked(actor, reference, expected_version)
        refused = assignment.after_effect_refusal(actor, req)
        if refused is not None:
            raise refused
        if errors:
            raise ValidationFailed(errors)
        assert notice is not None
        deferring = notice.deferred_until is not None
        eligible: sa.ColumnElement[bool] = RequestItem.decision.in_(ACTED_DECISIONS)
        if deferring:
            eligible = sa.and_(eligible, RequestItem.user_notified_at.is_(None))
        positions = _target_positions(
            req, item_ids, eligible,
            problems=lambda item: (
                "no action: nothing to tell its user" if item.decision not in ACTED_DECISIONS
                else "its user was told already" if deferring and item.user_notified_at
                is not None else None))
        if not positions:
            raise ValidationFailed([FieldError("item_ids", "no acted-on item to record a "
                                               "notice for", "required")])
        _update(req, [item_id for item_id, _ in positions], {
            "user_notified_at": notice.notified_at,
            "notice_deferred_until": notice.deferred_until,
            "notice_deferral_basis": notice.basis,
            "notice_alert_at": notice.deferred_until})
        audit.refresh_items(req, (p for _, p in positions))
        append_event(req, "notice_recorded", actor=actor, now=now, payload={
            "user_notified_at": record_text(notice.notified_at),
            "notice_deferred_until": record_text(notice.deferred_until),
            "notice_deferral_basis": record_text(notice.basis),
            "count": len(positions),
            "positions": ranges(sorted(p for _, p in positions)),
        })
    return len(positions)


_ITEM_FACTS = (RequestItem.id, RequestItem.position, RequestItem.decision,
               RequestItem.restored_at, RequestItem.effect_given_at, RequestItem.decided_at,
               RequestItem.user_notified_at)


def _target_positions(
    req: LegalRequest, item_ids: Sequence[int] | None, every: sa.ColumnElement[bool],
    problems: Any = None,
) -> list[tuple[int, int]]:
    """(id, position) of the items to change: the listed ones, or all that ``every``
    holds for. Every listed id that is not an item of the request, or that ``problems``
    (a function of the item's row) has a complaint about, is an error of its own."""
    query = sa.select(*_ITEM_FACTS).where(RequestItem.request_id == req.id)
    if item_ids is None:
        rows = db.session.execute(query.where(every)).all()
        return [(row.id, row.position) for row in rows]
    wanted = set(item_ids)
    found: list[Any] = []
    ids = sorted(wanted)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found += db.session.execute(query.where(RequestItem.id.in_(chunk))).all()
    errors = [FieldError("item_ids", f"item {i} is not part of {req.reference}", "unknown", i)
              for i in sorted(wanted - {row.id for row in found})]
    if problems is not None:
        for row in sorted(found, key=lambda r: r.id):
            problem = problems(row)
            if problem is not None:
                errors.append(FieldError("item_ids", f"item {row.id}: {problem}",
                                         "not_eligible", row.id))
    if errors:
        raise ValidationFailed(errors)
    return [(row.id, row.position) for row in found]
