"""Filing a request through the service: whole or nothing, with clear errors."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from portal.extensions import db
from portal.intake import ItemKind
from portal.models import (
    Agency,
    Event,
    IdempotencyRecord,
    LegalRequest,
    ReferenceCounter,
    RequestItem,
)
from portal.services.actors import Actor
from portal.services.errors import Forbidden, ValidationFailed
from portal.services.filing import KeyReused, Receipt, TargetInput, file_once, file_request
from tests.factories import NOW, World, filing, handles, make_agency, make_user
from tests.pdfs import ACTIVE_PDFS, PLAIN_PDF


def counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)),
        db.session.scalar(sa.select(sa.func.count()).select_from(RequestItem)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Event)),
    )


def test_filing_stores_the_request_its_items_and_the_first_event(app):
    w = World()
    req = w.file(["@Jack", "https://x.com/jack/status/1", "x.com/other_one"])
    assert req.reference == "TR-2026-000001"
    assert req.state.value == "received" and req.received_at == NOW
    items = db.session.scalars(
        sa.select(RequestItem).where(RequestItem.request_id == req.id)
        .order_by(RequestItem.position)
    ).all()
    assert [(i.position, i.kind.value, i.target) for i in items] == [
        (1, "account", "@jack"),
        (2, "post", "https://x.com/jack/status/1"),
        (3, "account", "@other_one"),
    ]
    assert items[0].raw == "@Jack"
    event = db.session.scalars(sa.select(Event).where(Event.request_id == req.id)).one()
    assert (event.kind, event.to_state, event.seq) == ("filed", "received", 1)
    assert event.payload["items"] == 3 and len(event.payload["items_sha256"]) == 64
    assert req.audit_head == event.hash and req.event_count == 1


def test_references_count_per_jurisdiction_and_year(app):
    w = World()
    first = w.file()
    second = file_request(Actor.of(w.stranger), filing(["@x"]), now=NOW)
    third = w.file(now=NOW + timedelta(days=60))
    fourth = w.file(jurisdiction="tr")
    assert (first.reference, second.reference, third.reference, fourth.reference) == (
        "TR-2026-000001", "IN-2026-000001", "TR-2027-000001", "TR-2026-000002")


def test_an_official_files_only_under_the_agencys_own_country(app):
    """Filing under another country took that country's next reference number, and told
    the official how many requests it had that year."""
    w = World()
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        w.file(jurisdiction="in")
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("jurisdiction", "foreign_jurisdiction")]
    assert "TR" in refused.value.errors[0].message
    assert counts() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReferenceCounter)) == 0


def test_ten_thousand_items_with_one_bad_line_store_nothing(app):
    w = World()
    targets = handles(10_000)
    targets[7_776] = "https://facebook.com/somebody"
    before = counts()
    with pytest.raises(ValidationFailed) as refused:
        w.file(targets)
    assert counts() == before
    [error] = refused.value.errors
    assert (error.field, error.index, error.code) == ("targets", 7_777, "foreign_url")
    assert "7777" in error.message or "facebook.com" in error.message


def test_ten_thousand_items_are_stored_whole(app):
    w = World()
    req = w.file(handles(10_000))
    assert req.item_count == 10_000
    assert counts()[1] == 10_000


def test_every_problem_is_reported_at_once(app):
    w = World()
    with pytest.raises(ValidationFailed) as refused:
        w.file(["@ok", "", "@ok", "@bad handle!"], category="spam", priority="soon",
               legal_statute=" ", issuing_authority="", jurisdiction="Turkey",
               order_date=date(2030, 1, 1))
    by_field = {(e.field, e.index): e.code for e in refused.value.errors}
    assert by_field == {
        ("category", None): "choice",
        ("priority", None): "choice",
        ("legal_statute", None): "required",
        ("issuing_authority", None): "required",
        ("jurisdiction", None): "invalid",
        ("order_date", None): "invalid",
        ("targets", 2): "empty",
        ("targets", 3): "duplicate",
        ("targets", 4): "malformed_handle",
    }
    assert counts() == (0, 0, 0)


def test_no_targets_and_too_many_targets(app):
    w = World()
    with pytest.raises(ValidationFailed, match="at least one target"):
        w.file([])
    app.config["MAX_ITEMS_PER_REQUEST"] = 5
    with pytest.raises(ValidationFailed, match="6 targets given; at most 5"):
        w.file(handles(6))


def test_kind_given_by_the_filer_is_checked(app):
    w = World()
    with pytest.raises(ValidationFailed) as refused:
        file_request(w.actor("official"), filing([TargetInput("@jack", ItemKind.POST)]),
                     now=NOW)
    assert refused.value.errors[0].code == "kind_mismatch"


@pytest.mark.parametrize(("setup", "message"), [
    ("pending", "not been verified"),
    ("expired", "expired"),
    ("suspended", "suspended"),
])
def test_agencies_that_may_not_file_are_told_why(app, setup, message):
    agency = make_agency(verified=setup != "pending")
    if setup == "expired":
        agency.verified_until = NOW - timedelta(days=1)
    if setup == "suspended":
        from portal.models import VerificationStatus
        agency.status = VerificationStatus.SUSPENDED
    db.session.commit()
    official = make_user("agency_official", agency)
    with pytest.raises(Forbidden, match=message):
        file_request(Actor.of(official), filing(), now=NOW)
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize("role", ["legal_reviewer", "platform_liaison", "admin"])
def test_staff_cannot_file(app, role):
    staff = make_user(role)
    with pytest.raises(Forbidden, match="only an agency official"):
        file_request(Actor.of(staff), filing(), now=NOW)


def test_naive_datetimes_never_reach_the_database(app):
    agency = Agency(name="A", country="TR", official_domain="a.gov.tr",
                    created_at=datetime(2026, 11, 20, 10, 0))
    db.session.add(agency)
    with pytest.raises(StatementError, match="naive datetime 2026-11-20T10:00:00 refused"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == 0


def test_timestamps_come_back_aware_utc(app):
    w = World()
    istanbul = datetime(2026, 11, 20, 13, 0, tzinfo=UTC) + timedelta(0)
    req = w.file(now=istanbul)
    db.session.expire_all()
    again = db.session.get(LegalRequest, req.id)
    assert again.received_at == istanbul and again.received_at.tzinfo is not None
    assert again.received_at.utcoffset() == timedelta(0)


def test_order_document_is_stored_by_hash_with_the_request(app):
    from portal.models import Attachment
    from portal.services import attachments
    from portal.services.attachments import AttachmentInput

    w = World()
    pdf = PLAIN_PDF
    req = w.file(attachment=AttachmentInput("../../etc/Karar 2026.pdf", "application/pdf",
                                            pdf))
    doc = db.session.scalar(sa.select(Attachment).where(Attachment.request_id == req.id))
    assert doc.filename == "Karar 2026.pdf" and doc.size == len(pdf)
    assert attachments.read(doc.sha256) == pdf


@pytest.mark.parametrize(("data", "code"), [
    (b"", "required"), (b"PK\x03\x04 not a pdf", "not_pdf"),
    (b"%PDF-" + b"x" * 30, "too_large"),
])
def test_bad_order_documents_are_refused_and_nothing_is_filed(app, data, code):
    from portal.services.attachments import AttachmentInput

    app.config["MAX_ATTACHMENT_BYTES"] = 20
    w = World()
    with pytest.raises(ValidationFailed) as refused:
        w.file(attachment=AttachmentInput("order.pdf", "application/pdf", data))
    assert [e.code for e in refused.value.errors] == [code]
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize(("name", "data", "code"), ACTIVE_PDFS,
                         ids=[name for name, _, _ in ACTIVE_PDFS])
def test_pdfs_with_active_content_or_unreadable_are_refused(app, name, data, code):
    """A PDF with JavaScript, a launch action or an embedded file was stored and served
    to reviewers; so was anything that began with %PDF-."""
    from portal.services.attachments import AttachmentInput

    w = World()
    with pytest.raises(ValidationFailed) as refused:
        w.file(attachment=AttachmentInput("order.pdf", "application/pdf", data))
    assert [(e.field, e.code) for e in refused.value.errors] == [("attachment", code)]
    assert counts() == (0, 0, 0)


# -- filing at most once per idempotency key ---------------------------------------------

def request_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest))


def test_file_once_without_a_key_files_each_time_with_a_receipt(app):
    w = World()
    first = file_once(w.actor("official"), filing())
    second = file_once(w.actor("official"), filing())
    assert (first.reference, second.reference) == ("TR-2026-000001", "TR-2026-000002")
    assert not first.replayed and first.document["items_accepted"] == 3
    assert first.document["state"] == "received"
    assert request_count() == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0


def test_file_once_with_a_key_replays_the_first_receipt(app):
    w = World()
    first = file_once(w.actor("official"), filing(), key="case-1", fingerprint="body-a")
    again = file_once(w.actor("official"), filing(), key="case-1", fingerprint="body-a")
    assert again.replayed and not first.replayed
    assert again.document == first.document
    assert request_count() == 1


def test_a_key_used_with_another_body_is_refused_and_files_nothing(app):
    w = World()
    file_once(w.actor("official"), filing(), key="case-1", fingerprint="body-a")
    with pytest.raises(KeyReused):
        file_once(w.actor("official"), filing(description="changed"), key="case-1",
                  fingerprint="body-b")
    assert request_count() == 1


def test_keys_belong_to_one_user(app):
    w = World()
    colleague = make_user("agency_official", w.agency)
    file_once(w.actor("official"), filing(), key="case-1", fingerprint="body-a")
    theirs = file_once(Actor.of(colleague), filing(), key="case-1", fingerprint="body-a")
    assert not theirs.replayed and request_count() == 2


def test_a_refused_filing_does_not_spend_its_key(app):
    w = World()
    with pytest.raises(ValidationFailed):
        file_once(w.actor("official"), filing(targets=[]), key="case-1", fingerprint="a")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0
    filed = file_once(w.actor("official"), filing(), key="case-1", fingerprint="a")
    assert not filed.replayed and request_count() == 1


@pytest.mark.postgres_only
def test_concurrent_retries_with_one_key_file_once(app):
    w = World()
    official = w.actor("official")
    db.session.commit()
    db.session.remove()
    barrier = threading.Barrier(2)
    receipts: list[Receipt] = []

    def retry() -> None:
        with app.app_context():
            barrier.wait()
            try:
                receipts.append(file_once(official, filing(), key="case-9", fingerprint="x"))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(receipts) == 2 and receipts[0].document == receipts[1].document
    assert sorted(r.replayed for r in receipts) == [False, True]
    assert request_count() == 1
