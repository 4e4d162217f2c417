"""Forms of the transparency pages: a period (any days, a half-year by default) and the
grouping."""

from __future__ import annotations

from typing import Any

from flask_babel.speaklater import LazyString
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.i18n import lazy_gettext as _l
from portal.liaison.forms import GetForm, PeriodForm
from portal.services.periods import PeriodError, parse_half_year

#: The groupings, as the form offers them (services/transparency.GROUPS).
GROUP_LABELS: dict[str, LazyString] = {
    "country": _l("Country"),
    "agency": _l("Agency"),
    "requester_type": _l("Requester type"),
    "category": _l("Category"),
    "instrument": _l("Legal instrument"),
    "priority": _l("Priority"),
}

#: The longest period a page covers (ten years: reports compare years).
MAX_PERIOD_DAYS = 3660


class ReportForm(PeriodForm):
    # Reports compare years: a longer range than the compliance page's.
    max_days = MAX_PERIOD_DAYS
    too_long = _l("Choose at most ten years at a time.")

    group = SelectMultipleField(
        _l("Group by"), default=["country"],
        choices=[SelectChoice(code, label) for code, label in GROUP_LABELS.items()],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if (self.start.data is None) != (self.end.data is None):
            missing = self.end if self.end.data is None else self.start
            missing.errors = [*missing.errors, _l("Give both dates, or neither for the "
                                                  "current half-year.")]
            return False
        return True


class HalfYearForm(GetForm):
    period = StringField(_l("Half-year"), validators=[Optional()],
                         render_kw={"placeholder": "2026H1", "size": 8, "autocomplete": "off"},
                         description=_l("Written like 2026H1 (January to June) or 2026H2."))

    def validate_period(self, field: StringField) -> None:
        if field.data:
            try:
                parse_half_year(field.data)
            except PeriodError:
                raise ValidationError(_l("Write the half-year like 2026H1 or 2026H2.")) from None
