"""Lumen-style notices: a reviewer publishes a request with redaction; nothing redacted
leaves (the whole serialized notice is searched); a request whose users' notice is
deferred or under a gag order cannot be published until it ends."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, NoticePublication, RequestItem
from portal.services import decisions, lifecycle, lumen
from portal.services.errors import Forbidden, NotFound, ValidationFailed
from tests.conftest import sign_in
from tests.factories import NOW
from workflows.decisions import Terms

PLATFORM = ("Example Platform Ltd", "IE")
DESCRIPTION = ("Posts by @secret_source and Ayşe Yılmaz of Kadıköy spreading false reports "
               "of a second earthquake; phone 0532 111 22 33.")
TARGETS = ["@target1", "@secret_source", "https://x.com/target3/status/1790000000000000001"]


def published_request(world, *, partial=False):
    req = world.file(TARGETS, priority="standard", description=DESCRIPTION,
                     order_date=date(2026, 11, 18))
    world.to_review(req.reference)
    if partial:
        decisions.decide_items(world.actor("reviewer"), req.reference, decision="no_action",
                               terms=Terms(no_action_reason="not_found"),
                               item_ids=[_item_id(req, 1)], now=NOW)
    world.decide_all(req.reference, "withheld", now=NOW)
    lifecycle.fire(world.actor("reviewer"), req.reference, "action", now=NOW)
    return req


def _item_id(req, position):
    return db.session.scalar(sa.select(RequestItem.id).where(
        RequestItem.request_id == req.id, RequestItem.position == position))


REDACT = lumen.Choices(notice_type="CourtOrder", redact_targets="@secret_source",
                       redact_passages="Ayşe Yılmaz\nKadıköy\n0532 111 22 33")
SECRETS = ["@secret_source", "secret_source", "https://x.com/secret_source", "Ayşe Yılmaz",
           "ayşe", "Kadıköy", "0532 111 22 33"]


def test_the_published_notice_has_lumens_fields(world):
    req = published_request(world)
    publication = lumen.publish(world.actor("reviewer"), req.reference, REDACT, now=NOW,
                                platform=PLATFORM)
    assert publication.notice == {"notice": {
        "type": "CourtOrder",
        "title": "Disinformation order from Criminal Judgeship of Peace (TR)",
        "body": ("Posts by [REDACTED] and [REDACTED] of [REDACTED] spreading false reports "
                 "of a second earthquake; phone [REDACTED]."),
        "date_sent": "2026-11-18",
        "date_received": "2026-11-20",
        "jurisdiction_list": ["TR"],
        "regulation_list": ["Law No. 5651", "Art. 8/A"],
        "action_taken": "Yes",
        "case_id_number": "2026/123",
        "entity_notice_roles_attributes": [
            {"name": "sender", "entity_attributes": {
                "name": "Criminal Judgeship of Peace", "kind": "organization",
                "country_code": "TR"}},
            {"name": "principal", "entity_attributes": {
                "name": world.agency.name, "kind": "organization", "country_code": "TR"}},
            {"name": "recipient", "entity_attributes": {
                "name": "Example Platform Ltd", "kind": "organization", "country_code": "IE"}},
        ],
        "works_attributes": [{
            "description": "Withheld (TR)",
            "infringing_urls_attributes": [
                {"url": "https://x.com/target1"}, {"url": "[REDACTED]"},
                {"url": "https://x.com/target3/status/1790000000000000001"}],
        }],
    }}
    assert publication.redacted_item_ids == [_item_id(req, 2)]
    assert publication.redacted_passages == ["Ayşe Yılmaz", "Kadıköy", "0532 111 22 33"]


def test_no_redacted_target_or_passage_appears_anywhere_in_what_leaves(world, runner):
    req = published_request(world)
    lumen.publish(world.actor("reviewer"), req.reference, REDACT, now=NOW, platform=PLATFORM)
    result = runner.invoke(args=["report", "lumen", req.reference])
    assert result.exit_code == 0, result.output
    serialized = result.output
    assert json.loads(serialized)["notice"]["type"] == "CourtOrder"
    for secret in SECRETS:
        assert secret.lower() not in serialized.lower(), secret
    # What the database keeps of the notice, escaped or not.
    stored = db.session.scalar(sa.select(NoticePublication.notice))
    for dumped in (json.dumps(stored), json.dumps(stored, ensure_ascii=False)):
        for secret in SECRETS:
            assert secret.lower() not in dumped.lower(), secret
    assert "[REDACTED]" in serialized


def test_a_partly_complied_request_lists_its_works_by_action(world):
    req = published_request(world, partial=True)
    notice = lumen.prepare(world.actor("liaison"), req.reference, lumen.Choices(), now=NOW,
                           platform=PLATFORM).notice["notice"]
    assert notice["action_taken"] == "Partial"
    assert notice["works_attributes"] == [
        {"description": "No action", "infringing_urls_attributes": [
            {"url": "https://x.com/target1"}]},
        {"description": "Withheld (TR)", "infringing_urls_attributes": [
            {"url": "https://x.com/secret_source"},
            {"url": "https://x.com/target3/status/1790000000000000001"}]},
    ]


@pytest.mark.parametrize("basis", ["court_gag_order", "dsa_art_9_5"])
def test_a_deferred_notice_refuses_publication_until_it_ends(world, runner, basis):
    req = published_request(world)
    lumen.publish(world.actor("reviewer"), req.reference, REDACT, now=NOW, platform=PLATFORM)
    # Recorded after the publication: what was published may not leave any more either.
    until = NOW + timedelta(days=3650)
    decisions.record_notice(world.actor("reviewer"), req.reference, notified=False,
                            deferred_until=until, basis=basis, all_acted=True, now=NOW)
    with pytest.raises(lumen.Deferred) as refused:
        lumen.publish(world.actor("reviewer"), req.reference, REDACT, now=NOW,
                      platform=PLATFORM)
    assert refused.value.until == until and refused.value.basis == basis
    assert "cannot be published before then" in str(refused.value)
    result = runner.invoke(args=["report", "lumen", req.reference])
    assert result.exit_code == 1
    assert (f"the affected users' notice is deferred until {until.isoformat()} ({basis}): "
            "the request cannot be published before then") in result.output
    assert "Criminal Judgeship" not in result.output
    # Once it has ended, it may be published.
    after = until + timedelta(seconds=1)
    assert lumen.latest(world.actor("liaison"), req.reference, now=after).notice_type == (
        "CourtOrder")


def test_only_a_legal_reviewer_publishes(world):
    req = published_request(world)
    with pytest.raises(Forbidden):
        lumen.publish(world.actor("liaison"), req.reference, REDACT, now=NOW,
                      platform=PLATFORM)
    with pytest.raises(Forbidden):  # the agency never sees a notice before it leaves
        lumen.prepare(world.actor("official"), req.reference, REDACT, now=NOW,
                      platform=PLATFORM)
    with pytest.raises(NotFound):
        lumen.latest(world.actor("liaison"), req.reference, now=NOW)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NoticePublication)) == 0


def test_bad_choices_are_refused_with_their_lines(world):
    req = published_request(world)
    choices = lumen.Choices(notice_type="DMCA", redact_targets="@target1\n\n@nobody",
                            redact_passages="ok\nKadıköy")
    with pytest.raises(ValidationFailed) as refused:
        lumen.publish(world.actor("reviewer"), req.reference, choices, now=NOW,
                      platform=PLATFORM)
    assert [(e.field, e.code, e.index) for e in refused.value.errors] == [
        ("notice_type", "choice", None),
        ("redact_targets", "unknown_target", 3),
        ("redact_passages", "too_short", 1),
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NoticePublication)) == 0


def test_an_undecided_request_is_not_published(world):
    req = world.file(TARGETS, priority="standard")
    with pytest.raises(ValidationFailed) as refused:
        lumen.prepare(world.actor("reviewer"), req.reference, lumen.Choices(), now=NOW,
                      platform=PLATFORM)
    assert [e.code for e in refused.value.errors] == ["undecided"]


def test_the_review_page_previews_then_publishes_with_an_audit_event(app, client, world):
    req = published_request(world)
    sign_in(client, world.reviewer)
    page = client.get(f"/review/requests/{req.reference}").get_data(as_text=True)
    assert f"/review/requests/{req.reference}/publish" in page
    url = f"/review/requests/{req.reference}/publish"
    assert client.get(url).status_code == 200
    form = {"notice_type": "CourtOrder", "title": "", "redact_targets": "@secret_source",
            "redact_passages": "Kadıköy"}
    preview = client.post(url, data=form | {"action": "preview"})
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "data-preview" in html and "[REDACTED]" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NoticePublication)) == 0
    bad = client.post(url, data=form | {"action": "publish", "redact_targets": "@nobody"})
    assert bad.status_code == 422
    assert "Line 1: this is not a target of this request." in bad.get_data(as_text=True)
    done = client.post(url, data=form | {"action": "publish"})
    assert done.status_code == 302
    event = db.session.scalars(sa.select(Event).where(Event.kind == "notice_published")).one()
    assert event.payload["notice_type"] == "CourtOrder"
    assert event.payload["redacted_items"] == 1 and event.payload["redacted_passages"] == 1
    history = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    assert "Published as a notice" in history
    assert "Redacted targets: 1, redacted passages: 1" in history
    shown = client.get(url).get_data(as_text=True)
    assert "data-published" in shown and "secret_source" not in shown.split("data-published")[1]
    # A liaison may preview, never publish.
    liaison = app.test_client()
    sign_in(liaison, world.liaison)
    assert liaison.post(url, data=form | {"action": "preview"}).status_code == 200
    assert liaison.post(url, data=form | {"action": "publish"}).status_code == 403


def test_the_page_refuses_a_request_under_a_gag_order(client, world):
    req = published_request(world)
    decisions.record_notice(world.actor("reviewer"), req.reference, notified=False,
                            deferred_until=NOW + timedelta(days=3650),
                            basis="court_gag_order", all_acted=True, now=NOW)
    sign_in(client, world.reviewer)
    url = f"/review/requests/{req.reference}/publish"
    page = client.get(url).get_data(as_text=True)
    assert "data-deferred" in page and "publish-form" not in page
    refused = client.post(url, data={"notice_type": "CourtOrder", "action": "publish"})
    assert refused.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(NoticePublication)) == 0


def test_the_cli_names_an_unpublished_or_unknown_request(world, runner):
    req = published_request(world)
    result = runner.invoke(args=["report", "lumen", req.reference])
    assert result.exit_code == 1
    assert f"{req.reference} has not been published" in result.output
    result = runner.invoke(args=["report", "lumen", "XX-2026-999999"])
    assert result.exit_code == 1
    assert "no request 'XX-2026-999999'" in result.output


def test_the_longest_secret_at_a_place_is_masked_whole_in_any_case():
    pattern = lumen._pattern(["Kadı", "Kadıköy", "@secret_source", "secret_source"])
    assert pattern is not None
    assert lumen._redact({"a": ["In KADIKÖY and kadı, by @Secret_Source."]}, pattern) == {
        "a": ["In [REDACTED] and [REDACTED], by [REDACTED]."]}
