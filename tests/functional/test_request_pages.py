"""The agency official's pages: filing with a preview, the list, and one request."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Attachment, LegalRequest, RequestItem, VerificationStatus
from portal.models.columns import utcnow
from portal.services import decisions, lifecycle, messages
from portal.services.attachments import AttachmentInput
from tests.conftest import sign_in
from tests.factories import World, count_statements, handles, make_agency, make_user
from tests.pdfs import ACTIVE_PDFS, PLAIN_PDF

PDF = PLAIN_PDF


# -- helpers ----------------------------------------------------------------------------

def text_of(response) -> str:
    """The page's text, unescaped, without the <bdi> that isolates user-written text
    (tests/functional/test_bidi.py checks those)."""
    return re.sub(r"</?bdi>", "", html.unescape(response.get_data(as_text=True)))


def fields(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "legal_statute": "Law No. 5651",
        "legal_article": "Art. 8/A",
        "issuing_authority": "Istanbul Criminal Judgeship of Peace",
        "order_reference": "2026/77",
        "order_date": "2026-11-01",
        "category": "disinformation",
        "priority": "urgent",
        "requested_action": "withhold_in_country",
        "jurisdiction": "TR",
        "description": "Fake aid campaigns after the earthquake.",
        "targets": "",
    }
    values.update(changes)
    return values


def fingerprint(response) -> str:
    found = re.search(r'name="previewed" type="hidden" value="([0-9a-f]{64})"',
                      response.get_data(as_text=True))
    assert found, "the preview carries no fingerprint"
    return found.group(1)


def preview(client, **changes: object):
    return client.post("/requests/new", data={**fields(**changes), "action": "preview"},
                       content_type="multipart/form-data")


def file_after(client, shown, action: str = "file", **changes: object):
    """Post the form again from the preview ``shown`` with the filing button ``action``."""
    data = {**fields(**changes), "action": action, "previewed": fingerprint(shown)}
    return client.post("/requests/new", data=data, content_type="multipart/form-data")


def requests_in_db() -> list[LegalRequest]:
    return list(db.session.scalars(sa.select(LegalRequest).order_by(LegalRequest.id)))


def targets_of(req: LegalRequest) -> list[str]:
    return list(db.session.scalars(
        sa.select(RequestItem.target).where(RequestItem.request_id == req.id)
        .order_by(RequestItem.position)))


@pytest.fixture
def official(client, world):
    sign_in(client, world.official)
    return world.official


def recently() -> object:
    """Just now, as the pages see time (the dispute window runs from the real clock)."""
    return utcnow() - timedelta(minutes=5)


# -- filing: access ---------------------------------------------------------------------

def test_the_filing_form_explains_itself(client, official):
    page = client.get("/requests/new")
    body = text_of(page)
    assert page.status_code == 200
    assert 'id="filing-form"' in body and 'enctype="multipart/form-data"' in body
    assert '<option selected value="TR">' in body  # the agency's country by default
    assert "threat" in body  # what "emergency" means
    assert "attach the order document (PDF) on the next step" in body
    assert 'name="attachment"' not in body  # asked for only on the filing step


@pytest.mark.parametrize("role", ["legal_reviewer", "platform_liaison", "admin"])
def test_staff_cannot_file_or_list(client, world, role):
    sign_in(client, getattr(world, {"legal_reviewer": "reviewer", "platform_liaison": "liaison",
                                  "admin": "admin"}[role]))
    assert client.get("/requests/new").status_code == 403
    assert client.post("/requests/new", data=fields(targets="@a")).status_code == 403
    assert client.get("/requests/").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, app):
    response = client.get("/requests/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(("status", "expired", "why"), [
    (VerificationStatus.PENDING, False, "has not been verified yet"),
    (VerificationStatus.SUSPENDED, False, "is suspended"),
    (VerificationStatus.REJECTED, False, "verification was rejected"),
    (VerificationStatus.VERIFIED, True, "verification has expired"),
])
def test_an_agency_that_cannot_file_is_told_why_up_front(client, app, status, expired, why):
    agency = make_agency("TR")
    agency.status = status
    if expired:
        agency.verified_until = utcnow() - timedelta(days=1)
    db.session.commit()
    sign_in(client, make_user("agency_official", agency))
    page = client.get("/requests/new")
    assert page.status_code == 200
    assert why in text_of(page) and 'id="filing-form"' not in text_of(page)
    refused = client.post("/requests/new", data={**fields(targets="@a"), "action": "file"})
    assert refused.status_code == 403 and why in text_of(refused)
    assert requests_in_db() == []


def test_an_agency_blocked_between_preview_and_filing_gets_a_clear_page(client, world,
                                                                         official):
    shown = preview(client, targets="@one")
    world.agency.status = VerificationStatus.SUSPENDED
    db.session.commit()
    refused = file_after(client, shown, targets="@one")
    assert refused.status_code == 403 and "is suspended" in text_of(refused)
    assert requests_in_db() == []


# -- filing: preview, fix, file ---------------------------------------------------------

def test_preview_lists_every_rejected_line_then_the_fixed_list_is_filed(client, official):
    pasted = ("@good_one\nhttps://facebook.com/someone\nx.com/good_two/status/12\n"
              "bad handle!\n@Good_One\n")
    shown = preview(client, targets=pasted)
    body = text_of(shown)
    assert shown.status_code == 200
    assert "2 targets understood: 1 account and 1 post." in body
    assert "3 lines rejected." in body
    assert "Line 2: not a link to this platform" in body
    assert "Line 4: not a valid handle" in body
    assert "Line 5: a duplicate of line 1" in body
    assert "https://x.com/good_two/status/12" in body  # the normalised sample
    assert 'value="file_accepted"' in body and 'value="file"' not in body
    assert "bad handle!" in body  # the list is shown again, to be corrected
    assert requests_in_db() == []  # a preview stores nothing

    fixed = "@good_one\n@someone\nx.com/good_two/status/12\n@bad_handle\n"
    again = preview(client, targets=fixed)
    assert "No line was rejected." in text_of(again)
    assert 'value="file"' in text_of(again)

    filed = file_after(client, again, targets=fixed)
    assert filed.status_code == 302
    [req] = requests_in_db()
    assert filed.headers["Location"] == f"/requests/{req.reference}"
    assert targets_of(req) == ["@good_one", "@someone", "https://x.com/good_two/status/12",
                               "@bad_handle"]
    assert (req.legal_statute, req.legal_article, req.order_reference) == (
        "Law No. 5651", "Art. 8/A", "2026/77")
    assert (req.category.value, req.priority.value, req.jurisdiction) == (
        "disinformation", "urgent", "TR")
    page = client.get(filed.headers["Location"])
    assert f"Request {req.reference} was filed with 4 targets." in text_of(page)


def test_filing_without_the_rejected_lines_files_only_the_accepted_ones(client, official):
    pasted = "@first\nnot a target at all\n@second\n@FIRST"
    shown = preview(client, targets=pasted)
    filed = file_after(client, shown, "file_accepted", targets=pasted)
    assert filed.status_code == 302
    [req] = requests_in_db()
    assert targets_of(req) == ["@first", "@second"]
    page = text_of(client.get(filed.headers["Location"]))
    assert "was filed with 2 targets. 2 rejected lines were left out." in page


def test_a_plain_file_with_rejected_lines_is_not_filed(client, official):
    pasted = "@first\nnot a target"
    shown = preview(client, targets=pasted)
    again = file_after(client, shown, "file", targets=pasted)
    assert again.status_code == 200 and requests_in_db() == []
    assert "correct them and preview again, or file without them" in text_of(again)


def test_what_changed_after_the_preview_is_previewed_again(client, official):
    shown = preview(client, targets="@first")
    changed = file_after(client, shown, targets="@first\n@second")
    assert changed.status_code == 200 and requests_in_db() == []
    assert "changed since the preview" in text_of(changed)
    assert "2 targets understood" in text_of(changed)
    other_field = file_after(client, shown, targets="@first", priority="emergency")
    assert "changed since the preview" in text_of(other_field) and requests_in_db() == []


def test_browser_line_endings_do_not_count_as_a_change(client, official):
    shown = preview(client, targets="@first\n@second")
    filed = file_after(client, shown, targets="@first\r\n@second\r\n")
    assert filed.status_code == 302 and len(requests_in_db()) == 1


def test_fields_are_checked_in_the_preview(client, official):
    shown = preview(client, targets="@one", legal_statute="", category="",
                    order_date="2999-01-01", issuing_authority="x" * 301)
    body = text_of(shown)
    assert "Name the law the order rests on." in body
    assert "Choose a category." in body
    assert "The order date cannot be in the future." in body
    assert 'aria-invalid="true"' in body and "Please correct the following" in body
    assert 'value="file"' not in body and "Correct what is marked" in body
    assert "1 target understood" in body  # the list is previewed all the same
    refused = file_after(client, shown, targets="@one", legal_statute="",
                         category="", order_date="2999-01-01", issuing_authority="x" * 301)
    # Refused, with the fields marked: 422, as the API answers it.
    assert refused.status_code == 422 and requests_in_db() == []


def test_an_empty_list_asks_for_targets(client, official):
    body = text_of(preview(client, targets="  \n"))
    assert "Paste at least one target, or add a CSV file." in body


def test_1178_pasted_lines_are_all_accepted_and_filed(client, official):
    pasted = "\n".join(handles(1_178, "farmer_acct"))
    shown = preview(client, targets=pasted)
    body = shown.get_data(as_text=True)
    assert "1,178 targets understood: 1,178 accounts." in html.unescape(body)
    assert "The first 50 targets, as they will be filed" in html.unescape(body)
    sample = body.split('class="sample"')[1].split("</table>")[0]
    assert sample.count("<tr>") == 51  # the header row and 50 targets
    filed = file_after(client, shown, targets=pasted)
    assert filed.status_code == 302
    [req] = requests_in_db()
    assert req.item_count == 1_178


def test_too_many_lines_for_one_request(client, app, official):
    app.config["MAX_ITEMS_PER_REQUEST"] = 5
    body = text_of(preview(client, targets="\n".join(handles(6))))
    assert "The list has 6 lines; at most 5 targets fit in one request." in body
    assert "targets understood" not in body


def test_many_rejected_lines_are_paginated(client, official):
    pasted = "\n".join(["@ok"] + [f"bad line {n}" for n in range(2, 252)])
    first = text_of(preview(client, targets=pasted))
    assert "250 lines rejected." in first and "Page 1 of 3" in first
    assert "Line 101:" in first and "Line 102:" not in first
    third = client.post("/requests/new", data={**fields(targets=pasted), "rejected_page": "3"},
                        content_type="multipart/form-data")
    body = text_of(third)
    assert "Page 3 of 3" in body and "Line 251:" in body and "Line 201:" not in body
    assert "Line 202:" in body and requests_in_db() == []


def test_a_csv_file_with_bom_and_semicolons_becomes_the_list(client, official):
    csv = ("\ufefftarget;kind\n@one;account\nhttps://twitter.com/two/status/5;post\n"
           "@three;post\n@four;\n").encode()
    shown = client.post("/requests/new", data={
        **fields(targets="@pasted"), "action": "preview",
        "csv_file": (io.BytesIO(csv), "liste.csv"),
    }, content_type="multipart/form-data")
    body = text_of(shown)
    assert "3 rows of liste.csv were added to the list as lines 2 to 4." in body
    assert "4 targets understood: 3 accounts and 1 post." in body
    # The row whose kind column contradicts it is left out, with its line in the file.
    assert "Rows of liste.csv left out" in body and "Line 4: not the kind" in body
    textarea = body.split('name="targets"')[1].split("</textarea>")[0]
    assert textarea.split(">", 1)[1].strip().splitlines() == [
        "@pasted", "@one", "https://twitter.com/two/status/5", "@four"]
    # The file is now text: posting the list again (without the file) files it.
    text = "@pasted\n@one\nhttps://twitter.com/two/status/5\n@four"
    filed = file_after(client, shown, targets=text)
    assert filed.status_code == 302
    [req] = requests_in_db()
    assert targets_of(req) == ["@pasted", "@one", "https://x.com/two/status/5", "@four"]


@pytest.mark.parametrize(("data", "why"), [
    (b"PK\x03\x04workbook", "ZIP archive"),
    (b"\xff\xfe@\x00a\x00", "UTF-16"),
    (b"@one\n\xe9t\xe9\n", "not UTF-8"),
])
def test_a_csv_file_that_cannot_be_read_is_explained(client, official, data, why):
    shown = client.post("/requests/new", data={
        **fields(), "action": "preview", "csv_file": (io.BytesIO(data), "list.csv"),
    }, content_type="multipart/form-data")
    body = text_of(shown)
    assert "This file cannot be read as a CSV text file" in body and why in body
    assert 'id="csv_file-error"' in body
    assert requests_in_db() == []


def test_a_csv_file_over_the_limit_is_refused(client, app, official):
    app.config["MAX_ITEMS_PER_REQUEST"] = 3
    data = "\n".join(handles(4)).encode()
    body = text_of(client.post("/requests/new", data={
        **fields(), "action": "preview", "csv_file": (io.BytesIO(data), "list.csv"),
    }, content_type="multipart/form-data"))
    assert "The file has 4 rows; at most 3 targets fit in one request." in body


def test_the_order_document_is_filed_with_the_request(client, official):
    shown = preview(client, targets="@one")
    assert 'name="attachment"' in shown.get_data(as_text=True)
    data = {**fields(targets="@one"), "action": "file", "previewed": fingerprint(shown),
            "attachment": (io.BytesIO(PDF), "Karar 2026.pdf")}
    filed = client.post("/requests/new", data=data, content_type="multipart/form-data")
    assert filed.status_code == 302
    [req] = requests_in_db()
    [doc] = db.session.scalars(sa.select(Attachment).where(Attachment.request_id == req.id))
    assert doc.filename == "Karar 2026.pdf" and doc.size == len(PDF)


@pytest.mark.parametrize(("content", "why"), [
    (b"PK\x03\x04 not a pdf", "The order document must be a PDF file."),
    (b"%PDF-" + b"x" * 100, "The file is larger than 0 MB."),
    (ACTIVE_PDFS[0][1], "The PDF contains JavaScript"),
    (ACTIVE_PDFS[2][1], "The PDF contains an action that starts a program."),
    (ACTIVE_PDFS[3][1], "The PDF carries embedded files."),
    (ACTIVE_PDFS[4][1], "The PDF cannot be read"),
])
def test_a_bad_order_document_is_refused_on_its_field(client, app, official, content, why):
    if "larger" in why:
        app.config["MAX_ATTACHMENT_BYTES"] = 50
    shown = preview(client, targets="@one\n@two")
    data = {**fields(targets="@one\n@two"), "action": "file",
            "previewed": fingerprint(shown), "attachment": (io.BytesIO(content), "order.pdf")}
    refused = client.post("/requests/new", data=data, content_type="multipart/form-data")
    body = text_of(refused)
    assert refused.status_code == 422 and why in body
    assert 'id="attachment-error"' in body and "Nothing was filed." in body
    assert requests_in_db() == []
    assert "2 targets understood" in body  # the preview and the list are kept


# -- the list ---------------------------------------------------------------------------

def test_the_list_shows_the_agencys_requests_newest_first_with_their_clock(
        client, world, policies, official):
    now = utcnow()
    oldest = world.file(now=now - timedelta(hours=3))
    middle = world.file(now=now - timedelta(hours=2), priority="emergency")
    newest = world.file(now=now - timedelta(minutes=10), category="fraud")
    foreign = lifecycle_free_file(world, "stranger", now)
    body = text_of(client.get("/requests/"))
    positions = [body.index(r.reference) for r in (newest, middle, oldest)]
    assert positions == sorted(positions)
    assert foreign.reference not in body
    assert body.count("data-due=") == 3
    assert "Deadline passed" in body  # the emergency request's hour is over
    assert "On track" in body
    assert "Fraud (fake aid campaigns, scams)" in body
    assert "Emergency (threat to life)" in body


def lifecycle_free_file(world: World, who: str, now):
    from portal.services.filing import file_request
    from tests.factories import filing
    return file_request(world.actor(who), filing(), now=now)


def test_an_empty_list_says_what_to_do(client, official):
    body = text_of(client.get("/requests/"))
    assert "No requests yet." in body and 'href="/requests/new"' in body


def test_filters_and_search(client, world, official):
    first = world.file(["@alpha", "https://x.com/beta/status/99"])
    second = world.file(["@gamma"], category="fraud", priority="emergency")
    third = world.file(["@delta"])
    world.to_review(third.reference)

    def shown(**query) -> set[str]:
        body = client.get("/requests/", query_string=query).get_data(as_text=True)
        return {r.reference for r in (first, second, third) if r.reference in body}

    assert shown() == {first.reference, second.reference, third.reference}
    assert shown(state="legal_review") == {third.reference}
    assert shown(category="fraud") == {second.reference}
    assert shown(priority="emergency") == {second.reference}
    assert shown(state="received", category="disinformation") == {first.reference}
    # A target is found however it is written.
    assert shown(q="https://twitter.com/ALPHA") == {first.reference}
    assert shown(q="x.com/beta/status/0099") == {first.reference}
    assert shown(q="@Gamma") == {second.reference}
    # A reference, or its beginning, in any case.
    assert shown(q=third.reference.lower()) == {third.reference}
    assert shown(q=first.reference[:8]) == {first.reference, second.reference, third.reference}
    assert shown(q="%") == set()  # LIKE wildcards are taken literally
    assert shown(state="nonsense") == {first.reference, second.reference, third.reference}
    empty = text_of(client.get("/requests/", query_string={"q": "@nobody"}))
    assert "No request matches these filters." in empty


def test_the_list_is_paginated_by_fifty(client, world, official):
    start = utcnow() - timedelta(days=1)
    made = [world.file(["@t"], now=start + timedelta(minutes=n)) for n in range(51)]
    first = client.get("/requests/").get_data(as_text=True)
    assert made[-1].reference in first and made[1].reference in first
    assert made[0].reference not in first and 'rel="next"' in first
    second = client.get("/requests/", query_string={"page": 2}).get_data(as_text=True)
    assert made[0].reference in second and made[1].reference not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert client.get("/requests/", query_string={"page": "x"}).status_code == 200


@pytest.mark.parametrize("filters", [{}, {"q": "@t1", "state": "received"}])
def test_the_list_runs_as_many_statements_for_50_requests_as_for_5(client, world, policies,
                                                                   official, filters):
    def statements_for_list() -> int:
        client.get("/requests/", query_string=filters)  # warm caches
        with count_statements() as statements:
            assert client.get("/requests/", query_string=filters).status_code == 200
        return len(statements)

    now = utcnow()
    for n in range(5):
        world.file(["@t1", f"@u{n}"], now=now - timedelta(minutes=n))
    with_5 = statements_for_list()
    for n in range(5, 50):
        world.file(["@t1", f"@u{n}"], now=now - timedelta(minutes=n))
    with_50 = statements_for_list()
    assert with_50 == with_5


# -- the request page -------------------------------------------------------------------

def test_the_owner_sees_the_whole_request(client, world, policies, official):
    req = world.file(["@one", "@two", "@three"], now=utcnow() - timedelta(hours=1))
    body = text_of(client.get(f"/requests/{req.reference}"))
    assert f"Request {req.reference}" in body
    assert "Law No. 5651, Art. 8/A" in body and "Criminal Judgeship of Peace" in body
    assert "Disinformation" in body and "Urgent" in body and "Received" in body
    assert "Filed with 3 targets" in body
    assert body.count("data-due=") == 2  # acknowledge and resolve clocks
    assert "Acknowledgement" in body and "Resolution" in body
    assert "All items (3)" in body and "Pending (3)" in body
    assert "@three" in body
    assert f'/requests/{req.reference}/act/withdraw' in body
    assert f'/requests/{req.reference}/messages' in body
    assert "No document was attached." in body


def test_another_agencys_request_is_not_found(client, world, official):
    foreign = lifecycle_free_file(world, "stranger", utcnow())
    assert client.get(f"/requests/{foreign.reference}").status_code == 404
    assert client.get("/requests/TR-2026-999999").status_code == 404
    assert client.post(f"/requests/{foreign.reference}/act/withdraw",
                       data={"withdraw-text": "x", "withdraw-version": 1}).status_code == 404
    assert client.post(f"/requests/{foreign.reference}/messages",
                       data={"body": "hello"}).status_code == 404


@pytest.mark.parametrize("who", ["reviewer", "liaison", "admin"])
def test_staff_see_a_request_read_only(client, app, world, who):
    req = world.file()
    sign_in(client, getattr(world, who))
    body = text_of(client.get(f"/requests/{req.reference}"))
    assert f"Request {req.reference}" in body and "read-only" in body
    if "review.request" in app.view_functions:  # their own workspace, when it exists
        assert f'href="/review/requests/{req.reference}"' in body
    assert world.agency.name in body
    assert "/act/" not in body and f"/requests/{req.reference}/messages" not in body
    refused = client.post(f"/requests/{req.reference}/act/withdraw",
                          data={"withdraw-text": "x", "withdraw-version": req.version})
    assert refused.status_code == 403
    assert client.post(f"/requests/{req.reference}/messages",
                       data={"body": "hi"}).status_code == 403


def test_items_are_filtered_by_decision_and_paginated(client, world, official):
    req = world.file(handles(250))
    world.to_review(req.reference)
    ids = list(db.session.scalars(
        sa.select(RequestItem.id).where(RequestItem.request_id == req.id)
        .order_by(RequestItem.position).limit(30)))
    decisions.decide_items(world.actor("reviewer"), req.reference,
                           decision="withheld_in_country", item_ids=ids[:20])
    decisions.decide_items(world.actor("reviewer"), req.reference, decision="no_action",
                           reason="not_found", item_ids=ids[20:30])
    url = f"/requests/{req.reference}"
    body = text_of(client.get(url))
    assert "All items (250)" in body and "Pending (220)" in body
    assert "Withheld in country (20)" in body and "No action (10)" in body
    assert ">@target100<" in body and ">@target101<" not in body and 'rel="next"' in body
    pending = client.get(url, query_string={"decision": "pending"}).get_data(as_text=True)
    assert ">@target31<" in pending and ">@target30<" not in pending
    no_action = client.get(url, query_string={"decision": "no_action"}).get_data(as_text=True)
    assert ">@target21<" in no_action and ">@target20<" not in no_action
    assert "not found" in no_action
    third = client.get(url, query_string={"items_page": 3}).get_data(as_text=True)
    assert ">@target201<" in third and ">@target200<" not in third
    assert "20 items decided: Withheld in country" in text_of(client.get(url))


def test_internal_notes_never_reach_the_agency(client, world, official):
    req = world.file()
    messages.post_message(world.actor("reviewer"), req.reference, "Looks like bots to me",
                          internal=True)
    messages.post_message(world.actor("reviewer"), req.reference, "We are on it.")
    body = text_of(client.get(f"/requests/{req.reference}"))
    assert "We are on it." in body and "Message posted" in body
    assert "Looks like bots" not in body and "Internal note" not in body
    assert "Legal reviewer" in body and world.reviewer.name not in body
    client.post("/logout")
    sign_in(client, world.reviewer)
    staff = text_of(client.get(f"/requests/{req.reference}"))
    assert "Looks like bots to me" in staff and "Internal note added (staff only)" in staff


def test_an_official_posts_a_message(client, world, official):
    req = world.file()
    sent = client.post(f"/requests/{req.reference}/messages", data={"body": "Order attached."})
    assert sent.status_code == 302
    body = text_of(client.get(sent.headers["Location"]))
    assert "Your message was sent." in body and "Order attached." in body
    empty = client.post(f"/requests/{req.reference}/messages", data={"body": "  "})
    assert empty.status_code == 422 and "Write the message first." in text_of(empty)


def test_the_request_page_runs_as_many_statements_for_500_items_as_for_10(client, world,
                                                                          policies, official):
    small = world.file(handles(10), now=utcnow())
    large = world.file(handles(500), now=utcnow())
    for req in (small, large):
        world.to_review(req.reference)
        messages.post_message(world.actor("reviewer"), req.reference, "Checking.")

    def statements_for(req) -> int:
        client.get(f"/requests/{req.reference}")  # warm caches
        with count_statements() as statements:
            assert client.get(f"/requests/{req.reference}").status_code == 200
        return len(statements)

    assert statements_for(large) == statements_for(small)


# -- actions ----------------------------------------------------------------------------

def test_the_actions_offered_follow_the_lifecycle_table(client, world, official):
    received = world.file()
    body = client.get(f"/requests/{received.reference}").get_data(as_text=True)
    assert "/act/withdraw" in body and "/act/dispute" not in body
    assert "/act/provide_info" not in body
    actioned = world.actioned(now=recently())
    body = client.get(f"/requests/{actioned.reference}").get_data(as_text=True)
    assert "/act/dispute" in body and "/act/withdraw" not in body
    withdrawn = world.file()
    lifecycle.fire(world.actor("official"), withdrawn.reference, "withdraw",
                   inputs={"reason": "sent twice"})
    body = text_of(client.get(f"/requests/{withdrawn.reference}"))
    assert "/act/" not in body and "What you can do" not in body
    assert "sent twice" in body and "Withdrawn by the agency" in body


def test_the_dispute_window_ending_is_said_instead_of_offered(client, world, official):
    old = world.actioned(now=utcnow() - timedelta(days=30))
    body = text_of(client.get(f"/requests/{old.reference}"))
    assert "/act/dispute" not in body
    assert "The dispute window for this request has ended." in body


def test_an_official_withdraws_with_a_reason(client, world, official):
    req = world.file()
    done = client.post(f"/requests/{req.reference}/act/withdraw",
                       data={"withdraw-text": "The court lifted the order.",
                             "withdraw-version": req.version})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(LegalRequest, req.id).state.value == "closed"
    body = text_of(client.get(done.headers["Location"]))
    assert "The request was withdrawn." in body and "The court lifted the order." in body


def test_withdrawing_without_a_reason_is_refused_on_the_form(client, world, official):
    req = world.file()
    refused = client.post(f"/requests/{req.reference}/act/withdraw",
                          data={"withdraw-text": "   ", "withdraw-version": req.version})
    body = text_of(refused)
    assert refused.status_code == 422
    assert 'id="withdraw-text-error"' in body and "Write this first" in body
    db.session.expire_all()
    assert db.session.get(LegalRequest, req.id).state.value == "received"


def test_a_stale_page_gets_a_conflict_message_and_nothing_changes(client, world, official):
    req = world.file()
    seen = req.version
    world.to_review(req.reference)  # someone moved the request on meanwhile
    refused = client.post(f"/requests/{req.reference}/act/withdraw",
                          data={"withdraw-text": "no longer needed", "withdraw-version": seen})
    assert refused.status_code == 302
    body = text_of(client.get(refused.headers["Location"]))
    assert (f"{req.reference} was changed by someone else in the meantime. Nothing was "
            "changed") in body
    db.session.expire_all()
    assert db.session.get(LegalRequest, req.id).state.value == "legal_review"


def test_an_action_the_state_does_not_allow_is_explained(client, world, official):
    req = world.file()
    refused = client.post(f"/requests/{req.reference}/act/dispute",
                          data={"dispute-text": "wrong", "dispute-version": req.version})
    body = text_of(client.get(refused.headers["Location"]))
    assert "This cannot be done while the request is “Received”." in body
    db.session.expire_all()
    assert db.session.get(LegalRequest, req.id).state.value == "received"


def test_unknown_or_platform_actions_do_not_exist_here(client, world, official):
    req = world.file()
    for trigger in ("begin_review", "explode"):
        response = client.post(f"/requests/{req.reference}/act/{trigger}",
                               data={f"{trigger}-text": "x", f"{trigger}-version": 1})
        assert response.status_code == 404
    missing_version = client.post(f"/requests/{req.reference}/act/withdraw",
                                  data={"withdraw-text": "x"})
    assert missing_version.status_code == 400


def test_the_question_is_shown_first_and_answered(client, world, official):
    req = world.file(category="defamation")  # Law 5651 Add. Art. 4: a question pauses it
    world.to_review(req.reference)
    asked = lifecycle.fire(world.actor("reviewer"), req.reference, "request_info",
                           inputs={"question": "Which court issued order 2026/123?"})
    body = text_of(client.get(f"/requests/{req.reference}"))
    assert "The platform asked for more information" in body
    assert body.index("Which court issued order 2026/123?") < body.index("Legal basis")
    assert "The deadline is paused until you answer." in body
    done = client.post(f"/requests/{req.reference}/act/provide_info",
                       data={"provide_info-text": "Istanbul 3rd Criminal Judgeship of Peace.",
                             "provide_info-version": asked.version})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(LegalRequest, req.id).state.value == "legal_review"
    body = text_of(client.get(done.headers["Location"]))
    assert "Your answer was sent." in body
    assert "Answer: Istanbul 3rd Criminal Judgeship of Peace." in body
    assert "The platform asked for more information" not in body


def test_an_official_disputes_an_outcome(client, world, official):
    req = world.actioned(now=recently())
    done = client.post(f"/requests/{req.reference}/act/dispute",
                       data={"dispute-text": "Half the accounts are still visible.",
                             "dispute-version": req.version})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(LegalRequest, req.id).state.value == "disputed"
    assert "Your dispute was recorded." in text_of(client.get(done.headers["Location"]))


# -- the order document -----------------------------------------------------------------

def test_the_order_document_is_downloaded_only_by_those_who_see_the_request(client, world):
    req = world.file(attachment=AttachmentInput("Karar 2026.pdf", "application/pdf", PDF))
    other = world.file()
    doc = db.session.scalar(sa.select(Attachment).where(Attachment.request_id == req.id))
    url = f"/requests/{req.reference}/attachments/{doc.id}"

    sign_in(client, world.official)
    page = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    assert url in page and "Karar 2026.pdf" in page
    download = client.get(url)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "Karar" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # The document is reached only through its own request.
    assert client.get(f"/requests/{other.reference}/attachments/{doc.id}").status_code == 404
    assert client.get(f"/requests/{req.reference}/attachments/{doc.id + 1}").status_code == 404

    client.post("/logout")
    sign_in(client, world.stranger)
    assert client.get(url).status_code == 404
    client.post("/logout")
    sign_in(client, world.reviewer)
    assert client.get(url).status_code == 200
    client.post("/logout")
    assert client.get(url).status_code == 302  # signed out: to the sign-in page


def test_service_refusals_are_mapped_onto_the_fields_and_the_list_lines(client, official,
                                                                         monkeypatch):
    from portal.services import filing
    from portal.services.errors import FieldError, ValidationFailed

    def refuse(actor, data):
        assert data.targets == ["@a", "@b"]  # only the accepted lines are filed
        raise ValidationFailed([
            FieldError("targets", "line 2: duplicate", "duplicate", index=2),
            FieldError("legal_statute", "at most 300 characters", "too_long"),
            FieldError("elsewhere", "something else went wrong", "invalid"),
        ])

    pasted = "@a\nnot a target\n@b"
    shown = preview(client, targets=pasted)
    monkeypatch.setattr(filing, "file_request", refuse)
    refused = file_after(client, shown, "file_accepted", targets=pasted)
    body = text_of(refused)
    assert refused.status_code == 422
    # The service's second target is the list's third line.
    assert "Line 3: a duplicate of an earlier line" in body
    assert 'id="legal_statute-error"' in body and "This is too long." in body
    assert "This value is not valid." in body and "Nothing was filed." in body
    assert requests_in_db() == []


def test_the_pages_work_right_to_left_in_arabic(client, world):
    world.official.locale = "ar"
    db.session.commit()
    req = world.file()
    sign_in(client, world.official)
    for url in ("/requests/", "/requests/new", f"/requests/{req.reference}"):
        page = client.get(url)
        assert page.status_code == 200 and 'dir="rtl"' in page.get_data(as_text=True)
    shown = preview(client, targets="@a\n@b\nhttps://x.com/a/status/1\nbad line")
    assert shown.status_code == 200 and 'dir="rtl"' in shown.get_data(as_text=True)


def test_the_timeline_tells_each_kind_of_event_in_words(client, world, policies, official):
    from portal.services import alerts, reclassify

    start = utcnow() - timedelta(hours=2)
    req = world.file(["@one", "@two", "@three"], now=start, priority="emergency")
    world.to_review(req.reference, now=start + timedelta(minutes=1))
    reclassify.reclassify(world.actor("reviewer"), req.reference, priority="urgent",
                          count_from="receipt",
                          reason="no threat to life", now=start + timedelta(minutes=2))
    alerts.sweep(now=utcnow())
    world.decide_all(req.reference, now=utcnow())
    lifecycle.fire(world.actor("reviewer"), req.reference, "action", now=utcnow())
    body = text_of(client.get(f"/requests/{req.reference}"))
    timeline = body.split('id="timeline-title"')[1].split("</ol>")[0]
    expected = [
        "Filed with 3 targets",
        "Legal review began", "State: Received → In legal review",
        "Reclassified", "Priority: Emergency (threat to life) → Urgent",
        "Reason: no threat to life",
        "50% of the resolution time used", "Deadline set by: Law No. 5651",
        "3 items decided: Withheld in country", "Reason: per order",
        "Actioned", "State: In legal review → Actioned", "Resolution: Complied",
    ]
    positions = [timeline.index(text) for text in expected]
    assert positions == sorted(positions)
    assert "System" in timeline  # the alert was the worker's


def test_the_form_offers_and_files_only_the_agencys_own_country(client, official):
    """An official could file under any country, taking (and learning) its next
    reference number."""
    page = text_of(client.get("/requests/new"))
    select = page.split('name="jurisdiction"')[1].split("</select>")[0]
    offered = re.findall(r'<option[^>]* value="([A-Z]{2})"', select)
    assert offered == ["TR"]
    shown = preview(client, jurisdiction="IN", targets="@first")
    body = text_of(shown)
    assert "Your agency can file only under the law of its own country (TR)." in body
    refused = client.post("/requests/new", data={**fields(jurisdiction="IN",
                                                          targets="@first"),
                                                 "action": "file", "previewed": "0" * 64},
                          content_type="multipart/form-data")
    assert "Your agency can file only under the law of its own country (TR)." in \
        text_of(refused)
    assert requests_in_db() == []


def test_the_api_files_only_under_the_agencys_own_country(client, world):
    from portal.services import tokens

    _, token = tokens.create_token(world.official, "j", scopes=["file"])
    response = client.post("/api/v1/requests", headers={"Authorization": f"Bearer {token}"},
                           json={"category": "fraud", "priority": "standard",
                                 "requested_action": "remove",
                                 "issuing_authority": "BTK", "jurisdiction": "IN",
                                 "legal_basis": {"statute": "Law"},
                                 "items": [{"target": "@a"}]})
    assert response.status_code == 422
    assert [(e["path"], e["code"]) for e in response.json["errors"]] == [
        ("jurisdiction", "foreign_jurisdiction")]
    assert "TR" in response.json["errors"][0]["message"]
    assert requests_in_db() == []
