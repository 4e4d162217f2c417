"""/api/v1/requests/{reference}/documents and /answer: a request's documents listed,
downloaded and added (``multipart/form-data``), and a clarification answer that carries
documents.

The files go to the same documents service as the pages' uploads (its checks, its
staging that leaves no file behind when the transaction fails, its audit event); this
module only reads the parts and names each refusal by the part and file position.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from werkzeug.datastructures import FileStorage

from portal.api import auth
from portal.api import schemas as s
from portal.api.problems import problem
from portal.api.requests import blp, json_response, problems, request_summary
from portal.document_forms import upload_of
from portal.document_response import document_response
from portal.models import Attachment
from portal.services import access, documents, lifecycle
from portal.services.documents import DocumentInput
from portal.services.errors import ValidationFailed

#: The longest clarification answer (as the JSON action takes it).
MAX_ANSWER = 10_000

_PER_FILE = ("kind", "language")
#: Service codes that are about a document's kind or language, not its file.
_PART_OF_CODE = {"kind": ("kind", "unknown_kind"), "language": ("language", "unknown_language")}

_DOCUMENT_PARTS: dict[str, Any] = {
    "file": {"type": "array", "minItems": 1, "maxItems": documents.MAX_DOCUMENTS,
             "items": {"type": "string", "format": "binary"},
             "description": "one part per PDF (repeat the part); each a real PDF without "
                            "active content, at most MAX_ATTACHMENT_BYTES (20 MiB), with a "
                            "name that does not end in another extension than .pdf"},
    "kind": {"type": "array", "items": {"type": "string",
                                        "enum": ["order", "annexure", "translation",
                                                 "other"]},
             "description": "one per file, in the files' order, or one for every file"},
    "language": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]{2}$"},
                 "description": "ISO 639-1 code: one per file, in the files' order, or "
                                "one for every file"},
}


def _multipart(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"multipart/form-data": {
        "schema": schema, "encoding": {"file": {"contentType": "application/pdf"}}}}}


def _out(reference: str, rows: list[Attachment], uploader: str | None = None
         ) -> dict[str, Any]:
    """Documents as the list shows them; ``uploader`` is the role of the one who just
    added them (the rows' ``uploaded_by`` is not loaded then)."""
    base = f"/api/v1/requests/{reference}/documents/"
    return {"data": [{
        "id": d.id, "filename": d.filename, "kind": d.kind.value, "language": d.language,
        "context": d.context.value, "content_type": d.content_type, "size": d.size,
        "sha256": d.sha256,
        "uploaded_by_role": uploader or d.uploaded_by.role.value,
        "at": d.created_at, "links": {"download": f"{base}{d.id}"},
    } for d in rows]}


def _error(path: str, code: str, message: str, index: int | None = None) -> dict[str, Any]:
    return {"path": path if index is None else f"{path}/{index}", "index": index,
            "code": code, "message": message}


def _refused(errors: list[dict[str, Any]]) -> Response:
    count = len(errors)
    return problem(422, f"{count} problem{'s' if count != 1 else ''}: "
                        f"{errors[0]['message']}", kind="validation", errors=errors)


def _service_refused(error: ValidationFailed) -> Response:
    """The service's refusal with each document's error on its part (``file``,
    ``kind``, ``language``) and the file's position among the ``file`` parts, from 0."""
    found = []
    for e in error.errors:
        if e.field != "documents":
            found.append(_error(e.field, e.code, e.message))
            continue
        path, code = _PART_OF_CODE.get(e.code, ("file", e.code))
        found.append(_error(path, code, e.message, None if e.index is None else e.index - 1))
    return _refused(found)


def _documents_sent(*, required: bool) -> list[DocumentInput] | Response:
    """The ``file`` parts with their ``kind`` and ``language``, or a 422 problem when
    the parts do not pair up (the files themselves are the service's to judge)."""
    files: list[FileStorage] = request.files.getlist("file")
    errors: list[dict[str, Any]] = []
    if "file" in request.form:
        errors.append(_error("file", "not_a_file", "send each file as a file part (with "
                             "a filename), not as a text field"))
    if required and not files and not errors:
        errors.append(_error("file", "required", "send at least one file part"))
    values = {name: request.form.getlist(name) for name in _PER_FILE}
    for name, given in values.items():
        if files and not given:
            errors.append(_error(name, "required", f"give a {name} for every file"))
        elif len(given) not in (0, 1, len(files)):
            errors.append(_error(name, "count_mismatch",
                                 f"{len(given)} {name} values for {len(files)} files: give "
                                 "one for every file, in the files' order, or one for all"))
        elif given and not files:
            errors.append(_error(name, "no_file", f"a {name} was given without a file"))
    sent: list[DocumentInput] = []
    for index, part in enumerate(files):
        upload = upload_of(part)
        if upload is None:
            errors.append(_error("file", "bad_name", "the file part has no filename", index))
            continue
        kind, language = (given[index if len(given) > 1 else 0]
                          if len(given) in (1, len(files)) else ""
                          for given in (values["kind"], values["language"]))
        sent.append(DocumentInput(upload, kind, language))
    if errors:
        return _refused(errors)
    return sent


@blp.route("/requests/<reference>/documents", endpoint="documents")
@blp.response(200, s.DocumentListSchema)
@problems(404)
def documents_list(reference: str) -> dict[str, Any]:
    """The request's documents (the order, annexures, translations), oldest first, each
    with its kind, ISO 639-1 language, when it came and a download link."""
    req = access.get_request(auth.actor(), reference)
    return _out(reference, documents.documents_of(req.id))


@blp.route("/requests/<reference>/documents", endpoint="add_documents", methods=["POST"])
@blp.doc(requestBody=_multipart(_DOCUMENT_PARTS, ["file", "kind", "language"]))
@blp.response(201, s.DocumentListSchema)
@problems(403, 404, 409)
@blp.alt_response(413, description="The body is larger than MAX_CONTENT_LENGTH (24 MiB)",
                  content_type="application/problem+json")
@blp.alt_response(415, description="Not multipart/form-data",
                  content_type="application/problem+json")
@blp.alt_response(422, description="A file, kind or language refused: path names the "
                  "part and the file's position (file/1), index the position from 0; "
                  "nothing is stored", content_type="application/problem+json")
def add_documents(reference: str) -> Response:
    """Add documents to a request of the caller's agency (agency officials): one
    ``file`` part per PDF, each with a ``kind`` and a ``language`` (one per file in the
    files' order, or one for all). All are added, or none."""
    sent = _documents_sent(required=True)
    if isinstance(sent, Response):
        return sent
    actor = auth.actor()
    try:
        rows = documents.add_documents(actor, reference, sent)
    except ValidationFailed as refused:
        return _service_refused(refused)
    return json_response(_out(reference, rows, actor.role.value), 201,
                         {"Location": f"/api/v1/requests/{reference}/documents"})


@blp.route("/requests/<reference>/documents/<int:document_id>", endpoint="document")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
              description="The document, as an attachment (Content-Disposition), with "
              "X-Content-Type-Options: nosniff and Cache-Control: no-store.")
@problems(404)
def document(reference: str, document_id: int) -> Response:
    """Download one document of the request."""
    return document_response(
        documents.request_document(auth.actor(), reference, document_id))


_ANSWER_PARTS: dict[str, Any] = {
    "answer": {"type": "string", "minLength": 1, "maxLength": MAX_ANSWER,
               "description": "the answer to the reviewer's question"},
    "expected_version": {"type": "integer", "description": "the version you last saw; "
                                                           "409 if the request changed since"},
    **{name: {**part, "description": part["description"] + " (optional: an answer "
              "without documents)"} if name == "file" else part
       for name, part in _DOCUMENT_PARTS.items()},
}


def _answer_text() -> tuple[str, int | None] | Response:
    """The ``answer`` and ``expected_version`` parts, or a 422 problem."""
    errors: list[dict[str, Any]] = []
    text = request.form.get("answer", "")
    if not text.strip():
        errors.append(_error("answer", "required", "give the answer"))
    elif len(text) > MAX_ANSWER:
        errors.append(_error("answer", "too_long", f"at most {MAX_ANSWER} characters"))
    elif "\x00" in text:
        errors.append(_error("answer", "control_characters",
                             "contains a NUL character (U+0000)"))
    version: int | None = None
    raw = request.form.get("expected_version")
    if raw is not None:
        try:
            version = int(raw)
        except ValueError:
            errors.append(_error("expected_version", "invalid", "not an integer"))
    if errors:
        return _refused(errors)
    return text, version


@blp.route("/requests/<reference>/answer", endpoint="answer", methods=["POST"])
@blp.doc(requestBody=_multipart(_ANSWER_PARTS, ["answer"]))
@blp.response(200, s.RequestSummarySchema)
@problems(403, 404, 409)
@blp.alt_response(413, description="The body is larger than MAX_CONTENT_LENGTH (24 MiB)",
                  content_type="application/problem+json")
@blp.alt_response(415, description="Not multipart/form-data",
                  content_type="application/problem+json")
@blp.alt_response(422, description="The answer, a file, kind or language refused; "
                  "nothing is stored and the question stays open",
                  content_type="application/problem+json")
def answer(reference: str) -> Any:
    """Answer the reviewer's question with documents (the action ``provide_info``, as
    ``/actions/provide_info`` takes it in JSON): ``answer``, optional
    ``expected_version``, and ``file`` parts each with a ``kind`` and a ``language``.
    The answer and its documents are recorded together, or nothing is."""
    given = _answer_text()
    if isinstance(given, Response):
        return given
    sent = _documents_sent(required=False)
    if isinstance(sent, Response):
        return sent
    text, version = given
    try:
        req = lifecycle.fire(auth.actor(), reference, "provide_info",
                             inputs={"answer": text}, expected_version=version,
                             attached=sent)
    except ValidationFailed as refused:
        return _service_refused(refused)
    return request_summary(req)


