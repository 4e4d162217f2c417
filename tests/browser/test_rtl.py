"""Arabic, right to left, in a real browser: the language switch (the footer's select and
the account page), ``<html dir="rtl" lang="ar">``, a mirrored header, and one page of
each role showing translated labels.

The Arabic catalogue is still being written, so the assertions use labels that are
translated already (categories, priorities, states), read from the catalogue itself: the
test fails if one of them shows in English, or if the catalogue loses its translation.
Elements are found by labels only while the page is still in English; once it is in
Arabic, by structure (ids, names), since any English text may be translated meanwhile.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale
from playwright.sync_api import Locator, Page, expect

from portal.models.columns import utcnow
from portal.services import accounts
from portal.services.actors import Actor
from portal.services.filing import file_request
from portal.wording import category_label, priority_label, state_label
from tests.browser.conftest import LiveServer, People, Screenshots, Staff, sign_in
from tests.factories import filing, handles

OFFICIAL = "mehmet@egm.gov.tr"
PASSWORD = "a long password for the official"


def seed(live: LiveServer) -> str:
    """A verified agency, its official and one filed request; returns its reference."""
    with live.db():
        agency = accounts.create_agency(
            "Emniyet Genel Müdürlüğü", country="TR", domain="egm.gov.tr", verified=True,
            verified_until=utcnow() + timedelta(days=365))
        official = accounts.create_user(OFFICIAL, role="agency_official", agency_id=agency.id,
                                        password=PASSWORD, name="Mehmet Demir")
        req = file_request(Actor.of(official),
                           filing(handles(12), category="disinformation", priority="standard"))
        return req.reference


def arabic_labels(live: LiveServer) -> dict[str, str]:
    """The Arabic of the labels the pages below must show, from the catalogue; each must
    differ from its English (else the page could pass while still in English)."""
    labels = {
        "disinformation": lambda: category_label("disinformation"),
        "terrorism": lambda: category_label("terrorism"),
        "received": lambda: state_label("received"),
        "standard": lambda: priority_label("standard"),
        "emergency": lambda: priority_label("emergency"),
    }
    found = {}
    for locale in ("en", "ar"):
        # One request per language, as the pages have.
        with live.app.test_request_context(), force_locale(locale):
            found[locale] = {code: label() for code, label in labels.items()}
    english, arabic = found["en"], found["ar"]
    untranslated = [english[code] for code in labels if arabic[code] == english[code]]
    assert not untranslated, f"no Arabic in the catalogue for: {untranslated}"
    return arabic


# -- switching and checking ------------------------------------------------------------

def footer_language(page: Page) -> Locator:
    return page.locator("#language-choice")


def choose_arabic_in_footer(page: Page) -> None:
    """The footer's language select submits itself (portal.js) and reloads the page."""
    page.wait_for_load_state("load")  # portal.js (deferred) listens for the change
    with page.expect_navigation():
        footer_language(page).select_option("ar")
    expect(page.locator("html")).to_have_attribute("lang", "ar")


def sign_in_in_any_language(page: Page, email: str, password: str) -> None:
    """Sign in on a page that may be in Arabic: by the fields' names, not their labels."""
    page.goto("/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("main").locator("button[type=submit]").click()
    expect(page.locator("form[action$='/logout']")).to_be_visible()
    page.wait_for_load_state("load")


def assert_right_to_left(page: Page) -> None:
    """``<html dir="rtl" lang="ar">``, the main area laid out right to left, and the header
    mirrored: the brand at the right, the account links at the left."""
    page.wait_for_load_state("load")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    assert page.locator("main").evaluate("e => getComputedStyle(e).direction") == "rtl"
    brand = page.locator(".site-header .brand").bounding_box()
    account = page.locator(".site-header .account").bounding_box()
    assert brand is not None and account is not None
    assert brand["x"] > account["x"], (brand, account)
    assert brand["x"] + brand["width"] > account["x"] + account["width"], (brand, account)


def test_arabic_pages_read_right_to_left(live_server: LiveServer, staff: Staff,
                                         people: People, shots: Screenshots) -> None:
    reference = seed(live_server)
    ar = arabic_labels(live_server)

    # Before signing in: the footer's select turns the sign-in page around.
    official = people("official")
    official.goto("/login")
    expect(official.locator("html")).to_have_attribute("dir", "ltr")
    choose_arabic_in_footer(official)
    assert_right_to_left(official)
    shots.take(official, "sign-in page in Arabic")

    # The agency official: their requests, one request and the filing form, in Arabic.
    sign_in_in_any_language(official, OFFICIAL, PASSWORD)
    if official.locator("html").get_attribute("lang") != "ar":
        # The account's own language (English) wins over the one chosen before signing
        # in; the footer changes it for good.
        choose_arabic_in_footer(official)
    official.goto("/requests/")
    assert_right_to_left(official)
    row = official.get_by_role("row").filter(
        has=official.get_by_role("link", name=reference, exact=True))
    expect(row).to_contain_text(ar["disinformation"])
    expect(row).to_contain_text(ar["received"])
    shots.take(official, "official's requests in Arabic")
    people.audit(official, "official's requests in Arabic")  # a page the story does not open
    with official.expect_navigation():
        official.get_by_role("link", name=reference, exact=True).click()
    assert_right_to_left(official)
    facts = official.locator("dl.facts")
    for code in ("disinformation", "standard", "received"):
        expect(facts).to_contain_text(ar[code])
    shots.take(official, "official's request in Arabic")
    official.goto("/requests/new")
    assert_right_to_left(official)
    expect(official.locator("select[name=category]")).to_contain_text(ar["terrorism"])
    # Handles and links are left to right, whatever the page's direction.
    targets = official.locator("textarea[name=targets]")
    assert targets.evaluate("e => getComputedStyle(e).direction") == "ltr"
    shots.take(official, "filing form in Arabic")

    # The legal reviewer chooses Arabic on the account page; the queue follows.
    reviewer = people("reviewer")
    sign_in(reviewer, staff.reviewer, staff.password)
    reviewer.goto("/account")
    settings = reviewer.get_by_role("main")
    settings.get_by_label("Language").select_option("ar")
    with reviewer.expect_navigation():
        settings.get_by_role("button", name="Save settings").click()
    assert_right_to_left(reviewer)
    expect(reviewer.locator("select[name=profile-locale]")).to_have_value("ar")
    shots.take(reviewer, "reviewer's account page in Arabic")
    people.audit(reviewer, "account page in Arabic")
    reviewer.goto("/review/")
    assert_right_to_left(reviewer)
    row = reviewer.get_by_role("row").filter(
        has=reviewer.get_by_role("link", name=reference, exact=True))
    expect(row).to_contain_text(ar["disinformation"])
    expect(row).to_contain_text(ar["received"])
    shots.take(reviewer, "review queue in Arabic")

    # The platform liaison: the SLA dashboard.
    liaison = people("liaison")
    sign_in(liaison, staff.liaison, staff.password)
    choose_arabic_in_footer(liaison)
    liaison.goto("/liaison/")
    assert_right_to_left(liaison)
    rows = liaison.get_by_role("row").filter(
        has=liaison.get_by_role("link", name=reference, exact=True))
    expect(rows.first).to_contain_text(ar["disinformation"])
    expect(rows.first).to_contain_text(ar["received"])
    shots.take(liaison, "SLA dashboard in Arabic")

    # The administrator: the SLA policies, with their categories and priorities.
    admin = people("admin")
    sign_in(admin, staff.admin, staff.password)
    choose_arabic_in_footer(admin)
    admin.goto("/admin/policies")
    assert_right_to_left(admin)
    policies = admin.get_by_role("main")
    expect(policies).to_contain_text(ar["terrorism"])
    expect(policies).to_contain_text(ar["emergency"])
    shots.take(admin, "SLA policies in Arabic")
    people.audit(admin, "SLA policies in Arabic")

    # The choice is kept on the account: a new sign-in starts in Arabic.
    with admin.expect_navigation():
        admin.locator("form[action$='/logout'] button").click()
    sign_in_in_any_language(admin, staff.admin, staff.password)
    assert_right_to_left(admin)
    people.assert_no_page_problems()
