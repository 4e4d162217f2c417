"""Transitions, item decisions and messages through the services, with their audit."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, LegalRequest, Message, RequestItem
from portal.services import audit_verify, decisions, lifecycle, messages
from portal.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.factories import NOW, World
from workflows.decisions import Terms
from workflows.request_flow import GuardFailed, IllegalTransition, MissingInput, NotPermitted


def events_of(req) -> list[Event]:
    return list(db.session.scalars(
        sa.select(Event).where(Event.request_id == req.id).order_by(Event.seq)))


def test_a_whole_story_is_on_the_record_and_verifies(app):
    w = World()
    req = w.file(["@a", "@b", "@c"])
    ref = req.reference
    lifecycle.fire(w.actor("reviewer"), ref, "begin_review", now=NOW + timedelta(minutes=5))
    lifecycle.fire(w.actor("reviewer"), ref, "request_info",
                   inputs={"question": "Which court?"}, now=NOW + timedelta(minutes=10))
    lifecycle.fire(w.actor("official"), ref, "provide_info",
                   inputs={"answer": "Ankara 3rd"}, now=NOW + timedelta(minutes=30))
    items = db.session.scalars(sa.select(RequestItem.id).where(
        RequestItem.request_id == req.id).order_by(RequestItem.position)).all()
    decisions.decide_items(w.actor("reviewer"), ref, decision="withheld_in_country",
                           item_ids=items[:2], now=NOW + timedelta(minutes=40))
    decisions.decide_items(w.actor("reviewer"), ref, decision="no_action",
                           reason="not_found", all_pending=True, now=NOW + timedelta(minutes=41))
    req = lifecycle.fire(w.actor("reviewer"), ref, "action", now=NOW + timedelta(minutes=45))
    assert req.state.value == "actioned"
    assert req.resolution.value == "partially_complied"
    assert req.assigned_reviewer_id == w.reviewer.id
    log = [(e.kind, e.trigger, e.to_state) for e in events_of(req)]
    assert log == [
        ("filed", None, "received"),
        ("transition", "begin_review", "legal_review"),
        ("transition", "request_info", "awaiting_info"),
        ("transition", "provide_info", "legal_review"),
        ("items_decided", None, None),
        ("items_decided", None, None),
        ("transition", "action", "actioned"),
    ]
    assert events_of(req)[4].payload["positions"] == [[1, 2]]
    bodies = [m.body for m in messages.messages_for(w.actor("official"), ref)]
    assert bodies == ["Which court?", "Ankara 3rd"]
    assert list(audit_verify.verify_all()) == []


def test_decline_turns_pending_items_into_no_action_with_the_reason(app):
    w = World()
    req = w.file(["@a", "@b"])
    w.to_review(req.reference)
    req = lifecycle.fire(w.actor("reviewer"), req.reference, "decline",
                         inputs={"reason": "insufficient legal basis",
                                 "no_action_reason": "invalid_order"}, now=NOW)
    assert (req.state.value, req.resolution.value) == ("closed", "declined")
    rows = db.session.execute(sa.select(RequestItem.decision, RequestItem.reason,
                                        RequestItem.no_action_reason).where(
        RequestItem.request_id == req.id)).all()
    assert {(d.value, r, c.value) for d, r, c in rows} == {
        ("no_action", "insufficient legal basis", "invalid_order")}


def test_a_refused_guard_changes_nothing(app):
    w = World()
    req = w.file(["@a", "@b"])
    w.to_review(req.reference)
    version = db.session.get(LegalRequest, req.id).version
    with pytest.raises(GuardFailed, match="2 of 2 are still pending"):
        lifecycle.fire(w.actor("reviewer"), req.reference, "action", now=NOW)
    db.session.expire_all()
    again = db.session.get(LegalRequest, req.id)
    assert (again.state.value, again.version, again.event_count) == ("legal_review", version, 2)


def test_dispute_then_revise_needs_changed_decisions(app):
    w = World()
    req = w.actioned(["@a", "@b"])
    ref = req.reference
    lifecycle.fire(w.actor("official"), ref, "dispute",
                   inputs={"reason": "unblocked after hours"}, now=NOW + timedelta(hours=2))
    with pytest.raises(GuardFailed, match="uphold"):
        lifecycle.fire(w.actor("reviewer"), ref, "revise", now=NOW + timedelta(hours=3))
    decisions.decide_items(w.actor("reviewer"), ref, decision="account_suspended",
                           all_pending=False, item_ids=[
                               db.session.scalar(sa.select(RequestItem.id).where(
                                   RequestItem.request_id == req.id,
                                   RequestItem.position == 1))],
                           terms=Terms(suspended_until=NOW + timedelta(days=90)),
                           now=NOW + timedelta(hours=4))
    req = lifecycle.fire(w.actor("reviewer"), ref, "revise", now=NOW + timedelta(hours=5))
    assert req.state.value == "actioned" and req.resolution.value == "complied"
    req = lifecycle.fire(w.actor("liaison"), ref, "close", now=NOW + timedelta(hours=6))
    assert req.state.value == "closed" and req.closed_at == NOW + timedelta(hours=6)


def test_dispute_window_closes(app):
    w = World()
    req = w.actioned()
    late = NOW + timedelta(days=app.config["DISPUTE_WINDOW_DAYS"], seconds=1)
    with pytest.raises(GuardFailed, match="dispute window"):
        lifecycle.fire(w.actor("official"), req.reference, "dispute",
                       inputs={"reason": "late"}, now=late)


def test_withdrawn_requests_cannot_be_disputed(app):
    w = World()
    req = w.file()
    lifecycle.fire(w.actor("official"), req.reference, "withdraw",
                   inputs={"reason": "court order lifted"}, now=NOW)
    with pytest.raises(GuardFailed, match="withdrawn"):
        lifecycle.fire(w.actor("official"), req.reference, "dispute",
                       inputs={"reason": "x"}, now=NOW)


def test_refusals_are_specific(app):
    w = World()
    req = w.file()
    with pytest.raises(NotPermitted, match="a platform_liaison may not begin_review"):
        lifecycle.fire(w.actor("liaison"), req.reference, "begin_review")
    with pytest.raises(IllegalTransition, match="cannot action a request that is received"):
        lifecycle.fire(w.actor("reviewer"), req.reference, "action")
    with pytest.raises(MissingInput, match="needs a non-empty reason"):
        lifecycle.fire(w.actor("official"), req.reference, "withdraw", inputs={"reason": " "})


def test_another_agencys_request_does_not_exist_for_its_officials(app):
    w = World()
    req = w.file()
    with pytest.raises(NotFound):
        lifecycle.fire(w.actor("stranger"), req.reference, "withdraw", inputs={"reason": "x"})
    with pytest.raises(NotFound):
        messages.messages_for(w.actor("stranger"), req.reference)
    with pytest.raises(NotFound):
        lifecycle.fire(w.actor("reviewer"), "TR-2026-999999", "begin_review")


def test_stale_version_is_a_conflict_and_changes_nothing(app):
    w = World()
    req = w.file()
    seen = req.version
    w.to_review(req.reference)
    with pytest.raises(Conflict, match="changed since you loaded it"):
        lifecycle.fire(w.actor("official"), req.reference, "withdraw",
                       inputs={"reason": "x"}, expected_version=seen)
    db.session.expire_all()
    assert db.session.get(LegalRequest, req.id).state.value == "legal_review"


def test_concurrent_conflicting_actions_one_wins(app):
    w = World()
    req = w.file()
    ref, version = req.reference, req.version
    reviewer, official = w.actor("reviewer"), w.actor("official")
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def act(name, actor, trigger, inputs):
        with app.app_context():
            barrier.wait()
            try:
                lifecycle.fire(actor, ref, trigger, inputs=inputs, expected_version=version)
                outcomes[name] = "won"
            except Conflict as exc:
                outcomes[name] = "conflict: " + exc.message
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=act, args=("review", reviewer, "begin_review", {})),
        threading.Thread(target=act, args=("withdraw", official, "withdraw",
                                           {"reason": "lifted"})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(v.split(":")[0] for v in outcomes.values()) == ["conflict", "won"]
    req = db.session.scalar(sa.select(LegalRequest).where(LegalRequest.reference == ref))
    winner = next(k for k, v in outcomes.items() if v == "won")
    assert req.state.value == ("legal_review" if winner == "review" else "closed")
    assert req.event_count == 2
    assert list(audit_verify.verify_all()) == []


def test_bulk_decisions_by_id_and_all_pending(app):
    w = World()
    req = w.file(["@a", "@b", "@c", "@d"])
    w.to_review(req.reference)
    ids = db.session.scalars(sa.select(RequestItem.id).where(
        RequestItem.request_id == req.id).order_by(RequestItem.position)).all()
    assert decisions.decide_items(w.actor("reviewer"), req.reference, decision="removed",
                                  item_ids=[ids[0], ids[2]], now=NOW) == 2
    assert decisions.decide_items(w.actor("reviewer"), req.reference, decision="labelled",
                                  all_pending=True, now=NOW) == 2
    rows = db.session.execute(sa.select(RequestItem.position, RequestItem.decision).where(
        RequestItem.request_id == req.id).order_by(RequestItem.position)).all()
    assert [d.value for _, d in rows] == ["removed", "labelled", "removed", "labelled"]


def test_bulk_decision_errors(app):
    w = World()
    req = w.file(["@a"])
    other = w.file(["@z"])
    with pytest.raises(Conflict, match="only while under review"):
        w.decide_all(req.reference)
    w.to_review(req.reference)
    foreign = db.session.scalar(sa.select(RequestItem.id).where(
        RequestItem.request_id == other.id))
    with pytest.raises(ValidationFailed) as refused:
        decisions.decide_items(w.actor("reviewer"), req.reference, decision="removed",
                               item_ids=[foreign, 987654])
    assert sorted(e.index for e in refused.value.errors) == sorted([foreign, 987654])
    with pytest.raises(ValidationFailed, match="no action needs a reason from the list"):
        decisions.decide_items(w.actor("reviewer"), req.reference, decision="no_action",
                               all_pending=True)
    with pytest.raises(ValidationFailed, match="unknown decision"):
        decisions.decide_items(w.actor("reviewer"), req.reference, decision="nuke",
                               all_pending=True)
    with pytest.raises(Forbidden):
        decisions.decide_items(w.actor("liaison"), req.reference, decision="removed",
                               all_pending=True)


def test_internal_notes_never_reach_the_agency(app):
    w = World()
    req = w.file()
    messages.post_message(w.actor("reviewer"), req.reference, "looks like bots", internal=True)
    messages.post_message(w.actor("official"), req.reference, "any news?")
    assert [m.body for m in messages.messages_for(w.actor("official"), req.reference)] == [
        "any news?"]
    assert len(messages.messages_for(w.actor("reviewer"), req.reference)) == 2
    with pytest.raises(Forbidden):
        messages.post_message(w.actor("official"), req.reference, "psst", internal=True)
    with pytest.raises(ValidationFailed):
        messages.post_message(w.actor("official"), req.reference, "   ")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 2
