"""Translated wording for the stable error codes services and the intake parser return.

Services speak English in their ``message`` (logs, the command line); pages show these
instead, in the reader's language.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel.speaklater import LazyString

from portal.i18n import lazy_gettext as _l
from portal.intake import Reason, Rejection
from portal.services.errors import FieldError

#: One sentence per intake rejection reason (the raw line is shown next to it).
REJECTION_REASONS: dict[str, LazyString] = {
    Reason.EMPTY: _l("the line is empty"),
    Reason.TOO_LONG: _l("the line is too long"),
    Reason.FOREIGN_URL: _l("not a link to this platform"),
    Reason.UNSUPPORTED_URL: _l("a link to this platform, but not to an account, post or "
                               "channel"),
    Reason.MALFORMED_HANDLE: _l("not a valid handle (letters, digits and underscores only, "
                                "within the platform's length limit)"),
    Reason.MALFORMED_URL: _l("not a valid link"),
    Reason.CONTROL_CHARACTERS: _l("contains invisible or control characters"),
    Reason.KIND_MISMATCH: _l("not the kind of target the list says it is"),
    Reason.DUPLICATE: _l("a duplicate of an earlier line"),
}

#: Generic wording per field-error code, for codes without a specific sentence.
FIELD_CODES: dict[str, LazyString] = {
    "required": _l("This is required."),
    "choice": _l("Choose one of the listed options."),
    "invalid": _l("This value is not valid."),
    "too_long": _l("This is too long."),
    "too_short": _l("This is too short."),
    "too_many": _l("There are too many entries."),
    "taken": _l("This is already in use."),
    "domain": _l("The address must be on the agency's official domain."),
    "unknown": _l("This does not belong here."),
    "unchanged": _l("Nothing would change."),
    "control_characters": _l("Contains invisible or control characters."),
    "not_applicable": _l("This does not apply to the decision chosen: leave it empty."),
    "future": _l("This time is in the future."),
    "past": _l("This time has passed."),
    "before_receipt": _l("This time is before the request was received."),
    "before_effect": _l("This time is before the action took effect."),
    "too_large": _l("The file is too large."),
    "not_pdf": _l("The order document must be a PDF file."),
    "pdf_unreadable": _l("The PDF cannot be read: it is damaged, encrypted or not really a "
                         "PDF. Save or print it again as a plain PDF and upload that."),
    "pdf_javascript": _l("The PDF contains JavaScript, which an order document never "
                         "needs. Save or print it again as a plain PDF and upload that."),
    "pdf_launch": _l("The PDF contains an action that starts a program. Save or print it "
                     "again as a plain PDF and upload that."),
    "pdf_embedded_file": _l("The PDF carries embedded files. Upload the order itself as a "
                            "plain PDF, without attachments."),
    "bad_name": _l("This file name is not accepted: use a name that ends in .pdf, has no "
                   "control characters and is at most 255 characters long."),
    "kind": _l("Choose what the document is from the list."),
    "language": _l("Choose the document's language from the list."),
    "not_allowed": _l("Documents can be sent only with an answer."),
    "none_chosen": _l("Choose a file first."),
}


def rejection_text(rejection: Rejection) -> str:
    """'Line 7: a duplicate of line 3' in the reader's language."""
    if rejection.reason == Reason.DUPLICATE and rejection.other_platform is not None:
        return str(_("Line %(line)s: the same name as line %(first)s, but on another "
                     "platform; one request takes one of them, so file this one in a "
                     "request of its own", line=rejection.line,
                     first=rejection.duplicate_of))
    if rejection.reason == Reason.DUPLICATE and rejection.duplicate_of is not None:
        return str(_("Line %(line)s: a duplicate of line %(first)s", line=rejection.line,
                     first=rejection.duplicate_of))
    reason = REJECTION_REASONS.get(rejection.reason)
    return str(_("Line %(line)s: %(reason)s", line=rejection.line,
                 reason=reason if reason is not None else rejection.message))


def field_error_text(error: FieldError) -> str:
    """A service's field error in the reader's language.

    Target-list errors carry their line (``index``) and the intake reason as ``code``.
    """
    if error.field == "targets" and error.index is not None:
        reason = REJECTION_REASONS.get(error.code)
        if reason is not None:
            return str(_("Line %(line)s: %(reason)s", line=error.index, reason=reason))
    generic = FIELD_CODES.get(error.code)
    return str(generic) if generic is not None else error.message
