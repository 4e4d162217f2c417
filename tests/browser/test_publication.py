"""A reviewer publishes a request as a Lumen-style notice in a real browser: opens the
publish page from the request, previews the redacted notice, corrects a target line the
page refuses, and publishes; nothing redacted is on the page's published notice."""

from __future__ import annotations

from playwright.sync_api import expect

from portal.services import lifecycle
from tests.browser.conftest import LiveServer, People, Screenshots, sign_in
from tests.factories import NOW, PASSWORD, World

SECRET = "Ayşe Yılmaz"


def test_a_reviewer_previews_and_publishes_a_redacted_notice(live_server: LiveServer,
                                                             people: People,
                                                             shots: Screenshots):
    with live_server.db():
        world = World()
        req = world.file(["@target1", "@hidden_source"], priority="standard",
                         description=f"Reported by {SECRET} about @hidden_source.")
        world.to_review(req.reference)
        world.decide_all(req.reference, "withheld")
        lifecycle.fire(world.actor("reviewer"), req.reference, "action", now=NOW)
        reference, email = req.reference, world.reviewer.email
    page = people("reviewer")
    sign_in(page, email, PASSWORD)
    page.goto(f"/review/requests/{reference}")
    page.get_by_role("link", name="Publish as a notice (preview and redaction)").click()
    expect(page.get_by_role("heading", name=f"Publish {reference} as a notice")).to_be_visible()
    page.get_by_label("Type of notice").select_option("CourtOrder")
    page.get_by_label("Targets to redact").fill("@hidden_source\n@nobody")
    page.get_by_label("Passages to redact").fill(SECRET)
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("Line 2: this is not a target of this request.").first
           ).to_be_visible()
    page.get_by_label("Targets to redact").fill("@hidden_source")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("[data-preview]")
    expect(preview).to_contain_text('"type": "CourtOrder"')
    expect(preview).to_contain_text("Reported by [REDACTED] about [REDACTED].")
    expect(preview).not_to_contain_text("hidden_source")
    shots.take(page, "preview")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.get_by_text("The request is published as a notice.")).to_be_visible()
    published = page.locator("[data-published]")
    expect(published).to_contain_text('"action_taken": "Yes"')
    expect(published).not_to_contain_text("hidden_source")
    expect(published).not_to_contain_text(SECRET)
    shots.take(page, "published")
    people.assert_no_page_problems()
