"""Case handling (issue 13, part 4): who holds a request (take, unassign, reassign), only
its holder or a lead reviewer decides it, disputes item by item with an answer per item,
staff writing to the agency, and the lead reviewer flag. Pages and API alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, ItemDispute, LegalRequest, Message, RequestItem, User
from portal.models.columns import utcnow
from portal.services import decisions, disputes, lifecycle, reclassify, tokens, users
from portal.services.actors import Actor
from portal.services.audit_verify import verify_all
from portal.services.errors import ValidationFailed
from tests.conftest import sign_in as _sign_in
from tests.factories import World, handles, make_user
from workflows.request_flow import NotAssignee
from workflows.roles import Role

pytestmark = pytest.mark.usefixtures("policies")

#: How the refusal reads in Turkish (portal/translations/tr).
TURKISH_REFUSAL = ("Bu talep başka bir inceleme uzmanında: hedefleri hakkında yalnızca o veya bir "
                   "kıdemli inceleme uzmanı karar verebilir")


def fresh(reference: str) -> LegalRequest:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(LegalRequest).where(LegalRequest.reference == reference)).one()


def sign_in(client, user: User) -> None:
    """Sign in as ``user``, signing out whoever the client was first."""
    client.post("/logout")
    _sign_in(client, user)


def text(response) -> str:
    return response.get_data(as_text=True)


def bearer(user: User) -> dict[str, str]:
    _, token = tokens.create_token(user, "test", scopes=["file", "act"])
    return {"Authorization": f"Bearer {token}"}


def item_ids(req: LegalRequest) -> list[int]:
    return list(db.session.scalars(sa.select(RequestItem.id).where(
        RequestItem.request_id == req.id).order_by(RequestItem.position)))


def events(req: LegalRequest, trigger: str) -> list[Event]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Event).where(
        Event.request_id == req.id, Event.trigger == trigger).order_by(Event.seq)))


def in_review(world: World, targets: list[str] | None = None) -> LegalRequest:
    when = utcnow() - timedelta(hours=1)
    req = world.file(targets, now=when)
    world.to_review(req.reference, when)
    return fresh(req.reference)


@pytest.fixture
def second(world):
    """A second legal reviewer (holds nothing)."""
    return make_user("legal_reviewer")


@pytest.fixture
def lead(world):
    """A lead reviewer (holds nothing)."""
    user = make_user("legal_reviewer")
    users.set_lead_reviewer(world.actor("admin"), user.id, True)
    return user


def act(client, req: LegalRequest, trigger: str, **inputs: str):
    data = {f"{trigger}-version": fresh(req.reference).version}
    data.update({f"{trigger}-{name}": value for name, value in inputs.items()})
    return client.post(f"/review/requests/{req.reference}/actions/{trigger}", data=data)


# -- who holds a request ----------------------------------------------------------------

def test_the_holder_unassigns_themself_and_another_reviewer_takes_it(world, client, second):
    req = in_review(world)
    sign_in(client, world.reviewer)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "Unassign the reviewer" in page and "Reassign to another reviewer" not in page
    response = act(client, req, "unassign", reason="On leave from tomorrow")
    assert response.status_code == 302
    assert fresh(req.reference).assigned_reviewer_id is None
    assert fresh(req.reference).state.value == "legal_review"
    [event] = events(req, "unassign")
    assert (event.from_state, event.to_state) == ("legal_review", "legal_review")
    assert event.actor_id == world.reviewer.id
    assert event.payload["from_reviewer_id"] == world.reviewer.id
    assert event.payload["to_reviewer_id"] is None
    assert event.payload["reason"] == "On leave from tomorrow"

    sign_in(client, second)
    assert "Take this request" in text(client.get(f"/review/requests/{req.reference}"))
    assert act(client, req, "claim").status_code == 302
    assert fresh(req.reference).assigned_reviewer_id == second.id
    [taken] = events(req, "claim")
    assert taken.payload["to_reviewer_id"] == second.id and "reason" not in taken.payload


def test_only_a_lead_reviewer_or_a_liaison_reassigns(world, client, second, lead):
    req = in_review(world)
    sign_in(client, world.reviewer)  # the holder, not a lead
    refused = act(client, req, "reassign", reviewer=str(second.id))
    assert refused.status_code == 302
    assert "may not take this action" in text(client.get(refused.headers["Location"]))
    assert fresh(req.reference).assigned_reviewer_id == world.reviewer.id

    sign_in(client, lead)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "Reassign to another reviewer" in page and second.name in page
    assert act(client, req, "reassign", reviewer=str(second.id),
               reason="Balancing the queue").status_code == 302
    assert fresh(req.reference).assigned_reviewer_id == second.id
    [event] = events(req, "reassign")
    assert event.actor_id == lead.id
    assert (event.payload["from_reviewer_id"], event.payload["to_reviewer_id"],
            event.payload["reason"]) == (world.reviewer.id, second.id, "Balancing the queue")

    # A liaison, through the API: an official is no reviewer to hand it to.
    headers = bearer(world.liaison)
    bad = client.post(f"/api/v1/requests/{req.reference}/actions/reassign",
                      json={"reviewer_id": world.official.id}, headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["code"] == "not_reviewer"
    same = client.post(f"/api/v1/requests/{req.reference}/actions/reassign",
                       json={"reviewer_id": second.id}, headers=headers)
    assert same.status_code == 422 and same.get_json()["errors"][0]["code"] == "same_reviewer"
    done = client.post(f"/api/v1/requests/{req.reference}/actions/reassign",
                       json={"reviewer_id": world.reviewer.id}, headers=headers)
    assert done.status_code == 200
    assert fresh(req.reference).assigned_reviewer_id == world.reviewer.id
    assert len(events(req, "reassign")) == 2


def test_the_agency_never_sees_who_holds_its_request(world, client, second):
    req = in_review(world)
    lifecycle.fire(world.actor("reviewer"), req.reference, "unassign",
                   inputs={"reason": "internal matter"})
    lifecycle.fire(Actor.of(second), req.reference, "claim")
    response = client.get(f"/api/v1/requests/{req.reference}/events",
                          headers=bearer(world.official))
    triggers = [e["trigger"] for e in response.get_json()["data"]]
    assert triggers == [None, "begin_review"]
    staff = client.get(f"/api/v1/requests/{req.reference}/events",
                       headers=bearer(world.liaison)).get_json()["data"]
    assert [e["trigger"] for e in staff][-2:] == ["unassign", "claim"]
    sign_in(client, world.official)
    assert "internal matter" not in text(client.get(f"/requests/{req.reference}"))


# -- only the holder or a lead reviewer decides ----------------------------------------

def test_a_second_reviewer_is_refused_on_the_api_with_a_problem(world, client, second):
    req = in_review(world, handles(2))
    headers = bearer(second)
    refused = client.post(f"/api/v1/requests/{req.reference}/actions/request_info",
                          json={"question": "Which court?"}, headers=headers)
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.get_json()
    assert problem["type"].endswith("not-assignee")
    assert "another reviewer holds this request" in problem["detail"]
    decided = client.post(f"/api/v1/requests/{req.reference}/decisions",
                          json={"decision": "removed", "all_pending": True}, headers=headers)
    assert decided.status_code == 403 and decided.get_json()["type"].endswith("not-assignee")
    assert fresh(req.reference).state.value == "legal_review"
    assert fresh(req.reference).decision_counts == {"pending": 2}
    # Its detail offers the second reviewer nothing but a refused take.
    detail = client.get(f"/api/v1/requests/{req.reference}", headers=headers).get_json()
    assert detail["allowed_actions"] == []
    assert [b["guard"] for b in detail["blocked_actions"]] == ["unclaimed"]


def test_a_second_reviewer_is_refused_on_the_page_in_words(world, client, second):
    req = in_review(world, handles(2))
    sign_in(client, second)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "holds this request. Only they or a lead reviewer decide" in page
    assert 'id="decide-form"' not in page and "Action the request" not in page
    response = client.post(f"/review/requests/{req.reference}/items", data={
        "version": req.version, "decision": "removed", "scope": "selected",
        "item": item_ids(req)}, follow_redirects=True)
    assert "Another reviewer holds this request: only they or a lead reviewer" in text(response)
    assert fresh(req.reference).decision_counts == {"pending": 2}
    refused = act(client, req, "decline", reason="no", no_action_reason="not_unlawful")
    assert "Another reviewer holds this request" in text(
        client.get(refused.headers["Location"]))
    assert fresh(req.reference).state.value == "legal_review"
    # In the reader's language, too.
    db.session.get(User, second.id).locale = "tr"
    db.session.commit()
    response = client.post(f"/review/requests/{req.reference}/items", data={
        "version": req.version, "decision": "removed", "scope": "selected",
        "item": item_ids(req)}, follow_redirects=True)
    assert TURKISH_REFUSAL in text(response)


def test_a_lead_reviewer_decides_a_request_another_holds(world, client, lead):
    req = in_review(world, handles(2))
    sign_in(client, lead)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "As a lead reviewer you may decide" in page and 'id="decide-form"' in page
    assert decisions.decide_items(Actor.of(lead), req.reference, decision="removed",
                                  all_pending=True) == 2
    assert act(client, req, "action").status_code == 302
    assert fresh(req.reference).state.value == "actioned"
    # The flag taken away counts at once.
    users.set_lead_reviewer(world.actor("admin"), lead.id, False)
    other = in_review(world)
    with pytest.raises(NotAssignee):
        decisions.decide_items(Actor.of(lead), other.reference, decision="removed",
                               all_pending=True)


# -- disputes item by item --------------------------------------------------------------

def actioned(world: World, count: int = 3) -> LegalRequest:
    now = utcnow() - timedelta(hours=1)
    req = world.file(handles(count), now=now)
    world.to_review(req.reference, now)
    world.decide_all(req.reference, "removed", now=now)
    lifecycle.fire(world.actor("reviewer"), req.reference, "action", now=now)
    return fresh(req.reference)


def contested_rows(req: LegalRequest) -> dict[int, ItemDispute]:
    db.session.expire_all()
    return {row.item_id: row for row in db.session.scalars(
        sa.select(ItemDispute).where(ItemDispute.request_id == req.id))}


def test_the_agency_contests_two_items_on_its_page(world, client):
    req = actioned(world, 3)
    first, _, third = item_ids(req)
    sign_in(client, world.official)
    page = text(client.get(f"/requests/{req.reference}"))
    assert 'form="action-dispute" name="dispute-item"' in page
    response = client.post(f"/requests/{req.reference}/act/dispute", data={
        "dispute-version": req.version, "dispute-text": "Two accounts are not ours to judge",
        "dispute-item": [str(first), str(third)],
        f"dispute-reason-{third}": "This one is a news outlet"})
    assert response.status_code == 302
    assert fresh(req.reference).state.value == "disputed"
    rows = contested_rows(req)
    assert set(rows) == {first, third}
    assert rows[first].reason is None and rows[third].reason == "This one is a news outlet"
    assert {r.round for r in rows.values()} == {1}
    [event] = events(req, "dispute")
    assert event.payload["contested"] == 2
    assert event.payload["positions"] == [[1, 1], [3, 3]]
    assert event.payload["item_reasons"] == [{"position": 3,
                                              "reason": "This one is a news outlet"}]
    page = text(client.get(f"/requests/{req.reference}"))
    assert "Your dispute, item by item" in page and "This one is a news outlet" in page


def test_a_target_not_of_this_request_disputes_nothing(world, client):
    req = actioned(world, 2)
    other = actioned(world, 1)
    sign_in(client, world.official)
    response = client.post(f"/requests/{req.reference}/act/dispute", data={
        "dispute-version": req.version, "dispute-text": "wrong",
        "dispute-item": [str(item_ids(other)[0])]}, follow_redirects=True)
    assert "not part of this request" in text(response)
    assert fresh(req.reference).state.value == "actioned"
    assert contested_rows(req) == {}


def test_a_whole_request_dispute_contests_every_item_and_uphold_answers_them(world, client):
    req = actioned(world, 3)
    lifecycle.fire(world.actor("official"), req.reference, "dispute",
                   inputs={"reason": "All wrong"})
    rows = contested_rows(req)
    assert len(rows) == 3 and all(r.answer is None for r in rows.values())
    lifecycle.fire(world.actor("reviewer"), req.reference, "uphold",
                   inputs={"reason": "The order covers them"})
    rows = contested_rows(req)
    assert {(r.answer.value, r.answer_text) for r in rows.values()} == {
        ("upheld", "The order covers them")}
    [event] = events(req, "uphold")
    assert event.payload["answered"] == {"upheld": 3}


def test_the_reviewer_answers_item_by_item_and_the_agency_reads_it(world, client):
    req = actioned(world, 3)
    first, second_item, third = item_ids(req)
    response = client.post(f"/api/v1/requests/{req.reference}/actions/dispute", json={
        "reason": "See each", "items": [{"id": first, "reason": "satire"},
                                        {"id": second_item}]},
        headers=bearer(world.official))
    assert response.status_code == 200 and response.get_json()["state"] == "disputed"
    listed = client.get(f"/api/v1/requests/{req.reference}/disputes",
                        headers=bearer(world.official)).get_json()
    assert [(r["id"], r["reason"], r["answer"]) for r in listed["data"]] == [
        (first, "satire", None), (second_item, None, None)]
    # Another agency: not found.
    assert client.get(f"/api/v1/requests/{req.reference}/disputes",
                      headers=bearer(world.stranger)).status_code == 404

    sign_in(client, world.reviewer)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "The agency's dispute, item by item" in page and "satire" in page
    # The first stands.
    answered = client.post(f"/review/requests/{req.reference}/disputes/answers", data={
        "answer-version": fresh(req.reference).version, "answer-item": [str(first)],
        "answer-answer": "upheld", "answer-text": "Satire is not exempt under 8/A",
        "answer-target": "selected"})
    assert answered.status_code == 302
    # The second cannot be answered "changed" before its decision changes.
    refused = client.post(f"/review/requests/{req.reference}/disputes/answers", data={
        "answer-version": fresh(req.reference).version, "answer-item": [str(second_item)],
        "answer-answer": "changed", "answer-text": "Lifted", "answer-target": "selected"})
    assert refused.status_code == 422
    assert "change it with the decision form first" in text(refused)
    decisions.decide_items(world.actor("reviewer"), req.reference, decision="no_action",
                           terms=decisions.Terms(no_action_reason="not_unlawful"),
                           item_ids=[second_item], reason="Reconsidered")
    api = client.post(f"/api/v1/requests/{req.reference}/disputes/answers", json={
        "item_ids": [second_item], "answer": "changed", "text": "Restored: not unlawful"},
        headers=bearer(world.reviewer))
    assert api.status_code == 200 and api.get_json()["changed"] == 1
    # Not contested: refused with its id.
    bad = client.post(f"/api/v1/requests/{req.reference}/disputes/answers", json={
        "item_ids": [third], "answer": "upheld", "text": "x"},
        headers=bearer(world.reviewer))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["code"] == "not_contested"
    kinds = [(e.payload["answer"], e.payload["count"]) for e in db.session.scalars(
        sa.select(Event).where(Event.request_id == req.id,
                               Event.kind == "dispute_answered").order_by(Event.seq))]
    assert kinds == [("upheld", 1), ("changed", 1)]

    lifecycle.fire(world.actor("reviewer"), req.reference, "revise")
    sign_in(client, world.official)
    page = text(client.get(f"/requests/{req.reference}"))
    assert "Satire is not exempt under 8/A" in page and "Restored: not unlawful" in page
    assert "The decision was changed" in page and "The decision stands" in page
    listed = client.get(f"/api/v1/requests/{req.reference}/disputes",
                        headers=bearer(world.official)).get_json()["data"]
    assert [(r["answer"], r["answer_text"]) for r in listed] == [
        ("upheld", "Satire is not exempt under 8/A"), ("changed", "Restored: not unlawful")]


def test_a_second_reviewer_cannot_answer_a_dispute(world, client, second):
    req = actioned(world, 2)
    lifecycle.fire(world.actor("official"), req.reference, "dispute",
                   inputs={"reason": "All wrong"})
    refused = client.post(f"/api/v1/requests/{req.reference}/disputes/answers", json={
        "all_open": True, "answer": "upheld", "text": "stands"}, headers=bearer(second))
    assert refused.status_code == 403 and refused.get_json()["type"].endswith("not-assignee")
    agency = client.post(f"/api/v1/requests/{req.reference}/disputes/answers", json={
        "all_open": True, "answer": "upheld", "text": "stands"},
        headers=bearer(world.official))
    assert agency.status_code == 403
    assert all(r.answer is None for r in contested_rows(req).values())


def test_contested_items_are_named_only_with_a_dispute(world):
    req = in_review(world)
    with pytest.raises(ValidationFailed) as refused:
        lifecycle.fire(world.actor("reviewer"), req.reference, "request_info",
                       inputs={"question": "?"}, contested=[disputes.Contest(1)])
    assert refused.value.errors[0].code == "not_dispute"


# -- writing to the agency --------------------------------------------------------------

def test_a_liaison_writes_to_the_agency_which_reads_it(world, client):
    req = in_review(world)
    sign_in(client, world.liaison)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert 'action="/review/requests/' + req.reference + '/messages"' in page
    response = client.post(f"/review/requests/{req.reference}/messages",
                           data={"message-body": "Please send the annexure to the order."})
    assert response.status_code == 302
    client.post(f"/review/requests/{req.reference}/messages",
                data={"message-body": "Staff only", "message-internal": "y"})
    written = db.session.scalars(sa.select(Message).where(
        Message.request_id == req.id).order_by(Message.id)).all()
    assert [(m.author_id, m.internal) for m in written] == [
        (world.liaison.id, False), (world.liaison.id, True)]
    assert [e.kind for e in db.session.scalars(sa.select(Event).where(
        Event.request_id == req.id, Event.kind.in_(("message", "note")))
        .order_by(Event.seq))] == [
        "message", "note"]
    sign_in(client, world.official)
    page = text(client.get(f"/requests/{req.reference}"))
    assert "Please send the annexure to the order." in page and "Staff only" not in page


# -- the lead reviewer flag -------------------------------------------------------------

def test_the_admin_sets_the_lead_reviewer_flag(world, client, second):
    sign_in(client, world.admin)
    assert "Lead reviewer" in text(client.get(f"/admin/users/{second.id}"))
    client.post(f"/admin/users/{second.id}/lead-reviewer", data={"lead_reviewer": "y"})
    db.session.expire_all()
    assert db.session.get(User, second.id).lead_reviewer is True
    client.post(f"/admin/users/{second.id}/lead-reviewer", data={})
    db.session.expire_all()
    assert db.session.get(User, second.id).lead_reviewer is False
    refused = client.post(f"/admin/users/{world.liaison.id}/lead-reviewer",
                          data={"lead_reviewer": "y"}, follow_redirects=True)
    assert "Only legal reviewers can be lead reviewers." in text(refused)
    db.session.expire_all()
    assert db.session.get(User, world.liaison.id).lead_reviewer is False
    # A lead reviewer who becomes a liaison is a lead no more.
    users.set_lead_reviewer(Actor(None, Role.ADMIN), second.id, True)
    users.change_role(world.actor("admin"), second.id, "platform_liaison")
    db.session.expire_all()
    assert db.session.get(User, second.id).lead_reviewer is False


def test_the_users_command_sets_the_flag(world, runner, second):
    done = runner.invoke(args=["users", "lead-reviewer", second.email])
    assert done.exit_code == 0, done.output
    assert "lead reviewer: yes" in done.output
    db.session.expire_all()
    assert db.session.get(User, second.id).lead_reviewer is True
    off = runner.invoke(args=["users", "lead-reviewer", second.email, "--off"])
    assert off.exit_code == 0
    refused = runner.invoke(args=["users", "lead-reviewer", world.official.email])
    assert refused.exit_code == 1 and "only legal reviewers" in refused.output


def test_a_liaison_hands_requests_on_but_never_decides(world, client, second):
    req = in_review(world)
    sign_in(client, world.liaison)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "Unassign the reviewer" in page and "Reassign to another reviewer" in page
    refused = act(client, req, "request_info", question="Which court?")
    assert "may not take this action" in text(client.get(refused.headers["Location"]))
    assert fresh(req.reference).state.value == "legal_review"
    assert act(client, req, "unassign").status_code == 302
    assert fresh(req.reference).assigned_reviewer_id is None
    [event] = events(req, "unassign")
    assert event.actor_id == world.liaison.id and event.actor_role == "platform_liaison"


def test_the_audit_record_verifies_after_every_case_handling_step(world, second, lead):
    req = actioned(world, 3)
    first = item_ids(req)[0]
    lifecycle.fire(world.actor("official"), req.reference, "dispute",
                   inputs={"reason": "the first"}, contested=[disputes.Contest(first, "x")])
    lifecycle.fire(world.actor("reviewer"), req.reference, "unassign")
    lifecycle.fire(Actor.of(second), req.reference, "claim")
    lifecycle.fire(Actor.of(lead), req.reference, "reassign",
                   inputs={"reviewer": str(world.reviewer.id), "reason": "back"})
    disputes.answer_items(world.actor("reviewer"), req.reference, answer="upheld",
                          text="stands", all_open=True)
    lifecycle.fire(world.actor("reviewer"), req.reference, "uphold",
                   inputs={"reason": "kept"})
    assert list(verify_all()) == []


# -- restorations, notices and reclassification are the holder's too (issue 13) ----------

def acted_on(world: World) -> LegalRequest:
    """Under review, held by the world's reviewer, both items removed (an hour ago)."""
    when = utcnow() - timedelta(hours=1)
    req = in_review(world, handles(2))
    world.decide_all(req.reference, "removed", now=when)
    return fresh(req.reference)


def kinds(req: LegalRequest, kind: str) -> list[Event]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Event).where(
        Event.request_id == req.id, Event.kind == kind).order_by(Event.seq)))


RESTORE = {"all_acted": True, "reason": "order_annulled"}
NOTICE = {"all_acted": True, "notified": True}


def test_a_second_reviewer_is_refused_after_effects_and_reclassifying(world, client,
                                                                       second):
    req = acted_on(world)
    base = f"/api/v1/requests/{req.reference}"
    headers = bearer(second)
    for path, body in (("/restorations", RESTORE), ("/notices", NOTICE)):
        refused = client.post(base + path, json=body, headers=headers)
        assert refused.status_code == 403
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.get_json()["type"].endswith("not-assignee")
        assert "another reviewer holds this request" in refused.get_json()["detail"]
    with pytest.raises(NotAssignee):
        reclassify.reclassify(Actor.of(second), req.reference, priority="emergency",
                              reason="Threat to life.", count_from="receipt")
    now = fresh(req.reference)
    assert now.priority.value == "urgent" and now.version == req.version
    assert all(i.restored_at is None and i.user_notified_at is None
               for i in db.session.scalars(sa.select(RequestItem).where(
                   RequestItem.request_id == req.id)))
    assert kinds(req, "items_restored") == kinds(req, "notice_recorded") == []
    # The holder may (the world's reviewer holds it).
    ok = client.post(base + "/notices", json=NOTICE, headers=bearer(world.reviewer))
    assert ok.status_code == 200 and ok.get_json()["changed"] == 2


def test_a_second_reviewer_is_refused_on_the_pages_in_words(world, client, second):
    req = acted_on(world)
    sign_in(client, second)
    restored = client.post(f"/review/requests/{req.reference}/restorations", data={
        "version": req.version, "restore_target": "acted",
        "restore_reason": "order_annulled"}, follow_redirects=True)
    assert "Another reviewer holds this request: only they or a lead reviewer" in \
        text(restored)
    reclassified = client.post(f"/review/requests/{req.reference}/reclassify", data={
        "reclassify-version": req.version, "reclassify-category": req.category.value,
        "reclassify-priority": "emergency", "reclassify-count_from": "receipt",
        "reclassify-reason": "Threat to life."}, follow_redirects=True)
    assert "Another reviewer holds this request: only they or a lead reviewer" in \
        text(reclassified)
    now = fresh(req.reference)
    assert now.priority.value == "urgent" and now.version == req.version


def test_a_second_reviewer_is_not_offered_the_holders_forms(world, client, second, lead):
    req = acted_on(world)
    sign_in(client, second)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert "holds this request. Only they or a lead reviewer decide" in page
    for form in ('id="notice"', 'id="restore"', "/reclassify", 'id="decide-form"'):
        assert form not in page
    # The holder and a lead reviewer are offered them.
    for user in (world.reviewer, lead):
        sign_in(client, user)
        page = text(client.get(f"/review/requests/{req.reference}"))
        for form in ('id="notice"', 'id="restore"', "/reclassify"):
            assert form in page


def test_a_lead_reviewer_restores_notifies_and_reclassifies(world, client, lead):
    req = acted_on(world)
    base = f"/api/v1/requests/{req.reference}"
    headers = bearer(lead)
    ok = client.post(base + "/notices", json=NOTICE, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["changed"] == 2
    ok = client.post(base + "/restorations", json=RESTORE, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["changed"] == 2
    reclassify.reclassify(Actor.of(lead), req.reference, priority="emergency",
                          reason="Threat to life.", count_from="receipt")
    assert fresh(req.reference).priority.value == "emergency"
    assert [e.actor_id for e in kinds(req, "items_restored")] == [lead.id]


def test_with_nobody_holding_it_any_reviewer_may(world, client, second):
    req = acted_on(world)
    lifecycle.fire(world.actor("reviewer"), req.reference, "unassign")
    assert fresh(req.reference).assigned_reviewer_id is None
    base = f"/api/v1/requests/{req.reference}"
    headers = bearer(second)
    ok = client.post(base + "/notices", json=NOTICE, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["changed"] == 2
    sign_in(client, second)
    restored = client.post(f"/review/requests/{req.reference}/restorations", data={
        "version": fresh(req.reference).version, "restore_target": "acted",
        "restore_reason": "order_annulled"}, follow_redirects=True)
    assert "2 items are recorded as restored." in text(restored)
    reclassify.reclassify(Actor.of(second), req.reference, priority="emergency",
                          reason="Threat to life.", count_from="receipt")
    assert fresh(req.reference).priority.value == "emergency"
