"""Thin views over services/transparency, services/dsa_orders: pages, CSV and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from flask import abort, current_app, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.csv_export import stream_csv
from portal.models.columns import utcnow
from portal.services import dsa_orders, transparency
from portal.services.periods import (
    Period,
    days,
    half_year_of,
    parse_half_year,
    previous_half_years,
)
from portal.transparency import bp
from portal.transparency.forms import GROUP_LABELS, HalfYearForm, ReportForm
from portal.web import current_actor, roles_required
from workflows.roles import Role

#: Who may read the platform's report and the orders table.
VIEWERS = (Role.PLATFORM_LIAISON, Role.ADMIN)
#: Counts below this are shown as a band on the public page ("1–9").
SMALL = 10


def _current_half() -> Period:
    return half_year_of(utcnow())


def _report_choice() -> tuple[ReportForm, Period, tuple[str, ...]]:
    """The form, the period and the groups asked for; the current half-year by
    country when nothing is asked (or what is asked is not valid: the form says why)."""
    form = ReportForm(formdata=request.args)
    period: Period = _current_half()
    groups: tuple[str, ...] = ("country",)
    if request.args and form.validate():
        if form.start.data and form.end.data:
            period = days(form.start.data, form.end.data)
        groups = transparency.parse_groups(form.group.data or ())
    if not form.errors:
        form.start.data, form.end.data = period.first_day, period.last_day
        form.group.data = list(groups)
    return form, period, groups


def _download(name: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Response:
    return Response(
        stream_csv(header, rows), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"',
                 "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


def _json(name: str, body: Any) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, indent=1), mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"',
                 "Cache-Control": "private, no-store"})


def _query_args(period: Period, groups: Sequence[str]) -> dict[str, Any]:
    return {"start": period.first_day.isoformat(), "end": period.last_day.isoformat(),
            "group": list(groups)}


@bp.get("/")
@roles_required(*VIEWERS)
def index() -> str:
    """The transparency report for a period, grouped as chosen, with its charts."""
    form, period, groups = _report_choice()
    report = transparency.transparency_report(current_actor(), period, groups, charts=True)
    return render_template("transparency/index.html", form=form, report=report,
                           group_labels=GROUP_LABELS,
                           halves=previous_half_years(_current_half(), 4),
                           args=_query_args(period, groups))


def _valid_choice() -> tuple[Period, tuple[str, ...]]:
    form, period, groups = _report_choice()
    if form.errors:
        abort(400)
    return period, groups


@bp.get("/report.csv")
@roles_required(*VIEWERS)
def report_csv() -> Response:
    """The report as CSV: one line per group, then the total."""
    period, groups = _valid_choice()
    report = transparency.transparency_report(current_actor(), period, groups)
    return _download(f"transparency_{period.label}.csv", transparency.csv_header(report),
                     transparency.csv_rows(report))


@bp.get("/report.json")
@roles_required(*VIEWERS)
def report_json() -> Response:
    """The report as JSON (``docs/API.md`` describes its fields)."""
    period, groups = _valid_choice()
    report = transparency.transparency_report(current_actor(), period, groups)
    return _json(f"transparency_{period.label}.json", report.as_dict())


def _half_choice() -> tuple[HalfYearForm, Period]:
    form = HalfYearForm(formdata=request.args)
    period = _current_half()
    if form.validate() and form.period.data:
        period = parse_half_year(form.period.data)
    if not form.errors:
        form.period.data = period.label
    return form, period


@bp.get("/dsa-orders")
@roles_required(*VIEWERS)
def dsa_orders_page() -> str:
    """The DSA Art. 15(1)(a) orders table of a half-year."""
    form, period = _half_choice()
    rows = dsa_orders.orders_table(current_actor(), period)
    return render_template("transparency/dsa_orders.html", form=form, rows=rows,
                           period=period)


@bp.get("/dsa-orders.csv")
@roles_required(*VIEWERS)
def dsa_orders_csv() -> Response:
    """The orders table as CSV, in the template's column order."""
    form, period = _half_choice()
    if form.errors:
        abort(400)
    rows = dsa_orders.orders_table(current_actor(), period)
    return _download(f"dsa_orders_{period.label}.csv", dsa_orders.COLUMNS,
                     dsa_orders.csv_rows(period, rows))


def band(value: int) -> str:
    """A count as the public page shows it: small numbers as a band, so a single
    request cannot be picked out."""
    if value == 0:
        return "0"
    if value < SMALL:
        return str(_("1–9"))
    return str(format_number(value))


@bp.get("/public")
def public() -> str:
    """The public summary (off unless TRANSPARENCY_PUBLIC is set): per country, only
    aggregate counts, small ones banded; no references, agencies or targets."""
    if not current_app.config["TRANSPARENCY_PUBLIC"]:
        abort(404)
    form, period = _half_choice()
    report = transparency.build(period, ("country",))
    return render_template("transparency/public.html", form=form, report=report,
                           band=band, small=SMALL)


@bp.get("/ours")
@roles_required(Role.AGENCY_OFFICIAL)
def ours() -> str:
    """The official's own agency's figures for a period, by category."""
    form, period, _groups = _report_choice()
    report = transparency.agency_figures(current_actor(), period)
    return render_template("transparency/ours.html", form=form, report=report,
                           csv_url=url_for(".ours_csv", start=period.first_day.isoformat(),
                                           end=period.last_day.isoformat()))


@bp.get("/ours.csv")
@roles_required(Role.AGENCY_OFFICIAL)
def ours_csv() -> Response:
    """The agency's own figures as CSV (the report's columns, by category)."""
    period, _groups = _valid_choice()
    report = transparency.agency_figures(current_actor(), period)
    return _download(f"our_figures_{period.label}.csv", transparency.csv_header(report),
                     transparency.csv_rows(report))
