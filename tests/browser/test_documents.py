"""Documents in a real browser (issue 13, part 1): the official adds a translation to a
filed request and answers the reviewer's question with the annexure asked for; the
reviewer opens each document from the review page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from portal.models import User
from portal.models.columns import utcnow
from portal.services import accounts, lifecycle
from portal.services.actors import Actor
from portal.services.attachments import AttachmentInput
from portal.services.filing import file_request
from tests.browser.conftest import LiveServer, People, Screenshots, Staff, sign_in
from tests.factories import filing
from tests.pdfs import PLAIN_PDF, make_pdf

OFFICIAL = "ayse@btk.gov.tr"
PASSWORD = "a long password for the official"
TRANSLATION = make_pdf(pages=2)
ANNEX = make_pdf(pages=3)


def test_documents_are_added_later_and_with_the_answer_and_the_reviewer_opens_each(
        live_server: LiveServer, staff: Staff, people: People, shots: Screenshots,
        tmp_path: Path) -> None:
    with live_server.db():
        agency = accounts.create_agency(
            "BTK", country="TR", domain="btk.gov.tr", verified=True,
            verified_until=utcnow() + timedelta(days=365))
        official = accounts.create_user(OFFICIAL, role="agency_official",
                                        agency_id=agency.id, password=PASSWORD,
                                        name="Ayşe Demir")
        req = file_request(Actor.of(official), filing(
            ["@one"], attachment=AttachmentInput("Karar.pdf", "application/pdf", PLAIN_PDF),
            order_language="tr"))
        reference = req.reference
    (tmp_path / "translation.pdf").write_bytes(TRANSLATION)
    (tmp_path / "Ek-2.pdf").write_bytes(ANNEX)

    # The official adds the order's English translation.
    page = people("official")
    sign_in(page, OFFICIAL, PASSWORD)
    page.goto(f"/requests/{reference}")
    page.get_by_text("Add documents", exact=True).click()
    page.locator("#documents-0-file").set_input_files(tmp_path / "translation.pdf")
    page.locator("#documents-0-kind").select_option(label="Translation")
    page.locator("#documents-0-language").select_option("en")
    shots.take(page, "official adds a translation")
    page.get_by_role("button", name="Add the documents").click()
    expect(page.get_by_role("status").filter(has_text="1 document was added.")).to_be_visible()
    table = page.get_by_role("group", name="Documents")
    expect(table).to_contain_text("translation.pdf")
    expect(table).to_contain_text("English")

    # The reviewer asks for an annexure; the official answers with it.
    with live_server.db() as session:
        reviewer = session.scalar(sa.select(User).where(User.email == staff.reviewer))
        lifecycle.fire(Actor.of(reviewer), reference, "begin_review")
        lifecycle.fire(Actor.of(reviewer), reference, "request_info",
                       inputs={"question": "Send annexure 2 of the order."})
    page.reload()
    page.get_by_label("Your answer").fill("Annexure 2 is attached.")
    page.locator("#provide_info-documents-0-file").set_input_files(tmp_path / "Ek-2.pdf")
    page.locator("#provide_info-documents-0-kind").select_option(label="Annexure")
    page.locator("#provide_info-documents-0-language").select_option("tr")
    page.get_by_role("button", name="Send the answer").click()
    expect(page.get_by_role("group", name="Documents")).to_contain_text("Ek-2.pdf")
    shots.take(page, "official answered with an annexure")

    # The reviewer sees all three with kind and language, and opens each.
    desk = people("reviewer")
    sign_in(desk, staff.reviewer, staff.password)
    desk.goto(f"/review/requests/{reference}")
    documents = desk.get_by_role("group", name="Documents")
    for name, kind in (("Karar.pdf", "Order"), ("translation.pdf", "Translation"),
                       ("Ek-2.pdf", "Annexure")):
        row = documents.get_by_role("row").filter(has_text=name)
        expect(row).to_contain_text(kind)
    expect(documents).to_contain_text("Turkish")
    timeline = desk.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("1 document added (with an answer)")
    expect(timeline).to_contain_text("Annexure: Ek-2.pdf (Turkish)")
    shots.take(desk, "reviewer sees the documents")
    for name, data in (("Karar.pdf", PLAIN_PDF), ("translation.pdf", TRANSLATION),
                       ("Ek-2.pdf", ANNEX)):
        with desk.expect_download() as download:
            documents.get_by_role("link", name=name).click()
        saved = tmp_path / f"got-{name}"
        download.value.save_as(saved)
        assert saved.read_bytes() == data
        assert download.value.suggested_filename == name
    people.assert_no_page_problems()
