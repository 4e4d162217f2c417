"""The legal reviewer's pages: the queue, claiming, the workspace, bulk item decisions,
the lifecycle actions, messages and notes, reclassification, and who may do what."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Attachment, LegalRequest, RequestItem, SlaClock
from portal.models.columns import utcnow
from portal.services import decisions, lifecycle, messages, queue
from portal.services.actors import Actor
from portal.services.attachments import AttachmentInput
from portal.services.filing import file_request
from portal.services.paging import position_of
from portal.services.request_filters import RequestFilters
from portal.services.transaction import transaction
from tests.conftest import sign_in
from tests.factories import World, count_statements, filing, handles, make_user
from tests.pdfs import PLAIN_PDF

ROW_REFERENCE = re.compile(r'<th scope="row"><a href="/review/requests/([A-Z]{2}-\d{4}-\d{6})"')


# Every test here runs with the default SLA policies (the shared ``world`` has none).
pytestmark = pytest.mark.usefixtures("policies")


def fresh(reference: str) -> LegalRequest:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(LegalRequest).where(LegalRequest.reference == reference)).one()


def item_ids(req: LegalRequest) -> list[int]:
    return list(db.session.scalars(sa.select(RequestItem.id).where(
        RequestItem.request_id == req.id).order_by(RequestItem.position)))


def decisions_of(req: LegalRequest) -> dict[str, str | None]:
    db.session.expire_all()
    rows = db.session.execute(sa.select(RequestItem.target, RequestItem.decision).where(
        RequestItem.request_id == req.id)).all()
    return {target: decision.value if decision else None for target, decision in rows}


def references(html: str) -> list[str]:
    return ROW_REFERENCE.findall(html)


def text(response) -> str:
    return response.get_data(as_text=True)


def in_review(world: World, targets: list[str] | None = None, *, hours_ago: float = 1.0,
              **fields: object) -> LegalRequest:
    when = utcnow() - timedelta(hours=hours_ago)
    req = world.file(targets, now=when, **fields)
    world.to_review(req.reference, when)
    return fresh(req.reference)


# -- the queue --------------------------------------------------------------------------

def test_queue_puts_breached_first_then_least_time_left_and_paused_last(world, client):
    now = utcnow()
    # TR requests under Law 5651: four hours to resolve, wall clock.
    late = world.file(now=now - timedelta(hours=1))  # 3 h left
    soon = world.file(now=now - timedelta(hours=3))  # 1 h left
    breached = world.file(now=now - timedelta(hours=5))  # 1 h over
    # Law 5651 Arts. 8 and 8/A never pause: personal rights (Add. Art. 4, 48 h) do.
    paused = world.file(now=now - timedelta(hours=3, minutes=30), category="defamation")
    world.to_review(paused.reference, now - timedelta(hours=3))
    lifecycle.fire(world.actor("reviewer"), paused.reference, "request_info",
                   inputs={"question": "Which court?"}, now=now - timedelta(hours=2))
    # Paused after its deadline had passed: still breached, and the oldest deadline (an
    # Indian notice: 3 hours, which a question pauses).
    paused_late = file_request(world.actor("stranger"), filing(),
                               now=now - timedelta(hours=6))
    world.to_review(paused_late.reference, now - timedelta(hours=6))
    lifecycle.fire(world.actor("reviewer"), paused_late.reference, "request_info",
                   inputs={"question": "Which court?"}, now=now - timedelta(hours=1))
    world.actioned(now=now - timedelta(hours=1))  # answered: not in the queue
    sign_in(client, world.reviewer)
    page = text(client.get("/review/", query_string={"tab": "open"}))
    assert references(page) == [paused_late.reference, breached.reference, soon.reference,
                                late.reference, paused.reference]
    assert page.count("band-breached") == 2 and "Paused (waiting for the agency)" in page
    assert 'data-due="' in page and "<time" in page
    assert "Claim" in page and "3 of 3" in page


def test_queue_shows_and_sorts_by_a_breached_acknowledgement(world, client):
    """An emergency request 16 minutes old: its acknowledgement (15 minutes) is breached
    while its resolution (an hour) has 44 minutes left. The queue shows the breached
    clock, as the request page does, and puts the request before one whose resolution is
    due sooner but not yet breached."""
    now = utcnow()
    emergency = world.file(now=now - timedelta(minutes=16), priority="emergency")
    sooner = in_review(world, hours_ago=3.5)  # Law 5651: 4 hours, 30 minutes left
    actor = world.actor("reviewer")
    page, _ = queue.review_queue(actor, tab=queue.QueueTab.OPEN, filters=RequestFilters(),
                                 page=1, now=now)
    assert [row.request.reference for row in page.rows] == [emergency.reference,
                                                             sooner.reference]
    lead = page.rows[0].clock
    assert lead is not None and lead.target == "acknowledge" and lead.band.value == "breached"
    sign_in(client, world.reviewer)
    html = text(client.get("/review/", query_string={"tab": "open"}))
    assert references(html) == [emergency.reference, sooner.reference]
    row = html[html.index(emergency.reference):html.index(sooner.reference)]
    assert "Acknowledgement" in row and "band-breached" in row
    # Once the review begins, the acknowledgement stops: the resolution clock leads.
    world.to_review(emergency.reference, now)
    page, counts = queue.review_queue(actor, tab=queue.QueueTab.OPEN,
                                      filters=RequestFilters(), page=1, now=now)
    assert counts.open == page.total == 2
    assert [(r.request.reference, r.clock.target) for r in page.rows] == [
        (sooner.reference, "resolve"), (emergency.reference, "resolve")]


def test_queue_tabs_unassigned_mine_and_all_open(world, client):
    other = make_user("legal_reviewer")
    waiting = world.file(now=utcnow() - timedelta(hours=1))
    mine = in_review(world)
    theirs = world.file(now=utcnow() - timedelta(hours=1))
    lifecycle.fire(Actor.of(other), theirs.reference, "begin_review")
    sign_in(client, world.reviewer)
    assert references(text(client.get("/review/"))) == [waiting.reference]  # the default
    assert references(text(client.get("/review/?tab=mine"))) == [mine.reference]
    everything = text(client.get("/review/?tab=open"))
    assert set(references(everything)) == {waiting.reference, mine.reference,
                                            theirs.reference}
    assert "Unassigned <span class=\"count\">(1)</span>" in everything
    assert "Mine <span class=\"count\">(1)</span>" in everything
    assert "All open <span class=\"count\">(3)</span>" in everything
    assert "No open request matches these filters." in text(
        client.get("/review/?tab=mine&category=fraud"))


def test_queue_filters_and_their_errors(world, client):
    now = utcnow() - timedelta(hours=1)
    fraud = world.file(now=now, category="fraud", priority="standard")
    world.file(now=now)
    indian = file_request(world.actor("stranger"), filing(["@x"]), now=now)
    sign_in(client, world.reviewer)
    assert references(text(client.get("/review/?tab=open&category=fraud"))) == [
        fraud.reference]
    assert references(text(client.get("/review/?tab=open&priority=standard"))) == [
        fraud.reference]
    assert references(text(client.get("/review/?tab=open&jurisdiction=in"))) == [
        indian.reference]
    wrong = client.get("/review/?tab=open&jurisdiction=Turkey&category=nonsense")
    assert wrong.status_code == 200
    assert "Two letters, e.g. TR." in text(wrong) and "Not a valid choice" in text(wrong)
    assert len(references(text(wrong))) == 3  # filters that do not parse are not applied


def test_queue_pages(world, client):
    for n in range(51):
        world.file([f"@t{n}"], now=utcnow() - timedelta(minutes=n + 1))
    sign_in(client, world.reviewer)
    first = text(client.get("/review/?tab=open"))
    second = text(client.get("/review/?tab=open&page=2"))
    assert len(references(first)) == 50 and len(references(second)) == 1
    assert 'rel="next"' in first and "Last page" in first and 'rel="prev"' not in first
    assert set(references(first)).isdisjoint(references(second))
    # The last page is read backwards from the end: the 50 last, the one of page 2 last.
    last = text(client.get("/review/?tab=open&page=last"))
    assert references(last) == references(first)[1:] + references(second)
    assert 'rel="prev"' in last and "First page" in last and 'rel="next"' not in last


def test_queue_pages_walk_running_then_paused_then_clockless(world):
    """Small pages over every part of the order give the same list as one page."""
    now = utcnow()
    for n in range(3):
        in_review(world, [f"@r{n}"], hours_ago=0.3 * (n + 1))
    for n in range(2):
        req = in_review(world, [f"@p{n}"], hours_ago=0.3 * (n + 1), category="defamation")
        lifecycle.fire(world.actor("reviewer"), req.reference, "request_info",
                       inputs={"question": "?"})
    clockless = without_clocks(world.file(["@none"], now=now - timedelta(hours=1)))
    actor = world.actor("reviewer")
    whole, counts = queue.review_queue(actor, tab=queue.QueueTab.OPEN,
                                       filters=RequestFilters(), page=1, now=now)
    order = [row.request.reference for row in whole.rows]
    assert counts.open == whole.total == 6 and order[-1] == clockless.reference
    assert whole.rows[-1].clock is None
    assert [row.clock.band.value for row in whole.rows[:5]] == ["on_track"] * 3 + [
        "paused"] * 2
    for size in (1, 2, 4):
        pages = [queue.review_queue(actor, tab=queue.QueueTab.OPEN,
                                    filters=RequestFilters(), page=p, now=now,
                                    size=size)[0] for p in range(1, 8)]
        assert [r.request.reference for p in pages for r in p.rows] == order, size
        assert pages[0].pages == -(-6 // size)
        # Keyset: forward by "next" from the first page, backward by "previous" from
        # the last, across the running, paused and clockless parts alike.
        def walk(start: str, link: str, size: int = size) -> list[str]:
            seen: list[str] = []
            position = position_of(start)
            while True:
                page, _ = queue.review_queue(actor, tab=queue.QueueTab.OPEN,
                                             filters=RequestFilters(), page=position,
                                             now=now, size=size)
                refs = [r.request.reference for r in page.rows]
                seen = seen + refs if link == "next" else refs + seen
                if link not in page.links():
                    return seen
                position = position_of(page.links()[link])
        assert walk("1", "next") == order, size
        # Backward, the walk ends on the full first page (which may overlap the one after).
        assert list(dict.fromkeys(walk("last", "previous"))) == order, size


def without_clocks(req: LegalRequest) -> LegalRequest:
    """The request as an earlier release filed it when no policy was loaded: without a
    clock (a filing is refused now; such requests remain)."""
    with transaction():
        db.session.execute(sa.delete(SlaClock).where(SlaClock.request_id == req.id))
        # As the migration that added the count found such requests.
        db.session.execute(sa.update(LegalRequest).where(LegalRequest.id == req.id)
                           .values(running_clocks=0))
    return req


def test_a_request_without_a_deadline_is_still_in_the_queue(world, client):
    req = without_clocks(world.file())
    sign_in(client, world.reviewer)
    page = text(client.get("/review/"))
    assert references(page) == [req.reference] and "No clock" in page


def test_empty_queue_says_what_to_do(world, client):
    sign_in(client, world.reviewer)
    assert "Nothing is waiting to be claimed." in text(client.get("/review/"))
    assert "Claim one from the unassigned requests" in text(client.get("/review/?tab=mine"))


# -- claiming ---------------------------------------------------------------------------

def test_claim_begins_the_review_assigned_to_me(world, client):
    req = world.file(now=utcnow() - timedelta(minutes=5))
    sign_in(client, world.reviewer)
    response = client.post(f"/review/requests/{req.reference}/claim",
                           data={"version": fresh(req.reference).version})
    assert response.headers["Location"] == f"/review/requests/{req.reference}"
    after = fresh(req.reference)
    assert (after.state.value, after.assigned_reviewer_id) == ("legal_review",
                                                              world.reviewer.id)
    assert "You are now the reviewer of" in text(client.get(response.headers["Location"]))


def test_two_reviewers_claiming_the_second_is_told_it_changed(world, client, app):
    req = world.file(now=utcnow() - timedelta(minutes=5))
    reference = req.reference
    version = fresh(reference).version  # both saw the queue at this version
    second = make_user("legal_reviewer")
    second_name = second.name
    sign_in(client, world.reviewer)
    assert client.post(f"/review/requests/{reference}/claim",
                       data={"version": version}).status_code == 302
    # The second reviewer works in a context of their own (own session, own `g`).
    with app.app_context():
        other = app.test_client()
        sign_in(other, second)
        response = other.post(f"/review/requests/{reference}/claim",
                              data={"version": version}, follow_redirects=True)
        page = text(response)
        assert second_name in page  # really the second reviewer
        assert "another reviewer may have claimed it" in page
        # With the current version the request is simply no longer waiting.
        again = other.post(f"/review/requests/{reference}/claim",
                           data={"version": fresh(reference).version},
                           follow_redirects=True)
        assert "no longer waiting to be claimed" in text(again)
    assert fresh(reference).assigned_reviewer_id == world.reviewer.id


def test_claim_needs_the_version_and_an_existing_request(world, client):
    req = world.file()
    sign_in(client, world.reviewer)
    assert client.post(f"/review/requests/{req.reference}/claim").status_code == 400
    assert client.post("/review/requests/TR-2026-999999/claim",
                       data={"version": 1}).status_code == 404


# -- the workspace ----------------------------------------------------------------------

def test_workspace_shows_facts_clocks_items_messages_and_timeline(world, client):
    req = in_review(world, ["@alpha", "@beta"])
    messages.post_message(world.actor("reviewer"), req.reference, "Court order checked.",
                          internal=True)
    messages.post_message(world.actor("reviewer"), req.reference, "We are on it.")
    sign_in(client, world.reviewer)
    response = client.get(f"/review/requests/{req.reference}")
    page = text(response)
    assert response.status_code == 200
    assert "Law No. 5651, Art. 8/A" in page and "Criminal Judgeship of Peace" in page
    assert ("Policy: Turkey access-blocking or removal decision under Law 5651 Arts. 8, 8/A — "
            "source: Law No. 5651 Arts. 8, 8/A: at once, at the "
            "latest within 4 hours (no pause)") in page
    assert "No pause: the clock runs on while the agency answers" in page
    # The acknowledgement (one business day) would fall after the 4 hours: it does not.
    assert "Brought forward to the resolution deadline" in page
    assert "Platform default" in page  # the acknowledgement clock's source
    assert "@alpha" in page and "@beta" in page
    assert page.count("Internal note — not visible to the agency") == 2  # message + event
    assert "Court order checked." in page and "We are on it." in page
    assert "Legal review began" in page and "Filed with 2 items." in page
    for action in ("Ask the agency for information", "Action the request",
                   "Decline the request", "Reclassify"):
        assert action in page
    assert "Revise the outcome" not in page  # only from a dispute
    assert "js/review.js" in page and "<script>" not in page and "style=" not in page
    assert 'data-template="{n} selected on this page"' in page


def test_workspace_lists_items_a_page_at_a_time_with_filters(world, client):
    req = in_review(world, handles(150, "spam") + handles(20, "ham"))
    ids = item_ids(req)
    decisions.decide_items(world.actor("reviewer"), req.reference, decision="removed",
                           item_ids=ids[:5])
    sign_in(client, world.reviewer)
    url = f"/review/requests/{req.reference}"
    first = text(client.get(url))
    assert first.count('name="item"') == 100 and "Last page" in first
    assert "Items matching: 170" in first
    assert "Apply to all 170 items" in first
    assert text(client.get(url, query_string={"page": 2})).count('name="item"') == 70
    pending = text(client.get(url, query_string={"decision": "pending"}))
    assert "Items matching: 165" in pending
    removed = text(client.get(url, query_string={"decision": "removed"}))
    assert removed.count('name="item"') == 5
    hams = text(client.get(url, query_string={"q": "HAM"}))
    assert hams.count('name="item"') == 20
    assert "Apply to all 20 items matching this filter" in hams
    assert "No item matches this filter." in text(client.get(url, query_string={"q": "zz"}))
    # A page past the end shows the last one: the last 100 items, read from the end.
    past = text(client.get(url, query_string={"page": 9}))
    assert past.count('name="item"') == 100 and "@ham20" in past and 'rel="next"' not in past
    last = text(client.get(url, query_string={"page": "last"}))
    assert last.count('name="item"') == 100 and "@spam70" not in last and "@spam71" in last


def test_unknown_request_is_404(world, client):
    sign_in(client, world.reviewer)
    assert client.get("/review/requests/TR-2026-999999").status_code == 404


@pytest.mark.parametrize("role", ["reviewer", "liaison", "admin"])
def test_staff_open_the_order_document_from_the_review_page(world, client, role):
    req = in_review(world, attachment=AttachmentInput("Karar 2026.pdf", "application/pdf",
                                                      PLAIN_PDF))
    doc = db.session.scalar(sa.select(Attachment).where(Attachment.request_id == req.id))
    url = f"/requests/{req.reference}/attachments/{doc.id}"
    sign_in(client, getattr(world, role))
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert f'href="{url}"' in page and "Karar 2026.pdf" in page
    download = client.get(url)
    assert download.status_code == 200 and download.data == PLAIN_PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_the_review_page_says_when_no_document_was_filed(world, client):
    req = in_review(world)
    sign_in(client, world.reviewer)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "No document was attached." in page and "/attachments/" not in page


# -- bulk item decisions ----------------------------------------------------------------

def decide(client, req: LegalRequest, **data: object):
    form: dict[str, object] = {"version": fresh(req.reference).version, "scope": "selected",
                               "list_decision": "", "list_text": "", "list_page": 1}
    form.update(data)
    return client.post(f"/review/requests/{req.reference}/items", data=form)


def test_decide_the_items_ticked_on_the_page(world, client):
    req = in_review(world, ["@a", "@b", "@c"])
    ids = item_ids(req)
    sign_in(client, world.reviewer)
    response = decide(client, req, item=[ids[0], ids[2]], decision="withheld")
    assert response.status_code == 302 and response.headers["Location"].endswith("#items")
    assert decisions_of(req) == {"@a": "withheld", "@b": None, "@c": "withheld"}
    assert "2 items decided: Withheld." in text(client.get(response.headers["Location"]))


def test_the_form_offers_only_the_current_vocabulary(world, client):
    req = in_review(world, ["@a"])
    sign_in(client, world.reviewer)
    response = decide(client, req, item=item_ids(req), decision="withheld_in_country")
    assert response.status_code == 422 and decisions_of(req) == {"@a": None}


def test_decide_all_items_matching_a_text_filter(world, client):
    req = in_review(world, ["@spam1", "@spam2", "@ham1", "@spam3"])
    sign_in(client, world.reviewer)
    response = decide(client, req, scope="matching", list_text="spam", decision="no_action",
                      no_action_reason="not_found", reason="Nothing at these addresses")
    assert response.status_code == 302 and "q=spam" in response.headers["Location"]
    assert decisions_of(req) == {"@spam1": "no_action", "@spam2": "no_action",
                                 "@spam3": "no_action", "@ham1": None}


def test_decide_all_matching_a_filter_that_matches_nothing(world, client):
    req = in_review(world, ["@a"])
    sign_in(client, world.reviewer)
    response = decide(client, req, scope="matching", list_text="zzz", decision="removed")
    assert response.status_code == 422
    assert "No item matches this filter: nothing was decided." in text(response)
    assert decisions_of(req) == {"@a": None}


def test_decide_every_pending_item(world, client):
    req = in_review(world, ["@a", "@b", "@c"])
    decisions.decide_items(world.actor("reviewer"), req.reference, decision="removed",
                           item_ids=item_ids(req)[:1])
    sign_in(client, world.reviewer)
    response = decide(client, req, scope="matching", list_decision="pending",
                      decision="labelled")
    assert response.status_code == 302
    assert decisions_of(req) == {"@a": "removed", "@b": "labelled", "@c": "labelled"}


def test_no_action_without_a_reason_is_refused(world, client):
    req = in_review(world, ["@a", "@b"])
    sign_in(client, world.reviewer)
    response = decide(client, req, item=item_ids(req), decision="no_action",
                      reason="Some text, but no reason from the list")
    assert response.status_code == 422
    page = text(response)
    assert 'id="no_action_reason-error"' in page and "Choose why nothing is done." in page
    assert decisions_of(req) == {"@a": None, "@b": None}


@pytest.mark.parametrize(("data", "message"), [
    ({"decision": "removed"}, "Select at least one item, or apply"),  # nothing ticked
    ({"decision": "removed", "item": ["x"]}, "could not be coerced"),
    ({"decision": "bogus", "item": [1]}, "Not a valid choice"),
    ({"decision": "removed", "scope": "everything"}, "Invalid value"),
])
def test_decide_bad_input_is_explained(world, client, data, message):
    req = in_review(world, ["@a"])
    sign_in(client, world.reviewer)
    response = decide(client, req, **data)
    assert response.status_code == 422 and message in text(response)
    assert decisions_of(req) == {"@a": None}


def test_decide_an_item_of_another_request_is_refused(world, client):
    req = in_review(world, ["@a"])
    other = in_review(world, ["@b"])
    sign_in(client, world.reviewer)
    response = decide(client, req, item=item_ids(other), decision="removed")
    assert response.status_code == 422
    assert "Some selected items are not part of this request" in text(response)
    assert decisions_of(other) == {"@b": None}


def test_decide_on_a_stale_page_changes_nothing(world, client):
    req = in_review(world, ["@a", "@b"])
    stale = fresh(req.reference).version
    decisions.decide_items(world.actor("reviewer"), req.reference, decision="removed",
                           item_ids=item_ids(req)[:1])
    sign_in(client, world.reviewer)
    response = decide(client, req, version=stale, item=item_ids(req)[1:], decision="labelled")
    assert response.status_code == 302
    assert "changed by someone else in the meantime" in text(
        client.get(response.headers["Location"]))
    assert decisions_of(req) == {"@a": "removed", "@b": None}


# -- lifecycle actions ------------------------------------------------------------------

def act(client, req: LegalRequest, trigger: str, **inputs: str):
    data = {f"{trigger}-version": fresh(req.reference).version}
    data.update({f"{trigger}-{name}": value for name, value in inputs.items()})
    return client.post(f"/review/requests/{req.reference}/actions/{trigger}", data=data)


def test_request_info_pauses_the_clock(world, client):
    req = in_review(world, category="defamation")  # Law 5651 Add. Art. 4: it may pause
    sign_in(client, world.reviewer)
    response = act(client, req, "request_info", question="Which court issued the order?")
    assert response.status_code == 302
    assert fresh(req.reference).state.value == "awaiting_info"
    resolve = db.session.scalar(sa.select(SlaClock).where(
        SlaClock.request_id == req.id, SlaClock.target == "resolve"))
    assert resolve.paused_at is not None
    page = text(client.get(response.headers["Location"]))
    assert "the clock is paused" in page and "Which court issued the order?" in page


def test_request_info_under_a_law_that_allows_no_pause(world, client):
    req = in_review(world)  # Law 5651 Arts. 8, 8/A: "derhal ve en geç dört saat"
    sign_in(client, world.reviewer)
    before = text(client.get(f"/review/requests/{req.reference}"))
    assert "The law that sets this deadline allows no pause" in before
    response = act(client, req, "request_info", question="Which court issued the order?")
    assert response.status_code == 302
    resolve = db.session.scalar(sa.select(SlaClock).where(
        SlaClock.request_id == req.id, SlaClock.target == "resolve"))
    assert resolve.paused_at is None and resolve.next_alert_at is not None
    page = text(client.get(response.headers["Location"]))
    assert "the deadline keeps running" in page and "the clock is paused" not in page


def test_action_refused_while_items_are_pending_says_how_many(world, client):
    req = in_review(world, handles(10))
    decisions.decide_items(world.actor("reviewer"), req.reference, decision="removed",
                           item_ids=item_ids(req)[:7])
    sign_in(client, world.reviewer)
    response = act(client, req, "action")
    assert response.headers["Location"].endswith("#actions")
    page = text(client.get(response.headers["Location"]))
    assert "Every item needs a decision first: 3 of 10 items are still pending." in page
    assert fresh(req.reference).state.value == "legal_review"


def test_action_with_every_item_decided(world, client):
    req = in_review(world, ["@a", "@b"])
    world.decide_all(req.reference)
    sign_in(client, world.reviewer)
    response = act(client, req, "action")
    assert response.status_code == 302
    after = fresh(req.reference)
    assert (after.state.value, after.resolution.value) == ("actioned", "complied")
    assert "The request is actioned." in text(client.get(response.headers["Location"]))


def test_action_with_nothing_acted_on_is_refused(world, client):
    req = in_review(world, ["@a"])
    decisions.decide_items(world.actor("reviewer"), req.reference, decision="no_action",
                           reason="not_found", all_pending=True)
    sign_in(client, world.reviewer)
    page = text(client.get(act(client, req, "action").headers["Location"]))
    assert "At least one item must be acted on." in page


def test_decline_with_a_reason_and_its_refusals(world, client):
    req = in_review(world, ["@a", "@b"])
    sign_in(client, world.reviewer)
    blank = act(client, req, "decline", reason="   ")
    assert blank.status_code == 422 and 'id="decline-reason-error"' in text(blank)
    decisions.decide_items(world.actor("reviewer"), req.reference, decision="removed",
                           item_ids=item_ids(req)[:1])
    refused = text(client.get(act(client, req, "decline", reason="no basis",
                                  no_action_reason="invalid_order").headers["Location"]))
    assert "1 of 2 items have an action decision." in refused
    decisions.decide_items(world.actor("reviewer"), req.reference, decision="no_action",
                           reason="not_unlawful", item_ids=item_ids(req)[:1])
    assert act(client, req, "decline", reason="Insufficient legal basis",
               no_action_reason="invalid_order").status_code == 302
    after = fresh(req.reference)
    assert (after.state.value, after.resolution.value) == ("closed", "declined")


def disputed(world: World) -> LegalRequest:
    req = world.actioned(["@a", "@b"], now=utcnow() - timedelta(hours=2))
    lifecycle.fire(world.actor("official"), req.reference, "dispute",
                   inputs={"reason": "You removed the wrong account."})
    return fresh(req.reference)


def test_revise_needs_a_changed_decision(world, client):
    req = disputed(world)
    sign_in(client, world.reviewer)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "Revise the outcome" in page and "Uphold the outcome" in page
    refused = text(client.get(act(client, req, "revise").headers["Location"]))
    assert "Revising needs at least one item decision changed since the dispute" in refused
    decide(client, req, item=item_ids(req)[:1], decision="no_action",
           no_action_reason="not_unlawful")
    assert act(client, req, "revise").status_code == 302
    after = fresh(req.reference)
    assert (after.state.value, after.resolution.value) == ("actioned", "partially_complied")


def test_uphold_needs_a_reason(world, client):
    req = disputed(world)
    sign_in(client, world.reviewer)
    assert act(client, req, "uphold").status_code == 422
    assert act(client, req, "uphold", reason="The order covers both.").status_code == 302
    assert fresh(req.reference).state.value == "closed"


def test_an_action_the_state_does_not_allow_is_explained(world, client):
    req = world.file()
    sign_in(client, world.reviewer)
    page = text(client.get(act(client, req, "action").headers["Location"]))
    assert "This cannot be done while the request is “Received”." in page
    assert client.post(f"/review/requests/{req.reference}/actions/begin_review",
                       data={}).status_code == 404
    assert client.post(f"/review/requests/{req.reference}/actions/close",
                       data={}).status_code == 404


def test_an_action_on_a_stale_page_is_a_conflict(world, client):
    req = in_review(world)
    sign_in(client, world.reviewer)
    stale = fresh(req.reference).version
    messages.post_message(world.actor("reviewer"), req.reference, "note", internal=True)
    world.decide_all(req.reference)
    response = client.post(f"/review/requests/{req.reference}/actions/action",
                           data={"action-version": stale})
    assert "changed by someone else in the meantime" in text(
        client.get(response.headers["Location"]))
    assert fresh(req.reference).state.value == "legal_review"


# -- messages and internal notes --------------------------------------------------------

def test_internal_note_is_hidden_from_the_agency(world, client):
    req = in_review(world)
    sign_in(client, world.reviewer)
    note = client.post(f"/review/requests/{req.reference}/messages",
                       data={"message-body": "Looks like a bot network.",
                             "message-internal": "y"})
    assert note.headers["Location"].endswith("#messages")
    assert client.post(f"/review/requests/{req.reference}/messages",
                       data={"message-body": "Please send the court order."}
                       ).status_code == 302
    seen_by_agency = [m.body for m in messages.messages_for(world.actor("official"),
                                                            req.reference)]
    seen_by_staff = [m.body for m in messages.messages_for(world.actor("liaison"),
                                                           req.reference)]
    assert seen_by_agency == ["Please send the court order."]
    assert seen_by_staff == ["Looks like a bot network.", "Please send the court order."]
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "Internal note added. The agency does not see it." in page


def test_an_empty_message_is_refused_on_the_form(world, client):
    req = in_review(world)
    sign_in(client, world.reviewer)
    response = client.post(f"/review/requests/{req.reference}/messages",
                           data={"message-body": "  "})
    assert response.status_code == 422 and 'id="message-body-error"' in text(response)


# -- reclassification -------------------------------------------------------------------

def reclassify(client, req: LegalRequest, **data: str):
    form = {"reclassify-version": fresh(req.reference).version,
            "reclassify-category": req.category.value,
            "reclassify-priority": req.priority.value,
            "reclassify-count_from": "receipt"}
    form.update({f"reclassify-{k}": v for k, v in data.items()})
    return client.post(f"/review/requests/{req.reference}/reclassify", data=form)


def test_reclassify_shows_how_the_deadline_moved(world, client):
    req = in_review(world, hours_ago=0.25)
    sign_in(client, world.reviewer)
    response = reclassify(client, req, priority="emergency", reason="Threat to life.")
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "The request is reclassified." in page
    # The policies by their names, not their codes.
    assert "Deadline for resolution: was" in page
    assert "(Turkey access-blocking or removal decision under Law 5651 Arts. 8, 8/A), now" in page
    assert "(Emergency (threat to life))" in page
    assert fresh(req.reference).priority.value == "emergency"


@pytest.mark.parametrize(("data", "message"), [
    ({"reason": ""}, "This field is required."),
    ({"reason": "no change"}, "Nothing would change."),
    ({"category": "bogus", "reason": "x"}, "Not a valid choice"),
    ({"count_from": "", "priority": "emergency", "reason": "x"},
     "Choose where the deadlines count from."),
])
def test_reclassify_refusals(world, client, data, message):
    req = in_review(world)
    sign_in(client, world.reviewer)
    response = reclassify(client, req, **data)
    assert response.status_code == 422 and message in text(response)


# -- who may do what --------------------------------------------------------------------

def review_routes(reference: str) -> list[tuple[str, str]]:
    base = f"/review/requests/{reference}"
    return [("GET", "/review/"), ("GET", base), ("POST", f"{base}/claim"),
            ("POST", f"{base}/items"), ("POST", f"{base}/actions/action"),
            ("POST", f"{base}/messages"), ("POST", f"{base}/reclassify")]


def test_officials_get_403_on_every_review_page(world, client):
    req = world.file()
    sign_in(client, world.official)  # even for their own agency's request
    for method, url in review_routes(req.reference):
        assert client.open(url, method=method, data={"version": 1}).status_code == 403, url


@pytest.mark.parametrize("who", ["liaison", "admin"])
def test_staff_read_review_pages_but_only_reviewers_change_them(world, client, who):
    req = in_review(world)
    sign_in(client, getattr(world, who))
    assert client.get("/review/").status_code == 200
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "You are viewing this request read-only" in page
    assert 'name="item"' not in page and "Ask the agency for information" not in page
    # Liaisons hand requests between reviewers and write to agencies on these routes; the
    # machine refuses them every trigger that decides (test_case_handling.py).
    open_to_them = {"liaison": ("/actions/action", "/messages")}.get(who, ())
    for method, url in review_routes(req.reference)[2:]:
        if url.endswith(open_to_them):
            continue
        assert client.open(url, method=method, data={"version": 1}).status_code == 403, url


def test_signed_out_visitors_are_sent_to_sign_in(world, client):
    response = client.get("/review/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# -- query counts -----------------------------------------------------------------------

def test_queue_queries_do_not_grow_with_rows(world, client):
    def file(n: int) -> None:
        for i in range(n):
            world.file([f"@q{i}"], now=utcnow() - timedelta(minutes=i + 1))

    sign_in(client, world.reviewer)
    file(5)
    with count_statements() as few:
        assert len(references(text(client.get("/review/?tab=open")))) == 5
    file(45)
    with count_statements() as many:
        assert len(references(text(client.get("/review/?tab=open")))) == 50
    assert len(few) == len(many)
    assert len(many) <= 8, many


def test_workspace_queries_do_not_grow_with_items(world, client):
    small = in_review(world, handles(10)).reference
    large = in_review(world, handles(500, "big")).reference
    sign_in(client, world.reviewer)
    with count_statements() as few:
        assert text(client.get(f"/review/requests/{small}")).count('name="item"') == 10
    with count_statements() as many:
        assert text(client.get(f"/review/requests/{large}")).count('name="item"') == 100
    assert len(few) == len(many)
    assert len(many) <= 12, many
