"""The agency official's pages: file a request (after a preview of its targets), the
agency's requests, and one request with its clocks, timeline, items, messages and the
actions the reader may take now.

Staff may open a request page too, read-only: they act in their own workspace.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from babel.lists import format_list
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_number, get_locale
from flask_babel import gettext as babel_gettext
from flask_babel import ngettext as babel_ngettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.datastructures import FileStorage

from portal import document_forms, intake, platforms
from portal.clock_cells import countdown_text
from portal.decision_csv import decisions_json_response, decisions_response
from portal.document_labels import document_kind_label, language_name
from portal.error_text import rejection_text
from portal.i18n import bdi, format_datetime, with_user_text
from portal.i18n import lazy_gettext as _l
from portal.models import Agency, Event, LegalRequest, User, VerificationStatus
from portal.models.columns import utcnow
from portal.requests import bp
from portal.requests.forms import (
    ITEM_FILTERS,
    ActionForm,
    AddDocumentsForm,
    AnswerForm,
    FilingForm,
    ListFilterForm,
    MessageForm,
)
from portal.services import (
    attachments,
    disputes,
    documents,
    filing,
    lifecycle,
    listing,
    messages,
)
from portal.services.actors import Actor
from portal.services.decision_export import decision_export
from portal.services.documents import DocumentInput
from portal.services.errors import Conflict, FieldError, Forbidden, Problem, ValidationFailed
from portal.services.paging import page_number, position_of
from portal.services.reports import ClockStatus
from portal.services.request_filters import RequestFilters
from portal.web import apply_errors, current_actor, get_request_or_404, roles_required, worded
from portal.wording import (
    AGENCY_BANDS,
    TRIGGER_INPUTS,
    category_label,
    channel_label,
    conflict_text,
    decision_label,
    decision_lines,
    deferral_label,
    dispute_answer_label,
    priority_label,
    receipt_channel_label,
    refusal_text,
    resolution_label,
    restore_reason_label,
    role_label,
    sla_target_label,
    state_label,
    trigger_label,
)
from workflows.request_flow import GuardFailed, MissingInput, TransitionError, lookup
from workflows.roles import USER_ROLES, Role

# -- wording ----------------------------------------------------------------------------

def _(string: str, **variables: Any) -> str:
    """Flask-Babel's gettext, typed (it returns ``Any``)."""
    return str(babel_gettext(string, **variables))


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """Flask-Babel's ngettext, typed."""
    return str(babel_ngettext(singular, plural, num, **variables))


@dataclass(frozen=True)
class ActionText:
    """How the request page offers one agency action."""

    heading: LazyString
    label: LazyString
    hint: LazyString
    button: LazyString
    done: LazyString
    confirm: LazyString | None = None


#: The actions an agency official can take on their request (the table in
#: workflows.request_flow says when; this says how the page words them).
ACTIONS: dict[str, ActionText] = {
    "provide_info": ActionText(
        _l("Answer the question"), _l("Your answer"),
        _l("The review continues once you answer; the deadline resumes."),
        _l("Send the answer"), _l("Your answer was sent. The review continues."),
    ),
    "dispute": ActionText(
        _l("Dispute the outcome"), _l("What you contest, and why"),
        _l("A reviewer looks at the request again and answers within the dispute deadline. "
           "Tick the targets you contest in the list of targets, each with its own reason "
           "if you like; with none ticked you contest every target."),
        _l("Dispute the outcome"), _l("Your dispute was recorded. A reviewer will answer."),
    ),
    "withdraw": ActionText(
        _l("Withdraw the request"), _l("Reason for withdrawing"),
        _l("The platform stops working on it. This cannot be undone; the reason is kept "
           "on the record."),
        _l("Withdraw the request"), _l("The request was withdrawn."),
        _l("Withdraw this request? This cannot be undone."),
    ),
}

#: Service field errors worded for this form, where the generic wording is too vague.
FIELD_ERRORS: dict[tuple[str, str], LazyString] = {
    ("order_date", "invalid"): _l("The order date cannot be in the future."),
    ("jurisdiction", "invalid"): _l("Choose a country from the list."),
    ("attachment", "required"): _l("The file is empty."),
    ("attachment", "not_pdf"): _l("The order document must be a PDF file."),
    ("documents", "not_pdf"): _l("The document must be a PDF file."),
    ("documents", "required"): _l("The file is empty."),
}

_field_error_text = worded(FIELD_ERRORS)

#: What each priority means, shown next to its choice on the filing form.
PRIORITY_HINTS: dict[str, LazyString] = {
    "standard": _l("Answered within the deadline that the law or the platform's policy sets "
                   "for your country and category."),
    "urgent": _l("Needs faster handling, for example during a crisis. Some laws set shorter "
                 "deadlines for urgent orders."),
    "emergency": _l("Only when someone's life or physical safety is under threat. Handled "
                    "around the clock: the platform aims to answer within one hour."),
}


def kind_count_text(kind: str, count: int) -> str:
    """'3 accounts' in the reader's language."""
    if kind == "post":
        return ngettext("%(count)s post", "%(count)s posts", count, count=format_number(count))
    if kind == "channel":
        return ngettext("%(count)s channel", "%(count)s channels", count,
                        count=format_number(count))
    return ngettext("%(count)s account", "%(count)s accounts", count,
                    count=format_number(count))


def understood_text(accepted: list[intake.Target]) -> str:
    """'3 targets understood: 2 accounts and 1 post.' in the reader's language."""
    if not accepted:
        return _("No target was understood.")
    counts = Counter(t.kind.value for t in accepted)
    kinds = [kind_count_text(kind, counts[kind]) for kind in ("account", "post", "channel")
             if counts[kind]]
    return ngettext("%(count)s target understood: %(kinds)s.",
                    "%(count)s targets understood: %(kinds)s.", len(accepted),
                    count=format_number(len(accepted)),
                    kinds=format_list(kinds, locale=get_locale()))


def band_text(status: ClockStatus) -> str:
    found = AGENCY_BANDS.get(status.band)
    return str(found) if found is not None else str(status.band)


def filing_block_text(agency: Agency | None, now: datetime) -> str | None:
    """Why the official's agency cannot file now, in the reader's language, or ``None``.

    Whether it can is the agency's own rule (``Agency.filing_block``); this only words it.
    """
    if agency is None:
        return _("Your account is not linked to an agency, so it cannot file requests.")
    if agency.filing_block(now) is None:
        return None
    if agency.status is VerificationStatus.PENDING:
        text = _("Your agency has not been verified yet. An administrator checks every "
                 "agency (its official domain and documents) before it can file requests.")
    elif agency.status is VerificationStatus.REJECTED:
        text = _("Your agency's verification was rejected, so it cannot file requests.")
    elif agency.status is VerificationStatus.SUSPENDED:
        text = _("Your agency is suspended, so it cannot file requests.")
    else:
        text = _("Your agency's verification has expired. It must be verified again before "
                 "it can file requests.")
    return text


# -- helpers for templates --------------------------------------------------------------

@dataclass(frozen=True)
class EventView:
    """One timeline entry in words."""

    event: Event
    title: str
    details: list[str]
    who: str


def person(user: User | None, role: object, viewer: Actor) -> str:
    """Who did something, as this viewer may know it: staff see names; agencies see
    their own colleagues' names and the platform's people by role."""
    if user is None:
        return role_label(role)
    if viewer.is_staff or (user.agency_id is not None and user.agency_id == viewer.agency_id):
        return with_user_text(_("%(name)s (%(role)s)"), name=bdi(user.name or user.email),
                              role=role_label(role))
    return role_label(role)


def describe_event(event: Event, viewer: Actor) -> EventView:
    """An event of the audit record in words."""
    payload = event.payload or {}
    details: list[str] = []
    if event.kind == "filed":
        count = int(payload.get("items", 0))
        title = ngettext("Filed with %(count)s target", "Filed with %(count)s targets", count,
                         count=format_number(count))
    elif event.kind == "transition":
        title = trigger_label(event.trigger or "")
        details.append(_("State: %(before)s → %(after)s", before=state_label(event.from_state),
                         after=state_label(event.to_state)))
        for name, label in TRIGGER_INPUTS.items():
            if payload.get(name):
                details.append(with_user_text(_("%(label)s: %(text)s"), label=label,
                                              text=bdi(payload[name])))
        if payload.get("contested"):
            contested = int(payload["contested"])
            details.append(ngettext("%(count)s target contested",
                                    "%(count)s targets contested", contested,
                                    count=format_number(contested)))
        if payload.get("resolution"):
            details.append(_("Resolution: %(resolution)s",
                             resolution=resolution_label(payload["resolution"])))
    elif event.kind == "dispute_answered":
        count = int(payload.get("count", 0))
        title = ngettext("%(count)s contested target answered: %(answer)s",
                         "%(count)s contested targets answered: %(answer)s", count,
                         count=format_number(count),
                         answer=dispute_answer_label(payload.get("answer", "")))
        if payload.get("text"):
            details.append(bdi(payload["text"]))
    elif event.kind == "items_decided":
        count = int(payload.get("count", 0))
        title = ngettext("%(count)s item decided: %(decision)s",
                         "%(count)s items decided: %(decision)s", count,
                         count=format_number(count),
                         decision=decision_label(payload.get("decision", "")))
        if payload.get("reason"):
            details.append(with_user_text(_("Reason: %(text)s"), text=bdi(payload["reason"])))
        details += decision_lines(payload)
    elif event.kind == "items_restored":
        count = int(payload.get("count", 0))
        title = ngettext("%(count)s item restored", "%(count)s items restored", count,
                         count=format_number(count))
        details.append(restore_reason_label(payload.get("restored_reason", "")))
        if payload.get("restored_note"):
            details.append(bdi(payload["restored_note"]))
    elif event.kind == "notice_recorded":
        count = int(payload.get("count", 0))
        if payload.get("user_notified_at"):
            title = ngettext("The user of %(count)s item was told",
                             "The users of %(count)s items were told", count,
                             count=format_number(count))
        else:
            title = ngettext("Notice to the user of %(count)s item deferred",
                             "Notice to the users of %(count)s items deferred", count,
                             count=format_number(count))
            until = payload.get("notice_deferred_until")
            if isinstance(until, str):
                details.append(_("Deferred until %(when)s",
                                 when=format_datetime(datetime.fromisoformat(until))))
            details.append(deferral_label(payload.get("notice_deferral_basis", "")))
    elif event.kind == "notice_deferral_ended":
        count = int(payload.get("count", 0))
        title = ngettext("The deferral of the notice to the user of %(count)s item ended",
                         "The deferral of the notice to the users of %(count)s items ended",
                         count, count=format_number(count))
    elif event.kind == "sla_alert":
        target = sla_target_label(payload.get("target", ""))
        threshold = float(payload.get("threshold", 0))
        if threshold >= 1:
            title = _("The %(target)s deadline passed", target=target)
        else:
            title = _("%(percent)s%% of the %(target)s time used",
                      percent=round(threshold * 100), target=target)
        if payload.get("source"):
            details.append(_("Deadline set by: %(source)s", source=payload["source"]))
    elif event.kind == "reclassified":
        title = _("Reclassified")
        if payload.get("category"):
            before, after = payload["category"]
            details.append(_("Category: %(before)s → %(after)s",
                             before=category_label(before), after=category_label(after)))
        if payload.get("priority"):
            before, after = payload["priority"]
            details.append(_("Priority: %(before)s → %(after)s",
                             before=priority_label(before), after=priority_label(after)))
        if payload.get("count_from") == "receipt":
            details.append(_("The deadlines count from the receipt."))
        elif payload.get("count_from") == "reclassification":
            details.append(_("The deadlines count from the reclassification."))
        if payload.get("reason"):
            details.append(with_user_text(_("Reason: %(text)s"), text=bdi(payload["reason"])))
    elif event.kind == "receipt_recorded":
        title = _("Earlier receipt recorded")
        when = payload.get("received_at")
        if when:
            details.append(_("Received %(when)s (%(channel)s); the deadlines count from then.",
                             when=format_datetime(datetime.fromisoformat(when)),
                             channel=receipt_channel_label(payload.get("channel", ""))))
    elif event.kind == "force_majeure":
        # The authority is told (TCO Art. 3(7)): the platform cannot comply for now.
        title = (_("Force majeure declared: the platform cannot comply for now")
                 if payload.get("began") else _("Force majeure ended"))
        if payload.get("reason"):
            details.append(with_user_text(_("Reason: %(text)s"), text=bdi(payload["reason"])))
    elif event.kind == "notice_published":
        title = _("Published as a notice")
        details.append(_("Redacted targets: %(items)s, redacted passages: %(passages)s",
                         items=format_number(int(payload.get("redacted_items", 0))),
                         passages=format_number(int(payload.get("redacted_passages", 0)))))
    elif event.kind == "documents_added":
        added = payload.get("documents") or []
        title = ngettext("%(count)s document added", "%(count)s documents added",
                         len(added), count=format_number(len(added)))
        if payload.get("context") == "answer":
            details.append(_("Sent with the answer to the platform's question."))
        for document in added:
            details.append(with_user_text(
                _("%(kind)s: %(name)s (%(language)s)"),
                kind=document_kind_label(document.get("kind", "")),
                name=bdi(document.get("filename", "")),
                language=language_name(document.get("language")) or _("language not stated")))
    elif event.kind == "message":
        title = _("Message posted")
    elif event.kind == "note":
        title = _("Internal note added (staff only)")
    elif event.kind == "out_of_band_confirmed":  # staff only (services/access.py)
        title = _("Confirmed by the agency out of band")
        details.append(_("%(label)s: %(text)s", label=_("Confirmed by"),
                         text=payload.get("confirmed_by", "")))
        details.append(channel_label(payload.get("channel", "")))
    else:
        title = event.kind
    return EventView(event, title, details, person(event.actor, event.actor_role, viewer))


@bp.context_processor
def wording() -> dict[str, Any]:
    return {
        "countdown_text": countdown_text,
        "band_text": band_text,
        "understood_text": understood_text,
        "rejection_text": rejection_text,
        "priority_hints": PRIORITY_HINTS,
    }


# -- the list ---------------------------------------------------------------------------

@bp.get("/")
@roles_required(Role.AGENCY_OFFICIAL)
def index() -> ResponseReturnValue:
    """The agency's requests, newest first, with filters, search and each resolve clock;
    and, first, how many wait for the agency's answer, with a view of only those."""
    form = ListFilterForm(formdata=request.args)
    form.validate()
    filters = RequestFilters(
        state=form.state.data or "", category=form.category.data or "",
        priority=form.priority.data or "", search=(form.q.data or "").strip(),
    )
    page = listing.list_requests(current_actor(), filters,
                                 page=position_of(request.args.get("page")))
    clocks = listing.resolve_clocks([r.id for r in page.rows], utcnow())
    args = {k: v for k, v in (("state", filters.state), ("category", filters.category),
                              ("priority", filters.priority), ("q", filters.search)) if v}
    # What needs the agency now comes first: the requests waiting for its answer.
    waiting = listing.count_requests(current_actor(), listing.WAITING_FOR_AGENCY)
    return render_template("requests/index.html", form=form, page=page, clocks=clocks,
                           args=args, filtered=bool(args), waiting=waiting,
                           waiting_state=listing.WAITING_FOR_AGENCY.state,
                           waiting_view=args == {"state": listing.WAITING_FOR_AGENCY.state})


# -- filing -----------------------------------------------------------------------------

#: Rejected lines shown per page of the preview, and accepted targets shown as a sample.
REJECTIONS_PER_PAGE = 100
SAMPLE_SIZE = 50

@dataclass
class Preview:
    """What the list was understood as, before anything is filed."""

    accepted: list[intake.Target] = field(default_factory=list)
    rejected: list[intake.Rejection] = field(default_factory=list)
    page: int = 1
    #: Rows of an uploaded file left out because its kind column contradicts them.
    dropped: list[intake.Rejection] = field(default_factory=list)
    dropped_file: str = ""

    @property
    def sample(self) -> list[intake.Target]:
        return self.accepted[:SAMPLE_SIZE]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.rejected) / REJECTIONS_PER_PAGE))

    @property
    def shown_rejections(self) -> list[intake.Rejection]:
        start = (min(self.page, self.pages) - 1) * REJECTIONS_PER_PAGE
        return self.rejected[start:start + REJECTIONS_PER_PAGE]


def _profile(form: FilingForm) -> intake.Platforms:
    """The enabled platforms, bare names read as the form's chosen service."""
    try:
        return platforms.enabled(form.service.data or None)
    except ValueError:
        return platforms.enabled()


def _add_csv(form: FilingForm, notices: list[str]) -> tuple[str, list[intake.Rejection]]:
    """The list text with an uploaded CSV file's rows added at its end (the intake
    parser's :func:`~portal.intake.add_file_to_list`), and the rows it left out."""
    text: str = form.targets.data or ""
    upload = form.csv_file.data
    if not isinstance(upload, FileStorage) or not upload.filename:
        return text, []
    try:
        merged = intake.add_file_to_list(text, upload.read(), _profile(form),
                                         limit=current_app.config["MAX_ITEMS_PER_REQUEST"])
    except intake.TooManyRows as exc:
        if exc.count is None:
            form.csv_file.errors.append(_(
                "The file has more than %(max)s rows; at most %(max)s targets fit in one "
                "request. Split it into several requests.", max=format_number(exc.limit)))
        else:
            form.csv_file.errors.append(_(
                "The file has %(count)s rows; at most %(max)s targets fit in one request. "
                "Split it into several requests.", count=format_number(exc.count),
                max=format_number(exc.limit)))
        return text, []
    except intake.IntakeFileError as exc:
        form.csv_file.errors.append(_(
            "This file cannot be read as a CSV text file: %(problem)s. Save it from your "
            "spreadsheet as “CSV UTF-8” and add it again.", problem=str(exc)))
        return text, []
    if merged.added:
        notices.append(ngettext(
            "%(count)s row of %(file)s was added to the list as line %(first)s. Line "
            "numbers below refer to the list.",
            "%(count)s rows of %(file)s were added to the list as lines %(first)s to "
            "%(last)s. Line numbers below refer to the list.",
            merged.added, count=format_number(merged.added), file=upload.filename,
            first=format_number(merged.first_line),
            last=format_number(merged.first_line + merged.added - 1)))
    elif not merged.dropped:
        form.csv_file.errors.append(_("The file has no targets."))
    return merged.text, merged.dropped


def _fingerprint(form: FilingForm, text: str) -> str:
    """What the official saw in the preview: the fields as posted and the list."""
    names = ("legal_statute", "legal_article", "issuing_authority", "order_reference",
             "order_date", "category", "priority", "jurisdiction", "description",
             "requested_action", "service")
    values = [(form[name].raw_data or [""])[0] for name in names]
    values.append(re.sub(r"\r\n?", "\n", text).rstrip("\n"))
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()


def _has_errors(form: FlaskForm) -> bool:
    return any(f.errors for f in form)


def _field_error(error: FieldError) -> str:
    """A service field error of the filing and message forms, in the reader's language."""
    if (error.field, error.code) == ("jurisdiction", "foreign_jurisdiction"):
        agency = current_user.agency
        allowed = filing.jurisdictions_for(agency) if agency is not None else []
        if len(allowed) > 1:
            return _("Your agency can file only under the law of its own country "
                     "(%(country)s) or under EU law (EU).", country=allowed[0])
        return _("Your agency can file only under the law of its own country (%(country)s).",
                 country=allowed[0] if allowed else "")
    if (error.field, error.code) == ("category", "no_sla_policy"):
        return _("The platform has no deadline rule for such a request in %(jurisdiction)s "
                 "yet, so it cannot take it: contact the platform's liaison team.",
                 jurisdiction=error.value if isinstance(error, Problem) else "")
    if error.field in ("attachment", "documents") and error.code == "too_large":
        limit = current_app.config["MAX_ATTACHMENT_BYTES"]
        return _("The file is larger than %(mb)s MB.", mb=format_number(limit // 1_000_000))
    return _field_error_text(error)


def _check_fields(form: FilingForm, data: filing.FilingData, agency: Agency) -> None:
    """Add the service's field checks (future order date, another country, …) to fields
    without errors, so the preview shows them before anything is filed."""
    now = utcnow()
    found = filing.validate_fields(data, now.date(), filing.jurisdictions_for(agency))
    found += filing.coverage_errors(data, agency, now, found=found)
    apply_errors(form, found, wording=_field_error, skip_errored=True)


def _filing_data(form: FilingForm, targets: list[str],
                 attachment: attachments.AttachmentInput | None = None,
                 others: Sequence[DocumentInput] = ()) -> filing.FilingData:
    return filing.FilingData(
        category=form.category.data or "",
        priority=form.priority.data or "",
        legal_statute=form.legal_statute.data or "",
        legal_article=form.legal_article.data or "",
        issuing_authority=form.issuing_authority.data or "",
        order_reference=form.order_reference.data or "",
        order_date=form.order_date.data,
        description=form.description.data or "",
        jurisdiction=form.jurisdiction.data or None,
        requested_action=form.requested_action.data or "",
        service=form.service.data or None,
        targets=targets,
        attachment=attachment,
        order_language=(form.order_language.data or None) if attachment is not None else None,
        documents=others,
    )


def _render_new(form: FilingForm, *, preview: Preview | None = None,
                notices: list[str] | None = None, can_file: bool = False,
                problems: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "requests/new.html", form=form, preview=preview, notices=notices or [],
        can_file=can_file, problems=problems or [],
        max_items=current_app.config["MAX_ITEMS_PER_REQUEST"],
        max_mb=current_app.config["MAX_ATTACHMENT_BYTES"] // 1_000_000,
    ), status


def _cannot_file(reason: str, status: int) -> ResponseReturnValue:
    return render_template("requests/cannot_file.html", reason=reason), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.AGENCY_OFFICIAL)
def new() -> ResponseReturnValue:
    """File a request in two steps: write it and preview how its targets were read, then
    file it (whole, or without the rejected lines). Nothing is stored before filing: the
    preview posts the whole form back, an uploaded CSV turned into the list's text."""
    agency: Agency | None = current_user.agency
    block = filing_block_text(agency, utcnow())
    if block is not None or agency is None:
        return _cannot_file(block or "", 200 if request.method == "GET" else 403)
    form = FilingForm(jurisdictions=filing.jurisdictions_for(agency))
    if request.method == "GET":
        return _render_new(form)

    notices: list[str] = []
    form.validate()
    text, dropped = _add_csv(form, notices)
    form.targets.data = text
    preview: Preview | None = None
    lines = intake.line_count(text)
    limit = current_app.config["MAX_ITEMS_PER_REQUEST"]
    page = page_number(request.form.get("rejected_page"))
    dropped_from = form.csv_file.data.filename if dropped else ""
    if lines > limit:
        form.targets.errors.append(_(
            "The list has %(count)s lines; at most %(max)s targets fit in one request. "
            "Split it into several requests.", count=format_number(lines),
            max=format_number(limit)))
    elif text.strip():
        result = intake.parse_text(text, _profile(form))
        preview = Preview(result.accepted, result.rejected, page, dropped, dropped_from)
    else:
        if not form.csv_file.errors:
            form.targets.errors.append(_("Paste at least one target, or add a CSV file."))
        if dropped:
            preview = Preview([], [], page, dropped, dropped_from)
    _check_fields(form, _filing_data(form, []), agency)
    fingerprint = _fingerprint(form, text)
    ready = not _has_errors(form) and preview is not None and bool(preview.accepted)

    action = request.form.get("action", "preview")
    if action in ("file", "file_accepted") and "rejected_page" not in request.form:
        if fingerprint != form.previewed.data:
            notices.append(_("The request changed since the preview. Check the preview "
                             "below, then file it."))
        elif ready and preview is not None:
            if action == "file" and preview.rejected:
                notices.append(_("Some lines were rejected: correct them and preview again, "
                                 "or file without them."))
            else:
                return _file(form, preview, notices)
    form.previewed.data = fingerprint
    # A filing refused for what its fields say (another country's jurisdiction, a request
    # no SLA policy covers, …) is answered 422 with the fields marked, as the API answers
    # it; a preview that shows errors is the page doing its job.
    refused = action in ("file", "file_accepted") and _has_errors(form)
    return _render_new(form, preview=preview, notices=notices, can_file=ready,
                       status=422 if refused else 200)


def _file(form: FilingForm, preview: Preview, notices: list[str]) -> ResponseReturnValue:
    """File the accepted targets of ``preview`` (one service call) and go to the request."""
    had_attachment = document_forms.upload_of(form.attachment.data)
    others, rows = document_forms.chosen(form.documents)
    data = _filing_data(form, [t.raw for t in preview.accepted], had_attachment, others)
    try:
        req = filing.file_request(current_actor(), data)
    except Forbidden:
        agency = current_user.agency
        reason = filing_block_text(agency, utcnow()) or _(
            "Your agency cannot file requests at the moment.")
        return _cannot_file(reason, 403)
    except ValidationFailed as exc:
        # The service numbers the targets it was given; give each its line in the list.
        placed = []
        for error in document_forms.place_errors(exc.errors, rows, _field_error):
            if error.field == "targets" and error.index is not None \
                    and 0 < error.index <= len(preview.accepted):
                error = FieldError(error.field, error.message, error.code,
                                   preview.accepted[error.index - 1].line)
            placed.append(error)
        problems = apply_errors(form, placed, wording=_field_error)
        notices.append(_("Nothing was filed. Correct what is marked, then file again."))
        document_forms.refresh_errors(form.documents)
        if had_attachment is not None or others:
            notices.append(_("Choose the documents again: a browser does not keep a "
                             "chosen file between pages."))
        form.previewed.data = _fingerprint(form, form.targets.data or "")
        # A refused document is chosen again on the filing step; anything else needs
        # correcting and a new preview first.
        can_file = not problems and not any(f.errors for f in form if f.name not in (
            "attachment", "order_language", "documents"))
        return _render_new(form, preview=preview, notices=notices, can_file=can_file,
                           problems=problems, status=422)
    left_out = len(preview.rejected)
    message = ngettext("Request %(reference)s was filed with %(count)s target.",
                       "Request %(reference)s was filed with %(count)s targets.",
                       req.item_count, reference=req.reference,
                       count=format_number(req.item_count))
    if left_out:
        message += " " + ngettext("%(count)s rejected line was left out.",
                                  "%(count)s rejected lines were left out.", left_out,
                                  count=format_number(left_out))
    flash(message, "success")
    return redirect(url_for("requests.view", reference=req.reference))


# -- one request ------------------------------------------------------------------------

@dataclass(frozen=True)
class OfferedAction:
    trigger: str
    text: ActionText
    form: ActionForm


def _actions(actor: Actor, req: LegalRequest, now: datetime,
             forms: dict[str, ActionForm]) -> tuple[list[OfferedAction], list[str]]:
    """The agency actions this reader may take now (asked of the lifecycle machine with
    the request's facts), and notes on those that just ended."""
    if actor.role is not Role.AGENCY_OFFICIAL:
        return [], []
    offered, notes = [], []
    for option in lifecycle.options(actor, req, now):
        text = ACTIONS.get(option.trigger)
        if text is None:
            continue
        if option.refusal is not None:
            # Say so only where the action was possible until recently; a withdrawn
            # request was never disputable, so nothing is said about it.
            if isinstance(option.refusal, GuardFailed) \
                    and option.refusal.guard == "within_dispute_window":
                notes.append(refusal_text(option.refusal))
            continue
        form = forms.get(option.trigger) or _action_form(option.trigger, formdata=None,
                                                         data={"version": req.version})
        form.text.label.text = str(text.label)
        offered.append(OfferedAction(option.trigger, text, form))
    return offered, notes


def _action_form(trigger: str, **kwargs: Any) -> ActionForm:
    """The form of one action: an answer takes documents as well."""
    if trigger == "provide_info":
        return AnswerForm(prefix=trigger, **kwargs)
    return ActionForm(prefix=trigger, **kwargs)


def render_request(req: LegalRequest, *, forms: dict[str, ActionForm] | None = None,
                   message_form: MessageForm | None = None,
                   add_form: AddDocumentsForm | None = None,
                   status: int = 200) -> ResponseReturnValue:
    actor = current_actor()
    now = utcnow()
    counts = listing.item_counts(req.id)
    decision = request.args.get("decision", "")
    if decision not in dict(ITEM_FILTERS):
        decision = ""
    pages = {name: page_number(request.args.get(name))
             for name in ("items_page", "events_page", "messages_page")}
    items = listing.items_page(req.id, decision, page=pages["items_page"])
    events = listing.events_page(actor, req.id, page=pages["events_page"])
    notes_page = listing.messages_page(actor, req.id, page=pages["messages_page"])
    offered, action_notes = _actions(actor, req, now, forms or {})
    dispute = disputes.summary(req.id)
    contested = (disputes.contested_page(
        req.id, dispute.round, page=page_number(request.args.get("disputed_page")))
        if dispute is not None else None)
    if message_form is None and actor.role is Role.AGENCY_OFFICIAL:
        message_form = MessageForm(formdata=None)
    if add_form is None and actor.role is Role.AGENCY_OFFICIAL and actor.owns(req.agency_id):
        add_form = AddDocumentsForm(formdata=None)
    return render_template(
        "requests/view.html",
        req=req,
        viewer=actor,
        clocks=listing.clock_details(req.id, now),
        documents=documents.documents_of(req.id),
        document_url=lambda d: url_for("requests.attachment", reference=req.reference,
                                       attachment_id=d.id),
        add_form=add_form,
        max_mb=current_app.config["MAX_ATTACHMENT_BYTES"] // 1_000_000,
        question=listing.open_question(req),
        counts=counts,
        total_items=sum(counts.values()),
        item_filters=ITEM_FILTERS,
        decision=decision,
        items=items,
        events=events,
        timeline=[describe_event(e, actor) for e in events.rows],
        messages=notes_page,
        authors={m.id: person(m.author, m.author.role, actor) for m in notes_page.rows},
        actions=offered,
        action_notes=action_notes,
        message_form=message_form,
        dispute=dispute,
        contested=contested,
        can_dispute=any(a.trigger == "dispute" for a in offered),
        now=now,
    ), status


@bp.get("/<reference>")
@roles_required(*USER_ROLES)
def view(reference: str) -> ResponseReturnValue:
    """One request: facts, clocks, documents, timeline, items, messages, actions.

    Another agency's request is a 404 (its existence is never confirmed).
    """
    return render_request(get_request_or_404(reference))


@bp.get("/<reference>/decisions.csv")
@roles_required(*USER_ROLES)
def decisions_csv(reference: str) -> Response:
    """The decision on every item of the request, streamed as a CSV download.

    Another agency's request is a 404 (its existence is never confirmed).
    """
    return decisions_response(decision_export(current_actor(), reference))


@bp.get("/<reference>/decisions.json")
@roles_required(*USER_ROLES)
def decisions_json(reference: str) -> Response:
    """The decision on every item (target, decision, scope, ground, effect given at,
    reason), streamed as a JSON download. Another agency's request is a 404."""
    return decisions_json_response(decision_export(current_actor(), reference))


@bp.post("/<reference>/act/<trigger>")
@roles_required(Role.AGENCY_OFFICIAL)
def act(reference: str, trigger: str) -> ResponseReturnValue:
    """Fire one agency action (answer, dispute, withdraw) on the version the page showed."""
    req = get_request_or_404(reference)
    text = ACTIONS.get(trigger)
    if text is None:
        abort(404)  # not an action this page offers, whatever the table says
    form = _action_form(trigger)
    if not form.validate():
        if form.version.errors:
            abort(400)
        return render_request(req, forms={trigger: form}, status=422)
    attached, rows = (document_forms.chosen(form.documents) if isinstance(form, AnswerForm)
                      else ([], []))
    contested = _contested(trigger) if trigger == "dispute" else None
    try:
        lifecycle.fire(
            current_actor(), reference, trigger,
            inputs={name: form.text.data or "" for name in lookup(trigger).inputs},
            expected_version=form.version.data, attached=attached, contested=contested,
        )
    except ValidationFailed as exc:
        if trigger == "dispute":
            # Ticked targets that are not (or no longer) this request's, or a reason too
            # long.
            for text_ in {str(DISPUTE_ERRORS.get(e.code, DISPUTE_ERRORS["unknown"]))
                          for e in exc.errors}:
                flash(text_, "error")
            return redirect(url_for("requests.view", reference=reference, _anchor="items"))
        rest = document_forms.place_errors(exc.errors, rows, _field_error)
        for error in rest:
            form.text.errors = [*form.text.errors, _field_error(error)]
        if isinstance(form, AnswerForm):
            document_forms.refresh_errors(form.documents)
        return render_request(req, forms={trigger: form}, status=422)
    except Conflict:
        flash(conflict_text(reference), "error")
        return redirect(url_for("requests.view", reference=reference))
    except MissingInput:
        form.text.errors.append(_("Write this first: it is kept on the record."))
        return render_request(req, forms={trigger: form}, status=422)
    except TransitionError as exc:
        flash(refusal_text(exc), "error")
        return redirect(url_for("requests.view", reference=reference))
    flash(str(text.done), "success")
    return redirect(url_for("requests.view", reference=reference))


#: Why the targets ticked for a dispute were refused (nothing was disputed).
DISPUTE_ERRORS = {
    "unknown": _l("Some ticked targets are not part of this request: reload the page and "
                  "tick them again. Nothing was disputed."),
    "duplicate": _l("A target was ticked twice: reload the page and tick it once. Nothing "
                    "was disputed."),
    "invalid": _l("The reason for a target is too long (at most 4,000 characters). Nothing "
                  "was disputed."),
}


def _contested(prefix: str) -> list[disputes.Contest]:
    """The targets ticked in the list for a dispute, each with the reason written beside
    it (the list's inputs belong to the dispute form by their ``form`` attribute).

    Raises:
        BadRequest (400): a ticked value that is not an item id.
    """
    found = []
    for value in request.form.getlist(f"{prefix}-item"):
        if not value.isdigit() or len(value) > 12:
            abort(400)
        found.append(disputes.Contest(int(value), request.form.get(
            f"{prefix}-reason-{value}", "")))
    return found


@bp.post("/<reference>/messages")
@roles_required(Role.AGENCY_OFFICIAL)
def message(reference: str) -> ResponseReturnValue:
    """Post a message to the platform on the request."""
    req = get_request_or_404(reference)
    form = MessageForm()
    if form.validate():
        try:
            messages.post_message(current_actor(), reference, form.body.data or "")
        except Conflict:
            flash(conflict_text(reference), "error")
            return redirect(url_for("requests.view", reference=reference))
        except ValidationFailed as exc:
            apply_errors(form, exc.errors, wording=_field_error)
            return render_request(req, message_form=form, status=422)
        flash(_("Your message was sent."), "success")
        return redirect(url_for("requests.view", reference=reference, _anchor="messages"))
    return render_request(req, message_form=form, status=422)

