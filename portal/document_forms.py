"""Form pieces for uploading documents, shared by the pages that take them (filing,
adding documents later, answering a clarification): a file with its kind and language,
read into the documents service's inputs, and the service's refusals put back on the
right row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import FieldList, Form, FormField, SelectField

from portal.document_labels import kind_choices, language_choices
from portal.form_widgets import LongSelect
from portal.i18n import lazy_gettext as _l
from portal.services.attachments import AttachmentInput
from portal.services.documents import DocumentInput, language_codes
from portal.services.errors import FieldError

#: Fields of a PDF input.
PDF_INPUT = {"accept": ".pdf,application/pdf"}


class DocumentEntryForm(Form):
    """One document: the file, what it is, its language."""

    file = FileField(_l("Document (PDF)"), render_kw=PDF_INPUT)
    kind = SelectField(_l("What it is"), validate_choice=False)
    language = SelectField(_l("Language"), validate_choice=False, widget=LongSelect())


def document_list(min_entries: int) -> Any:
    """A list of ``min_entries`` document rows for a form class."""
    return FieldList(FormField(DocumentEntryForm), min_entries=min_entries, max_entries=10)


def default_language() -> str:
    """The reader's language, as the language a document is most likely in."""
    locale = get_locale()
    code = locale.language if locale is not None else "en"
    return code if code in language_codes() else "en"


def prepare(entries: Any, *, kind: str = "annexure") -> None:
    """Give each row its choices (in the reader's language) and defaults."""
    languages = language_choices()
    kinds = kind_choices()
    for entry in entries:
        entry.form.kind.choices = kinds
        entry.form.language.choices = languages
        if not entry.form.kind.data or entry.form.kind.data == "None":
            entry.form.kind.data = kind
        if not entry.form.language.data or entry.form.language.data == "None":
            entry.form.language.data = default_language()


def upload_of(upload: Any) -> AttachmentInput | None:
    """An uploaded file, read up to one byte over the limit (enough for the service to
    say it is too large without holding more of it), or ``None`` when none was chosen."""
    if not isinstance(upload, FileStorage) or not upload.filename:
        return None
    limit = int(current_app.config["MAX_ATTACHMENT_BYTES"])
    return AttachmentInput(filename=upload.filename, content_type=upload.mimetype or "",
                           data=upload.stream.read(limit + 1))


def chosen(entries: Any) -> tuple[list[DocumentInput], list[Any]]:
    """The rows with a chosen file, as service inputs, and those rows (in the same order:
    the service's 1-based positions index them)."""
    found: list[DocumentInput] = []
    rows: list[Any] = []
    for entry in entries:
        upload = upload_of(entry.form.file.data)
        if upload is None:
            continue
        found.append(DocumentInput(upload, entry.form.kind.data or "",
                                   entry.form.language.data or None))
        rows.append(entry)
    return found, rows


#: Where on a row each refusal belongs.
_ROW_FIELD = {"kind": "kind", "language": "language"}


def place_errors(errors: Sequence[FieldError], rows: Sequence[Any], wording: Any,
                 field_name: str = "documents") -> list[FieldError]:
    """Put the service's errors about documents on their rows; return the others."""
    rest: list[FieldError] = []
    for error in errors:
        if error.field != field_name or error.index is None \
                or not 0 < error.index <= len(rows):
            rest.append(error)
            continue
        row = rows[error.index - 1].form
        target = getattr(row, _ROW_FIELD.get(error.code, "file"))
        if isinstance(target.errors, tuple):
            target.errors = list(target.errors)
        text = wording(error)
        if text not in target.errors:
            target.errors.append(text)
    return rest


def refresh_errors(entries: Any) -> None:
    """Let the list report the errors put on its rows (the form's error summary reads
    it), or none."""
    found = [entry.form.errors for entry in entries]
    entries.errors = found if any(found) else []
