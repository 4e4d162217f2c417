"""SLA policies, deadlines, pauses and alert thresholds (no Flask, no database)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from workflows.calendars import calendar_for
from workflows.codes import Category, Priority
from workflows.sla import (
    BUSINESS_DAY,
    DEFAULT_POLICIES,
    DEFAULT_THRESHOLDS,
    EU_MEMBER_STATES,
    JURISDICTION_GROUPS,
    Basis,
    Clock,
    ClockKind,
    Outcome,
    PauseReason,
    Policy,
    ResumeRule,
    Target,
    TargetRule,
    breached,
    crossed,
    deadline,
    expand,
    fire_thresholds,
    fraction_used,
    governing,
    met,
    outcome,
    pause,
    remaining,
    resume,
    start_clock,
    start_governed,
    stop,
    threshold_time,
)

YEARS = range(2024, 2030)
CAL = {cc: calendar_for(cc, years=YEARS) for cc in ("BR", "DE", "ID", "IN", "MX", "SA", "TR")}
# The calendars the default policy's business clocks count in: half days, cuti bersama.
CAL["TR-HALF"] = calendar_for("TR", years=YEARS, categories=("public", "half_day"))
CAL["ID-GOV"] = calendar_for("ID", years=YEARS, categories=("public", "government"))
H = timedelta(hours=1)
M = timedelta(minutes=1)
ELAPSED, BUSINESS, END_OF_DAY = ClockKind.ELAPSED, ClockKind.BUSINESS, ClockKind.END_OF_DAY
ACK, RESOLVE, DISPUTE = Target.ACKNOWLEDGE, Target.RESOLVE, Target.DISPUTE

PROPERTY = settings(max_examples=100, database=None, deadline=None)
US = timedelta(microseconds=1)

BY_CODE = {p.code: p for p in DEFAULT_POLICIES}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(country: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=CAL[country].tz)


def govern(target: Target, country: str, category: str, priority: str, start: datetime):
    return governing(DEFAULT_POLICIES, target, jurisdiction=country, category=category,
                     priority=priority, start=start, calendar=CAL[country])


def clock_for(country: str, category: str, priority: str, start: datetime,
              target: Target = RESOLVE) -> Clock:
    found = govern(target, country, category, priority, start)
    assert found is not None
    return start_clock(target, found.rule, found.policy.thresholds, start, CAL[country])


# --- rules and policies --------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {"kind": ELAPSED, "duration": timedelta(0)},
    {"kind": ELAPSED, "duration": -H},
    {"kind": BUSINESS, "duration": H, "cutoff": time(16)},
    {"kind": END_OF_DAY, "duration": timedelta(0)},
    {"kind": END_OF_DAY, "duration": H, "cutoff": time(16)},
])
def test_target_rule_rejects_mismatched_fields(kwargs):
    with pytest.raises(ValueError):
        TargetRule(**kwargs)


@pytest.mark.parametrize("thresholds", [(), (0.5, 0.5, 1.0), (0.9, 0.5), (0.0, 1.0), (-1.0,)])
def test_policy_rejects_bad_thresholds(thresholds):
    with pytest.raises(ValueError, match="threshold"):
        Policy("p", "P", {RESOLVE: TargetRule(ELAPSED, H)}, thresholds=thresholds)
    with pytest.raises(ValueError, match="threshold"):
        start_clock(RESOLVE, TargetRule(ELAPSED, H), thresholds, utc(2026, 1, 1), CAL["DE"])


def test_policy_needs_a_target_and_its_targets_are_read_only():
    with pytest.raises(ValueError, match="no target"):
        Policy("p", "P", {})
    policy = Policy("p", "P", {RESOLVE: TargetRule(ELAPSED, H)})
    with pytest.raises(TypeError):
        policy.targets[ACK] = TargetRule(ELAPSED, H)  # type: ignore[index]


def test_eu_group():
    eu = JURISDICTION_GROUPS["EU"]
    assert len(eu) == 27 and eu == EU_MEMBER_STATES
    assert {"GR", "DE", "HR", "CY"} <= eu
    assert not {"EL", "GB", "UK", "CH", "NO", "TR"} & eu
    assert expand({"eu", "tr"}) == eu | {"TR"}
    assert expand(["ID"]) == {"ID"}


#: DESIGN.md §4 as data: (policy, target, kind, duration, pause rule, force majeure).
DESIGN_TABLE = {
    ("emergency", ACK, ELAPSED, 15 * M, ResumeRule.EXTEND, False),
    ("emergency", RESOLVE, ELAPSED, H, ResumeRule.EXTEND, False),
    ("eu-tco-terrorism", RESOLVE, ELAPSED, H, ResumeRule.RESTART, True),
    ("fr-lcen-6-1", RESOLVE, ELAPSED, 24 * H, ResumeRule.EXTEND, False),
    ("eu-dsa-orders", RESOLVE, ELAPSED, 24 * H, ResumeRule.EXTEND, False),
    ("eu-e-evidence", RESOLVE, ELAPSED, 10 * 24 * H, ResumeRule.EXTEND, False),
    ("eu-e-evidence-emergency", RESOLVE, ELAPSED, 8 * H, ResumeRule.EXTEND, False),
    ("id-mr5-urgent", RESOLVE, ELAPSED, 4 * H, ResumeRule.EXTEND, False),
    ("id-mr5", RESOLVE, ELAPSED, 24 * H, ResumeRule.EXTEND, False),
    ("tr-5651-art8", RESOLVE, ELAPSED, 4 * H, ResumeRule.NONE, False),
    ("tr-5651-add4", RESOLVE, ELAPSED, 48 * H, ResumeRule.EXTEND, False),
    ("in-it-rules-2021", RESOLVE, ELAPSED, 36 * H, ResumeRule.EXTEND, False),
    ("in-it-rules-2021-ncii", RESOLVE, ELAPSED, 24 * H, ResumeRule.EXTEND, False),
    ("in-it-rules-2026", RESOLVE, ELAPSED, 3 * H, ResumeRule.EXTEND, False),
    ("in-it-rules-2026-ncii", RESOLVE, ELAPSED, 2 * H, ResumeRule.EXTEND, False),
    ("au-osa-removal", RESOLVE, ELAPSED, 24 * H, ResumeRule.EXTEND, False),
    ("gb-ta2006-s3", RESOLVE, ClockKind.WORKING_DAYS_AFTER, 2 * 24 * H, ResumeRule.NONE,
     False),
    ("default", ACK, BUSINESS, 1 * BUSINESS_DAY, ResumeRule.EXTEND, False),
    ("default", RESOLVE, BUSINESS, 5 * BUSINESS_DAY, ResumeRule.EXTEND, False),
    ("default", DISPUTE, BUSINESS, 5 * BUSINESS_DAY, ResumeRule.EXTEND, False),
}


def test_default_policies_are_the_design_table():
    rows = {(p.code, target, rule.kind, rule.duration, rule.resume, rule.force_majeure)
            for p in DEFAULT_POLICIES for target, rule in p.targets.items()}
    assert rows == DESIGN_TABLE
    assert len(BY_CODE) == len(DEFAULT_POLICIES)
    assert all(p.source and p.thresholds == DEFAULT_THRESHOLDS for p in DEFAULT_POLICIES)
    assert BUSINESS_DAY == CAL["BR"].working_day_length
    # Every legal regime names its instrument and article; only floors and the default
    # are the platform's own.
    assert {p.code for p in DEFAULT_POLICIES if p.basis is Basis.PLATFORM} == {
        "emergency", "default"}
    assert all(p.instrument and p.article and p.source_url
               for p in DEFAULT_POLICIES if p.basis is Basis.LAW)
    # Turkey's annulled Art. 9 is no longer cited.
    assert not any("Art. 9" in p.source or "8/A, 9" in p.name for p in DEFAULT_POLICIES
                   if p.code.startswith("tr-"))


@pytest.mark.parametrize(("code", "host"), [
    ("eu-tco-terrorism", "eur-lex.europa.eu"),
    ("eu-dsa-orders", "eur-lex.europa.eu"),
    ("id-mr5-urgent", "jdih.kominfo.go.id"),
    ("id-mr5", "jdih.kominfo.go.id"),
    ("tr-5651-art8", "www.mevzuat.gov.tr"),
    ("tr-5651-add4", "www.mevzuat.gov.tr"),
    ("in-it-rules-2021", "www.meity.gov.in"),
    ("in-it-rules-2026", "www.meity.gov.in"),
    ("in-it-rules-2026-ncii", "www.meity.gov.in"),
    ("au-osa-removal", "www.legislation.gov.au"),
    ("gb-ta2006-s3", "www.legislation.gov.uk"),
    ("fr-lcen-6-1", "www.legifrance.gouv.fr"),
    ("eu-e-evidence", "eur-lex.europa.eu"),
    ("eu-e-evidence-emergency", "eur-lex.europa.eu"),
])
def test_legal_policies_cite_an_official_source(code, host):
    url = urlparse(BY_CODE[code].source_url)
    assert url.scheme == "https" and url.hostname == host


@pytest.mark.parametrize(("policy", "request_", "expected"), [
    # Jurisdiction groups, case-insensitively.
    ("eu-tco-terrorism", ("DE", "terrorism", "standard"), True),
    ("eu-tco-terrorism", ("gr", "terrorism", "urgent"), True),
    ("eu-tco-terrorism", ("TR", "terrorism", "standard"), False),
    ("eu-tco-terrorism", ("FR", "hate_speech", "standard"), False),
    # Every category except the excluded one.
    ("eu-dsa-orders", ("FR", "hate_speech", "standard"), True),
    ("eu-dsa-orders", ("FR", "terrorism", "standard"), False),
    # Category sets, with no priority filter.
    ("id-mr5-urgent", ("ID", "public_order", "standard"), True),
    ("id-mr5-urgent", ("ID", "child_sexual_abuse", "urgent"), True),
    ("id-mr5-urgent", ("ID", "fraud", "urgent"), False),
    ("id-mr5", ("ID", "fraud", "standard"), True),
    ("id-mr5", ("ID", "terrorism", "standard"), False),
    # Priority sets, any jurisdiction.
    ("emergency", ("BR", "other", "emergency"), True),
    ("emergency", ("BR", "other", "urgent"), False),
    ("default", ("XX", "anything", "whatever"), True),
])
def test_policy_matching(policy, request_, expected):
    assert BY_CODE[policy].matches(*request_) is expected


def test_policies_match_enum_members_and_plain_strings_alike():
    policy = BY_CODE["id-mr5-urgent"]
    assert policy.matches("ID", Category.TERRORISM, Priority.STANDARD)
    assert policy.matches("ID", "terrorism", "standard")


# --- the "must show" worked examples -------------------------------------------------------

def test_eu_terrorism_order_restarts_after_a_clarification():
    received = utc(2026, 5, 5, 10)
    found = govern(RESOLVE, "DE", "terrorism", "standard", received)
    assert found is not None
    assert found.policy.code == "eu-tco-terrorism"
    assert found.due_at == utc(2026, 5, 5, 11)
    assert "2021/784" in found.policy.source

    clock = start_clock(RESOLVE, found.rule, found.policy.thresholds, received, CAL["DE"])
    clock, fired = fire_thresholds(clock, utc(2026, 5, 5, 10, 16))
    assert fired == []
    paused = pause(clock, utc(2026, 5, 5, 10, 20))  # clarification asked
    resumed = resume(paused, utc(2026, 5, 5, 12), CAL["DE"])  # and answered
    assert resumed.due_at == utc(2026, 5, 5, 13)
    assert resumed.started_at == utc(2026, 5, 5, 12)
    assert resumed.paused_total == 100 * M
    assert resumed.next_alert_at == utc(2026, 5, 5, 12, 30)


@pytest.mark.parametrize("priority", ["standard", "urgent"])
def test_indonesian_terrorism_order_is_due_in_four_hours_whatever_the_priority(priority):
    received = utc(2026, 7, 1, 3, 15)
    found = govern(RESOLVE, "ID", "terrorism", priority, received)
    assert found is not None
    assert found.policy.code == "id-mr5-urgent"
    assert found.due_at == received + 4 * H


def test_indonesian_hate_speech_order_is_due_in_a_day():
    received = utc(2026, 7, 1, 3, 15)
    found = govern(RESOLVE, "ID", "hate_speech", "urgent", received)
    assert found is not None
    assert (found.policy.code, found.due_at) == ("id-mr5", received + 24 * H)


@pytest.mark.parametrize("country", ["BR", "ID", "DE", "XX"])
def test_an_emergency_anywhere_is_acknowledged_in_15_minutes_and_resolved_in_an_hour(country):
    received = utc(2026, 5, 9, 23, 50)  # a Saturday night: elapsed clocks do not care
    calendar = CAL.get(country) or calendar_for(country, years=[2026])
    ack = governing(DEFAULT_POLICIES, ACK, jurisdiction=country, category="other",
                    priority="emergency", start=received, calendar=calendar)
    res = governing(DEFAULT_POLICIES, RESOLVE, jurisdiction=country, category="fraud",
                    priority="emergency", start=received, calendar=calendar)
    assert ack is not None and res is not None
    assert (ack.policy.code, ack.due_at) == ("emergency", received + 15 * M)
    assert (res.policy.code, res.due_at) == ("emergency", received + H)


def test_a_standard_request_from_brazil_takes_five_business_days():
    # Receipt Monday 20 April 2026, 10:00 in São Paulo (UTC-3). Tiradentes' Day is Tuesday
    # 21 April and the weekend of 25-26 April is skipped: Wed, Thu, Fri, Mon, Tue.
    received = local("BR", 2026, 4, 20, 10)
    found = govern(RESOLVE, "BR", "other", "standard", received)
    assert found is not None
    assert found.policy.code == "default"
    assert found.due_at == utc(2026, 4, 28, 13)
    ack = govern(ACK, "BR", "other", "standard", received)
    assert ack is not None and ack.due_at == utc(2026, 4, 22, 13)  # skips Tiradentes


def test_a_standard_request_from_mexico_takes_five_business_days():
    # Friday 13 March 2026, 10:00 in Mexico City (UTC-6, no daylight saving since 2022);
    # Monday 16 March is Benito Juárez's birthday.
    received = local("MX", 2026, 3, 13, 10)
    found = govern(RESOLVE, "MX", "other", "standard", received)
    assert found is not None
    assert found.due_at == utc(2026, 3, 23, 16)


def test_turkey_and_india():
    received = utc(2026, 6, 2, 8)
    tr = govern(RESOLVE, "TR", "public_order", "standard", received)
    personal = govern(RESOLVE, "TR", "defamation", "standard", received)
    india = govern(RESOLVE, "IN", "public_order", "urgent", received)
    assert tr is not None and personal is not None and india is not None
    assert (tr.policy.code, tr.due_at) == ("tr-5651-art8", received + 4 * H)
    assert (personal.policy.code, personal.due_at) == ("tr-5651-add4", received + 48 * H)
    assert (india.policy.code, india.due_at) == ("in-it-rules-2026", received + 3 * H)


def test_targets_a_specific_policy_leaves_unset_come_from_the_default():
    received = local("DE", 2026, 5, 4, 10)
    ack = govern(ACK, "DE", "terrorism", "standard", received)
    dispute = govern(DISPUTE, "DE", "terrorism", "standard", received)
    assert ack is not None and dispute is not None
    assert (ack.policy.code, ack.due_at) == ("default", local("DE", 2026, 5, 5, 10))
    assert (dispute.policy.code, dispute.due_at) == ("default", local("DE", 2026, 5, 11, 10))


# --- governing: earliest wins --------------------------------------------------------------

def test_the_earliest_deadline_wins_and_its_policy_is_reported():
    received = utc(2026, 7, 1, 3)
    # An Indonesian terrorism emergency matches three policies: 1 h beats 4 h and 5 days.
    found = govern(RESOLVE, "ID", "terrorism", "emergency", received)
    assert found is not None
    assert (found.policy.code, found.due_at) == ("emergency", received + H)


def test_a_looser_specific_policy_does_not_hide_a_stricter_default():
    lax = Policy("br-lax", "Lax", {RESOLVE: TargetRule(ELAPSED, 30 * 24 * H)},
                 jurisdictions=frozenset({"BR"}))
    received = local("BR", 2026, 4, 20, 10)
    found = governing((lax, *DEFAULT_POLICIES), RESOLVE, jurisdiction="BR", category="other",
                      priority="standard", start=received, calendar=CAL["BR"])
    assert found is not None and found.policy.code == "default"


def test_ties_go_to_the_first_policy():
    first = Policy("first", "First", {RESOLVE: TargetRule(ELAPSED, H)})
    second = Policy("second", "Second", {RESOLVE: TargetRule(ELAPSED, H)})
    for order, winner in (((first, second), "first"), ((second, first), "second")):
        found = governing(order, RESOLVE, jurisdiction="DE", category="other",
                          priority="standard", start=utc(2026, 1, 5), calendar=CAL["DE"])
        assert found is not None and found.policy.code == winner


def test_no_policy_setting_the_target_gives_none():
    only_resolve = [p for p in DEFAULT_POLICIES if p.code != "default"]
    assert governing(only_resolve, DISPUTE, jurisdiction="DE", category="other",
                     priority="standard", start=utc(2026, 1, 5), calendar=CAL["DE"]) is None
    assert governing(only_resolve, RESOLVE, jurisdiction="BR", category="other",
                     priority="standard", start=utc(2026, 1, 5), calendar=CAL["BR"]) is None


# --- deadlines by kind ----------------------------------------------------------------------

def test_a_24_hour_elapsed_clock_is_24_real_hours_across_daylight_saving():
    rule = TargetRule(ELAPSED, 24 * H)
    spring = local("DE", 2026, 3, 28, 12)  # CET
    due = deadline(rule, spring, CAL["DE"])
    assert due - spring == 24 * H
    assert due.astimezone(CAL["DE"].tz).hour == 13  # CEST: 25 wall-clock hours later
    autumn = local("DE", 2026, 10, 24, 12)  # CEST
    due = deadline(rule, autumn, CAL["DE"])
    assert due - autumn == 24 * H
    assert due.astimezone(CAL["DE"].tz).hour == 11  # CET: 23 wall-clock hours later


def test_end_of_day_deadline():
    rule = TargetRule(END_OF_DAY, timedelta(0), cutoff=time(16))
    assert deadline(rule, local("DE", 2026, 5, 5, 10), CAL["DE"]) == local("DE", 2026, 5, 6, 0)
    assert deadline(rule, local("DE", 2026, 5, 5, 16), CAL["DE"]) == local("DE", 2026, 5, 7, 0)


def test_deadline_refuses_naive_start():
    with pytest.raises(ValueError, match="naive"):
        deadline(TargetRule(ELAPSED, H), datetime(2026, 1, 1), CAL["DE"])
    with pytest.raises(ValueError, match="naive"):
        govern(RESOLVE, "DE", "other", "standard", datetime(2026, 1, 1))


# --- clocks: thresholds, pauses, stops ------------------------------------------------------

def test_thresholds_fire_once_each_in_order():
    clock = clock_for("DE", "terrorism", "standard", utc(2026, 5, 5, 10))
    assert clock.alert_times == (utc(2026, 5, 5, 10, 30), utc(2026, 5, 5, 10, 45),
                                 utc(2026, 5, 5, 10, 54), utc(2026, 5, 5, 11))
    assert clock.next_alert_at == utc(2026, 5, 5, 10, 30)
    assert crossed(clock, utc(2026, 5, 5, 10, 29)) == []
    clock, fired = fire_thresholds(clock, utc(2026, 5, 5, 10, 50))
    assert fired == [0.5, 0.75]
    assert fire_thresholds(clock, utc(2026, 5, 5, 10, 50)) == (clock, [])
    assert clock.next_alert_at == utc(2026, 5, 5, 10, 54)
    clock, fired = fire_thresholds(clock, utc(2026, 5, 5, 11))
    assert fired == [0.9]  # the deadline itself is still within it
    clock, fired = fire_thresholds(clock, utc(2026, 5, 5, 11, 0, 0, 1))
    assert fired == [1.0]
    assert clock.next_alert_at is None
    assert fire_thresholds(clock, utc(2026, 5, 6)) == (clock, [])


def test_readings_of_an_elapsed_clock():
    clock = clock_for("ID", "hate_speech", "standard", utc(2026, 7, 1, 0))
    assert fraction_used(clock, utc(2026, 7, 1, 0)) == 0.0
    assert fraction_used(clock, utc(2026, 7, 1, 6)) == 0.25
    assert remaining(clock, utc(2026, 7, 1, 6)) == 18 * H
    assert not breached(clock, utc(2026, 7, 1, 23, 59))
    assert not breached(clock, utc(2026, 7, 2, 0))  # reaching due_at exactly is in time
    assert breached(clock, utc(2026, 7, 2, 0, 0, 0, 1))
    assert fraction_used(clock, utc(2026, 7, 2, 12)) == 1.5
    assert remaining(clock, utc(2026, 7, 2, 12)) == -12 * H
    assert threshold_time(clock, 0.25) == utc(2026, 7, 1, 6)


def test_extend_grants_the_paused_time_again_and_keeps_fired_thresholds():
    clock = clock_for("ID", "hate_speech", "standard", utc(2026, 7, 1, 0))
    clock, fired = fire_thresholds(clock, utc(2026, 7, 1, 13))
    assert fired == [0.5]
    paused = pause(clock, utc(2026, 7, 1, 14))
    # Frozen while paused, however late it is read.
    assert fraction_used(paused, utc(2026, 7, 9)) == fraction_used(clock, utc(2026, 7, 1, 14))
    assert remaining(paused, utc(2026, 7, 9)) == 10 * H
    assert not breached(paused, utc(2026, 7, 9))
    assert paused.next_alert_at is None
    assert crossed(paused, utc(2026, 7, 9)) == []

    resumed = resume(paused, utc(2026, 7, 1, 18), CAL["ID"])
    assert resumed.due_at == utc(2026, 7, 2, 4)  # 24 h + the 4 h pause
    assert resumed.started_at == utc(2026, 7, 1, 0)
    assert resumed.fired == 1
    assert resumed.alert_times[0] == utc(2026, 7, 1, 12)  # history is kept
    assert resumed.next_alert_at == utc(2026, 7, 1, 22)  # the 75% mark, 4 h later
    assert resumed.paused_total == 4 * H
    assert remaining(resumed, utc(2026, 7, 1, 18)) == 10 * H


def test_extend_on_a_business_clock_grants_the_working_time_left():
    # Brazil, receipt Monday 20 April 2026 10:00 (Tiradentes Tuesday 21 April).
    clock = clock_for("BR", "other", "standard", local("BR", 2026, 4, 20, 10))
    assert clock.due_at == local("BR", 2026, 4, 28, 10)
    # Half of the 40 working hours: Mon 7 h, Wed 8 h, Thu 5 h.
    assert clock.alert_times[0] == local("BR", 2026, 4, 23, 14)
    assert fraction_used(clock, local("BR", 2026, 4, 23, 14), calendar=CAL["BR"]) == 0.5
    with pytest.raises(ValueError, match="calendar"):
        fraction_used(clock, local("BR", 2026, 4, 23, 14))
    with pytest.raises(ValueError, match="calendar"):
        threshold_time(clock, 0.5)

    # Paused Wednesday 22 April 12:00 with 10 h used, 30 h left; resumed Monday 27 09:00.
    paused = pause(clock, local("BR", 2026, 4, 22, 12))
    assert fraction_used(paused, local("BR", 2026, 5, 1), calendar=CAL["BR"]) == 0.25
    resumed = resume(paused, local("BR", 2026, 4, 27, 9), CAL["BR"])
    # Mon 8 h, Tue 8 h, Wed 8 h, then 6 h on Thursday 30 April.
    assert resumed.due_at == local("BR", 2026, 4, 30, 15)
    assert resumed.alert_times[0] == local("BR", 2026, 4, 28, 11)  # 10 h more for 50%
    assert resumed.alert_times == tuple(
        threshold_time(resumed, f, CAL["BR"]) for f in resumed.thresholds)


def test_a_business_clock_breached_before_a_pause_stays_breached():
    # Due Tuesday 28 April 10:00; paused on Saturday 2 May with 23 working hours over
    # (7 + 8 + 8: Friday 1 May is Labour Day), 1 + 23/40 of the allowance.
    clock = clock_for("BR", "other", "standard", local("BR", 2026, 4, 20, 10))
    paused = pause(clock, local("BR", 2026, 5, 2, 12))
    assert breached(paused, local("BR", 2026, 5, 3))
    resumed = resume(paused, local("BR", 2026, 5, 3, 12), CAL["BR"])  # Sunday
    assert resumed.due_at == local("BR", 2026, 4, 28, 10)  # no working time in the pause
    assert breached(resumed, local("BR", 2026, 5, 3, 12))
    assert fraction_used(resumed, local("BR", 2026, 5, 3, 12), calendar=CAL["BR"]) == 1.575

    # Breached exactly at the pause, resumed in the night: still breached.
    at_due = pause(clock, clock.due_at)
    resumed = resume(at_due, local("BR", 2026, 4, 28, 22), CAL["BR"])
    assert resumed.due_at == local("BR", 2026, 4, 28, 17)
    assert breached(resumed, local("BR", 2026, 4, 28, 22))


def test_restart_begins_a_new_run_whose_thresholds_fire_again():
    clock = clock_for("DE", "terrorism", "standard", utc(2026, 5, 5, 10))
    clock, fired = fire_thresholds(clock, utc(2026, 5, 5, 10, 50))
    assert fired == [0.5, 0.75]
    resumed = resume(pause(clock, utc(2026, 5, 5, 10, 55)), utc(2026, 5, 5, 12), CAL["DE"])
    assert resumed.fired == 0
    assert fraction_used(resumed, utc(2026, 5, 5, 12)) == 0.0
    _, fired = fire_thresholds(resumed, utc(2026, 5, 5, 13))
    assert fired == [0.5, 0.75, 0.9]  # reaching the deadline is no breach yet
    _, fired = fire_thresholds(resumed, utc(2026, 5, 5, 13, 0, 1))
    assert fired == [0.5, 0.75, 0.9, 1.0]


def test_stop_freezes_the_readings():
    clock = clock_for("ID", "terrorism", "standard", utc(2026, 6, 2, 8))
    stopped = stop(clock, utc(2026, 6, 2, 11))
    assert not stopped.running and stopped.next_alert_at is None
    assert remaining(stopped, utc(2026, 6, 3)) == H
    assert not breached(stopped, utc(2026, 6, 3))
    assert crossed(stopped, utc(2026, 6, 3)) == []
    late = stop(clock, utc(2026, 6, 2, 12, 30))
    assert breached(late, utc(2026, 6, 2, 12, 30))


def test_stopping_a_paused_clock_keeps_it_frozen_at_the_pause():
    clock = clock_for("ID", "terrorism", "standard", utc(2026, 6, 2, 8))
    stopped = stop(pause(clock, utc(2026, 6, 2, 9)), utc(2026, 6, 2, 15))
    assert remaining(stopped, utc(2026, 6, 3)) == 3 * H
    assert stopped.paused_total == 6 * H
    assert fraction_used(stopped, utc(2026, 6, 3)) == 0.25


@pytest.mark.parametrize("misuse", [
    lambda c: pause(pause(c, utc(2026, 6, 2, 9)), utc(2026, 6, 2, 10)),
    lambda c: pause(stop(c, utc(2026, 6, 2, 9)), utc(2026, 6, 2, 10)),
    lambda c: pause(c, utc(2026, 6, 2, 7)),
    lambda c: resume(c, utc(2026, 6, 2, 9), CAL["ID"]),
    lambda c: resume(pause(c, utc(2026, 6, 2, 9)), utc(2026, 6, 2, 8, 30), CAL["ID"]),
    lambda c: resume(stop(pause(c, utc(2026, 6, 2, 9)), utc(2026, 6, 2, 10)), utc(2026, 6, 2, 11),
                     CAL["ID"]),
    lambda c: stop(stop(c, utc(2026, 6, 2, 9)), utc(2026, 6, 2, 10)),
    lambda c: pause(c, datetime(2026, 6, 2, 9)),
    lambda c: stop(c, datetime(2026, 6, 2, 9)),
    lambda c: crossed(c, datetime(2026, 6, 2, 9)),
    lambda c: remaining(c, datetime(2026, 6, 2, 9)),
])
def test_clock_misuse_is_refused(misuse):
    clock = clock_for("ID", "terrorism", "standard", utc(2026, 6, 2, 8))
    with pytest.raises(ValueError):
        misuse(clock)


def test_clock_rejects_inconsistent_rows():
    clock = clock_for("ID", "terrorism", "standard", utc(2026, 6, 2, 8))
    with pytest.raises(ValueError, match="alert_times"):
        dataclasses.replace(clock, alert_times=clock.alert_times[:2])
    with pytest.raises(ValueError, match="fired"):
        dataclasses.replace(clock, fired=5)


# --- properties -----------------------------------------------------------------------------

CALENDARS = st.sampled_from(list(CAL.values()))
STARTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 6, 30),
                      timezones=st.just(UTC))
RULES = st.one_of(
    st.builds(TargetRule, st.just(ELAPSED), st.integers(1, 14 * 24 * 60).map(lambda m: m * M),
              resume=st.sampled_from(ResumeRule)),
    st.builds(TargetRule, st.just(BUSINESS), st.integers(1, 10 * 8 * 60).map(lambda m: m * M),
              resume=st.sampled_from(ResumeRule)),
    st.builds(TargetRule, st.just(END_OF_DAY), st.just(timedelta(0)),
              cutoff=st.times(), resume=st.sampled_from(ResumeRule)),
    st.builds(TargetRule, st.just(ClockKind.WORKING_DAYS_AFTER),
              st.integers(1, 10).map(lambda d: timedelta(days=d)),
              resume=st.sampled_from(ResumeRule)),
)
GAPS = st.integers(0, 10 * 24 * 3600).map(lambda s: timedelta(seconds=s))


@PROPERTY
@given(rule=RULES, start=STARTS, later=GAPS, calendar=CALENDARS)
def test_deadline_is_never_before_start_and_moves_with_it(rule, start, later, calendar):
    due = deadline(rule, start, calendar)
    assert due >= start
    assert deadline(rule, start + later, calendar) >= due


@PROPERTY
@given(rule=RULES, start=STARTS, before_pause=GAPS, pause_len=GAPS, calendar=CALENDARS)
def test_a_pause_never_brings_a_deadline_earlier(rule, start, before_pause, pause_len,
                                                 calendar):
    clock = start_clock(RESOLVE, rule, DEFAULT_THRESHOLDS, start, calendar)
    paused = pause(clock, start + before_pause)
    if rule.resume is ResumeRule.NONE:
        assert paused == clock  # the law allows no pause: nothing changes
        return
    resumed = resume(paused, start + before_pause + pause_len, calendar)
    assert resumed.due_at >= clock.due_at
    assert list(resumed.alert_times) == sorted(resumed.alert_times)
    if rule.resume is ResumeRule.EXTEND:
        # Granting the time left again neither undoes a breach nor causes one.
        assert breached(resumed, start + before_pause + pause_len) \
            is breached(paused, start + before_pause)


@PROPERTY
@given(duration=st.integers(1, 3 * 24 * 60).map(lambda m: m * M), start=STARTS,
       before_pause=GAPS, pause_len=GAPS)
def test_extend_and_restart_differ_exactly_as_specified(duration, start, before_pause,
                                                        pause_len):
    paused_at = start + before_pause
    resumed_at = paused_at + pause_len
    runs = {}
    for rule in (ResumeRule.EXTEND, ResumeRule.RESTART):
        clock = start_clock(RESOLVE, TargetRule(ELAPSED, duration, resume=rule),
                            DEFAULT_THRESHOLDS, start, CAL["DE"])
        runs[rule] = resume(pause(clock, paused_at), resumed_at, CAL["DE"])
    extend_due = runs[ResumeRule.EXTEND].due_at
    restart_due = runs[ResumeRule.RESTART].due_at
    assert extend_due == start + duration + pause_len  # the old deadline plus the pause
    assert restart_due == resumed_at + duration  # the full duration from the resume
    # So a restart costs exactly the time that had run before the pause.
    assert restart_due - extend_due == paused_at - start
    assert runs[ResumeRule.EXTEND].paused_total == runs[ResumeRule.RESTART].paused_total


@PROPERTY
@given(hours=st.integers(1, 80), start=STARTS, before_pause=GAPS, pause_len=GAPS,
       calendar=CALENDARS)
def test_extend_on_business_time_grants_the_working_time_left(hours, start, before_pause,
                                                               pause_len, calendar):
    rule = TargetRule(BUSINESS, hours * H)
    clock = start_clock(RESOLVE, rule, DEFAULT_THRESHOLDS, start, calendar)
    paused_at, resumed_at = start + before_pause, start + before_pause + pause_len
    resumed = resume(pause(clock, paused_at), resumed_at, calendar)
    if paused_at <= clock.due_at:
        left = calendar.working_time_between(paused_at, clock.due_at)
        assert calendar.working_time_between(resumed_at, resumed.due_at) == left
    used_at_pause = fraction_used(clock, paused_at, calendar=calendar)
    assert fraction_used(resumed, resumed_at, calendar=calendar) == pytest.approx(used_at_pause)


@PROPERTY
@given(rule=RULES, start=STARTS, calendar=CALENDARS,
       offsets=st.lists(GAPS, min_size=1, max_size=12),
       pause_at=st.none() | st.integers(0, 11), pause_len=GAPS)
def test_each_threshold_fires_exactly_once_in_order(rule, start, calendar, offsets, pause_at,
                                                    pause_len):
    rule = dataclasses.replace(rule, resume=ResumeRule.EXTEND)
    clock = start_clock(RESOLVE, rule, DEFAULT_THRESHOLDS, start, calendar)
    now, seen = start, []
    for i, offset in enumerate(offsets):
        now += offset
        if i == pause_at:
            clock = pause(clock, now)
            now += pause_len
            clock = resume(clock, now, calendar)
        clock, fired = fire_thresholds(clock, now)
        seen += fired
    after = max(now, clock.due_at) + US
    clock, fired = fire_thresholds(clock, after)
    seen += fired
    assert seen == list(DEFAULT_THRESHOLDS)
    assert breached(clock, after)


@PROPERTY
@given(rule=RULES, start=STARTS, calendar=CALENDARS, a=GAPS, b=GAPS)
def test_fraction_used_grows_from_zero_to_one_at_the_deadline(rule, start, calendar, a, b):
    clock = start_clock(RESOLVE, rule, DEFAULT_THRESHOLDS, start, calendar)
    assert fraction_used(clock, start, calendar=calendar) == 0.0
    assert fraction_used(clock, clock.due_at, calendar=calendar) == 1.0
    early, late = sorted((start + a, start + b))
    assert fraction_used(clock, early, calendar=calendar) \
        <= fraction_used(clock, late, calendar=calendar)
    for fraction, when in zip(clock.thresholds, clock.alert_times, strict=True):
        assert threshold_time(clock, fraction, calendar) == when
        assert fraction_used(clock, when, calendar=calendar) == pytest.approx(fraction)


ZONES = st.sampled_from([ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"),
                         ZoneInfo("Asia/Jakarta")])


@PROPERTY
@given(rule=RULES, start=STARTS, calendar=CALENDARS, zone=ZONES, gap=GAPS)
def test_inputs_in_any_zone_give_the_same_answers(rule, start, calendar, zone, gap):
    # Only the instant matters, including in the repeated hour of an autumn change.
    rule = dataclasses.replace(rule, resume=ResumeRule.EXTEND) \
        if rule.resume is ResumeRule.NONE else rule

    def run(convert):
        clock = start_clock(RESOLVE, rule, DEFAULT_THRESHOLDS, convert(start), calendar)
        later = convert(start + gap)
        paused = pause(clock, later)
        resumed = resume(paused, convert(start + 2 * gap), calendar)
        return (clock, resumed, crossed(clock, later), remaining(clock, later),
                fraction_used(resumed, convert(start + 3 * gap), calendar=calendar))

    assert run(lambda t: t) == run(lambda t: t.astimezone(zone))


def test_business_deadline_with_a_calendar_of_other_hours():
    # A calendar with 10:00-17:00 hours still counts the rule's working time as given.
    short = dataclasses.replace(CAL["DE"], opens=time(10), closes=time(17))
    assert short.working_day_length == 7 * H
    rule = TargetRule(BUSINESS, 8 * H)
    monday = local("DE", 2026, 5, 4, 10)
    assert deadline(rule, monday, short) == local("DE", 2026, 5, 5, 11)


@PROPERTY
@given(days=st.integers(1, 80).map(lambda h: h * H / 2), start=STARTS, calendar=CALENDARS)
def test_a_business_deadline_falls_in_working_hours(days, start, calendar):
    due = deadline(TargetRule(BUSINESS, days), start, calendar)
    local = due.astimezone(calendar.tz)
    hours = calendar.working_hours(local.date())
    assert hours is not None, f"{local} is no working day"
    assert hours[0] < local.time().replace(tzinfo=None) <= hours[1]


COUNTRIES = st.sampled_from(["DE", "FR", "TR", "ID", "IN", "GB", "AU", "BR", "EU"])
CATEGORIES = st.sampled_from([c.value for c in Category])
PRIORITIES = st.sampled_from([p.value for p in Priority])
REASONS = st.sampled_from(list(PauseReason))


@PROPERTY
@given(country=COUNTRIES, category=CATEGORIES, priority=PRIORITIES, start=STARTS,
       before_pause=GAPS, pause_len=GAPS, reason=REASONS)
def test_pausing_never_brings_a_governed_deadline_earlier(country, category, priority,
                                                          start, before_pause, pause_len,
                                                          reason):
    """Every applicable policy runs under its own pause rule; whatever happens, the clock
    is due no earlier than before, and no later than any law that applies."""
    calendar = calendar_for(country, years=YEARS)
    found = governing(DEFAULT_POLICIES, RESOLVE, jurisdiction=country, category=category,
                      priority=priority, start=start, calendar=calendar)
    assume(found is not None)
    clock = start_governed(found, start, calendar)
    assert clock.due_at == found.due_at and clock.policy == found.policy.code
    assert all(b.due_at >= clock.due_at for b in clock.bounds)
    paused = pause(clock, start + before_pause, reason=reason, calendar=calendar)
    if not paused.waiting:
        assert paused == clock  # nothing pauses for this reason under these rules
        return
    assert paused.due_at >= clock.due_at
    resumed = resume(paused, start + before_pause + pause_len, calendar)
    assert resumed.due_at >= clock.due_at
    assert not resumed.waiting and resumed.paused_at is None
    # The governing run is the one due first; the laws that pause not at all kept their
    # deadline.
    assert all(b.due_at >= resumed.due_at for b in resumed.bounds)
    for bound in clock.bounds:
        if not bound.rule.pauses_for(reason):
            assert resumed.due_at <= bound.due_at


@PROPERTY
@given(rule=RULES, start=STARTS, calendar=CALENDARS, stop_after=GAPS)
def test_met_exactly_when_stopped_by_the_deadline(rule, start, calendar, stop_after):
    clock = start_clock(RESOLVE, rule, DEFAULT_THRESHOLDS, start, calendar)
    stopped = stop(clock, start + stop_after)
    assert met(stopped) is (start + stop_after <= clock.due_at)
    assert met(stop(clock, clock.due_at)) is True
    assert not breached(clock, clock.due_at)
    assert outcome(stopped, "declined") is Outcome.DECLINED
