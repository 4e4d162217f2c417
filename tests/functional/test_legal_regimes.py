"""Legal regimes as dated data, through the portal's services: the worked cases that came
out wrong (issue 11), on the real database with the default policies the migration loads.

Each test files, moves and reads requests the way the pages and the API do, so a wrong
default, a calendar that misses a region or a half day, or a clock that pauses where the
law does not shows here as it would to a reviewer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, LegalRequest, ReferenceCounter, SlaClock, SlaPolicy
from portal.services import alerts, lifecycle, reclassify, reports
from portal.services.actors import Actor
from portal.services.errors import ValidationFailed
from portal.services.filing import file_request
from tests.factories import filing, make_agency, make_user

pytestmark = pytest.mark.usefixtures("policies")

IST, TRT = ZoneInfo("Asia/Kolkata"), ZoneInfo("Europe/Istanbul")
WIB, BERLIN = ZoneInfo("Asia/Jakarta"), ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def clock(req: LegalRequest, target: str = "resolve") -> SlaClock:
    db.session.expire_all()
    return db.session.scalar(sa.select(SlaClock).where(
        SlaClock.request_id == req.id, SlaClock.target == target))


class Desk:
    """An agency of one country with an official, and a reviewer."""

    def __init__(self, country: str) -> None:
        self.agency = make_agency(country)
        self.official = Actor.of(make_user("agency_official", self.agency))
        self.reviewer = Actor.of(make_user("legal_reviewer"))

    def file(self, now: datetime, **fields: object) -> LegalRequest:
        fields.setdefault("priority", "standard")
        return file_request(self.official, filing(["@a", "@b"], **fields), now=now)

    def fire(self, req: LegalRequest, trigger: str, now: datetime, **inputs: str) -> None:
        who = self.official if trigger in ("provide_info", "dispute", "withdraw") \
            else self.reviewer
        lifecycle.fire(who, req.reference, trigger, inputs=inputs, now=now)

    def actioned(self, req: LegalRequest, now: datetime) -> None:
        from portal.services import decisions

        self.fire(req, "begin_review", now)
        decisions.decide_items(self.reviewer, req.reference, decision="removed",
                               reason="per order", all_pending=True, now=now)
        self.fire(req, "action", now)


# -- India: the amended IT Rules from 20 Feb 2026 ------------------------------------------

def test_an_indian_notice_of_2_march_2026_has_three_hours_not_36():
    received = datetime(2026, 3, 2, 10, tzinfo=IST)
    req = Desk("IN").file(received, category="public_order")
    resolve = clock(req)
    assert resolve.due_at == received + 3 * H
    assert resolve.policy_code == "in-it-rules-2026" and "G.S.R. 120(E)" in resolve.source


def test_an_indian_notice_received_before_20_february_keeps_36_hours():
    received = datetime(2026, 2, 19, 23, tzinfo=IST)
    req = Desk("IN").file(received, category="public_order")
    assert (clock(req).policy_code, clock(req).due_at) == ("in-it-rules-2021",
                                                           received + 36 * H)


def test_non_consensual_intimate_imagery_in_india_has_two_hours():
    received = datetime(2026, 3, 2, 10, tzinfo=IST)
    req = Desk("IN").file(received, category="intimate_imagery")
    assert (clock(req).policy_code, clock(req).due_at) == ("in-it-rules-2026-ncii",
                                                           received + 2 * H)


# -- Turkey: Law 5651 -----------------------------------------------------------------------

def test_a_turkish_5651_order_runs_on_while_the_platform_asks_a_question():
    desk = Desk("TR")
    received = datetime(2026, 6, 2, 10, tzinfo=TRT)
    req = desk.file(received, category="public_order")
    desk.fire(req, "begin_review", received + timedelta(minutes=5))
    desk.fire(req, "request_info", received + H, question="Which court?")
    waiting = clock(req)
    assert waiting.paused_at is None and waiting.due_at == received + 4 * H
    assert waiting.next_alert_at is not None  # its alerts still come
    question = db.session.scalars(sa.select(Event).where(Event.trigger == "request_info")
                                  ).one()
    assert question.payload["sla"]["resolve"] == {
        "pause": False, "pause_rule": "none",
        "due_at": (received + 4 * H).astimezone(UTC).isoformat()}
    # The breach is told while the agency has still not answered.
    alerts.sweep(received + 4 * H + timedelta(minutes=1))
    assert clock(req).breached_at == received + 4 * H
    desk.fire(req, "provide_info", received + 5 * H, answer="Ankara.")
    assert clock(req).due_at == received + 4 * H


def test_a_turkish_urgent_terrorism_order_is_acknowledged_by_its_resolution_deadline():
    received = datetime(2026, 6, 2, 10, tzinfo=TRT)
    req = Desk("TR").file(received, category="terrorism", priority="urgent")
    ack, resolve = clock(req, "acknowledge"), clock(req)
    assert resolve.due_at == received + 4 * H
    assert ack.due_at == resolve.due_at  # not a business day later
    assert ack.clamped and ack.policy_code == "default"
    filed = db.session.scalars(sa.select(Event).where(Event.kind == "filed")).one()
    assert filed.payload["sla_clamped"] == ["acknowledge"]


def test_a_turkish_business_day_closes_at_one_on_a_holiday_eve():
    # Thursday 19 March 2026, Ramazan Bayramı eve: 09:00-13:00; Friday is Eid.
    received = datetime(2026, 3, 19, 10, tzinfo=TRT)
    req = Desk("TR").file(received, category="intellectual_property")
    assert clock(req, "acknowledge").due_at == datetime(2026, 3, 23, 14, tzinfo=TRT)


# -- Indonesia: cuti bersama -----------------------------------------------------------------

def test_a_dispute_answer_in_indonesia_skips_cuti_bersama():
    desk = Desk("ID")
    req = desk.file(datetime(2026, 3, 16, 10, tzinfo=WIB), category="hate_speech")
    desk.actioned(req, datetime(2026, 3, 16, 12, tzinfo=WIB))
    desk.fire(req, "dispute", datetime(2026, 3, 17, 10, tzinfo=WIB), reason="Still online")
    # 18, 20, 23 and 24 March are cuti bersama, 19 March Nyepi, 21-22 the Eid weekend.
    assert clock(req, "dispute").due_at == datetime(2026, 3, 31, 10, tzinfo=WIB)


# -- Germany: the agency's region ---------------------------------------------------------------

def test_a_bavarian_agency_has_corpus_christi():
    desk = Desk("DE")
    desk.agency.subdivision = "BY"
    db.session.commit()
    req = desk.file(datetime(2026, 6, 1, 10, tzinfo=BERLIN), category="hate_speech")
    desk.actioned(req, datetime(2026, 6, 1, 12, tzinfo=BERLIN))
    desk.fire(req, "dispute", datetime(2026, 6, 3, 10, tzinfo=BERLIN), reason="Still online")
    # Thursday 4 June 2026 is Corpus Christi in Bavaria, not in Berlin.
    assert clock(req, "dispute").due_at == datetime(2026, 6, 11, 10, tzinfo=BERLIN)


# -- the EU terrorist-content regulation -------------------------------------------------------

def test_an_emergency_terrorism_order_keeps_the_tco_hour_and_its_restart():
    desk = Desk("DE")
    received = utc(2026, 5, 5, 10)
    req = desk.file(received, category="terrorism", priority="emergency")
    resolve = clock(req)
    assert resolve.policy_code == "eu-tco-terrorism" and "2021/784" in resolve.source
    assert resolve.resume == "restart"
    assert [m["policy"] for m in resolve.matches] == ["eu-tco-terrorism", "emergency",
                                                      "default"]
    desk.fire(req, "begin_review", received + timedelta(minutes=5))
    desk.fire(req, "request_info", received + timedelta(minutes=20), question="Which URL?")
    desk.fire(req, "provide_info", utc(2026, 5, 5, 12), answer="All three.")
    assert clock(req).due_at == utc(2026, 5, 5, 13)  # the full hour again, not 12:40


def test_an_order_actioned_at_exactly_its_deadline_met_it():
    desk = Desk("DE")
    received = utc(2026, 5, 5, 10)
    req = desk.file(received, category="terrorism")
    desk.fire(req, "begin_review", received)
    from portal.services import decisions

    decisions.decide_items(desk.reviewer, req.reference, decision="removed",
                           reason="per order", all_pending=True, now=received)
    assert alerts.sweep(utc(2026, 5, 5, 11)).alerts == 3  # 50, 75, 90 %: no breach yet
    desk.fire(req, "action", utc(2026, 5, 5, 11))
    assert clock(req).breached_at is None
    [row] = reports.compliance(utc(2026, 5, 5), utc(2026, 5, 6))
    assert (row.met, row.breached) == (1, 0)
    [status] = [s for s in reports.clock_statuses([req.id], utc(2026, 5, 6))[req.id]
                if s.target == "resolve"]
    assert status.band is reports.Band.MET


# -- reclassification ---------------------------------------------------------------------------

@pytest.mark.parametrize(("count_from", "due", "breached"), [
    ("receipt", utc(2026, 5, 5, 11), True),
    ("reclassification", utc(2026, 5, 5, 13), False),
])
def test_reclassification_counts_from_where_the_reviewer_says(count_from, due, breached):
    desk = Desk("DE")
    req = desk.file(utc(2026, 5, 5, 10), category="fraud")
    assert clock(req).due_at == utc(2026, 5, 6, 10)  # DSA Art. 9: 24 h
    reclassify.reclassify(desk.reviewer, req.reference, category="terrorism",
                          count_from=count_from, reason="ISIS propaganda",
                          now=utc(2026, 5, 5, 12))
    resolve = clock(req)
    assert (resolve.policy_code, resolve.due_at) == ("eu-tco-terrorism", due)
    event = db.session.scalars(sa.select(Event).where(Event.kind == "reclassified")).one()
    assert event.payload["count_from"] == count_from
    assert event.payload["reason"] == "ISIS propaganda"
    assert (resolve.due_at < utc(2026, 5, 5, 12)) is breached


def test_reclassification_asks_where_the_deadlines_count_from():
    desk = Desk("DE")
    req = desk.file(utc(2026, 5, 5, 10), category="fraud")
    with pytest.raises(ValidationFailed) as refused:
        reclassify.reclassify(desk.reviewer, req.reference, category="terrorism",
                              reason="ISIS propaganda", now=utc(2026, 5, 5, 12))
    assert [(e.field, e.code) for e in refused.value.errors] == [("count_from", "required")]
    assert clock(req).due_at == utc(2026, 5, 6, 10)


# -- who may file under what ----------------------------------------------------------------------

@pytest.mark.parametrize(("country", "jurisdiction"), [
    ("TR", "DE"),  # refused already before issue 11 (filing.jurisdictions_for)
    ("TR", "EU"),
    ("GB", "EU"),
])
def test_an_agency_cannot_start_another_jurisdictions_clock(country, jurisdiction):
    with pytest.raises(ValidationFailed) as refused:
        Desk(country).file(utc(2026, 5, 5, 10), category="terrorism",
                           jurisdiction=jurisdiction)
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("jurisdiction", "foreign_jurisdiction")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaClock)) == 0


def test_a_member_states_authority_files_an_eu_order_under_the_eu():
    req = Desk("DE").file(utc(2026, 5, 5, 10), category="terrorism", jurisdiction="EU")
    assert req.reference.startswith("EU-2026-")
    assert (clock(req).policy_code, clock(req).due_at) == ("eu-tco-terrorism",
                                                           utc(2026, 5, 5, 11))


def test_an_eu_body_files_under_the_eu_only():
    desk = Desk("EU")
    req = desk.file(utc(2026, 5, 5, 10), category="fraud")
    assert req.jurisdiction == "EU" and clock(req).policy_code == "eu-dsa-orders"
    with pytest.raises(ValidationFailed):
        desk.file(utc(2026, 5, 5, 10), category="fraud", jurisdiction="DE")


# -- compliance ------------------------------------------------------------------------------------

def test_declined_requests_are_counted_apart_from_met_and_breached():
    desk = Desk("DE")
    received = utc(2026, 5, 5, 10)
    in_time = desk.file(received, category="hate_speech")
    late = desk.file(received, category="hate_speech")
    for req, when in ((in_time, received + H), (late, received + 30 * H)):
        desk.fire(req, "begin_review", received)
        desk.fire(req, "decline", when, reason="Lawful speech", no_action_reason="not_unlawful")
    [row] = reports.compliance(utc(2026, 5, 5), utc(2026, 5, 8))
    assert (row.met, row.breached, row.declined) == (0, 0, 2)
    assert row.p50_hours is None  # declining is no time to action


# -- no policy, no filing ----------------------------------------------------------------

def test_a_request_no_policy_covers_is_refused_and_nothing_is_stored():
    desk = Desk("DE")
    db.session.execute(sa.update(SlaPolicy).values(active=False))
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        desk.file(utc(2026, 5, 5, 10), category="fraud")
    assert [(e.field, e.code) for e in refused.value.errors] == [("category",
                                                                  "no_sla_policy")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReferenceCounter)) == 0
