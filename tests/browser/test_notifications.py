"""The header's unread count in a real browser: a reviewer sees it, opens the list, and
the count goes once everything is marked read (issue 13)."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Browser, expect

from portal.models.columns import utcnow
from portal.services import accounts
from portal.services.actors import Actor
from portal.services.filing import file_request
from tests.browser.conftest import LiveServer, Staff, sign_in
from tests.factories import filing


def test_a_reviewer_sees_the_unread_count_and_clears_it(
        browser: Browser, live_server: LiveServer, staff: Staff) -> None:
    with live_server.db():
        agency = accounts.create_agency(
            "Ministry of Electronics", country="IN", domain="meity.gov.in", verified=True,
            verified_until=utcnow() + timedelta(days=365))
        official = accounts.create_user("arjun@meity.gov.in", role="agency_official",
                                        agency_id=agency.id, password="an official password",
                                        name="Arjun")
        for n in range(2):
            file_request(Actor.of(official), filing([f"@t{n}"], priority="standard"))
    context = browser.new_context(base_url=live_server.url, timezone_id="UTC")
    try:
        page = context.new_page()
        sign_in(page, staff.reviewer, staff.password)
        link = page.locator("header .notices-link")
        expect(link).to_have_text("Notifications 2 unread")
        link.click()
        expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
        expect(page.locator(".notice-row.unread")).to_have_count(2)
        page.get_by_role("button", name="Mark all as read").click()
        expect(page.locator(".notice-row.unread")).to_have_count(0)
        expect(page.locator("header .notices-link")).to_have_text("Notifications")
    finally:
        context.close()
