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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from types import MappingProxyType
from typing import Protocol
from zoneinfo import ZoneInfo

from workflows.calendars import (
    ALL_SUBDIVISIONS,
    HOLIDAY_CATEGORIES,
    BusinessCalendar,
    require_aware,
)
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
    # N working days counted from the day after receipt, due at the end of the last one
    # (the UK Terrorism Act 2006 s.3: "2 working days")
    WORKING_DAYS_AFTER = "working_days_after"


class ResumeRule(StrEnum):
    """What a wait for clarification does to a clock (its pause rule)."""

    NONE = "none"  # the clock runs on: the law allows no pause (Turkey's Law 5651)
    EXTEND = "extend"  # the time left at the pause is granted again from the resume
    RESTART = "restart"  # the full duration starts again (TCO Art. 3(8))


class PauseReason(StrEnum):
    """Why a clock is paused."""

    CLARIFICATION = "clarification"  # the platform asked the agency a question
    # The platform cannot comply for reasons it is not answerable for (TCO Art. 3(7)):
    # only rules that allow it pause, and they start again in full once it ends.
    FORCE_MAJEURE = "force_majeure"


class Basis(StrEnum):
    """Where a policy's deadline comes from."""

    LAW = "law"  # a legal regime: its pause rule and citation win a tie
    PLATFORM = "platform"  # the platform's own commitment (a floor such as emergency)


@dataclass(frozen=True)
class TargetRule:
    """How one target's deadline is computed.

    ``duration`` is wall time for ``elapsed``, working time for ``business`` (one business
    day is a calendar's ``closes - opens``, 8 h by default: see :data:`BUSINESS_DAY`),
    whole days for ``working_days_after`` (each one a working day) and ``timedelta(0)``
    for ``end_of_day``, which uses ``cutoff`` (local time) instead. ``resume`` is the
    pause rule for a clarification; ``force_majeure`` lets the clock pause while the
    platform cannot comply for reasons beyond its control.

    Raises:
        ValueError: (on construction) if the duration or cut-off does not fit the kind.
    """

    kind: ClockKind
    duration: timedelta
    cutoff: time | None = None
    resume: ResumeRule = ResumeRule.EXTEND
    force_majeure: bool = False

    def __post_init__(self) -> None:
        if self.kind is ClockKind.END_OF_DAY:
            if self.cutoff is None or self.duration:
                raise ValueError("an end_of_day rule needs a cutoff and a zero duration")
        elif self.cutoff is not None or self.duration <= timedelta(0):
            raise ValueError(f"a {self.kind} rule needs a positive duration and no cutoff")
        elif self.kind is ClockKind.WORKING_DAYS_AFTER and self.duration % timedelta(days=1):
            raise ValueError("a working_days_after rule counts whole days")

    def pauses_for(self, reason: PauseReason) -> bool:
        """Whether a clock under this rule stops counting for ``reason``."""
        if reason is PauseReason.FORCE_MAJEURE:
            return self.force_majeure
        return self.resume is not ResumeRule.NONE


#: One business day of the default calendars (09:00-17:00).
BUSINESS_DAY = timedelta(hours=8)

#: Fractions of the allowance at which alerts fire; 1.0 is the breach.
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.5, 0.75, 0.9, 1.0)

EU_MEMBER_STATES: frozenset[str] = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})

#: Named groups a policy may use in place of country codes. Greece is ISO "GR" (the EU's
#: own "EL" is not an ISO code). A request filed under the group itself (an EU body's
#: order, jurisdiction "EU") matches the group's policies too.
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

    A policy is in force for requests received in ``[valid_from, valid_to)`` (either end
    open when ``None``), so a change in the law is a new policy and old requests keep the
    rule they were received under. ``basis`` says whether it is law or the platform's own
    commitment; ``instrument`` and ``article`` cite it (``source`` is the citation as one
    line). ``actions`` limits it to requests asking for one of those actions (a removal
    regime to removals, an e-Evidence production order to disclosures); a request that
    names no action asks for a removal (:data:`REMOVE`). ``holiday_categories`` and the
    calendar fields say which calendar its business and working-day clocks count in.

    Raises:
        ValueError: (on construction) if it sets no target, the thresholds are not
            positive and strictly increasing, a validity bound is naive or they are out of
            order, or a holiday category is unknown.
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
    basis: Basis = Basis.LAW
    instrument: str = ""
    article: str = ""
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    actions: frozenset[str] | None = None
    holiday_categories: tuple[str, ...] = ("public",)
    calendar_country: str | None = None
    calendar_subdivision: str | None = None
    _codes: frozenset[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError(f"policy {self.code!r} sets no target")
        _check_thresholds(self.thresholds)
        for bound in (self.valid_from, self.valid_to):
            if bound is not None:
                require_aware(bound, "a validity bound")
        if (self.valid_from is not None and self.valid_to is not None
                and self.valid_from >= self.valid_to):
            raise ValueError(f"policy {self.code!r} ends before it begins")
        unknown = set(self.holiday_categories) - set(HOLIDAY_CATEGORIES)
        if unknown:
            raise ValueError(f"unknown holiday categories {sorted(unknown)}")
        # A read-only copy: policies are shared module constants.
        object.__setattr__(self, "targets", MappingProxyType(dict(self.targets)))
        codes = None
        if self.jurisdictions is not None:
            named = {code.upper() for code in self.jurisdictions}
            codes = expand(named) | (named & JURISDICTION_GROUPS.keys())
        object.__setattr__(self, "_codes", codes)

    def matches(self, jurisdiction: str, category: str, priority: str,
                action: str | None = None) -> bool:
        """Whether a request from ``jurisdiction`` (ISO code, or a group such as "EU")
        with these codes is covered (whatever the date: see :meth:`in_force`)."""
        return (
            (self._codes is None or jurisdiction.upper() in self._codes)
            and (self.categories is None or category in self.categories)
            and category not in self.exclude_categories
            and (self.priorities is None or priority in self.priorities)
            and (self.actions is None or (action or REMOVE) in self.actions)
        )

    def in_force(self, received_at: datetime) -> bool:
        """Whether the policy applies to a request received at ``received_at``.

        Raises:
            ValueError: if ``received_at`` is naive.
        """
        at = require_aware(received_at, "received_at")
        return ((self.valid_from is None or self.valid_from <= at)
                and (self.valid_to is None or at < self.valid_to))


#: What a request asks the platform to do (``codes.RequestedAction``, recorded at filing).
#: A request that names none (filed before it was asked) is a takedown, as every request
#: was then.
REMOVE = "remove"
WITHHOLD_IN_COUNTRY = "withhold_in_country"
PRESERVE_DATA = "preserve_data"
DISCLOSE_DATA = "disclose_data"
#: The actions of the content regimes (removal and blocking orders); the e-Evidence
#: production orders ask for data instead.
CONTENT_ACTIONS: frozenset[str] = frozenset({REMOVE, WITHHOLD_IN_COUNTRY})


def _elapsed(duration: timedelta, resume: ResumeRule = ResumeRule.EXTEND, *,
             force_majeure: bool = False) -> TargetRule:
    return TargetRule(ClockKind.ELAPSED, duration, resume=resume, force_majeure=force_majeure)


def _business_days(days: int) -> TargetRule:
    return TargetRule(ClockKind.BUSINESS, days * BUSINESS_DAY)


def _local_midnight(zone: str, year: int, month: int, day: int) -> datetime:
    """The start of a day in force in one place, as aware UTC (laws take effect locally)."""
    return datetime(year, month, day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


_MR5_URGENT = frozenset({Category.TERRORISM, Category.CHILD_SEXUAL_ABUSE, Category.PUBLIC_ORDER})
_MR5_URL = (
    "https://jdih.kominfo.go.id/produk_hukum/view/id/759/t/"
    "peraturan+menteri+komunikasi+dan+informatika+nomor+5+tahun+2020"
)
_MR5 = "Permenkominfo 5/2020 (MR5), Ministry of Communication and Digital Affairs (Komdigi)"
#: Personal-rights matters: after the annulment of Art. 9 not a Law 5651 decision with
#: 4 hours, but individuals' applications a social network provider answers in 48 h.
_TR_PERSONAL = frozenset({Category.DEFAMATION, Category.PRIVACY, Category.IMPERSONATION})
_TR_URL = "https://www.mevzuat.gov.tr/mevzuat?MevzuatNo=5651&MevzuatTur=1&MevzuatTertip=5"
_IN_URL = ("https://www.meity.gov.in/writereaddata/files/"
           "Intermediary_Guidelines_and_Digital_Media_Ethics_Code_Rules-2021.pdf")
_IN_RULES = "IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021"
#: G.S.R. 120(E), notified 10 Feb 2026, in force from 20 Feb 2026 (India, UTC+05:30).
_IN_AMENDED = _local_midnight("Asia/Kolkata", 2026, 2, 20)
_NCII = frozenset({Category.INTIMATE_IMAGERY})
_E_EVIDENCE_FROM = _local_midnight("Europe/Brussels", 2026, 8, 18)

#: DESIGN.md §4, in table order. Operators can edit them; these are the shipped defaults
#: (migration c9c16c0324a9 loads them, so no deployment runs without policies).
DEFAULT_POLICIES: tuple[Policy, ...] = (
    Policy(
        code="emergency",
        name="Emergency (threat to life)",
        priorities=frozenset({Priority.EMERGENCY}),
        targets={
            Target.ACKNOWLEDGE: _elapsed(timedelta(minutes=15)),
            Target.RESOLVE: _elapsed(timedelta(hours=1)),
        },
        basis=Basis.PLATFORM,
        source="Platform commitment: emergency requests are handled around the clock",
    ),
    Policy(
        code="eu-tco-terrorism",
        name="EU terrorist content removal order",
        jurisdictions=frozenset({"EU"}),
        categories=frozenset({Category.TERRORISM}),
        # The hour runs again in full once the clarification arrives (Art. 3(8)), and
        # from the end of a force majeure (Art. 3(7)).
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=1), ResumeRule.RESTART,
                                          force_majeure=True)},
        instrument="Regulation (EU) 2021/784 (TCO)",
        article="Art. 3(3), 3(7)-(8)",
        valid_from=_local_midnight("Europe/Brussels", 2022, 6, 7),
        source="Regulation (EU) 2021/784 (TCO) Art. 3(3), 3(7)-(8)",
        source_url="https://eur-lex.europa.eu/eli/reg/2021/784/oj",
    ),
    Policy(
        code="fr-lcen-6-1",
        name="France administrative removal request (terrorism, child abuse material)",
        jurisdictions=frozenset({"FR"}),
        categories=frozenset({Category.TERRORISM, Category.CHILD_SEXUAL_ABUSE}),
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=24))},
        instrument="Loi n° 2004-575 (LCEN)",
        article="art. 6-1",
        source="Loi n° 2004-575 (LCEN) art. 6-1: removal within 24 hours",
        source_url="https://www.legifrance.gouv.fr/loda/id/JORFTEXT000000801164",
    ),
    Policy(
        code="eu-dsa-orders",
        name="EU order to act against illegal content",
        jurisdictions=frozenset({"EU"}),
        exclude_categories=frozenset({Category.TERRORISM}),
        # DSA Art. 9 says "without undue delay" and sets no hours: 24 h is our target.
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=24))},
        instrument="Regulation (EU) 2022/2065 (DSA)",
        article="Art. 9",
        valid_from=_local_midnight("Europe/Brussels", 2024, 2, 17),
        source="Regulation (EU) 2022/2065 (DSA) Art. 9 (platform target; no hours in law)",
        source_url="https://eur-lex.europa.eu/eli/reg/2022/2065/oj",
    ),
    Policy(
        code="eu-e-evidence",
        name="EU production order (electronic evidence)",
        jurisdictions=frozenset({"EU"}),
        actions=frozenset({DISCLOSE_DATA}),
        targets={Target.RESOLVE: _elapsed(timedelta(days=10))},
        instrument="Regulation (EU) 2023/1543 (e-Evidence)",
        article="Art. 10(2)",
        valid_from=_E_EVIDENCE_FROM,
        source="Regulation (EU) 2023/1543 Art. 10(2): production order, 10 days",
        source_url="https://eur-lex.europa.eu/eli/reg/2023/1543/oj",
    ),
    Policy(
        code="eu-e-evidence-emergency",
        name="EU production order in an emergency",
        jurisdictions=frozenset({"EU"}),
        actions=frozenset({DISCLOSE_DATA}),
        priorities=frozenset({Priority.EMERGENCY}),
        targets={Target.RESOLVE: _elapsed(timedelta(hours=8))},
        instrument="Regulation (EU) 2023/1543 (e-Evidence)",
        article="Art. 10(4)",
        valid_from=_E_EVIDENCE_FROM,
        source="Regulation (EU) 2023/1543 Art. 10(4): emergency production order, 8 hours",
        source_url="https://eur-lex.europa.eu/eli/reg/2023/1543/oj",
    ),
    Policy(
        code="id-mr5-urgent",
        name="Indonesia urgent takedown (terrorism, child sexual abuse, public order)",
        jurisdictions=frozenset({"ID"}),
        categories=_MR5_URGENT,
        # Urgent by law whatever priority the agency chose, so no priority filter.
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=4))},
        instrument=_MR5,
        article="Art. 14(3), 15(8), 16(9)",
        source=f"{_MR5} Art. 14(3) (urgent), Art. 15(8) / 16(9) (4 hours)",
        source_url=_MR5_URL,
    ),
    Policy(
        code="id-mr5",
        name="Indonesia takedown request",
        jurisdictions=frozenset({"ID"}),
        exclude_categories=_MR5_URGENT,
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=24))},
        instrument=_MR5,
        article="Art. 15(6), 16(7)",
        source=f"{_MR5} Art. 15(6) / 16(7) (1 x 24 hours)",
        source_url=_MR5_URL,
    ),
    Policy(
        code="tr-5651-art8",
        name="Turkey access-blocking or removal decision under Law 5651 Arts. 8, 8/A",
        jurisdictions=frozenset({"TR"}),
        exclude_categories=_TR_PERSONAL | {Category.INTELLECTUAL_PROPERTY},
        # "derhal ve en geç dört saat": at once and within four hours, with no pause.
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=4), ResumeRule.NONE)},
        instrument="Law No. 5651",
        article="Arts. 8, 8/A",
        source="Law No. 5651 Arts. 8, 8/A: at once, at the latest within 4 hours (no pause)",
        source_url=_TR_URL,
    ),
    Policy(
        code="tr-5651-add4",
        name="Turkey social network provider answering applications by individuals",
        jurisdictions=frozenset({"TR"}),
        categories=_TR_PERSONAL,
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=48))},
        instrument="Law No. 5651",
        article="Additional Art. 4",
        source="Law No. 5651 Additional Art. 4: answer within 48 hours",
        source_url=_TR_URL,
    ),
    Policy(
        code="in-it-rules-2021",
        name="India court order or government notice (received before 20 Feb 2026)",
        jurisdictions=frozenset({"IN"}),
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=36))},
        instrument=_IN_RULES,
        article="r. 3(1)(d)",
        valid_from=_local_midnight("Asia/Kolkata", 2021, 2, 25),
        valid_to=_IN_AMENDED,
        source=f"{_IN_RULES} r. 3(1)(d) (2021 text): 36 hours",
        source_url=_IN_URL,
    ),
    Policy(
        code="in-it-rules-2021-ncii",
        name="India intimate imagery complaint (received before 20 Feb 2026)",
        jurisdictions=frozenset({"IN"}),
        categories=_NCII,
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=24))},
        instrument=_IN_RULES,
        article="r. 3(2)(b)",
        valid_from=_local_midnight("Asia/Kolkata", 2021, 2, 25),
        valid_to=_IN_AMENDED,
        source=f"{_IN_RULES} r. 3(2)(b) (2021 text): 24 hours",
        source_url=_IN_URL,
    ),
    Policy(
        code="in-it-rules-2026",
        name="India court order or government notice (received from 20 Feb 2026)",
        jurisdictions=frozenset({"IN"}),
        exclude_categories=_NCII,
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=3))},
        instrument=f"{_IN_RULES}, as amended by G.S.R. 120(E)",
        article="r. 3(1)(d)",
        valid_from=_IN_AMENDED,
        source=f"{_IN_RULES} r. 3(1)(d) as amended by G.S.R. 120(E) of 10 Feb 2026 "
               "(in force 20 Feb 2026): 3 hours",
        source_url=_IN_URL,
    ),
    Policy(
        code="in-it-rules-2026-ncii",
        name="India non-consensual intimate imagery (received from 20 Feb 2026)",
        jurisdictions=frozenset({"IN"}),
        categories=_NCII,
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=2))},
        instrument=f"{_IN_RULES}, as amended by G.S.R. 120(E)",
        article="r. 3(1)(d), 3(2)(b)",
        valid_from=_IN_AMENDED,
        source=f"{_IN_RULES} as amended by G.S.R. 120(E) of 10 Feb 2026 (in force "
               "20 Feb 2026): non-consensual intimate imagery, 2 hours",
        source_url=_IN_URL,
    ),
    Policy(
        code="au-osa-removal",
        name="Australia removal notice (class 1 material)",
        jurisdictions=frozenset({"AU"}),
        categories=frozenset({Category.TERRORISM, Category.CHILD_SEXUAL_ABUSE,
                              Category.INCITEMENT_TO_VIOLENCE}),
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: _elapsed(timedelta(hours=24))},
        instrument="Online Safety Act 2021 (Cth)",
        article="ss 109, 110",
        valid_from=_local_midnight("Australia/Sydney", 2022, 1, 23),
        source="Online Safety Act 2021 (Cth) ss 109, 110: within 24 hours",
        source_url="https://www.legislation.gov.au/C2021A00076/latest/text",
    ),
    Policy(
        code="gb-ta2006-s3",
        name="United Kingdom notice under the Terrorism Act 2006 s.3",
        jurisdictions=frozenset({"GB"}),
        categories=frozenset({Category.TERRORISM}),
        # Two working days from the day after the notice; a question does not stop them.
        actions=CONTENT_ACTIONS,
        targets={Target.RESOLVE: TargetRule(ClockKind.WORKING_DAYS_AFTER, timedelta(days=2),
                                            resume=ResumeRule.NONE)},
        instrument="Terrorism Act 2006",
        article="s. 3(3)-(4), working day: s. 3(9)",
        # s.3(9): a bank holiday "in any part of the United Kingdom" is no working day.
        calendar_subdivision=ALL_SUBDIVISIONS,
        source="Terrorism Act 2006 s. 3: 2 working days (any UK bank holiday, Christmas "
               "Day and Good Friday excluded)",
        source_url="https://www.legislation.gov.uk/ukpga/2006/11/section/3",
    ),
    Policy(
        code="default",
        name="Platform default",
        targets={
            Target.ACKNOWLEDGE: _business_days(1),
            Target.RESOLVE: _business_days(5),
            Target.DISPUTE: _business_days(5),
        },
        basis=Basis.PLATFORM,
        # Half-day eves close at their hour; days the government takes off (Indonesia's
        # cuti bersama) are days off, where the holidays package has them.
        holiday_categories=("public", "half_day", "government"),
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
    if rule.kind is ClockKind.WORKING_DAYS_AFTER:
        return calendar.working_days_after(start, rule.duration.days)
    assert rule.cutoff is not None  # TargetRule guarantees it for END_OF_DAY
    return calendar.end_of_day(start, rule.cutoff)


@dataclass(frozen=True)
class Match:
    """One policy that applies to a request's target, and the deadline it sets."""

    policy: Policy
    rule: TargetRule
    due_at: datetime


@dataclass(frozen=True)
class Governing:
    """The policy whose rule sets a target's deadline for one request, and the other
    policies that apply to it too (``others``, by deadline)."""

    target: Target
    policy: Policy
    rule: TargetRule
    due_at: datetime
    others: tuple[Match, ...] = ()

    @property
    def matches(self) -> tuple[Match, ...]:
        """Every applicable policy, the governing one first."""
        return (Match(self.policy, self.rule, self.due_at), *self.others)


def matching(
    policies: Iterable[Policy],
    target: Target,
    *,
    jurisdiction: str,
    category: str,
    priority: str,
    start: datetime,
    calendar: BusinessCalendar,
    received_at: datetime | None = None,
    action: str | None = None,
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> list[Match]:
    """Every policy that sets ``target`` for this request, the one that governs first.

    A policy applies when it matches the request and was in force at ``received_at``
    (the time of receipt; ``start`` when not given), whatever time the clock starts.
    The earliest deadline governs; on a tie, law wins over a platform commitment (so an
    emergency floor never hides the legal regime's pause rule and citation), then the
    policy that comes first in ``policies``. ``calendars`` maps a policy code to the
    calendar its clocks count in, where it is not ``calendar``.

    Raises:
        ValueError: if ``start`` or ``received_at`` is naive.
    """
    received = received_at if received_at is not None else start
    require_aware(received, "received_at")
    found: list[tuple[datetime, bool, int, Match]] = []
    for index, policy in enumerate(policies):
        rule = policy.targets.get(target)
        if (rule is None or not policy.matches(jurisdiction, category, priority, action)
                or not policy.in_force(received)):
            continue
        own = calendars.get(policy.code, calendar) if calendars else calendar
        due = deadline(rule, start, own)
        found.append((due, policy.basis is not Basis.LAW, index, Match(policy, rule, due)))
    found.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in found]


def governing(
    policies: Iterable[Policy],
    target: Target,
    *,
    jurisdiction: str,
    category: str,
    priority: str,
    start: datetime,
    calendar: BusinessCalendar,
    received_at: datetime | None = None,
    action: str | None = None,
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> Governing | None:
    """The policy that governs ``target`` (see :func:`matching`) with the others that
    apply; ``None`` when no applicable policy sets the target.

    Raises:
        ValueError: if ``start`` or ``received_at`` is naive.
    """
    found = matching(policies, target, jurisdiction=jurisdiction, category=category,
                     priority=priority, start=start, calendar=calendar,
                     received_at=received_at, action=action, calendars=calendars)
    if not found:
        return None
    first = found[0]
    return Governing(target, first.policy, first.rule, first.due_at, tuple(found[1:]))


@dataclass(frozen=True)
class Bound:
    """Another deadline that limits a clock: one applicable policy's own run.

    A clock keeps, besides the run that governs it, the runs of the legal regimes that
    also apply (:func:`start_governed`). Each pauses and resumes under its own rule, and
    whichever is due first governs: so a platform floor that pauses never carries a
    request past a law that does not.
    """

    policy: str
    rule: TargetRule
    started_at: datetime
    due_at: datetime
    allowance: timedelta
    paused_at: datetime | None = None


@dataclass(frozen=True)
class Clock:
    """One target's clock for one request: the fields the portal stores in a row.

    ``started_at`` is the start of the current run (receipt, or the resume after a
    ``restart``). ``allowance`` is the run's full duration (wall time, or working time for
    ``business``). ``alert_times[i]`` is when ``thresholds[i]`` of the allowance is used,
    precomputed so the sweep needs no calendar; ``fired`` counts the thresholds already
    fired in this run. A clock stopped while paused keeps ``paused_at``: its readings stay
    frozen at the pause.

    ``policy`` names the policy whose run this is, and ``bounds`` the runs of the other
    legal regimes that limit it (see :class:`Bound`). ``pause_reason`` is set while a
    pause is under way (the clock itself may be running meanwhile, under a law that
    does not pause). ``clamped`` says the deadline was brought forward to another's (an
    acknowledgement is never due after the resolution).

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
    policy: str = ""
    bounds: tuple[Bound, ...] = ()
    pause_reason: PauseReason | None = None
    clamped: bool = False

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
    def waiting(self) -> bool:
        """A pause is under way (for a clarification or a force majeure) and not stopped."""
        return self.pause_reason is not None and self.stopped_at is None

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
    if rule.kind in (ClockKind.END_OF_DAY, ClockKind.WORKING_DAYS_AFTER):
        return due_at - start
    return rule.duration


def _calendar_of(policy: str, calendar: BusinessCalendar,
                 calendars: Mapping[str, BusinessCalendar] | None) -> BusinessCalendar:
    return calendars.get(policy, calendar) if calendars else calendar


def start_clock(
    target: Target,
    rule: TargetRule,
    thresholds: tuple[float, ...],
    start: datetime,
    calendar: BusinessCalendar,
    *,
    policy: str = "",
    bounds: tuple[Bound, ...] = (),
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
        policy=policy,
        bounds=bounds,
    )


def start_governed(
    found: Governing,
    start: datetime,
    calendar: BusinessCalendar,
    *,
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> Clock:
    """A new running clock from ``start`` under the governing policy, limited by every
    other legal regime that applies (platform commitments that do not govern at the start
    never do later: they are floors, and the law's pause rule stands).

    ``found``'s deadlines must have been computed from ``start``.

    Raises:
        ValueError: if ``start`` is naive.
    """
    start = require_aware(start, "start").astimezone(UTC)
    bounds = tuple(
        Bound(m.policy.code, m.rule, start, m.due_at, _allowance(m.rule, start, m.due_at))
        for m in found.others if m.policy.basis is Basis.LAW)
    return start_clock(found.target, found.rule, found.policy.thresholds, start,
                       _calendar_of(found.policy.code, calendar, calendars),
                       policy=found.policy.code, bounds=bounds)


def _as_bound(clock: Clock) -> Bound:
    return Bound(clock.policy, clock.rule, clock.started_at, clock.due_at, clock.allowance,
                 clock.paused_at)


def _governed_by(
    clock: Clock,
    runs: list[Bound],
    *,
    moved: dict[int, str],
    calendar: BusinessCalendar,
    calendars: Mapping[str, BusinessCalendar] | None,
    pause_reason: PauseReason | None,
    paused_total: timedelta,
) -> Clock:
    """The clock governed by whichever of ``runs`` (the clock's own first) is due first
    among those running (the earliest of all when every one is paused).

    ``moved`` says what happened to each run that changed: ``"restarted"`` or
    ``"extended"``. Fired thresholds stay fired unless the governing run restarted.
    """
    order = sorted(range(len(runs)), key=lambda i: (runs[i].paused_at is not None,
                                                    runs[i].due_at, i))
    chosen = order[0]
    head = runs[chosen]
    bounds = tuple(runs[i] for i in range(len(runs)) if i != chosen)
    own = _calendar_of(head.policy, calendar, calendars)
    fresh = _alert_times(head.rule.kind, clock.thresholds, head.due_at, head.allowance, own)
    change = moved.get(chosen)
    if change == "restarted":
        alert_times, fired = fresh, 0
    elif chosen == 0 and change is None:
        alert_times, fired = clock.alert_times, clock.fired
    elif chosen == 0 and head.rule.kind is not ClockKind.BUSINESS:
        # Extended in wall time: every threshold to come moves by the pause.
        shift = head.due_at - clock.due_at
        alert_times = clock.alert_times[: clock.fired] + tuple(
            t + shift for t in clock.alert_times[clock.fired :])
        fired = clock.fired
    else:
        # Fired alerts are history: keep their times; place only those still to come.
        fired = min(clock.fired, len(fresh))
        alert_times = clock.alert_times[:fired] + fresh[fired:]
    return replace(
        clock,
        rule=head.rule,
        policy=head.policy,
        started_at=head.started_at,
        due_at=head.due_at,
        allowance=head.allowance,
        alert_times=alert_times,
        fired=fired,
        paused_at=head.paused_at,
        bounds=bounds,
        pause_reason=pause_reason,
        paused_total=paused_total,
    )


def pause(
    clock: Clock,
    now: datetime,
    *,
    reason: PauseReason = PauseReason.CLARIFICATION,
    calendar: BusinessCalendar | None = None,
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> Clock:
    """The clock as a pause for ``reason`` begins at ``now``.

    Each run (the governing one and each bound) pauses if its rule allows it
    (:meth:`TargetRule.pauses_for`); a run whose law allows no pause runs on and, when
    it is the one due first, governs. When no run pauses the clock is returned
    unchanged: the law allows no pause. ``calendar`` is needed only when another run
    comes to govern.

    Raises:
        ValueError: if ``now`` is naive or before the run started, the clock is stopped
            or already in a pause, or a business run comes to govern and no calendar
            is given.
    """
    now = require_aware(now, "now").astimezone(UTC)
    if clock.stopped_at is not None:
        raise ValueError(f"the {clock.target} clock is stopped")
    if clock.pause_reason is not None or clock.paused_at is not None:
        raise ValueError(f"the {clock.target} clock is already paused")
    if now < clock.started_at:
        raise ValueError("a clock cannot pause before its run started")
    runs = [_as_bound(clock), *clock.bounds]
    stopping = [i for i, run in enumerate(runs) if run.rule.pauses_for(reason)]
    if not stopping:
        return clock
    for i in stopping:
        runs[i] = replace(runs[i], paused_at=now)
    if runs[0].paused_at is None or (len(stopping) == len(runs)):
        # The governing run goes on, or every run pauses: nothing else to place.
        head = runs[0]
        return replace(clock, paused_at=head.paused_at,
                       bounds=tuple(runs[1:]), pause_reason=reason)
    if calendar is None:
        raise ValueError("a clock handed to another run needs its calendar")
    return _governed_by(clock, runs, moved={}, calendar=calendar, calendars=calendars,
                        pause_reason=reason, paused_total=clock.paused_total)


def _resumed(run: Bound, now: datetime, calendar: BusinessCalendar, *,
             restart: bool) -> tuple[Bound, str | None]:
    """One run after the pause ends at ``now``, and what happened to it."""
    paused_at = run.paused_at
    if paused_at is None:
        return run, None
    if restart or run.rule.resume is ResumeRule.RESTART:
        due = deadline(run.rule, now, calendar)
        restarted = Bound(run.policy, run.rule, now, due, _allowance(run.rule, now, due))
        return restarted, "restarted"
    if run.rule.kind is ClockKind.BUSINESS:
        left = _working_left(calendar, paused_at, run.due_at)
        if left <= timedelta(0):
            # Breached before the pause: keep the overshoot it had, counted from the
            # last working instant (from the next opening the breach would look undone).
            due = calendar.add_working_time(calendar.latest_working_instant(now), left)
        else:
            due = calendar.add_working_time(now, left)
    else:
        due = run.due_at + (now - paused_at)
    return replace(run, due_at=due, paused_at=None), "extended"


def resume(
    clock: Clock,
    now: datetime,
    calendar: BusinessCalendar,
    *,
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> Clock:
    """The clock as the pause under way ends at ``now``.

    Each paused run resumes under its own rule: ``extend`` grants the time that was
    left at the pause again from ``now`` (wall time for elapsed, end-of-day and
    working-day clocks, working time for business ones), and fired thresholds stay
    fired; ``restart`` begins a new run from ``now`` with the full duration, whose
    thresholds fire again. After a force majeure every paused run restarts (TCO Art.
    3(7): the time starts to run once the reasons have ceased). Then the run due first
    governs. The time the clock itself stood still is added to ``paused_total``.

    Raises:
        ValueError: if ``now`` is naive or before the pause, or no pause is under way,
            or the clock is stopped.
    """
    now = require_aware(now, "now").astimezone(UTC)
    if clock.stopped_at is not None or not (clock.waiting or clock.paused_at is not None):
        raise ValueError(f"the {clock.target} clock is not paused")
    runs = [_as_bound(clock), *clock.bounds]
    began = min((r.paused_at for r in runs if r.paused_at is not None), default=now)
    if now < began:
        raise ValueError("a clock cannot resume before it paused")
    restart = clock.pause_reason is PauseReason.FORCE_MAJEURE
    moved: dict[int, str] = {}
    for i, run in enumerate(runs):
        runs[i], change = _resumed(run, now, _calendar_of(run.policy, calendar, calendars),
                                   restart=restart)
        if change is not None:
            moved[i] = change
    paused_total = clock.paused_total
    if clock.paused_at is not None:
        paused_total += now - clock.paused_at
    return _governed_by(clock, runs, moved=moved, calendar=calendar, calendars=calendars,
                        pause_reason=None, paused_total=paused_total)


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


def clamp(clock: Clock, latest: datetime) -> Clock:
    """The clock due no later than ``latest``: an acknowledgement is never due after the
    resolution. A clock due by then is returned unchanged; otherwise it becomes a wall
    clock from its start to ``latest``, marked ``clamped``, its thresholds placed anew
    (those already fired stay fired).

    Raises:
        ValueError: if ``latest`` is naive or not after the clock's start.
    """
    latest = require_aware(latest, "latest").astimezone(UTC)
    if clock.due_at <= latest:
        return clock
    if latest <= clock.started_at:
        raise ValueError("a clock cannot be due before it started")
    allowance = latest - clock.started_at
    rule = TargetRule(ClockKind.ELAPSED, allowance, resume=clock.rule.resume,
                      force_majeure=clock.rule.force_majeure)
    fresh = tuple(_threshold_time(ClockKind.ELAPSED, latest, allowance, f, None)
                  for f in clock.thresholds)
    return replace(clock, rule=rule, due_at=latest, allowance=allowance,
                   alert_times=clock.alert_times[: clock.fired] + fresh[clock.fired :],
                   bounds=(), clamped=True)


def crossed(clock: Clock, now: datetime) -> list[float]:
    """Thresholds crossed by ``now`` that have not fired yet, in order.

    A fraction is crossed at its time; the breach (1.0) only after the deadline, since
    a deadline met exactly at ``due_at`` is met. Empty while the clock is paused or
    stopped.

    Raises:
        ValueError: if ``now`` is naive.
    """
    now = require_aware(now, "now").astimezone(UTC)
    if not clock.running:
        return []
    index = clock.fired
    # alert_times never decrease, so the crossed ones are a run from `fired`.
    while index < len(clock.alert_times) and (
            clock.alert_times[index] < now
            or (clock.alert_times[index] == now and clock.thresholds[index] < 1.0)):
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


class Reading(Protocol):
    """What a reading needs of a clock: its deadline and when it paused or stopped (a
    :class:`Clock`, or a stored row read without building one: the API's detail)."""

    @property
    def due_at(self) -> datetime: ...

    @property
    def paused_at(self) -> datetime | None: ...

    @property
    def stopped_at(self) -> datetime | None: ...


def _reading_time(clock: Reading, now: datetime) -> datetime:
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


def remaining(clock: Reading, now: datetime) -> timedelta:
    """Wall time from ``now`` to the deadline, negative once breached.

    While paused: what was left at the pause (and once stopped: at the stop).

    Raises:
        ValueError: if ``now`` is naive.
    """
    return clock.due_at - _reading_time(clock, now)


def breached(clock: Reading, now: datetime) -> bool:
    """Whether the deadline had passed (``due_at < now``; frozen like remaining).

    Reaching ``due_at`` itself is not a breach: a clock stopped at ``due_at`` met it.

    Raises:
        ValueError: if ``now`` is naive.
    """
    return _reading_time(clock, now) > clock.due_at


def met(clock: Clock) -> bool | None:
    """Whether a stopped clock met its deadline (stopped at or before ``due_at``, or
    paused within it); ``None`` while it runs.
    """
    if clock.stopped_at is None:
        return None
    return (clock.paused_at or clock.stopped_at) <= clock.due_at


class CountFrom(StrEnum):
    """Where a reclassified request's clocks count from (the reviewer chooses)."""

    RECEIPT = "receipt"  # as if the new classification had been there from the start
    RECLASSIFICATION = "reclassification"  # a new run from the moment of the change


def recount(
    clock: Clock,
    found: Governing,
    *,
    start: datetime,
    calendar: BusinessCalendar,
    calendars: Mapping[str, BusinessCalendar] | None = None,
    keep_extension: bool = True,
) -> Clock:
    """The clock counted again under ``found`` from ``start`` (the request was
    reclassified, or an earlier receipt was recorded).

    ``found``'s deadlines must be computed from ``start``. With ``keep_extension`` the
    time pauses had already granted the old run is granted the new one too (counting
    from the receipt); without it the new run stands alone (counting from the
    reclassification). Thresholds already fired stay fired, and a pause under way goes
    on under the new rules (a law that allows no pause keeps the clock running).

    Raises:
        ValueError: if ``start`` is naive, or the clock is stopped.
    """
    if clock.stopped_at is not None:
        raise ValueError(f"the {clock.target} clock is stopped")
    start = require_aware(start, "start").astimezone(UTC)
    own = _calendar_of(found.policy.code, calendar, calendars)
    fresh = start_governed(found, start, calendar, calendars=calendars)
    if keep_extension:
        old_calendar = _calendar_of(clock.policy, calendar, calendars)
        extension = clock.due_at - deadline(clock.rule, clock.started_at, old_calendar)
        if extension > timedelta(0):
            fresh = replace(fresh, due_at=fresh.due_at + extension,
                            alert_times=tuple(t + extension for t in fresh.alert_times))
    fired = min(clock.fired, len(fresh.thresholds))
    fresh = replace(fresh, fired=fired, paused_total=clock.paused_total,
                    alert_times=clock.alert_times[:fired] + fresh.alert_times[fired:])
    if clock.pause_reason is None:
        return fresh
    paused = [r.paused_at for r in (_as_bound(clock), *clock.bounds) if r.paused_at]
    began = max(min(paused, default=start), start)
    return pause(fresh, began, reason=clock.pause_reason, calendar=own, calendars=calendars)


def filing_jurisdictions(country: str) -> tuple[str, ...]:
    """The jurisdictions an agency of ``country`` may file under: its own; an EU body
    ("EU") the EU's; an authority of a member state its own country's and the EU's (the
    TCO and e-Evidence orders are the EU's regimes, issued by national authorities)."""
    code = country.upper()
    if code in EU_MEMBER_STATES:
        return code, "EU"
    return (code,)


class Outcome(StrEnum):
    """How a stopped clock counts in compliance figures."""

    MET = "met"  # stopped at or before due_at
    BREACHED = "breached"  # stopped after due_at
    DECLINED = "declined"  # the platform declined the request: neither met nor breached
    WITHDRAWN = "withdrawn"  # the agency withdrew it: neither


def outcome(clock: Clock, resolution: str | None = None) -> Outcome | None:
    """How ``clock`` counts: ``None`` while it runs; a resolve clock of a request that
    ended declined or withdrawn (``resolution``) counts as that, whatever the time.
    """
    if clock.stopped_at is None:
        return None
    if clock.target is Target.RESOLVE and resolution in (Outcome.DECLINED, Outcome.WITHDRAWN):
        return Outcome(resolution)
    return Outcome.MET if met(clock) else Outcome.BREACHED


def calendar_key(policy: Policy, jurisdiction: str, *, agency_country: str | None = None,
                 agency_subdivision: str | None = None
                 ) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """The calendar a policy's clocks count in for one request: ``(country,
    subdivisions, holiday categories)``.

    The country is the policy's own calendar country, else the request's jurisdiction
    (an EU-wide order counts in Brussels' time zone with no holidays). The regions are
    the policy's and the filing agency's own (a Bavarian agency has Corpus Christi),
    the latter only when it is in that country.
    """
    country = (policy.calendar_country or jurisdiction).upper()
    regions = set()
    if policy.calendar_subdivision:
        regions.add(policy.calendar_subdivision.upper())
    if agency_subdivision and (agency_country or jurisdiction).upper() == country:
        regions.add(agency_subdivision.upper())
    return country, tuple(sorted(regions)), tuple(policy.holiday_categories)


def counts_in_calendar(policy: Policy) -> bool:
    """Whether any of the policy's rules needs a calendar (not wall time alone)."""
    return any(rule.kind is not ClockKind.ELAPSED for rule in policy.targets.values())


#: Builds the calendar of ``(country, subdivisions, holiday categories)``.
CalendarBuilder = Callable[[str, tuple[str, ...], tuple[str, ...]], BusinessCalendar]


def calendars_for(
    policies: Iterable[Policy],
    jurisdiction: str,
    build: CalendarBuilder,
    *,
    agency_country: str | None = None,
    agency_subdivision: str | None = None,
) -> dict[str, BusinessCalendar]:
    """The calendar of each policy that counts in one (by code), each distinct calendar
    built once (:func:`calendar_key`). Wall-clock policies need none."""
    built: dict[tuple[str, tuple[str, ...], tuple[str, ...]], BusinessCalendar] = {}
    found: dict[str, BusinessCalendar] = {}
    for policy in policies:
        if not counts_in_calendar(policy):
            continue
        key = calendar_key(policy, jurisdiction, agency_country=agency_country,
                           agency_subdivision=agency_subdivision)
        if key not in built:
            built[key] = build(*key)
        found[policy.code] = built[key]
    return found


def open_clocks(
    policies: Sequence[Policy],
    targets: Iterable[Target],
    *,
    jurisdiction: str,
    category: str,
    priority: str,
    start: datetime,
    calendar: BusinessCalendar,
    received_at: datetime | None = None,
    action: str | None = None,
    calendars: Mapping[str, BusinessCalendar] | None = None,
) -> dict[Target, tuple[Governing, Clock]]:
    """Start a clock for each of ``targets`` that some applicable policy sets, with the
    policies that govern them; an acknowledgement is never due after the resolution
    (:func:`clamp`).

    Raises:
        ValueError: if ``start`` or ``received_at`` is naive.
    """
    started: dict[Target, tuple[Governing, Clock]] = {}
    for target in targets:
        found = governing(policies, target, jurisdiction=jurisdiction, category=category,
                          priority=priority, start=start, calendar=calendar,
                          received_at=received_at, action=action, calendars=calendars)
        if found is not None:
            started[target] = (found, start_governed(found, start, calendar,
                                                     calendars=calendars))
    return clamp_acknowledgement(started)


def clamp_acknowledgement(
    clocks: dict[Target, tuple[Governing, Clock]],
) -> dict[Target, tuple[Governing, Clock]]:
    """``clocks`` with a running acknowledgement clamped to the resolution's deadline."""
    ack, resolve = clocks.get(Target.ACKNOWLEDGE), clocks.get(Target.RESOLVE)
    if ack is not None and resolve is not None and ack[1].stopped_at is None:
        clocks = {**clocks, Target.ACKNOWLEDGE: (ack[0], clamp(ack[1], resolve[1].due_at))}
    return clocks
