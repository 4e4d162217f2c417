"""Order documents: checked, stored by their SHA-256 outside the database and the web
root, and read back only through a request the reader may see."""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import current_app

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


def check(upload: AttachmentInput) -> list[FieldError]:
    """Every problem with an upload: empty, too large, not a PDF, a PDF pypdf cannot
    read, or one with JavaScript, launch actions or embedded files."""
    limit = int(current_app.config["MAX_ATTACHMENT_BYTES"])
    if not upload.data:
        return [FieldError("attachment", "the file is empty", "required")]
    if len(upload.data) > limit:
        return [FieldError("attachment", f"the file is larger than {limit // 1_000_000} MB",
                           "too_large")]
    if not upload.data.startswith(PDF_MAGIC):
        return [FieldError("attachment", "the order document must be a PDF file", "not_pdf")]
    problem = pdf_problem(upload.data)
    if problem is not None:
        return [FieldError("attachment", _ACTIVE_MESSAGES[problem], problem)]
    return []


def storage_path(sha256: str) -> Path:
    root = Path(current_app.config["ATTACHMENT_DIR"])
    return root / sha256[:2] / sha256[2:4] / sha256


def store(data: bytes) -> str:
    """Write the bytes under their hash (once; identical files share one copy) and return
    the hash. Written to a temporary name and renamed, so a crash leaves no torn file."""
    sha256 = hashlib.sha256(data).hexdigest()
    path = storage_path(sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(data)
        temporary.chmod(0o640)
        temporary.replace(path)
    return sha256


def read(sha256: str) -> bytes:
    """Raises: FileNotFoundError when the stored copy is missing."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise FileNotFoundError(sha256)
    return storage_path(sha256).read_bytes()
