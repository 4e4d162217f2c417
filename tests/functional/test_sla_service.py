"""SLA clocks wired into the lifecycle, the sweep and the must-show worked examples."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Event,
    HolidayOverride,
    LegalRequest,
    Notification,
    SlaClock,
    SlaPolicy,
)
from portal.services import alerts, audit_verify, decisions, lifecycle, reclassify
from portal.services.actors import Actor
from portal.services.filing import file_request
from tests.factories import World, filing, make_agency, make_user

T10 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday


def clock(req, target: str) -> SlaClock:
    return db.session.scalar(sa.select(SlaClock).where(
        SlaClock.request_id == req.id, SlaClock.target == target))


def file_as(country: str, category: str, priority: str, now: datetime = T10, **extra):
    agency = make_agency(country)
    official = make_user("agency_official", agency)
    req = file_request(Actor.of(official), filing(["@a", "@b"], category=category,
                                                   priority=priority, **extra), now=now)
    return req, official


def test_eu_terrorism_one_hour_and_restart_after_clarification(policies):
    req, official = file_as("DE", "terrorism", "urgent")
    resolve = clock(req, "resolve")
    assert resolve.due_at == datetime(2026, 11, 18, 11, 0, tzinfo=UTC)
    assert "2021/784" in resolve.source and resolve.resume == "restart"
    reviewer = make_user("legal_reviewer")
    lifecycle.fire(Actor.of(reviewer), req.reference, "begin_review",
                   now=T10 + timedelta(minutes=5))
    lifecycle.fire(Actor.of(reviewer), req.reference, "request_info",
                   inputs={"question": "Which URL?"}, now=T10 + timedelta(minutes=20))
    paused = clock(req, "resolve")
    assert paused.paused_at == T10 + timedelta(minutes=20) and paused.next_alert_at is None
    lifecycle.fire(Actor.of(official), req.reference, "provide_info",
                   inputs={"answer": "All three."}, now=datetime(2026, 11, 18, 12, 0,
                                                                 tzinfo=UTC))
    resumed = clock(req, "resolve")
    assert resumed.due_at == datetime(2026, 11, 18, 13, 0, tzinfo=UTC)
    assert resumed.paused_at is None and resumed.paused_seconds == 100 * 60


@pytest.mark.parametrize("priority", ["standard", "urgent"])
def test_indonesian_terrorism_is_four_hours_whatever_the_priority(policies, priority):
    req, _ = file_as("ID", "terrorism", priority)
    assert clock(req, "resolve").due_at == T10 + timedelta(hours=4)


def test_indonesian_hate_speech_is_a_day(policies):
    req, _ = file_as("ID", "hate_speech", "standard")
    assert clock(req, "resolve").due_at == T10 + timedelta(hours=24)


@pytest.mark.parametrize("country", ["BR", "DE", "ID", "US"])
def test_emergency_anywhere_is_one_hour(policies, country):
    req, _ = file_as(country, "other", "emergency")
    assert clock(req, "resolve").due_at == T10 + timedelta(hours=1)
    assert clock(req, "acknowledge").due_at == T10 + timedelta(minutes=15)


def test_standard_request_without_a_policy_is_five_business_days(policies):
    # Monday 16 Nov 2026, 10:00 in Brasília (13:00 UTC). Five business days are 40
    # working hours (09:00-17:00): Mon 7 + Tue 8 + Wed 8 + Thu 8 = 31; Friday 20 Nov is a
    # national holiday (Black Awareness Day) and then the weekend; Mon 23 gives 8 more and
    # the last hour ends Tuesday 24 Nov 10:00 local.
    monday = datetime(2026, 11, 16, 13, 0, tzinfo=UTC)
    req, _ = file_as("BR", "defamation", "standard", now=monday)
    assert clock(req, "resolve").due_at == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    assert clock(req, "acknowledge").due_at == datetime(2026, 11, 17, 13, 0, tzinfo=UTC)


def test_a_late_announced_holiday_moves_a_business_deadline(policies):
    db.session.add(HolidayOverride(country="BR", day=datetime(2026, 11, 17).date(),
                                   holiday=True, name="announced late"))
    db.session.commit()
    monday = datetime(2026, 11, 16, 13, 0, tzinfo=UTC)
    req, _ = file_as("BR", "defamation", "standard", now=monday)
    assert clock(req, "resolve").due_at == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def test_clocks_follow_the_whole_lifecycle(policies):
    w = World()
    req = w.file(now=T10)
    assert {c.target for c in db.session.scalars(sa.select(SlaClock))} == {
        "acknowledge", "resolve"}
    w.to_review(req.reference, now=T10 + timedelta(minutes=30))
    assert clock(req, "acknowledge").stopped_at == T10 + timedelta(minutes=30)
    assert clock(req, "acknowledge").open_due_at is None
    w.decide_all(req.reference, now=T10 + timedelta(hours=1))
    lifecycle.fire(w.actor("reviewer"), req.reference, "action", now=T10 + timedelta(hours=2))
    assert clock(req, "resolve").stopped_at == T10 + timedelta(hours=2)
    lifecycle.fire(w.actor("official"), req.reference, "dispute",
                   inputs={"reason": "restored"}, now=T10 + timedelta(hours=3))
    assert clock(req, "dispute").stopped_at is None
    ids = db.session.scalars(sa.select(Event.id)).all()
    assert ids
    items = db.session.scalars(sa.text(f"select id from request_items where request_id={req.id}"))
    decisions.decide_items(w.actor("reviewer"), req.reference, decision="removed",
                           item_ids=list(items), now=T10 + timedelta(hours=4))
    lifecycle.fire(w.actor("reviewer"), req.reference, "revise",
                   now=T10 + timedelta(hours=5))
    assert clock(req, "dispute").stopped_at == T10 + timedelta(hours=5)
    filed = db.session.scalar(sa.select(Event).where(Event.kind == "filed"))
    assert set(filed.payload["sla"]) == {"acknowledge", "resolve"}


def test_reclassifying_rematches_the_policy_on_the_record(policies):
    req, _ = file_as("ID", "hate_speech", "standard")
    reviewer = make_user("legal_reviewer")
    reclassify.reclassify(Actor.of(reviewer), req.reference, category="terrorism",
                          count_from="receipt",
                          reason="channel posts ISIS propaganda", now=T10 + timedelta(hours=1))
    assert clock(req, "resolve").due_at == T10 + timedelta(hours=4)
    event = db.session.scalar(sa.select(Event).where(Event.kind == "reclassified"))
    assert event.payload["category"] == ["hate_speech", "terrorism"]
    assert event.payload["sla"]["resolve"]["was_due_at"] == (T10 + timedelta(hours=24)).isoformat()
    assert list(audit_verify.verify_all()) == []


def alert_events() -> list[tuple[int, str, float]]:
    rows = db.session.scalars(sa.select(Event).where(Event.kind == "sla_alert")).all()
    return sorted((e.request_id, e.payload["target"], e.payload["threshold"]) for e in rows)


def test_each_threshold_fires_exactly_once_with_notifications(policies):
    w = World()
    w.liaison.liaison_lead = True
    db.session.commit()
    req, _ = file_as("ID", "terrorism", "urgent")  # resolve due in 4 h
    reviewer = w.actor("reviewer")
    lifecycle.fire(reviewer, req.reference, "begin_review", now=T10 + timedelta(minutes=1))
    assert alerts.sweep(T10 + timedelta(hours=1)).alerts == 0
    first = alerts.sweep(T10 + timedelta(hours=2, minutes=1))
    assert first.alerts == 1
    assert alerts.sweep(T10 + timedelta(hours=2, minutes=2)).alerts == 0
    late = alerts.sweep(T10 + timedelta(hours=5))  # 75 %, 90 % and the breach at once
    assert late.alerts == 3
    assert alert_events() == [(req.id, "resolve", 0.5), (req.id, "resolve", 0.75),
                              (req.id, "resolve", 0.9), (req.id, "resolve", 1.0)]
    assert clock(req, "resolve").breached_at == T10 + timedelta(hours=4)
    notes = db.session.scalars(sa.select(Notification).where(
        Notification.template.in_(("sla_alert", "sla_breach")))).all()
    by_template = sorted((n.template, n.recipient_user_id, n.params["threshold"]) for n in notes)
    # The claimed reviewer at the warning; the liaisons from 75 % (the highest threshold
    # a sweep crossed is told once); the leads and the administrators at the breach.
    assert by_template == sorted([
        ("sla_alert", w.reviewer.id, 0.5),
        ("sla_alert", w.reviewer.id, 1.0), ("sla_breach", w.liaison.id, 1.0),
        ("sla_breach", w.admin.id, 1.0),
    ])
    assert list(audit_verify.verify_all()) == []


def test_paused_clocks_do_not_alert_and_restart_fires_again(policies):
    req, official = file_as("DE", "terrorism", "urgent")
    reviewer = make_user("legal_reviewer")
    lifecycle.fire(Actor.of(reviewer), req.reference, "begin_review", now=T10)
    alerts.sweep(T10 + timedelta(minutes=31))
    lifecycle.fire(Actor.of(reviewer), req.reference, "request_info",
                   inputs={"question": "?"}, now=T10 + timedelta(minutes=40))
    assert alerts.sweep(T10 + timedelta(hours=5)).alerts == 0
    lifecycle.fire(Actor.of(official), req.reference, "provide_info",
                   inputs={"answer": "!"}, now=T10 + timedelta(hours=6))
    assert alerts.sweep(T10 + timedelta(hours=6, minutes=31)).alerts == 1
    assert [t for _, _, t in alert_events()] == [0.5, 0.5]


def test_close_after_the_dispute_window(policies, app):
    w = World()
    req = w.actioned(now=T10)
    days = app.config["DISPUTE_WINDOW_DAYS"]
    assert lifecycle.close_after_dispute_window(T10 + timedelta(days=days - 1)) == []
    assert lifecycle.close_after_dispute_window(T10 + timedelta(days=days)) == [req.reference]
    closed = db.session.get(LegalRequest, req.id)
    assert closed.state.value == "closed" and closed.resolution.value == "complied"
    last = db.session.scalars(sa.select(Event).order_by(Event.id.desc())).first()
    assert (last.trigger, last.actor_role) == ("close", "system")


@pytest.mark.postgres_only
def test_two_sweepers_at_once_fire_each_alert_once(policies, app):
    w = World()
    references = [w.file([f"@t{n}"], now=T10).reference for n in range(60)]
    db.session.remove()
    barrier = threading.Barrier(2)
    results = []

    def run():
        with app.app_context():
            barrier.wait()
            results.append(alerts.sweep(T10 + timedelta(days=30), batch=7))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    fired = alert_events()
    assert len(fired) == len(set(fired)) == 60 * 2 * 4  # acknowledge and resolve, 4 each
    assert sum(r.alerts for r in results) == len(fired)
    assert all(r.alerts > 0 for r in results), "both sweepers should have taken a share"
    keys = db.session.scalars(sa.select(Notification.dedup_key)).all()
    assert len(keys) == len(set(keys))
    assert len(references) == 60 and list(audit_verify.verify_all()) == []


def test_policies_command_lists_sources(runner, policies):
    result = runner.invoke(args=["sla", "policies"])
    assert result.exit_code == 0
    assert "Regulation (EU) 2021/784" in result.output and "Law No. 5651" in result.output
    again = runner.invoke(args=["sla", "load-defaults"])
    assert "all present" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaPolicy)) >= 8


def test_reports_read_each_clock_and_compliance(policies):
    from portal.services import reports

    w = World()
    fast = w.file(["@a"], now=T10)  # TR: 4 h resolve
    w.to_review(fast.reference, now=T10)
    w.decide_all(fast.reference, now=T10 + timedelta(hours=1))
    lifecycle.fire(w.actor("reviewer"), fast.reference, "action", now=T10 + timedelta(hours=2))
    slow = w.file(["@b"], now=T10)
    w.to_review(slow.reference, now=T10)
    w.decide_all(slow.reference, now=T10 + timedelta(hours=5))
    lifecycle.fire(w.actor("reviewer"), slow.reference, "action", now=T10 + timedelta(hours=6))
    pending = w.file(["@c"], now=T10)
    statuses = reports.clock_statuses([fast.id, slow.id, pending.id], T10 + timedelta(hours=3))
    by = {(s.request_id, s.target): s for v in statuses.values() for s in v}
    assert by[(fast.id, "resolve")].band is reports.Band.MET
    assert by[(pending.id, "resolve")].band is reports.Band.THREE_QUARTERS
    assert by[(pending.id, "resolve")].remaining == timedelta(hours=1)
    assert by[(pending.id, "resolve")].fraction_used == pytest.approx(0.75)
    [row] = reports.compliance(T10, T10 + timedelta(days=1))
    assert (row.jurisdiction, row.met, row.breached, row.still_open_breached) == ("TR", 1, 1, 1)
    assert (row.p50_hours, row.p95_hours) == (pytest.approx(4.0), pytest.approx(5.8))
