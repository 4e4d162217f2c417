"""The platform liaison's pages: the SLA dashboard, compliance per jurisdiction and
policy with its CSV export, and closing actioned requests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.csv_export import stream_csv
from portal.i18n import lazy_gettext as _l
from portal.liaison import bp
from portal.liaison.forms import CloseForm, DashboardFilterForm, PeriodForm, choices
from portal.models.columns import utcnow
from portal.services import lifecycle, reports
from portal.services.dashboard import (
    BAND_COUNT_LIMIT,
    CLOSE_COUNT_CAP,
    RUNNING_BANDS,
    awaiting_close,
    filter_choices,
    sla_dashboard,
)
from portal.services.errors import Conflict
from portal.services.paging import Position, position_of
from portal.services.request_filters import RequestFilters
from portal.web import current_actor, roles_required
from portal.wording import STAFF_BANDS, conflict_text, policy_namer, refusal_text
from workflows.request_flow import TransitionError
from workflows.roles import Role

#: Who may look at the dashboards; only liaisons close requests.
VIEWERS = (Role.PLATFORM_LIAISON, Role.ADMIN)
#: Seconds between refreshes of the dashboard's table (liaison.js).
REFRESH_SECONDS = 60
#: Days a compliance period covers unless the reader chooses.
DEFAULT_PERIOD_DAYS = 30
#: Rows written to the CSV before a chunk is sent.
CSV_CHUNK_ROWS = 500


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"page_url": page_url, "BANDS": STAFF_BANDS, "RUNNING_BANDS": RUNNING_BANDS,
            "policy_name": policy_namer()}


def page_url(number: int | str, **values: Any) -> str:
    """The dashboard's address with its filters, at page ``number`` (or a keyset
    position: ``last``, ``after.<cursor>``; never the fragment)."""
    args: dict[str, Any] = {k: v for k, v in request.args.items()
                            if k not in ("page", "fragment")}
    args.update(values)
    args["page"] = number
    return url_for(".dashboard", **args)


def _position() -> Position:
    return position_of(request.args.get("page"))


# -- the SLA dashboard ------------------------------------------------------------------

@bp.get("/")
@roles_required(*VIEWERS)
def dashboard() -> Any:
    """Every running clock of every open request, most urgent first, with counts per
    band. ``?fragment=1`` returns only the live part, for liaison.js to refresh."""
    actor = current_actor()
    options = filter_choices(actor)
    form = DashboardFilterForm(formdata=request.args)
    form.agency.choices = choices(options.agencies, first=_l("Any agency"))
    form.reviewer.choices = choices(options.reviewers, first=_l("Any reviewer"))
    filters = RequestFilters()
    band = None
    if form.validate():
        filters = RequestFilters(
            jurisdiction=form.jurisdiction.data or None,
            category=form.category.data or None,
            priority=form.priority.data or None,
            agency_id=int(form.agency.data) if form.agency.data else None,
            reviewer_id=int(form.reviewer.data) if form.reviewer.data else None,
        )
        band = form.band.data or None
    page, counts = sla_dashboard(actor, filters=filters, band=band,
                                 page=_position(), now=utcnow())
    filtered = filters != RequestFilters() or band is not None
    live = {"page": page, "counts": counts, "band": band, "filtered": filtered,
            "updated_at": utcnow(), "band_count_limit": BAND_COUNT_LIMIT}
    if request.args.get("fragment"):
        response = make_response(render_template("liaison/_live.html", **live))
        # liaison.js swaps the table only for this answer (not, say, a sign-in page).
        response.headers["X-Fragment"] = "sla-dashboard"
        response.headers["Cache-Control"] = "no-store"
        return response
    waiting, waiting_total = awaiting_close(actor)
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "fragment"}
    return render_template(
        "liaison/dashboard.html", form=form, **live,
        refresh_url=url_for(".dashboard", **args, fragment=1),
        refresh_seconds=REFRESH_SECONDS, waiting=waiting, waiting_total=waiting_total,
        close_count_cap=CLOSE_COUNT_CAP,
        window=timedelta(days=current_app.config["DISPUTE_WINDOW_DAYS"]),
        can_close=current_user.role is Role.PLATFORM_LIAISON,
    )


@bp.post("/requests/<reference>/close")
@roles_required(Role.PLATFORM_LIAISON)
def close(reference: str) -> Response:
    """Close an actioned request (otherwise the worker does when the dispute window
    ends)."""
    form = CloseForm()
    if not form.validate_on_submit():
        abort(400)
    back = url_for(".dashboard", _anchor="awaiting-close")
    try:
        lifecycle.fire(current_actor(), reference, "close", expected_version=form.version.data)
    except Conflict:
        flash(conflict_text(reference), "error")
        return redirect(back)
    except TransitionError as exc:
        flash(refusal_text(exc), "error")
        return redirect(back)
    flash(_("%(reference)s is closed.", reference=reference), "success")
    return redirect(back)


# -- compliance -------------------------------------------------------------------------

def _today() -> date:
    return utcnow().astimezone(get_timezone() or UTC).date()


def _period(form: PeriodForm) -> tuple[date, date]:
    """The chosen days, or the last 30 days (today included) in the reader's zone."""
    valid = form.validate()
    end = form.end.data if valid and form.end.data else _today()
    start = form.start.data if valid and form.start.data else (
        end - timedelta(days=DEFAULT_PERIOD_DAYS - 1))
    if start > end:
        start = end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    return start, end


def _midnight(day: date) -> datetime:
    """The start of ``day`` in the reader's time zone, as aware UTC."""
    zone: Any = get_timezone() or UTC
    naive = datetime.combine(day, time.min)
    local = zone.localize(naive) if hasattr(zone, "localize") else naive.replace(tzinfo=zone)
    return local.astimezone(UTC)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start of ``start``, end of ``end``), cut at now: a clock due later today is not
    past due yet."""
    return _midnight(start), min(_midnight(end + timedelta(days=1)), utcnow())


@bp.get("/compliance")
@roles_required(*VIEWERS)
def compliance() -> str:
    """Deadlines met and breached per jurisdiction and policy over a period."""
    form = PeriodForm(formdata=request.args)
    start, end = _period(form)
    if not form.errors:
        form.start.data, form.end.data = start, end
    rows = reports.compliance(*_bounds(start, end))
    totals = {
        "met": sum(r.met for r in rows),
        "breached": sum(r.breached for r in rows),
        "still_open_breached": sum(r.still_open_breached for r in rows),
        "declined": sum(r.declined for r in rows),
        "withdrawn": sum(r.withdrawn for r in rows),
        "measured": sum(r.measured for r in rows),
        "total": sum(r.total for r in rows),
    }
    return render_template("liaison/compliance.html", form=form, rows=rows, totals=totals,
                           start=start, end=end)


@bp.get("/compliance.csv")
@roles_required(*VIEWERS)
def export() -> Response:
    """One row per request counted in the period's compliance, streamed as CSV."""
    form = PeriodForm(formdata=request.args)
    if request.args and not form.validate():
        abort(400)
    start, end = _period(form)
    rows = reports.export_rows(current_actor(), *_bounds(start, end))
    filename = f"compliance_{start.isoformat()}_{end.isoformat()}.csv"
    return Response(
        stream_with_context(stream_csv(reports.EXPORT_COLUMNS, rows,
                                       chunk_rows=CSV_CHUNK_ROWS,
                                       free_text=reports.EXPORT_FREE_TEXT)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                 "Cache-Control": "no-store"},
    )
