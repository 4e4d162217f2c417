"""A request's documents (issue 13, part 1): several at filing, more later, more with a
clarification answer, each with a kind and a language; every reader of the request opens
each from their page, nobody else; agencies' verification evidence for administrators
only; a bad file is refused with its own error and leaves neither a row nor a file.

Before: one order PDF at filing and none afterwards, no kind or language, no evidence.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Agency, Attachment, Event, LegalRequest
from portal.services import documents, lifecycle
from portal.services.attachments import AttachmentInput
from portal.services.documents import DocumentInput
from portal.services.errors import ValidationFailed
from tests.api.test_api import bearer
from tests.conftest import sign_in
from tests.factories import NOW, make_user
from tests.functional.test_request_pages import fields, fingerprint, preview
from tests.pdfs import ACTIVE_PDFS, PLAIN_PDF, make_pdf

ORDER = PLAIN_PDF
ANNEX = make_pdf(pages=2)
TRANSLATION = make_pdf(pages=3)


def text_of(response) -> str:
    return re.sub(r"</?bdi>", "", html.unescape(response.get_data(as_text=True)))


def rows() -> list[Attachment]:
    return list(db.session.scalars(sa.select(Attachment).order_by(Attachment.id)))


def stored_files(app) -> list[Path]:
    root = Path(app.config["ATTACHMENT_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def download_url(req: LegalRequest, row: Attachment) -> str:
    return f"/requests/{req.reference}/attachments/{row.id}"


def assert_download(response, data: bytes, name: str) -> None:
    assert response.status_code == 200
    assert response.data == data
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert name in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.mimetype == "application/pdf"


def doc(data: bytes, name: str, kind: str = "annexure", language: str | None = "en"):
    return DocumentInput(AttachmentInput(name, "application/pdf", data), kind, language)


# -- at filing --------------------------------------------------------------------------

def test_an_official_files_with_the_order_an_annexure_and_a_translation(
        app, client, world, policies):
    sign_in(client, world.official)
    shown = preview(client, targets="@one")
    page = shown.get_data(as_text=True)
    assert 'name="order_language"' in page and 'name="documents-0-file"' in page
    assert '<option selected value="en">' in page  # the reader's language by default
    filed = client.post("/requests/new", data={
        **fields(targets="@one"), "action": "file", "previewed": fingerprint(shown),
        "attachment": (io.BytesIO(ORDER), "Karar 2026.pdf"), "order_language": "tr",
        "documents-0-file": (io.BytesIO(ANNEX), "Ek-1.pdf"),
        "documents-0-kind": "annexure", "documents-0-language": "tr",
        "documents-1-file": (io.BytesIO(TRANSLATION), "Order (English).pdf"),
        "documents-1-kind": "translation", "documents-1-language": "en",
    }, content_type="multipart/form-data")
    assert filed.status_code == 302, text_of(filed)
    req = db.session.scalar(sa.select(LegalRequest))
    assert [(r.filename, r.kind.value, r.language, r.context.value, r.uploaded_by_id,
             r.request_id) for r in rows()] == [
        ("Karar 2026.pdf", "order", "tr", "filing", world.official.id, req.id),
        ("Ek-1.pdf", "annexure", "tr", "filing", world.official.id, req.id),
        ("Order (English).pdf", "translation", "en", "filing", world.official.id, req.id),
    ]
    filed_event = db.session.scalar(sa.select(Event).where(Event.kind == "filed"))
    assert [(d["filename"], d["kind"], d["language"])
            for d in filed_event.payload["documents"]] == [
        ("Karar 2026.pdf", "order", "tr"), ("Ek-1.pdf", "annexure", "tr"),
        ("Order (English).pdf", "translation", "en")]

    # The reviewer sees each with its kind, language, sender and time, and opens each.
    reviewer = app.test_client()
    sign_in(reviewer, world.reviewer)
    review = text_of(reviewer.get(f"/review/requests/{req.reference}"))
    for row in rows():
        assert download_url(req, row) in review
    assert "Annexure" in review and "Translation" in review and "Order" in review
    assert "Turkish" in review and "English" in review
    name = world.official.name or world.official.email
    assert review.count(name) >= 3
    for row, data in zip(rows(), (ORDER, ANNEX, TRANSLATION), strict=True):
        assert_download(reviewer.get(download_url(req, row)), data, "attachment")


def test_a_bad_extra_document_at_filing_is_refused_on_its_row_and_nothing_is_filed(
        app, client, world, policies):
    sign_in(client, world.official)
    shown = preview(client, targets="@one")
    refused = client.post("/requests/new", data={
        **fields(targets="@one"), "action": "file", "previewed": fingerprint(shown),
        "attachment": (io.BytesIO(ORDER), "order.pdf"), "order_language": "tr",
        "documents-0-file": (io.BytesIO(ANNEX), "Ek-1.pdf"),
        "documents-0-kind": "annexure", "documents-0-language": "tr",
        "documents-1-file": (io.BytesIO(b"PK\x03\x04 a zip"), "annex.pdf"),
        "documents-1-kind": "annexure", "documents-1-language": "tr",
    }, content_type="multipart/form-data")
    body = text_of(refused)
    assert refused.status_code == 422
    assert 'id="documents-1-file-error"' in body and "The document must be a PDF file." in body
    assert "Nothing was filed." in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)) == 0
    assert rows() == [] and stored_files(app) == []


# -- later, and with an answer ----------------------------------------------------------

def test_an_official_adds_a_translation_later_and_it_is_on_the_record(
        app, client, world, policies):
    req = world.file(["@one"])
    sign_in(client, world.official)
    page = text_of(client.get(f"/requests/{req.reference}"))
    assert "Add documents" in page
    added = client.post(f"/requests/{req.reference}/documents", data={
        "documents-0-file": (io.BytesIO(TRANSLATION), "çeviri.pdf"),
        "documents-0-kind": "translation", "documents-0-language": "en",
    }, content_type="multipart/form-data")
    assert added.status_code == 302
    [row] = rows()
    assert (row.kind.value, row.language, row.context.value, row.filename) == (
        "translation", "en", "later", "çeviri.pdf")
    event = db.session.scalar(sa.select(Event).where(Event.kind == "documents_added"))
    assert event.payload["context"] == "later"
    assert event.payload["documents"][0]["sha256"] == row.sha256
    shown = text_of(client.get(f"/requests/{req.reference}"))
    assert "1 document added" in shown and "Translation: çeviri.pdf (English)" in shown
    assert_download(client.get(download_url(req, row)), TRANSLATION, "attachment")


def test_the_answer_to_a_question_carries_the_annexure_asked_for(
        app, client, world, policies):
    req = world.file(["@one"])
    world.to_review(req.reference)
    lifecycle.fire(world.actor("reviewer"), req.reference, "request_info",
                   inputs={"question": "Send annexure 2 of the order."})
    req = db.session.get(LegalRequest, req.id)
    sign_in(client, world.official)
    page = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    assert 'name="provide_info-documents-0-file"' in page
    answered = client.post(f"/requests/{req.reference}/act/provide_info", data={
        "provide_info-text": "Annexure 2 attached.", "provide_info-version": req.version,
        "provide_info-documents-0-file": (io.BytesIO(ANNEX), "Ek-2.pdf"),
        "provide_info-documents-0-kind": "annexure",
        "provide_info-documents-0-language": "tr",
    }, content_type="multipart/form-data")
    assert answered.status_code == 302, text_of(answered)
    db.session.expire_all()
    assert db.session.get(LegalRequest, req.id).state.value == "legal_review"
    [row] = rows()
    assert (row.kind.value, row.language, row.context.value) == ("annexure", "tr", "answer")
    kinds = list(db.session.scalars(sa.select(Event.kind).where(
        Event.request_id == req.id).order_by(Event.seq)))
    assert kinds[-2:] == ["transition", "documents_added"]

    reviewer = app.test_client()
    sign_in(reviewer, world.reviewer)
    review = text_of(reviewer.get(f"/review/requests/{req.reference}"))
    assert download_url(req, row) in review and "with an answer" in review
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", review))
    assert "1 document added (with an answer)" in words
    assert "Annexure: Ek-2.pdf (Turkish)" in words
    assert_download(reviewer.get(download_url(req, row)), ANNEX, "Ek-2.pdf")


def test_a_bad_document_with_the_answer_keeps_the_question_open(
        app, client, world, policies):
    req = world.file(["@one"])
    world.to_review(req.reference)
    lifecycle.fire(world.actor("reviewer"), req.reference, "request_info",
                   inputs={"question": "Send annexure 2."})
    req = db.session.get(LegalRequest, req.id)
    sign_in(client, world.official)
    refused = client.post(f"/requests/{req.reference}/act/provide_info", data={
        "provide_info-text": "Attached.", "provide_info-version": req.version,
        "provide_info-documents-0-file": (io.BytesIO(ANNEX), "Ek-2.exe"),
        "provide_info-documents-0-kind": "annexure",
        "provide_info-documents-0-language": "tr",
    }, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "This file name is not accepted" in text_of(refused)
    db.session.expire_all()
    assert db.session.get(LegalRequest, req.id).state.value == "awaiting_info"
    assert rows() == [] and stored_files(app) == []


# -- who may open them ------------------------------------------------------------------

def test_each_reader_of_the_request_opens_its_documents_and_nobody_else(
        app, client, world, policies):
    req = world.file(["@one"], attachment=AttachmentInput("order.pdf", "application/pdf",
                                                          ORDER))
    [row] = rows()
    url = download_url(req, row)
    for user in (world.official, world.reviewer, world.liaison, world.admin):
        reader = app.test_client()
        sign_in(reader, user)
        assert_download(reader.get(url), ORDER, "order.pdf")
    sign_in(client, world.stranger)
    assert client.get(url).status_code == 404
    assert client.post(f"/requests/{req.reference}/documents", data={
        "documents-0-file": (io.BytesIO(ANNEX), "x.pdf"), "documents-0-kind": "other",
        "documents-0-language": "en"}, content_type="multipart/form-data").status_code == 404
    assert len(rows()) == 1
    # Staff read the request but do not add to the agency's file.
    with pytest.raises(Exception) as refused:
        documents.add_documents(world.actor("reviewer"), req.reference, [doc(ANNEX, "a.pdf")])
    assert type(refused.value).__name__ == "Forbidden"


def test_the_api_lists_the_documents_with_kind_and_language_and_downloads_them(
        app, client, world, policies):
    req = world.file(["@one"], attachment=AttachmentInput("order.pdf", "application/pdf",
                                                          ORDER), order_language="tr",
                     documents=[doc(TRANSLATION, "order-en.pdf", "translation", "en")])
    listed = client.get(f"/api/v1/requests/{req.reference}/documents",
                        headers=bearer(world.reviewer))
    assert listed.status_code == 200
    data = listed.get_json()["data"]
    assert [(d["filename"], d["kind"], d["language"], d["context"], d["uploaded_by_role"])
            for d in data] == [("order.pdf", "order", "tr", "filing", "agency_official"),
                               ("order-en.pdf", "translation", "en", "filing",
                                "agency_official")]
    got = client.get(data[1]["links"]["download"], headers=bearer(world.official))
    assert_download(got, TRANSLATION, "order-en.pdf")
    stranger = bearer(world.stranger)
    assert client.get(f"/api/v1/requests/{req.reference}/documents",
                      headers=stranger).status_code == 404
    assert client.get(data[1]["links"]["download"], headers=stranger).status_code == 404


# -- bad files: a specific error, nothing half-saved --------------------------------------

@pytest.mark.parametrize(("data", "name", "code"), [
    (b"PK\x03\x04 not a pdf", "annex.pdf", "not_pdf"),
    (b"%PDF-" + b"x" * 100_000, "annex.pdf", "too_large"),
    (PLAIN_PDF, "annex.pdf.exe", "bad_name"),
    (PLAIN_PDF, "annex\x07.pdf", "bad_name"),
    (PLAIN_PDF, "a" * 300 + ".pdf", "bad_name"),
    (ACTIVE_PDFS[0][1], "annex.pdf", "pdf_javascript"),
    (b"", "annex.pdf", "required"),
])
def test_a_bad_file_is_refused_with_its_own_error_and_leaves_nothing(
        app, world, policies, data, name, code):
    app.config["MAX_ATTACHMENT_BYTES"] = 50_000  # the fine annexure is far smaller
    req = world.file(["@one"])
    events_before = db.session.scalar(sa.select(LegalRequest.event_count).where(
        LegalRequest.id == req.id))
    with pytest.raises(ValidationFailed) as refused:
        documents.add_documents(world.actor("official"), req.reference,
                                [doc(ANNEX, "fine.pdf"), doc(data, name)])
    assert [(e.field, e.index, e.code) for e in refused.value.errors] == [
        ("documents", 2, code)]
    assert rows() == [] and stored_files(app) == []
    assert db.session.scalar(sa.select(LegalRequest.event_count).where(
        LegalRequest.id == req.id)) == events_before


@pytest.mark.parametrize(("kind", "language", "code"), [
    ("affidavit", "en", "kind"), ("annexure", "english", "language"),
    ("annexure", "xx", "language"),
])
def test_an_unknown_kind_or_language_is_refused(app, world, policies, kind, language, code):
    req = world.file(["@one"])
    with pytest.raises(ValidationFailed) as refused:
        documents.add_documents(world.actor("official"), req.reference,
                                [doc(ANNEX, "a.pdf", kind, language)])
    assert [(e.field, e.index, e.code) for e in refused.value.errors] == [
        ("documents", 1, code)]
    assert rows() == []


def test_the_add_form_shows_the_error_on_the_row(app, client, world, policies):
    req = world.file(["@one"])
    sign_in(client, world.official)
    refused = client.post(f"/requests/{req.reference}/documents", data={
        "documents-0-file": (io.BytesIO(b"GIF89a"), "scan.pdf"),
        "documents-0-kind": "annexure", "documents-0-language": "tr",
    }, content_type="multipart/form-data")
    body = text_of(refused)
    assert refused.status_code == 422
    assert 'id="documents-0-file-error"' in body and "The document must be a PDF file." in body
    assert rows() == [] and stored_files(app) == []
    nothing = client.post(f"/requests/{req.reference}/documents", data={
        "documents-0-kind": "annexure", "documents-0-language": "tr",
    }, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "Choose a file first." in text_of(nothing)


# -- verification evidence ----------------------------------------------------------------

def registration_form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "agency_name": "Cyber Crimes Directorate", "country": "TR",
        "domain": "siber.gov.example", "official_name": "Ayşe Demir",
        "official_email": "ayse@siber.gov.example"}
    data.update(changes)
    return data


def test_evidence_sent_at_registration_is_seen_and_opened_by_admins_only(app, client, world):
    registered = client.post("/register", data=registration_form(evidence=[
        (io.BytesIO(ORDER), "Kuruluş kararı.pdf"), (io.BytesIO(ANNEX), "Atama yazısı.pdf")]),
        content_type="multipart/form-data")
    assert registered.status_code == 302
    agency = db.session.scalar(sa.select(Agency).where(
        Agency.official_domain == "siber.gov.example"))
    evidence = rows()
    assert [(r.agency_id, r.request_id, r.context.value, r.filename) for r in evidence] == [
        (agency.id, None, "evidence", "Kuruluş kararı.pdf"),
        (agency.id, None, "evidence", "Atama yazısı.pdf")]
    urls = [f"/admin/agencies/{agency.id}/evidence/{r.id}" for r in evidence]

    admin = app.test_client()
    sign_in(admin, world.admin)
    queue = text_of(admin.get("/admin/agencies"))
    assert "2 documents" in queue
    page = text_of(admin.get(f"/admin/agencies/{agency.id}"))
    assert "Kuruluş kararı.pdf" in page and "Atama yazısı.pdf" in page
    assert all(url in page for url in urls)
    assert_download(admin.get(urls[0]), ORDER, "attachment")
    assert_download(admin.get(urls[1]), ANNEX, "attachment")

    for user in (world.reviewer, world.liaison, world.official):
        other = app.test_client()
        sign_in(other, user)
        refused = other.get(urls[0])
        assert refused.status_code in (403, 404) and refused.data != ORDER
    # Evidence asked for under another agency's id is no document either.
    assert admin.get(f"/admin/agencies/{world.agency.id}/evidence/{evidence[0].id}"
                     ).status_code == 404
    # The evidence is not a document of any request.
    with pytest.raises(Exception) as hidden:
        documents.evidence_of(world.actor("reviewer"), agency.id)
    assert type(hidden.value).__name__ == "NotFound"


def test_bad_evidence_refuses_the_registration_and_stores_nothing(app, client, world):
    refused = client.post("/register", data=registration_form(evidence=[
        (io.BytesIO(ORDER), "decree.pdf"), (io.BytesIO(b"<html>"), "letter.pdf")]),
        content_type="multipart/form-data")
    body = text_of(refused)
    assert refused.status_code == 200
    assert "File 2: The file must be a PDF file." in body
    assert db.session.scalar(sa.select(Agency).where(
        Agency.official_domain == "siber.gov.example")) is None
    assert rows() == [] and stored_files(app) == []


def test_registration_without_evidence_still_works(app, client, world):
    make_user("admin")
    done = client.post("/register", data=registration_form(), content_type="multipart/form-data")
    assert done.status_code == 302 and rows() == []


def test_documents_added_after_a_failed_commit_leave_no_file(app, world, policies,
                                                              monkeypatch):
    """A transaction that stored a file and then failed to commit removes the file."""
    req = world.file(["@one"], now=NOW)
    original = db.session.commit

    def failing_commit() -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    with pytest.raises(RuntimeError):
        documents.add_documents(world.actor("official"), req.reference,
                                [doc(ANNEX, "a.pdf")])
    monkeypatch.setattr(db.session, "commit", original)
    assert rows() == [] and stored_files(app) == []
