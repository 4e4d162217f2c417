"""The publish form: notice type, title, what to redact."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from portal.i18n import lazy_gettext as _l
from portal.services.lumen import MAX_TITLE

#: Lumen's notice types, in words.
NOTICE_TYPE_LABELS = {
    "GovernmentRequest": _l("Government request"),
    "CourtOrder": _l("Court order"),
    "LawEnforcementRequest": _l("Law enforcement request"),
    "LocalLaw": _l("Local law"),
    "Other": _l("Other"),
}


class PublishForm(FlaskForm):
    """What a reviewer chooses before a request is published as a notice."""

    notice_type = SelectField(
        _l("Type of notice"),
        choices=[SelectChoice(code, label) for code, label in NOTICE_TYPE_LABELS.items()],
        default="GovernmentRequest")
    title = StringField(_l("Title"), validators=[Length(max=MAX_TITLE)],
                        description=_l("Empty: the category, the authority and the country."))
    redact_targets = TextAreaField(
        _l("Targets to redact"),
        description=_l("One per line, as filed. Each is replaced by [REDACTED] wherever it "
                       "appears."))
    redact_passages = TextAreaField(
        _l("Passages to redact"),
        description=_l("One per line, at least three characters: names, addresses, "
                       "anything that must not leave. Each is replaced by [REDACTED]."))
