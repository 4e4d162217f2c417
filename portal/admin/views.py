"""The administrator's pages: agencies (verification), users, SLA policies, holidays.

Thin: each view parses its form, calls one function of a service (``agencies``,
``users``, ``sla_policies``, ``holiday_overrides``) and renders or redirects; the rules
live in the services (and, for an agency's standing, in ``workflows.agency_flow``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal import wording
from portal.admin import bp
from portal.admin import forms as f
from portal.links import external_url
from portal.models.columns import utcnow
from portal.navigation import has_endpoint
from portal.services import (
    accounts,
    coverage,
    documents,
    enrolment,
    holiday_overrides,
    sla_policies,
)
from portal.services import agencies as agency_service
from portal.services import users as user_service
from portal.services.errors import Conflict, ValidationFailed
from portal.services.paging import DEFAULT_PER_PAGE, page_number
from portal.web import apply_errors, confirmation_required, current_actor, roles_required
from portal.wording import role_label
from workflows import calendars
from workflows.roles import Role

admin_only = roles_required(Role.ADMIN)

#: The sign-in pages' "forgotten password": when they offer it, new users choose their
#: own password from a mailed link instead of being given one.
PASSWORD_SETUP_ENDPOINT = "auth.forgot_password"
#: The page a one-time reset token opens (``<token>`` in its URL).
PASSWORD_RESET_ENDPOINT = "auth.reset_password"


def _setup_links() -> user_service.SetupLinks | None:
    """The sign-in pages' password links, or ``None`` when they offer none."""
    if not has_endpoint(PASSWORD_SETUP_ENDPOINT):
        return None
    reset = None
    if has_endpoint(PASSWORD_RESET_ENDPOINT):
        def reset(token: str) -> str:
            return external_url(PASSWORD_RESET_ENDPOINT, token=token)
    return user_service.SetupLinks(forgot=external_url(PASSWORD_SETUP_ENDPOINT),
                            reset=reset)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "status_label": wording.agency_status_label,
        "clock_kind_label": wording.clock_kind_label,
        "resume_label": wording.resume_label,
        "holiday_effect_label": wording.holiday_effect_label,
        "weekday_label": wording.weekday_label,
        "duration_text": f.duration_text,
        "now": utcnow(),
    }


def _number(name: str = "page", default: int = 1) -> int:
    return page_number(request.args.get(name, default))


def _per_page() -> int:
    return _number("per_page", DEFAULT_PER_PAGE)


def _refusal(exc: ValidationFailed) -> None:
    """Flash each problem of a refused button press."""
    for error in exc.errors:
        flash(f.admin_error_text(error), "error")


@bp.get("/")
@admin_only
def index() -> Response:
    return redirect(url_for(".agencies"))


# -- agencies ---------------------------------------------------------------------------

@bp.get("/agencies")
@admin_only
def agencies() -> str:
    filters = f.AgencyFilterForm(request.args)
    valid = filters.validate()
    queue, pending = agency_service.verification_queue()
    page = agency_service.list_agencies(
        status=(filters.status.data or None) if valid else None,
        search=(filters.q.data or "") if valid else "",
        number=_number(), per_page=_per_page(),
    )
    return render_template("admin/agencies.html", filters=filters, queue=queue,
                           pending=pending, page=page, evidence=documents.evidence_counts(
                               current_actor(), [agency.id for agency in queue]))


def _agency_page(agency_id: int, **forms: Any) -> str:
    agency = accounts.get_agency(agency_id)
    officials, official_count = agency_service.agency_officials(agency_id)
    today = utcnow().date()
    if "approve" not in forms:
        until = today + timedelta(days=365)
        if agency.verified_until is not None and agency.verified_until.date() > today:
            until = agency.verified_until.date() + timedelta(days=365)
        forms["approve"] = f.ApproveForm(formdata=None, valid_until=until)
    forms.setdefault("reject", f.RejectForm(formdata=None, prefix="reject"))
    forms.setdefault("suspend", f.SuspendForm(formdata=None, prefix="suspend"))
    forms.setdefault("focal", f.FocalPointForm(formdata=None, focal_point=agency.focal_point))
    forms.setdefault("contact", f.FocalContactForm(
        formdata=None, prefix="contact", name=agency.focal_contact_name,
        email=agency.focal_contact_email or "", locale=agency.focal_contact_locale))
    forms.setdefault("plain", f.ActionForm(formdata=None))
    forms.setdefault("region", f.SubdivisionForm(
        formdata=None, prefix="region", subdivision=agency.subdivision or ""))
    forms.setdefault("requester", f.RequesterTypeForm(
        formdata=None, prefix="requester",
        requester_type=agency.requester_type.value if agency.requester_type else ""))
    evidence = documents.evidence_of(current_actor(), agency_id)
    return render_template("admin/agency.html", agency=agency, officials=officials,
                           evidence=evidence, evidence_url=lambda d: url_for(
                               "admin.evidence", agency_id=agency_id, evidence_id=d.id),
                           subdivisions=calendars.subdivisions_of(agency.country),
                           official_count=official_count,
                           actions=agency_service.allowed_actions(agency), **forms)


@bp.get("/agencies/<int:agency_id>")
@admin_only
def agency(agency_id: int) -> str:
    return _agency_page(agency_id)


def _status_change(agency_id: int, form_name: str, form: Any, change: Any,
                   done: str) -> str | Response:
    """Run one agency status change from a submitted form: success and conflicts go back
    to the agency page; refused input is shown on the form."""
    if form.validate_on_submit():
        try:
            change()
        except Conflict:
            flash(_("That action does not apply to the agency as it is now; its current "
                    "status is shown below."), "error")
            return redirect(url_for(".agency", agency_id=agency_id))
        except ValidationFailed as exc:
            for text in apply_errors(form, exc.errors, wording=f.admin_error_text):
                flash(text, "error")
        else:
            flash(done, "success")
            return redirect(url_for(".agency", agency_id=agency_id))
    return _agency_page(agency_id, **{form_name: form})


@bp.post("/agencies/<int:agency_id>/approve")
@admin_only
def approve_agency(agency_id: int) -> str | Response:
    form = f.ApproveForm()
    return _status_change(
        agency_id, "approve", form,
        lambda: agency_service.approve_agency(current_actor(), agency_id,
                                              valid_until=form.valid_until.data),
        _("The agency is verified until %(date)s. Its officials have been told by e-mail.",
          date=format_date(form.valid_until.data, "long") if form.valid_until.data else ""),
    )


@bp.post("/agencies/<int:agency_id>/reject")
@admin_only
def reject_agency(agency_id: int) -> str | Response:
    form = f.RejectForm(prefix="reject")
    return _status_change(
        agency_id, "reject", form,
        lambda: agency_service.reject_agency(current_actor(), agency_id, reason=form.reason.data),
        _("The registration is rejected. The agency's officials have been told why."),
    )


@bp.post("/agencies/<int:agency_id>/suspend")
@admin_only
def suspend_agency(agency_id: int) -> str | Response:
    form = f.SuspendForm(prefix="suspend")
    return _status_change(
        agency_id, "suspend", form,
        lambda: agency_service.suspend_agency(current_actor(), agency_id, reason=form.reason.data),
        _("The agency is suspended: it cannot file requests. Its officials have been told "
          "why."),
    )


@bp.post("/agencies/<int:agency_id>/reinstate")
@admin_only
def reinstate_agency(agency_id: int) -> str | Response:
    form = f.ActionForm()
    return _status_change(
        agency_id, "plain", form,
        lambda: agency_service.reinstate_agency(current_actor(), agency_id),
        _("The suspension is lifted: the agency can file requests again. Its officials "
          "have been told."),
    )


@bp.post("/agencies/<int:agency_id>/focal-point")
@admin_only
def agency_focal_point(agency_id: int) -> str | Response:
    form = f.FocalPointForm()
    wanted = bool(form.focal_point.data)
    return _status_change(
        agency_id, "focal", form,
        lambda: agency_service.set_focal_point(current_actor(), agency_id, wanted),
        _("The agency is now its country's focal point.") if wanted
        else _("The agency is no longer a focal point."),
    )


@bp.post("/agencies/<int:agency_id>/focal-contact")
@admin_only
def agency_focal_contact(agency_id: int) -> str | Response:
    form = f.FocalContactForm(prefix="contact")
    wanted = (form.email.data or "").strip()
    return _status_change(
        agency_id, "contact", form,
        lambda: agency_service.set_focal_contact(
            current_actor(), agency_id, name=form.name.data or "", email=wanted,
            locale=form.locale.data or "en"),
        _("The focal point will be told of every urgent or emergency request of this "
          "agency.") if wanted
        else _("The agency has no focal point for urgent requests any more."),
    )


@bp.post("/agencies/<int:agency_id>/subdivision")
@admin_only
def agency_subdivision(agency_id: int) -> str | Response:
    form = f.SubdivisionForm(prefix="region")
    wanted = (form.subdivision.data or "").strip()
    return _status_change(
        agency_id, "region", form,
        lambda: agency_service.set_subdivision(current_actor(), agency_id, wanted),
        _("The agency's region is %(region)s: its holidays count in the agency's "
          "business-day deadlines from now on.", region=wanted.upper()) if wanted
        else _("The agency has no region: only national holidays count."),
    )


@bp.post("/agencies/<int:agency_id>/requester-type")
@admin_only
def agency_requester_type(agency_id: int) -> str | Response:
    form = f.RequesterTypeForm(prefix="requester")
    wanted = form.requester_type.data or ""
    return _status_change(
        agency_id, "requester", form,
        lambda: agency_service.set_requester_type(current_actor(), agency_id, wanted),
        _("The agency's requester type is saved: transparency reports group it so."),
    )


# -- users ------------------------------------------------------------------------------

@bp.get("/users")
@admin_only
def users() -> str:
    filters = f.UserFilterForm(request.args)
    valid = filters.validate()
    page = user_service.list_users(
        role=(filters.role.data or None) if valid else None,
        search=(filters.q.data or "") if valid else "",
        agency_id=filters.agency.data if valid else None,
        number=_number(), per_page=_per_page(),
    )
    return render_template("admin/users.html", filters=filters, page=page)


@bp.route("/users/new", methods=["GET", "POST"])
@admin_only
def new_user() -> str | Response:
    setup = _setup_links()
    form = f.NewUserForm()
    form.agency.choices = [SelectChoice("", _("No agency (platform staff)"))] + [
        SelectChoice(str(id_), f"{name} ({country})")
        for id_, name, country in agency_service.agency_choices()
    ]
    if request.method == "GET" and request.args.get("agency", "").isdigit():
        form.agency.data = request.args["agency"]
        form.role.data = Role.AGENCY_OFFICIAL.value
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            user = user_service.create_account(
                current_actor(), email=form.email.data or "", role=form.role.data or "",
                agency_id=form.agency_id(), name=form.name.data or "",
                password=None if setup else (form.password.data or None),
                locale=form.locale.data or "en", timezone=form.timezone.data or "",
                setup=setup, jurisdictions=form.jurisdictions.data or "",
            )
        except ValidationFailed as exc:
            problems = apply_errors(form, exc.errors, wording=f.admin_error_text)
        else:
            if setup:
                flash(_("The account for %(email)s is created. They have been sent a link "
                        "to choose their password.", email=user.email), "success")
            else:
                flash(_("The account for %(email)s is created. Give them their initial "
                        "password in a safe way.", email=user.email), "success")
            return redirect(url_for(".user", user_id=user.id))
    return render_template("admin/new_user.html", form=form, setup_link=setup is not None,
                           problems=problems)


def _user_page(user_id: int, **forms: Any) -> str:
    user = user_service.get_user(user_id)
    forms.setdefault("role_form", f.RoleForm(formdata=None, role=user.role.value))
    forms.setdefault("lead_form", f.LiaisonLeadForm(formdata=None,
                                                    liaison_lead=user.liaison_lead))
    forms.setdefault("lead_reviewer_form", f.LeadReviewerForm(
        formdata=None, lead_reviewer=user.lead_reviewer))
    covered = coverage.covered(user.id)
    forms.setdefault("coverage_form", f.CoverageForm(formdata=None,
                                                     jurisdictions=", ".join(covered)))
    forms.setdefault("active_form", f.ActiveForm(formdata=None,
                                                 active="0" if user.active else "1"))
    return render_template("admin/user.html", user=user, covered=covered,
                           setup_link=has_endpoint(PASSWORD_SETUP_ENDPOINT),
                           enrolment_code=enrolment.pending_code(user.id),
                           plain=f.ActionForm(formdata=None), **forms)


@bp.get("/users/<int:user_id>")
@admin_only
def user(user_id: int) -> str:
    return _user_page(user_id)


@bp.post("/users/<int:user_id>/role")
@admin_only
def change_role(user_id: int) -> str | Response:
    form = f.RoleForm()
    if form.validate_on_submit():
        try:
            changed = user_service.change_role(current_actor(), user_id, form.role.data or "")
        except ValidationFailed as exc:
            # A refusal of the person's standing, not of the input: the page says why.
            _refusal(exc)
            return redirect(url_for(".user", user_id=user_id))
        else:
            flash(_("%(email)s is now: %(role)s.", email=changed.email,
                    role=role_label(changed.role)), "success")
            return redirect(url_for(".user", user_id=user_id))
    return _user_page(user_id, role_form=form)


@bp.post("/users/<int:user_id>/liaison-lead")
@admin_only
def set_liaison_lead(user_id: int) -> Response:
    form = f.LiaisonLeadForm()
    if form.validate_on_submit():
        lead = bool(form.liaison_lead.data)
        try:
            user_service.set_liaison_lead(current_actor(), user_id, lead)
        except ValidationFailed as exc:
            _refusal(exc)
        else:
            flash(_("Liaison lead: yes.") if lead else _("Liaison lead: no."), "success")
    return redirect(url_for(".user", user_id=user_id))


@bp.post("/users/<int:user_id>/lead-reviewer")
@admin_only
def set_lead_reviewer(user_id: int) -> Response:
    form = f.LeadReviewerForm()
    if form.validate_on_submit():
        lead = bool(form.lead_reviewer.data)
        try:
            user_service.set_lead_reviewer(current_actor(), user_id, lead)
        except ValidationFailed as exc:
            _refusal(exc)
        else:
            flash(_("Lead reviewer: yes.") if lead else _("Lead reviewer: no."), "success")
    return redirect(url_for(".user", user_id=user_id))


@bp.post("/users/<int:user_id>/jurisdictions")
@admin_only
def set_coverage(user_id: int) -> str | Response:
    form = f.CoverageForm()
    if form.validate_on_submit():
        try:
            chosen = coverage.set_coverage(current_actor(), user_id,
                                           [form.jurisdictions.data or ""])
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, wording=f.admin_error_text)
        else:
            flash(_("Covers: %(codes)s.", codes=", ".join(chosen)) if chosen
                  else _("Covers every jurisdiction."), "success")
            return redirect(url_for(".user", user_id=user_id))
    return _user_page(user_id, coverage_form=form)


@bp.post("/users/<int:user_id>/active")
@admin_only
def set_active(user_id: int) -> Response:
    form = f.ActiveForm()
    if form.validate_on_submit():
        active = form.active.data == "1"
        try:
            user_service.set_active(current_actor(), user_id, active)
        except ValidationFailed as exc:
            _refusal(exc)
        else:
            flash(_("The account is active again: the person can sign in.") if active
                  else _("The account is deactivated: the person can no longer sign in."),
                  "success")
    return redirect(url_for(".user", user_id=user_id))


@bp.post("/users/<int:user_id>/setup-link")
@admin_only
def send_setup_link(user_id: int) -> Response:
    setup = _setup_links()
    if setup is None:
        abort(404)
    form = f.ActionForm()
    if form.validate_on_submit():
        user_service.send_setup_link(current_actor(), user_id, setup)
        flash(_("A link to choose a password has been sent."), "success")
    return redirect(url_for(".user", user_id=user_id))


@bp.post("/users/<int:user_id>/enrolment-code")
@admin_only
@confirmation_required("admin.user", keep=("user_id",))
def issue_enrolment_code(user_id: int) -> str | Response:
    """A one-time code for a staff member's first second factor, shown once."""
    form = f.ActionForm()
    if form.validate_on_submit():
        try:
            issued = enrolment.issue_code(current_actor(), user_id)
        except ValidationFailed as exc:
            _refusal(exc)
        else:
            return render_template("admin/enrolment_code.html", issued=issued,
                                   user=user_service.get_user(user_id))
    return redirect(url_for(".user", user_id=user_id))


@bp.post("/users/<int:user_id>/two-factor/reset")
@admin_only
@confirmation_required("admin.user", keep=("user_id",))
def reset_two_factor(user_id: int) -> Response:
    form = f.ActionForm()
    if form.validate_on_submit():
        try:
            enrolment.reset(current_actor(), user_id)
        except ValidationFailed as exc:
            _refusal(exc)
        else:
            flash(_("Two-factor sign-in is reset and every session of the account is signed "
                    "out. The person sets it up again at their next sign-in."), "success")
    return redirect(url_for(".user", user_id=user_id))


# -- SLA policies -----------------------------------------------------------------------

@bp.get("/policies")
@admin_only
def policies() -> str:
    return render_template("admin/policies.html", policies=sla_policies.list_policies())


def _seen(form: f.PolicyForm) -> datetime | None:
    try:
        return datetime.fromisoformat(form.updated_at.data) if form.updated_at.data else None
    except ValueError:
        return None


@bp.route("/policies/new", methods=["GET", "POST"])
@admin_only
def new_policy() -> str | Response:
    form = f.PolicyForm()
    problems: list[str] = []
    if form.is_submitted():
        valid = form.validate()
        try:
            if not valid:
                # Nothing is saved, but the rules are checked too: every problem at once.
                sla_policies.check_policy(form.to_data(), code=form.code.data or "")
            else:
                row = sla_policies.create_policy(current_actor(), form.to_data())
                flash(_("Policy %(name)s is added. It applies to clocks started from now on.",
                        name=row.name), "success")
                return redirect(url_for(".policies"))
        except ValidationFailed as exc:
            problems = apply_errors(form, exc.errors, wording=f.admin_error_text, skip_errored=True)
    return render_template("admin/policy.html", form=form, row=None, problems=problems)


@bp.route("/policies/<int:policy_id>", methods=["GET", "POST"])
@admin_only
def policy(policy_id: int) -> str | Response:
    row = sla_policies.get_policy(policy_id)
    form = f.PolicyForm()
    problems: list[str] = []
    if form.is_submitted():
        valid = form.validate()
        try:
            if not valid:
                sla_policies.check_policy(form.to_data(), code=row.code)
            else:
                row = sla_policies.update_policy(current_actor(), policy_id, form.to_data(),
                                                 seen=_seen(form))
                flash(_("Policy %(name)s is saved. Clocks already running keep their "
                        "deadlines; the change applies to clocks started from now on.",
                        name=row.name), "success")
                return redirect(url_for(".policies"))
        except ValidationFailed as exc:
            problems = apply_errors(form, exc.errors, wording=f.admin_error_text, skip_errored=True)
        except Conflict:
            flash(_("Someone else saved this policy while you were editing it. Here it is "
                    "as it is now: make your change again."), "error")
            return redirect(url_for(".policy", policy_id=policy_id))
    else:
        form.fill(row)
    return render_template("admin/policy.html", form=form, row=row, problems=problems)


# -- holidays ---------------------------------------------------------------------------

def _holidays_page(add_form: f.HolidayForm) -> str:
    filters = f.HolidayFilterForm(request.args)
    valid = filters.validate()
    country = (filters.country.data or "").strip().upper() if valid else ""
    year = (filters.year.data if valid else None) or utcnow().year
    comparison = None
    if country:
        try:
            comparison = holiday_overrides.compare_holidays(
                country, year, subdivision=filters.subdivision.data or None,
                locale=g.get("locale", "en"))
        except ValidationFailed as exc:
            apply_errors(filters, exc.errors, wording=f.admin_error_text)
    if not add_form.country.data and country:
        add_form.country.data = country
        add_form.subdivision.data = comparison.subdivision if comparison else ""
    page = holiday_overrides.list_overrides(country=country or None, number=_number(),
                                            per_page=_per_page())
    return render_template("admin/holidays.html", filters=filters, comparison=comparison,
                           year=year, page=page, form=add_form, delete_form=f.ActionForm(
                               formdata=None))


@bp.get("/holidays")
@admin_only
def holidays() -> str:
    return _holidays_page(f.HolidayForm(formdata=None))


@bp.post("/holidays/add")
@admin_only
def add_holiday() -> str | Response:
    form = f.HolidayForm()
    if form.validate_on_submit():
        try:
            row = holiday_overrides.add_override(
                current_actor(), country=form.country.data or "",
                subdivision=form.subdivision.data or None, day=form.day.data,
                holiday=form.holiday.data == "yes", name=form.name.data or "")
        except ValidationFailed as exc:
            for text in apply_errors(form, exc.errors, wording=f.admin_error_text):
                flash(text, "error")
        else:
            flash(_("The override for %(day)s is saved. It applies to deadlines computed from "
                    "now on.", day=format_date(row.day, "long")), "success")
            return redirect(url_for(".holidays", country=row.country, year=row.day.year,
                                    subdivision=row.subdivision or None))
    return _holidays_page(form)


@bp.post("/holidays/<int:override_id>/delete")
@admin_only
def delete_holiday(override_id: int) -> Response:
    form = f.ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for(".holidays"))
    row = holiday_overrides.delete_override(current_actor(), override_id)
    flash(_("The override for %(day)s is deleted: the predicted calendar applies again.",
            day=format_date(row.day, "long")), "success")
    day: date = row.day
    return redirect(url_for(".holidays", country=row.country, year=day.year,
                            subdivision=row.subdivision or None))
