"""Keeping the reports' facts (``request_facts``, ``report_days``) in step with the
requests, inside the transaction of each change.

Two hooks, both called by services that already hold the request:

- :func:`count_items`, from ``decisions.recount`` (every change of an item's decision
  goes through it): the request's items by decision, scope and no-action reason, from
  the grouped rows recount reads anyway;
- :func:`on_event`, from ``audit.append_event`` (every change of a request is an audit
  event, after the change): the grouping key, times, SLA outcome and disputes, from the
  request row and its resolve clock.

Each moves the request's figures in its day's summary row by the difference (an upsert
that adds, so concurrent changes of requests sharing a row all count). A request whose key
changes (reclassified) takes its figures from the old row to the new one. The summary
rows are written when the transaction commits (a session hook), after the audit ledger
it holds, in the order of their keys; a rollback forgets them.

:func:`refresh` counts one request's facts again from its rows (``flask report
refresh-facts``: for what the previous release changed while the migration ran).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import Event, LegalRequest, ReportDay, RequestFacts, RequestItem, SlaClock
from portal.models.report_facts import FIGURES
from portal.services.transaction import transaction
from workflows import territory
from workflows.codes import RequestedAction
from workflows.decisions import Decision, canonical
from workflows.states import RequestState, Resolution

ART_9 = "art_9"
ART_10 = "art_10"
#: Requested actions that make an order one to provide information (DSA Art. 10).
INFORMATION_ACTIONS = (RequestedAction.PRESERVE_DATA, RequestedAction.DISCLOSE_DATA)

#: Figures that only :func:`count_items` sets.
ITEM_FIGURES: tuple[str, ...] = tuple(
    f for f in FIGURES if f == "pending" or f.startswith(("actioned_", "no_action_")))

#: Where a session keeps the summary rows' changes until it commits.
_PENDING = "report_days_pending"

_KEY = ("agency_id", "jurisdiction", "category", "priority", "instrument")

#: An event's trigger and the dispute figure it counts.
_DISPUTE_TRIGGERS = {"dispute": "disputes", "revise": "disputes_revised",
                     "uphold": "disputes_upheld"}


def item_figures(rows: Iterable[tuple[Decision | None, bool, Any, int]]) -> dict[str, int]:
    """The item figures of ``(decision, global scope, no-action reason, count)`` rows."""
    found = dict.fromkeys(ITEM_FIGURES, 0)
    for decision, worldwide, reason, count in rows:
        if decision is None:
            found["pending"] += count
        elif decision is Decision.NO_ACTION:
            code = str(getattr(reason, "value", reason)) if reason is not None else "unspecified"
            found[f"no_action_{code}"] += count
        else:
            found[f"actioned_{canonical(decision).value}"] += count
            if worldwide:
                found["actioned_global"] += count
    return found


def worldwide() -> sa.ColumnElement[bool]:
    """An item whose decision applies worldwide (else in some countries: local)."""
    return sa.func.coalesce(RequestItem.territorial_scope == territory.GLOBAL, False)


def item_rows(req: LegalRequest) -> list[tuple[Any, ...]]:
    """The request's items grouped by decision, worldwide or not and no-action reason:
    ``(decision, worldwide, reason, count, earliest effect)``."""
    scope = worldwide()
    return [tuple(row) for row in db.session.execute(
        sa.select(RequestItem.decision, scope, RequestItem.no_action_reason,
                  sa.func.count(), sa.func.min(RequestItem.effect_given_at))
        .where(RequestItem.request_id == req.id)
        .group_by(RequestItem.decision, scope, RequestItem.no_action_reason)
    )]


def count_items(req: LegalRequest, figures: Mapping[str, int]) -> None:
    """Store the request's item figures (from :func:`item_figures`)."""
    facts, new = _facts_of(req)
    _change(req, facts, {name: int(figures.get(name, 0)) for name in ITEM_FIGURES}, new=new)


def on_event(req: LegalRequest, trigger: str | None, *,
             filed_clock: SlaClock | None = None) -> None:
    """Bring the request's facts up to date after a change recorded by an event with
    ``trigger`` (a dispute, a revision or an upheld decision is counted once here).

    ``filed_clock``: the request is being filed and this is its resolve clock (still in
    the session only); it has no facts yet, so nothing is read back."""
    if filed_clock is not None:
        clock: SlaClock | None = filed_clock
        facts, new = _new_facts(req), True
    else:
        clock = db.session.scalar(sa.select(SlaClock).where(SlaClock.request_id == req.id,
                                                            SlaClock.target == "resolve"))
        facts, new = _facts_of(req)
    values = request_values(req, clock)
    if trigger in _DISPUTE_TRIGGERS:
        name = _DISPUTE_TRIGGERS[trigger]
        values[name] = getattr(facts, name) + 1
    _change(req, facts, values, new=new)


def refresh(req: LegalRequest) -> bool:
    """Count the request's facts again from its items, resolve clock and events (for
    requests changed where the facts were not kept: by the previous release while the
    migration that made them ran); return whether they changed."""
    clock = db.session.scalar(sa.select(SlaClock).where(SlaClock.request_id == req.id,
                                                        SlaClock.target == "resolve"))
    triggers: dict[str | None, int] = {trigger: n for trigger, n in db.session.execute(
        sa.select(Event.trigger, sa.func.count())
        .where(Event.request_id == req.id, Event.trigger.in_(list(_DISPUTE_TRIGGERS)))
        .group_by(Event.trigger))}
    values = {
        **request_values(req, clock),
        **item_figures((d, bool(w), r, n) for d, w, r, n, _ in item_rows(req)),
        "requests": 1, "items": req.item_count,
        **{name: int(triggers.get(trigger, 0)) for trigger, name in _DISPUTE_TRIGGERS.items()},
    }
    facts, new = _facts_of(req)
    if not new and all(getattr(facts, k) == v for k, v in values.items()):
        return False
    _change(req, facts, values, new=new)
    return True


def refresh_since(since: datetime, *, batch: int = 500) -> tuple[int, int]:
    """:func:`refresh` every request changed at or after ``since``, a transaction per
    ``batch`` requests; return how many were read and how many had changed."""
    read = changed = 0
    last_id = 0
    while True:
        with transaction():
            requests = db.session.scalars(
                sa.select(LegalRequest).where(LegalRequest.updated_at >= since,
                                              LegalRequest.id > last_id)
                .order_by(LegalRequest.id).limit(batch)).all()
            for req in requests:
                changed += refresh(req)
        if not requests:
            return read, changed
        read += len(requests)
        last_id = requests[-1].id


def request_values(req: LegalRequest, clock: SlaClock | None) -> dict[str, Any]:
    """What the request row and its resolve clock say of the facts (not the items nor
    the disputes counted so far)."""
    start = req.order_received_at or req.received_at
    outcome = sla_outcome(req.resolution, clock)
    running = (clock.open_due_at if clock is not None and clock.paused_at is None else None)
    stopped = clock.stopped_at if clock is not None else None
    return {
        "agency_id": req.agency_id, "jurisdiction": req.jurisdiction,
        "category": req.category.value, "priority": req.priority.value,
        "instrument": req.legal_statute,
        "order_type": ART_10 if req.requested_action in INFORMATION_ACTIONS else ART_9,
        "act_seconds": _seconds(start, req.first_effect_at),
        "confirm_seconds": _seconds(start, req.receipt_confirmed_at),
        "acted": int(req.first_effect_at is not None),
        "sla_outcome": outcome,
        "sla_met": int(outcome == "met"), "sla_breached": int(outcome == "breached"),
        "sla_declined": int(outcome == "declined"),
        "sla_running_due_at": running,
        "resolve_stopped_at": stopped,
        "resolve_policy": clock.policy_code if clock is not None else None,
        "resolve_source": clock.source if clock is not None else None,
        "resolve_seconds": _seconds(req.received_at, stopped),
        "disputes_pending": int(req.state is RequestState.DISPUTED),
    }


def sla_outcome(resolution: Resolution | None, clock: SlaClock | None) -> str | None:
    """How the resolution deadline counts (``workflows.sla.outcome``): a declined or
    withdrawn request apart, else met when the clock stopped (or paused for good) by its
    deadline, breached when later; ``None`` while it runs or without a clock."""
    if resolution is Resolution.DECLINED:
        return "declined"
    if resolution is Resolution.WITHDRAWN:
        return "withdrawn"
    if clock is None or clock.stopped_at is None:
        return None
    settled = clock.paused_at or clock.stopped_at
    return "met" if settled <= clock.due_at else "breached"


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


def _facts_of(req: LegalRequest) -> tuple[RequestFacts, bool]:
    """The request's facts, and whether they are new (its filing: nothing of it is in
    the summary yet, and all its items are pending)."""
    facts = db.session.scalar(sa.select(RequestFacts).where(RequestFacts.request_id == req.id))
    if facts is not None:
        return facts, False
    return _new_facts(req), True


def _new_facts(req: LegalRequest) -> RequestFacts:
    return RequestFacts(request_id=req.id, received_at=req.received_at,
                        **dict.fromkeys(FIGURES, 0))


def _change(req: LegalRequest, facts: RequestFacts, values: Mapping[str, Any], *,
            new: bool) -> None:
    """Set ``values`` on ``facts`` and move the summary by the difference."""
    was_key = None if new else _key_of(facts)
    was = {name: int(getattr(facts, name) or 0) for name in FIGURES}
    if new:
        values = {**request_values(req, None), "requests": 1, "items": req.item_count,
                  "pending": req.item_count, **values}
    for name, value in values.items():
        setattr(facts, name, value)
    if new:
        # Written now on the table rather than added to the session: nothing changes a
        # new row again in its transaction (a later change reads it back), and the
        # ORM's flush of some 40 columns cost more than the insert itself.
        db.session.execute(sa.insert(_FACTS), {
            column.key: getattr(facts, column.key) for column in _FACTS.columns})
    now_key = _key_of(facts)
    now = {name: int(getattr(facts, name) or 0) for name in FIGURES}
    day = facts.received_at.date()
    if was_key == now_key:
        _add(day, now_key, {n: now[n] - was[n] for n in FIGURES})
        return
    if was_key is not None:
        _add(day, was_key, {n: -was[n] for n in FIGURES})
    _add(day, now_key, now)


_FACTS = cast(sa.Table, RequestFacts.__table__)


def _key_of(facts: RequestFacts) -> tuple[Any, ...]:
    return tuple(getattr(facts, name) for name in _KEY)


def _add(day: Any, key: tuple[Any, ...], delta: Mapping[str, int]) -> None:
    """Add ``delta`` to the summary row of ``day`` and ``key``, when the transaction
    commits (see :func:`_write_pending`)."""
    changed = {n: v for n, v in delta.items() if v}
    if not changed:
        return
    pending = db.session.info.setdefault(_PENDING, {})
    into = pending.setdefault((day, key), {})
    for name, value in changed.items():
        into[name] = into.get(name, 0) + value


def _write_pending(session: Session) -> None:
    """Write the summary rows' changes of the transaction that commits: one upsert
    (that adds, created at need) per row, in the order of their keys.

    At commit, not when each change is made: by then a transaction that recorded an
    event holds the audit ledger, so every writer takes the ledger first and summary
    rows after it, never the other way round (which could deadlock two transactions),
    and two transactions lock the rows they share in the same order.
    """
    pending: dict[tuple[Any, tuple[Any, ...]], dict[str, int]] | None = (
        session.info.pop(_PENDING, None))
    if not pending:
        return
    dialect = session.get_bind().dialect.name
    for (day, key), delta in sorted(pending.items(),
                                    key=lambda entry: (entry[0][0], tuple(map(str, entry[0][1])))):
        changed = {n: v for n, v in delta.items() if v}
        if not changed:
            continue
        session.execute(_upsert(dialect, tuple(sorted(changed))),
                        {"day": day, **dict(zip(_KEY, key, strict=True)), **changed})


@functools.lru_cache(maxsize=256)
def _upsert(dialect: str, names: tuple[str, ...]) -> sa.Executable:
    """The upsert that adds ``names`` to a summary row, built once per set of figures
    (building it for each write cost more than running it)."""
    table = cast(sa.Table, ReportDay.__table__)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(
        {column: sa.bindparam(column) for column in ("day", *_KEY, *names)})
    return statement.on_conflict_do_update(
        index_elements=["day", *_KEY],
        # The proposed row as both engines name it; ``statement.excluded`` built an
        # alias of every column of the table for each statement.
        set_={n: table.c[n] + sa.literal_column(f"excluded.{n}") for n in names},
    )


def _forget_pending(session: Session, *_: Any) -> None:
    """A rolled-back transaction's summary changes go with it."""
    session.info.pop(_PENDING, None)


# Every session of the app: whichever service commits, its facts reach the summary.
sa.event.listen(db.session, "before_commit", _write_pending)
sa.event.listen(db.session, "after_soft_rollback", _forget_pending)
