"""SLA clocks on requests: started, paused, resumed and stopped with each transition, in
the transition's own transaction. The maths is ``workflows.sla``; this module stores it.

A clock row keeps the policy that governs it and every other policy that applied when it
started (``matches``), the runs of the other legal regimes that limit it (``bounds``)
and the pause under way, so the API and the pages can say which law sets each deadline,
and a later change of a policy's row never rewrites a running clock.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Agency, LegalRequest, SlaClock, SlaPolicy
from portal.services.clock_policies import (
    Context,
    Policies,
    action_of,
    active_policies,
    applicable,
    calendar_for,
    context,
    covers,
    default_rows,
    governing,
    load_defaults,
    policy_names,
    policy_row,
    rule_from_json,
    rule_to_json,
    to_policy,
)
from workflows import sla

if TYPE_CHECKING:
    from portal.services.listing import DetailClock

log = logging.getLogger(__name__)

#: The policies and calendars are ``clock_policies``'; callers may reach them here too.
__all__ = [
    "Context",
    "Policies",
    "action_of",
    "active_policies",
    "applicable",
    "calendar_for",
    "context",
    "covers",
    "default_rows",
    "governing",
    "load_defaults",
    "policy_names",
    "policy_row",
    "rule_from_json",
    "rule_to_json",
    "to_policy",
]

#: What each trigger does to the clocks (DESIGN.md §4). Filing starts acknowledge and
#: resolve (see :func:`start_for_filing`).
CLOCK_EFFECTS: Mapping[str, tuple[tuple[str, sla.Target], ...]] = {
    "begin_review": (("stop", sla.Target.ACKNOWLEDGE),),
    "request_info": (("pause", sla.Target.RESOLVE),),
    "provide_info": (("resume", sla.Target.RESOLVE),),
    "action": (("stop", sla.Target.RESOLVE),),
    "decline": (("stop", sla.Target.RESOLVE),),
    "withdraw": (("stop", sla.Target.ACKNOWLEDGE), ("stop", sla.Target.RESOLVE)),
    "dispute": (("start", sla.Target.DISPUTE),),
    "revise": (("stop", sla.Target.DISPUTE),),
    "uphold": (("stop", sla.Target.DISPUTE),),
    "close": (),
}

#: The clocks that count from the time of receipt (the dispute clock counts from the
#: dispute).
FROM_RECEIPT = (sla.Target.ACKNOWLEDGE, sla.Target.RESOLVE)


class NoPolicy(Exception):
    """No active policy in force sets a resolution deadline for the request."""


class ClockRefused(Exception):
    """A pause or resume the clock's rules do not allow now; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- clocks -----------------------------------------------------------------------------

def _bound_to_json(bound: sla.Bound) -> dict[str, Any]:
    return {
        "policy": bound.policy, **rule_to_json(bound.rule),
        "started_at": bound.started_at.isoformat(), "due_at": bound.due_at.isoformat(),
        "allowance_seconds": bound.allowance.total_seconds(),
        "paused_at": bound.paused_at.isoformat() if bound.paused_at else None,
    }


def _bound_from_json(data: Mapping[str, Any]) -> sla.Bound:
    paused = data.get("paused_at")
    return sla.Bound(
        policy=data["policy"], rule=rule_from_json(data),
        started_at=datetime.fromisoformat(data["started_at"]),
        due_at=datetime.fromisoformat(data["due_at"]),
        allowance=timedelta(seconds=data["allowance_seconds"]),
        paused_at=datetime.fromisoformat(paused) if paused else None,
    )


def to_clock(row: SlaClock | sa.Row[Any]) -> sla.Clock:
    """The pure clock a stored row holds (a model, or a Core row with its columns)."""
    return sla.Clock(
        target=sla.Target(row.target),
        rule=sla.TargetRule(
            kind=sla.ClockKind(row.kind),
            duration=timedelta(seconds=row.seconds),
            cutoff=time.fromisoformat(row.cutoff) if row.cutoff else None,
            resume=sla.ResumeRule(row.resume),
            force_majeure=bool(row.force_majeure),
        ),
        thresholds=tuple(row.thresholds),
        started_at=row.started_at,
        due_at=row.due_at,
        allowance=timedelta(seconds=row.allowance_seconds),
        paused_at=row.paused_at,
        paused_total=timedelta(seconds=row.paused_seconds),
        stopped_at=row.stopped_at,
        fired=row.fired,
        alert_times=tuple(datetime.fromisoformat(t) for t in row.alert_times),
        policy=row.policy_code,
        bounds=tuple(_bound_from_json(b) for b in (row.bounds or ())),
        pause_reason=sla.PauseReason(row.pause_reason) if row.pause_reason else None,
        clamped=bool(row.clamped),
    )


def _match_entry(row: SlaClock | sa.Row[Any] | DetailClock, code: str) -> Mapping[str, Any] | None:
    return next((m for m in (row.matches or ()) if m.get("policy") == code), None)


def readings(rows: Sequence[SlaClock | sa.Row[Any] | DetailClock],
             now: datetime) -> list[dict[str, Any]]:
    """How each clock stands at ``now``, as the API and filing receipts show it: the
    governing policy with its pause rule and source, and the others that apply."""
    found = []
    for row in rows:
        # Read from the row's times (a reading needs no more: sla.Reading); building the
        # whole clock parsed its bounds and alert times: a sixth of the API detail view.
        entries = list(row.matches or ())
        governing_entry = _match_entry(row, row.policy_code) or {}
        found.append({
            "target": row.target, "due_at": row.due_at,
            "remaining_seconds": int(sla.remaining(row, now).total_seconds()),
            "paused": row.paused_at is not None, "breached": sla.breached(row, now),
            "stopped": row.stopped_at is not None, "policy": row.policy_code,
            "source": row.source,
            "kind": row.kind,
            "pause_rule": row.resume,
            "force_majeure": bool(row.force_majeure),
            "pause_reason": row.pause_reason,
            "clamped": bool(row.clamped),
            "instrument": governing_entry.get("instrument", ""),
            "article": governing_entry.get("article", ""),
            "source_url": governing_entry.get("url", ""),
            "basis": governing_entry.get("basis", ""),
            "other_policies": [_other(m) for m in entries if m.get("policy") != row.policy_code],
        })
    return found


def _other(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Another policy that applies to a clock, as the readings show it."""
    return {"policy": entry.get("policy", ""), "basis": entry.get("basis", ""),
            "source": entry.get("source", ""), "due_at": entry.get("due_at"),
            "pause_rule": entry.get("resume", ""), "kind": entry.get("kind", "")}


def store(row: SlaClock, clock: sla.Clock, *, count: bool = True) -> None:
    """Copy a pure clock's state onto its row (and the index columns derived from it;
    ``count=False``: the request's ``running_clocks`` already counts it, see
    :func:`open_for_filing`).

    When another policy's run has come to govern (a law that allows no pause ran on
    while the platform's floor paused), the row names it and its source.
    """
    if clock.policy and clock.policy != row.policy_code:
        entry = _match_entry(row, clock.policy)
        row.policy_code = clock.policy
        if entry is not None:
            row.source = entry.get("source", row.source)
            row.policy_id = entry.get("policy_id")
    rule = clock.rule
    row.kind = rule.kind.value
    row.seconds = int(rule.duration.total_seconds())
    row.cutoff = rule.cutoff.strftime("%H:%M") if rule.cutoff else None
    row.resume = rule.resume.value
    row.force_majeure = rule.force_majeure
    row.started_at = clock.started_at
    row.due_at = clock.due_at
    row.allowance_seconds = clock.allowance.total_seconds()
    row.paused_at = clock.paused_at
    row.paused_seconds = clock.paused_total.total_seconds()
    row.stopped_at = clock.stopped_at
    row.fired = clock.fired
    row.alert_times = [t.isoformat() for t in clock.alert_times]
    row.next_alert_at = clock.next_alert_at
    was_running = row.open_due_at is not None
    row.open_due_at = None if clock.stopped_at else clock.due_at
    change = int(row.open_due_at is not None) - int(was_running)
    if change and count:
        _count_running(row.request_id, change)
    if row.open_due_at is None:
        # The copies of who holds the request mark running clocks only.
        row.unassigned = False
        row.holder_id = None
    row.bounds = [_bound_to_json(b) for b in clock.bounds]
    row.pause_reason = clock.pause_reason.value if clock.pause_reason else None
    row.clamped = clock.clamped


def _count_running(request_id: int, change: int) -> None:
    """Keep ``LegalRequest.running_clocks`` in step, in the same transaction (the
    request is in the session already: every caller holds it)."""
    req = db.session.get(LegalRequest, request_id)
    if req is not None:
        req.running_clocks = (req.running_clocks or 0) + change


def follow_assignment(req: LegalRequest) -> None:
    """Copy who holds ``req`` onto its running clocks (``SlaClock.unassigned``, the
    unassigned tab's index, and ``SlaClock.holder_id``, the reviewer's start page's), in
    the caller's transaction: every change of ``assigned_reviewer_id`` calls this (and a
    clock started or started again takes both from its request, :func:`_save`;
    :func:`store` clears them when the clock stops)."""
    db.session.execute(
        sa.update(SlaClock).where(SlaClock.request_id == req.id,
                                  SlaClock.open_due_at.is_not(None))
        .values(unassigned=req.assigned_reviewer_id is None,
                holder_id=req.assigned_reviewer_id)
        .execution_options(synchronize_session="evaluate"))


def _describe(row: SlaClock, found: sla.Governing, rows: Mapping[str, SlaPolicy]) -> None:
    """Name on the row the policy that governs and every other that applies."""
    policy = rows[found.policy.code]
    row.policy_id = policy.id
    row.policy_code = policy.code
    row.source = policy.source
    row.thresholds = list(found.policy.thresholds)
    row.matches = [_match_json(m, rows[m.policy.code]) for m in found.matches]


def _match_json(match: sla.Match, row: SlaPolicy) -> dict[str, Any]:
    return {
        "policy": row.code, "policy_id": row.id, "name": row.name,
        "basis": match.policy.basis.value, "source": row.source,
        "instrument": row.instrument or "", "article": row.article or "",
        "url": row.source_url or "", **rule_to_json(match.rule),
        "due_at": match.due_at.isoformat(),
    }


def _row_of(req: LegalRequest, target: sla.Target) -> SlaClock | None:
    return db.session.scalar(sa.select(SlaClock).where(
        SlaClock.request_id == req.id, SlaClock.target == target.value))


def _save(req: LegalRequest, found: sla.Governing, clock: sla.Clock,
          rows: Mapping[str, SlaPolicy], existing: SlaClock | None = None, *,
          first: bool = False) -> SlaClock:
    """Write ``clock`` on ``req``'s row for its target (``existing``, or the one stored;
    ``first``: a request being filed, which has none yet, so none is looked for, and
    whose ``running_clocks`` was set before it was inserted)."""
    row = existing if existing is not None or first else _row_of(req, clock.target)
    if row is None:
        row = SlaClock(request_id=req.id, target=clock.target.value, run=0)
        db.session.add(row)
    _describe(row, found, rows)
    row.unassigned = req.assigned_reviewer_id is None
    row.holder_id = req.assigned_reviewer_id
    row.run = (row.run or 0) + 1
    row.breached_at = None
    store(row, clock, count=not first)
    return row


def start(req: LegalRequest, target: sla.Target, now: datetime,
          policies: Policies | None = None) -> SlaClock | None:
    """Start (or start again) ``target``'s clock for ``req`` from ``now``, under the
    policies in force when the request was received; ``None`` when none sets that
    target."""
    ctx = context(req, now, policies)
    found = governing(ctx, target, now)
    if found is None:
        return None
    clock = sla.start_governed(found, now, ctx.calendar, calendars=ctx.calendars)
    return _save(req, found, clock, ctx.rows)


@dataclasses.dataclass(frozen=True)
class Opening:
    """The clocks a request being filed will start (:func:`open_for_filing`)."""

    opened: dict[sla.Target, tuple[sla.Governing, sla.Clock]]
    rows: dict[str, SlaPolicy]

    @property
    def running(self) -> int:
        """How many of them run (the request row's ``running_clocks``)."""
        return sum(1 for _, clock in self.opened.values() if not clock.stopped_at)


def open_for_filing(req: LegalRequest, now: datetime, policies: Policies | None = None,
                    agency: Agency | None = None) -> Opening:
    """Work out the acknowledge and resolve clocks of a request being filed, before its
    row is inserted (so it is inserted with its ``running_clocks``: on PostgreSQL the
    later update of the row then changes no indexed column and stays a HOT update);
    :func:`start_for_filing` stores them.

    Raises:
        NoPolicy: no policy sets a resolution deadline for it.
    """
    ctx = context(req, now, policies, agency)
    opened = sla.open_clocks(ctx.pure, FROM_RECEIPT, jurisdiction=ctx.jurisdiction,
                             category=ctx.category, priority=ctx.priority, start=now,
                             received_at=ctx.received_at, calendar=ctx.calendar,
                             calendars=ctx.calendars, action=ctx.action)
    if sla.Target.RESOLVE not in opened:
        raise NoPolicy(f"no SLA policy sets a resolution deadline for {req.jurisdiction} "
                       f"{req.category.value} {req.priority.value} requests")
    return Opening(opened, ctx.rows)


def start_for_filing(req: LegalRequest, opening: Opening
                     ) -> tuple[dict[str, str], list[str], SlaClock]:
    """Store the clocks :func:`open_for_filing` worked out for ``req`` (inserted since,
    with ``running_clocks`` set to ``opening.running``); return ``{target: due_at}`` and
    the targets brought forward to the resolution deadline, for the audit event, and the
    resolve clock's row (added to the session, not flushed)."""
    started, clamped, rows = {}, [], {}
    for target, (found, clock) in opening.opened.items():
        # A request being filed has no clock yet: no look-up (and its flush) per clock.
        row = rows[target] = _save(req, found, clock, opening.rows, first=True)
        started[target.value] = row.due_at.isoformat()
        if clock.clamped:
            clamped.append(target.value)
    return started, clamped, rows[sla.Target.RESOLVE]


def clocks_of(req: LegalRequest) -> dict[str, SlaClock]:
    rows = db.session.scalars(sa.select(SlaClock).where(SlaClock.request_id == req.id))
    return {row.target: row for row in rows}


def _clamp(rows: Mapping[str, SlaClock]) -> dict[str, Any]:
    """Bring a running acknowledgement forward to the resolution deadline if it fell
    after it; what changed, for the audit event."""
    ack, resolve = rows.get("acknowledge"), rows.get("resolve")
    if ack is None or resolve is None or ack.stopped_at is not None:
        return {}
    clock = to_clock(ack)
    clamped = sla.clamp(clock, resolve.due_at)
    if clamped is clock:
        return {}
    was = ack.due_at
    store(ack, clamped)
    return {"acknowledge": {"clamped": True, "due_at": ack.due_at.isoformat(),
                            "policy": ack.policy_code, "was_policy": ack.policy_code,
                            "was_due_at": was.isoformat()}}


def on_transition(req: LegalRequest, trigger: str, now: datetime) -> dict[str, Any]:
    """Apply ``trigger``'s clock effects; return what changed, for the audit event."""
    effects = CLOCK_EFFECTS.get(trigger, ())
    if not effects:
        return {}
    rows = clocks_of(req)
    changed: dict[str, Any] = {}
    ctx: Context | None = None
    for operation, target in effects:
        if operation == "start":
            row = start(req, target, now)
            if row is not None:
                changed[target.value] = {"started": True, "due_at": row.due_at.isoformat()}
            continue
        row = rows.get(target.value)
        if row is None or row.stopped_at is not None:
            continue
        clock = to_clock(row)
        governed_by = row.policy_code
        if operation == "stop":
            clock = sla.stop(clock, now)
        elif operation == "pause" and not clock.waiting:
            ctx = ctx or context(req, now)
            paused = sla.pause(clock, now, calendar=ctx.calendar, calendars=ctx.calendars)
            if paused is clock:
                # The law that governs allows no pause: say so on the record.
                changed[target.value] = {"pause": False, "pause_rule": clock.rule.resume.value,
                                         "due_at": row.due_at.isoformat()}
                continue
            clock = paused
        elif operation == "resume" and clock.pause_reason is sla.PauseReason.CLARIFICATION:
            ctx = ctx or context(req, now)
            clock = sla.resume(clock, now, ctx.calendar, calendars=ctx.calendars)
        else:
            continue
        _store_run(row, clock)
        changed[target.value] = {operation: True, "due_at": row.due_at.isoformat()}
        if row.policy_code != governed_by:
            # Another regime's run governs now (a law that does not pause ran on).
            changed[target.value]["policy"] = row.policy_code
        if target is sla.Target.RESOLVE:
            _merge(changed, _clamp(rows))
    return changed


def _store_run(row: SlaClock, clock: sla.Clock) -> None:
    """Store ``clock``; a run whose thresholds start again is a new run (its alerts are
    told apart from the last run's)."""
    if clock.fired < row.fired:
        row.run += 1
        row.breached_at = None
    store(row, clock)


def force_majeure(req: LegalRequest, now: datetime, *, begin: bool) -> dict[str, Any]:
    """Begin (or end) a force majeure pause of the resolve clock (TCO Art. 3(7)): the
    runs whose rules allow it stop counting, and start again in full when it ends. A
    request still awaiting the agency's answer at the end goes on waiting for it.

    Raises:
        ClockRefused: ``no_clock`` (no running resolve clock), ``not_allowed`` (no rule of
            it allows a force majeure pause), ``paused`` (another pause is under way, or
            a force majeure already), ``not_paused`` (ending one that did not begin).
    """
    rows = clocks_of(req)
    row = rows.get(sla.Target.RESOLVE.value)
    if row is None or row.stopped_at is not None:
        raise ClockRefused("no_clock", "the request has no running resolution clock")
    clock = to_clock(row)
    ctx = context(req, now)
    if begin:
        if clock.waiting:
            raise ClockRefused("paused", "the resolution clock is already paused")
        paused = sla.pause(clock, now, reason=sla.PauseReason.FORCE_MAJEURE,
                           calendar=ctx.calendar, calendars=ctx.calendars)
        if paused is clock:
            raise ClockRefused("not_allowed", "no rule of this clock allows a force "
                               "majeure pause")
        clock = paused
    else:
        if clock.pause_reason is not sla.PauseReason.FORCE_MAJEURE:
            raise ClockRefused("not_paused", "no force majeure is under way")
        clock = sla.resume(clock, now, ctx.calendar, calendars=ctx.calendars)
        if req.state.value == "awaiting_info":
            clock = sla.pause(clock, now, calendar=ctx.calendar, calendars=ctx.calendars)
    _store_run(row, clock)
    changed: dict[str, Any] = {"resolve": {"force_majeure": begin,
                                           "due_at": row.due_at.isoformat(),
                                           "policy": row.policy_code}}
    _merge(changed, _clamp(rows))
    return changed


def _recount(req: LegalRequest, row: SlaClock, ctx: Context, *, start: datetime,
             keep_extension: bool) -> dict[str, Any] | None:
    """Count ``row``'s clock again from ``start`` under the policies that apply now;
    what changed (``None`` when nothing did, or no policy sets its target)."""
    target = sla.Target(row.target)
    found = governing(ctx, target, start)
    if found is None:
        return None
    old = to_clock(row)
    stopped_at = old.stopped_at
    running = dataclasses.replace(old, stopped_at=None) if stopped_at else old
    clock = sla.recount(running, found, start=start, calendar=ctx.calendar,
                        calendars=ctx.calendars, keep_extension=keep_extension)
    if stopped_at is not None:
        clock = sla.stop(clock, stopped_at)
    before_code, before_due = row.policy_code, row.due_at
    _describe(row, found, ctx.rows)
    store(row, clock)
    if (row.policy_code, row.due_at) == (before_code, before_due):
        return None
    return {"policy": row.policy_code, "due_at": row.due_at.isoformat(),
            "was_policy": before_code, "was_due_at": before_due.isoformat()}


def rematch(req: LegalRequest, now: datetime,
            count_from: sla.CountFrom = sla.CountFrom.RECEIPT) -> dict[str, Any]:
    """Re-match every running clock of ``req`` after its category or priority changed.

    Counted from the receipt (each run's start), the new deadline is what the request
    would have had from the start, plus whatever extension pauses had granted; counted
    from the reclassification, each clock begins a new run at ``now``. Either way the
    pause under way and the thresholds already fired are kept (none fires twice).
    """
    ctx = context(req, now)
    rows = clocks_of(req)
    changed: dict[str, Any] = {}
    for target, row in rows.items():
        if row.stopped_at is not None:
            continue
        start = row.started_at if count_from is sla.CountFrom.RECEIPT else now
        change = _recount(req, row, ctx, start=start,
                          keep_extension=count_from is sla.CountFrom.RECEIPT)
        if change is not None:
            changed[target] = change
    _merge(changed, _clamp(rows))
    return changed


def _merge(changed: dict[str, Any], clamped: Mapping[str, Any]) -> None:
    """Add a clamp to the changes already recorded (keeping the deadline it was before
    them all)."""
    for name, change in clamped.items():
        if name in changed:
            changed[name].update(clamped=True, due_at=change["due_at"])
        else:
            changed[name] = dict(change)


def recount_from_receipt(req: LegalRequest, was: datetime, now: datetime) -> dict[str, Any]:
    """Count the acknowledge and resolve clocks from ``req.clock_start`` (an earlier
    receipt staff recorded) instead of ``was``, under the policies in force then.

    Only runs that began at ``was`` move (a run restarted after a clarification keeps
    its start); a clock already stopped keeps its stop, and is met or missed against the
    deadline it now has.
    """
    ctx = context(req, now)
    rows = clocks_of(req)
    changed: dict[str, Any] = {}
    for target in FROM_RECEIPT:
        row = rows.get(target.value)
        if row is None or row.started_at != was:
            continue
        change = _recount(req, row, ctx, start=req.clock_start, keep_extension=True)
        if change is not None:
            changed[target.value] = change
    _merge(changed, _clamp(rows))
    return changed
