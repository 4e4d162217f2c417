"""Officials add documents through the API (issue 13, part 1): later than the filing
(``POST /requests/{reference}/documents``) and with a clarification answer
(``POST /requests/{reference}/answer``), as ``multipart/form-data`` with a kind and a
language per file; every refusal names the part and the file's position and leaves
neither a row nor a file.

Before: the API listed and downloaded documents only; an agency integrating through it
could not attach an order, an annexure a reviewer asked for, or a translation.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from portal.extensions import db
from portal.models import Attachment, Event, LegalRequest, UserNotice
from portal.services import lifecycle
from tests.api.test_api_bodies import CountingBody
from tests.api.test_token_scopes import bearer
from tests.pdfs import ACTIVE_PDFS, PLAIN_PDF, make_pdf

pytestmark = pytest.mark.usefixtures("policies")

PROBLEM = "application/problem+json"
ANNEX = make_pdf(pages=2)
TRANSLATION = make_pdf(pages=3)


def rows() -> list[Attachment]:
    return list(db.session.scalars(sa.select(Attachment).order_by(Attachment.id)))


def stored_files(app) -> list[Path]:
    root = Path(app.config["ATTACHMENT_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def event_kinds(req: LegalRequest) -> list[str]:
    return list(db.session.scalars(sa.select(Event.kind).where(
        Event.request_id == req.id).order_by(Event.seq)))


def files(*pairs: tuple[bytes, str]) -> list[tuple[io.BytesIO, str]]:
    return [(io.BytesIO(data), name) for data, name in pairs]


def post_documents(client, reference: str, headers: dict[str, str], **data: object):
    return client.post(f"/api/v1/requests/{reference}/documents", data=data,
                       headers=headers, content_type="multipart/form-data")


def post_large(client, reference: str, headers: dict[str, str], data: bytes, name: str):
    """One large file, its body encoded here in memory: the test client would spool it
    to a temporary file that it never closes (a ResourceWarning in a later test)."""
    boundary, body = encode_multipart(MultiDict([
        ("file", FileStorage(io.BytesIO(data), filename=name,
                             content_type="application/pdf")),
        ("kind", "order"), ("language", "tr")]))
    return client.post(f"/api/v1/requests/{reference}/documents", data=body,
                       headers=headers,
                       content_type=f"multipart/form-data; boundary={boundary}")


def sized_pdf(size: int) -> bytes:
    """A real one-page PDF of exactly ``size`` bytes (a content stream of spaces)."""
    def pad(extra: int) -> bytes:
        writer = PdfWriter()
        page = writer.add_blank_page(595, 842)
        stream = DecodedStreamObject()
        stream.set_data(b" " * extra)
        page[NameObject("/Contents")] = writer._add_object(stream)
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()

    overhead = len(pad(0))
    # The stream's /Length grows by a few digits with its size: adjust once.
    data = pad(size - overhead)
    data = pad(size - overhead - (len(data) - size))
    assert len(data) == size
    return data


# -- the happy path -----------------------------------------------------------------------

def test_an_official_adds_two_documents_which_are_listed_and_downloaded(app, client, world):
    req = world.file(["@one"])
    before = event_kinds(req)
    headers = bearer(world.official, "file")
    added = post_documents(client, req.reference, headers,
                           file=files((ANNEX, "Ek-2.pdf"), (TRANSLATION, "Order (en).pdf")),
                           kind=["annexure", "translation"], language=["tr", "en"])
    assert added.status_code == 201, added.get_json()
    assert added.headers["Location"] == f"/api/v1/requests/{req.reference}/documents"
    data = added.get_json()["data"]
    assert [(d["filename"], d["kind"], d["language"], d["context"], d["size"],
             d["uploaded_by_role"]) for d in data] == [
        ("Ek-2.pdf", "annexure", "tr", "later", len(ANNEX), "agency_official"),
        ("Order (en).pdf", "translation", "en", "later", len(TRANSLATION),
         "agency_official")]

    listed = client.get(f"/api/v1/requests/{req.reference}/documents",
                        headers=bearer(world.reviewer))
    assert listed.status_code == 200
    assert listed.get_json()["data"] == data  # the same shape as the list
    for entry, content in zip(data, (ANNEX, TRANSLATION), strict=True):
        got = client.get(entry["links"]["download"], headers=bearer(world.reviewer))
        assert got.status_code == 200 and got.data == content
        assert got.headers["Content-Disposition"].startswith("attachment;")
        assert got.headers["X-Content-Type-Options"] == "nosniff"

    # The same audit event the page's addition makes, with the API call's request id.
    assert event_kinds(req) == [*before, "documents_added"]
    event = db.session.scalar(sa.select(Event).where(Event.kind == "documents_added"))
    assert event.payload["context"] == "later"
    assert [(d["filename"], d["kind"], d["language"]) for d in
            event.payload["documents"]] == [("Ek-2.pdf", "annexure", "tr"),
                                            ("Order (en).pdf", "translation", "en")]
    assert event.payload["request_id"] == added.headers["X-Request-ID"]
    assert len(stored_files(app)) == 2


def test_one_kind_and_language_apply_to_every_file(app, client, world):
    req = world.file(["@one"])
    added = post_documents(client, req.reference, bearer(world.official, "file"),
                           file=files((ANNEX, "a.pdf"), (TRANSLATION, "b.pdf")),
                           kind="annexure", language="hi")
    assert added.status_code == 201
    assert [(r.kind.value, r.language, r.context.value) for r in rows()] == [
        ("annexure", "hi", "later"), ("annexure", "hi", "later")]


# -- who may add --------------------------------------------------------------------------

def test_another_agency_and_the_platform_staff_cannot_add(app, client, world):
    req = world.file(["@one"])
    send = {"file": files((ANNEX, "a.pdf")), "kind": "annexure", "language": "en"}
    stranger = post_documents(client, req.reference, bearer(world.stranger, "file"),
                              **send)
    assert stranger.status_code == 404 and stranger.content_type == PROBLEM
    for user, sent in [(world.reviewer, ANNEX), (world.liaison, ANNEX),
                       # Refused for who they are before the file is looked at.
                       (world.reviewer, b"not a pdf")]:
        send = {"file": files((sent, "a.pdf")), "kind": "annexure", "language": "en"}
        refused = post_documents(client, req.reference, bearer(user, "file", "act"), **send)
        assert refused.status_code == 403 and refused.content_type == PROBLEM
        assert "only the filing agency's officials" in refused.get_json()["detail"]
    # A read-only token of the filing official: the scope filing needs is missing.
    send = {"file": files((ANNEX, "a.pdf")), "kind": "annexure", "language": "en"}
    read_only = post_documents(client, req.reference, bearer(world.official), **send)
    assert read_only.status_code == 403
    assert read_only.headers["WWW-Authenticate"].endswith('scope="file"')
    assert rows() == [] and stored_files(app) == []
    assert "documents_added" not in event_kinds(req)


# -- bad input: the part and the position named, nothing saved ---------------------------

GOOD = (ANNEX, "fine.pdf")


@pytest.mark.parametrize(("send", "errors"), [
    ({"file": [GOOD, (b"PK\x03\x04 a zip", "annex.pdf")], "kind": "annexure",
      "language": "tr"}, [("file/1", 1, "not_pdf")]),
    ({"file": [GOOD, (ACTIVE_PDFS[0][1], "annex.pdf")], "kind": "annexure",
      "language": "tr"}, [("file/1", 1, "pdf_javascript")]),
    ({"file": [(ACTIVE_PDFS[3][1], "annex.pdf")], "kind": "annexure", "language": "tr"},
     [("file/0", 0, "pdf_embedded_file")]),
    ({"file": [GOOD, (PLAIN_PDF, "annex.pdf.exe")], "kind": "annexure",
      "language": "tr"}, [("file/1", 1, "bad_name")]),
    ({"file": [(PLAIN_PDF, "a" * 300 + ".pdf")], "kind": "annexure", "language": "tr"},
     [("file/0", 0, "bad_name")]),
    ({"file": [GOOD, (PLAIN_PDF, "b.pdf")], "kind": ["annexure", "affidavit"],
      "language": "tr"}, [("kind/1", 1, "unknown_kind")]),
    ({"file": [GOOD, (PLAIN_PDF, "b.pdf")], "kind": "annexure",
      "language": ["tr", "english"]}, [("language/1", 1, "unknown_language")]),
    ({"file": [GOOD] * 11, "kind": "annexure", "language": "tr"},
     [("file", None, "too_many")]),
    ({"file": [GOOD, GOOD, GOOD], "kind": ["annexure", "order"], "language": "tr"},
     [("kind", None, "count_mismatch")]),
    ({"file": [GOOD], "language": "tr"}, [("kind", None, "required")]),
    ({"file": [GOOD], "kind": "annexure"}, [("language", None, "required")]),
    ({"kind": "annexure", "language": "tr"},
     [("file", None, "required"), ("kind", None, "no_file"),
      ("language", None, "no_file")]),
    ({"file": "not a file part", "kind": "annexure", "language": "tr"},
     [("file", None, "not_a_file"), ("kind", None, "no_file"),
      ("language", None, "no_file")]),
], ids=["not-pdf", "javascript", "embedded-file", "exe-name", "long-name", "unknown-kind",
        "unknown-language", "eleven-files", "kinds-do-not-pair", "no-kind", "no-language",
        "no-file", "text-not-file"])
def test_bad_input_names_the_part_and_the_file_and_saves_nothing(
        app, client, world, send, errors):
    req = world.file(["@one"])
    before = event_kinds(req)
    data = {name: ([(io.BytesIO(d), n) for d, n in value] if name == "file"
                   and isinstance(value, list) else value) for name, value in send.items()}
    refused = post_documents(client, req.reference, bearer(world.official, "file"), **data)
    assert refused.status_code == 422 and refused.content_type == PROBLEM
    assert [(e["path"], e["index"], e["code"]) for e in refused.get_json()["errors"]] == errors
    assert rows() == [] and stored_files(app) == []
    assert event_kinds(req) == before


def test_a_20_mb_pdf_is_taken_a_larger_one_refused_and_a_huge_body_is_413(
        app, client, world):
    # The pages' limits: 20 MiB a file (MAX_ATTACHMENT_BYTES), 24 MiB a body.
    assert app.config["MAX_ATTACHMENT_BYTES"] == 20 * 1024 * 1024
    req = world.file(["@one"])
    headers = bearer(world.official, "file")
    taken = post_large(client, req.reference, headers, sized_pdf(20_000_000), "scan.pdf")
    assert taken.status_code == 201, taken.get_json()
    assert taken.get_json()["data"][0]["size"] == 20_000_000

    over = post_large(client, req.reference, headers, sized_pdf(21_000_000), "scan2.pdf")
    assert over.status_code == 422
    [error] = over.get_json()["errors"]
    assert (error["path"], error["code"]) == ("file/0", "too_large")
    assert "larger than 20 MiB" in error["message"]

    huge = post_large(client, req.reference, headers, b"%PDF-" + b" " * 26_000_000,
                      "huge.pdf")
    assert huge.status_code == 413 and huge.content_type == PROBLEM
    assert "at most 25165824" in huge.get_json()["detail"]
    assert len(rows()) == 1 and len(stored_files(app)) == 1


def test_a_json_body_is_415(app, client, world):
    req = world.file(["@one"])
    sent = client.post(f"/api/v1/requests/{req.reference}/documents",
                       json={"file": "x"}, headers=bearer(world.official, "file"))
    assert sent.status_code == 415 and "multipart/form-data" in sent.get_json()["detail"]


# -- with a clarification answer --------------------------------------------------------

def asked(world) -> LegalRequest:
    req = world.file(["@one"])
    world.to_review(req.reference)
    return lifecycle.fire(world.actor("reviewer"), req.reference, "request_info",
                          inputs={"question": "Send annexure 2 of the order."})


def test_the_answer_carries_the_annexure_asked_for(app, client, world):
    req = asked(world)
    answered = client.post(f"/api/v1/requests/{req.reference}/answer", data={
        "answer": "Annexure 2 attached.", "expected_version": str(req.version),
        "file": files((ANNEX, "Ek-2.pdf")), "kind": "annexure", "language": "tr",
    }, headers=bearer(world.official, "act"), content_type="multipart/form-data")
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["state"] == "legal_review"
    [row] = rows()
    assert (row.filename, row.kind.value, row.language, row.context.value) == (
        "Ek-2.pdf", "annexure", "tr", "answer")
    assert event_kinds(req)[-2:] == ["transition", "documents_added"]
    answer_event = db.session.scalar(sa.select(Event).where(
        Event.trigger == "provide_info"))
    assert answer_event.payload["answer"] == "Annexure 2 attached."
    # The reviewer who asked is told, as when the answer comes from the page.
    told = db.session.scalars(sa.select(UserNotice).where(
        UserNotice.reference == req.reference)).all()
    assert [(n.user_id, n.payload["trigger"]) for n in told
            if n.payload.get("trigger") == "provide_info"] == [(world.reviewer.id,
                                                                "provide_info")]


def test_an_answer_without_documents_is_an_answer(app, client, world):
    req = asked(world)
    answered = client.post(f"/api/v1/requests/{req.reference}/answer",
                           data={"answer": "It is the 2026 order."},
                           headers=bearer(world.official, "act"),
                           content_type="multipart/form-data")
    assert answered.status_code == 200 and answered.get_json()["state"] == "legal_review"
    assert rows() == []


@pytest.mark.parametrize(("send", "errors"), [
    ({"answer": "Attached.", "file": [(ANNEX, "Ek-2.exe")], "kind": "annexure",
      "language": "tr"}, [("file/0", 0, "bad_name")]),
    ({"answer": "Attached.", "file": [(ANNEX, "Ek-2.pdf")], "kind": "annexure",
      "language": "zz"}, [("language/0", 0, "unknown_language")]),
    ({"answer": " ", "file": [(ANNEX, "Ek-2.pdf")], "kind": "annexure",
      "language": "tr"}, [("answer", None, "required")]),
    ({"answer": "a\x00b"}, [("answer", None, "control_characters")]),
    ({"answer": "ok", "expected_version": "two"}, [("expected_version", None, "invalid")]),
])
def test_a_bad_answer_keeps_the_question_open_and_saves_nothing(app, client, world, send,
                                                                errors):
    req = asked(world)
    before = event_kinds(req)
    data = {name: ([(io.BytesIO(d), n) for d, n in value] if name == "file" else value)
            for name, value in send.items()}
    refused = client.post(f"/api/v1/requests/{req.reference}/answer", data=data,
                          headers=bearer(world.official, "act"),
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and refused.content_type == PROBLEM
    assert [(e["path"], e["index"], e["code"]) for e in refused.get_json()["errors"]] == errors
    db.session.expire_all()
    assert db.session.get(LegalRequest, req.id).state.value == "awaiting_info"
    assert rows() == [] and stored_files(app) == [] and event_kinds(req) == before


def test_only_the_filing_agency_answers_and_only_when_asked(app, client, world):
    req = asked(world)
    send = {"answer": "x", "file": files((ANNEX, "a.pdf")), "kind": "annexure",
            "language": "tr"}
    stranger = client.post(f"/api/v1/requests/{req.reference}/answer", data=send,
                           headers=bearer(world.stranger, "act"),
                           content_type="multipart/form-data")
    assert stranger.status_code == 404
    send = {"answer": "x", "file": files((ANNEX, "a.pdf")), "kind": "annexure",
            "language": "tr"}
    reviewer = client.post(f"/api/v1/requests/{req.reference}/answer", data=send,
                           headers=bearer(world.reviewer, "act"),
                           content_type="multipart/form-data")
    assert reviewer.status_code == 403
    # Answered once, there is no question left: 409, and the second file is not kept.
    for expected in (200, 409):
        send = {"answer": "x", "file": files((ANNEX, "a.pdf")), "kind": "annexure",
                "language": "tr"}
        answered = client.post(f"/api/v1/requests/{req.reference}/answer", data=send,
                               headers=bearer(world.official, "act"),
                               content_type="multipart/form-data")
        assert answered.status_code == expected
    assert len(rows()) == 1
    # A "file" token may add documents but not answer (an answer is an action).
    refused = client.post(f"/api/v1/requests/{req.reference}/answer", data={"answer": "x"},
                          headers=bearer(world.official, "file"),
                          content_type="multipart/form-data")
    assert refused.status_code == 403 and "'act'" in refused.get_json()["detail"]


def test_the_openapi_document_describes_both_uploads(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    add = spec["paths"]["/api/v1/requests/{reference}/documents"]["post"]
    body = add["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["file", "kind", "language"]
    assert body["properties"]["file"]["items"]["format"] == "binary"
    assert set(add["responses"]) >= {"201", "403", "404", "413", "415", "422"}
    answer = spec["paths"]["/api/v1/requests/{reference}/answer"]["post"]
    assert answer["requestBody"]["content"]["multipart/form-data"]["schema"][
        "required"] == ["answer"]


def test_a_body_is_bounded_before_it_is_read(app, client, world):
    req = world.file(["@one"])
    path = f"/api/v1/requests/{req.reference}/documents"
    limit = app.config["MAX_CONTENT_LENGTH"]
    for chunked, scopes, status in [(False, ("file",), 413), (True, ("file",), 413),
                                    (False, ("read",), 403)]:
        stream = CountingBody(limit + 1_000_000)
        response = client.post(
            path, input_stream=stream, content_length=None if chunked else stream.size,
            content_type="multipart/form-data; boundary=x",
            headers=bearer(world.official, *scopes),
            environ_overrides={"wsgi.input_terminated": True} if chunked else {})
        assert response.status_code == status and response.content_type == PROBLEM
        # From its Content-Length nothing is read; sent in chunks, at most the limit.
        assert stream.consumed <= (limit + 1 if chunked else 0), (chunked, scopes)
    assert rows() == [] and stored_files(app) == []
