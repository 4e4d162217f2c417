"""Forms of the admin pages, and the translated wording of what the admin service refuses."""

from __future__ import annotations

import re
from datetime import time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SearchField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as WTFValidationError

from portal.error_text import field_error_text
from portal.i18n import LANGUAGES, from_reader_time, reader_time
from portal.i18n import lazy_gettext as _l
from portal.models import SlaPolicy
from portal.models.columns import ID_MAX
from portal.services.errors import FieldError, Problem
from portal.services.sla_policies import PolicyData, RuleData
from portal.services.users import STAFF_CHOICES
from portal.wording import (
    AGENCY_STATUSES,
    CATEGORIES,
    HOLIDAY_CATEGORIES,
    POLICY_BASES,
    PRIORITIES,
    REQUESTER_TYPES,
    ROLES,
    SLA_CLOCK_KINDS,
    SLA_RESUME_RULES,
    SLA_TARGETS,
)
from workflows import sla
from workflows.roles import Role

#: What the admin service's own error codes mean (the generic ones are in error_text).
ADMIN_ERRORS: dict[str, LazyString] = {
    "not_future": _l("Choose a date after today."),
    "expired": _l("The verification has expired meanwhile: approve the agency again with a "
                  "new expiry date."),
    "official_staff": _l("An agency official cannot be given a staff role, nor staff an "
                         "official's: create a new account instead."),
    "self": _l("You cannot do this to your own account; ask another administrator."),
    "last_admin": _l("This is the last active administrator: make someone else an "
                     "administrator first."),
    "not_liaison": _l("Only platform liaisons can be liaison leads."),
    "not_reviewer": _l("Only legal reviewers can be lead reviewers."),
    "coverage_not_reviewer": _l("Only legal reviewers cover jurisdictions."),
    "cutoff_required": _l("An end-of-day deadline needs a cut-off time."),
    "duration": _l("Enter a duration of more than zero (hours and minutes)."),
    "business_duration": _l("Enter a number of business days greater than zero."),
    "working_days": _l("Enter a whole number of working days greater than zero."),
    "valid_order": _l("The end must come after the beginning."),
    "rule": _l("This deadline rule is not valid."),
    "no_target": _l("Set at least one deadline (acknowledgement, resolution or dispute "
                    "answer)."),
    "threshold_order": _l("The thresholds must increase from left to right."),
    "threshold_last": _l("The last threshold must be 1.0: the breach itself."),
    "url": _l("Enter an address that starts with http:// or https://."),
    "policy_code": _l("Use lower-case letters, digits and hyphens (for example tr-5651)."),
    "override_taken": _l("There is already an override for this day and place: delete it "
                         "first."),
    "official": _l("Agency officials set up two-factor sign-in with their password: they "
                   "need no enrolment code."),
    "inactive": _l("The account is deactivated: reactivate it first."),
    "enabled": _l("This account has two-factor sign-in already. If the person lost their "
                  "authenticator, reset it first."),
    "not_enabled": _l("Two-factor sign-in is not on for this account."),
}


def admin_error_text(error: FieldError) -> str:
    """A refusal of the admin service in the reader's language."""
    value = error.value if isinstance(error, Problem) else ""
    if error.code == "jurisdiction":
        return str(_("%(code)s is neither a two-letter country code nor a known group "
                     "(%(groups)s).", code=value, groups=", ".join(sla.JURISDICTION_GROUPS)))
    if error.code == "threshold_range":
        return str(_("%(value)s is not between 0 (excluded) and 1 (included).", value=value))
    if error.code == "overlap":
        return str(_("Included and excluded at once: %(codes)s.", codes=value))
    if error.code == "subdivision":
        return str(_("%(code)s is not a subdivision of this country.", code=value))
    if error.field == "email" and error.code == "invalid":
        return str(_("Enter a valid e-mail address, for example name@agency.gov.example."))
    if error.code == "unknown_jurisdiction":
        return str(_("%(code)s is not a country code (two letters, for example IN or TR) "
                     "nor EU.", code=value))
    if error.code == "unknown_zone":
        return str(_("%(zone)s is not a time zone name (for example Europe/Istanbul).",
                     zone=value))
    known = ADMIN_ERRORS.get(error.code)
    return str(known) if known is not None else field_error_text(error)


def _choices(table: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in table.items()]


# -- agencies ---------------------------------------------------------------------------

class AgencyFilterForm(FlaskForm):
    """The agencies list's filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=200)],
                    description=_l("Part of the name or domain, or a country code."))
    status = SelectField(_l("Status"), choices=[SelectChoice("", _l("Any status"))]
                         + _choices(AGENCY_STATUSES), validators=[Optional()])


class ApproveForm(FlaskForm):
    valid_until = DateField(_l("Verified until"), validators=[InputRequired()],
                            description=_l("The verification lasts through this day (UTC)."))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the rejection"),
                           validators=[DataRequired(), Length(max=2000)],
                           description=_l("The agency's officials are told this reason."))


class SuspendForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the suspension"),
                           validators=[DataRequired(), Length(max=2000)],
                           description=_l("The agency's officials are told this reason."))


class FocalPointForm(FlaskForm):
    focal_point = BooleanField(_l("Focal-point agency of its country"))


class FocalContactForm(FlaskForm):
    """The person told of every urgent or emergency request filed in the agency's name."""

    name = StringField(_l("Name and position"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254)],
                       render_kw={"autocomplete": "off"},
                       description=_l("An address the agency confirmed through its official "
                                      "channels, not one given by the official who files. "
                                      "Leave empty to remove the focal point."))
    locale = SelectField(_l("Language of the mails"), choices=_choices(LANGUAGES), default="en")


class SubdivisionForm(FlaskForm):
    """The agency's region, whose holidays its business-day deadlines skip too."""

    subdivision = StringField(
        _l("Region (for holidays)"), validators=[Optional(), Length(max=10)],
        render_kw={"autocomplete": "off", "size": 8},
        description=_l("The region's code, for example BY for Bavaria (DE-BY). Its "
                       "holidays count in the agency's business-day deadlines as well as "
                       "the national ones. Leave empty for the national holidays only."))


class RequesterTypeForm(FlaskForm):
    """What kind of authority the agency is: transparency reports group by it."""

    requester_type = SelectField(
        _l("Requester type"), default="",
        choices=[SelectChoice("", _l("Not specified")), *_choices(REQUESTER_TYPES)],
        description=_l("Transparency reports group requests by it: courts, the "
                       "executive, police and regulators."))


class ActionForm(FlaskForm):
    """A button that needs nothing but the CSRF token."""


# -- users ------------------------------------------------------------------------------

def _role_choices(roles: tuple[Role, ...]) -> list[SelectChoice]:
    return [SelectChoice(role.value, ROLES[role.value]) for role in roles]


ALL_ROLES = (*STAFF_CHOICES, Role.AGENCY_OFFICIAL)


class UserFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = SearchField(_l("Search"), validators=[Optional(), Length(max=200)],
                    description=_l("Part of the e-mail address or the name."))
    role = SelectField(_l("Role"),
                       choices=[SelectChoice("", _l("Any role"))] + _role_choices(ALL_ROLES),
                       validators=[Optional()])
    agency = IntegerField(_l("Agency number"),
                          validators=[Optional(), NumberRange(min=1, max=ID_MAX)])


class NewUserForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "off"})
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=_role_choices(ALL_ROLES),
                       validators=[InputRequired()])
    agency = SelectField(_l("Agency (agency officials only)"), choices=[], coerce=str,
                         validators=[Optional()],
                         description=_l("The address must be on the agency's official "
                                        "domain."))
    locale = SelectField(_l("Language"), choices=_choices(LANGUAGES), default="en")
    timezone = StringField(_l("Time zone"), validators=[Optional(), Length(max=64)],
                           description=_l("For example Europe/Istanbul. Leave empty for the "
                                          "agency's country (UTC for staff)."))
    password = PasswordField(_l("Initial password"), validators=[Optional(), Length(max=1024)],
                             render_kw={"autocomplete": "new-password"},
                             description=_l("At least 12 characters. Tell it to the person "
                                            "in a safe way; they should change it."))
    jurisdictions = StringField(
        _l("Jurisdictions covered (legal reviewers only)"),
        validators=[Optional(), Length(max=1000)],
        description=_l("Country codes separated by commas, for example IN, TR (EU for the "
                       "EU's own orders). Leave empty to cover every jurisdiction."))

    def agency_id(self) -> int | None:
        value = self.agency.data
        return int(value) if value and str(value).isdigit() else None


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=_role_choices(STAFF_CHOICES),
                       validators=[InputRequired()])


class LiaisonLeadForm(FlaskForm):
    liaison_lead = BooleanField(_l("Liaison lead (told personally when a deadline is "
                                   "breached)"))


class LeadReviewerForm(FlaskForm):
    lead_reviewer = BooleanField(_l("Lead reviewer (may decide requests other reviewers "
                                    "hold, and reassign them)"))


class CoverageForm(FlaskForm):
    jurisdictions = StringField(
        _l("Jurisdictions covered"), validators=[Optional(), Length(max=1000)],
        description=_l("Country codes separated by commas, for example IN, TR (EU for the "
                       "EU's own orders). Leave empty to cover every jurisdiction."))


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[InputRequired()])


# -- SLA policies -----------------------------------------------------------------------

BUSINESS_DAY_SECONDS = int(sla.BUSINESS_DAY.total_seconds())


def _split(text: str | None) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", text or "") if part]


def _parse_thresholds(text: str | None, *, strict: bool = True) -> list[float]:
    """The numbers in ``text``; a part that is no number is refused (``strict``) or left
    out (to check the rest of a form that is already refused)."""
    values = []
    for part in _split(text):
        try:
            values.append(float(part))
        except ValueError:
            if strict:
                raise WTFValidationError(
                    _("%(value)s is not a number (write fractions such as 0.5).", value=part)
                ) from None
    return values


class TargetRuleForm(Form):
    """One target's deadline rule (a sub-form: the outer form carries the CSRF token)."""

    kind = SelectField(_l("Deadline"), choices=[SelectChoice("", _l("No deadline for this"))]
                       + _choices(SLA_CLOCK_KINDS), validators=[Optional()])
    hours = IntegerField(_l("Hours"), validators=[Optional(), NumberRange(min=0, max=8760)])
    minutes = IntegerField(_l("Minutes"), validators=[Optional(), NumberRange(min=0, max=59)])
    days = DecimalField(_l("Business days"), places=2,
                        validators=[Optional(), NumberRange(min=0, max=365)],
                        description=_l("One business day is 8 working hours; 0.5 is half a "
                                       "day."))
    working_days = IntegerField(_l("Working days"),
                                validators=[Optional(), NumberRange(min=0, max=365)],
                                description=_l("Counted from the day after receipt; the "
                                               "deadline is the end of the last one."))
    cutoff = TimeField(_l("Cut-off time (local)"), validators=[Optional()],
                       description=_l("Requests received after this time are due at the end "
                                      "of the next working day."))
    resume = SelectField(_l("While the agency is asked a question"),
                         choices=_choices(SLA_RESUME_RULES), default="extend")
    force_majeure = BooleanField(
        _l("Pauses during a force majeure"),
        description=_l("While the platform cannot comply for reasons beyond its control; "
                       "the full time runs again when they end (EU Regulation 2021/784 "
                       "Art. 3(7))."))

    def to_rule(self) -> RuleData | None:
        kind = self.kind.data or ""
        if not kind:
            return None
        resume = self.resume.data or "extend"
        majeure = bool(self.force_majeure.data)
        if kind == "business":
            days = self.days.data or Decimal(0)
            return RuleData(kind, int(days * BUSINESS_DAY_SECONDS), None, resume, majeure)
        if kind == "working_days_after":
            return RuleData(kind, (self.working_days.data or 0) * 86_400, None, resume,
                            majeure)
        if kind == "end_of_day":
            cutoff = self.cutoff.data.strftime("%H:%M") if self.cutoff.data else None
            return RuleData(kind, 0, cutoff, resume, majeure)
        seconds = (self.hours.data or 0) * 3600 + (self.minutes.data or 0) * 60
        return RuleData(kind, seconds, None, resume, majeure)

    def fill(self, rule: dict[str, Any] | None) -> None:
        if not rule:
            self.kind.data = ""
            return
        self.kind.data = rule["kind"]
        self.resume.data = rule.get("resume", "extend")
        self.force_majeure.data = bool(rule.get("force_majeure"))
        seconds = int(rule.get("seconds") or 0)
        if rule["kind"] == "working_days_after":
            self.working_days.data = seconds // 86_400
        elif rule["kind"] == "business":
            self.days.data = (Decimal(seconds) / BUSINESS_DAY_SECONDS).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)
        elif rule["kind"] == "end_of_day":
            cutoff = rule.get("cutoff")
            self.cutoff.data = time.fromisoformat(cutoff) if cutoff else None
        else:
            self.hours.data, rest = divmod(seconds, 3600)
            self.minutes.data = rest // 60


class PolicyForm(FlaskForm):
    code = StringField(_l("Code"), validators=[Optional(), Length(max=64)],
                       description=_l("A short, stable identifier shown on every clock it "
                                      "governs, for example tr-5651. It cannot be changed "
                                      "later."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    source = TextAreaField(_l("Source (law, article or commitment)"),
                           validators=[DataRequired(), Length(max=500)],
                           description=_l("Cite it so that anyone can check the deadline, "
                                          "for example: Law No. 5651 Art. 8/A."))
    source_url = URLField(_l("Link to the source"), validators=[Optional(), Length(max=500)])
    basis = SelectField(
        _l("Basis"), choices=_choices(POLICY_BASES), default="law",
        description=_l("On equal deadlines a law's pause rule and citation govern, never a "
                       "platform commitment's."))
    instrument = StringField(_l("Instrument"), validators=[Optional(), Length(max=300)],
                             description=_l("The law or regulation, for example Law No. "
                                            "5651."))
    article = StringField(_l("Article"), validators=[Optional(), Length(max=100)],
                          description=_l("For example Arts. 8, 8/A."))
    valid_from = DateTimeLocalField(
        _l("In force for requests received from"), format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description=_l("In your own time zone. Empty: since always. A change in the law is "
                       "a new policy from its date, so earlier requests keep their rule."))
    valid_to = DateTimeLocalField(
        _l("Until (not included)"), format="%Y-%m-%dT%H:%M", validators=[Optional()],
        description=_l("Empty: until further notice."))
    holiday_categories = SelectMultipleField(
        _l("Holidays its business days skip"), choices=_choices(HOLIDAY_CATEGORIES),
        validators=[Optional()],
        description=_l("Public holidays always; the others where the holidays package has "
                       "them for the country."))
    calendar_subdivision = StringField(
        _l("Region whose holidays count too"), validators=[Optional(), Length(max=10)],
        description=_l("A region of the policy's one country (for example BY), or * for a "
                       "holiday in any part of the country (as the UK's Terrorism Act "
                       "counts). The filing agency's own region always counts."))
    jurisdictions = StringField(
        _l("Jurisdictions"), validators=[Optional(), Length(max=2000)],
        description=_l("Comma-separated two-letter country codes or group names (EU); "
                       "leave empty for any jurisdiction."))
    categories = SelectMultipleField(_l("Categories"), choices=_choices(CATEGORIES),
                                     validators=[Optional()],
                                     description=_l("None selected: any category."))
    exclude_categories = SelectMultipleField(_l("Except these categories"),
                                             choices=_choices(CATEGORIES),
                                             validators=[Optional()])
    priorities = SelectMultipleField(_l("Priorities"), choices=_choices(PRIORITIES),
                                     validators=[Optional()],
                                     description=_l("None selected: any priority."))
    acknowledge = FormField(TargetRuleForm, label=SLA_TARGETS["acknowledge"])
    resolve = FormField(TargetRuleForm, label=SLA_TARGETS["resolve"])
    dispute = FormField(TargetRuleForm, label=SLA_TARGETS["dispute"])
    thresholds = StringField(
        _l("Alert thresholds"), default="0.5, 0.75, 0.9, 1.0",
        validators=[DataRequired(), Length(max=200)],
        description=_l("Comma-separated fractions of the deadline at which alerts go out, "
                       "increasing, ending with 1.0 (the breach)."))
    position = IntegerField(_l("Position in the match order"), default=0,
                            validators=[InputRequired(), NumberRange(min=0, max=10_000)],
                            description=_l("Lower comes first; on equal deadlines the "
                                           "first policy governs."))
    active = BooleanField(_l("Active"), default=True)
    updated_at = HiddenField()

    def validate_thresholds(self, field: StringField) -> None:
        _parse_thresholds(field.data)

    def targets(self) -> dict[str, RuleData]:
        rules = {}
        for target in sla.Target:
            rule = getattr(self, target.value).form.to_rule()
            if rule is not None:
                rules[target.value] = rule
        return rules

    def to_data(self) -> PolicyData:
        return PolicyData(
            name=self.name.data or "",
            code=self.code.data or "",
            source=self.source.data or "",
            source_url=self.source_url.data or "",
            jurisdictions=_split(self.jurisdictions.data),
            categories=list(self.categories.data or ()),
            exclude_categories=list(self.exclude_categories.data or ()),
            priorities=list(self.priorities.data or ()),
            targets=self.targets(),
            thresholds=_parse_thresholds(self.thresholds.data, strict=False),
            active=bool(self.active.data),
            position=self.position.data or 0,
            basis=self.basis.data or "law",
            instrument=self.instrument.data or "",
            article=self.article.data or "",
            valid_from=from_reader_time(self.valid_from.data) if self.valid_from.data
            else None,
            valid_to=from_reader_time(self.valid_to.data) if self.valid_to.data else None,
            holiday_categories=list(self.holiday_categories.data or ()),
            calendar_subdivision=self.calendar_subdivision.data or "",
        )

    def fill(self, row: SlaPolicy) -> None:
        self.code.data = row.code
        self.name.data = row.name
        self.source.data = row.source
        self.source_url.data = row.source_url
        self.jurisdictions.data = ", ".join(row.jurisdictions or ())
        self.categories.data = list(row.categories or ())
        self.exclude_categories.data = list(row.exclude_categories or ())
        self.priorities.data = list(row.priorities or ())
        for target in sla.Target:
            getattr(self, target.value).form.fill(row.targets.get(target.value))
        self.thresholds.data = ", ".join(_fraction(t) for t in row.thresholds)
        self.position.data = row.position
        self.active.data = row.active
        self.updated_at.data = row.updated_at.isoformat()
        self.basis.data = row.basis
        self.instrument.data = row.instrument
        self.article.data = row.article
        self.valid_from.data = reader_time(row.valid_from) \
            if row.valid_from else None
        self.valid_to.data = reader_time(row.valid_to) \
            if row.valid_to else None
        self.holiday_categories.data = list(row.holiday_categories or ("public",))
        self.calendar_subdivision.data = row.calendar_subdivision or ""


def _fraction(value: float) -> str:
    return f"{value:g}" if value != 1 else "1.0"


def duration_text(seconds: int, kind: str) -> str:
    """A rule's duration in words: "4 h", "1 h 30 min", "5 business days"."""
    if kind == "working_days_after":
        whole = seconds // 86_400
        return str(ngettext("%(num)s working day", "%(num)s working days", whole))
    if kind == "business":
        days = Decimal(seconds) / BUSINESS_DAY_SECONDS
        if days == days.to_integral_value():
            return str(ngettext("%(num)s business day", "%(num)s business days", int(days)))
        return str(_("%(days)s business days", days=f"{days.normalize():f}"))
    hours, rest = divmod(timedelta(seconds=seconds).total_seconds(), 3600)
    minutes = int(rest // 60)
    if hours and minutes:
        return str(_("%(hours)s h %(minutes)s min", hours=int(hours), minutes=minutes))
    if hours:
        return str(_("%(hours)s h", hours=int(hours)))
    return str(_("%(minutes)s min", minutes=minutes))


# -- holiday overrides ------------------------------------------------------------------

class HolidayFilterForm(FlaskForm):
    """The holidays page's filter. Its fields keep their names (the page's links and
    redirects say ``?country=TR&year=2026``) but have ids of their own: the page's form to
    add an override has fields of the same names, and each label must focus its own."""

    class Meta:
        csrf = False

    country = StringField(_l("Country"), validators=[Optional(), Length(min=2, max=2)],
                          description=_l("Two-letter code, for example SA."),
                          id="filter-country")
    subdivision = StringField(_l("Subdivision"), validators=[Optional(), Length(max=10)],
                              id="filter-subdivision")
    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(min=2000, max=2100)],
                        id="filter-year")


class HolidayForm(FlaskForm):
    country = StringField(_l("Country"), validators=[DataRequired(), Length(max=2)],
                          description=_l("Two-letter code, for example SA."))
    subdivision = StringField(_l("Subdivision (optional)"),
                              validators=[Optional(), Length(max=10)],
                              description=_l("Only for a holiday of one region; empty for "
                                             "the whole country."))
    day = DateField(_l("Date"), validators=[InputRequired()])
    holiday = RadioField(_l("This day is"), default="yes", choices=[
        SelectChoice("yes", _l("A public holiday (add it)")),
        SelectChoice("no", _l("A working day (cancel a predicted holiday)")),
    ], validators=[InputRequired()])
    name = StringField(_l("Name or note"), validators=[Optional(), Length(max=200)],
                       description=_l("For example: Eid al-Fitr, announced after the moon "
                                      "sighting."))
