"""SLA clocks on requests: started, paused, resumed and stopped with each transition, in
the transition's own transaction. The maths is ``workflows.sla``; this module stores it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import HolidayOverride, LegalRequest, SlaClock, SlaPolicy
from workflows import calendars, sla

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


# -- policies ---------------------------------------------------------------------------

def rule_to_json(rule: sla.TargetRule) -> dict[str, Any]:
    return {
        "kind": rule.kind.value,
        "seconds": int(rule.duration.total_seconds()),
        "cutoff": rule.cutoff.strftime("%H:%M") if rule.cutoff else None,
        "resume": rule.resume.value,
    }


def rule_from_json(data: Mapping[str, Any]) -> sla.TargetRule:
    """Raises: ValueError, KeyError on a malformed rule."""
    cutoff = data.get("cutoff")
    return sla.TargetRule(
        kind=sla.ClockKind(data["kind"]),
        duration=timedelta(seconds=int(data["seconds"])),
        cutoff=time.fromisoformat(cutoff) if cutoff else None,
        resume=sla.ResumeRule(data.get("resume", "extend")),
    )


def to_policy(row: SlaPolicy) -> sla.Policy:
    """The pure policy a stored row describes."""
    return sla.Policy(
        code=row.code,
        name=row.name,
        targets={sla.Target(t): rule_from_json(r) for t, r in row.targets.items()},
        jurisdictions=frozenset(row.jurisdictions) if row.jurisdictions is not None else None,
        categories=frozenset(row.categories) if row.categories is not None else None,
        priorities=frozenset(row.priorities) if row.priorities is not None else None,
        exclude_categories=frozenset(row.exclude_categories or ()),
        thresholds=tuple(row.thresholds),
        source=row.source,
        source_url=row.source_url,
    )


def policy_row(policy: sla.Policy, position: int) -> dict[str, Any]:
    """Column values for a pure policy (used to load the defaults)."""
    return {
        "code": policy.code,
        "name": policy.name,
        "jurisdictions": sorted(policy.jurisdictions) if policy.jurisdictions else None,
        "categories": sorted(policy.categories) if policy.categories else None,
        "exclude_categories": sorted(policy.exclude_categories),
        "priorities": sorted(policy.priorities) if policy.priorities else None,
        "targets": {t.value: rule_to_json(r) for t, r in policy.targets.items()},
        "thresholds": list(policy.thresholds),
        "source": policy.source,
        "source_url": policy.source_url,
        "position": position,
        "active": True,
    }


def active_policies() -> list[tuple[SlaPolicy, sla.Policy]]:
    """Active policies in their configured order, with their pure form."""
    rows = db.session.scalars(
        sa.select(SlaPolicy).where(SlaPolicy.active.is_(True))
        .order_by(SlaPolicy.position, SlaPolicy.id)
    ).all()
    return [(row, to_policy(row)) for row in rows]


def load_defaults() -> list[str]:
    """Insert the default policies that are missing (by code); return their codes.

    Existing policies are left as operators edited them.
    """
    existing = set(db.session.scalars(sa.select(SlaPolicy.code)))
    added = []
    for position, policy in enumerate(sla.DEFAULT_POLICIES):
        if policy.code not in existing:
            db.session.add(SlaPolicy(**policy_row(policy, position)))
            added.append(policy.code)
    return added


# -- calendars --------------------------------------------------------------------------

def calendar_for(country: str, when: datetime, subdivision: str | None = None
                 ) -> calendars.BusinessCalendar:
    """The business calendar of ``country`` around ``when``, with administrators'
    holiday overrides applied."""
    overrides = db.session.scalars(
        sa.select(HolidayOverride).where(
            HolidayOverride.country == country,
            sa.or_(HolidayOverride.subdivision.is_(None),
                   HolidayOverride.subdivision == subdivision),
        )
    ).all()
    return calendars.calendar_for(
        country,
        years=range(when.year - 1, when.year + 2),
        subdivision=subdivision,
        changes=[calendars.HolidayChange(o.day, o.holiday) for o in overrides],
    )


# -- clocks -----------------------------------------------------------------------------

def to_clock(row: SlaClock | sa.Row[Any]) -> sla.Clock:
    """The pure clock a stored row holds (a model, or a Core row with its columns)."""
    return sla.Clock(
        target=sla.Target(row.target),
        rule=sla.TargetRule(
            kind=sla.ClockKind(row.kind),
            duration=timedelta(seconds=row.seconds),
            cutoff=time.fromisoformat(row.cutoff) if row.cutoff else None,
            resume=sla.ResumeRule(row.resume),
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
    )


def readings(rows: Sequence[SlaClock | sa.Row[Any]], now: datetime) -> list[dict[str, Any]]:
    """How each clock stands at ``now``, as the API and filing receipts show it."""
    found = []
    for row in rows:
        clock = to_clock(row)
        found.append({
            "target": row.target, "due_at": row.due_at,
            "remaining_seconds": int(sla.remaining(clock, now).total_seconds()),
            "paused": clock.paused_at is not None, "breached": sla.breached(clock, now),
            "stopped": clock.stopped_at is not None, "policy": row.policy_code,
            "source": row.source,
        })
    return found


def store(row: SlaClock, clock: sla.Clock) -> None:
    """Copy a pure clock's state onto its row (and the index columns derived from it)."""
    row.started_at = clock.started_at
    row.due_at = clock.due_at
    row.allowance_seconds = clock.allowance.total_seconds()
    row.paused_at = clock.paused_at
    row.paused_seconds = clock.paused_total.total_seconds()
    row.stopped_at = clock.stopped_at
    row.fired = clock.fired
    row.alert_times = [t.isoformat() for t in clock.alert_times]
    row.next_alert_at = clock.next_alert_at
    row.open_due_at = None if clock.stopped_at else clock.due_at


def _governing(req: LegalRequest, target: sla.Target, start: datetime,
               policies: Sequence[tuple[SlaPolicy, sla.Policy]] | None = None
               ) -> tuple[SlaPolicy, sla.Governing] | None:
    policies = policies if policies is not None else active_policies()
    rows = {p.code: row for row, p in policies}
    best: tuple[SlaPolicy, sla.Governing] | None = None
    # Each policy may name its own calendar; group by calendar so each is built once.
    by_calendar: dict[tuple[str, str | None], list[sla.Policy]] = {}
    for row, policy in policies:
        key = (row.calendar_country or req.jurisdiction, row.calendar_subdivision)
        by_calendar.setdefault(key, []).append(policy)
    for (country, subdivision), group in by_calendar.items():
        found = sla.governing(
            group, target, jurisdiction=req.jurisdiction, category=req.category.value,
            priority=req.priority.value, start=start,
            calendar=calendar_for(country, start, subdivision),
        )
        if found is not None and (best is None or found.due_at < best[1].due_at):
            best = (rows[found.policy.code], found)
    return best


def start(req: LegalRequest, target: sla.Target, now: datetime,
          policies: Sequence[tuple[SlaPolicy, sla.Policy]] | None = None) -> SlaClock | None:
    """Start (or start again) ``target``'s clock for ``req`` from ``now``; ``None`` when no
    policy sets that target."""
    found = _governing(req, target, now, policies)
    if found is None:
        return None
    policy_row_, governing = found
    clock = sla.start_clock(target, governing.rule, governing.policy.thresholds, now,
                            _calendar_of(req, policy_row_, now))
    row = db.session.scalar(sa.select(SlaClock).where(
        SlaClock.request_id == req.id, SlaClock.target == target.value))
    if row is None:
        row = SlaClock(request_id=req.id, target=target.value, run=0)
        db.session.add(row)
    _describe(row, policy_row_, governing.rule, governing.policy.thresholds)
    row.run = (row.run or 0) + 1
    row.breached_at = None
    store(row, clock)
    return row


def _calendar_of(req: LegalRequest, policy: SlaPolicy, when: datetime
                 ) -> calendars.BusinessCalendar:
    return calendar_for(policy.calendar_country or req.jurisdiction, when,
                        policy.calendar_subdivision)


def _describe(row: SlaClock, policy: SlaPolicy, rule: sla.TargetRule,
              thresholds: Iterable[float]) -> None:
    row.policy_id = policy.id
    row.policy_code = policy.code
    row.source = policy.source
    row.kind = rule.kind.value
    row.seconds = int(rule.duration.total_seconds())
    row.cutoff = rule.cutoff.strftime("%H:%M") if rule.cutoff else None
    row.resume = rule.resume.value
    row.thresholds = list(thresholds)


def start_for_filing(req: LegalRequest, now: datetime) -> dict[str, str]:
    """Start the acknowledge and resolve clocks of a newly filed request; return
    ``{target: due_at}`` for the audit event."""
    policies = active_policies()
    started = {}
    for target in (sla.Target.ACKNOWLEDGE, sla.Target.RESOLVE):
        row = start(req, target, now, policies)
        if row is not None:
            started[target.value] = row.due_at.isoformat()
    return started


def clocks_of(req: LegalRequest) -> dict[str, SlaClock]:
    rows = db.session.scalars(sa.select(SlaClock).where(SlaClock.request_id == req.id))
    return {row.target: row for row in rows}


def on_transition(req: LegalRequest, trigger: str, now: datetime) -> dict[str, Any]:
    """Apply ``trigger``'s clock effects; return what changed, for the audit event."""
    effects = CLOCK_EFFECTS.get(trigger, ())
    if not effects:
        return {}
    rows = clocks_of(req)
    changed: dict[str, Any] = {}
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
        if operation == "stop":
            clock = sla.stop(clock, now)
        elif operation == "pause" and clock.paused_at is None:
            clock = sla.pause(clock, now)
        elif operation == "resume" and clock.paused_at is not None:
            clock = sla.resume(clock, now, _calendar_of(req, _policy_of(row), now))
            if clock.fired == 0 and row.fired > 0:
                row.run += 1  # a restart: the thresholds fire again for the new run
                row.breached_at = None
        else:
            continue
        store(row, clock)
        changed[target.value] = {operation: True, "due_at": row.due_at.isoformat()}
    return changed


def _policy_of(row: SlaClock) -> SlaPolicy:
    if row.policy is not None:
        return row.policy
    # The policy was deleted since: keep the jurisdiction's own calendar.
    return SlaPolicy(code=row.policy_code, calendar_country=None, calendar_subdivision=None)


def rematch(req: LegalRequest, now: datetime) -> dict[str, Any]:
    """Re-match every running clock of ``req`` after its category or priority changed.

    Each clock's deadline is computed again from its run's start under the policies that
    match now, plus whatever extension pauses had already granted; the pause state and
    the thresholds already fired are kept (none fires twice).
    """
    policies = active_policies()
    changed: dict[str, Any] = {}
    for target, row in clocks_of(req).items():
        if row.stopped_at is not None:
            continue
        found = _governing(req, sla.Target(target), row.started_at, policies)
        if found is None:
            continue
        policy, governing = found
        old = to_clock(row)
        old_policy = _policy_of(row)
        extension = old.due_at - sla.deadline(
            old.rule, old.started_at, _calendar_of(req, old_policy, old.started_at))
        fresh = sla.start_clock(sla.Target(target), governing.rule,
                                governing.policy.thresholds, old.started_at,
                                _calendar_of(req, policy, old.started_at))
        clock = dataclasses.replace(
            fresh,
            due_at=fresh.due_at + extension,
            alert_times=tuple(t + extension for t in fresh.alert_times),
            paused_at=old.paused_at,
            paused_total=old.paused_total,
            fired=min(old.fired, len(fresh.thresholds)),
        )
        before_code, before_due = row.policy_code, row.due_at
        _describe(row, policy, governing.rule, governing.policy.thresholds)
        store(row, clock)
        if (row.policy_code, row.due_at) != (before_code, before_due):
            changed[target] = {"policy": row.policy_code, "due_at": row.due_at.isoformat(),
                               "was_policy": before_code, "was_due_at": before_due.isoformat()}
    return changed
