"""The legal reviewer's pages: the queue, claiming a request, and the workspace where
items are decided and the request is moved through its lifecycle."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_number, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from portal.i18n import format_datetime, from_reader_time, reader_time
from portal.i18n import lazy_gettext as _l
from portal.models.columns import utcnow
from portal.review import bp
from portal.review.forms import (
    ACTION_INPUTS,
    ACTIONS,
    ASSIGNMENT_ACTIONS,
    DecideForm,
    DisputeAnswerForm,
    EarlierReceiptForm,
    ForceMajeureForm,
    ItemFilterForm,
    ItemNoteForm,
    ItemsForm,
    MessageForm,
    NoticeForm,
    OutOfBandForm,
    QueueFilterForm,
    ReassignForm,
    ReclassifyForm,
    RestoreForm,
    VersionForm,
)
from portal.services import (
    assignment,
    decisions,
    disputes,
    earlier_receipt,
    force_majeure,
    item_notes,
    lifecycle,
    messages,
    reclassify,
    safeguards,
    workspace,
)
from portal.services import queue as queue_service
from portal.services.errors import Conflict, NotFound, ValidationFailed
from portal.services.paging import Position, page_number, position_of
from portal.services.queue import QueueTab, review_queue
from portal.services.request_filters import RequestFilters
from portal.web import apply_errors, current_actor, roles_required, worded
from portal.wording import (
    conflict_text,
    decision_label,
    policy_namer,
    refusal_text,
    sla_target_label,
)
from workflows import territory
from workflows.decisions import PENDING, Terms, is_tco_order
from workflows.request_flow import IllegalTransition, MissingInput, TransitionError
from workflows.roles import Role
from workflows.states import OPEN_STATES, RequestState

#: Staff may read the queue and the workspace; only reviewers change anything.
READERS = (Role.LEGAL_REVIEWER, Role.PLATFORM_LIAISON, Role.ADMIN)
#: Staff who record facts about a request's clocks (an earlier receipt, a force majeure).
CLOCK_KEEPERS = (Role.LEGAL_REVIEWER, Role.PLATFORM_LIAISON)
#: Staff who hand requests between reviewers and write to agencies (what each may do is
#: the machine's answer: a liaison never decides).
CASE_HANDLERS = (Role.LEGAL_REVIEWER, Role.PLATFORM_LIAISON)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "ACTIONS": ACTIONS,
        "policy_name": policy_namer(),
    }


#: The first page of a list (a position: see portal.services.paging).
FIRST_PAGE = Position()


def _is_reviewer() -> bool:
    return bool(current_user.role is Role.LEGAL_REVIEWER)


# -- the queue --------------------------------------------------------------------------

@bp.get("/")
@roles_required(*READERS)
def queue() -> str:
    """Open requests by time left on their clock, with tabs and filters."""
    default = QueueTab.UNASSIGNED if _is_reviewer() else QueueTab.OPEN
    try:
        tab = QueueTab(request.args.get("tab") or default)
    except ValueError:
        tab = default
    if tab is QueueTab.MINE and not _is_reviewer():
        tab = QueueTab.OPEN
    form = QueueFilterForm(formdata=request.args)
    filters = RequestFilters()
    if form.validate():
        filters = RequestFilters(
            jurisdiction=form.jurisdiction.data or None,
            category=form.category.data or None,
            priority=form.priority.data or None,
        )
    page, counts = review_queue(current_actor(), tab=tab, filters=filters,
                                page=position_of(request.args.get("page")), now=utcnow())
    return render_template("review/queue.html", page=page, counts=counts, tab=tab,
                           count_cap=queue_service.COUNT_CAP,
                           tabs=list(QueueTab), form=form,
                           is_reviewer=_is_reviewer(), filtered=filters != RequestFilters())


@bp.post("/requests/<reference>/claim")
@roles_required(Role.LEGAL_REVIEWER)
def claim(reference: str) -> Response:
    """Take a received request: begin its review, assigned to me."""
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        lifecycle.fire(current_actor(), reference, "begin_review",
                       expected_version=form.version.data)
    except Conflict:
        flash(_("%(reference)s changed while you were looking at it: another reviewer may "
                "have claimed it. The queue shows its current state.", reference=reference),
              "error")
        return redirect(url_for(".queue", tab=request.args.get("tab") or None))
    except IllegalTransition:
        flash(_("%(reference)s is no longer waiting to be claimed: another reviewer has "
                "taken it.", reference=reference), "error")
        return redirect(url_for(".request", reference=reference))
    except TransitionError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for(".queue"))
    flash(_("You are now the reviewer of %(reference)s.", reference=reference), "success")
    return redirect(url_for(".request", reference=reference))


# -- the workspace ----------------------------------------------------------------------

@bp.get("/requests/<reference>", endpoint="request")
@roles_required(*READERS)
def request_page(reference: str) -> Any:
    """Everything about one request, and (for reviewers) the forms to act on it."""
    filters = ItemFilterForm(formdata=request.args)
    if not filters.validate():
        filters = ItemFilterForm(formdata=None)
    return _render_workspace(reference, filters=filters,
                             page=position_of(request.args.get("page")),
                             disputed_page=page_number(request.args.get("disputed")))


def _render_workspace(
    reference: str,
    *,
    filters: ItemFilterForm | None = None,
    page: Position = FIRST_PAGE,
    status: int = 200,
    decide_form: DecideForm | None = None,
    message_form: MessageForm | None = None,
    reclassify_form: ReclassifyForm | None = None,
    action_forms: Mapping[str, FlaskForm] | None = None,
    out_of_band_form: OutOfBandForm | None = None,
    notice_form: NoticeForm | None = None,
    restore_form: RestoreForm | None = None,
    receipt_form: EarlierReceiptForm | None = None,
    force_majeure_form: ForceMajeureForm | None = None,
    answer_form: DisputeAnswerForm | None = None,
    disputed_page: int = 1,
) -> Any:
    """Render the workspace; forms given here are shown as submitted (with errors)."""
    submitted: ItemsForm | None = decide_form or notice_form or restore_form
    if filters is None:
        filters = ItemFilterForm(formdata=None)
        if submitted is not None:
            filters.decision.data = submitted.list_decision.data or ""
            filters.q.data = submitted.list_text.data or ""
            page = position_of(submitted.list_page.data)
    decision = filters.decision.data or ""
    text = filters.q.data or ""
    now = utcnow()
    actor = current_actor()
    ws = workspace.workspace(actor, reference, decision=decision, text=text, page=page,
                             now=now)
    req = ws.request
    options = lifecycle.options(actor, req, now)
    triggers = [o.trigger for o in options]
    forms: dict[str, Any] = {}
    # The machine's answer for the items: shown only to whoever it lets decide them.
    decide_refusal = assignment.decide_refusal(actor, req) if _is_reviewer() else None
    dispute = disputes.summary(req.id)
    contested = (disputes.contested_page(req.id, dispute.round, page=disputed_page)
                 if dispute is not None else None)
    if current_user.role in CASE_HANDLERS:
        version = {"version": req.version}
        given = action_forms or {}
        forms["assignment"] = {}
        for option in options:
            if option.trigger in ASSIGNMENT_ACTIONS and option.possible:
                form = given.get(option.trigger) or ACTIONS[option.trigger].form(
                    formdata=None, data=version, prefix=option.trigger)
                if isinstance(form, ReassignForm):
                    form.reviewer.choices = _reviewer_choices(req.assigned_reviewer_id)
                forms["assignment"][option.trigger] = form
        forms["message"] = message_form or MessageForm(formdata=None, prefix="message")
    if _is_reviewer():
        version = {"version": req.version}
        listed = {**version, "list_decision": decision, "list_text": text,
                  "list_page": ws.position.param()}
        forms["decide"] = decide_form or DecideForm(formdata=None, data=listed)
        # Forms for work the machine would refuse this reviewer (another holds the
        # request) are not offered: the page says who holds it instead. One sent back
        # with errors is shown, so its errors are read.
        if assignment.after_effect_refusal(actor, req) is None or notice_form or restore_form:
            forms["notice"] = notice_form or NoticeForm(formdata=None, data=listed)
            forms["restore"] = restore_form or RestoreForm(formdata=None, data=listed)
        # The ticked items stay ticked when a form comes back with errors.
        forms["ticked"] = set(submitted.item.data or []) if submitted is not None else set()
        if assignment.reclassify_refusal(actor, req) is None or reclassify_form:
            forms["reclassify"] = reclassify_form or ReclassifyForm(
                formdata=None, prefix="reclassify",
                data={**version, "category": req.category.value,
                      "priority": req.priority.value})
        if (safeguards.needs_out_of_band(req) and req.out_of_band_confirmed_at is None
                and req.state in safeguards.CONFIRMABLE_STATES):
            forms["out_of_band"] = out_of_band_form or OutOfBandForm(
                formdata=None, prefix="oob",
                data={**version, "confirmed_at": reader_time(now).replace(second=0,
                                                                          microsecond=0)})
        given = action_forms or {}
        forms["actions"] = {
            trigger: given.get(trigger) or ACTIONS[trigger].form(
                formdata=None, data=version, prefix=trigger)
            for trigger in triggers if trigger in ACTIONS and trigger not in ASSIGNMENT_ACTIONS
        }
        if decide_refusal is None and dispute is not None and dispute.open \
                and req.state is RequestState.DISPUTED:
            forms["answer"] = answer_form or DisputeAnswerForm(
                formdata=None, prefix="answer", data=version)
    if current_user.role in CLOCK_KEEPERS and req.state in OPEN_STATES:
        version = {"version": req.version}
        forms["receipt"] = receipt_form or EarlierReceiptForm(
            formdata=None, prefix="receipt",
            data={**version, "received_at": reader_time(req.clock_start).replace(
                second=0, microsecond=0)})
        resolve = next((c for c in ws.clocks if c.target == "resolve" and not c.stopped),
                       None)
        if resolve is not None:
            in_force_majeure = resolve.pause_reason == "force_majeure"
            forms["force_majeure"] = force_majeure_form or ForceMajeureForm(
                formdata=None, prefix="fm",
                data={**version, "begin": "0" if in_force_majeure else "1"})
    return render_template(
        "review/request.html", ws=ws, req=req, triggers=triggers, forms=forms,
        no_second_channel=safeguards.needs_out_of_band(req),
        # Who was really mailed (the outbox), not who the agency might have: the page
        # says only what happened.
        told=safeguards.second_channel_told(req) if req.second_channel_notices else None,
        refusals={o.trigger: refusal_text(o.refusal) for o in options if o.refusal},
        decide_refusal=refusal_text(decide_refusal) if decide_refusal else None,
        may_decide=_is_reviewer() and decide_refusal is None,
        lead=_is_reviewer() and assignment.standing(actor, req).lead,
        dispute=dispute, contested=contested,
        contested_page_url=lambda n: url_for(".request", reference=reference, disputed=n,
                                             _anchor="dispute"),
        filters=filters, is_reviewer=_is_reviewer(), is_open=req.state in OPEN_STATES,
        now=now, tco_order=is_tco_order(req.jurisdiction, req.category, req.requested_action),
        scope_suggestions=[req.jurisdiction, territory.EEA, territory.GLOBAL],
        item_page_url=lambda n: url_for(".request", reference=reference,
                                        decision=decision or None, q=text or None, page=n,
                                        _anchor="items"),
        # Every reader the request page admits may download its documents there.
        document_url=lambda d: url_for("requests.attachment", reference=reference,
                                       attachment_id=d.id),
    ), status


def _reviewer_choices(holder: int | None) -> list[SelectChoice]:
    """The active reviewers a request can be handed to (not the one who holds it)."""
    return [SelectChoice("", _("Choose a reviewer"))] + [
        SelectChoice(str(r.id), _("%(name)s (lead reviewer)", name=r.name or r.email)
                     if r.lead else r.name or r.email)
        for r in assignment.active_reviewers() if r.id != holder]


def _back_to_items(reference: str, form: ItemsForm) -> Response:
    return redirect(url_for(".request", reference=reference,
                            decision=form.list_decision.data or None,
                            q=form.list_text.data or None,
                            page=form.list_page.data or None, _anchor="items"))


@bp.post("/requests/<reference>/items")
@roles_required(Role.LEGAL_REVIEWER)
def decide(reference: str) -> Any:
    """One decision for the ticked items, or for every item matching the filter."""
    form = DecideForm()
    if not form.validate_on_submit():
        return _render_workspace(reference, status=422, decide_form=form)
    actor = current_actor()
    decision = form.decision.data or ""
    list_decision = form.list_decision.data or ""
    list_text = form.list_text.data or ""
    item_ids: list[int] | None = None
    all_pending = False
    try:
        if form.scope.data == "matching":
            if list_decision == PENDING and not list_text:
                all_pending = True
            else:
                item_ids = workspace.matching_item_ids(
                    actor, reference, decision=list_decision, text=list_text)
                if not item_ids:
                    form.item.errors = [str(_("No item matches this filter: nothing was "
                                              "decided."))]
                    return _render_workspace(reference, status=422, decide_form=form)
        else:
            item_ids = list(form.item.data or [])
        count = decisions.decide_items(
            actor, reference, decision=decision, reason=form.reason.data or "",
            terms=Terms(
                territorial_scope=form.territorial_scope.data or None,
                scope_reason=form.scope_reason.data or "",
                ground=form.ground.data or None,
                ground_statute=form.ground_statute.data or "",
                ground_article=form.ground_article.data or "",
                effect_given_at=_utc(form.effect_given_at.data),
                suspended_until=_utc(form.suspended_until.data),
                no_action_reason=form.no_action_reason.data or None),
            item_ids=item_ids, all_pending=all_pending, expected_version=form.version.data)
    except Conflict:
        flash(conflict_text(reference), "error")
        return _back_to_items(reference, form)
    except TransitionError as exc:
        # Another reviewer holds the request (the page no longer shows the form to whoever
        # may not use it; a page loaded before the request changed hands still may).
        flash(refusal_text(exc), "error")
        return _back_to_items(reference, form)
    except ValidationFailed as exc:
        _show(form, exc, aliases={"item_ids": "item"}, texts=DECIDE_ERRORS)
        return _render_workspace(reference, status=422, decide_form=form)
    flash(ngettext("%(num)s item decided: %(decision)s.",
                   "%(num)s items decided: %(decision)s.", count,
                   decision=decision_label(decision)), "success")
    return _back_to_items(reference, form)


def _utc(value: datetime | None) -> datetime | None:
    """A time from a form, in the reader's zone, as aware UTC (``None`` if empty)."""
    return from_reader_time(value) if value is not None else None


def _chosen(form: NoticeForm | RestoreForm, target: str | None) -> tuple[list[int] | None,
                                                                       bool]:
    """The items a notice or restoration form applies to: the ticked ones, or all acted
    on."""
    if target == "acted":
        return None, True
    return list(form.item.data or []), False


@bp.post("/requests/<reference>/notices")
@roles_required(Role.LEGAL_REVIEWER)
def notice(reference: str) -> Any:
    """Record that the affected users of the ticked (or all acted-on) items were told, or
    that telling them is deferred on a legal basis."""
    form = NoticeForm()
    if not form.validate_on_submit():
        return _render_workspace(reference, status=422, notice_form=form)
    item_ids, every = _chosen(form, form.notice_target.data)
    try:
        count = decisions.record_notice(
            current_actor(), reference, notified=form.notice_mode.data == "notified",
            notified_at=_utc(form.notice_notified_at.data),
            deferred_until=_utc(form.notice_deferred_until.data),
            basis=form.notice_basis.data or None, item_ids=item_ids, all_acted=every,
            expected_version=form.version.data)
    except Conflict:
        flash(conflict_text(reference), "error")
        return _back_to_items(reference, form)
    except TransitionError as exc:
        # Another reviewer holds the request: a restoration or a notice is theirs too.
        flash(refusal_text(exc), "error")
        return _back_to_items(reference, form)
    except ValidationFailed as exc:
        _show(form, exc, texts=NOTICE_ERRORS, aliases={
            "item_ids": "item", "notified_at": "notice_notified_at",
            "deferred_until": "notice_deferred_until", "basis": "notice_basis"})
        return _render_workspace(reference, status=422, notice_form=form)
    if form.notice_mode.data == "notified":
        flash(ngettext("The user of %(num)s item is recorded as told.",
                       "The users of %(num)s items are recorded as told.", count), "success")
    else:
        flash(ngettext("Notice to the user of %(num)s item is deferred.",
                       "Notice to the users of %(num)s items is deferred.", count), "success")
    return _back_to_items(reference, form)


@bp.post("/requests/<reference>/restorations")
@roles_required(Role.LEGAL_REVIEWER)
def restore(reference: str) -> Any:
    """Record that the restriction on the ticked (or all acted-on) items was lifted."""
    form = RestoreForm()
    if not form.validate_on_submit():
        return _render_workspace(reference, status=422, restore_form=form)
    item_ids, every = _chosen(form, form.restore_target.data)
    try:
        count = decisions.restore_items(
            current_actor(), reference, reason=form.restore_reason.data or "",
            note=form.restore_note.data or "", restored_at=_utc(form.restored_at.data),
            item_ids=item_ids, all_acted=every, expected_version=form.version.data)
    except Conflict:
        flash(conflict_text(reference), "error")
        return _back_to_items(reference, form)
    except TransitionError as exc:
        # Another reviewer holds the request: a restoration or a notice is theirs too.
        flash(refusal_text(exc), "error")
        return _back_to_items(reference, form)
    except ValidationFailed as exc:
        _show(form, exc, texts=RESTORE_ERRORS, aliases={
            "item_ids": "item", "reason": "restore_reason", "note": "restore_note"})
        return _render_workspace(reference, status=422, restore_form=form)
    flash(ngettext("%(num)s item is recorded as restored.",
                   "%(num)s items are recorded as restored.", count), "success")
    return _back_to_items(reference, form)


@bp.route("/requests/<reference>/items/<int:item_id>", methods=["GET", "POST"])
@roles_required(*READERS)
def item(reference: str, item_id: int) -> Any:
    """One item: its link, kind and decision, and (for reviewers) the note and snapshot
    reference on its content."""
    actor = current_actor()
    try:
        row = item_notes.get_item(actor, reference, item_id)
    except NotFound:
        abort(404)
    form = ItemNoteForm(data={"note": row.review_note or "",
                              "snapshot_ref": row.snapshot_ref or ""})
    status = 200
    if request.method == "POST":
        if not _is_reviewer():
            abort(403)
        if form.validate_on_submit():
            try:
                item_notes.note_item(actor, reference, item_id, note=form.note.data or "",
                                     snapshot_ref=form.snapshot_ref.data or "")
            except ValidationFailed as exc:
                _show(form, exc, texts=_note_errors())
                status = 422
            else:
                flash(_("The note on item %(position)s is saved.",
                        position=format_number(row.position)), "success")
                return redirect(url_for(".request", reference=reference, _anchor="items"))
        else:
            status = 422
    return render_template("review/item.html", item=row, form=form, reference=reference,
                           is_reviewer=_is_reviewer(),
                           max_note=item_notes.MAX_NOTE_LENGTH,
                           max_snapshot=item_notes.MAX_SNAPSHOT_REF_LENGTH), status


def _note_errors() -> dict[tuple[str, str], object]:
    return {
        ("note", "too_long"): _("The note is too long: at most %(max)s characters are kept.",
                                max=format_number(item_notes.MAX_NOTE_LENGTH)),
        ("snapshot_ref", "too_long"): _(
            "The snapshot reference is too long: at most %(max)s characters are kept.",
            max=format_number(item_notes.MAX_SNAPSHOT_REF_LENGTH)),
        ("snapshot_ref", "control_characters"): _(
            "The snapshot reference must be one line, without control characters."),
        ("note", "unchanged"): _("Nothing changed: the note and the snapshot reference are "
                                 "as they were."),
    }


@bp.post("/requests/<reference>/actions/<trigger>")
@roles_required(*CASE_HANDLERS)
def act(reference: str, trigger: str) -> Any:
    """Move the request on (ask for information, action, decline, revise, uphold), or
    change who holds it (take it, unassign, reassign). Which of them this reader may do
    is the machine's answer: a liaison's attempt to decide is refused like any other."""
    action = ACTIONS.get(trigger)
    if action is None:
        abort(404)  # not an action staff take here, whatever the table says
    form = action.form(prefix=trigger)
    if isinstance(form, ReassignForm):
        form.reviewer.choices = _reviewer_choices(None)
    if not form.validate_on_submit():
        return _render_workspace(reference, status=422, action_forms={trigger: form})
    inputs = {name: form[name].data or "" for name in ACTION_INPUTS if name in form}
    try:
        lifecycle.fire(current_actor(), reference, trigger, inputs=inputs,
                       expected_version=form.version.data)
    except Conflict:
        flash(conflict_text(reference), "error")
        return redirect(url_for(".request", reference=reference))
    except MissingInput as exc:
        form[exc.field].errors = [str(_("This is required."))]
        return _render_workspace(reference, status=422, action_forms={trigger: form})
    except TransitionError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for(".request", reference=reference, _anchor="actions"))
    except ValidationFailed as exc:
        _show(form, exc, texts=ASSIGNMENT_ERRORS)
        return _render_workspace(reference, status=422, action_forms={trigger: form})
    done = str(action.done)
    if trigger == "request_info":
        event = workspace.latest_event(current_actor(), reference, "transition")
        resolve = ((event.payload.get("sla") or {}).get("resolve") or {}) if event else {}
        if resolve.get("pause") is False:
            done = str(_("Your question was sent to the agency. The law that sets the "
                         "deadline allows no pause: the deadline keeps running."))
    flash(done, "success")
    return redirect(url_for(".request", reference=reference))


@bp.post("/requests/<reference>/disputes/answers", endpoint="answer_dispute")
@roles_required(Role.LEGAL_REVIEWER)
def answer_dispute(reference: str) -> Any:
    """Answer the ticked contested items (or all not answered yet): the decision stands,
    or was changed, with an explanation the agency reads beside each."""
    form = DisputeAnswerForm(prefix="answer")
    if not form.validate_on_submit():
        return _render_workspace(reference, status=422, answer_form=form)
    every = form.target.data == "open"
    try:
        count = disputes.answer_items(
            current_actor(), reference, answer=form.answer.data or "",
            text=form.text.data or "", item_ids=None if every else list(form.item.data or []),
            all_open=every, expected_version=form.version.data)
    except Conflict:
        flash(conflict_text(reference), "error")
        return redirect(url_for(".request", reference=reference, _anchor="dispute"))
    except TransitionError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for(".request", reference=reference, _anchor="dispute"))
    except ValidationFailed as exc:
        _show(form, exc, aliases={"item_ids": "item"}, texts=DISPUTE_ERRORS)
        return _render_workspace(reference, status=422, answer_form=form)
    flash(ngettext("%(num)s contested item answered.", "%(num)s contested items answered.",
                   count), "success")
    return redirect(url_for(".request", reference=reference, _anchor="dispute"))


@bp.post("/requests/<reference>/messages")
@roles_required(*CASE_HANDLERS)
def message(reference: str) -> Any:
    """A message to the agency, or an internal note only staff see."""
    form = MessageForm(prefix="message")
    if not form.validate_on_submit():
        return _render_workspace(reference, status=422, message_form=form)
    try:
        messages.post_message(current_actor(), reference, form.body.data or "",
                              internal=bool(form.internal.data))
    except ValidationFailed as exc:
        _show(form, exc)
        return _render_workspace(reference, status=422, message_form=form)
    if form.internal.data:
        flash(_("Internal note added. The agency does not see it."), "success")
    else:
        flash(_("Message sent to the agency."), "success")
    return redirect(url_for(".request", reference=reference, _anchor="messages"))


@bp.post("/requests/<reference>/out-of-band")
@roles_required(Role.LEGAL_REVIEWER)
def confirm_out_of_band(reference: str) -> Any:
    """Record that the agency confirmed an urgent request nobody else there was told of."""
    form = OutOfBandForm(prefix="oob")
    if not form.validate_on_submit():
        return _render_workspace(reference, status=422, out_of_band_form=form)
    assert form.confirmed_at.data is not None  # InputRequired and the field's parser
    data = safeguards.Confirmation(
        confirmed_by=form.confirmed_by.data or "", channel=form.channel.data or "",
        confirmed_at=from_reader_time(form.confirmed_at.data), note=form.note.data or "")
    try:
        safeguards.confirm_out_of_band(current_actor(), reference, data,
                                       expected_version=form.version.data)
    except Conflict:
        flash(_("Nothing was recorded: %(reference)s no longer needs a confirmation, "
                "already has one, or changed meanwhile. The page shows it as it is now.",
                reference=reference), "error")
        return redirect(url_for(".request", reference=reference))
    except ValidationFailed as exc:
        _show(form, exc, texts=OUT_OF_BAND_ERRORS)
        return _render_workspace(reference, status=422, out_of_band_form=form)
    flash(_("The agency's confirmation is on the record. The request can now be actioned."),
          "success")
    return redirect(url_for(".request", reference=reference, _anchor="actions"))


@bp.post("/requests/<reference>/reclassify", endpoint="reclassify")
@roles_required(Role.LEGAL_REVIEWER)
def reclassify_request(reference: str) -> Any:
    """Change the category or priority; the SLA policy is matched again."""
    form = ReclassifyForm(prefix="reclassify")
    if not form.validate_on_submit():
        return _render_workspace(reference, status=422, reclassify_form=form)
    actor = current_actor()
    try:
        reclassify.reclassify(actor, reference, category=form.category.data,
                              priority=form.priority.data, reason=form.reason.data or "",
                              count_from=form.count_from.data or "",
                              expected_version=form.version.data)
    except Conflict:
        flash(conflict_text(reference), "error")
        return redirect(url_for(".request", reference=reference))
    except TransitionError as exc:
        # Another reviewer holds the request, and the actor does not lead.
        flash(refusal_text(exc), "error")
        return redirect(url_for(".request", reference=reference))
    except ValidationFailed as exc:
        _show(form, exc, texts=CLOCK_ERRORS)
        return _render_workspace(reference, status=422, reclassify_form=form)
    event = workspace.latest_event(actor, reference, "reclassified")
    flash(_sla_change_text(event.payload.get("sla") if event else None), "success")
    return redirect(url_for(".request", reference=reference))


@bp.post("/requests/<reference>/earlier-receipt", endpoint="earlier_receipt")
@roles_required(*CLOCK_KEEPERS)
def record_earlier_receipt(reference: str) -> Any:
    """Record that the order reached the platform before it was filed: the deadlines
    count from that receipt."""
    form = EarlierReceiptForm(prefix="receipt")
    if not form.validate_on_submit():
        return _render_workspace(reference, status=422, receipt_form=form)
    assert form.received_at.data is not None  # InputRequired and the field's parser
    data = earlier_receipt.EarlierReceipt(
        received_at=from_reader_time(form.received_at.data),
        channel=form.channel.data or "", reason=form.reason.data or "")
    try:
        earlier_receipt.record_earlier_receipt(current_actor(), reference, data,
                                               expected_version=form.version.data)
    except Conflict:
        flash(conflict_text(reference), "error")
        return redirect(url_for(".request", reference=reference))
    except ValidationFailed as exc:
        _show(form, exc, texts=CLOCK_ERRORS)
        return _render_workspace(reference, status=422, receipt_form=form)
    event = workspace.latest_event(current_actor(), reference, "receipt_recorded")
    flash(" ".join([_("The earlier receipt is on the record; the deadlines count from it."),
                    *_deadline_changes(event.payload.get("sla") if event else None)]),
          "success")
    return redirect(url_for(".request", reference=reference))


@bp.post("/requests/<reference>/force-majeure", endpoint="force_majeure")
@roles_required(*CLOCK_KEEPERS)
def declare_force_majeure(reference: str) -> Any:
    """Begin or end a force majeure on the resolution deadline (TCO Art. 3(7))."""
    form = ForceMajeureForm(prefix="fm")
    if not form.validate_on_submit():
        return _render_workspace(reference, status=422, force_majeure_form=form)
    begin = form.begin.data == "1"
    try:
        force_majeure.declare(current_actor(), reference, begin=begin,
                              reason=form.reason.data or "",
                              expected_version=form.version.data)
    except force_majeure.ForceMajeureRefused as exc:
        flash(str(FORCE_MAJEURE_REFUSALS.get(exc.reason, exc)), "error")
        return redirect(url_for(".request", reference=reference))
    except Conflict:
        flash(conflict_text(reference), "error")
        return redirect(url_for(".request", reference=reference))
    except ValidationFailed as exc:
        _show(form, exc)
        return _render_workspace(reference, status=422, force_majeure_form=form)
    flash(_("Force majeure is on the record: the deadlines that allow it have stopped.")
          if begin else
          _("Force majeure has ended: those deadlines run again in full from now."),
          "success")
    return redirect(url_for(".request", reference=reference))


# -- wording ----------------------------------------------------------------------------

#: How the decide form words the service's refusals of its item selection.
DECIDE_ERRORS = {
    ("item_ids", "required"): _l("Select at least one item, or apply the decision to all "
                                 "items matching the filter."),
    ("item_ids", "unknown"): _l("Some selected items are not part of this request: reload "
                                "the page and select again."),
    ("territorial_scope", "invalid"): _l("Use two-letter country codes (e.g. TR, DE), EEA, "
                                         "or global on its own."),
    ("ground_statute", "required"): _l("Name the law or the platform rule the action "
                                       "rests on."),
    ("suspended_until", "required"): _l("A suspension needs the time it ends."),
    ("suspended_until", "before_effect"): _l("A suspension must end after it takes effect."),
    ("no_action_reason", "required"): _l("Choose why nothing is done."),
}

#: How the assignment forms word the service's refusals of the reviewer chosen.
ASSIGNMENT_ERRORS = {
    ("reviewer", "not_reviewer"): _l("Choose an active legal reviewer."),
    ("reviewer", "same_reviewer"): _l("This reviewer already holds the request."),
}

#: How the dispute answer form words the service's refusals of the items.
DISPUTE_ERRORS = {
    ("item_ids", "required"): _l("Select at least one contested item without an answer, "
                                 "or answer all of them at once."),
    ("item_ids", "not_contested"): _l("Some selected items are not contested in this "
                                      "dispute."),
    ("item_ids", "not_changed"): _l("Some selected items kept their decision: change it "
                                    "with the decision form first, or answer that it "
                                    "stands."),
    ("item_ids", "changed"): _l("Some selected items were decided again since the "
                                "dispute: answer that their decision was changed."),
}

#: How the notice and restoration forms word the service's refusals of the items.
NOTICE_ERRORS = {
    ("item_ids", "required"): _l("Select at least one item with an action, or apply it to "
                                 "every item with an action."),
    ("item_ids", "not_eligible"): _l("Some selected items have no action, or their users "
                                     "were told already: select only items with an action."),
    ("item_ids", "unknown"): DECIDE_ERRORS[("item_ids", "unknown")],
    ("deferred_until", "required"): _l("Give the time until which notice is deferred."),
    ("basis", "required"): _l("Choose the legal basis of the deferral."),
}
RESTORE_ERRORS = {
    ("item_ids", "required"): NOTICE_ERRORS[("item_ids", "required")],
    ("item_ids", "not_eligible"): _l("Some selected items have no action to lift, are "
                                     "restored already, or took effect after this time."),
    ("item_ids", "unknown"): DECIDE_ERRORS[("item_ids", "unknown")],
}


#: How the clock forms word the service's refusals.
CLOCK_ERRORS = {
    ("count_from", "required"): _l("Choose where the deadlines count from."),
    ("received_at", "future"): _l("This time is in the future."),
    ("received_at", "not_earlier"): _l("This time is not before the filing: the filing "
                                       "itself is the receipt then."),
    ("received_at", "before_order"): _l("This time is before the order's own date."),
    ("category", "no_sla_policy"): _l("No SLA policy sets a deadline for this "
                                      "classification: an administrator must add one "
                                      "first."),
}

#: Why a force majeure cannot begin or end now.
FORCE_MAJEURE_REFUSALS = {
    "no_clock": _l("The request has no running resolution deadline."),
    "not_allowed": _l("No rule of this deadline allows a force majeure pause."),
    "paused": _l("The deadline is already paused."),
    "not_paused": _l("No force majeure is under way."),
}

#: How the out-of-band form words the service's refusals of the time given.
OUT_OF_BAND_ERRORS = {
    ("confirmed_at", "future"): _l("This time is in the future."),
    ("confirmed_at", "before_receipt"): _l("This time is before the request was received."),
}


def _show(form: FlaskForm, exc: ValidationFailed, *, aliases: Mapping[str, str] | None = None,
          texts: Mapping[tuple[str, str], object] | None = None) -> None:
    """The service's field errors on the form; those of no field as flashes."""
    for text in apply_errors(form, exc.errors, wording=worded(texts or {}), aliases=aliases):
        flash(text, "error")


def _deadline_changes(changes: Mapping[str, Any] | None) -> list[str]:
    """Each moved deadline in words: what it was and what it is now, and by which policy."""
    parts = []
    policy_name = policy_namer()
    for target, change in (changes or {}).items():
        if "was_due_at" not in change:
            continue
        parts.append(_("Deadline for %(clock)s: was %(was)s (%(was_policy)s), now %(due)s "
                       "(%(policy)s).",
                       clock=sla_target_label(target),
                       was=format_datetime(datetime.fromisoformat(change["was_due_at"])),
                       was_policy=policy_name(change["was_policy"]),
                       due=format_datetime(datetime.fromisoformat(change["due_at"])),
                       policy=policy_name(change["policy"])))
        if change.get("clamped"):
            parts.append(_("The %(clock)s deadline is brought forward to the resolution "
                           "deadline.", clock=sla_target_label(target)))
    return parts


def _sla_change_text(changes: Mapping[str, Any] | None) -> str:
    parts = _deadline_changes(changes)
    if not parts:
        return str(_("The request is reclassified. Its SLA deadlines did not change."))
    return " ".join([_("The request is reclassified."), *parts])
