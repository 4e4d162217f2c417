"""Forms of the agency official's pages: filing, the list filters, actions and messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import get_locale
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from portal import platforms
from portal.document_forms import default_language, document_list, prepare
from portal.document_labels import language_choices
from portal.form_widgets import LongSelect
from portal.i18n import lazy_gettext as _l
from portal.services.messages import MAX_MESSAGE_LENGTH
from portal.wording import CATEGORIES, DECISIONS, PRIORITIES, REQUESTED_ACTIONS, STATES
from workflows.codes import Category, Priority

#: Territory codes Babel names that are not ISO 3166-1 alpha-2 countries (regions,
#: reserved and user-assigned codes).
_NOT_ISO_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}
)


def choices(table: dict[str, Any], *, blank: Any = None) -> list[SelectChoice]:
    """Select options from a table of code → label, after an optional blank one."""
    found = [SelectChoice("", blank)] if blank is not None else []
    return found + [SelectChoice(code, label) for code, label in table.items()]


def country_choices() -> list[SelectChoice]:
    """ISO 3166-1 alpha-2 codes with their names in the reader's language, by name."""
    names = get_locale().territories
    found = [
        SelectChoice(code, f"{name} ({code})")
        for code, name in names.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_ISO_COUNTRIES
    ]
    return sorted(found, key=lambda choice: choice.label.casefold())


class FilingForm(FlaskForm):
    """A request as the official writes it. The preview step posts it back whole; the
    hidden ``previewed`` fingerprint says what the official last saw."""

    legal_statute = StringField(
        _l("Statute"),
        validators=[InputRequired(message=_l("Name the law the order rests on.")),
                    Length(max=300)],
        description=_l("The law the order rests on, e.g. “Law No. 5651”."),
    )
    legal_article = StringField(
        _l("Article"), validators=[Optional(), Length(max=100)],
        description=_l("The article or section, e.g. “Art. 8/A”."),
    )
    issuing_authority = StringField(
        _l("Issuing authority"),
        validators=[InputRequired(message=_l("Name the authority that issued the order.")),
                    Length(max=300)],
        description=_l("The court or body that issued the order."),
    )
    order_reference = StringField(
        _l("Order reference"), validators=[Optional(), Length(max=100)],
        description=_l("The order's own number, as written on it."),
    )
    order_date = DateField(_l("Order date"), validators=[Optional()])
    category = SelectField(
        _l("Category"),
        choices=choices({c.value: CATEGORIES[c.value] for c in Category},
                        blank=_l("Choose a category")),
        validators=[InputRequired(message=_l("Choose a category."))],
    )
    requested_action = SelectField(
        _l("What the order asks for"),
        choices=choices(REQUESTED_ACTIONS, blank=_l("Choose what the order asks for")),
        validators=[InputRequired(message=_l("Say what the order asks the platform to do."))],
        description=_l("Removing or withholding content, or preserving or disclosing data: "
                       "the platform reports each kind of order apart."),
    )
    priority = RadioField(
        _l("Priority"),
        choices=choices({p.value: PRIORITIES[p.value] for p in Priority}),
        default=Priority.STANDARD.value,
        validators=[InputRequired(message=_l("Choose a priority."))],
    )
    # Not checked against its choices here: the filing service refuses another country
    # with its own clear error (a forged choice gets that, not "Not a valid choice").
    jurisdiction = SelectField(
        _l("Jurisdiction"), validators=[InputRequired()], validate_choice=False,
        description=_l("Whose law applies: your agency files under its own country's law "
                       "and, in a member state of the European Union, under EU law (an EU "
                       "removal or production order)."),
    )
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=20_000)],
        description=_l("What the content is and why it is unlawful. Reviewers read this "
                       "first."),
    )
    targets = TextAreaField(
        _l("Targets, one per line"),
        description=_l("Handles (@name) or links to accounts, posts or channels, one per "
                       "line. You can paste a whole list."),
        render_kw={"class": "targets", "spellcheck": "false", "autocomplete": "off",
                   "dir": "ltr", "rows": 14},
    )
    # Only shown when the portal takes several platforms; a forged code gets the filing
    # service's own error.
    service = SelectField(
        _l("Platform of bare @names"), validators=[Optional()], validate_choice=False,
        description=_l("Links name their platform themselves; a name without a link "
                       "(@name) belongs to the platform chosen here."),
    )
    csv_file = FileField(
        _l("Or add targets from a CSV file"),
        description=_l("UTF-8 CSV, one target per row (first column, or a column named "
                       "target, handle, url, account or link). Its rows are added to the "
                       "list above, where you can check and correct them."),
        render_kw={"accept": ".csv,.txt,text/csv,text/plain"},
    )
    attachment = FileField(
        _l("Order document (PDF)"),
        render_kw={"accept": ".pdf,application/pdf"},
    )
    order_language = SelectField(_l("Language of the order"), validate_choice=False,
                                 widget=LongSelect())
    #: Annexures, translations and other documents besides the order.
    documents = document_list(3)
    previewed = HiddenField()

    def __init__(self, *args: Any, jurisdictions: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service.choices = platforms.choices()
        if not self.service.data or self.service.data == "None":
            self.service.data = self.service.choices[0][0]
        self.jurisdiction.choices = [c for c in country_choices() if c.value in jurisdictions]
        if "EU" in jurisdictions:
            name = get_locale().territories.get("EU", "EU")
            self.jurisdiction.choices.append(SelectChoice("EU", f"{name} (EU)"))
        if (not self.jurisdiction.data or self.jurisdiction.data == "None") and jurisdictions:
            self.jurisdiction.data = jurisdictions[0]
        self.order_language.choices = language_choices()
        if not self.order_language.data or self.order_language.data == "None":
            self.order_language.data = default_language()
        prepare(self.documents)


class ListFilterForm(FlaskForm):
    """The list's filters and search, read from the query string (no CSRF on a GET)."""

    class Meta:
        csrf = False

    state = SelectField(
        _l("State"), validators=[Optional()],
        choices=choices(STATES, blank=_l("Any state")),
    )
    category = SelectField(
        _l("Category"), validators=[Optional()],
        choices=choices(CATEGORIES, blank=_l("Any category")),
    )
    priority = SelectField(
        _l("Priority"), validators=[Optional()],
        choices=choices(PRIORITIES, blank=_l("Any priority")),
    )
    q = SearchField(
        _l("Reference, target or order"), validators=[Optional(), Length(max=600)],
        description=_l("A reference (or its beginning, e.g. TR-2026), one target (@handle "
                       "or link), or words of the order: its number (e.g. W.P.(C) "
                       "1234/2026), the issuing authority or the description."),
    )


#: Items can be filtered to pending ones or to one decision.
ITEM_FILTERS = [("", _l("All items")), ("pending", _l("Pending"))] + list(DECISIONS.items())


class ActionForm(FlaskForm):
    """One lifecycle action: its text (answer or reason) and the version the page
    showed, so a change made in the meantime is noticed instead of overwritten."""

    text = TextAreaField(validators=[Length(max=MAX_MESSAGE_LENGTH)])
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class AnswerForm(ActionForm):
    """The answer to a clarification, with documents the reviewer asked for."""

    documents = document_list(2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        prepare(self.documents)


class AddDocumentsForm(FlaskForm):
    """Documents an official adds to a request after filing it."""

    documents = document_list(2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        prepare(self.documents)


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(message=_l("Write the message first.")),
                    Length(max=MAX_MESSAGE_LENGTH)],
        description=_l("The platform's reviewers and liaison team read it."),
    )
