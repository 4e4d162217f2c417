"""The smaller defects the walk-through found (issue 13, part 7), each shown gone: a
rejected agency's official shown as "Active" and the agency offered in filters; a
decision on every item and actioning a request done on one click; a verification "until
7 Dec 2027 (UTC)" shown as the 8th; no favicon. (The language selector's width and the
focus after a preview with errors are checked in the browser: tests/browser.)"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Agency, User
from portal.models.columns import utcnow
from portal.services import agencies
from portal.services.actors import Actor
from tests.conftest import sign_in
from tests.factories import make_agency, make_user

pytestmark = pytest.mark.usefixtures("policies")


def text(response) -> str:
    return response.get_data(as_text=True)


def rejected_agency(world) -> tuple[int, User]:
    agency = make_agency("TR", verified=False, domain="rejected.gov.example")
    official = make_user("agency_official", agency, email="ali@rejected.gov.example")
    agencies.reject_agency(world.actor("admin"), agency.id, reason="Not a government body.")
    return agency.id, official


def test_a_rejected_agencys_official_is_not_shown_as_active(world, client):
    agency_id, official = rejected_agency(world)
    sign_in(client, world.admin)
    rows = text(client.get("/admin/users?q=rejected.gov.example"))
    row = re.search(r"ali@rejected\.gov\.example</a></th>.*?</tr>", rows, re.S)
    assert row and "Agency rejected: cannot file" in row.group(0)
    assert "<td>Active</td>" not in row.group(0)
    agency_page = text(client.get(f"/admin/agencies/{agency_id}"))
    assert "Agency rejected: cannot file" in agency_page
    user_page = text(client.get(f"/admin/users/{official.id}"))
    assert "<dd>Active</dd>" not in user_page and "Agency rejected: cannot file" in user_page
    # Officials of verified agencies are still plainly active.
    assert "<td>Active</td>" in text(client.get(f"/admin/agencies/{world.agency.id}"))


def test_a_rejected_agency_is_not_offered_as_a_filter(world, client):
    agency_id, _ = rejected_agency(world)
    rejected = db.session.get(Agency, agency_id).name
    sign_in(client, world.liaison)
    page = text(client.get("/liaison/"))
    options = re.findall(r'<option value="\d+">([^<]+)</option>', page)
    assert f"{world.agency.name} (TR)" in options
    assert f"{rejected} (TR)" not in options


def test_deciding_every_item_and_actioning_ask_first(world, client):
    req = world.file(["@one_target", "@two_target"], now=utcnow() - timedelta(hours=1))
    world.to_review(req.reference, now=utcnow())
    world.decide_all(req.reference, now=utcnow())
    sign_in(client, world.reviewer)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert re.search(r'<button type="submit" name="scope" value="matching" '
                     r'data-confirm="Apply this decision to all 2 items\?">', page)
    assert re.search(r'<button type="submit" class="primary" data-confirm="Action this '
                     r'request\? The decisions take effect and the agency is told the '
                     r'outcome\.">Action the request</button>', page)


def test_a_verification_until_a_date_shows_that_date_in_every_time_zone(world, client):
    agencies.approve_agency(world.actor("admin"), world.agency.id,
                            valid_until=date(2027, 12, 7))
    world.admin.timezone = "Asia/Kolkata"  # UTC+5:30: 23:59:59 UTC is 05:29:59 next day
    world.official.timezone = "Asia/Kolkata"
    db.session.commit()
    sign_in(client, world.admin)
    agency_page = text(client.get(f"/admin/agencies/{world.agency.id}"))
    assert "Dec 7, 2027 (UTC)" in agency_page
    assert "Dec 8, 2027" not in agency_page and "5:29:59" not in agency_page
    listing = text(client.get("/admin/agencies"))
    assert "Dec 7, 2027 (UTC)" in listing and "Dec 8, 2027" not in listing


def test_the_verification_mail_says_the_chosen_day(world, app):
    from portal.models import Notification
    from portal.services import outbox
    app.config["MAIL_BACKEND"] = "log"
    world.official.timezone = "Asia/Kolkata"
    db.session.commit()
    agencies.approve_agency(Actor.of(world.admin), world.agency.id,
                            valid_until=date(2027, 12, 7))
    note = db.session.scalars(sa.select(Notification).where(
        Notification.template == "agency_status")).all()[-1]
    body = outbox.render(note).body
    assert "valid until December 7, 2027 (UTC)." in body, body


def test_every_page_names_its_favicon_and_it_is_served(client):
    page = text(client.get("/login"))
    match = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert match, "no favicon link"
    icon = client.get(match.group(1))
    try:
        assert icon.status_code == 200 and icon.content_type.startswith("image/svg+xml")
        assert icon.data.startswith(b"<svg")
    finally:
        icon.close()  # a static file is streamed from an open file
