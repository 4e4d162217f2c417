"""Links in mails come from PORTAL_BASE_URL, never from the Host header a client sends;
production refuses requests for other hosts; behind proxies, the client's address is the
forwarded one, and only as many hops as configured are believed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import create_app
from portal.extensions import db
from portal.models import Event
from portal.services.actors import Actor
from portal.services.filing import file_request
from tests.conftest import dispose, login, sign_in
from tests.factories import filing, make_agency, make_user
from tests.functional.test_auth_flows import Mailbox
from tests.smtp import smtp_server

ATTACKER = "portal-login.attacker.example"
LINK = re.compile(r"(https?://[^/\s]+)(/\S+)")


@pytest.fixture
def mailbox(app):
    with smtp_server(app.config) as inbox:
        yield Mailbox(inbox)


def links_in(mailbox: Mailbox, template: str) -> list[tuple[str, str]]:
    return LINK.findall(mailbox.mails(template)[-1].body)


def test_a_reset_link_asked_for_through_another_host_points_at_the_portal(client, app,
                                                                          mailbox):
    user = make_user("legal_reviewer")
    app.config["BASE_URL"] = "https://portal.example.org"
    response = client.post("/forgot-password", data={"email": user.email},
                           headers={"Host": ATTACKER})
    assert response.status_code == 302
    [(origin, path)] = [link for link in links_in(mailbox, "password_reset")
                        if "/reset-password/" in link[1]]
    assert origin == "https://portal.example.org" and ATTACKER not in path


def test_invitation_and_registration_links_are_built_on_the_base_url(client, app, mailbox):
    app.config["BASE_URL"] = "https://portal.example.org/liaison"
    agency = make_agency("TR")
    official = make_user("agency_official", agency)
    # Signed in through the attacker's host too, so the session cookie goes along.
    assert login(client, official, headers={"Host": ATTACKER}).status_code == 302
    invited = client.post("/invite", data={"email": f"colleague@{agency.official_domain}"},
                          headers={"Host": ATTACKER})
    assert invited.status_code == 302
    [(origin, path)] = links_in(mailbox, "invitation")
    assert origin == "https://portal.example.org" and path.startswith("/liaison/invitation/")


def test_a_setup_link_sent_by_an_administrator_points_at_the_portal(client, app, mailbox):
    app.config["BASE_URL"] = "https://portal.example.org"
    admin = make_user("admin")
    person = make_user("legal_reviewer")
    assert login(client, admin, headers={"Host": ATTACKER}).status_code == 302
    sent = client.post(f"/admin/users/{person.id}/setup-link", data={},
                       headers={"Host": ATTACKER})
    assert sent.status_code == 302
    origins = {origin for origin, _path in links_in(mailbox, "admin_account_created")}
    assert origins == {"https://portal.example.org"}


@pytest.fixture
def production_like(database_url: str, tmp_path) -> Iterator[Flask]:
    """The app as production builds it (trusted hosts from the base URL), on the suite's
    database, with two reverse proxies declared in front of it."""
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": "https://portal.example.org", "ENVIRONMENT": "production",
        "SECRET_KEY": "k" * 40, "RATELIMIT_STORAGE_URI": "memory://",
        "ATTACHMENT_DIR": str(tmp_path), "WTF_CSRF_ENABLED": False, "PROXY_HOPS": 2,
        "TWO_FACTOR_ENFORCED": False,
    })
    yield app
    dispose(app)


def test_production_refuses_a_request_for_another_host(app, production_like):
    client = production_like.test_client()
    assert production_like.config["TRUSTED_HOSTS"] == ["portal.example.org"]
    refused = client.post("/forgot-password", data={"email": "x@y.example"},
                          headers={"Host": ATTACKER})
    assert refused.status_code == 400
    served = client.get("/login", headers={"Host": "portal.example.org"},
                        base_url="https://portal.example.org")
    assert served.status_code == 200


def test_the_forwarded_client_address_is_recorded_only_as_far_as_the_proxies_go(
        app, production_like):
    reviewer = make_user("legal_reviewer")
    official = make_user("agency_official", make_agency("TR"))
    req = file_request(Actor.of(official), filing())
    db.session.commit()
    client = production_like.test_client()
    # Two proxies: the client claims 6.6.6.6, the outer proxy saw 198.51.100.7, the inner
    # one (whose address is the connection's) saw the outer one.
    forwarded = {"Host": "portal.example.org",
                 "X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.0.0.2",
                 "X-Forwarded-Proto": "https, https"}
    response = client.post("/login", data={"email": reviewer.email,
                                           "password": "correct horse battery"},
                           headers=forwarded, base_url="https://portal.example.org")
    assert response.status_code == 302
    version = db.session.scalar(sa.select(type(req).version).where(type(req).id == req.id))
    claimed = client.post(f"/review/requests/{req.reference}/claim",
                          data={"version": version}, headers=forwarded,
                          base_url="https://portal.example.org")
    assert claimed.status_code == 302
    db.session.expire_all()
    event = db.session.scalars(sa.select(Event).where(
        Event.request_id == req.id, Event.trigger == "begin_review")).one()
    assert event.payload["ip"] == "198.51.100.7"


def test_without_proxies_a_forwarded_address_is_not_believed(client, app):
    reviewer = make_user("legal_reviewer")
    official = make_user("agency_official", make_agency("TR"))
    req = file_request(Actor.of(official), filing())
    db.session.commit()
    sign_in(client, reviewer)
    client.post(f"/review/requests/{req.reference}/claim", data={"version": req.version},
                headers={"X-Forwarded-For": "6.6.6.6"})
    db.session.expire_all()
    event = db.session.scalars(sa.select(Event).where(
        Event.request_id == req.id, Event.trigger == "begin_review")).one()
    assert event.payload["ip"] == "127.0.0.1"
