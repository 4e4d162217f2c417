"""Order documents: checked, stored by their SHA-256 outside the database and the web
root, and read back only through a request the reader may see."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from portal.services.errors import FieldError

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


def check(upload: AttachmentInput) -> list[FieldError]:
    """Every problem with an upload: empty, too large, not a PDF."""
    limit = int(current_app.config["MAX_ATTACHMENT_BYTES"])
    if not upload.data:
        return [FieldError("attachment", "the file is empty", "required")]
    if len(upload.data) > limit:
        return [FieldError("attachment", f"the file is larger than {limit // 1_000_000} MB",
                           "too_large")]
    if not upload.data.startswith(PDF_MAGIC):
        return [FieldError("attachment", "the order document must be a PDF file", "not_pdf")]
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
