"""The policies and calendars a request's clocks are computed with: policy rows to and
from the pure ``workflows.sla`` policies, the shipped defaults, which policies apply to a
request, and the business calendars of its jurisdiction, its agency and each policy.
``clocks`` starts and moves the clocks with them."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Agency, HolidayOverride, LegalRequest, SlaPolicy
from workflows import calendars, sla

log = logging.getLogger(__name__)

# -- policies ---------------------------------------------------------------------------

def rule_to_json(rule: sla.TargetRule) -> dict[str, Any]:
    return {
        "kind": rule.kind.value,
        "seconds": int(rule.duration.total_seconds()),
        "cutoff": rule.cutoff.strftime("%H:%M") if rule.cutoff else None,
        "resume": rule.resume.value,
        "force_majeure": rule.force_majeure,
    }


def rule_from_json(data: Mapping[str, Any]) -> sla.TargetRule:
    """Raises: ValueError, KeyError on a malformed rule."""
    cutoff = data.get("cutoff")
    return sla.TargetRule(
        kind=sla.ClockKind(data["kind"]),
        duration=timedelta(seconds=int(data["seconds"])),
        cutoff=time.fromisoformat(cutoff) if cutoff else None,
        resume=sla.ResumeRule(data.get("resume", "extend")),
        force_majeure=bool(data.get("force_majeure", False)),
    )


def to_policy(row: SlaPolicy) -> sla.Policy:
    """The pure policy a stored row describes.

    Raises:
        ValueError, KeyError: the row holds something the pure policy refuses.
    """
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
        source_url=row.source_url or "",
        basis=sla.Basis(row.basis or sla.Basis.LAW),
        instrument=row.instrument or "",
        article=row.article or "",
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        actions=frozenset(row.actions) if row.actions is not None else None,
        holiday_categories=tuple(row.holiday_categories or ("public",)),
        calendar_country=row.calendar_country,
        calendar_subdivision=row.calendar_subdivision,
    )


def policy_row(policy: sla.Policy, position: int) -> dict[str, Any]:
    """Column values for a pure policy (used to load the defaults)."""
    return {
        "code": policy.code,
        "name": policy.name,
        "jurisdictions": _codes(policy.jurisdictions),
        "categories": _codes(policy.categories),
        "exclude_categories": _codes(policy.exclude_categories) or [],
        "priorities": _codes(policy.priorities),
        "targets": {t.value: rule_to_json(r) for t, r in policy.targets.items()},
        "thresholds": list(policy.thresholds),
        "calendar_country": policy.calendar_country,
        "calendar_subdivision": policy.calendar_subdivision,
        "holiday_categories": list(policy.holiday_categories),
        "actions": _codes(policy.actions),
        "basis": policy.basis.value,
        "instrument": policy.instrument,
        "article": policy.article,
        "valid_from": policy.valid_from,
        "valid_to": policy.valid_to,
        "source": policy.source,
        "source_url": policy.source_url,
        "position": position,
        "active": True,
    }


def _codes(values: Iterable[str] | None) -> list[str] | None:
    """Codes as plain, sorted strings (enum members as their values); ``None`` stays."""
    return sorted(str(v) for v in values) if values else None


def default_rows() -> list[dict[str, Any]]:
    """The shipped defaults as rows, in match order (``position`` 10 apart, so an
    operator can slot a policy between two)."""
    return [policy_row(policy, 10 * n) for n, policy in enumerate(sla.DEFAULT_POLICIES)]


Policies = Sequence[tuple[SlaPolicy, sla.Policy]]


def _stored_columns() -> list[sa.ColumnElement[Any]]:
    # JSON columns as their stored text: a row's values are then a hashable key, and
    # nothing is decoded for a policy already known.
    return [sa.cast(column, sa.Text).label(column.key) if isinstance(column.type, sa.JSON)
            else column for column in sa.inspect(SlaPolicy).columns]


_ACTIVE = (sa.select(*_stored_columns()).where(SlaPolicy.active.is_(True))
           .order_by(SlaPolicy.position, SlaPolicy.id))
_KEYS = tuple(column.key for column in sa.inspect(SlaPolicy).columns)
_JSON_KEYS = frozenset(column.key for column in sa.inspect(SlaPolicy).columns
                       if isinstance(column.type, sa.JSON))


def active_policies() -> list[tuple[SlaPolicy, sla.Policy]]:
    """Active policies in their configured order, with their pure form.

    The rows are read each time (one statement), so an edit counts at once; a row read
    before with the same values gives back the same pair, built once per process. The
    returned rows are copies outside the session: read them, never change or add them.
    """
    return [_policy_of(tuple(row)) for row in db.session.execute(_ACTIVE)]


@functools.lru_cache(maxsize=512)
def _policy_of(values: tuple[Any, ...]) -> tuple[SlaPolicy, sla.Policy]:
    # Every filing reads the same dozen policies: decoding them and building their pure
    # form each time was a tenth of a filing's cost (docs/BENCHMARKS.md).
    fields = {key: (json.loads(value) if key in _JSON_KEYS and value is not None else value)
              for key, value in zip(_KEYS, values, strict=True)}
    row = SlaPolicy(**fields)
    return row, to_policy(row)


def policy_names() -> dict[str, str]:
    """Every policy's stored name by its code (active or not: old clocks name old
    policies)."""
    return {code: name for code, name in db.session.execute(
        sa.select(SlaPolicy.code, SlaPolicy.name))}


def load_defaults() -> list[str]:
    """Insert the default policies that are missing (by code); return their codes.

    Existing policies are left as operators edited them.
    """
    existing = set(db.session.scalars(sa.select(SlaPolicy.code)))
    added = []
    for values in default_rows():
        if values["code"] not in existing:
            db.session.add(SlaPolicy(**values))
            added.append(values["code"])
    return added


def applicable(policies: Policies, target: sla.Target, *, jurisdiction: str, category: str,
               priority: str, received_at: datetime, action: str | None = None
               ) -> list[SlaPolicy]:
    """The active policies in force at ``received_at`` that set ``target`` for a request
    like this (no calendar needed: no deadline is computed)."""
    return [row for row, policy in policies
            if target in policy.targets and policy.in_force(received_at)
            and policy.matches(jurisdiction, category, priority, action)]


# -- calendars --------------------------------------------------------------------------

def calendar_for(country: str, when: datetime, subdivision: str | None = None, *,
                 subdivisions: Iterable[str] = (),
                 categories: Iterable[str] = ("public",),
                 overrides: Sequence[HolidayOverride] | None = None
                 ) -> calendars.BusinessCalendar:
    """The business calendar of ``country`` around ``when``, for the national holidays
    and those of the regions named (``"*"``: every region), with administrators'
    holiday overrides of the country and of those regions applied.

    ``overrides``, when given, are every override already read (:func:`all_overrides`),
    to choose from instead of reading them again.

    Raises:
        ValueError: an unknown subdivision or category.
    """
    regions = {s.upper() for s in (subdivision, *subdivisions) if s}
    every_region = calendars.ALL_SUBDIVISIONS in regions
    # Chosen here rather than by the query: the table holds a few dozen rows, and one
    # rule is kept whether the caller read them already or not.
    chosen = [o for o in (all_overrides() if overrides is None else overrides)
              if o.country == country and (
                  o.subdivision is None or every_region or o.subdivision in regions)]
    return calendars.calendar_for(
        country,
        years=range(when.year - 1, when.year + 2),
        subdivisions=sorted(regions),
        categories=tuple(categories),
        changes=[calendars.HolidayChange(o.day, o.holiday) for o in chosen],
    )


#: The country's overrides first, then the regions': a region's override of a day wins.
_OVERRIDE_ORDER = (HolidayOverride.subdivision.is_(None).desc(), HolidayOverride.id)


def all_overrides() -> list[HolidayOverride]:
    """Every holiday override, in the order :func:`calendar_for` applies them (a few
    dozen rows: read once for a request's several calendars instead of once each)."""
    return list(db.session.scalars(sa.select(HolidayOverride).order_by(*_OVERRIDE_ORDER)))


@dataclasses.dataclass(frozen=True)
class Context:
    """What one request's clocks need: the policies, its calendars and its facts."""

    policies: Policies
    calendar: calendars.BusinessCalendar
    calendars: dict[str, calendars.BusinessCalendar]
    jurisdiction: str
    category: str
    priority: str
    received_at: datetime
    #: What the order asks for (a policy may cover only some actions: e-Evidence
    #: production orders are about disclosing data, not removing content).
    action: str | None = None

    @property
    def pure(self) -> list[sla.Policy]:
        return [policy for _, policy in self.policies]

    @property
    def rows(self) -> dict[str, SlaPolicy]:
        return {row.code: row for row, _ in self.policies}


def context(req: LegalRequest, when: datetime, policies: Policies | None = None,
            agency: Agency | None = None) -> Context:
    """The policies and calendars of ``req``'s clocks around ``when``: the jurisdiction's
    calendar, and each policy's own (its categories, its region and the agency's)."""
    policies = policies if policies is not None else active_policies()
    agency = agency or req.agency
    overrides = all_overrides()

    def build(country: str, regions: tuple[str, ...], categories: tuple[str, ...]
              ) -> calendars.BusinessCalendar:
        try:
            return calendar_for(country, when, subdivisions=regions, categories=categories,
                                overrides=overrides)
        except ValueError:
            # A region of another country (a policy's, applied to a jurisdiction it does
            # not belong to): the national holidays rather than no deadline at all.
            log.warning("calendar %s %s %s unknown: national holidays used", country,
                        regions, categories)
            return calendar_for(country, when, categories=categories, overrides=overrides)

    return Context(
        policies=policies,
        calendar=calendar_for(req.jurisdiction, when, overrides=overrides),
        calendars=sla.calendars_for([p for _, p in policies], req.jurisdiction, build,
                                    agency_country=agency.country,
                                    agency_subdivision=agency.subdivision),
        jurisdiction=req.jurisdiction,
        category=req.category.value,
        priority=req.priority.value,
        received_at=req.clock_start,
        action=action_of(req),
    )


def action_of(req: LegalRequest) -> str | None:
    """What ``req``'s order asks for, as policies match it (None: not recorded)."""
    action = req.requested_action
    return None if action is None else str(getattr(action, "value", action))


def governing(ctx: Context, target: sla.Target, start: datetime) -> sla.Governing | None:
    """The policy that governs ``target`` for a run from ``start`` (with the others)."""
    return sla.governing(ctx.pure, target, jurisdiction=ctx.jurisdiction,
                         category=ctx.category, priority=ctx.priority, start=start,
                         received_at=ctx.received_at, calendar=ctx.calendar,
                         calendars=ctx.calendars, action=ctx.action)


def covers(policies: Policies, *, jurisdiction: str, category: str, priority: str,
           received_at: datetime, action: str | None = None) -> bool:
    """Whether some active policy in force sets a resolution deadline for such a
    request (the filing is refused otherwise: a request must never run without one)."""
    return bool(applicable(policies, sla.Target.RESOLVE, jurisdiction=jurisdiction,
                           category=category, priority=priority, received_at=received_at,
                           action=action))
