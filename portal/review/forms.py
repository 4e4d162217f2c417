"""Forms of the reviewer's pages: queue filters, claiming, item decisions (with their
territorial scope, ground and effect), user notices and restorations, lifecycle actions,
messages, reclassification and out-of-band confirmations."""

from __future__ import annotations

from dataclasses import dataclass

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

from portal.i18n import lazy_gettext as _l
from portal.services.messages import MAX_MESSAGE_LENGTH
from portal.wording import (
    CATEGORIES,
    CONFIRMATION_CHANNELS,
    COUNT_FROM,
    DECISIONS,
    GROUNDS,
    NO_ACTION_REASONS,
    NOTICE_DEFERRALS,
    PRIORITIES,
    RECEIPT_CHANNELS,
    RESTORE_REASONS,
)
from workflows.decisions import CURRENT, PENDING


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


class ItemsForm(VersionForm):
    """The ticked items of the workspace's item list, and the list's filter and page when
    it was shown. The decision, notice and restoration forms share them: they are one
    HTML form with a button (and an action) for each."""

    item = SelectMultipleField(_l("Items"), coerce=int, validate_choice=False)
    list_decision = HiddenField()
    list_text = HiddenField()
    # A keyset position ("after.<cursor>", "last", a page number from before).
    list_page = StringField(widget=HiddenInput(), validators=[Optional(), Length(max=300)])


_WHEN = "%Y-%m-%dT%H:%M"


class DecideForm(ItemsForm):
    """One decision for the ticked items, or for every item matching the list's filter,
    with everything the law reads of it."""

    decision = SelectField(_l("Decision"),
                           choices=choices({d.value: DECISIONS[d.value] for d in CURRENT}),
                           validators=[DataRequired()], id="decide-decision")
    territorial_scope = StringField(
        _l("Where it applies"), filters=[_strip], validators=[Optional(), Length(max=900)],
        description=_l("Country codes separated by commas (e.g. TR, or DE, AT), EEA, or "
                       "global. Empty: the request's country for “Withheld”, worldwide "
                       "for every other action."),
        render_kw={"list": "scope-suggestions", "autocomplete": "off", "dir": "ltr"},
    )
    scope_reason = StringField(
        _l("Why this scope"), filters=[_strip], validators=[Optional(), Length(max=1000)],
        description=_l("Required when a terrorist-content removal order (EU) is given "
                       "effect in fewer places than the EEA."),
    )
    ground = SelectField(_l("On what ground"),
                         choices=choices(GROUNDS, first=_l("Local law (the default)")),
                         default="")
    ground_statute = StringField(
        _l("Law or rule"), filters=[_strip], validators=[Optional(), Length(max=300)],
        description=_l("Empty under local law: the request's legal basis. Under the "
                       "platform's rules: the rule's name."),
    )
    ground_article = StringField(_l("Article or section"), filters=[_strip],
                                 validators=[Optional(), Length(max=100)])
    effect_given_at = DateTimeLocalField(
        _l("Effect given at"), validators=[Optional()], description=_l(
            "In your own time zone. Empty: now."), format=_WHEN)
    suspended_until = DateTimeLocalField(
        _l("Suspended until"), validators=[Optional()], description=_l(
            "For “Account suspended” only, and required there."), format=_WHEN)
    no_action_reason = SelectField(
        _l("Reason for no action"),
        choices=choices(NO_ACTION_REASONS, first=_l("Choose for “No action”")), default="",
        description=_l("Required for “No action”."))
    reason = StringField(
        _l("Explanation"), filters=[_strip], validators=[Optional(), Length(max=1000)],
        id="decide-reason",
        description=_l("Optional. The agency reads it beside the decision."),
    )
    # Which button was pressed: the ticked items, or all items matching the filter.
    scope = HiddenField(validators=[AnyOf(["selected", "matching"])])


class NoticeForm(ItemsForm):
    """Whether the users of the ticked (or of every acted-on) item were told, or telling
    them is deferred on a legal basis."""

    notice_mode = RadioField(
        _l("The affected users"),
        choices=[SelectChoice("notified", _l("were told")),
                 SelectChoice("deferred", _l("are told later: notice is deferred"))],
        validators=[InputRequired(message=_l("Choose one."))])
    notice_notified_at = DateTimeLocalField(
        _l("Told at"), validators=[Optional()],
        description=_l("In your own time zone. Empty: now."), format=_WHEN)
    notice_deferred_until = DateTimeLocalField(
        _l("Deferred until"), validators=[Optional()],
        description=_l("In your own time zone. The reviewer and the liaison team are "
                       "alerted when it ends."), format=_WHEN)
    notice_basis = SelectField(_l("Legal basis of the deferral"),
                               choices=choices(NOTICE_DEFERRALS, first=_l("Choose a basis")),
                               default="")
    notice_target = HiddenField(validators=[AnyOf(["selected", "acted"])])


class RestoreForm(ItemsForm):
    """The ticked (or every acted-on) item's restriction was lifted."""

    restore_reason = SelectField(_l("Why it was restored"),
                                 choices=choices(RESTORE_REASONS, first=_l("Choose a reason")),
                                 validators=[DataRequired(message=_l("Choose a reason."))])
    restore_note = StringField(
        _l("Note"), filters=[_strip], validators=[Optional(), Length(max=1000)],
        description=_l("The court decision or the complaint, as it is referred to."))
    restored_at = DateTimeLocalField(
        _l("Restored at"), validators=[Optional()],
        description=_l("In your own time zone. Empty: now."), format=_WHEN)
    restore_target = HiddenField(validators=[AnyOf(["selected", "acted"])])


class RequestInfoForm(VersionForm):
    question = TextAreaField(
        _l("Question to the agency"), filters=[_strip],
        validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)],
        description=_l("The agency sees this. The resolution clock pauses until it answers, "
                       "unless the law that sets it allows no pause."),
    )


class DeclineForm(VersionForm):
    no_action_reason = SelectField(
        _l("Reason for no action"),
        choices=choices(NO_ACTION_REASONS, first=_l("Choose a reason")),
        validators=[DataRequired(message=_l("Choose a reason."))],
        description=_l("Every item still pending becomes “No action” with this reason."),
    )
    reason = TextAreaField(
        _l("Reason for declining"), filters=[_strip],
        validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)],
        description=_l("In your words: kept on the record with the decision."),
    )


class UpholdForm(VersionForm):
    reason = TextAreaField(
        _l("Reason for upholding the outcome"), filters=[_strip],
        validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)],
        description=_l("The agency sees this answer to its dispute."),
    )


class UnassignForm(VersionForm):
    reason = TextAreaField(
        _l("Reason (optional)"), filters=[_strip], validators=[Optional(), Length(max=2000)],
        description=_l("Platform staff see it on the timeline; the agency does not."),
    )


class ReassignForm(UnassignForm):
    # The choices are the active reviewers, set by the page (and by the post it checks).
    reviewer = SelectField(_l("Reviewer"),
                           validators=[DataRequired(message=_l("Choose a reviewer."))])


@dataclass(frozen=True)
class Action:
    """A lifecycle action as the workspace offers it."""

    label: LazyString
    hint: LazyString
    form: type[VersionForm]
    done: LazyString
    #: Asked before the action is taken (the browser's confirm dialog).
    confirm: LazyString | None = None
    #: Shown as a dangerous action (red), not as the way forward.
    danger: bool = False


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
        _l("Action this request? The decisions take effect and the agency is told the "
           "outcome."),
    ),
    "decline": Action(
        _l("Decline the request"),
        _l("No item may have an action decision."),
        DeclineForm, _l("The request is declined."),
        _l("Decline this request? Pending items become “No action”."), danger=True,
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
        _l("Uphold the outcome and close the dispute?"), danger=True,
    ),
    # Who holds the request (the state stays as it is).
    "claim": Action(
        _l("Take this request"),
        _l("Nobody holds it now: you become its reviewer."),
        VersionForm, _l("You are now the reviewer of this request."),
    ),
    "unassign": Action(
        _l("Unassign the reviewer"),
        _l("Nobody holds the request afterwards: it waits in the queue for a reviewer."),
        UnassignForm, _l("Nobody holds the request now: it waits in the queue."),
        _l("Unassign the reviewer of this request?"),
    ),
    "reassign": Action(
        _l("Reassign to another reviewer"),
        _l("Hand the request to another active legal reviewer."),
        ReassignForm, _l("The request is reassigned."),
    ),
}

#: The actions that change who holds a request, shown apart from the lifecycle's.
ASSIGNMENT_ACTIONS = ("claim", "unassign", "reassign")
#: The text fields an action form passes to the machine as inputs (the ones it has).
ACTION_INPUTS = ("question", "reason", "no_action_reason", "reviewer")


class DisputeAnswerForm(VersionForm):
    """The reviewer's answer to the ticked contested items, or to all not answered yet."""

    item = SelectMultipleField(_l("Items"), coerce=int, validate_choice=False)
    answer = RadioField(_l("Answer"), choices=[
        SelectChoice("upheld", _l("The decision stands")),
        SelectChoice("changed", _l("The decision was changed (change it with the decision "
                                   "form first)")),
    ], validators=[InputRequired(message=_l("Choose an answer."))])
    text = TextAreaField(_l("Explanation to the agency"), filters=[_strip],
                         validators=[DataRequired(), Length(max=4000)],
                         description=_l("The agency sees it beside each item answered."))
    # Set by the button pressed (not a hidden input: two values would reach the form).
    target = StringField(validators=[AnyOf(["selected", "open"])])


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), filters=[_strip],
                         validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)])
    internal = BooleanField(_l("Internal — the agency never sees this"))


class ItemNoteForm(FlaskForm):
    """The reviewer's note on one item and where a snapshot of its content is kept.
    Lengths are the service's to check: it says how long the text is and what is kept."""

    note = TextAreaField(_l("Note on the content"), render_kw={"rows": 5})
    snapshot_ref = StringField(_l("Snapshot reference"),
                               render_kw={"dir": "ltr", "autocomplete": "off"})


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
