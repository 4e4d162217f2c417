"""Decisions the law can read, through the services, the reviewer's workspace, the
agency's page and the API: territorial scope and ground in bulk, the TCO order's scope
guard, receipt confirmation, the requested action, restorations, user notices with their
own clock, a TCO preservation hold, and every change on the audit record."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import worker
from portal.extensions import db
from portal.models import Event, LegalRequest, Notification, RequestItem
from portal.models.columns import utcnow
from portal.services import alerts, audit_verify, decisions, lifecycle, outbox, tokens
from portal.services.actors import Actor
from portal.services.errors import ValidationFailed
from portal.services.filing import file_request
from tests.conftest import sign_in
from tests.factories import World, filing, make_agency, make_user
from workflows.decisions import Terms, add_months
from workflows.request_flow import GuardFailed

pytestmark = pytest.mark.usefixtures("policies")


def fresh(reference: str) -> LegalRequest:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(LegalRequest).where(LegalRequest.reference == reference)).one()


def items_of(reference: str) -> list[RequestItem]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(RequestItem).join(LegalRequest).where(
        LegalRequest.reference == reference).order_by(RequestItem.position)))


def events_of(reference: str) -> list[Event]:
    return list(db.session.scalars(sa.select(Event).join(LegalRequest).where(
        LegalRequest.reference == reference).order_by(Event.seq)))


def text(response) -> str:
    return response.get_data(as_text=True)


def bearer(user) -> dict[str, str]:
    _, token = tokens.create_token(user, "test", scopes=["file", "act"])
    return {"Authorization": f"Bearer {token}"}


class Germany:
    """A German police agency with an official, filing EU terrorist-content removal
    orders (the TCO regime), beside the shared world's reviewer."""

    def __init__(self, world: World) -> None:
        self.agency = make_agency("DE")
        self.official = make_user("agency_official", self.agency)
        self.world = world

    def tco(self, targets: list[str], *, now: datetime, **fields: object) -> LegalRequest:
        values: dict[str, object] = {
            "category": "terrorism", "legal_statute": "Regulation (EU) 2021/784 (TCO)",
            "legal_article": "Art. 3", "issuing_authority": "Bundeskriminalamt",
            "requested_action": "remove", "priority": "standard", **fields}
        req = file_request(Actor.of(self.official), filing(targets, **values), now=now)
        self.world.to_review(req.reference, now)
        return req


@pytest.fixture
def germany(world: World) -> Germany:
    return Germany(world)


def in_review(world: World, targets: list[str], hours_ago: float = 1.0) -> LegalRequest:
    when = utcnow() - timedelta(hours=hours_ago)
    req = world.file(targets, now=when)
    world.to_review(req.reference, when)
    return req


# --- one bulk decision sets everything ----------------------------------------------------------

def test_a_bulk_decision_records_scope_ground_and_effect_on_every_item(world):
    req = in_review(world, ["@a", "@b", "@c"], hours_ago=3)
    now = utcnow()
    effect = now - timedelta(hours=1)
    count = decisions.decide_items(
        world.actor("reviewer"), req.reference, decision="withheld", reason="per order",
        terms=Terms(territorial_scope="tr, cy", ground="local_law",
                    ground_statute="Law No. 5651", ground_article="Art. 8/A",
                    effect_given_at=effect), all_pending=True, now=now)
    assert count == 3
    rows = {(i.decision.value, i.territorial_scope, i.ground.value, i.ground_statute,
             i.ground_article, i.effect_given_at, i.decided_at) for i in items_of(req.reference)}
    assert rows == {("withheld", "CY,TR", "local_law", "Law No. 5651", "Art. 8/A", effect, now)}
    payload = events_of(req.reference)[-1].payload
    assert {k: payload[k] for k in ("decision", "territorial_scope", "ground", "ground_statute",
                                    "ground_article", "count", "positions")} == {
        "decision": "withheld", "territorial_scope": "CY,TR", "ground": "local_law",
        "ground_statute": "Law No. 5651", "ground_article": "Art. 8/A", "count": 3,
        "positions": [[1, 3]]}
    assert payload["effect_given_at"] == effect.isoformat(timespec="microseconds")
    assert list(audit_verify.verify_all()) == []


def test_nothing_is_decided_when_anything_given_is_wrong(world):
    req = in_review(world, ["@a", "@b"])
    before = len(events_of(req.reference))
    with pytest.raises(ValidationFailed) as refused:
        decisions.decide_items(
            world.actor("reviewer"), req.reference, decision="account_suspended",
            terms=Terms(territorial_scope="TR, XX", ground="platform_rules",
                        effect_given_at=utcnow() + timedelta(hours=1)),
            item_ids=[987654])
    assert sorted((e.field, e.code) for e in refused.value.errors) == [
        ("effect_given_at", "future"), ("ground_statute", "required"),
        ("suspended_until", "required"), ("territorial_scope", "invalid")]
    assert {i.decision for i in items_of(req.reference)} == {None}
    assert len(events_of(req.reference)) == before


def test_a_new_decision_replaces_the_record_whole(world):
    req = in_review(world, ["@a"])
    reviewer = world.actor("reviewer")
    decisions.decide_items(reviewer, req.reference, decision="account_suspended",
                           terms=Terms(suspended_until=utcnow() + timedelta(days=7)),
                           all_pending=True)
    (item,) = items_of(req.reference)
    decisions.decide_items(reviewer, req.reference, decision="no_action",
                           terms=Terms(no_action_reason="disproportionate"),
                           item_ids=[item.id])
    (item,) = items_of(req.reference)
    assert (item.decision.value, item.no_action_reason.value, item.territorial_scope,
            item.ground, item.suspended_until, item.effect_given_at) == (
        "no_action", "disproportionate", None, None, None, None)
    assert list(audit_verify.verify_all()) == []


# --- the TCO order: the whole EEA, or a reason on the record ----------------------------------

def test_a_tco_order_is_not_complied_with_in_one_member_state_without_a_reason(
        world, germany):
    """The attack: close an EU terrorist-content removal order as complied while the
    content stays visible everywhere but Germany. Refused until the scope is widened or
    the reason recorded."""
    req = germany.tco(["@cell1", "@cell2"], now=utcnow() - timedelta(minutes=30))
    reviewer = world.actor("reviewer")
    decisions.decide_items(reviewer, req.reference, decision="withheld",
                           terms=Terms(territorial_scope="DE"), all_pending=True)
    with pytest.raises(GuardFailed) as refused:
        lifecycle.fire(reviewer, req.reference, "action")
    assert refused.value.guard == "tco_scope_explained"
    assert refused.value.facts.narrow_scopes_unexplained == 2
    assert fresh(req.reference).state.value == "legal_review"
    (first, second) = items_of(req.reference)
    decisions.decide_items(reviewer, req.reference, decision="withheld",
                           terms=Terms(territorial_scope="EEA"), item_ids=[first.id])
    decisions.decide_items(reviewer, req.reference, decision="withheld",
                           terms=Terms(territorial_scope="DE", scope_reason="Lawful reporting "
                                       "elsewhere; cross-border scrutiny (Art. 4) pending"),
                           item_ids=[second.id])
    done = lifecycle.fire(reviewer, req.reference, "action")
    assert (done.state.value, done.resolution.value) == ("actioned", "complied")


def test_the_scope_guard_is_for_tco_orders_only(world, germany):
    turkish = in_review(world, ["@a"])
    world.decide_all(turkish.reference, "withheld")  # TR only: a national order
    assert lifecycle.fire(world.actor("reviewer"), turkish.reference, "action").state.value \
        == "actioned"
    preservation = germany.tco(["@b"], now=utcnow() - timedelta(minutes=5),
                               requested_action="preserve_data")
    decisions.decide_items(world.actor("reviewer"), preservation.reference,
                           decision="withheld", terms=Terms(territorial_scope="DE"),
                           all_pending=True)
    assert lifecycle.fire(world.actor("reviewer"), preservation.reference,
                          "action").state.value == "actioned"


def test_revising_a_tco_order_checks_the_scope_too(world, germany):
    req = germany.tco(["@a"], now=utcnow() - timedelta(hours=2))
    reviewer = world.actor("reviewer")
    decisions.decide_items(reviewer, req.reference, decision="removed", all_pending=True)
    lifecycle.fire(reviewer, req.reference, "action")
    lifecycle.fire(Actor.of(germany.official), req.reference, "dispute",
                   inputs={"reason": "Removed only from the main feed."})
    decisions.decide_items(reviewer, req.reference, decision="withheld",
                           terms=Terms(territorial_scope="AT,DE"),
                           item_ids=[i.id for i in items_of(req.reference)])
    with pytest.raises(GuardFailed, match="fewer places than the EEA"):
        lifecycle.fire(reviewer, req.reference, "revise")


def test_upholding_a_tco_order_narrowed_in_the_dispute_needs_the_reason(world, germany):
    """The attack through the other door: narrow the scope while the order is disputed,
    then uphold it, closing it as complied."""
    req = germany.tco(["@a"], now=utcnow() - timedelta(hours=2))
    reviewer = world.actor("reviewer")
    decisions.decide_items(reviewer, req.reference, decision="removed", all_pending=True)
    lifecycle.fire(reviewer, req.reference, "action")
    lifecycle.fire(Actor.of(germany.official), req.reference, "dispute",
                   inputs={"reason": "Still visible in Austria."})
    (item,) = items_of(req.reference)
    decisions.decide_items(reviewer, req.reference, decision="withheld",
                           terms=Terms(territorial_scope="DE"), item_ids=[item.id])
    with pytest.raises(GuardFailed) as refused:
        lifecycle.fire(reviewer, req.reference, "uphold", inputs={"reason": "Kept."})
    assert refused.value.guard == "tco_scope_explained"
    assert fresh(req.reference).state.value == "disputed"
    decisions.decide_items(reviewer, req.reference, decision="withheld",
                           terms=Terms(territorial_scope="DE", scope_reason="Art. 4 "
                                       "scrutiny by the Austrian authority pending"),
                           item_ids=[item.id])
    done = lifecycle.fire(reviewer, req.reference, "uphold", inputs={"reason": "Kept."})
    assert (done.state.value, done.resolution.value) == ("closed", "complied")
    assert list(audit_verify.verify_all()) == []


def test_the_reviewer_sees_why_action_is_refused_in_their_language(world, germany, client):
    req = germany.tco(["@a"], now=utcnow() - timedelta(minutes=10))
    decisions.decide_items(world.actor("reviewer"), req.reference, decision="withheld",
                           terms=Terms(territorial_scope="DE"), all_pending=True)
    sign_in(client, world.reviewer)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "1 items apply in fewer places than the EEA with no reason recorded." in page
    assert "A removal order under the EU terrorist-content regulation" in page
    client.post("/language", data={"lang": "tr", "next": "/"})
    turkish = text(client.get(f"/review/requests/{req.reference}"))
    assert "1 items apply in fewer places" not in turkish and "AEA" in turkish


# --- a TCO order's removed content is preserved for six months -------------------------------

def test_a_tco_removal_is_preserved_six_months_and_the_hold_ends_by_itself(
        world, germany, client):
    now = utcnow()
    long_ago = now - timedelta(days=220)
    old = germany.tco(["@old"], now=long_ago)
    decisions.decide_items(world.actor("reviewer"), old.reference, decision="removed",
                           terms=Terms(effect_given_at=long_ago + timedelta(minutes=40)),
                           all_pending=True)
    recent = germany.tco(["@new"], now=now - timedelta(hours=1))
    decisions.decide_items(world.actor("reviewer"), recent.reference, decision="removed",
                           all_pending=True, now=now)
    (held,) = items_of(recent.reference)
    assert held.preserved_until == add_months(now, 6)
    (ended,) = items_of(old.reference)
    assert ended.preserved_until == add_months(long_ago + timedelta(minutes=40), 6) < now
    sign_in(client, world.reviewer)
    assert "Preserved until" in text(client.get(f"/review/requests/{recent.reference}"))
    page = text(client.get(f"/review/requests/{old.reference}"))
    table = page.split('id="items-heading"')[1].split('id="timeline-heading"')[0]
    assert "Preservation ended" in table and "Preserved until" not in table
    api = client.get(f"/api/v1/requests/{recent.reference}/items",
                     headers=bearer(germany.official)).json
    assert api["data"][0]["preserved_until"] == held.preserved_until.isoformat()


# --- receipt and the requested action ---------------------------------------------------------

def test_receipt_is_confirmed_when_the_review_begins(world, client):
    when = utcnow() - timedelta(minutes=20)
    req = world.file(["@a"], now=when - timedelta(minutes=5))
    assert fresh(req.reference).receipt_confirmed_at is None
    world.to_review(req.reference, when)
    assert fresh(req.reference).receipt_confirmed_at == when
    assert events_of(req.reference)[-1].payload["receipt_confirmed_at"] == when.isoformat()
    detail = client.get(f"/api/v1/requests/{req.reference}",
                        headers=bearer(world.official)).json
    assert (detail["receipt_confirmed_at"], detail["requested_action"]) == (
        when.isoformat(), "remove")
    sign_in(client, world.official)
    page = text(client.get(f"/requests/{req.reference}"))
    assert "Receipt confirmed" in page and "Remove the content or account" in page


def test_the_requested_action_is_required_at_filing(world, client):
    with pytest.raises(ValidationFailed) as refused:
        file_request(world.actor("official"), filing(requested_action=""))
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("requested_action", "required")]
    with pytest.raises(ValidationFailed):
        file_request(world.actor("official"), filing(requested_action="arrest"))
    api = client.post("/api/v1/requests", headers=bearer(world.official), json={
        "category": "fraud", "priority": "standard", "issuing_authority": "BTK",
        "legal_basis": {"statute": "Law No. 5651"}, "items": [{"target": "@a"}]})
    assert api.status_code == 422
    assert [e["path"] for e in api.json["errors"]] == ["requested_action"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)) == 0


# --- the API ---------------------------------------------------------------------------------

def test_the_api_decides_with_scope_and_ground_and_lists_them_to_the_agency(world, client):
    req = in_review(world, ["@a", "@b"])
    url = f"/api/v1/requests/{req.reference}/decisions"
    reviewer = bearer(world.reviewer)
    bad = client.post(url, headers=reviewer, json={
        "all_pending": True, "decision": "removed", "territorial_scope": ["TR", "Narnia"],
        "ground": "platform_rules"})
    assert bad.status_code == 422
    assert sorted(e["path"] for e in bad.json["errors"]) == ["ground_statute",
                                                             "territorial_scope"]
    done = client.post(url, headers=reviewer, json={
        "all_pending": True, "decision": "removed", "territorial_scope": ["EEA", "tr"],
        "ground": "platform_rules", "ground_statute": "Violent organisations policy",
        "reason": "Recruitment material"})
    assert done.status_code == 200 and done.json["decided"] == 2
    listed = client.get(f"/api/v1/requests/{req.reference}/items",
                        headers=bearer(world.official)).json["data"]
    first = listed[0]
    assert (first["decision"], first["territorial_scope"], first["ground"],
            first["ground_statute"], first["no_action_reason"]) == (
        "removed", ["EEA", "TR"], "platform_rules", "Violent organisations policy", None)
    assert first["effect_given_at"] is not None and first["restored_at"] is None


def test_the_first_releases_codes_still_work_in_the_api(world, client):
    req = in_review(world, ["@a", "@b"])
    url = f"/api/v1/requests/{req.reference}/decisions"
    done = client.post(url, headers=bearer(world.reviewer), json={
        "item_ids": [items_of(req.reference)[0].id], "decision": "withheld_in_country"})
    assert done.status_code == 200
    no_action = client.post(url, headers=bearer(world.reviewer), json={
        "all_pending": True, "decision": "no_action", "reason": "not_found"})
    assert no_action.status_code == 200
    first, second = client.get(f"/api/v1/requests/{req.reference}/items",
                               headers=bearer(world.official)).json["data"]
    assert (first["decision"], first["territorial_scope"], first["ground"]) == (
        "withheld_in_country", ["TR"], "local_law")
    assert (second["decision"], second["no_action_reason"]) == ("no_action", "not_found")
    detail = client.get(f"/api/v1/requests/{req.reference}",
                        headers=bearer(world.reviewer)).json
    assert detail["item_counts"] == {"pending": 0, "withheld_in_country": 1, "no_action": 1}
    declined = client.post(f"/api/v1/requests/{req.reference}/actions/decline",
                           headers=bearer(world.reviewer),
                           json={"reason": "no", "no_action_reason": "not_found"})
    assert declined.status_code == 409  # an item is acted on


def test_declining_through_the_api_needs_the_reason_code(world, client):
    req = in_review(world, ["@a"])
    url = f"/api/v1/requests/{req.reference}/actions/decline"
    missing = client.post(url, headers=bearer(world.reviewer), json={"reason": "no"})
    assert missing.status_code == 422
    assert missing.json["errors"][0]["path"] == "no_action_reason"
    done = client.post(url, headers=bearer(world.reviewer),
                       json={"reason": "no", "no_action_reason": "issuer_not_competent"})
    assert done.status_code == 200 and done.json["resolution"] == "declined"
    (item,) = items_of(req.reference)
    assert item.no_action_reason.value == "issuer_not_competent"
    assert list(audit_verify.verify_all()) == []


def test_restorations_and_notices_through_the_api(world, client):
    req = world.actioned(["@a", "@b"], now=utcnow() - timedelta(hours=2))
    reviewer = bearer(world.reviewer)
    base = f"/api/v1/requests/{req.reference}"
    wrong = client.post(base + "/restorations", headers=reviewer,
                        json={"all_acted": True, "reason": "because"})
    assert wrong.status_code == 422 and wrong.json["errors"][0]["path"] == "reason"
    official = client.post(base + "/restorations", headers=bearer(world.official),
                           json={"all_acted": True, "reason": "order_annulled"})
    assert official.status_code == 403
    restored = client.post(base + "/restorations", headers=reviewer, json={
        "item_ids": [items_of(req.reference)[0].id], "reason": "order_annulled",
        "note": "Constitutional Court, 2026/88"})
    assert restored.status_code == 200 and restored.json["changed"] == 1
    until = (utcnow() + timedelta(weeks=6)).isoformat()
    deferred = client.post(base + "/notices", headers=reviewer, json={
        "all_acted": True, "notified": False, "deferred_until": until,
        "basis": "court_gag_order"})
    assert deferred.status_code == 200 and deferred.json["changed"] == 2
    first, second = client.get(base + "/items", headers=bearer(world.official)).json["data"]
    assert (first["restored_reason"], second["restored_at"]) == ("order_annulled", None)
    assert first["notice_deferral_basis"] == second["notice_deferral_basis"] == \
        "court_gag_order"
    assert fresh(req.reference).resolution.value == "complied"  # the platform did comply
    assert list(audit_verify.verify_all()) == []


# --- restorations -------------------------------------------------------------------------------

def test_a_restoration_is_checked_item_by_item(world):
    req = in_review(world, ["@a", "@b", "@c"], hours_ago=2)
    reviewer = world.actor("reviewer")
    a, b, c = items_of(req.reference)
    decisions.decide_items(reviewer, req.reference, decision="removed", item_ids=[a.id, b.id])
    with pytest.raises(ValidationFailed) as refused:
        decisions.restore_items(reviewer, req.reference, reason="complaint_upheld",
                                item_ids=[a.id, c.id, 987654])
    assert sorted((e.code, e.index) for e in refused.value.errors) == [
        ("not_eligible", c.id), ("unknown", 987654)]
    with pytest.raises(ValidationFailed) as refused:
        decisions.restore_items(reviewer, req.reference, reason="complaint_upheld",
                                restored_at=utcnow() - timedelta(hours=3), all_acted=True)
    assert [e.field for e in refused.value.errors] == ["restored_at"]
    assert decisions.restore_items(reviewer, req.reference, reason="complaint_upheld",
                                   all_acted=True) == 2
    with pytest.raises(ValidationFailed, match="restored already"):
        decisions.restore_items(reviewer, req.reference, reason="order_annulled",
                                item_ids=[a.id])
    assert {(i.target, i.restored_reason and i.restored_reason.value)
            for i in items_of(req.reference)} == {
        ("@a", "complaint_upheld"), ("@b", "complaint_upheld"), ("@c", None)}
    assert events_of(req.reference)[-1].kind == "items_restored"
    assert list(audit_verify.verify_all()) == []


# --- user notices and their clock ------------------------------------------------------------

def test_a_deferred_notice_alerts_once_when_it_ends(world, smtp):
    now = utcnow()
    req = world.actioned(["@a", "@b", "@c"], now=now - timedelta(hours=3))
    reviewer = world.actor("reviewer")
    a, b, c = items_of(req.reference)
    ends = now + timedelta(weeks=6)
    decisions.record_notice(reviewer, req.reference, notified=False, deferred_until=ends,
                            basis="tco_art_11_3", item_ids=[a.id, b.id], now=now)
    decisions.record_notice(reviewer, req.reference, notified=True, item_ids=[c.id], now=now)
    assert alerts.sweep_notices(ends - timedelta(seconds=1)).ended == 0
    first = alerts.sweep_notices(ends + timedelta(minutes=1))
    assert (first.ended, first.alerts, first.requests) == (2, 1, 1)
    assert first.notifications == 2  # the reviewer and the liaison
    again = alerts.sweep_notices(ends + timedelta(hours=1))
    assert (again.ended, again.alerts, again.notifications) == (0, 0, 0)
    ended = events_of(req.reference)[-1]
    assert (ended.kind, ended.payload["count"], ended.payload["bases"],
            ended.payload["positions"]) == ("notice_deferral_ended", 2, ["tco_art_11_3"],
                                            [[1, 2]])
    notes = db.session.scalars(sa.select(Notification).where(
        Notification.template == "notice_deferral_ended")).all()
    assert {n.recipient for n in notes} == {world.reviewer.email, world.liaison.email}
    outbox.deliver_due(ends + timedelta(hours=1))
    mails = smtp.sent({n.id for n in notes})
    assert len(mails) == 2
    assert all(req.reference in m.subject and "2 items" in m.body for m in mails)
    # Telling the users ends the deferral on the record.
    decisions.record_notice(reviewer, req.reference, notified=True, item_ids=[a.id, b.id],
                            now=ends + timedelta(hours=2))
    assert {(i.user_notified_at is not None, i.notice_deferred_until) for i in
            items_of(req.reference)} == {(True, None)}
    assert list(audit_verify.verify_all()) == []


def test_the_worker_pass_alerts_when_a_deferral_ends(world, smtp):
    now = utcnow()
    req = world.actioned(["@a", "@b"], now=now - timedelta(hours=3))
    a, _ = items_of(req.reference)
    decisions.record_notice(world.actor("reviewer"), req.reference, notified=False,
                            deferred_until=now - timedelta(minutes=5), basis="dsa_art_9_5",
                            item_ids=[a.id], now=now - timedelta(hours=2))
    line = worker.run_pass()
    assert "1 deferred notices ended" in line
    assert events_of(req.reference)[-1].kind == "notice_deferral_ended"
    assert "0 deferred notices ended" in worker.run_pass()  # once only
    assert list(audit_verify.verify_all()) == []


def test_a_notice_is_only_for_items_with_an_action(world):
    req = in_review(world, ["@a", "@b"])
    reviewer = world.actor("reviewer")
    a, b = items_of(req.reference)
    decisions.decide_items(reviewer, req.reference, decision="removed", item_ids=[a.id])
    with pytest.raises(ValidationFailed) as refused:
        decisions.record_notice(reviewer, req.reference, notified=True, item_ids=[a.id, b.id])
    assert [(e.code, e.index) for e in refused.value.errors] == [("not_eligible", b.id)]
    decisions.record_notice(reviewer, req.reference, notified=True, item_ids=[a.id])
    with pytest.raises(ValidationFailed, match="told already"):
        decisions.record_notice(reviewer, req.reference, notified=False, item_ids=[a.id],
                                deferred_until=utcnow() + timedelta(days=3),
                                basis="dsa_art_9_5")


# --- the pages -------------------------------------------------------------------------------

def _form(req: LegalRequest, **data: object) -> dict[str, object]:
    base: dict[str, object] = {"version": fresh(req.reference).version, "list_decision": "",
                               "list_text": "", "list_page": 1}
    base.update(data)
    return base


def test_the_reviewer_decides_in_bulk_with_scope_and_ground_and_sees_them(world, client):
    req = in_review(world, ["@a", "@b", "@c"])
    sign_in(client, world.reviewer)
    refused = client.post(f"/review/requests/{req.reference}/items", data=_form(
        req, scope="matching", decision="withheld", territorial_scope="TR, Atlantis",
        ground="platform_rules"))
    assert refused.status_code == 422
    page = text(refused)
    assert "Use two-letter country codes" in page and "Name the law or the platform rule" in page
    done = client.post(f"/review/requests/{req.reference}/items", data=_form(
        req, scope="matching", decision="withheld", territorial_scope="tr, az",
        scope_reason="The order names both", reason="Per the court's order"))
    assert done.status_code == 302
    page = text(client.get(done.headers["Location"]))
    assert "3 items decided: Withheld." in page
    assert "AZ, TR" in page and "The order names both" in page
    assert "Local law" in page and "Law No. 5651, Art. 8/A" in page
    assert "Where: AZ, TR" in page  # on the timeline


def test_the_reviewer_records_notices_and_restorations_for_ticked_items(world, client):
    req = world.actioned(["@a", "@b"], now=utcnow() - timedelta(hours=2))
    a, b = items_of(req.reference)
    sign_in(client, world.reviewer)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "Notice to the affected users" in page and "Restore items" in page
    missing = client.post(f"/review/requests/{req.reference}/notices", data=_form(
        req, item=[a.id], notice_target="selected", notice_mode="deferred"))
    assert missing.status_code == 422
    assert "Give the time until which notice is deferred." in text(missing)
    assert "Choose the legal basis of the deferral." in text(missing)
    until = (datetime.now(UTC) + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M")
    deferred = client.post(f"/review/requests/{req.reference}/notices", data=_form(
        req, item=[a.id], notice_target="selected", notice_mode="deferred",
        notice_deferred_until=until, notice_basis="court_gag_order"))
    assert deferred.status_code == 302
    assert "Notice to the user of 1 item is deferred." in text(
        client.get(deferred.headers["Location"]))
    restored = client.post(f"/review/requests/{req.reference}/restorations", data=_form(
        req, restore_target="acted", restore_reason="order_annulled",
        restore_note="Annulled on appeal"))
    assert restored.status_code == 302
    items = items_of(req.reference)
    assert items[0].notice_deferral_basis.value == "court_gag_order"
    assert items[1].notice_deferred_until is None
    assert {i.restored_reason.value for i in items} == {"order_annulled"}
    sign_in(client, world.official)
    agency = text(client.get(f"/requests/{req.reference}"))
    assert "Restored" in agency and "The order was annulled" in agency
    assert "Deferred until" in agency and "A court&#39;s gag order" in agency


def test_the_agency_sees_scope_and_outcome_per_item(world, client):
    req = in_review(world, ["@a", "@b"])
    reviewer = world.actor("reviewer")
    a, b = items_of(req.reference)
    decisions.decide_items(reviewer, req.reference, decision="withheld", item_ids=[a.id])
    decisions.decide_items(reviewer, req.reference, decision="no_action",
                           terms=Terms(no_action_reason="not_unlawful"), item_ids=[b.id])
    sign_in(client, world.official)
    page = text(client.get(f"/requests/{req.reference}"))
    rows = re.findall(r"<tr>.*?</tr>", page.split('id="items-title"')[1], re.S)
    first = next(r for r in rows if "@a" in r)
    second = next(r for r in rows if "@b" in r)
    assert "Withheld" in first and ">TR<" in first
    assert "No action" in second and "Not unlawful" in second
