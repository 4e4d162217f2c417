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

from portal.extensions import db
from portal.models import Agency, ReportDay, RequestFacts
from portal.models.columns import utcnow
from portal.models.report_facts import ACTION_CODES, FIGURES, REASON_CODES
from portal.services import report_sql
from portal.services.access import require_staff
from portal.services.actors import Actor
from portal.services.errors import Forbidden
from portal.services.periods import Period, previous_half_years
from workflows.decisions import Decision, NoActionReason, canonical

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
    shows only banded totals of it).

    Reads the day summaries of the period (``report_days``) for the counts and one narrow
    row per request (``request_facts``) for the deadlines past due now and the times to
    act: never the items (services/report_facts keeps both tables)."""
    now = now or utcnow()
    found: dict[tuple[str, ...], Figures] = {}

    def row_of(values: Sequence[Any]) -> Figures:
        key = tuple(_code(v) for v in values)
        return found.setdefault(key, Figures(key=key))

    _counts(period, groups, agency_id, row_of)
    _past_due(period, groups, agency_id, now, row_of)
    total = Figures()
    _times(period, groups, agency_id, row_of, total)
    rows = [found[k] for k in sorted(found) if found[k].requests]
    if not groups:
        if rows:
            total = rows[0]
    else:
        for r in rows:
            total.add(r)
    report = Report(period, groups, rows, total)
    if charts:
        report.by_country, report.by_half_year = _chart_series(period, agency_id)
    return report


def _keys(table: type[ReportDay] | type[RequestFacts], groups: Sequence[str]) -> list[Any]:
    columns: dict[str, Any] = {
        "country": table.jurisdiction, "agency": Agency.name,
        "requester_type": Agency.requester_type, "category": table.category,
        "instrument": table.instrument, "priority": table.priority,
    }
    return [columns[g].label(f"k_{g}") for g in groups]


def _counts(period: Period, groups: Sequence[str], agency_id: int | None,
            row_of: Any) -> None:
    """Every count of the period's days, summed per group."""
    keys = _keys(ReportDay, groups)
    query = (sa.select(*keys, *(sa.func.sum(ReportDay.__table__.c[n]) for n in FIGURES))
             .select_from(ReportDay).join(Agency, Agency.id == ReportDay.agency_id)
             .where(ReportDay.day >= period.first_day, ReportDay.day <= period.last_day))
    if agency_id is not None:
        query = query.where(ReportDay.agency_id == agency_id)
    if keys:
        query = query.group_by(*keys)
    n = len(keys)
    for row in db.session.execute(query):
        figures = dict(zip(FIGURES, (int(v or 0) for v in row[n:]), strict=True))
        if not figures["requests"]:
            continue
        f = row_of(row[:n])
        f.requests, f.items, f.pending_items = (figures["requests"], figures["items"],
                                                figures["pending"])
        f.requests_actioned = figures["acted"]
        f.sla_met, f.sla_breached, f.sla_declined = (
            figures["sla_met"], figures["sla_breached"], figures["sla_declined"])
        f.disputes, f.disputes_revised, f.disputes_upheld, f.disputes_pending = (
            figures["disputes"], figures["disputes_revised"], figures["disputes_upheld"],
            figures["disputes_pending"])
        f.actioned = {a: figures[f"actioned_{a}"] for a in ACTION_CODES
                      if figures[f"actioned_{a}"]}
        f.actioned_global = figures["actioned_global"]
        f.actioned_local = sum(f.actioned.values()) - f.actioned_global
        f.no_action = {r: figures[f"no_action_{r}"] for r in REASON_CODES
                       if figures[f"no_action_{r}"]}


def _facts(period: Period, agency_id: int | None, groups: Sequence[str],
           *columns: Any) -> sa.Select[Any]:
    """``columns`` of the period's requests' facts (and the agency's), with their agency
    only when ``groups`` read it (a lookup per row otherwise spent for nothing)."""
    query = sa.select(*columns).select_from(RequestFacts)
    if {"agency", "requester_type"} & set(groups):
        query = query.join(Agency, Agency.id == RequestFacts.agency_id)
    query = query.where(RequestFacts.received_at >= period.start,
                        RequestFacts.received_at < period.end)
    if agency_id is not None:
        query = query.where(RequestFacts.agency_id == agency_id)
    return query


def _past_due(period: Period, groups: Sequence[str], agency_id: int | None, now: datetime,
              row_of: Any) -> None:
    """Resolution deadlines still running and past due ``now``: breached too (the
    summary counts those answered late)."""
    keys = _keys(RequestFacts, groups)
    query = _facts(period, agency_id, groups, *keys, sa.func.count()).where(
        RequestFacts.sla_running_due_at < now, RequestFacts.sla_outcome.is_(None))
    if keys:
        query = query.group_by(*keys)
    n = len(keys)
    for row in db.session.execute(query):
        if row[n]:
            row_of(row[:n]).sla_breached += int(row[n])


def _times(period: Period, groups: Sequence[str], agency_id: int | None, row_of: Any,
           total: Figures) -> None:
    """Time to act, p50 and p90, per group and over the whole period (percentiles do not
    add up): from receipt to the first item given effect, of the requests acted on."""
    values = _facts(period, agency_id, groups, *_keys(RequestFacts, groups),
                    RequestFacts.act_seconds.label("seconds"))
    names = [f"k_{g}" for g in groups]
    for key, (p50, p90) in report_sql.percentiles(values, names, "seconds", (0.5, 0.9),
                                                  total=True).items():
        f = total if groups and not key else row_of(key)
        f.time_to_act_p50_hours = report_sql.hours(p50)
        f.time_to_act_p90_hours = report_sql.hours(p90)


def _chart_series(period: Period,
                  agency_id: int | None) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Requests per country in ``period``, and per half-year over the six half-years up
    to the one it ends in (from the day summaries)."""
    requests = sa.func.sum(ReportDay.__table__.c.requests)
    where = [ReportDay.day >= period.first_day, ReportDay.day <= period.last_day]
    if agency_id is not None:
        where.append(ReportDay.agency_id == agency_id)
    countries = db.session.execute(
        sa.select(ReportDay.jurisdiction, requests).where(*where)
        .group_by(ReportDay.jurisdiction).having(requests > 0)
        .order_by(requests.desc(), ReportDay.jurisdiction)
    ).all()
    halves = previous_half_years(period, 6)
    year = sa.extract("year", ReportDay.day)
    half = sa.case((sa.extract("month", ReportDay.day) <= 6, 1), else_=2)
    query = (sa.select(year, half, requests)
             .where(ReportDay.day >= halves[0].first_day, ReportDay.day <= halves[-1].last_day)
             .group_by(year, half))
    if agency_id is not None:
        query = query.where(ReportDay.agency_id == agency_id)
    counts = {f"{int(y)}H{int(h)}": int(c or 0) for y, h, c in db.session.execute(query)}
    return ([(str(c), int(n)) for c, n in countries],
            [(h.label, counts.get(h.label, 0)) for h in halves])
