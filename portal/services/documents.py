"""A request's documents (the order, annexures, translations: each with a kind and a
language), added at filing, later, or with a clarification answer; and an agency's
verification evidence, sent at registration and read only by administrators.

The bytes go through :mod:`portal.services.attachments` (the same checks and store as
the order document always had); every addition to a request is an audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from babel import Locale
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Attachment, LegalRequest
from portal.models.columns import utcnow
from portal.services import attachments, audit
from portal.services.access import get_request
from portal.services.actors import Actor
from portal.services.errors import FieldError, Forbidden, NotFound, ValidationFailed
from portal.services.transaction import transaction
from workflows.codes import DocumentContext, DocumentKind
from workflows.roles import Role

#: The most documents one filing, addition or answer takes.
MAX_DOCUMENTS = 10


@lru_cache(maxsize=1)
def language_codes() -> frozenset[str]:
    """The ISO 639-1 codes a document's language may have (two letters, as CLDR names
    them)."""
    codes = (str(code) for code in Locale("en").languages)
    return frozenset(code for code in codes
                     if len(code) == 2 and code.isascii() and code.isalpha()
                     and code.islower())


@dataclass(frozen=True)
class DocumentInput:
    """One uploaded document with what the uploader says it is."""

    upload: attachments.AttachmentInput
    kind: str = DocumentKind.ORDER.value
    language: str | None = None


def check_documents(documents: Sequence[DocumentInput],
                    field_name: str = "documents") -> list[FieldError]:
    """Every problem with ``documents``, each on ``field_name`` with its 1-based
    position: the file's (:func:`attachments.check`), an unknown kind, a language that
    is not an ISO 639-1 code, or more than :data:`MAX_DOCUMENTS`."""
    if len(documents) > MAX_DOCUMENTS:
        return [FieldError(field_name, f"at most {MAX_DOCUMENTS} documents at once",
                           "too_many")]
    errors: list[FieldError] = []
    for index, document in enumerate(documents, start=1):
        if document.kind not in DocumentKind._value2member_map_:
            errors.append(FieldError(field_name, f"unknown kind {document.kind!r}: "
                                     + ", ".join(DocumentKind), "kind", index))
        if document.language is not None and document.language not in language_codes():
            errors.append(FieldError(field_name, f"{document.language!r} is not an ISO "
                                     "639-1 language code", "language", index))
        errors += attachments.check(document.upload, field_name=field_name, index=index,
                                    what="a document")
    return errors


def record(req: LegalRequest | None, actor_id: int, document: DocumentInput,
           context: DocumentContext, now: datetime, staging: attachments.Staging,
           *, agency_id: int | None = None) -> Attachment:
    """Store one checked document and add its row to the session (a request's folded
    into the request's audit digests), inside the caller's transaction."""
    row = Attachment(
        request_id=req.id if req is not None else None,
        agency_id=agency_id,
        kind=DocumentKind(document.kind),
        language=document.language,
        context=context,
        filename=attachments.safe_filename(document.upload.filename),
        content_type="application/pdf",
        size=len(document.upload.data),
        sha256=staging.store(document.upload.data),
        uploaded_by_id=actor_id,
        created_at=now,
    )
    if req is not None:
        audit.add_document(req, row)
    else:
        db.session.add(row)
    return row


def event_payload(rows: Sequence[Attachment], context: DocumentContext) -> dict[str, object]:
    """What the audit event of an addition records about each document."""
    return {"context": context.value, "documents": [
        {"kind": row.kind.value, "language": row.language, "filename": row.filename,
         "size": row.size, "sha256": row.sha256} for row in rows]}


def add_to_request(req: LegalRequest, actor: Actor, documents: Sequence[DocumentInput],
                   context: DocumentContext, now: datetime,
                   staging: attachments.Staging) -> list[Attachment]:
    """Record checked documents on ``req`` and append the ``documents_added`` event,
    inside the caller's transaction."""
    assert actor.user_id is not None
    rows = [record(req, actor.user_id, document, context, now, staging)
            for document in documents]
    db.session.flush()
    audit.append_event(req, "documents_added", actor=actor, now=now,
                       payload=event_payload(rows, context))
    return rows


def add_documents(actor: Actor, reference: str, documents: Sequence[DocumentInput], *,
                  now: datetime | None = None) -> list[Attachment]:
    """Add documents to a request of the official's agency, later than its filing.

    Raises:
        NotFound: no such request visible to the actor (another agency's).
        Forbidden: the actor is not an official of the filing agency.
        ValidationFailed: no document, or any document is refused (field
            ``documents``, each by position); nothing is stored.
    """
    now = now or utcnow()
    if actor.role is not Role.AGENCY_OFFICIAL:
        # Said before any file is read: staff never add to an agency's file.
        raise Forbidden("only the filing agency's officials add documents")
    if not documents:
        raise ValidationFailed([FieldError("documents", "choose a file first",
                                          "none_chosen")])
    errors = check_documents(documents)
    if errors:
        raise ValidationFailed(errors)
    with attachments.staged() as staging, transaction():
        req = get_request(actor, reference, for_update=True)
        if not actor.owns(req.agency_id):
            raise Forbidden("only the filing agency's officials add documents")
        return add_to_request(req, actor, documents, DocumentContext.LATER, now, staging)


def documents_of(request_id: int) -> list[Attachment]:
    """The request's documents, oldest first, with who uploaded each."""
    return list(db.session.scalars(
        sa.select(Attachment).options(joinedload(Attachment.uploaded_by))
        .where(Attachment.request_id == request_id).order_by(Attachment.id)))


def request_document(actor: Actor, reference: str, document_id: int) -> Attachment:
    """One document of a request the actor may see.

    Raises:
        NotFound: no such request visible to the actor, or no such document on it.
    """
    req = get_request(actor, reference)
    found = db.session.scalar(sa.select(Attachment).where(
        Attachment.id == document_id, Attachment.request_id == req.id))
    if found is None:
        raise NotFound(f"no document {document_id} on {reference}")
    return found


# -- verification evidence --------------------------------------------------------------

def add_evidence(agency_id: int, official_id: int, documents: Sequence[DocumentInput],
                 now: datetime, staging: attachments.Staging) -> list[Attachment]:
    """Record checked verification evidence of a registering agency, inside the
    registration's transaction."""
    return [record(None, official_id, document, DocumentContext.EVIDENCE, now, staging,
                   agency_id=agency_id) for document in documents]


def _require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise NotFound("verification evidence is for administrators")


def evidence_of(actor: Actor, agency_id: int) -> list[Attachment]:
    """An agency's verification evidence, oldest first, with who sent each.

    Raises:
        NotFound: the actor is not an administrator (evidence is never confirmed).
    """
    _require_admin(actor)
    return list(db.session.scalars(
        sa.select(Attachment).options(joinedload(Attachment.uploaded_by))
        .where(Attachment.agency_id == agency_id, Attachment.request_id.is_(None))
        .order_by(Attachment.id)))


def evidence_counts(actor: Actor, agency_ids: Sequence[int]) -> dict[int, int]:
    """How many evidence documents each of these agencies sent (administrators only).

    Raises:
        NotFound: the actor is not an administrator.
    """
    _require_admin(actor)
    if not agency_ids:
        return {}
    rows = db.session.execute(
        sa.select(Attachment.agency_id, sa.func.count())
        .where(Attachment.agency_id.in_(agency_ids), Attachment.request_id.is_(None))
        .group_by(Attachment.agency_id)).all()
    return {int(agency or 0): int(count) for agency, count in rows}


def evidence_document(actor: Actor, agency_id: int, document_id: int) -> Attachment:
    """One evidence document of an agency.

    Raises:
        NotFound: the actor is not an administrator, or no such document of the agency.
    """
    _require_admin(actor)
    found = db.session.scalar(sa.select(Attachment).where(
        Attachment.id == document_id, Attachment.agency_id == agency_id,
        Attachment.request_id.is_(None)))
    if found is None:
        raise NotFound(f"no evidence document {document_id} of agency {agency_id}")
    return found
