"""The transparency report: what agencies asked for in a period and what the platform
did, grouped by any of country, agency, requester type, category, legal instrument and
priority. Every figure is aggregated by the database (a handful of grouped queries, never
a row per request in Python), so the report costs the same whether it covers ten requests
or a hundred thousand.

Figures per group: requests received in the period; items they specify; items actioned,
by action and by territorial scope (local: some countries; global); items with no action,
by reason; items still pending; requests with at least one item actioned (the compliance
rate is their share); time to act, from receipt (the earlier receipt staff recorded, else
the filing) to the first item given effect, p50 and p90 in hours; resolution deadlines
met, breached (answered late, or open and past due) and declined; disputes and how they
ended (revised, upheld, pending).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from portal.extensions import db
from portal.models import Agency, Event, LegalRequest, RequestItem, SlaClock
from portal.models.columns import utcnow
from portal.services import report_sql
from portal.services.access import require_staff
from portal.services.actors import Actor
from portal.services.errors import Forbidden
from portal.services.periods import Period, previous_half_years
from workflows import territory
from workflows.decisions import Decision, NoActionReason, canonical
from workflows.states import RequestState, Resolution

#: What a report can be grouped by, in the order the columns are written.
GROUPS: tuple[str, ...] = ("country", "agency", "requester_type", "category", "instrument",
                           "priority")

#: The key of a request whose agency has no requester type yet.
UNSPECIFIED = "unspecified"

#: The actions a report counts, in the current vocabulary (older codes are folded in).
ACTIONS: tuple[Decision, ...] = tuple(
    d for d in Decision if d is not Decision.NO_ACTION and canonical(d) is d)
REASONS: tuple[NoActionReason, ...] = tuple(NoActionReason)


class GroupError(ValueError):
    """A grouping that is not one of :data:`GROUPS`; the message lists them."""


def parse_groups(text: str | Iterable[str]) -> tuple[str, ...]:
    """Group names from ``"country,category"`` (or a list), checked and deduplicated.

    Raises:
        GroupError: a name that is not in :data:`GROUPS`.
    """
    names = text.split(",") if isinstance(text, str) else list(text)
    found: list[str] = []
    for raw in names:
        name = raw.strip().lower().replace("-", "_")
        if not name:
            continue
        if name not in GROUPS:
            raise GroupError(f"cannot group by {raw.strip()!r}: choose from "
                             + ", ".join(GROUPS))
        if name not in found:
            found.append(name)
    return tuple(found)


def _group_column(name: str) -> Any:
    columns: dict[str, Any] = {
        "country": LegalRequest.jurisdiction,
        "agency": Agency.name,
        "requester_type": Agency.requester_type,
        "category": LegalRequest.category,
        "instrument": LegalRequest.legal_statute,
        "priority": LegalRequest.priority,
    }
    return columns[name]


def _code(value: Any) -> str:
    if value is None:
        return UNSPECIFIED
    return str(getattr(value, "value", value))


@dataclass
class Figures:
    """One group's figures (or the whole period's, with an empty ``key``)."""

    key: tuple[str, ...] = ()
    requests: int = 0
    items: int = 0
    actioned: dict[str, int] = field(default_factory=dict)
    actioned_local: int = 0
    actioned_global: int = 0
    no_action: dict[str, int] = field(default_factory=dict)
    pending_items: int = 0
    requests_actioned: int = 0
    time_to_act_p50_hours: float | None = None
    time_to_act_p90_hours: float | None = None
    sla_met: int = 0
    sla_breached: int = 0
    sla_declined: int = 0
    disputes: int = 0
    disputes_revised: int = 0
    disputes_upheld: int = 0
    disputes_pending: int = 0

    @property
    def items_actioned(self) -> int:
        return self.actioned_local + self.actioned_global

    @property
    def items_no_action(self) -> int:
        return sum(self.no_action.values())

    @property
    def compliance_rate(self) -> float | None:
        """Share of the requests with at least one item actioned (None without any)."""
        return self.requests_actioned / self.requests if self.requests else None

    def add(self, other: Figures) -> None:
        """Add ``other``'s counts (not its times: percentiles do not add)."""
        for f in fields(self):
            mine = getattr(self, f.name)
            if isinstance(mine, int):
                setattr(self, f.name, mine + getattr(other, f.name))
            elif isinstance(mine, dict):
                for k, v in getattr(other, f.name).items():
                    mine[k] = mine.get(k, 0) + v

    def as_dict(self, groups: Sequence[str]) -> dict[str, Any]:
        """The figures as plain data (the JSON download and the API)."""
        return {
            "group": dict(zip(groups, self.key, strict=True)),
            "requests": self.requests,
            "items": self.items,
            "items_actioned": self.items_actioned,
            "items_actioned_by_action": {a.value: self.actioned.get(a.value, 0)
                                         for a in ACTIONS},
            "items_actioned_by_scope": {"local": self.actioned_local,
                                        "global": self.actioned_global},
            "items_no_action": self.items_no_action,
            "items_no_action_by_reason": {r.value: self.no_action.get(r.value, 0)
                                          for r in REASONS},
            "items_pending": self.pending_items,
            "requests_actioned": self.requests_actioned,
            "compliance_rate": (None if self.compliance_rate is None
                                else round(self.compliance_rate, 4)),
            "time_to_act_hours": {"p50": self.time_to_act_p50_hours,
                                  "p90": self.time_to_act_p90_hours},
            "sla": {"met": self.sla_met, "breached": self.sla_breached,
                    "declined": self.sla_declined},
            "disputes": {"total": self.disputes, "revised": self.disputes_revised,
                         "upheld": self.disputes_upheld, "pending": self.disputes_pending},
        }


@dataclass
class Report:
    """The figures of ``period`` per group (sorted by key), their total, and the
    requests per country and per half-year that the charts draw."""

    period: Period
    groups: tuple[str, ...]
    rows: list[Figures]
    total: Figures
    by_country: list[tuple[str, int]] = field(default_factory=list)
    by_half_year: list[tuple[str, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": {"label": self.period.label, "from": self.period.first_day.isoformat(),
                       "to": self.period.last_day.isoformat()},
            "groups": list(self.groups),
            "rows": [r.as_dict(self.groups) for r in self.rows],
            "total": self.total.as_dict(()),
        }


#: The columns of the CSV download after the group columns.
FIGURE_COLUMNS: tuple[str, ...] = (
    "requests", "items", "items_actioned", "items_actioned_local", "items_actioned_global",
    *(f"actioned_{a.value}" for a in ACTIONS), "items_no_action",
    *(f"no_action_{r.value}" for r in REASONS), "items_pending", "requests_actioned",
    "compliance_rate", "time_to_act_p50_hours", "time_to_act_p90_hours", "sla_met",
    "sla_breached", "sla_declined", "disputes", "disputes_revised", "disputes_upheld",
    "disputes_pending",
)


def csv_header(report: Report) -> tuple[str, ...]:
    return ("period", *report.groups, *FIGURE_COLUMNS)


def csv_rows(report: Report) -> list[tuple[str, ...]]:
    """One line per group, then the total (its group cells say ``all``)."""
    def cells(f: Figures, key: Sequence[str]) -> tuple[str, ...]:
        def num(v: float | None) -> str:
            return "" if v is None else f"{v:g}"
        return (
            report.period.label, *key, str(f.requests), str(f.items), str(f.items_actioned),
            str(f.actioned_local), str(f.actioned_global),
            *(str(f.actioned.get(a.value, 0)) for a in ACTIONS), str(f.items_no_action),
            *(str(f.no_action.get(r.value, 0)) for r in REASONS), str(f.pending_items),
            str(f.requests_actioned),
            num(None if f.compliance_rate is None else round(f.compliance_rate, 4)),
            num(f.time_to_act_p50_hours), num(f.time_to_act_p90_hours), str(f.sla_met),
            str(f.sla_breached), str(f.sla_declined), str(f.disputes),
            str(f.disputes_revised), str(f.disputes_upheld), str(f.disputes_pending),
        )
    lines = [cells(r, r.key) for r in report.rows]
    if report.groups:
        lines.append(cells(report.total, ["all"] * len(report.groups)))
    return lines


# -- the service ------------------------------------------------------------------------

def transparency_report(actor: Actor, period: Period, groups: Sequence[str] = (), *,
                        charts: bool = False, now: datetime | None = None) -> Report:
    """The platform's transparency report for ``period``, grouped by ``groups``.

    Raises:
        Forbidden: the actor is not platform staff.
        GroupError: a group that is not in :data:`GROUPS`.
    """
    require_staff(actor)
    return build(period, parse_groups(groups), charts=charts, now=now)


def agency_figures(actor: Actor, period: Period, *, now: datetime | None = None) -> Report:
    """The actor's own agency's figures for ``period``, by category.

    Raises:
        Forbidden: the actor is not the official of an agency.
    """
    if actor.agency_id is None:
        raise Forbidden("only an agency's officials see its figures")
    return build(period, ("category",), agency_id=actor.agency_id, now=now)


def build(period: Period, groups: tuple[str, ...], *, agency_id: int | None = None,
          charts: bool = False, now: datetime | None = None) -> Report:
    """The report itself, for callers that checked who may read it (the public summary
    shows only banded totals of it)."""
    now = now or utcnow()
    keys = [_group_column(g).label(f"k_{g}") for g in groups]
    found: dict[tuple[str, ...], Figures] = {}

    def row_of(values: Sequence[Any]) -> Figures:
        key = tuple(_code(v) for v in values)
        return found.setdefault(key, Figures(key=key))

    def scoped(query: sa.Select[Any]) -> sa.Select[Any]:
        """``query`` restricted to the period's requests (and the agency's)."""
        query = query.where(LegalRequest.received_at >= period.start,
                            LegalRequest.received_at < period.end)
        if agency_id is not None:
            query = query.where(LegalRequest.agency_id == agency_id)
        return query

    n = len(keys)
    for row in db.session.execute(scoped(_request_query(keys, now)).group_by(*keys)):
        f = row_of(row[:n])
        (f.requests, f.items, f.requests_actioned, f.sla_met, f.sla_breached, f.sla_declined,
         f.disputes_pending) = (int(v or 0) for v in row[n:])
    _item_figures(scoped, keys, row_of)
    _disputes(scoped, keys, row_of)
    _times(scoped, keys, groups, row_of)
    rows = [found[k] for k in sorted(found) if found[k].requests]
    if not groups:
        total = rows[0] if rows else Figures()
    else:
        total = Figures()
        for r in rows:
            total.add(r)
        # Percentiles do not add up: the whole period's are computed on their own.
        _times(scoped, [], (), lambda _: total)
    report = Report(period, groups, rows, total)
    if charts:
        report.by_country, report.by_half_year = _chart_series(period, agency_id)
    return report


def _request_query(keys: list[Any], now: datetime) -> sa.Select[Any]:
    """Requests, items, deadlines and open disputes, from the requests and their
    resolve clock (one row each)."""
    settled = sa.func.coalesce(SlaClock.paused_at, SlaClock.stopped_at)
    counted = sa.or_(LegalRequest.resolution.is_(None),
                     LegalRequest.resolution.not_in([Resolution.DECLINED,
                                                     Resolution.WITHDRAWN]))
    met = sa.and_(SlaClock.stopped_at.is_not(None), counted, settled <= SlaClock.due_at)
    breached = sa.and_(counted, sa.or_(
        sa.and_(SlaClock.stopped_at.is_not(None), settled > SlaClock.due_at),
        sa.and_(SlaClock.stopped_at.is_(None), SlaClock.paused_at.is_(None),
                SlaClock.open_due_at < now)))
    declined = LegalRequest.resolution == Resolution.DECLINED

    def total(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    return (
        sa.select(*keys, sa.func.count(), sa.func.sum(LegalRequest.item_count),
                  total(LegalRequest.first_effect_at.is_not(None)), total(met),
                  total(breached), total(declined),
                  total(LegalRequest.state == RequestState.DISPUTED))
        .select_from(LegalRequest).join(Agency)
        .outerjoin(SlaClock, sa.and_(SlaClock.request_id == LegalRequest.id,
                                     SlaClock.target == "resolve"))
    )


def _item_figures(scoped: Any, keys: list[Any], row_of: Any) -> None:
    """Items by decision, territorial scope (local or global) and no-action reason."""
    scope = sa.case((RequestItem.territorial_scope == territory.GLOBAL, "global"),
                    else_="local")
    query = scoped(
        sa.select(*keys, RequestItem.decision, scope.label("scope"),
                  RequestItem.no_action_reason, sa.func.count())
        .select_from(LegalRequest).join(Agency)
        .join(RequestItem, RequestItem.request_id == LegalRequest.id)
    )
    query = query.group_by(*keys, RequestItem.decision, scope, RequestItem.no_action_reason)
    n = len(keys)
    for row in db.session.execute(query):
        f = row_of(row[:n])
        decision, where, reason, count = row[n:]
        if decision is None:
            f.pending_items += count
        elif decision is Decision.NO_ACTION:
            code = _code(reason) if reason is not None else "unspecified"
            f.no_action[code] = f.no_action.get(code, 0) + count
        else:
            code = canonical(decision).value
            f.actioned[code] = f.actioned.get(code, 0) + count
            if where == "global":
                f.actioned_global += count
            else:
                f.actioned_local += count


def _times(scoped: Any, keys: list[Any], groups: Sequence[str], row_of: Any) -> None:
    """Time to act, p50 and p90, per group: from receipt to the first item given effect
    (``first_effect_at``, kept on the request), of the requests acted on."""
    received = sa.func.coalesce(LegalRequest.order_received_at, LegalRequest.received_at)
    values = scoped(
        sa.select(*keys, report_sql.seconds_between(received, LegalRequest.first_effect_at)
                  .label("seconds"))
        .select_from(LegalRequest).join(Agency)
        .where(LegalRequest.first_effect_at.is_not(None))
    )
    names = [f"k_{g}" for g in groups]
    for key, (p50, p90) in report_sql.percentiles(values, names, "seconds",
                                                  (0.5, 0.9)).items():
        f = row_of(key)
        f.time_to_act_p50_hours = report_sql.hours(p50)
        f.time_to_act_p90_hours = report_sql.hours(p90)


def _disputes(scoped: Any, keys: list[Any], row_of: Any) -> None:
    """Disputes raised on the period's requests and how they ended (from the audit
    record: a dispute, then a revision or an upheld decision)."""
    query = scoped(
        sa.select(*keys, Event.trigger, sa.func.count())
        .select_from(LegalRequest).join(Agency)
        .join(Event, Event.request_id == LegalRequest.id)
        .where(LegalRequest.disputed_at.is_not(None),
               Event.trigger.in_(["dispute", "revise", "uphold"]))
    ).group_by(*keys, Event.trigger)
    n = len(keys)
    for row in db.session.execute(query):
        f = row_of(row[:n])
        trigger, count = row[n:]
        if trigger == "dispute":
            f.disputes += count
        elif trigger == "revise":
            f.disputes_revised += count
        else:
            f.disputes_upheld += count


def _chart_series(period: Period,
                  agency_id: int | None) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Requests per country in ``period``, and per half-year over the six half-years up
    to the one it ends in."""
    where = [LegalRequest.received_at >= period.start, LegalRequest.received_at < period.end]
    if agency_id is not None:
        where.append(LegalRequest.agency_id == agency_id)
    countries = db.session.execute(
        sa.select(LegalRequest.jurisdiction, sa.func.count()).where(*where)
        .group_by(LegalRequest.jurisdiction).order_by(sa.func.count().desc(),
                                                      LegalRequest.jurisdiction)
    ).all()
    halves = previous_half_years(period, 6)
    year = sa.extract("year", LegalRequest.received_at)
    half = sa.case((sa.extract("month", LegalRequest.received_at) <= 6, 1), else_=2)
    query = (sa.select(year, half, sa.func.count())
             .where(LegalRequest.received_at >= halves[0].start,
                    LegalRequest.received_at < halves[-1].end)
             .group_by(year, half))
    if agency_id is not None:
        query = query.where(LegalRequest.agency_id == agency_id)
    counts = {f"{int(y)}H{int(h)}": int(c) for y, h, c in db.session.execute(query)}
    return ([(str(c), int(n)) for c, n in countries],
            [(h.label, counts.get(h.label, 0)) for h in halves])
