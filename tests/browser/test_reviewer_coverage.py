"""An administrator gives a new reviewer the jurisdictions they cover, in a real browser:
the field shows for reviewers only, an unknown code is named on the form, and the
reviewer's start page says what they cover (issue 13, part 2). axe-core checks the pages."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, People, Staff, sign_in


def test_an_admin_sets_a_reviewers_jurisdictions(
        live_server: LiveServer, staff: Staff, people: People) -> None:
    admin = people("admin")
    sign_in(admin, staff.admin, staff.password)
    admin.goto("/admin/users/new")
    covered = admin.get_by_label("Jurisdictions covered (legal reviewers only)")
    role = admin.get_by_label("Role")
    role.select_option("platform_liaison")
    expect(covered).to_be_hidden()
    role.select_option("legal_reviewer")
    expect(covered).to_be_visible()
    admin.get_by_label("E-mail address").fill("nadia.reviewer@platform.example")
    admin.get_by_label("Name").fill("Nadia Reviewer")
    covered.fill("IN, XX")
    if admin.get_by_label("Initial password").count():
        admin.get_by_label("Initial password").fill("a long initial password")
    admin.get_by_role("button", name="Create the account").click()
    expect(admin.get_by_text("XX is not a country code (two letters, for example IN or "
                             "TR) nor EU.").first).to_be_visible()
    people.audit(admin, "new account refused")
    admin.get_by_label("Jurisdictions covered (legal reviewers only)").fill("in, tr")
    if admin.get_by_label("Initial password").count():
        admin.get_by_label("Initial password").fill("a long initial password")
    admin.get_by_role("button", name="Create the account").click()
    expect(admin.locator("#covered")).to_have_text("India (IN), Türkiye (TR)")
    people.audit(admin, "reviewer's user page")

    # The existing reviewer: covers every jurisdiction until the administrator says.
    admin.goto("/admin/users?role=legal_reviewer")
    admin.get_by_role("link", name=staff.reviewer).click()
    expect(admin.locator("#covered")).to_have_text("Every jurisdiction")
    card = admin.get_by_role("region", name="Jurisdictions covered")
    card.get_by_role("textbox", name="Jurisdictions covered").fill("ID")
    card.get_by_role("button", name="Save").click()
    expect(admin.get_by_text("Covers: ID.")).to_be_visible()

    reviewer = people("reviewer")
    sign_in(reviewer, staff.reviewer, staff.password)
    expect(reviewer.locator("#coverage")).to_have_text(
        "You are told of new requests from: Indonesia (ID). Emergencies reach you from "
        "everywhere.")
    people.audit(reviewer, "reviewer's start page")
    people.assert_no_page_problems()
