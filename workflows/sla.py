"""SLA policies, deadlines, pauses and alert thresholds (DESIGN.md §4).

A :class:`Policy` matches requests by jurisdiction, category and priority and sets a
:class:`TargetRule` per :class:`Target`. Every matching policy applies and the earliest
deadline wins (:func:`governing`), so a stricter rule is never hidden by a looser one.

A :class:`Clock` is the state of one running deadline, as the portal stores it in a row.
Its functions are pure: each takes ``now`` and returns a new clock. The alert times are
computed when a run starts or resumes and stored in the clock (``alert_times``), so the
sweep finds due alerts by an index on ``next_alert_at`` and needs no calendar; only the
business-time readings (:func:`fraction_used` and :func:`threshold_time` on a
``business`` clock) need the calendar passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType

from workflows.calendars import BusinessCalendar, require_aware
from workflows.codes import Category, Priority


class Target(StrEnum):
    """What a deadline is for."""

    ACKNOWLEDGE = "acknowledge"  # until review begins
    RESOLVE = "resolve"  # until actioned or closed
    DISPUTE = "dispute"  # until a dispute is answered


class ClockKind(StrEnum):
    """How a clock counts time."""

    ELAPSED = "elapsed"  # wall clock, 24/7: plain UTC arithmetic
    BUSINESS = "business"  # working hours of the jurisdiction's calendar
    END_OF_DAY = "end_of_day"  # the end of the local (working) day, with a cut-off


class ResumeRule(StrEnum):
    """What a clock does when a pause ends."""

    EXTEND = "extend"  # the time left at the pause is granted again from the resume
    RESTART = "restart"  # the full duration starts again (TCO Art. 3(8))


@dataclass(frozen=True)
class TargetRule:
    """How one target's deadline is computed.

    ``duration`` is wall time for ``elapsed``, working time for ``business`` (one business
    day is a calendar's ``closes - opens``, 8 h by default: see :data:`BUSINESS_DAY`) and
    ``timedelta(0)`` for ``end_of_day``, which uses ``cutoff`` (local time) instead.

    Raises:
        ValueError: (on construction) if the duration or cut-off does not fit the kind.
    """

    kind: ClockKind
    duration: timedelta
    cutoff: time | None = None
    resume: ResumeRule = ResumeRule.EXTEND

    def __post_init__(self) -> None:
        if self.kind is ClockKind.END_OF_DAY:
            if self.cutoff is None or self.duration:
                raise ValueError("an end_of_day rule needs a cutoff and a zero duration")
        elif self.cutoff is not None or self.duration <= timedelta(0):
            raise ValueError(f"a {self.kind} rule needs a positive duration and no cutoff")


#: One business day of the default calendars (09:00-17:00).
BUSINESS_DAY = timedelta(hours=8)

#: Fractions of the allowance at which alerts fire; 1.0 is the breach.
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.5, 0.75, 0.9, 1.0)

EU_MEMBER_STATES: frozenset[str] = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})

#: Named groups a policy may use in place of country codes. Greece is ISO "GR" (the EU's
#: own "EL" is not an ISO code).
JURISDICTION_GROUPS: Mapping[str, frozenset[str]] = MappingProxyType({"EU": EU_MEMBER_STATES})


def expand(jurisdictions: Iterable[str]) -> frozenset[str]:
    """Country codes (upper case) for a mix of codes and group names ("EU")."""
    codes: set[str] = set()
    for code in jurisdictions:
        code = code.upper()
        codes |= JURISDICTION_GROUPS.get(code, frozenset({code}))
    return frozenset(codes)


def _check_thresholds(thresholds: tuple[float, ...]) -> None:
    if not thresholds:
        raise ValueError("at least one threshold is needed (1.0 is the breach)")
    if thresholds[0] <= 0 or any(a >= b for a, b in pairwise(thresholds)):
        raise ValueError(f"thresholds must be positive and increasing, got {thresholds}")


@dataclass(frozen=True)
class Policy:
    """A set of deadlines for the requests it matches; ``None`` matches anything.

    Raises:
        ValueError: (on construction) if it sets no target or the thresholds are not
            positive and strictly increasing.
    """

    code: str
    name: str
    targets: Mapping[Target, TargetRule]
    jurisdictions: frozenset[str] | None = None
    categories: frozenset[str] | None = None
    priorities: frozenset[str] | None = None
    exclude_categories: frozenset[str] = frozenset()
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    source: str = ""
    source_url: str = ""
    _codes: frozenset[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError(f"policy {self.code!r} sets no target")
        _check_thresholds(self.thresholds)
        # A read-only copy: policies are shared module constants.
        object.__setattr__(self, "targets", MappingProxyType(dict(self.targets)))
        codes = None if self.jurisdictions is None else expand(self.jurisdictions)
        object.__setattr__(self, "_codes", codes)

    def matches(self, jurisdiction: str, category: str, priority: str) -> bool:
        """Whether a request from ``jurisdiction`` (ISO code) with these codes is covered."""
        return (
            (self._codes is None or jurisdiction.upper() in self._codes)
            and (self.categories is None or category in self.categories)
            and category not in self.exclude_categories
            and (self.priorities is None or priority in self.priorities)
        )


def _elapsed(duration: timedelta, resume: ResumeRule = ResumeRule.EXTEND) -> TargetRule:
    return TargetRule(ClockKind.ELAPSED, duration, resume=resume)


def _business_days(days: int) -> TargetRule:
    return TargetRule(ClockKind.BUSINESS, days * BUSINESS_DAY)


_MR5_URGENT = frozenset({Category.TERRORISM, Category.CHILD_SEXUAL_ABUSE, Category.PUBLIC_ORDER})
_MR5_URL = (
    "https://jdih.kominfo.go.id/produk_hukum/view/id/759/t/"
    "peraturan+menteri+komunikasi+dan+informatika+nomor+5+tahun+2020"
)

#: DESIGN.md §4, in table order. Operators can edit them; these are the shipped defaults.
DEFAULT_POLICIES: tuple[Policy, ...] = (
    Policy(
        code="emergency",
        name="Emergency (threat to life)",
        priorities=frozenset({Priority.EMERGENCY}),
        targets={
            Target.ACKNOWLEDGE: _elapsed(timedelta(minutes=15)),
            Target.RESOLVE: _elapsed(timedelta(hours=1)),
        },
        source="Platform commitment: emergency requests are handled around the clock",
    ),
    Policy(
        code="eu-tco-terrorism",
        name="EU terrorist content removal order",
        jurisdictions=frozenset({"EU"}),
        categories=frozenset({Category.TERRORISM}),
        # The hour runs again in full once the clarification arrives (Art. 3(8)).
        targets={Target.RESOLVE: _elapsed(timedelta(hours=1), ResumeRule.RESTART)},
        source="Regulation (EU) 2021/784 (TCO) Art. 3(3), 3(7)-(8)",
        source_url="https://eur-lex.europa.eu/eli/reg/2021/784/oj",
    ),
    Policy(
        code="eu-dsa-orders",
        name="EU order to act against illegal content",
        jurisdictions=frozenset({"EU"}),
        exclude_categories=frozenset({Category.TERRORISM}),
        # DSA Art. 9 says "without undue delay" and sets no hours: 24 h is our target.
        targets={Target.RESOLVE: _elapsed(timedelta(hours=24))},
        source="Regulation (EU) 2022/2065 (DSA) Art. 9 (platform target; no hours in law)",
        source_url="https://eur-lex.europa.eu/eli/reg/2022/2065/oj",
    ),
    Policy(
        code="id-mr5-urgent",
        name="Indonesia urgent takedown (terrorism, child sexual abuse, public order)",
        jurisdictions=frozenset({"ID"}),
        categories=_MR5_URGENT,
        # Urgent by law whatever priority the agency chose, so no priority filter.
        targets={Target.RESOLVE: _elapsed(timedelta(hours=4))},
        source="Permenkominfo 5/2020 (MR5) Art. 14(3)",
        source_url=_MR5_URL,
    ),
    Policy(
        code="id-mr5",
        name="Indonesia takedown request",
        jurisdictions=frozenset({"ID"}),
        exclude_categories=_MR5_URGENT,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=24))},
        source="Permenkominfo 5/2020 (MR5); the channel operators' 'within a day' commitment",
        source_url=_MR5_URL,
    ),
    Policy(
        code="tr-5651",
        name="Turkey decision under Law 5651 (Arts. 8, 8/A, 9)",
        jurisdictions=frozenset({"TR"}),
        targets={Target.RESOLVE: _elapsed(timedelta(hours=4))},
        source="Law No. 5651 Art. 8/A",
        source_url="https://www.mevzuat.gov.tr/mevzuat?MevzuatNo=5651&MevzuatTur=1&MevzuatTertip=5",
    ),
    Policy(
        code="in-it-rules-2021",
        name="India court order or government intimation",
        jurisdictions=frozenset({"IN"}),
        # The February 2026 amendment (G.S.R. 120(E)) would make this 3 h: confirm it
        # against the Gazette before changing.
        targets={Target.RESOLVE: _elapsed(timedelta(hours=36))},
        source="IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021 "
        "r. 3(1)(d), as amended",
        source_url="https://www.meity.gov.in/writereaddata/files/"
        "Intermediary_Guidelines_and_Digital_Media_Ethics_Code_Rules-2021.pdf",
    ),
    Policy(
        code="default",
        name="Platform default",
        targets={
            Target.ACKNOWLEDGE: _business_days(1),
            Target.RESOLVE: _business_days(5),
            Target.DISPUTE: _business_days(5),
        },
        source="Platform default",
    ),
)


def deadline(rule: TargetRule, start: datetime, calendar: BusinessCalendar) -> datetime:
    """When a clock started at ``start`` under ``rule`` is due, as aware UTC.

    Raises:
        ValueError: if ``start`` is naive.
    """
    start = require_aware(start, "start").astimezone(UTC)
    if rule.kind is ClockKind.ELAPSED:
        # In UTC, so that 24 h is 24 real hours across a daylight-saving change.
        return start + rule.duration
    if rule.kind is ClockKind.BUSINESS:
        return calendar.add_working_time(start, rule.duration)
    assert rule.cutoff is not None  # TargetRule guarantees it for END_OF_DAY
    return calendar.end_of_day(start, rule.cutoff)


@dataclass(frozen=True)
class Governing:
    """The policy whose rule sets a target's deadline for one request."""

    target: Target
    policy: Policy
    rule: TargetRule
    due_at: datetime


def governing(
    policies: Iterable[Policy],
    target: Target,
    *,
    jurisdiction: str,
    category: str,
    priority: str,
    start: datetime,
    calendar: BusinessCalendar,
) -> Governing | None:
    """The earliest deadline for ``target`` among the matching policies, and its policy.

    Ties go to the policy that comes first in ``policies``. ``None`` when no matching
    policy sets the target.

    Raises:
        ValueError: if ``start`` is naive.
    """
    best: Governing | None = None
    for policy in policies:
        rule = policy.targets.get(target)
        if rule is None or not policy.matches(jurisdiction, category, priority):
            continue
        due = deadline(rule, start, calendar)
        if best is None or due < best.due_at:
            best = Governing(target, policy, rule, due)
    return best


@dataclass(frozen=True)
class Clock:
    """One target's clock for one request: the fields the portal stores in a row.

    ``started_at`` is the start of the current run (receipt, or the resume after a
    ``restart``). ``allowance`` is the run's full duration (wall time, or working time for
    ``business``). ``alert_times[i]`` is when ``thresholds[i]`` of the allowance is used,
    precomputed so the sweep needs no calendar; ``fired`` counts the thresholds already
    fired in this run. A clock stopped while paused keeps ``paused_at``: its readings stay
    frozen at the pause.

    Raises:
        ValueError: (on construction) if ``alert_times`` and ``thresholds`` differ in
            length or ``fired`` is out of range.
    """

    target: Target
    rule: TargetRule
    thresholds: tuple[float, ...]
    started_at: datetime
    due_at: datetime
    allowance: timedelta
    alert_times: tuple[datetime, ...]
    paused_at: datetime | None = None
    paused_total: timedelta = timedelta(0)
    stopped_at: datetime | None = None
    fired: int = 0

    def __post_init__(self) -> None:
        if len(self.alert_times) != len(self.thresholds):
            raise ValueError("alert_times needs one time per threshold")
        if not 0 <= self.fired <= len(self.thresholds):
            raise ValueError(f"fired must be within 0..{len(self.thresholds)}")

    @property
    def running(self) -> bool:
        """Neither paused nor stopped."""
        return self.paused_at is None and self.stopped_at is None

    @property
    def next_alert_at(self) -> datetime | None:
        """When the next unfired threshold is crossed; ``None`` if paused, stopped or done."""
        if not self.running or self.fired >= len(self.alert_times):
            return None
        return self.alert_times[self.fired]


def _threshold_time(
    kind: ClockKind,
    due_at: datetime,
    allowance: timedelta,
    fraction: float,
    calendar: BusinessCalendar | None,
) -> datetime:
    # Counted back from the deadline: after an `extend` the deadline has moved by exactly
    # the time granted again, so the unfired thresholds move with it.
    if fraction == 1.0:
        return due_at
    left = allowance * (1.0 - fraction)
    if kind is not ClockKind.BUSINESS:
        return due_at - left
    if calendar is None:
        raise ValueError("a business clock needs its calendar to place a threshold")
    return calendar.add_working_time(due_at, -left)


def _alert_times(
    kind: ClockKind,
    thresholds: tuple[float, ...],
    due_at: datetime,
    allowance: timedelta,
    calendar: BusinessCalendar,
) -> tuple[datetime, ...]:
    return tuple(_threshold_time(kind, due_at, allowance, f, calendar) for f in thresholds)


def _allowance(rule: TargetRule, start: datetime, due_at: datetime) -> timedelta:
    return due_at - start if rule.kind is ClockKind.END_OF_DAY else rule.duration


def start_clock(
    target: Target,
    rule: TargetRule,
    thresholds: tuple[float, ...],
    start: datetime,
    calendar: BusinessCalendar,
) -> Clock:
    """A new running clock from ``start`` (the receipt).

    Raises:
        ValueError: if ``start`` is naive or the thresholds are not positive and
            increasing.
    """
    _check_thresholds(thresholds)
    start = require_aware(start, "start").astimezone(UTC)
    due_at = deadline(rule, start, calendar)
    allowance = _allowance(rule, start, due_at)
    return Clock(
        target=target,
        rule=rule,
        thresholds=thresholds,
        started_at=start,
        due_at=due_at,
        allowance=allowance,
        alert_times=_alert_times(rule.kind, thresholds, due_at, allowance, calendar),
    )


def pause(clock: Clock, now: datetime) -> Clock:
    """The clock paused at ``now`` (the request went to ``awaiting_info``).

    Raises:
        ValueError: if ``now`` is naive or before the run started, or the clock is
            already paused or stopped.
    """
    now = require_aware(now, "now").astimezone(UTC)
    if not clock.running:
        raise ValueError(f"the {clock.target} clock is not running")
    if now < clock.started_at:
        raise ValueError("a clock cannot pause before its run started")
    return replace(clock, paused_at=now)


def resume(clock: Clock, now: datetime, calendar: BusinessCalendar) -> Clock:
    """The paused clock running again from ``now``, per its rule's resume rule.

    ``extend``: the time that was left at the pause is granted again from ``now``
    (wall time for elapsed and end-of-day clocks, working time for business ones); fired
    thresholds stay fired. ``restart``: a new run from ``now`` with the full duration,
    whose thresholds fire again. Either way the pause is added to ``paused_total``.

    Raises:
        ValueError: if ``now`` is naive or before the pause, or the clock is not paused
            or is stopped.
    """
    now = require_aware(now, "now").astimezone(UTC)
    paused_at = clock.paused_at
    if paused_at is None or clock.stopped_at is not None:
        raise ValueError(f"the {clock.target} clock is not paused")
    if now < paused_at:
        raise ValueError("a clock cannot resume before it paused")
    paused_total = clock.paused_total + (now - paused_at)
    rule = clock.rule
    if rule.resume is ResumeRule.RESTART:
        restarted = start_clock(clock.target, rule, clock.thresholds, now, calendar)
        return replace(restarted, paused_total=paused_total)
    if rule.kind is ClockKind.BUSINESS:
        left = _working_left(calendar, paused_at, clock.due_at)
        if left <= timedelta(0):
            # Breached before the pause: keep the overshoot it had, counted from the
            # last working instant (from the next opening the breach would look undone).
            due_at = calendar.add_working_time(calendar.latest_working_instant(now), left)
        else:
            due_at = calendar.add_working_time(now, left)
        moved = _alert_times(rule.kind, clock.thresholds, due_at, clock.allowance, calendar)
    else:
        due_at = clock.due_at + (now - paused_at)
        moved = tuple(t + (now - paused_at) for t in clock.alert_times)
    # Fired alerts are history: keep their times; move only those still to come.
    alert_times = clock.alert_times[: clock.fired] + moved[clock.fired :]
    return replace(
        clock,
        due_at=due_at,
        alert_times=alert_times,
        paused_at=None,
        paused_total=paused_total,
    )


def stop(clock: Clock, now: datetime) -> Clock:
    """The clock stopped at ``now`` (the target was met, or the request closed).

    Raises:
        ValueError: if ``now`` is naive, or the clock is already stopped.
    """
    now = require_aware(now, "now").astimezone(UTC)
    if clock.stopped_at is not None:
        raise ValueError(f"the {clock.target} clock is already stopped")
    paused_total = clock.paused_total
    if clock.paused_at is not None:
        paused_total += max(now - clock.paused_at, timedelta(0))
    return replace(clock, stopped_at=now, paused_total=paused_total)


def crossed(clock: Clock, now: datetime) -> list[float]:
    """Thresholds crossed by ``now`` that have not fired yet, in order.

    Empty while the clock is paused or stopped.

    Raises:
        ValueError: if ``now`` is naive.
    """
    now = require_aware(now, "now").astimezone(UTC)
    if not clock.running:
        return []
    index = clock.fired
    # alert_times never decrease, so the crossed ones are a run from `fired`.
    while index < len(clock.alert_times) and clock.alert_times[index] <= now:
        index += 1
    return list(clock.thresholds[clock.fired : index])


def fire_thresholds(clock: Clock, now: datetime) -> tuple[Clock, list[float]]:
    """The clock with every threshold crossed by ``now`` marked fired, and those thresholds.

    Each threshold is returned once per run, however often this is called.

    Raises:
        ValueError: if ``now`` is naive.
    """
    newly = crossed(clock, now)
    if not newly:
        return clock, []
    return replace(clock, fired=clock.fired + len(newly)), newly


def threshold_time(
    clock: Clock, fraction: float, calendar: BusinessCalendar | None = None
) -> datetime:
    """When ``fraction`` of the run's allowance is used, if the clock runs on unpaused.

    For elapsed and end-of-day clocks that is ``due_at - (1 - fraction) * allowance`` in
    wall time (``started_at + fraction * allowance`` before any pause); for business
    clocks the same in working time, which needs ``calendar``. The thresholds of a clock
    are already in ``clock.alert_times``; this is for any other fraction.

    Raises:
        ValueError: if the clock is a business clock and ``calendar`` is missing.
    """
    return _threshold_time(clock.rule.kind, clock.due_at, clock.allowance, fraction, calendar)


def _reading_time(clock: Clock, now: datetime) -> datetime:
    """The instant the clock's readings refer to (in UTC): frozen at a pause or a stop."""
    now = require_aware(now, "now").astimezone(UTC)
    if clock.paused_at is not None:
        return clock.paused_at
    if clock.stopped_at is not None:
        return clock.stopped_at
    return now


def _working_left(calendar: BusinessCalendar, at: datetime, due_at: datetime) -> timedelta:
    # Signed: negative working time once the deadline has passed.
    if at <= due_at:
        return calendar.working_time_between(at, due_at)
    return -calendar.working_time_between(due_at, at)


def fraction_used(
    clock: Clock, now: datetime, calendar: BusinessCalendar | None = None
) -> float:
    """The share of the run's allowance used by ``now``: 0.0 up, above 1.0 once breached.

    Frozen at the pause point while paused (and at the stop once stopped). Business
    clocks count working time and need ``calendar``.

    Raises:
        ValueError: if ``now`` is naive, or the clock is a business clock and
            ``calendar`` is missing.
    """
    at = _reading_time(clock, now)
    if clock.rule.kind is ClockKind.BUSINESS:
        if calendar is None:
            raise ValueError("a business clock needs its calendar to measure working time")
        left = _working_left(calendar, at, clock.due_at)
    else:
        left = clock.due_at - at
    return max(0.0, (clock.allowance - left) / clock.allowance)


def remaining(clock: Clock, now: datetime) -> timedelta:
    """Wall time from ``now`` to the deadline, negative once breached.

    While paused: what was left at the pause (and once stopped: at the stop).

    Raises:
        ValueError: if ``now`` is naive.
    """
    return clock.due_at - _reading_time(clock, now)


def breached(clock: Clock, now: datetime) -> bool:
    """Whether the deadline had been reached (``due_at <= now``; frozen like remaining).

    Reaching ``due_at`` itself counts as a breach, as the 1.0 threshold fires then.

    Raises:
        ValueError: if ``now`` is naive.
    """
    return _reading_time(clock, now) >= clock.due_at
