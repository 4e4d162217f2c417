"""Forms of the liaison pages: dashboard filters, the compliance period, closing."""

from __future__ import annotations

from datetime import date

from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional, Regexp, ValidationError
from wtforms.widgets import HiddenInput

from portal.i18n import lazy_gettext as _l
from portal.wording import CATEGORIES, PRIORITIES, STAFF_BANDS

#: Longest compliance period one page or export covers.
MAX_PERIOD_DAYS = 366

def choices(table: dict[str, LazyString] | list[tuple[int, str]], *,
            first: LazyString | None = None) -> list[SelectChoice]:
    """Options of a select, optionally after an "any" option."""
    pairs = table.items() if isinstance(table, dict) else table
    found = [SelectChoice("", first)] if first is not None else []
    return found + [SelectChoice(str(code), label) for code, label in pairs]


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if value else value


class GetForm(FlaskForm):
    """A filter form read from the query string (no CSRF token: it changes nothing)."""

    class Meta:
        csrf = False


class DashboardFilterForm(GetForm):
    jurisdiction = StringField(
        _l("Country code"), filters=[_upper],
        validators=[Optional(), Regexp(r"^[A-Z]{2}$", message=_l("Two letters, e.g. TR."))],
        render_kw={"maxlength": 2, "autocomplete": "off", "size": 4},
    )
    # Agencies and reviewers are filled in by the view.
    agency = SelectField(_l("Agency"), choices=[], default="")
    category = SelectField(_l("Category"), default="",
                           choices=choices(CATEGORIES, first=_l("Any category")))
    priority = SelectField(_l("Priority"), default="",
                           choices=choices(PRIORITIES, first=_l("Any priority")))
    reviewer = SelectField(_l("Reviewer"), choices=[], default="")
    band = SelectField(_l("Standing"), default="",
                       choices=choices(STAFF_BANDS, first=_l("Any standing")))


class PeriodForm(GetForm):
    """A range of days, both ends optional; at most ``max_days`` long."""

    #: The longest range a page covers, and what to say past it.
    max_days = MAX_PERIOD_DAYS
    too_long = _l("Choose at most one year at a time.")

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To (inclusive)"), validators=[Optional()])

    def validate_end(self, field: DateField) -> None:
        start: date | None = self.start.data
        end: date | None = field.data
        if start is None or end is None:
            return
        if end < start:
            raise ValidationError(_l("The end date is before the start date."))
        if (end - start).days >= self.max_days:
            raise ValidationError(self.too_long)


class CloseForm(FlaskForm):
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
