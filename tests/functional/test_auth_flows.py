"""Password reset by a mailed link, the account page, and the start page per role.

Mails go through the real outbox to a real SMTP server on loopback: the ``mailbox``
fixture reads the ``Notification`` rows and the mails the server received.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.mail import Mail
from portal.models import DeliveryStatus, Notification, User, VerificationStatus
from portal.services import outbox, passwords
from portal.services.passwords import LinkPurpose
from tests.conftest import login
from tests.factories import NOW, PASSWORD, make_agency, make_user
from tests.smtp import Inbox, free_port, smtp_server

NEW_PASSWORD = "a brand new passphrase"


class Mailbox:
    """Every mail the outbox holds, and every mail a real SMTP server received from it."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def notes(self, template: str | None = None) -> list[Notification]:
        query = sa.select(Notification).order_by(Notification.id)
        if template is not None:
            query = query.where(Notification.template == template)
        return list(db.session.scalars(query))

    def mails(self, template: str | None = None) -> list[Mail]:
        """The mails of ``template`` as the SMTP server received them."""
        return self.inbox.sent({note.id for note in self.notes(template)})

    def link(self, template: str, path: str) -> str:
        """The path of the link in the newest mail of ``template``."""
        body = self.mails(template)[-1].body
        found = re.search(r"http://localhost(/" + path + r"/[A-Za-z0-9_.\-]+)", body)
        assert found, body
        return found.group(1)


@pytest.fixture
def mailbox(app) -> Iterator[Mailbox]:
    with smtp_server(app.config) as inbox:  # delivered for real, to a local SMTP server
        yield Mailbox(inbox)


# Password reset --------------------------------------------------------------------


def test_forgot_password_page(client):
    page = client.get("/forgot-password")
    assert page.status_code == 200
    assert 'autocomplete="email"' in page.get_data(as_text=True)
    assert "/forgot-password" in client.get("/login").get_data(as_text=True)


def test_password_reset_end_to_end(client, mailbox):
    user = make_user("legal_reviewer")
    response = client.post("/forgot-password", data={"email": user.email.upper()})
    assert response.status_code == 302 and response.headers["Location"] == "/login"

    [note] = mailbox.notes("password_reset")
    assert note.status is DeliveryStatus.SENT and note.recipient == user.email
    [mail] = mailbox.mails("password_reset")
    assert mail.subject == "Choose a new password for the liaison portal"
    assert "60 minutes" in mail.body
    path = mailbox.link("password_reset", "reset-password")

    form = client.get(path)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert user.email in form.get_data(as_text=True)
    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"

    assert login(client, user.email).status_code == 200  # the old password is gone
    assert login(client, user.email, NEW_PASSWORD).status_code == 302


def test_the_outbox_forgets_a_reset_link_once_it_is_sent(app, client, mailbox):
    """The link stays only while the mail waits to go out: someone who reads the
    notifications table (a backup, a reporting replica) finds no working link."""
    user = make_user("legal_reviewer")
    working_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # the mail server is down for a while
    client.post("/forgot-password", data={"email": user.email})
    [note] = mailbox.notes("password_reset")
    assert note.status is DeliveryStatus.PENDING and "/reset-password/" in note.params["link"]
    app.config["MAIL_PORT"] = working_port
    assert outbox.deliver_due(note.next_attempt_at + timedelta(minutes=1)).sent == 1
    db.session.expire_all()
    [note] = mailbox.notes("password_reset")
    assert note.status is DeliveryStatus.SENT and note.sent_at is not None
    assert "link" not in note.params and note.params["name"] == user.name
    assert "/reset-password/" in mailbox.mails("password_reset")[0].body


def test_the_outbox_forgets_the_link_of_a_mail_it_gave_up_on(app, client, mailbox):
    user = make_user("legal_reviewer")
    app.config.update(MAIL_PORT=free_port(), MAIL_MAX_ATTEMPTS=1)
    client.post("/forgot-password", data={"email": user.email})
    db.session.expire_all()
    [note] = mailbox.notes("password_reset")
    assert note.status is DeliveryStatus.FAILED and "link" not in note.params


def test_forgot_password_answers_the_same_for_unknown_addresses(client, mailbox):
    user = make_user("legal_reviewer")
    known = client.post("/forgot-password", data={"email": user.email},
                        follow_redirects=True).get_data(as_text=True)
    unknown = client.post("/forgot-password", data={"email": "nobody@platform.example"},
                          follow_redirects=True).get_data(as_text=True)
    assert "If an account uses that address" in known
    # The pages differ at most in the CSRF token of the footer's language form, which is
    # signed with the time (a second may pass while the first mail is sent).
    token = re.compile(r'name="csrf_token" value="[^"]*"')
    assert token.sub("", known) == token.sub("", unknown)
    assert [n.recipient for n in mailbox.notes()] == [user.email]


def test_deactivated_accounts_get_no_reset_mail(client, mailbox):
    user = make_user("legal_reviewer")
    user.active = False
    db.session.commit()
    client.post("/forgot-password", data={"email": user.email})
    assert mailbox.notes() == []


def test_at_most_one_reset_mail_a_minute(app, mailbox):
    user = make_user("legal_reviewer")
    with app.test_request_context():
        first = passwords.request_reset(user.email, link=str, now=NOW)
        again = passwords.request_reset(user.email, link=str, now=NOW + timedelta(seconds=20))
        later = passwords.request_reset(user.email, link=str, now=NOW + timedelta(minutes=2))
    assert len(first) == 1 and again == [] and len(later) == 1


def test_reset_mail_is_in_the_recipients_language(client, mailbox):
    user = make_user("legal_reviewer")
    user.locale = "tr"
    db.session.commit()
    client.post("/forgot-password", data={"email": user.email})
    assert [n.locale for n in mailbox.notes("password_reset")] == ["tr"]


def test_a_used_reset_link_is_dead(client, mailbox):
    user = make_user("legal_reviewer")
    client.post("/forgot-password", data={"email": user.email})
    path = mailbox.link("password_reset", "reset-password")
    client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    again = client.get(path)
    assert again.status_code == 400
    assert "has been used already" in again.get_data(as_text=True)
    replay = client.post(path, data={"password": "yet another passphrase",
                                     "confirm": "yet another passphrase"})
    assert replay.status_code == 400
    assert login(client, user.email, NEW_PASSWORD).status_code == 302


def test_an_expired_reset_link_is_dead(app, client, mailbox):
    user = make_user("legal_reviewer")
    client.post("/forgot-password", data={"email": user.email})
    path = mailbox.link("password_reset", "reset-password")
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    page = client.get(path)
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "This link has expired." in text and "/forgot-password" in text
    post = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert post.status_code == 400
    assert login(client, user.email, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # forged
    lambda token: "not-a-token",
])
def test_forged_reset_links_are_refused(app, client, mangle):
    user = make_user("legal_reviewer")
    token = passwords.make_token(user, LinkPurpose.RESET)
    page = client.get(f"/reset-password/{mangle(token)}")
    assert page.status_code == 400 and "This link is not valid" in page.get_data(as_text=True)


def test_a_link_for_another_purpose_is_refused(client):
    user = make_user("legal_reviewer")
    invitation = passwords.make_token(user, LinkPurpose.INVITE)
    assert client.get(f"/reset-password/{invitation}").status_code == 400


@pytest.mark.parametrize(("password", "confirm", "message"), [
    ("short", "short", "Use 12 to 1024 characters."),
    (NEW_PASSWORD, NEW_PASSWORD + "!", "The two passwords are not the same."),
])
def test_reset_refuses_bad_new_passwords(client, password, confirm, message):
    user = make_user("legal_reviewer")
    token = passwords.make_token(user, LinkPurpose.RESET)
    page = client.post(f"/reset-password/{token}", data={"password": password,
                                                         "confirm": confirm})
    assert page.status_code == 200 and message in page.get_data(as_text=True)
    assert login(client, user.email).status_code == 302  # unchanged


# The account page -----------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_account_page_shows_the_settings(client):
    user = make_user("legal_reviewer")
    login(client, user.email)
    page = client.get("/account").get_data(as_text=True)
    assert user.email in page and "Legal reviewer" in page
    assert 'value="UTC"' in page and 'list="time-zones"' in page
    assert '<option value="Asia/Jakarta">' in page


def test_account_settings_are_saved_and_used(client):
    user = make_user("legal_reviewer")
    login(client, user.email)
    response = client.post("/account", data={
        "profile-name": "Maya Chen", "profile-locale": "tr",
        "profile-timezone": "Europe/Istanbul", "profile-submit": "1"})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert (saved.name, saved.locale, saved.timezone) == ("Maya Chen", "tr", "Europe/Istanbul")
    assert 'lang="tr"' in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize(("fields", "message"), [
    ({"profile-timezone": "Mars/Olympus_Mons"}, "Choose a time zone from the list"),
    ({"profile-timezone": ""}, "This field is required."),
    ({"profile-name": "   "}, "This field is required."),
    ({"profile-locale": "xx"}, "Not a valid choice"),
])
def test_account_settings_refuse_bad_values(client, fields, message):
    user = make_user("legal_reviewer")
    login(client, user.email)
    data = {"profile-name": "Maya", "profile-locale": "en", "profile-timezone": "UTC",
            "profile-submit": "1", **fields}
    page = client.post("/account", data=data)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert message in text and 'aria-invalid="true"' in text
    db.session.expire_all()
    assert db.session.get(User, user.id).name == user.name


def test_password_change(client):
    user = make_user("legal_reviewer")
    login(client, user.email)
    response = client.post("/account", data={
        "password-current_password": PASSWORD, "password-password": NEW_PASSWORD,
        "password-confirm": NEW_PASSWORD, "password-submit": "1"})
    assert response.status_code == 302
    client.post("/logout")
    assert login(client, user.email, NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(("current", "new", "confirm", "message"), [
    ("wrong password!", NEW_PASSWORD, NEW_PASSWORD, "The current password is not right."),
    (PASSWORD, "short", "short", "Use 12 to 1024 characters."),
    (PASSWORD, NEW_PASSWORD, "something else entirely", "The two passwords are not the same."),
])
def test_password_change_refusals(client, current, new, confirm, message):
    user = make_user("legal_reviewer")
    login(client, user.email)
    page = client.post("/account", data={
        "password-current_password": current, "password-password": new,
        "password-confirm": confirm, "password-submit": "1"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and message in text
    assert f'value="{user.name}"' in text  # the settings form keeps its values
    client.post("/logout")
    assert login(client, user.email).status_code == 302  # the password is unchanged


# Where an agency stands, on the start page and the account page ----------------------


def _official_of(status: VerificationStatus, *, expired: bool = False):
    agency = make_agency(verified=status is not VerificationStatus.PENDING)
    agency.status = status
    if expired:
        agency.verified_until = NOW - timedelta(days=1)
    db.session.commit()
    return make_user("agency_official", agency)


@pytest.mark.parametrize(("status", "expired", "says"), [
    (VerificationStatus.PENDING, False, "has not been verified yet"),
    (VerificationStatus.SUSPENDED, False, "Your agency is suspended"),
    (VerificationStatus.REJECTED, False, "verification was rejected"),
    (VerificationStatus.VERIFIED, True, "verification has expired"),
])
def test_blocked_agencies_are_told_why_they_cannot_file(client, status, expired, says):
    official = _official_of(status, expired=expired)
    assert login(client, official.email).status_code == 302  # they can sign in
    for path in ("/", "/account"):
        text = client.get(path).get_data(as_text=True)
        assert "You cannot file requests at the moment." in text and says in text
    links = client.get("/").get_data(as_text=True).partition('class="start-links"')[2]
    assert 'href="/account"' in links
    assert 'href="/invite"' not in links and 'href="/requests/new"' not in links


def test_verified_agencies_see_no_block(client):
    official = _official_of(VerificationStatus.VERIFIED)
    login(client, official.email)
    text = client.get("/").get_data(as_text=True)
    assert "Verified: your agency can file requests." in text
    assert "You cannot file" not in text
    assert 'href="/invite"' in text and 'href="/account"' in text


def test_start_page_for_visitors_and_staff(client):
    visitor = client.get("/").get_data(as_text=True)
    assert 'href="/login"' in visitor and 'href="/register"' in visitor
    reviewer = make_user("legal_reviewer")
    login(client, reviewer.email)
    text = client.get("/").get_data(as_text=True)
    assert f"Welcome, <bdi>{reviewer.name}</bdi>" in text and 'href="/account"' in text
    assert 'href="/register"' not in text and 'href="/invite"' not in text
