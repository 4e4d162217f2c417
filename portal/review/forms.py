"""Forms of the reviewer's pages: queue filters, claiming, item decisions, lifecycle
actions, messages, reclassification and out-of-band confirmations."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, Regexp
from wtforms.widgets import HiddenInput

from portal.services.messages import MAX_MESSAGE_LENGTH
from portal.wording import (
    CATEGORIES,
    CONFIRMATION_CHANNELS,
    COUNT_FROM,
    DECISIONS,
    PRIORITIES,
    RECEIPT_CHANNELS,
)
from workflows.decisions import PENDING, NoActionReason


def choices(table: dict[str, LazyString], *, first: LazyString | None = None
            ) -> list[SelectChoice]:
    """Options of a select from a label table, optionally after an "any" option."""
    found = [SelectChoice("", first)] if first is not None else []
    return found + [SelectChoice(code, label) for code, label in table.items()]


def _upper(value: str | None) -> str | None:
    return value.strip().upper() if value else value


def _strip(value: str | None) -> str | None:
    return value.strip() if value else value


class GetForm(FlaskForm):
    """A filter form read from the query string (no CSRF token: it changes nothing)."""

    class Meta:
        csrf = False


class QueueFilterForm(GetForm):
    jurisdiction = StringField(
        _l("Country code"), filters=[_upper],
        validators=[Optional(), Regexp(r"^[A-Z]{2}$", message=_l("Two letters, e.g. TR."))],
        render_kw={"maxlength": 2, "autocomplete": "off", "size": 4},
    )
    category = SelectField(_l("Category"),
                           choices=choices(CATEGORIES, first=_l("Any category")), default="")
    priority = SelectField(_l("Priority"),
                           choices=choices(PRIORITIES, first=_l("Any priority")), default="")


class VersionForm(FlaskForm):
    """A form that carries the version of the request the page showed."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class ItemFilterForm(GetForm):
    decision = SelectField(
        _l("Show"),
        choices=choices({PENDING: _l("Pending (no decision yet)"), **DECISIONS},
                        first=_l("All items")),
        default="",
    )
    q = StringField(_l("Target contains"), filters=[_strip],
                    validators=[Optional(), Length(max=300)],
                    render_kw={"type": "search", "autocomplete": "off"})


#: Suggestions offered for a "no action" reason; the reviewer may write their own.
NO_ACTION_REASONS: dict[str, LazyString] = {
    NoActionReason.NOT_FOUND: _l("Target not found"),
    NoActionReason.ALREADY_REMOVED: _l("Already removed"),
    NoActionReason.INSUFFICIENT_LEGAL_BASIS: _l("Insufficient legal basis"),
    NoActionReason.NOT_UNLAWFUL: _l("Not unlawful"),
    NoActionReason.OUT_OF_SCOPE: _l("Out of scope of the order"),
}


class DecideForm(VersionForm):
    """One decision for the ticked items, or for every item matching the list's filter."""

    item = SelectMultipleField(_l("Items"), coerce=int, validate_choice=False)
    decision = SelectField(_l("Decision"), choices=choices(DECISIONS),
                           validators=[DataRequired()], id="decide-decision")
    reason = StringField(
        _l("Reason"), filters=[_strip], validators=[Optional(), Length(max=1000)],
        id="decide-reason",
        description=_l("Required for “No action”. Pick a common reason or write your own."),
        render_kw={"list": "no-action-reasons", "autocomplete": "off"},
    )
    # Which button was pressed: the ticked items, or all items matching the filter.
    scope = HiddenField(validators=[AnyOf(["selected", "matching"])])
    # The list's filter and page when the form was shown.
    list_decision = HiddenField()
    list_text = HiddenField()
    list_page = IntegerField(widget=HiddenInput(), validators=[Optional()])


class RequestInfoForm(VersionForm):
    question = TextAreaField(
        _l("Question to the agency"), filters=[_strip],
        validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)],
        description=_l("The agency sees this. The resolution clock pauses until it answers, "
                       "unless the law that sets it allows no pause."),
    )


class DeclineForm(VersionForm):
    reason = TextAreaField(
        _l("Reason for declining"), filters=[_strip],
        validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)],
        description=_l("Every item still pending becomes “No action” with this reason."),
    )


class UpholdForm(VersionForm):
    reason = TextAreaField(
        _l("Reason for upholding the outcome"), filters=[_strip],
        validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)],
        description=_l("The agency sees this answer to its dispute."),
    )


@dataclass(frozen=True)
class Action:
    """A lifecycle action as the workspace offers it."""

    label: LazyString
    hint: LazyString
    form: type[VersionForm]
    done: LazyString
    confirm: LazyString | None = None


#: The reviewer's actions on the workspace, by trigger (begin_review is "claim").
ACTIONS: dict[str, Action] = {
    "request_info": Action(
        _l("Ask the agency for information"),
        _l("Use this when the order or a target is unclear."),
        RequestInfoForm, _l("Your question was sent to the agency; the clock is paused."),
    ),
    "action": Action(
        _l("Action the request"),
        _l("Every item needs a decision, and at least one must act on its target."),
        VersionForm, _l("The request is actioned."),
    ),
    "decline": Action(
        _l("Decline the request"),
        _l("No item may have an action decision."),
        DeclineForm, _l("The request is declined."),
        _l("Decline this request? Pending items become “No action”."),
    ),
    "revise": Action(
        _l("Revise the outcome"),
        _l("After changing item decisions in answer to the dispute."),
        VersionForm, _l("The outcome is revised."),
    ),
    "uphold": Action(
        _l("Uphold the outcome"),
        _l("Keep the decisions as they are and answer the dispute."),
        UpholdForm, _l("The outcome is upheld."),
        _l("Uphold the outcome and close the dispute?"),
    ),
}


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), filters=[_strip],
                         validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)])
    internal = BooleanField(_l("Internal — the agency never sees this"))


class ReclassifyForm(VersionForm):
    category = SelectField(_l("Category"), choices=choices(CATEGORIES))
    priority = SelectField(_l("Priority"), choices=choices(PRIORITIES))
    # No default: the reviewer must choose, and the choice is on the record.
    count_from = RadioField(
        _l("The deadlines count"), choices=choices(COUNT_FROM),
        validators=[InputRequired(message=_l("Choose where the deadlines count from."))])
    reason = StringField(_l("Why the request is reclassified, and why its deadlines count "
                            "from there"), filters=[_strip],
                         validators=[DataRequired(), Length(max=1000)])


class EarlierReceiptForm(VersionForm):
    """The order reached the platform before it was filed here: the clocks count from
    then."""

    received_at = DateTimeLocalField(
        _l("When the order was received"), format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(message=_l("Enter a date and time."))],
        description=_l("In your own time zone. The deadlines count from this time, under "
                       "the rules in force then."))
    channel = SelectField(_l("How it was received"), choices=choices(RECEIPT_CHANNELS),
                          validators=[DataRequired()])
    reason = TextAreaField(
        _l("How you know"), filters=[_strip], validators=[DataRequired(), Length(max=2000)],
        description=_l("For example the post office stamp, or the portal's receipt number."))


class ForceMajeureForm(VersionForm):
    """The platform cannot comply for reasons beyond its control (or no longer)."""

    begin = HiddenField(validators=[AnyOf(["1", "0"])])
    reason = TextAreaField(
        _l("What stops the platform"), filters=[_strip],
        validators=[DataRequired(), Length(max=2000)],
        description=_l("Only rules that allow it stop counting (the EU terrorist-content "
                       "regulation's hour); they start again in full when it ends."))


class OutOfBandForm(VersionForm):
    """The agency's confirmation of an urgent request nobody else there was told of."""

    confirmed_by = StringField(
        _l("Who at the agency confirmed it"), filters=[_strip],
        validators=[DataRequired(), Length(max=200)],
        description=_l("Name and position, as they gave them. Not the official who filed."),
    )
    channel = SelectField(_l("How you reached them"), choices=choices(CONFIRMATION_CHANNELS),
                          validators=[DataRequired()])
    confirmed_at = DateTimeLocalField(
        _l("When they confirmed it"), format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(message=_l("Enter a date and time."))],
        description=_l("In your own time zone."),
    )
    note = TextAreaField(
        _l("Note"), filters=[_strip], validators=[DataRequired(), Length(max=4000)],
        description=_l("Where the number or address came from, and what was confirmed."),
    )
