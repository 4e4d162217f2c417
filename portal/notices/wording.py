"""What a notice says in the list, and the names of its kinds, in the reader's language."""

from __future__ import annotations

from typing import Any

from flask_babel import format_number, gettext
from flask_babel.speaklater import LazyString

from portal.i18n import lazy_gettext as _l
from portal.services.notices import UNREAD_CAP
from portal.wording import resolution_label, sla_target_label
from workflows.notices import NoticeKind

#: The name of each kind (the mute settings).
KIND_LABELS: dict[NoticeKind, LazyString] = {
    NoticeKind.REQUEST_FILED: _l("New requests"),
    NoticeKind.URGENT_FILED: _l("New urgent requests"),
    NoticeKind.EMERGENCY_FILED: _l("New emergency requests"),
    NoticeKind.INFO_REQUESTED: _l("Questions from the platform"),
    NoticeKind.INFO_PROVIDED: _l("Answers from the agency"),
    NoticeKind.OUTCOME: _l("Decisions and closing of requests"),
    NoticeKind.DISPUTED: _l("Disputes"),
    NoticeKind.WITHDRAWN: _l("Withdrawn requests"),
    NoticeKind.ASSIGNED: _l("Requests handed to you"),
    NoticeKind.SLA_WARNING: _l("Deadline warnings"),
    NoticeKind.SLA_BREACH: _l("Deadline breaches"),
}


def _(text: str, **values: object) -> str:
    return str(gettext(text, **values))


def unread_badge(count: int) -> str:
    """The header's count: empty for none, "99+" past the cap."""
    if count <= 0:
        return ""
    return f"{format_number(UNREAD_CAP)}+" if count > UNREAD_CAP else str(format_number(count))


def notice_text(kind: str, payload: dict[str, Any]) -> str:
    """One line saying what the notice is about."""
    ref = str(payload.get("reference", ""))
    agency = str(payload.get("agency", ""))
    if kind == NoticeKind.REQUEST_FILED:
        return _("New request %(reference)s from %(agency)s", reference=ref, agency=agency)
    if kind == NoticeKind.URGENT_FILED:
        return _("Urgent request %(reference)s from %(agency)s", reference=ref, agency=agency)
    if kind == NoticeKind.EMERGENCY_FILED:
        return _("EMERGENCY request %(reference)s from %(agency)s", reference=ref,
                 agency=agency)
    if kind == NoticeKind.INFO_REQUESTED:
        return _("The platform asks a question about %(reference)s; the deadline waits for "
                 "your answer", reference=ref)
    if kind == NoticeKind.INFO_PROVIDED:
        return _("The agency answered your question on %(reference)s", reference=ref)
    if kind == NoticeKind.OUTCOME:
        return _outcome_text(ref, payload)
    if kind == NoticeKind.DISPUTED:
        return _("The agency disputes the outcome of %(reference)s", reference=ref)
    if kind == NoticeKind.WITHDRAWN:
        return _("The agency withdrew %(reference)s", reference=ref)
    if kind == NoticeKind.ASSIGNED:
        return _("%(reference)s was handed to you for review", reference=ref)
    target = sla_target_label(str(payload.get("target", "")))
    if kind == NoticeKind.SLA_BREACH:
        return _("The %(target)s deadline of %(reference)s has passed", target=target,
                 reference=ref)
    percent = round(float(payload.get("threshold", 0)) * 100)
    return _("%(percent)s%% of the %(target)s deadline of %(reference)s used",
             percent=format_number(percent), target=target, reference=ref)


def _outcome_text(ref: str, payload: dict[str, Any]) -> str:
    trigger = payload.get("trigger")
    if trigger == "close":
        return _("%(reference)s is closed", reference=ref)
    if trigger == "revise":
        return _("After your dispute, the platform changed its decisions on %(reference)s",
                 reference=ref)
    if trigger == "uphold":
        return _("After your dispute, the platform kept its decisions on %(reference)s",
                 reference=ref)
    resolution = payload.get("resolution")
    if resolution:
        return _("The platform decided %(reference)s: %(outcome)s", reference=ref,
                 outcome=resolution_label(resolution))
    return _("The platform decided %(reference)s", reference=ref)
