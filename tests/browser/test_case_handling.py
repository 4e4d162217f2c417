"""Case handling in a real browser (issue 13, part 4): the agency contests two of its
targets, the reviewer who holds the request answers each, the agency reads the answers;
a second reviewer sees who holds the request and is given nothing to decide with."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from portal.extensions import db
from portal.models import User
from portal.models.columns import utcnow
from portal.services import decisions, lifecycle
from portal.services.actors import Actor
from portal.services.filing import file_request
from tests.browser.conftest import LiveServer, People, Screenshots, Staff, sign_in
from tests.factories import PASSWORD, filing, make_agency, make_user


def flash(page: Page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def test_the_agency_contests_two_targets_and_reads_each_answer(
        live_server: LiveServer, staff: Staff, people: People, shots: Screenshots) -> None:
    with live_server.db():
        agency = make_agency("TR", now=utcnow())
        official = make_user("agency_official", agency)
        holder = db.session.scalars(sa.select(User).where(User.email == staff.reviewer)).one()
        other = make_user("legal_reviewer")
        now = utcnow() - timedelta(hours=1)
        req = file_request(Actor.of(official),
                           filing(["@kisan_bot_1", "@kisan_bot_2", "@kisan_bot_3"],
                                  priority="standard"), now=now)
        reference = req.reference
        lifecycle.fire(Actor.of(holder), reference, "begin_review", now=now)
        decisions.decide_items(Actor.of(holder), reference, decision="removed",
                               all_pending=True, now=now)
        lifecycle.fire(Actor.of(holder), reference, "action", now=now)
        official_email, other_email = official.email, other.email

    agency_page, reviewer_page, second_page = (people("official"), people("reviewer"),
                                               people("second"))
    # 1. The official ticks two targets, one with its own reason, and disputes.
    sign_in(agency_page, official_email, PASSWORD)
    agency_page.goto(f"/requests/{reference}")
    agency_page.get_by_role("checkbox", name="Contest @kisan_bot_1").check()
    agency_page.get_by_role("checkbox", name="Contest @kisan_bot_3").check()
    agency_page.get_by_label("Why you contest @kisan_bot_3 (optional)").fill(
        "A news outlet's account")
    agency_page.locator("summary", has_text="Dispute the outcome").click()
    agency_page.get_by_label("What you contest, and why").fill("Two are not ours")
    shots.take(agency_page, "official ticks two targets")
    agency_page.get_by_role("button", name="Dispute the outcome").click()
    flash(agency_page, "Your dispute was recorded. A reviewer will answer.")
    dispute = agency_page.get_by_role("region", name="Your dispute, item by item")
    expect(dispute).to_contain_text("You contest 2 targets.")
    expect(dispute).to_contain_text("A news outlet's account")

    # 2. A second reviewer sees who holds it, and no form to decide with.
    sign_in(second_page, other_email, PASSWORD)
    second_page.goto(f"/review/requests/{reference}")
    expect(second_page.locator("#held-by")).to_contain_text(
        "Rahul Reviewer holds this request. Only they or a lead reviewer decide")
    expect(second_page.get_by_role("button", name="Answer the selected items")).to_have_count(0)
    expect(second_page.get_by_role("button", name="Uphold the outcome")).to_have_count(0)

    # 3. The reviewer who holds it answers the first target, then the one left.
    sign_in(reviewer_page, staff.reviewer, staff.password)
    reviewer_page.goto(f"/review/requests/{reference}")
    contested = reviewer_page.get_by_role("region", name="The agency's dispute, item by item")
    expect(contested).to_contain_text("The agency contests 2 items.")
    reviewer_page.get_by_label("Select @kisan_bot_1").last.check()
    contested.get_by_label("The decision stands").check()
    contested.get_by_label("Explanation to the agency").fill("Covered by the court order")
    shots.take(reviewer_page, "reviewer answers one contested target")
    reviewer_page.get_by_role("button", name="Answer the selected items").click()
    flash(reviewer_page, "1 contested item answered.")
    contested = reviewer_page.get_by_role("region", name="The agency's dispute, item by item")
    contested.get_by_label("The decision stands").check()
    contested.get_by_label("Explanation to the agency").fill("Removed as ordered")
    reviewer_page.get_by_role("button", name="Answer the 1 item without an answer").click()
    flash(reviewer_page, "1 contested item answered.")
    reviewer_page.get_by_label("Reason for upholding the outcome").fill("The order stands")
    reviewer_page.once("dialog", lambda dialog: dialog.accept())
    reviewer_page.get_by_role("button", name="Uphold the outcome").click()
    flash(reviewer_page, "The outcome is upheld.")

    # 4. The official reads each answer beside its target.
    agency_page.reload()
    dispute = agency_page.get_by_role("region", name="Your dispute, item by item")
    expect(dispute.get_by_role("row").filter(has_text="@kisan_bot_1")).to_contain_text(
        "Covered by the court order")
    expect(dispute.get_by_role("row").filter(has_text="@kisan_bot_3")).to_contain_text(
        "Removed as ordered")
    shots.take(agency_page, "official reads the answers")
    people.assert_no_page_problems()
