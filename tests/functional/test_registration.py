"""Agency self-registration with its confirmation link, and invitations of colleagues.

Mails go through the real outbox to a real SMTP server (see ``Mailbox`` in
test_auth_flows).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import refresh
from sqlalchemy import event

from portal.extensions import db
from portal.models import Agency, DeliveryStatus, User, VerificationStatus
from portal.services import accounts, registration
from portal.services.actors import Actor
from portal.services.errors import ValidationFailed
from tests.conftest import login
from tests.factories import NOW, make_agency, make_user
from tests.functional.test_auth_flows import NEW_PASSWORD, Mailbox
from tests.smtp import smtp_server

DOMAIN = "siber.gov.example"


@pytest.fixture
def mailbox(app) -> Iterator[Mailbox]:
    with smtp_server(app.config) as inbox:
        yield Mailbox(inbox)


def form(**fields: str) -> dict[str, str]:
    data = {"agency_name": "Cyber Crimes Directorate", "country": "TR", "domain": DOMAIN,
            "official_name": "Ayşe Demir", "official_email": f"ayse@{DOMAIN}"}
    data.update(fields)
    return data


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


# Registration ---------------------------------------------------------------------


def test_register_page(client):
    page = client.get("/register")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<option value="DE">Germany</option>' in text
    assert 'value="EU"' not in text and 'value="001"' not in text
    refresh()  # the test's app context outlives requests: forget its cached locale
    turkish = client.get("/register", headers={"Accept-Language": "tr"})
    assert '<option value="DE">Almanya</option>' in turkish.get_data(as_text=True)


def test_registration_end_to_end(client, mailbox):
    admin = make_user("admin")
    idle_admin = make_user("admin")
    idle_admin.active = False
    db.session.commit()
    make_user("legal_reviewer")

    response = client.post("/register", data=form(domain=" https://www.Siber.gov.example/ "),
                           headers={"Accept-Language": "tr"})
    assert response.status_code == 302 and response.headers["Location"] == "/register/done"
    done = client.get("/register/done").get_data(as_text=True)
    assert "awaits verification by an administrator" in done

    agency = db.session.scalar(sa.select(Agency))
    assert (agency.official_domain, agency.country, agency.status) == (
        DOMAIN, "TR", VerificationStatus.PENDING)
    official = db.session.scalar(sa.select(User).where(User.agency_id == agency.id))
    assert official.email == f"ayse@{DOMAIN}" and official.password_hash is None
    assert (official.locale, official.timezone) == ("tr", "Europe/Istanbul")

    notes = mailbox.notes()
    assert {(n.template, n.recipient) for n in notes} == {
        ("confirm_registration", official.email),
        ("agency_awaiting_verification", admin.email),
    }
    assert all(n.status is DeliveryStatus.SENT for n in notes)
    # Sent: the outbox forgets the one-time link (the administrators' page link stays).
    assert {n.template: "link" in n.params for n in notes} == {
        "confirm_registration": False, "agency_awaiting_verification": True}
    [alert] = mailbox.mails("agency_awaiting_verification")
    assert "Cyber Crimes Directorate" in alert.subject and DOMAIN in alert.body

    path = mailbox.link("confirm_registration", "confirm")
    page = client.get(path)
    assert page.status_code == 200 and official.email in page.get_data(as_text=True)
    signed_in = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                            follow_redirects=True)
    text = signed_in.get_data(as_text=True)
    # She registered in Turkish: the portal speaks Turkish to her from then on.
    from flask_babel import force_locale, gettext

    from portal.auth.views import FILING_BLOCKS

    with force_locale("tr"):
        welcome = gettext("Welcome, %(name)s", name="<bdi>Ayşe Demir</bdi>")
        blocked = str(FILING_BLOCKS["the agency has not been verified yet"])
    assert 'lang="tr"' in text and welcome in text and blocked.split(".")[0] in text
    assert client.get(path).status_code == 400  # the link worked once
    client.post("/logout")
    assert login(client, official.email, NEW_PASSWORD).status_code == 302


def test_an_address_on_a_subdomain_is_accepted(client, mailbox):
    response = client.post("/register", data=form(official_email=f"ayse@ankara.{DOMAIN}"))
    assert response.status_code == 302
    assert count(User) == 1


def test_an_expired_confirmation_link_is_dead(app, client, mailbox):
    client.post("/register", data=form())
    path = mailbox.link("confirm_registration", "confirm")
    app.config["REGISTRATION_LINK_MAX_AGE"] = -1
    page = client.get(path)
    assert page.status_code == 400 and "This link has expired." in page.get_data(as_text=True)
    # The way out the page offers: a reset link, which works for the password-less official.
    app.config["REGISTRATION_LINK_MAX_AGE"] = 3600
    client.post("/forgot-password", data={"email": f"ayse@{DOMAIN}"})
    reset = mailbox.link("password_reset", "reset-password")
    assert client.get(reset).status_code == 200


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"official_email": "ayse@gmail.example"}, "official_email",
     f"The address must be on {DOMAIN} or one of its subdomains."),
    ({"official_email": f"ayse@evil{DOMAIN}"}, "official_email",
     f"The address must be on {DOMAIN} or one of its subdomains."),
    ({"official_email": "not an address"}, "official_email", "Enter a valid e-mail address"),
    ({"domain": "not a domain"}, "domain", "domain name only"),
    ({"country": "XX"}, "country", "Not a valid choice"),
    ({"agency_name": ""}, "agency_name", "This field is required."),
])
def test_registration_refuses_bad_input(client, mailbox, fields, field, message):
    page = client.post("/register", data=form(**fields))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert message in text
    assert f'id="{field}-error"' in text  # the message sits next to its field
    assert count(Agency) == 0 and count(User) == 0 and mailbox.notes() == []


def test_duplicate_domain(client, mailbox):
    make_agency(domain=DOMAIN)
    page = client.post("/register", data=form())
    assert "An agency with this domain is already registered." in page.get_data(as_text=True)
    assert count(Agency) == 1 and count(User) == 0 and mailbox.notes() == []


@pytest.mark.parametrize("registered", ["gov.example", f"ankara.{DOMAIN}"])
def test_overlapping_domains_are_refused(client, mailbox, registered):
    make_agency(domain=registered)
    page = client.post("/register", data=form())
    assert "related domain" in page.get_data(as_text=True)
    assert count(Agency) == 1


@pytest.mark.parametrize(("domain", "says"), [
    ("gov.uk", "shared by many organisations"), ("co.uk", "shared by many organisations"),
    ("com", "domain name only"), ("github.io", "shared by many organisations"),
    ("com.tr", "shared by many organisations"),
    ("gov.tr", "shared by many organisations"),
    ("gmail.com", "public e-mail service"), ("mail.gmail.com", "public e-mail service"),
    ("outlook.com", "public e-mail service"), ("proton.me", "public e-mail service"),
    ("yahoo.co.id", "public e-mail service"),
])
def test_a_public_suffix_or_a_mail_service_is_no_agencys_domain(client, mailbox, domain,
                                                                 says):
    """Anyone could register gov.uk (or gmail.com) as their agency's domain, and with it
    block every agency under it (the overlap check) or join with any free address."""
    page = client.post("/register", data=form(domain=domain,
                                              official_email=f"ayse@{domain}"))
    assert page.status_code == 200 and says in page.get_data(as_text=True)
    assert count(Agency) == 0 and count(User) == 0 and mailbox.notes() == []
    with pytest.raises(ValidationFailed) as refused:
        accounts.create_agency("Anyone", country="GB", domain=domain)
    assert [e.field for e in refused.value.errors] == ["domain"]
    # The agencies under a public suffix still register.
    if domain == "gov.uk":
        done = client.post("/register", data=form(
            country="GB", domain="homeoffice.gov.uk", official_email="ayse@homeoffice.gov.uk"))
        assert done.status_code == 302 and count(Agency) == 1


def test_registering_with_an_address_that_has_an_account_never_says_so(client, mailbox):
    """The form answered "This address already has an account": anyone could learn which
    addresses have accounts. Now the answer is the same as for a new address, nothing is
    registered, and the owner is told by mail."""
    accounts.create_user(f"ayse@{DOMAIN}", role="legal_reviewer", name="Ayşe")
    taken = client.post("/register", data=form())
    new = client.post("/register", data=form(domain="other.gov.example",
                                              official_email="ayse@other.gov.example"))
    assert taken.status_code == new.status_code == 302
    assert taken.headers["Location"] == new.headers["Location"] == "/register/done"
    assert count(Agency) == 1 and count(User) == 2  # only the new address registered
    [mail] = mailbox.mails("registration_attempt")
    assert mail.to == f"ayse@{DOMAIN}"
    assert "already has an account, so nothing was registered" in mail.body
    assert "http://localhost/forgot-password" in mail.body
    # The other problems of a form are still reported, never the taken address.
    page = client.post("/register", data=form(agency_name=""))
    assert page.status_code == 200 and "already has an account" not in page.get_data(
        as_text=True)


def test_registration_is_one_transaction(client, mailbox, monkeypatch):
    make_user("admin")

    def broken_mail(*args, **kwargs):
        raise RuntimeError("the outbox is broken")

    monkeypatch.setattr(registration.notify, "enqueue_mail", broken_mail)
    with pytest.raises(RuntimeError):
        client.post("/register", data=form())
    assert count(Agency) == 0 and count(User) == 1  # only the admin


def test_country_check_in_the_service(app):
    data = registration.AgencyRegistration("Directorate", "ZZ", DOMAIN, "Ayşe",
                                           f"ayse@{DOMAIN}")
    with app.test_request_context(), pytest.raises(ValidationFailed) as refused:
        registration.register_agency(data, confirm_link=str, review_link="http://x/",
                                     account_link="http://x/forgot-password")
    assert [(e.field, e.code) for e in refused.value.errors] == [("country", "choice")]


def test_signed_in_users_are_not_offered_registration(client):
    user = make_user("legal_reviewer")
    login(client, user.email)
    assert client.get("/register").status_code == 302
    assert count(Agency) == 0


# Invitations ----------------------------------------------------------------------


@pytest.fixture
def official():
    return make_user("agency_official", make_agency(domain=DOMAIN))


def test_invitation_end_to_end(client, mailbox, official):
    login(client, official.email)
    page = client.get("/invite")
    assert page.status_code == 200 and DOMAIN in page.get_data(as_text=True)
    response = client.post("/invite", data={"email": f"Mehmet@{DOMAIN}"})
    assert response.status_code == 302 and response.headers["Location"] == "/invite"
    listed = client.get("/invite").get_data(as_text=True)
    assert f"mehmet@{DOMAIN}" in listed and "Invited, has not accepted yet" in listed

    [mail] = mailbox.mails("invitation")
    assert mail.to == f"mehmet@{DOMAIN}" and official.name in mail.subject
    [note] = mailbox.notes("invitation")
    assert "link" not in note.params and note.params["agency"]  # sent: the link forgotten
    path = mailbox.link("invitation", "invitation")
    client.post("/logout")
    form_page = client.get(path)
    assert form_page.status_code == 200
    assert form_page.headers["Referrer-Policy"] == "no-referrer"
    welcome = client.post(path, data={"name": "Mehmet Yılmaz", "password": NEW_PASSWORD,
                                      "confirm": NEW_PASSWORD}, follow_redirects=True)
    assert "Welcome, <bdi>Mehmet Yılmaz</bdi>" in welcome.get_data(as_text=True)
    colleague = db.session.scalar(sa.select(User).where(User.email == f"mehmet@{DOMAIN}"))
    assert colleague.agency_id == official.agency_id and colleague.name == "Mehmet Yılmaz"

    client.post("/logout")
    reused = client.post(path, data={"name": "Someone Else", "password": "another passphrase",
                                     "confirm": "another passphrase"})
    assert reused.status_code == 400
    assert login(client, colleague.email, NEW_PASSWORD).status_code == 302


def test_an_expired_invitation_is_dead(app, client, mailbox, official):
    login(client, official.email)
    client.post("/invite", data={"email": f"mehmet@{DOMAIN}"})
    path = mailbox.link("invitation", "invitation")
    app.config["INVITATION_MAX_AGE"] = -1
    page = client.get(path)
    assert page.status_code == 400 and "This link has expired." in page.get_data(as_text=True)


def test_accepting_needs_a_name(client, mailbox, official):
    login(client, official.email)
    client.post("/invite", data={"email": f"mehmet@{DOMAIN}"})
    path = mailbox.link("invitation", "invitation")
    client.post("/logout")
    page = client.post(path, data={"name": "", "password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD})
    assert page.status_code == 200 and "This field is required." in page.get_data(as_text=True)
    assert client.get(path).status_code == 200  # still usable


@pytest.mark.parametrize(("address", "message"), [
    ("mehmet@gmail.example", f"The address must be on {DOMAIN} or one of its subdomains."),
    (f"mehmet@not{DOMAIN}", f"The address must be on {DOMAIN} or one of its subdomains."),
    ("nonsense", "Enter a valid e-mail address"),
])
def test_off_domain_invitations_are_refused(client, mailbox, official, address, message):
    login(client, official.email)
    page = client.post("/invite", data={"email": address})
    assert page.status_code == 200 and message in page.get_data(as_text=True)
    assert count(User) == 1 and mailbox.notes() == []


def test_inviting_an_existing_account_is_refused(client, mailbox, official):
    login(client, official.email)
    page = client.post("/invite", data={"email": official.email})
    assert "This address already has an account." in page.get_data(as_text=True)
    assert mailbox.notes() == []


def test_inviting_again_sends_a_fresh_link(app, mailbox, official):
    actor = Actor.of(official)
    address = f"mehmet@{DOMAIN}"
    with app.test_request_context():
        first = registration.invite_colleague(actor, address, link=str, now=NOW)
        again = registration.invite_colleague(actor, address, link=str,
                                              now=NOW + timedelta(seconds=10))
        later = registration.invite_colleague(actor, address, link=str,
                                              now=NOW + timedelta(minutes=5))
    assert first.id == again.id == later.id
    assert len(mailbox.notes("invitation")) == 2  # at most one a minute


@pytest.mark.parametrize("role", ["legal_reviewer", "platform_liaison", "admin"])
def test_only_officials_invite(client, mailbox, role):
    staff = make_user(role)
    login(client, staff.email)
    assert client.get("/invite").status_code == 403
    assert client.post("/invite", data={"email": "x@platform.example"}).status_code == 403
    assert mailbox.notes() == []


def test_signed_out_visitors_cannot_invite(client):
    response = client.get("/invite")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("status", [VerificationStatus.PENDING, VerificationStatus.SUSPENDED])
def test_blocked_agencies_cannot_invite(client, mailbox, status):
    agency = make_agency(domain=DOMAIN)
    agency.status = status
    db.session.commit()
    official = make_user("agency_official", agency)
    login(client, official.email)
    page = client.get("/invite").get_data(as_text=True)
    assert "You cannot file requests at the moment." in page and 'name="email"' not in page
    assert client.post("/invite", data={"email": f"mehmet@{DOMAIN}"}).status_code == 403
    assert count(User) == 1 and mailbox.notes() == []


def _statements_for(client, path: str) -> int:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def test_the_colleague_list_takes_the_same_queries_for_5_or_50(client, official):
    agency = official.agency

    def add(n: int, start: int) -> None:
        for i in range(start, start + n):
            accounts.create_user(f"colleague{i}@{DOMAIN}", role="agency_official",
                                 agency_id=agency.id, name=f"Colleague {i:03}")

    login(client, official.email)
    add(4, 0)
    few = _statements_for(client, "/invite")
    add(45, 100)
    many = _statements_for(client, "/invite")
    assert few == many
    page = client.get("/invite").get_data(as_text=True)
    assert "50 officials" in page and "Colleague 144" in page


def test_the_colleague_list_pages(client, official):
    for i in range(55):
        accounts.create_user(f"c{i}@{DOMAIN}", role="agency_official",
                             agency_id=official.agency_id, name=f"Colleague {i:03}")
    login(client, official.email)
    first = client.get("/invite").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Colleague 054" not in first
    second = client.get("/invite?page=2").get_data(as_text=True)
    assert "Colleague 054" in second
    assert client.get("/invite?page=9").status_code == 404
