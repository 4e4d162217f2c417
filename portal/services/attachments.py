"""Documents: checked (a real PDF without active content, within the size limit, with a
sensible name), stored by their SHA-256 outside the database and the web root (in the
document store, :mod:`portal.storage`), and read back only by readers who may see them.

Files are written before the transaction that records them commits; :func:`staged`
removes the ones a failed transaction wrote, so a refusal leaves neither a row nor a file.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app

from portal import storage
from portal.extensions import db
from portal.models import Attachment
from portal.services.errors import FieldError

# pypdf (about 14 MB of every process) is imported when a document is checked, not by
# every web worker at start-up.
if TYPE_CHECKING:
    from pypdf import PdfReader

PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class AttachmentInput:
    """An uploaded file as received."""

    filename: str
    content_type: str
    data: bytes


def safe_filename(name: str) -> str:
    """A display name without paths, controls or odd characters (letters of any script
    are kept, so an Arabic or Hindi file name stays readable)."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in {"C", "Z"}
                   or ch == " ")
    name = re.sub(r"[^\w .()\-]", "_", name).strip(" .")
    if not name:
        name = "document.pdf"
    if not name.lower().endswith(".pdf"):
        name += ".pdf"
    return name[-150:]


#: Objects a PDF may hold at most for the active-content check: a bound on the walk, far
#: above any court order.
MAX_PDF_OBJECTS = 200_000

#: What a PDF may not carry, by the name that reveals it: code a viewer runs (JavaScript,
#: also in XFA forms), programs it starts (Launch), files it carries (which a reader is
#: one click from opening). An order document is read, never run.
_ACTIVE = {
    "/JS": "pdf_javascript", "/JavaScript": "pdf_javascript", "/XFA": "pdf_javascript",
    "/Launch": "pdf_launch",
    "/EmbeddedFile": "pdf_embedded_file", "/EmbeddedFiles": "pdf_embedded_file",
    "/FileAttachment": "pdf_embedded_file",
}
_ACTIVE_MESSAGES = {
    "pdf_javascript": "the PDF contains JavaScript",
    "pdf_launch": "the PDF contains an action that launches a program",
    "pdf_embedded_file": "the PDF carries embedded files",
    "pdf_unreadable": "the PDF cannot be read (damaged, encrypted, or not really a PDF)",
}


def _active_content(reader: PdfReader) -> str | None:
    """The code of the first active content found by walking every object reachable
    from the trailer (keys and name values both: ``/S /JavaScript``, ``/JS``, a
    ``/Names`` tree's ``/EmbeddedFiles``), or ``None``."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    seen: set[tuple[int, int]] = set()
    stack: list[Any] = [reader.trailer]
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > MAX_PDF_OBJECTS:
                return "pdf_unreadable"
            node = node.get_object()
        if isinstance(node, DictionaryObject):  # stream objects too: their dictionary
            for name, value in node.items():
                found = _ACTIVE.get(str(name))
                if found is None and isinstance(value, NameObject):
                    found = _ACTIVE.get(str(value))
                if found is not None:
                    return found
                stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
        elif isinstance(node, NameObject) and str(node) in _ACTIVE:
            return _ACTIVE[str(node)]
    return None


def pdf_problem(data: bytes) -> str | None:
    """Why this PDF is refused (a code of :data:`_ACTIVE_MESSAGES`), or ``None`` when
    pypdf reads it whole and it holds no active content."""
    from pypdf import PdfReader

    try:
        with warnings.catch_warnings():
            # pypdf warns about repairs it makes; a file it can read is judged as read.
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                return "pdf_unreadable"  # its objects cannot be checked
            if len(reader.pages) < 1:
                return "pdf_unreadable"
            return _active_content(reader)
    except Exception:  # pypdf raises many kinds (PdfReadError, ValueError, KeyError…)
        return "pdf_unreadable"


#: The longest file name taken (the column holds 255; the shown name keeps 150).
MAX_NAME_LENGTH = 255
#: What follows the last dot of a name that says it is another kind of file.
_OTHER_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,5})$")


def name_problem(filename: str) -> str | None:
    """Why a file name is refused (``bad_name``), or ``None``: too long, control
    characters, or the extension of another kind of file (``order.exe``, ``scan.html``).
    A name without an extension is taken (``.pdf`` is added to the shown name)."""
    if len(filename) > MAX_NAME_LENGTH:
        return f"the file name is longer than {MAX_NAME_LENGTH} characters"
    if any(unicodedata.category(ch) == "Cc" for ch in filename):
        return "the file name contains control characters"
    found = _OTHER_EXTENSION.search(filename.strip())
    if found and found.group(1).lower() != "pdf":
        return f"the file name ends in .{found.group(1)}, not .pdf"
    return None


def check(upload: AttachmentInput, *, field_name: str = "attachment",
          index: int | None = None, what: str = "the order document") -> list[FieldError]:
    """Every problem with an upload: empty, too large, a bad name, not a PDF, a PDF pypdf
    cannot read, or one with JavaScript, launch actions or embedded files. Errors are on
    ``field_name`` (with ``index``, 1-based, for one of several files)."""
    limit = int(current_app.config["MAX_ATTACHMENT_BYTES"])
    if not upload.data:
        return [FieldError(field_name, "the file is empty", "required", index)]
    if len(upload.data) > limit:
        # The limit is set in bytes (20 MiB by default): named in the unit it is set in.
        return [FieldError(field_name, f"the file is larger than {limit / 2**20:g} MiB",
                           "too_large", index)]
    bad_name = name_problem(upload.filename)
    if bad_name is not None:
        return [FieldError(field_name, bad_name, "bad_name", index)]
    if not upload.data.startswith(PDF_MAGIC):
        return [FieldError(field_name, f"{what} must be a PDF file", "not_pdf", index)]
    problem = pdf_problem(upload.data)
    if problem is not None:
        return [FieldError(field_name, _ACTIVE_MESSAGES[problem], problem, index)]
    return []


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store(data: bytes) -> str:
    """Keep the bytes under their hash (once; identical files share one copy) and return
    the hash. Outside :func:`staged`, a failure later leaves the file behind."""
    sha256 = digest(data)
    storage.current().put(sha256, data)
    return sha256


def read(sha256: str) -> bytes:
    """Raises: FileNotFoundError when the stored copy is missing."""
    return storage.current().get(sha256)


@dataclass
class Staging:
    """Files written for a transaction that has not committed yet."""

    written: list[str] = field(default_factory=list)

    def store(self, data: bytes) -> str:
        """:func:`store`, remembering a file this call wrote (not one already there)."""
        sha256 = digest(data)
        if storage.current().put(sha256, data):
            self.written.append(sha256)
        return sha256


@contextmanager
def staged() -> Iterator[Staging]:
    """Around a transaction that stores files: when it fails (a refusal, a conflict, a
    failed commit), remove the files it wrote that no committed row names."""
    staging = Staging()
    try:
        yield staging
    except BaseException:
        _discard(staging.written)
        raise


def _discard(written: list[str]) -> None:
    for sha256 in written:
        try:
            db.session.rollback()
            named = db.session.scalar(sa.select(Attachment.id).where(
                Attachment.sha256 == sha256).limit(1))
            if named is None:
                storage.current().delete(sha256)
        except Exception:  # the original error matters more; a stray copy is harmless
            current_app.logger.warning("could not remove the unrecorded document %s",
                                       sha256, exc_info=True)
        finally:
            db.session.rollback()
