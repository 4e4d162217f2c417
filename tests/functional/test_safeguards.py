"""Urgent requests that may come from a hijacked mailbox are flagged, and colleagues told."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, LegalRequest, Notification, UserNetwork
from portal.services import outbox
from portal.services.actors import Actor
from portal.services.filing import file_request
from tests.conftest import sign_in
from tests.factories import NOW, filing, make_agency, make_user


@pytest.fixture
def agency(app):
    agency = make_agency("TR")
    veteran = make_user("agency_official", agency)
    veteran.created_at = NOW - timedelta(days=400)
    colleague = make_user("agency_official", agency)
    colleague.created_at = NOW - timedelta(days=400)
    db.session.add(UserNetwork(user_id=veteran.id, network="198.51.100.0/24",
                               first_seen=NOW - timedelta(days=90), last_seen=NOW))
    db.session.commit()
    # A history: three disinformation requests filed long ago.
    for n in range(3):
        file_request(Actor.of(veteran, ip_address="198.51.100.7"),
                     filing([f"@old{n}"], priority="standard"), now=NOW - timedelta(days=30))
    return agency, veteran, colleague


def file_as(user, *, ip="198.51.100.7", **fields):
    req = file_request(Actor.of(user, ip_address=ip), filing(["@x"], **fields), now=NOW)
    return db.session.get(LegalRequest, req.id)


def test_a_usual_urgent_request_is_not_flagged(agency):
    _, veteran, _ = agency
    assert file_as(veteran, priority="urgent").risk_flags == []


def test_standard_priority_is_never_flagged(agency):
    agency_, _, _ = agency
    newcomer = make_user("agency_official", agency_)
    assert file_as(newcomer, priority="standard", category="terrorism").risk_flags == []


def test_a_new_account_is_flagged(agency):
    agency_, _, _ = agency
    newcomer = make_user("agency_official", agency_)
    newcomer.created_at = NOW - timedelta(days=2)
    db.session.commit()
    assert file_as(newcomer, priority="emergency").risk_flags == ["new_user"]


def test_a_new_network_is_flagged(agency):
    _, veteran, _ = agency
    assert file_as(veteran, ip="203.0.113.9", priority="urgent").risk_flags == ["new_network"]


def test_an_unusual_category_is_flagged(agency):
    _, veteran, _ = agency
    flagged = file_as(veteran, priority="urgent", category="terrorism")
    assert flagged.risk_flags == ["unusual_category"]


def test_flags_are_on_the_record_and_colleagues_are_told(agency):
    _, veteran, colleague = agency
    req = file_as(veteran, ip="203.0.113.9", priority="emergency", category="terrorism")
    assert req.risk_flags == ["new_network", "unusual_category"]
    filed = db.session.scalar(sa.select(Event).where(Event.request_id == req.id))
    assert filed.payload["risk_flags"] == ["new_network", "unusual_category"]
    mails = db.session.scalars(sa.select(Notification).where(
        Notification.template == "urgent_request_flagged")).all()
    assert [m.recipient for m in mails] == [colleague.email]
    body = outbox.render(mails[0]).body
    assert req.reference in body and "network" in body and veteran.email in body


def test_reviewers_see_the_flags_with_the_reasons(agency, client):
    _, veteran, _ = agency
    req = file_as(veteran, ip="203.0.113.9", priority="emergency", category="terrorism")
    reviewer = make_user("legal_reviewer")
    sign_in(client, reviewer)
    queue = client.get("/review/").get_data(as_text=True)
    assert "Check first" in queue
    page = client.get(f"/review/requests/{req.reference}").get_data(as_text=True)
    assert "may not come from the agency" in page
    assert "a network this account had not used before" in page
    assert "does not usually file requests of this category" in page
