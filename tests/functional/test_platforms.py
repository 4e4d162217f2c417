"""One portal, several platforms (issue 13, part 5) and the reviewer's view of a target
(part 3): links to the platform's page, kind and platform in words, the reviewer's note
and snapshot reference per item."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.config import ConfigurationError
from portal.extensions import db
from portal.models import Event, LegalRequest, RequestItem
from portal.models.columns import utcnow
from portal.services import item_notes
from portal.services.errors import Forbidden, NotFound, ValidationFailed
from tests.api.test_api import bearer, body
from tests.conftest import sign_in
from workflows.states import RequestState

pytestmark = pytest.mark.usefixtures("policies")


def items_of(reference: str) -> list[tuple[str, str]]:
    req = db.session.scalars(sa.select(LegalRequest).where(
        LegalRequest.reference == reference)).one()
    return [(kind.value, target) for kind, target in db.session.execute(
        sa.select(RequestItem.kind, RequestItem.target).where(
            RequestItem.request_id == req.id).order_by(RequestItem.position))]


# -- part 5: several platforms ---------------------------------------------------------

@pytest.mark.parametrize(("profiles", "default"), [
    (["telegram"], "telegram"),   # failed half way before: "Error: refused", 1 of 6
    (["x"], "x"),
    (["telegram", "x"], "telegram"),
])
def test_demo_seed_completes_with_every_platform_setting(app, runner, profiles, default):
    app.config.update(PLATFORM_PROFILES=profiles, PLATFORM_PROFILE=default)
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert result.output.count("created request ") == 6
    assert set(db.session.scalars(sa.select(LegalRequest.state))) == set(RequestState)
    kinds = set(db.session.scalars(sa.select(RequestItem.kind).distinct()))
    if profiles == ["telegram"]:
        assert {k.value for k in kinds} == {"channel", "post"}
    if profiles == ["x"]:
        assert {k.value for k in kinds} == {"account", "post"}


def test_the_default_demo_has_both_platforms_side_by_side(runner):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    kominfo = db.session.scalar(sa.select(LegalRequest.reference).where(
        LegalRequest.order_reference == "B-1043/M.KOMINFO/HK.02/08/2026"))
    assert {kind for kind, _ in items_of(kominfo)} == {"channel"}
    meity = db.session.scalar(sa.select(LegalRequest.reference).where(
        LegalRequest.order_reference == "No. 16(4)/2026-CLES (2)"))
    assert {kind for kind, _ in items_of(meity)} == {"account"}


def test_one_filing_takes_x_and_telegram_targets(client, world):
    items = [{"target": "@fake_aid1"}, {"target": "https://t.me/fake_aid_news"},
             {"target": "https://twitter.com/fake_aid2/status/12"},
             {"target": "t.me/fake_aid_news/40"}]
    response = client.post("/api/v1/requests", json=body(items=items),
                           headers=bearer(world.official))
    assert response.status_code == 201, response.json
    reference = response.json["reference"]
    assert items_of(reference) == [
        ("account", "@fake_aid1"), ("channel", "@fake_aid_news"),
        ("post", "https://x.com/fake_aid2/status/12"), ("post", "https://t.me/fake_aid_news/40")]
    listed = client.get(f"/api/v1/requests/{reference}/items",
                        headers=bearer(world.official)).json["data"]
    assert [(i["platform"], i["url"]) for i in listed] == [
        ("x", "https://x.com/fake_aid1"), ("telegram", "https://t.me/fake_aid_news"),
        ("x", "https://x.com/fake_aid2/status/12"),
        ("telegram", "https://t.me/fake_aid_news/40")]


def test_the_service_field_says_whose_bare_names_they_are(client, world):
    items = [{"target": "@fake_aid_news"}, {"target": "x.com/fake_aid2"}]
    response = client.post("/api/v1/requests", json=body(items=items, service="telegram"),
                           headers=bearer(world.official))
    assert response.status_code == 201, response.json
    assert items_of(response.json["reference"]) == [
        ("channel", "@fake_aid_news"), ("account", "@fake_aid2")]


def test_an_unknown_or_disabled_service_is_refused_on_its_field(client, world, app):
    refused = client.post("/api/v1/requests", json=body(service="mastodon"),
                          headers=bearer(world.official))
    assert refused.status_code == 422
    assert [(e["path"], e["code"]) for e in refused.json["errors"]] == [("service", "choice")]
    app.config["PLATFORM_PROFILES"] = ["x"]
    disabled = client.post("/api/v1/requests", json=body(
        service="telegram", items=[{"target": "t.me/fake_aid_news"}]),
        headers=bearer(world.official))
    assert disabled.status_code == 422
    assert [(e["path"], e["code"]) for e in disabled.json["errors"]] == [("service", "choice")]
    foreign = client.post("/api/v1/requests", json=body(items=[{"target": "t.me/fake_news1"}]),
                          headers=bearer(world.official))
    assert [e["code"] for e in foreign.json["errors"]] == ["foreign_url"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)) == 0


def test_the_filing_form_offers_the_service_and_files_with_it(client, world):
    sign_in(client, world.official)
    page = client.get("/requests/new").get_data(as_text=True)
    assert 'name="service"' in page and "Telegram-like messenger" in page
    form = {"legal_statute": "Law No. 5651", "issuing_authority": "BTK",
            "category": "disinformation", "requested_action": "withhold_in_country",
            "priority": "standard", "jurisdiction": "TR", "service": "telegram",
            "targets": "@fake_aid_news\nx.com/fake_aid2", "action": "preview"}
    preview = client.post("/requests/new", data=form)
    previewed = re.search(r'name="previewed" type="hidden" value="([0-9a-f]+)"',
                          preview.get_data(as_text=True))
    assert previewed, preview.get_data(as_text=True)[:2000]
    filed = client.post("/requests/new", data={**form, "action": "file",
                                               "previewed": previewed[1]})
    assert filed.status_code == 302, filed.get_data(as_text=True)[:2000]
    reference = db.session.scalar(sa.select(LegalRequest.reference))
    assert items_of(reference) == [("channel", "@fake_aid_news"), ("account", "@fake_aid2")]


def test_the_preview_says_when_a_name_is_on_two_platforms(client, world):
    sign_in(client, world.official)
    page = client.post("/requests/new", data={
        "legal_statute": "Law No. 5651", "issuing_authority": "BTK",
        "category": "disinformation", "requested_action": "withhold_in_country",
        "priority": "standard", "jurisdiction": "TR",
        "targets": "t.me/fake_aid_news\n@fake_aid_news", "action": "preview"})
    assert ("Line 2: the same name as line 1, but on another platform; one request takes "
            "one of them, so file this one in a request of its own") in page.get_data(
                as_text=True)


def test_search_finds_a_long_telegram_name_as_a_bare_name(world):
    from portal.services.request_filters import search_condition
    req = world.file(["t.me/a_rather_long_channel_name"])
    found = db.session.scalars(sa.select(LegalRequest.reference).where(
        search_condition("@a_rather_long_channel_name"))).all()
    assert found == [req.reference]


@pytest.mark.parametrize(("profiles", "default", "message"), [
    (["mastodon"], "x", "unknown platform profile(s): mastodon"),
    (["x"], "telegram", "the default platform 'telegram' is not among ['x']"),
])
def test_the_portal_refuses_to_start_with_bad_platform_settings(app, profiles, default,
                                                                 message):
    with pytest.raises(ConfigurationError) as caught:
        create_app({"SECRET_KEY": "k" * 40, "PLATFORM_PROFILES": profiles,
                    "PLATFORM_PROFILE": default,
                    "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    assert message in str(caught.value) and "PLATFORM_PROFILES" in str(caught.value)


# -- part 3: the reviewer's view of a target ---------------------------------------------

def in_review(world):
    req = world.file(["@fake_aid1", "https://t.me/fake_aid_news",
                      "https://x.com/fake_aid2/status/12"], now=utcnow() - timedelta(hours=1))
    world.to_review(req.reference, now=utcnow())
    return req


LINK = re.compile(r'<a href="([^"]+)" target="_blank" rel="noreferrer noopener" dir="ltr" '
                  r'class="target-link"><bdi>([^<]+)</bdi>')


def test_the_review_page_links_each_target_to_the_platform(world, client):
    req = in_review(world)
    sign_in(client, world.reviewer)
    page = client.get(f"/review/requests/{req.reference}").get_data(as_text=True)
    assert LINK.findall(page) == [
        ("https://x.com/fake_aid1", "@fake_aid1"),
        ("https://t.me/fake_aid_news", "@fake_aid_news"),
        ("https://x.com/fake_aid2/status/12", "https://x.com/fake_aid2/status/12")]
    # Kinds and platforms in words, not codes; the platform in a column of its own.
    rows = re.findall(r"</th>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", page)
    assert rows[:3] == [("Account", "X-like microblog"), ("Channel", "Telegram-like messenger"),
                        ("Post", "X-like microblog")], rows[:3]


def test_the_agencys_page_links_its_targets_too(world, client):
    req = in_review(world)
    sign_in(client, world.official)
    page = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    assert [url for url, _ in LINK.findall(page)] == [
        "https://x.com/fake_aid1", "https://t.me/fake_aid_news",
        "https://x.com/fake_aid2/status/12"]


def first_item(req) -> RequestItem:
    return db.session.scalars(sa.select(RequestItem).where(
        RequestItem.request_id == req.id).order_by(RequestItem.position)).first()


def test_the_reviewer_notes_an_item_and_the_record_shows_it(world, client):
    req = in_review(world)
    item = first_item(req)
    sign_in(client, world.reviewer)
    page = client.get(f"/review/requests/{req.reference}/items/{item.id}")
    assert page.status_code == 200
    assert 'href="https://x.com/fake_aid1" target="_blank" rel="noreferrer noopener"' in (
        page.get_data(as_text=True))
    saved = client.post(f"/review/requests/{req.reference}/items/{item.id}", data={
        "note": "  Collects donations for a fake relief fund; bank details in the bio.  ",
        "snapshot_ref": "EVID-2026-0042"})
    assert saved.status_code == 302
    db.session.expire_all()
    item = db.session.get(RequestItem, item.id)
    assert (item.review_note, item.snapshot_ref) == (
        "Collects donations for a fake relief fund; bank details in the bio.", "EVID-2026-0042")
    event = db.session.scalars(sa.select(Event).where(
        Event.request_id == req.id, Event.kind == "item_noted")).one()
    assert event.payload["position"] == 1 and event.payload["snapshot_ref"] == "EVID-2026-0042"
    workspace = client.get(f"/review/requests/{req.reference}").get_data(as_text=True)
    assert "bank details in the bio." in workspace and "EVID-2026-0042" in workspace
    assert "Item 1 noted" in workspace


def test_too_long_notes_are_refused_clearly_and_nothing_is_saved(world, client):
    req = in_review(world)
    item = first_item(req)
    sign_in(client, world.reviewer)
    refused = client.post(f"/review/requests/{req.reference}/items/{item.id}", data={
        "note": "x" * 1001, "snapshot_ref": "y" * 501})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "The note is too long: at most 1,000 characters are kept." in page
    assert "The snapshot reference is too long: at most 500 characters are kept." in page
    two_lines = client.post(f"/review/requests/{req.reference}/items/{item.id}", data={
        "note": "", "snapshot_ref": "EVID-1\nEVID-2"})
    assert "must be one line" in two_lines.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(RequestItem, item.id).review_note is None
    assert not db.session.scalar(sa.select(sa.func.count()).select_from(Event).where(
        Event.kind == "item_noted"))


def test_notes_are_staff_only(world, client, app):
    req = in_review(world)
    item = first_item(req)
    item_notes.note_item(world.actor("reviewer"), req.reference, item.id,
                         note="seen: a livestream", snapshot_ref="EVID-7")
    with pytest.raises(Forbidden):
        item_notes.note_item(world.actor("liaison"), req.reference, item.id, note="x",
                             snapshot_ref="")
    with pytest.raises(NotFound):
        item_notes.note_item(world.actor("stranger"), req.reference, item.id, note="x",
                             snapshot_ref="")
    with pytest.raises(ValidationFailed) as unchanged:
        item_notes.note_item(world.actor("reviewer"), req.reference, item.id,
                             note="seen: a livestream ", snapshot_ref="EVID-7")
    assert [e.code for e in unchanged.value.errors] == ["unchanged"]
    official = client.get(f"/api/v1/requests/{req.reference}/items",
                          headers=bearer(world.official)).json["data"][0]
    assert "review_note" not in official and "snapshot_ref" not in official
    staff = client.get(f"/api/v1/requests/{req.reference}/items",
                       headers=bearer(world.reviewer)).json["data"][0]
    assert (staff["review_note"], staff["snapshot_ref"]) == ("seen: a livestream", "EVID-7")
    events = client.get(f"/api/v1/requests/{req.reference}/events",
                        headers=bearer(world.official)).json["data"]
    assert "item_noted" not in {e["kind"] for e in events}
    sign_in(client, world.official)
    page = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    assert "a livestream" not in page and "EVID-7" not in page
    # A liaison reads the note but has no form to change it.
    client = app.test_client()
    sign_in(client, world.liaison)
    liaison = client.get(f"/review/requests/{req.reference}/items/{item.id}")
    assert "seen: a livestream" in liaison.get_data(as_text=True)
    assert client.post(f"/review/requests/{req.reference}/items/{item.id}",
                       data={"note": "x"}).status_code == 403
