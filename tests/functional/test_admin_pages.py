"""The administrator's pages: agencies and their verification, users, SLA policies and
holiday overrides; who may use them; and how many queries their lists cost."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.extensions import db
from portal.models import (
    Agency,
    HolidayOverride,
    Notification,
    SlaClock,
    SlaPolicy,
    User,
    VerificationStatus,
)
from portal.models.columns import utcnow
from portal.services import agencies, clocks, holiday_overrides, outbox, sla_policies, users
from portal.services.actors import Actor
from portal.services.errors import ValidationFailed
from tests.conftest import sign_in
from tests.factories import World, count_statements, make_agency, make_user
from tests.smtp import Inbox
from workflows.roles import Role

TODAY = utcnow().date()


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def admin_user(app: Flask) -> User:
    app.config["MAIL_BACKEND"] = "log"  # mails are rendered and "sent" to the log
    return make_user("admin")


@pytest.fixture
def as_admin(client, admin_user):
    sign_in(client, admin_user)
    return client


def reload(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def mails(template: str) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.template == template).order_by(Notification.id)))


# -- who may use the admin pages --------------------------------------------------------

def admin_routes(app: Flask) -> list[tuple[str, str]]:
    """Every admin URL (with made-up ids) and each method it answers."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<int:{argument}>", "1")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, url))
    return found


def test_the_admin_blueprint_has_the_pages_the_navigation_names(app):
    for endpoint in ("admin.agencies", "admin.users", "admin.policies", "admin.holidays"):
        assert endpoint in app.view_functions
    assert len(admin_routes(app)) >= 20


@pytest.mark.parametrize("role", ["legal_reviewer", "platform_liaison", "agency_official"])
def test_every_admin_route_is_forbidden_to_other_roles(app, client, role):
    agency = make_agency("TR")
    user = make_user(role, agency if role == "agency_official" else None)
    sign_in(client, user)
    for method, url in admin_routes(app):
        response = client.open(url, method=method)
        assert response.status_code == 403, (method, url, response.status_code)


def test_every_admin_route_asks_anonymous_visitors_to_sign_in(app, client):
    for method, url in admin_routes(app):
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/login")


def test_the_admin_sees_the_admin_navigation(as_admin):
    page = text(as_admin.get("/admin/agencies"))
    for label in ("Agencies", "Users", "SLA policies", "Holidays"):
        assert f">{label}</a>" in page


# -- agencies ---------------------------------------------------------------------------

def test_the_verification_queue_comes_first_oldest_registration_first(as_admin):
    newest = make_agency("ID", verified=False, now=datetime(2026, 11, 10, tzinfo=UTC))
    oldest = make_agency("TR", verified=False, now=datetime(2026, 10, 1, tzinfo=UTC))
    verified = make_agency("IN")
    page = text(as_admin.get("/admin/agencies"))
    queue = page[page.index("Verification queue"):page.index("All agencies")]
    assert "(2 waiting)" in queue
    assert queue.index(oldest.name) < queue.index(newest.name)
    assert verified.name not in queue
    listing = page[page.index("All agencies"):]
    for agency in (newest, oldest, verified):
        assert agency.name in listing
    assert "Awaiting verification" in listing and "Verified" in listing


def test_agencies_can_be_filtered_by_status_and_searched(as_admin):
    pending = make_agency("ID", verified=False, domain="kominfo.go.id")
    verified = make_agency("IN", domain="meity.gov.in")

    def listed(**query) -> str:
        page = text(as_admin.get("/admin/agencies", query_string=query))
        return page[page.index("All agencies"):]

    only_pending = listed(status="pending")
    assert pending.name in only_pending and verified.name not in only_pending
    by_domain = listed(q="MEITY")
    assert verified.name in by_domain and pending.name not in by_domain
    by_country = listed(q="id")
    assert pending.name in by_country and verified.name not in by_country
    nothing = listed(q="no such agency")
    assert "No agency matches these filters." in nothing
    # A wildcard typed into the search is a character, not a wildcard.
    assert "No agency matches these filters." in listed(q="%")


def test_the_agency_list_is_paginated(as_admin):
    for _ in range(4):
        make_agency("TR")
    first = text(as_admin.get("/admin/agencies", query_string={"per_page": 3}))
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = text(as_admin.get("/admin/agencies", query_string={"per_page": 3, "page": 2}))
    assert "Page 2 of 2" in second and 'rel="prev"' in second


def test_empty_agency_pages_say_what_to_do(as_admin):
    page = text(as_admin.get("/admin/agencies"))
    assert "No agency is waiting for verification." in page
    assert "No agency has registered yet." in page


def test_the_agency_page_shows_its_details_and_officials(as_admin):
    agency = make_agency("TR", verified=False)
    official = make_user("agency_official", agency)
    page = text(as_admin.get(f"/admin/agencies/{agency.id}"))
    assert agency.official_domain in page and official.email in page
    assert "Awaiting verification" in page
    assert "Reject the registration" in page and "Suspend the agency" not in page
    assert f"/admin/users/new?agency={agency.id}" in page


def test_an_unknown_agency_is_not_found(as_admin):
    assert as_admin.get("/admin/agencies/999").status_code == 404
    response = as_admin.post("/admin/agencies/999/approve",
                             data={"valid_until": (TODAY + timedelta(days=9)).isoformat()})
    assert response.status_code == 404


def test_approving_verifies_until_the_date_and_mails_each_official_in_their_language(
        as_admin, admin_user):
    agency = make_agency("TR", verified=False)
    turkish = make_user("agency_official", agency)
    turkish.locale = "tr"
    english = make_user("agency_official", agency)
    gone = make_user("agency_official", agency)
    gone.active = False
    db.session.commit()
    until = TODAY + timedelta(days=200)
    response = as_admin.post(f"/admin/agencies/{agency.id}/approve",
                             data={"valid_until": until.isoformat()})
    assert response.status_code == 302
    assert text(as_admin.get(response.headers["Location"])).count("is verified until") == 1
    agency = reload(Agency, agency.id)
    assert agency.status is VerificationStatus.VERIFIED
    assert agency.verified_until == datetime.combine(until, time(23, 59, 59), tzinfo=UTC)
    assert agency.verified_at is not None and agency.status_reason is None
    assert agency.filing_block(utcnow()) is None
    sent = mails("agency_status")
    assert {(n.recipient, n.locale) for n in sent} == {(turkish.email, "tr"),
                                                       (english.email, "en")}
    message = outbox.render(next(n for n in sent if n.recipient == english.email))
    assert message.subject == f"{agency.name} is verified on the government liaison portal"
    assert "valid until" in message.body and str(until.year) in message.body


@pytest.mark.parametrize(("valid_until", "error"), [
    (TODAY.isoformat(), "Choose a date after today."),
    ((TODAY - timedelta(days=1)).isoformat(), "Choose a date after today."),
    ("", "This field is required."),
    ("31/12/2027", "Not a valid date value."),
])
def test_approving_needs_an_expiry_date_in_the_future(as_admin, valid_until, error):
    agency = make_agency("TR", verified=False)
    response = as_admin.post(f"/admin/agencies/{agency.id}/approve",
                             data={"valid_until": valid_until})
    assert response.status_code == 200
    assert error in text(response)
    assert reload(Agency, agency.id).status is VerificationStatus.PENDING
    assert mails("agency_status") == []


def test_the_service_refuses_a_past_expiry_too(app):
    agency = make_agency("TR", verified=False)
    with pytest.raises(ValidationFailed) as refused:
        agencies.approve_agency(Actor(None, Role.ADMIN), agency.id,
                                valid_until=date(2020, 1, 1))
    assert refused.value.errors[0].code == "not_future"


def test_rejecting_needs_a_reason_and_tells_the_officials(as_admin):
    agency = make_agency("TR", verified=False)
    official = make_user("agency_official", agency)
    blank = as_admin.post(f"/admin/agencies/{agency.id}/reject", data={"reject-reason": "  "})
    assert "This field is required." in text(blank)
    assert reload(Agency, agency.id).status is VerificationStatus.PENDING
    done = as_admin.post(f"/admin/agencies/{agency.id}/reject",
                         data={"reject-reason": "The domain is not a government domain."})
    assert done.status_code == 302
    agency = reload(Agency, agency.id)
    assert agency.status is VerificationStatus.REJECTED
    assert agency.status_reason == "The domain is not a government domain."
    [note] = mails("agency_status")
    message = outbox.render(note)
    assert note.recipient == official.email
    assert "was not verified" in message.subject
    assert "Reason: The domain is not a government domain." in message.body


def test_suspending_and_reinstating(as_admin):
    agency = make_agency("TR")
    make_user("agency_official", agency)
    refused = as_admin.post(f"/admin/agencies/{agency.id}/suspend",
                            data={"suspend-reason": ""})
    assert "This field is required." in text(refused)
    response = as_admin.post(f"/admin/agencies/{agency.id}/suspend",
                             data={"suspend-reason": "Requests filed with forged orders."})
    assert response.status_code == 302
    agency = reload(Agency, agency.id)
    assert agency.status is VerificationStatus.SUSPENDED
    assert agency.filing_block(utcnow()) == "the agency is suspended"
    page = text(as_admin.get(f"/admin/agencies/{agency.id}"))
    assert "Requests filed with forged orders." in page and "Reinstate the agency" in page
    assert as_admin.post(f"/admin/agencies/{agency.id}/reinstate").status_code == 302
    agency = reload(Agency, agency.id)
    assert agency.status is VerificationStatus.VERIFIED and agency.status_reason is None
    subjects = [outbox.render(n).subject for n in mails("agency_status")]
    assert subjects == [f"{agency.name} is suspended on the government liaison portal",
                        f"{agency.name} is verified on the government liaison portal"]


def test_an_action_that_does_not_fit_the_status_is_refused_and_the_page_shows_why(
        as_admin):
    agency = make_agency("TR", verified=False)
    response = as_admin.post(f"/admin/agencies/{agency.id}/suspend",
                             data={"suspend-reason": "no"}, follow_redirects=True)
    assert "does not apply to the agency as it is now" in text(response)
    assert reload(Agency, agency.id).status is VerificationStatus.PENDING
    again = as_admin.post(f"/admin/agencies/{agency.id}/reinstate", follow_redirects=True)
    assert "does not apply" in text(again)


def test_an_expired_verification_is_not_reinstated(as_admin):
    agency = make_agency("TR")
    agencies.suspend_agency(Actor(None, Role.ADMIN), agency.id, reason="checks")
    agency = reload(Agency, agency.id)
    agency.verified_until = utcnow() - timedelta(days=1)
    db.session.commit()
    response = as_admin.post(f"/admin/agencies/{agency.id}/reinstate")
    assert "approve the agency again with a new expiry date" in text(response)
    assert reload(Agency, agency.id).status is VerificationStatus.SUSPENDED


def test_an_expired_agency_is_marked_and_can_be_renewed(as_admin):
    agency = make_agency("TR")
    agency.verified_until = utcnow() - timedelta(days=1)
    db.session.commit()
    page = text(as_admin.get("/admin/agencies"))
    assert "Expired" in page
    until = TODAY + timedelta(days=30)
    as_admin.post(f"/admin/agencies/{agency.id}/approve", data={"valid_until": until.isoformat()})
    assert reload(Agency, agency.id).filing_block(utcnow()) is None


def test_the_focal_point_flag(as_admin):
    agency = make_agency("ID")
    as_admin.post(f"/admin/agencies/{agency.id}/focal-point", data={"focal_point": "y"})
    assert reload(Agency, agency.id).focal_point is True
    as_admin.post(f"/admin/agencies/{agency.id}/focal-point", data={})
    assert reload(Agency, agency.id).focal_point is False


# -- users ------------------------------------------------------------------------------

def test_the_user_list_filters_by_role_and_searches(as_admin):
    agency = make_agency("TR", domain="uab.gov.tr")
    official = make_user("agency_official", agency, email="siber@uab.gov.tr")
    reviewer = make_user("legal_reviewer", email="maya.chen@platform.example")
    page = text(as_admin.get("/admin/users"))
    assert official.email in page and reviewer.email in page and agency.name in page
    reviewers = text(as_admin.get("/admin/users", query_string={"role": "legal_reviewer"}))
    assert reviewer.email in reviewers and official.email not in reviewers
    found = text(as_admin.get("/admin/users", query_string={"q": "MAYA"}))
    assert reviewer.email in found and official.email not in found
    of_agency = text(as_admin.get("/admin/users", query_string={"agency": agency.id}))
    assert official.email in of_agency and reviewer.email not in of_agency
    none = text(as_admin.get("/admin/users", query_string={"q": "nobody-at-all"}))
    assert "No account matches these filters." in none


def test_creating_a_staff_account_with_an_initial_password(app, as_admin, client):
    app.view_functions.pop("auth.forgot_password", None)
    form = text(as_admin.get("/admin/users/new"))
    assert 'name="password"' in form
    response = as_admin.post("/admin/users/new", data={
        "email": "New.Reviewer@Platform.example", "name": "New Reviewer",
        "role": "legal_reviewer", "agency": "", "locale": "tr", "timezone": "Europe/Istanbul",
        "password": "a long initial password"})
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "new.reviewer@platform.example"))
    assert user.role is Role.LEGAL_REVIEWER and user.locale == "tr"
    assert user.timezone == "Europe/Istanbul" and user.check_password("a long initial password")
    assert mails("admin_account_created") == []


@pytest.mark.parametrize(("fields", "error"), [
    ({"password": ""}, "This is required."),
    ({"password": "short"}, "This is too short."),
    ({"email": "not an address"}, "Enter a valid e-mail address"),
    ({"timezone": "Mars/Olympus"}, "Mars/Olympus is not a time zone name"),
    ({"role": "agency_official"}, "This is required."),
    ({"role": "system"}, "Not a valid choice."),
])
def test_creating_an_account_refuses_bad_input(app, as_admin, fields, error):
    app.view_functions.pop("auth.forgot_password", None)
    data = {"email": "someone@platform.example", "role": "platform_liaison", "agency": "",
            "locale": "en", "timezone": "", "password": "a long initial password"}
    data.update(fields)
    response = as_admin.post("/admin/users/new", data=data)
    assert response.status_code == 200
    assert error in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_creating_an_official_for_an_agency(app, as_admin):
    app.view_functions.pop("auth.forgot_password", None)
    agency = make_agency("ID", domain="kominfo.go.id")
    form = text(as_admin.get("/admin/users/new", query_string={"agency": agency.id}))
    assert f'<option selected value="{agency.id}">' in form or \
        f'value="{agency.id}" selected' in form
    data = {"email": "someone@elsewhere.example", "role": "agency_official",
            "agency": str(agency.id), "locale": "id", "timezone": "",
            "password": "a long initial password"}
    wrong_domain = as_admin.post("/admin/users/new", data=data)
    assert "The address must be on the agency&#39;s official domain." in text(wrong_domain)
    data["email"] = "pengaduan@kominfo.go.id"
    assert as_admin.post("/admin/users/new", data=data).status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == data["email"]))
    assert user.agency_id == agency.id and user.role is Role.AGENCY_OFFICIAL
    assert user.timezone == "Asia/Jakarta"  # the agency's country's, as none was given


@pytest.fixture
def inbox(smtp: Inbox) -> Inbox:
    """The real SMTP server's inbox, for mails whose one-time link the outbox forgets
    once they are sent."""
    return smtp


def test_new_users_get_a_password_link_when_the_sign_in_pages_offer_one(app, as_admin,
                                                                          inbox):
    if "auth.forgot_password" not in app.view_functions:
        pytest.fail("the sign-in pages offer no password reset")
    form = text(as_admin.get("/admin/users/new"))
    assert 'name="password"' not in form and "a link by e-mail" in form
    response = as_admin.post("/admin/users/new", data={
        "email": "liaison@platform.example", "role": "platform_liaison", "agency": "",
        "locale": "en", "timezone": ""})
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "liaison@platform.example"))
    assert user.password_hash is None
    [note] = mails("admin_account_created")
    assert note.recipient == user.email and "link" not in note.params  # forgotten once sent
    [mail] = inbox.sent({note.id})
    body = mail.body
    link = re.search(r"http://localhost/reset-password/\S+", body).group(0)
    assert "http://localhost/forgot-password" in body
    # The link opens the sign-in pages' own form, where the password is chosen.
    opened = app.test_client().get(link.removeprefix("http://localhost"))
    assert opened.status_code == 200 and user.email in text(opened)
    page = text(as_admin.get(f"/admin/users/{user.id}"))
    assert "Send a password link" in page
    as_admin.post(f"/admin/users/{user.id}/setup-link")
    assert len(mails("admin_account_created")) == 2


def test_only_the_forgotten_password_page_when_there_is_no_reset_page(app, as_admin,
                                                                       inbox):
    app.view_functions.pop("auth.reset_password", None)
    if "auth.forgot_password" not in app.view_functions:
        app.add_url_rule("/forgot-password", endpoint="auth.forgot_password",
                         view_func=lambda: "forgot")
    as_admin.post("/admin/users/new", data={
        "email": "liaison@platform.example", "role": "platform_liaison", "agency": "",
        "locale": "en", "timezone": ""})
    [note] = mails("admin_account_created")
    [mail] = inbox.sent({note.id})
    body = mail.body
    assert "http://localhost/forgot-password" in body and "reset-password" not in body


def test_without_a_password_reset_page_no_link_can_be_sent(app, as_admin):
    app.view_functions.pop("auth.forgot_password", None)
    user = make_user("legal_reviewer")
    assert as_admin.post(f"/admin/users/{user.id}/setup-link").status_code == 404


def test_changing_a_staff_role(as_admin):
    liaison = make_user("platform_liaison")
    users.set_liaison_lead(Actor(None, Role.ADMIN), liaison.id, True)
    response = as_admin.post(f"/admin/users/{liaison.id}/role",
                             data={"role": "legal_reviewer"}, follow_redirects=True)
    assert "is now: Legal reviewer" in text(response)
    liaison = reload(User, liaison.id)
    assert liaison.role is Role.LEGAL_REVIEWER
    assert liaison.liaison_lead is False  # only liaisons lead


def test_an_official_never_becomes_staff(as_admin):
    agency = make_agency("TR")
    official = make_user("agency_official", agency)
    page = text(as_admin.get(f"/admin/users/{official.id}"))
    assert "An agency official keeps this role." in page
    response = as_admin.post(f"/admin/users/{official.id}/role", data={"role": "admin"},
                             follow_redirects=True)
    assert "An agency official cannot be given a staff role" in text(response)
    assert reload(User, official.id).role is Role.AGENCY_OFFICIAL


def test_staff_never_become_officials(as_admin):
    reviewer = make_user("legal_reviewer")
    response = as_admin.post(f"/admin/users/{reviewer.id}/role",
                             data={"role": "agency_official"})
    assert "Not a valid choice." in text(response)
    with pytest.raises(ValidationFailed):
        users.change_role(Actor(None, Role.ADMIN), reviewer.id, "agency_official")
    assert reload(User, reviewer.id).role is Role.LEGAL_REVIEWER


def test_an_admin_cannot_change_their_own_role(as_admin, admin_user):
    make_user("admin")
    response = as_admin.post(f"/admin/users/{admin_user.id}/role",
                             data={"role": "legal_reviewer"}, follow_redirects=True)
    assert "You cannot do this to your own account" in text(response)
    assert reload(User, admin_user.id).role is Role.ADMIN


def test_the_liaison_lead_flag(as_admin):
    liaison = make_user("platform_liaison")
    reviewer = make_user("legal_reviewer")
    as_admin.post(f"/admin/users/{liaison.id}/liaison-lead", data={"liaison_lead": "y"})
    assert reload(User, liaison.id).liaison_lead is True
    as_admin.post(f"/admin/users/{liaison.id}/liaison-lead", data={})
    assert reload(User, liaison.id).liaison_lead is False
    refused = as_admin.post(f"/admin/users/{reviewer.id}/liaison-lead",
                            data={"liaison_lead": "y"}, follow_redirects=True)
    assert "Only platform liaisons can be liaison leads." in text(refused)
    assert reload(User, reviewer.id).liaison_lead is False


def test_deactivating_and_reactivating_an_account(as_admin):
    reviewer = make_user("legal_reviewer")
    response = as_admin.post(f"/admin/users/{reviewer.id}/active", data={"active": "0"},
                             follow_redirects=True)
    assert "can no longer sign in" in text(response)
    assert "Deactivated: cannot sign in" in text(response)
    assert reload(User, reviewer.id).is_active is False  # Flask-Login refuses it
    as_admin.post(f"/admin/users/{reviewer.id}/active", data={"active": "1"})
    assert reload(User, reviewer.id).is_active is True


def test_an_admin_cannot_deactivate_themself(as_admin, admin_user):
    make_user("admin")
    assert "You cannot deactivate your own account." in text(
        as_admin.get(f"/admin/users/{admin_user.id}"))
    response = as_admin.post(f"/admin/users/{admin_user.id}/active", data={"active": "0"},
                             follow_redirects=True)
    assert "You cannot do this to your own account" in text(response)
    assert reload(User, admin_user.id).active is True


def test_another_admin_can_be_removed_while_one_remains(as_admin):
    other = make_user("admin")
    as_admin.post(f"/admin/users/{other.id}/active", data={"active": "0"})
    assert reload(User, other.id).active is False


def test_the_last_active_admin_is_never_removed(app):
    # Through the pages the acting administrator is always an active administrator who
    # cannot act on their own account, so the last one is reached only by a race (two
    # administrators removing each other at once: the rows are locked, the second one
    # finds itself the last) or another face; the service refuses it whoever asks.
    only = make_user("admin")
    make_user("admin").active = False
    db.session.commit()
    somebody = Actor(None, Role.ADMIN)
    for attempt in (lambda: users.set_active(somebody, only.id, False),
                    lambda: users.change_role(somebody, only.id, "legal_reviewer")):
        with pytest.raises(ValidationFailed) as refused:
            attempt()
        assert refused.value.errors[0].code == "last_admin"


def test_an_unknown_user_is_not_found(as_admin):
    assert as_admin.get("/admin/users/999").status_code == 404
    assert as_admin.post("/admin/users/999/active", data={"active": "0"}).status_code == 404


# -- SLA policies -----------------------------------------------------------------------

def test_policies_are_listed_in_match_order_with_their_sources(as_admin, policies):
    page = text(as_admin.get("/admin/policies"))
    names = [p.name for p in sla_policies.list_policies()]
    positions = [page.index(name) for name in names]
    assert positions == sorted(positions)
    assert "Regulation (EU) 2021/784 (TCO) Art. 3(3), 3(7)-(8)" in page
    assert 'href="https://eur-lex.europa.eu/eli/reg/2021/784/oj"' in page
    assert "restarts after a clarification" in page
    assert "5 business days" in page and "1 business day" in page and "15 min" in page
    assert "36 h" in page and "Alerts at 50%, 75%, 90%, 100% of the time allowed" in page
    assert "only the clocks started after you save" in page


def test_without_policies_the_page_says_how_to_get_them(as_admin, no_policies):
    assert "flask sla load-defaults" in text(as_admin.get("/admin/policies"))


def policy_form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Turkey decision under Law 5651", "source": "Law No. 5651 Art. 8/A",
        "source_url": "https://www.mevzuat.gov.tr/", "jurisdictions": "TR",
        "acknowledge-kind": "", "resolve-kind": "elapsed", "resolve-hours": "4",
        "resolve-minutes": "0", "resolve-resume": "extend", "dispute-kind": "",
        "thresholds": "0.5, 0.75, 0.9, 1.0", "position": "5", "active": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def tr_policy() -> SlaPolicy:
    return db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.code == "tr-5651-art8"))


def test_the_policy_page_shows_the_source_and_the_rules(as_admin, policies):
    row = tr_policy()
    page = text(as_admin.get(f"/admin/policies/{row.id}"))
    assert "source-callout" in page and "Law No. 5651 Arts. 8, 8/A" in page
    assert 'value="TR"' in page and 'id="resolve-hours"' in page
    assert 'name="resolve-hours" type="number" value="4"' in page or 'value="4"' in page
    assert "only the clocks started afterwards" in page


def test_editing_a_policy_applies_to_clocks_started_afterwards(as_admin, policies):
    world = World()
    before = world.file()
    before_due = db.session.scalar(sa.select(SlaClock.due_at).where(
        SlaClock.request_id == before.id, SlaClock.target == "resolve"))
    row = tr_policy()
    form = text(as_admin.get(f"/admin/policies/{row.id}"))
    seen = re.search(r'name="updated_at" type="hidden" value="([^"]+)"', form).group(1)
    response = as_admin.post(f"/admin/policies/{row.id}", data=policy_form(
        **{"resolve-hours": "2", "resolve-minutes": "30", "thresholds": "0.8, 1",
           "jurisdictions": "tr, EU", "categories": "disinformation",
           "updated_at": seen}), follow_redirects=True)
    assert "the change applies to clocks started from now on" in text(response)
    row = reload(SlaPolicy, row.id)
    assert row.targets == {"resolve": {"kind": "elapsed", "seconds": 9000, "cutoff": None,
                                       "resume": "extend", "force_majeure": False}}
    assert row.thresholds == [0.8, 1.0] and row.jurisdictions == ["EU", "TR"]
    assert row.categories == ["disinformation"] and row.position == 5
    assert db.session.scalar(sa.select(SlaClock.due_at).where(
        SlaClock.request_id == before.id, SlaClock.target == "resolve")) == before_due


def test_a_business_and_an_end_of_day_rule(as_admin, policies):
    row = tr_policy()
    response = as_admin.post(f"/admin/policies/{row.id}", data=policy_form(**{
        "acknowledge-kind": "business", "acknowledge-days": "1.5",
        "resolve-kind": "end_of_day", "resolve-cutoff": "15:00",
        "resolve-resume": "restart"}))
    assert response.status_code == 302
    row = reload(SlaPolicy, row.id)
    assert row.targets["acknowledge"] == {"kind": "business", "seconds": 12 * 3600,
                                          "cutoff": None, "resume": "extend",
                                          "force_majeure": False}
    assert row.targets["resolve"] == {"kind": "end_of_day", "seconds": 0, "cutoff": "15:00",
                                      "resume": "restart", "force_majeure": False}
    page = text(as_admin.get(f"/admin/policies/{row.id}"))
    assert 'value="1.50"' in page and 'value="15:00"' in page


@pytest.mark.parametrize(("fields", "errors"), [
    ({"jurisdictions": "TR, TUR, E1"},
     ["TUR is neither a two-letter country code nor a known group (EU).",
      "E1 is neither a two-letter country code nor a known group (EU)."]),
    ({"jurisdictions": "Türkiye"}, ["Türkiye is neither"]),
    ({"thresholds": "0.5, 0.4, 1.0"}, ["The thresholds must increase from left to right."]),
    ({"thresholds": "0.5, 0.9"}, ["The last threshold must be 1.0: the breach itself."]),
    ({"thresholds": "0, 1.0"}, ["0.0 is not between 0 (excluded) and 1 (included)."]),
    ({"thresholds": "0.5, 1.5"}, ["1.5 is not between 0 (excluded) and 1 (included).",
                                  "The last threshold must be 1.0"]),
    ({"thresholds": "half, 1.0"}, ["half is not a number"]),
    ({"resolve-kind": "end_of_day"}, ["An end-of-day deadline needs a cut-off time."]),
    ({"resolve-hours": "0", "resolve-minutes": "0"},
     ["Enter a duration of more than zero (hours and minutes)."]),
    ({"resolve-kind": "business", "resolve-days": "0"},
     ["Enter a number of business days greater than zero."]),
    ({"resolve-kind": ""}, ["Set at least one deadline"]),
    ({"resolve-kind": "weekly"}, ["Not a valid choice."]),
    ({"source": ""}, ["This field is required."]),
    ({"source_url": "ftp://files.example/law.pdf"},
     ["Enter an address that starts with http:// or https://."]),
    ({"source_url": "javascript:alert(1)"},
     ["Enter an address that starts with http:// or https://."]),
    ({"categories": "terrorism", "exclude_categories": "terrorism"},
     ["Included and excluded at once: terrorism."]),
    ({"position": "-1"}, ["Number must be between 0 and 10000."]),
])
def test_bad_policy_rules_are_refused_with_a_clear_error(as_admin, policies, fields, errors):
    row = tr_policy()
    before = (row.targets, row.thresholds, row.jurisdictions, row.source)
    response = as_admin.post(f"/admin/policies/{row.id}", data=policy_form(**fields))
    assert response.status_code == 200
    page = text(response)
    assert "Please correct the following" in page
    for error in errors:
        assert error in page, error
    row = reload(SlaPolicy, row.id)
    assert (row.targets, row.thresholds, row.jurisdictions, row.source) == before


def test_every_policy_problem_is_shown_at_once(as_admin, policies):
    row = tr_policy()
    response = as_admin.post(f"/admin/policies/{row.id}", data=policy_form(**{
        "name": "", "thresholds": "x, 1.0", "jurisdictions": "TUR",
        "resolve-kind": "end_of_day"}))
    page = text(response)
    for error in ("This field is required.", "x is not a number",
                  "TUR is neither a two-letter country code",
                  "An end-of-day deadline needs a cut-off time."):
        assert error in page, error


def test_a_policy_saved_by_someone_else_meanwhile_is_not_overwritten(as_admin, policies):
    row = tr_policy()
    stale = (row.updated_at - timedelta(minutes=5)).isoformat()
    response = as_admin.post(f"/admin/policies/{row.id}",
                             data=policy_form(name="Mine", updated_at=stale),
                             follow_redirects=True)
    assert "Someone else saved this policy" in text(response)
    assert reload(SlaPolicy, row.id).name != "Mine"


def test_creating_a_policy(as_admin, policies):
    assert "Code" in text(as_admin.get("/admin/policies/new"))
    data = policy_form(code="tr-crisis", name="Turkey crisis period",
                       **{"priorities": "emergency"})
    response = as_admin.post("/admin/policies/new", data=data)
    assert response.status_code == 302
    row = db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.code == "tr-crisis"))
    assert row.priorities == ["emergency"] and row.active is True
    assert clocks.to_policy(row).matches("TR", "fraud", "emergency")
    again = as_admin.post("/admin/policies/new", data=data)
    assert "This is already in use." in text(again)
    bad = as_admin.post("/admin/policies/new", data=policy_form(code="Not a code!"))
    assert "Use lower-case letters, digits and hyphens" in text(bad)


def test_an_unknown_policy_is_not_found(as_admin):
    assert as_admin.get("/admin/policies/999").status_code == 404


# -- holidays ---------------------------------------------------------------------------

def test_the_holidays_page_compares_predicted_holidays_and_overrides(as_admin):
    predicted = holiday_overrides.compare_holidays("SA", 2026).days
    eid = next(d.day for d in predicted if d.predicted and "Eid al-Fitr" in d.predicted)
    actor = Actor(None, Role.ADMIN)
    holiday_overrides.add_override(actor, country="SA", day=eid, holiday=False,
                                   name="Moon sighted a day late")
    holiday_overrides.add_override(actor, country="SA", day=date(2026, 3, 25), holiday=True,
                                   name="Eid al-Fitr (announced)")
    page = text(as_admin.get("/admin/holidays", query_string={"country": "sa",
                                                               "year": 2026}))
    assert "Time zone: Asia/Riyadh. Weekend: Friday, Saturday." in page
    assert "Founding Day" in page
    assert "Predicted, cancelled by an override: a working day" in page
    assert "Added by an override" in page and "Moon sighted a day late" in page
    assert "Wednesday, March 25, 2026" in page


def test_the_predicted_holidays_follow_the_readers_language(app):
    english = holiday_overrides.compare_holidays("ID", 2026, locale="en").days
    indonesian = holiday_overrides.compare_holidays("ID", 2026, locale="id").days
    assert [d.day for d in english] == [d.day for d in indonesian]
    assert english[0].predicted != indonesian[0].predicted


def test_a_country_the_package_does_not_know(as_admin):
    page = text(as_admin.get("/admin/holidays", query_string={"country": "QZ"}))
    assert "has no public holidays for this country" in page


def test_adding_and_deleting_an_override(as_admin):
    response = as_admin.post("/admin/holidays/add", data={
        "country": "sa", "subdivision": "", "day": "2026-03-25", "holiday": "yes",
        "name": "Eid al-Fitr (announced)"})
    assert response.status_code == 302
    assert "country=SA" in response.headers["Location"]
    row = db.session.scalar(sa.select(HolidayOverride))
    assert (row.country, row.subdivision, row.day, row.holiday) == (
        "SA", None, date(2026, 3, 25), True)
    listing = text(as_admin.get("/admin/holidays", query_string={"country": "SA"}))
    assert "Eid al-Fitr (announced)" in listing
    calendar = clocks.calendar_for("SA", datetime(2026, 3, 25, tzinfo=UTC))
    assert not calendar.is_working_day(date(2026, 3, 25))
    deleted = as_admin.post(f"/admin/holidays/{row.id}/delete", follow_redirects=True)
    assert "is deleted" in text(deleted)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HolidayOverride)) == 0
    assert as_admin.post(f"/admin/holidays/{row.id}/delete").status_code == 404


def test_an_override_for_a_subdivision(as_admin):
    response = as_admin.post("/admin/holidays/add", data={
        "country": "DE", "subdivision": "by", "day": "2026-08-15", "holiday": "no",
        "name": ""})
    assert response.status_code == 302
    row = db.session.scalar(sa.select(HolidayOverride))
    assert row.subdivision == "BY" and row.holiday is False


@pytest.mark.parametrize(("fields", "error"), [
    ({"country": "SAU"}, "Field cannot be longer than 2 characters."),
    ({"country": "1A"}, "This value is not valid."),
    ({"country": ""}, "This field is required."),
    ({"subdivision": "XX"}, "XX is not a subdivision of this country."),
    ({"day": ""}, "This field is required."),
    ({"day": "25.03.2026"}, "Not a valid date value."),
])
def test_bad_overrides_are_refused(as_admin, fields, error):
    data = {"country": "DE", "subdivision": "", "day": "2026-03-25", "holiday": "yes",
            "name": ""}
    data.update(fields)
    response = as_admin.post("/admin/holidays/add", data=data)
    assert response.status_code == 200
    assert error in text(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HolidayOverride)) == 0


def test_one_override_per_day_and_place(as_admin):
    data = {"country": "SA", "subdivision": "", "day": "2026-03-25", "holiday": "yes",
            "name": ""}
    as_admin.post("/admin/holidays/add", data=data)
    again = as_admin.post("/admin/holidays/add", data=dict(data, holiday="no"))
    assert "There is already an override for this day and place" in text(again)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(HolidayOverride)) == 1


def test_no_overrides_yet(as_admin):
    page = text(as_admin.get("/admin/holidays"))
    assert "No override yet" in page and "Choose a country" in page


# -- query counts -----------------------------------------------------------------------

def _agencies(n: int) -> str:
    now = utcnow()
    for i in range(n):
        status = VerificationStatus.PENDING if i % 2 else VerificationStatus.VERIFIED
        db.session.add(Agency(name=f"Bulk agency {i}", country="TR", status=status,
                              official_domain=f"bulk{i}.gov.example", created_at=now))
    db.session.flush()
    for agency in db.session.scalars(sa.select(Agency)):
        db.session.add(User(email=f"o@{agency.official_domain}", role=Role.AGENCY_OFFICIAL,
                            agency_id=agency.id))
    db.session.commit()
    return "/admin/agencies?per_page=100"


def _users(n: int) -> str:
    # Officials of as many agencies as there are officials: an agency loaded per row
    # would show.
    for i in range(n):
        if i % 2:
            agency = Agency(name=f"Agency {i}", country="TR", official_domain=f"a{i}.gov.tr")
            db.session.add(agency)
            db.session.flush()
            db.session.add(User(email=f"u{i}@a{i}.gov.tr", role=Role.AGENCY_OFFICIAL,
                                agency_id=agency.id))
        else:
            db.session.add(User(email=f"u{i}@platform.example", role=Role.LEGAL_REVIEWER))
    db.session.commit()
    return "/admin/users?per_page=100"


def _officials(n: int) -> str:
    agency = make_agency("TR")
    for i in range(n):
        db.session.add(User(email=f"u{i}@{agency.official_domain}",
                            role=Role.AGENCY_OFFICIAL, agency_id=agency.id))
    db.session.commit()
    return f"/admin/agencies/{agency.id}"


def _overrides(n: int) -> str:
    for i in range(n):
        db.session.add(HolidayOverride(country="TR", day=date(2026, 1, 1) + timedelta(days=i),
                                       holiday=bool(i % 2), name=f"Override {i}"))
    db.session.commit()
    return "/admin/holidays?country=TR&year=2026&per_page=100"


def _policies(n: int) -> str:
    rule = {"kind": "elapsed", "seconds": 3600, "cutoff": None, "resume": "extend"}
    for i in range(n):
        db.session.add(SlaPolicy(code=f"bulk-{i}", name=f"Bulk policy {i}", source="Test",
                                 targets={"resolve": rule}, thresholds=[1.0], position=i,
                                 jurisdictions=["TR"], categories=["fraud"],
                                 priorities=["urgent"]))
    db.session.commit()
    return "/admin/policies"


@pytest.mark.parametrize("make_rows", [_agencies, _users, _officials, _overrides, _policies],
                         ids=["agencies", "users", "agency officials", "holidays", "policies"])
def test_list_pages_cost_the_same_queries_for_5_or_50_rows(app, make_rows):
    import tests.conftest as conftest

    counts = []
    for n in (5, 50):
        admin_user = make_user("admin")
        url = make_rows(n)
        client = app.test_client()
        sign_in(client, admin_user)
        with count_statements() as statements:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(statements))
        db.session.remove()
        conftest.empty_tables()
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8, counts
