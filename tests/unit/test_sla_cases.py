"""Worked deadline cases, as a legal-operations reviewer checks them (no Flask, no database).

Each case is a request as it reaches the platform (jurisdiction, category, priority, the
time of receipt in local time, the filing agency's region), what happens to it (a
question, its answer, a force majeure, a reclassification, an earlier receipt recorded,
the stop) and the deadline the law gives, with the policy that must govern it. The test
id names the legal source. The clocks are opened exactly as the portal opens them
(``workflows.sla.open_clocks`` with a calendar per policy), so a wrong default, a wrong
calendar or a wrong tie-break shows here.

Hand-checked against the holidays package's 2026-2028 tables (python-holidays 0.109);
``test_holiday_dates_relied_on`` fails first if an update moves one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from workflows.calendars import BusinessCalendar, calendar_for
from workflows.sla import (
    DEFAULT_POLICIES,
    DISCLOSE_DATA,
    Clock,
    CountFrom,
    Outcome,
    PauseReason,
    Target,
    calendars_for,
    clamp_acknowledgement,
    filing_jurisdictions,
    governing,
    open_clocks,
    outcome,
    pause,
    recount,
    resume,
    stop,
)

ACK, RESOLVE, DISPUTE = Target.ACKNOWLEDGE, Target.RESOLVE, Target.DISPUTE
YEARS = range(2020, 2030)
ZONES = {
    "AU": "Australia/Sydney", "BR": "America/Sao_Paulo", "DE": "Europe/Berlin",
    "EG": "Africa/Cairo", "EU": "Europe/Brussels", "FR": "Europe/Paris",
    "GB": "Europe/London", "ID": "Asia/Jakarta", "IN": "Asia/Kolkata",
    "PT": "Europe/Lisbon", "SA": "Asia/Riyadh", "TR": "Europe/Istanbul", "UTC": "UTC",
}


def at(place: str, *args: int) -> datetime:
    """A wall-clock time in ``place`` (a country code, or UTC)."""
    return datetime(*args, tzinfo=ZoneInfo(ZONES[place]))


@cache
def build(country: str, regions: tuple[str, ...], categories: tuple[str, ...]
          ) -> BusinessCalendar:
    return calendar_for(country, years=YEARS, subdivisions=regions, categories=categories)


@dataclass(frozen=True)
class Step:
    """Something that happens to the request: ``what`` at ``when``."""

    what: str  # pause, force_majeure, resume, stop, reclassify, receipt
    when: datetime
    category: str = ""
    priority: str = ""
    count_from: CountFrom = CountFrom.RECEIPT


@dataclass(frozen=True)
class Case:
    country: str
    category: str
    priority: str
    received: datetime
    due: datetime | None  # None: no deadline (refused at filing)
    policy: str
    target: Target = RESOLVE
    steps: tuple[Step, ...] = ()
    agency: str = ""  # the filing agency's country, where it is not the jurisdiction
    region: str | None = None  # the filing agency's subdivision
    action: str | None = None
    resolution: str | None = None
    outcome: Outcome | None = None
    others: tuple[str, ...] | None = None  # the other applicable policies, in order
    clamped: bool = False


def pause_(when: datetime) -> Step:
    return Step("pause", when)


def resume_(when: datetime) -> Step:
    return Step("resume", when)


def stop_(when: datetime) -> Step:
    return Step("stop", when)


class Refused(Exception):
    """The agency may not file under this jurisdiction."""


def run(case: Case) -> tuple[Clock | None, list[str]]:
    """The clock of ``case.target`` after its steps, and the other applicable policies."""
    agency = case.agency or case.country
    if case.country not in filing_jurisdictions(agency):
        raise Refused(case.country)
    received = case.received
    category, priority = case.category, case.priority

    def opened(start: datetime, receipt: datetime) -> dict:
        calendars = calendars_for(DEFAULT_POLICIES, case.country, build,
                                  agency_country=agency, agency_subdivision=case.region)
        return open_clocks(
            DEFAULT_POLICIES, (ACK, RESOLVE, DISPUTE), jurisdiction=case.country,
            category=category, priority=priority, start=start, received_at=receipt,
            calendar=build(case.country, (), ("public",)), action=case.action,
            calendars=calendars)

    clocks = opened(received, received)
    if case.target not in clocks:
        return None, []
    found, clock = clocks[case.target]
    calendars = calendars_for(DEFAULT_POLICIES, case.country, build, agency_country=agency,
                              agency_subdivision=case.region)
    calendar = build(case.country, (), ("public",))
    for step in case.steps:
        if step.what in ("pause", "force_majeure"):
            reason = (PauseReason.FORCE_MAJEURE if step.what == "force_majeure"
                      else PauseReason.CLARIFICATION)
            clock = pause(clock, step.when, reason=reason, calendar=calendar,
                          calendars=calendars)
        elif step.what == "resume":
            if clock.waiting:  # as the portal does: nothing to resume after no pause
                clock = resume(clock, step.when, calendar, calendars=calendars)
        elif step.what == "stop":
            clock = stop(clock, step.when)
        elif step.what in ("reclassify", "receipt"):
            if step.what == "reclassify":
                category = step.category or category
                priority = step.priority or priority
                start = (clock.started_at if step.count_from is CountFrom.RECEIPT
                         else step.when)
            else:  # an earlier receipt: the law in force then, counted from then
                received = start = step.when
            fresh = governing(DEFAULT_POLICIES, case.target, jurisdiction=case.country,
                              category=category, priority=priority, start=start,
                              received_at=received, calendar=calendar, action=case.action,
                              calendars=calendars)
            assert fresh is not None
            found = fresh
            clock = recount(clock, fresh, start=start, calendar=calendar,
                            calendars=calendars,
                            keep_extension=step.count_from is CountFrom.RECEIPT)
            if case.target is ACK:
                resolve_clock = opened(start, received)[RESOLVE][1]
                clock = clamp_acknowledgement({ACK: (found, clock),
                                               RESOLVE: (found, resolve_clock)})[ACK][1]
    others = [m.policy.code for m in found.others]
    return clock, others


H = timedelta(hours=1)

CASES = {
    # --- India: IT Rules 2021 r.3(1)(d) as amended by G.S.R. 120(E), in force 20 Feb 2026
    "IN GSR-120(E) r3(1)(d) 3 h, received 2 Mar 2026 10:00 IST": Case(
        "IN", "public_order", "standard", at("IN", 2026, 3, 2, 10),
        at("IN", 2026, 3, 2, 13), "in-it-rules-2026", others=("default",)),
    "IN GSR-120(E) NCII 2 h, received 2 Mar 2026 10:00 IST": Case(
        "IN", "intimate_imagery", "standard", at("IN", 2026, 3, 2, 10),
        at("IN", 2026, 3, 2, 12), "in-it-rules-2026-ncii"),
    "IN IT Rules 2021 r3(1)(d) 36 h still for a notice received 19 Feb 2026": Case(
        "IN", "public_order", "standard", at("IN", 2026, 2, 19, 23),
        at("IN", 2026, 2, 21, 11), "in-it-rules-2021"),
    "IN GSR-120(E) in force from 00:00 IST 20 Feb 2026": Case(
        "IN", "public_order", "urgent", at("IN", 2026, 2, 20, 0),
        at("IN", 2026, 2, 20, 3), "in-it-rules-2026"),
    "IN IT Rules 2021 r3(2)(b) NCII 24 h before the amendment": Case(
        "IN", "intimate_imagery", "standard", at("IN", 2026, 1, 10, 9),
        at("IN", 2026, 1, 11, 9), "in-it-rules-2021-ncii", others=("in-it-rules-2021",
                                                                     "default")),
    "IN emergency floor 1 h governs, r3(1)(d) 3 h is bound; floor extends over a question":
        Case("IN", "public_order", "emergency", at("IN", 2026, 3, 2, 10),
             at("IN", 2026, 3, 2, 12), "emergency",
             steps=(pause_(at("IN", 2026, 3, 2, 10, 20)), resume_(at("IN", 2026, 3, 2, 11, 20))),
             others=("in-it-rules-2026", "default")),
    "IN GSR-120(E) 3 h across the leap day 29 Feb 2028": Case(
        "IN", "fraud", "standard", at("IN", 2028, 2, 28, 23), at("IN", 2028, 2, 29, 2),
        "in-it-rules-2026"),
    "IN earlier receipt by mail 19 Feb 2026 counts, under the 36 h rule then in force": Case(
        "IN", "public_order", "standard", at("IN", 2026, 2, 21, 10),
        at("IN", 2026, 2, 21, 4), "in-it-rules-2021",
        steps=(Step("receipt", at("IN", 2026, 2, 19, 16)),)),
    # --- Turkey: Law No. 5651 ---------------------------------------------------------------
    "TR 5651 Arts 8-8A 4 h, a question does not pause (derhal ve en gec dort saat)": Case(
        "TR", "public_order", "standard", at("TR", 2026, 6, 2, 10), at("TR", 2026, 6, 2, 14),
        "tr-5651-art8",
        steps=(pause_(at("TR", 2026, 6, 2, 11)), resume_(at("TR", 2026, 6, 2, 13)))),
    "TR 5651 Arts 8-8A breached while awaiting the agency's answer": Case(
        "TR", "public_order", "standard", at("TR", 2026, 6, 2, 10), at("TR", 2026, 6, 2, 14),
        "tr-5651-art8",
        steps=(pause_(at("TR", 2026, 6, 2, 11)), stop_(at("TR", 2026, 6, 2, 15))),
        outcome=Outcome.BREACHED),
    "TR 5651 Additional Art 4 48 h for personal rights": Case(
        "TR", "defamation", "standard", at("TR", 2026, 6, 2, 10), at("TR", 2026, 6, 4, 10),
        "tr-5651-add4"),
    "TR 5651 Additional Art 4 48 h across the leap day 2028": Case(
        "TR", "privacy", "standard", at("TR", 2028, 2, 28, 12), at("TR", 2028, 3, 1, 12),
        "tr-5651-add4"),
    "TR 5651 Arts 8-8A no pause: the law governs an emergency while the floor waits": Case(
        "TR", "terrorism", "emergency", at("TR", 2026, 6, 2, 10), at("TR", 2026, 6, 2, 14),
        "tr-5651-art8",
        steps=(pause_(at("TR", 2026, 6, 2, 10, 30)), resume_(at("TR", 2026, 6, 2, 16)))),
    "TR 5651 Arts 8-8A bound; the emergency floor governs again after a short question":
        Case("TR", "terrorism", "emergency", at("TR", 2026, 6, 2, 10),
             at("TR", 2026, 6, 2, 11, 15), "emergency",
             steps=(pause_(at("TR", 2026, 6, 2, 10, 30)),
                    resume_(at("TR", 2026, 6, 2, 10, 45)))),
    "TR 5651 Arts 8-8A 4 h: acknowledgement clamped to the resolution": Case(
        "TR", "terrorism", "urgent", at("TR", 2026, 6, 2, 10), at("TR", 2026, 6, 2, 14),
        "default", target=ACK, clamped=True),
    "TR holidays half_day: Ramazan Bayrami eve 19 Mar 2026 closes 13:00": Case(
        "TR", "intellectual_property", "standard", at("TR", 2026, 3, 19, 10),
        at("TR", 2026, 3, 23, 14), "default", target=ACK),
    "TR holidays half_day: Kurban Bayrami eve 26 May 2026 closes 13:00": Case(
        "TR", "intellectual_property", "standard", at("TR", 2026, 5, 26, 12),
        at("TR", 2026, 6, 1, 16), "default", target=ACK),
    "TR holidays half_day: Republic Day eve 28 Oct 2026 closes 13:00": Case(
        "TR", "intellectual_property", "standard", at("TR", 2026, 10, 28, 9),
        at("TR", 2026, 10, 30, 13), "default", target=ACK),
    # --- Indonesia: Permenkominfo 5/2020 (MR5), Komdigi ------------------------------------
    "ID MR5 Art 14(3) 15(8) 16(9) 4 h for terrorism at standard priority": Case(
        "ID", "terrorism", "standard", at("ID", 2026, 7, 1, 10, 15),
        at("ID", 2026, 7, 1, 14, 15), "id-mr5-urgent"),
    "ID MR5 Art 15(6) 16(7) 1x24 h": Case(
        "ID", "hate_speech", "urgent", at("ID", 2026, 7, 1, 10, 15),
        at("ID", 2026, 7, 2, 10, 15), "id-mr5"),
    "ID holidays government: cuti bersama 18 20 23 24 Mar 2026 (dispute answer)": Case(
        "ID", "hate_speech", "standard", at("ID", 2026, 3, 17, 10),
        at("ID", 2026, 3, 31, 10), "default", target=DISPUTE),
    # --- Germany, a Bavarian agency ---------------------------------------------------------
    "DE-BY agency subdivision: Corpus Christi 4 Jun 2026 (dispute answer)": Case(
        "DE", "hate_speech", "standard", at("DE", 2026, 6, 3, 10),
        at("DE", 2026, 6, 11, 10), "default", target=DISPUTE, region="BY"),
    "DE national calendar: no Corpus Christi without the region": Case(
        "DE", "hate_speech", "standard", at("DE", 2026, 6, 3, 10),
        at("DE", 2026, 6, 10, 10), "default", target=DISPUTE),
    "DE business days across the Berlin spring DST night 29 Mar 2026, Easter": Case(
        "DE", "hate_speech", "standard", at("DE", 2026, 3, 27, 15),
        at("DE", 2026, 4, 7, 15), "default", target=DISPUTE),
    "DE business days across the leap day 29 Feb 2028": Case(
        "DE", "hate_speech", "standard", at("DE", 2028, 2, 28, 10),
        at("DE", 2028, 3, 6, 10), "default", target=DISPUTE),
    # --- EU: Regulation 2021/784 (TCO) -----------------------------------------------------
    "EU TCO 2021-784 Art 3(3) 1 h": Case(
        "DE", "terrorism", "standard", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 5, 11),
        "eu-tco-terrorism"),
    "EU TCO 2021-784 Art 3(8) restarts, and wins the tie with the emergency floor": Case(
        "DE", "terrorism", "emergency", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 5, 13),
        "eu-tco-terrorism",
        steps=(pause_(at("UTC", 2026, 5, 5, 10, 20)), resume_(at("UTC", 2026, 5, 5, 12))),
        others=("emergency", "default")),
    "EU TCO 2021-784 Art 3(7) force majeure: the hour runs from its end": Case(
        "DE", "terrorism", "standard", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 5, 15),
        "eu-tco-terrorism",
        steps=(Step("force_majeure", at("UTC", 2026, 5, 5, 10, 30)),
               resume_(at("UTC", 2026, 5, 5, 14)))),
    "EU TCO 2021-784 Art 3(3) met when actioned at exactly due_at 11:00:00": Case(
        "DE", "terrorism", "standard", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 5, 11),
        "eu-tco-terrorism", steps=(stop_(at("UTC", 2026, 5, 5, 11)),), outcome=Outcome.MET),
    "EU TCO 2021-784 Art 3(3) breached one second after due_at": Case(
        "DE", "terrorism", "standard", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 5, 11),
        "eu-tco-terrorism", steps=(stop_(at("UTC", 2026, 5, 5, 11, 0, 1)),),
        outcome=Outcome.BREACHED),
    "EU TCO 2021-784 governs France, LCEN art 6-1 24 h is bound": Case(
        "FR", "terrorism", "standard", at("FR", 2026, 6, 1, 10), at("FR", 2026, 6, 1, 11),
        "eu-tco-terrorism", others=("fr-lcen-6-1", "default")),
    "EU TCO 2021-784 1 h over the Lisbon spring DST night 29 Mar 2026": Case(
        "PT", "terrorism", "standard", at("UTC", 2026, 3, 29, 0, 30),
        at("UTC", 2026, 3, 29, 1, 30), "eu-tco-terrorism"),
    "EU TCO 2021-784 reclassified fraud to terrorism, from receipt: already breached": Case(
        "DE", "fraud", "standard", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 5, 11),
        "eu-tco-terrorism",
        steps=(Step("reclassify", at("UTC", 2026, 5, 5, 12), category="terrorism"),)),
    "EU TCO 2021-784 reclassified fraud to terrorism, from the reclassification": Case(
        "DE", "fraud", "standard", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 5, 13),
        "eu-tco-terrorism",
        steps=(Step("reclassify", at("UTC", 2026, 5, 5, 12), category="terrorism",
                    count_from=CountFrom.RECLASSIFICATION),)),
    "EU TCO 2021-784 earlier receipt through the government portal counts": Case(
        "DE", "terrorism", "standard", at("UTC", 2026, 5, 5, 10),
        at("UTC", 2026, 5, 5, 10, 30), "eu-tco-terrorism",
        steps=(Step("receipt", at("UTC", 2026, 5, 5, 9, 30)),)),
    "EU TCO 2021-784 for a member state's authority filing under EU": Case(
        "EU", "terrorism", "standard", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 5, 11),
        "eu-tco-terrorism", agency="DE"),
    # --- EU: Regulation 2022/2065 (DSA) Art. 9 -----------------------------------------------
    "EU DSA 2022-2065 Art 9 24 h across the Berlin spring DST night": Case(
        "DE", "hate_speech", "standard", at("DE", 2026, 3, 28, 12), at("UTC", 2026, 3, 29, 11),
        "eu-dsa-orders"),
    "EU DSA 2022-2065 Art 9 24 h across the Berlin autumn DST night": Case(
        "DE", "hate_speech", "standard", at("DE", 2026, 10, 24, 12),
        at("UTC", 2026, 10, 25, 10), "eu-dsa-orders"),
    "EU DSA 2022-2065 Art 9 24 h across the Lisbon spring DST night": Case(
        "PT", "hate_speech", "standard", at("PT", 2026, 3, 28, 12), at("UTC", 2026, 3, 29, 12),
        "eu-dsa-orders"),
    "EU DSA 2022-2065 Art 9 declined after the deadline: declined, not breached": Case(
        "DE", "hate_speech", "standard", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 6, 10),
        "eu-dsa-orders", steps=(stop_(at("UTC", 2026, 5, 6, 16)),), resolution="declined",
        outcome=Outcome.DECLINED),
    "EU DSA 2022-2065 Art 9 declined in time: declined, not met": Case(
        "DE", "hate_speech", "standard", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 6, 10),
        "eu-dsa-orders", steps=(stop_(at("UTC", 2026, 5, 5, 16)),), resolution="declined",
        outcome=Outcome.DECLINED),
    "EU DSA 2022-2065 Art 9 for an EU body's own order": Case(
        "EU", "fraud", "standard", at("UTC", 2026, 5, 5, 10), at("UTC", 2026, 5, 6, 10),
        "eu-dsa-orders", agency="EU"),
    "France LCEN 2004-575 art 6-1 24 h wins the tie with the DSA (listed first)": Case(
        "FR", "child_sexual_abuse", "standard", at("FR", 2026, 6, 1, 10),
        at("FR", 2026, 6, 2, 10), "fr-lcen-6-1", others=("eu-dsa-orders", "default")),
    # --- EU: Regulation 2023/1543 (e-Evidence), from 18 Aug 2026 --------------------------
    # The law allows 10 days; the platform's own 5 business days are stricter and govern,
    # with the regulation recorded on the clock.
    "EU e-Evidence 2023-1543 Art 10(2) 10 days bound under the platform's 5 days": Case(
        "DE", "fraud", "standard", at("DE", 2026, 9, 1, 12), at("DE", 2026, 9, 8, 12),
        "default", action=DISCLOSE_DATA, others=("eu-e-evidence",)),
    "EU e-Evidence 2023-1543 Art 10(4) 8 h bound under the emergency floor": Case(
        "DE", "fraud", "emergency", at("UTC", 2026, 9, 1, 10), at("UTC", 2026, 9, 1, 11),
        "emergency", action=DISCLOSE_DATA,
        others=("eu-e-evidence-emergency", "default", "eu-e-evidence")),
    "EU e-Evidence 2023-1543 not in force on 17 Aug 2026 (Berlin business days)": Case(
        "DE", "fraud", "standard", at("DE", 2026, 8, 17, 14), at("DE", 2026, 8, 24, 14),
        "default", action=DISCLOSE_DATA),
    # --- United Kingdom: Terrorism Act 2006 s.3 ---------------------------------------------
    "UK TA 2006 s3 2 working days counted from the day after receipt": Case(
        "GB", "terrorism", "standard", at("GB", 2026, 6, 1, 10), at("GB", 2026, 6, 4, 0),
        "gb-ta2006-s3"),
    "UK TA 2006 s3(9) a bank holiday in any part of the UK (Battle of the Boyne)": Case(
        "GB", "terrorism", "standard", at("GB", 2026, 7, 10, 15), at("GB", 2026, 7, 16, 0),
        "gb-ta2006-s3"),
    "UK TA 2006 s3(9) Christmas Day and Boxing Day": Case(
        "GB", "terrorism", "standard", at("GB", 2026, 12, 23, 15), at("GB", 2026, 12, 30, 0),
        "gb-ta2006-s3"),
    "UK TA 2006 s3 across the leap day 29 Feb 2028": Case(
        "GB", "terrorism", "standard", at("GB", 2028, 2, 28, 16), at("GB", 2028, 3, 2, 0),
        "gb-ta2006-s3"),
    "UK TA 2006 s3 a question does not stop the working days": Case(
        "GB", "terrorism", "standard", at("GB", 2026, 6, 1, 10), at("GB", 2026, 6, 4, 0),
        "gb-ta2006-s3",
        steps=(pause_(at("GB", 2026, 6, 1, 11)), resume_(at("GB", 2026, 6, 3, 11)))),
    # --- Australia: Online Safety Act 2021 ss 109, 110 ---------------------------------------
    "AU Online Safety Act 2021 ss 109-110 24 h": Case(
        "AU", "terrorism", "standard", at("AU", 2026, 6, 1, 9), at("AU", 2026, 6, 2, 9),
        "au-osa-removal"),
    # --- Friday-Saturday weekends: platform default ------------------------------------------
    "SA platform default 5 business days over a Friday-Saturday weekend": Case(
        "SA", "other", "standard", at("SA", 2026, 4, 9, 10), at("SA", 2026, 4, 16, 10),
        "default"),
    "SA platform default acknowledgement Thursday to Sunday": Case(
        "SA", "other", "standard", at("SA", 2026, 4, 9, 10), at("SA", 2026, 4, 12, 10),
        "default", target=ACK),
    "EG platform default acknowledgement Thursday to Sunday": Case(
        "EG", "other", "standard", at("EG", 2026, 5, 7, 10), at("EG", 2026, 5, 10, 10),
        "default", target=ACK),
    "PT platform default 5 business days across the Lisbon autumn DST night": Case(
        "PT", "hate_speech", "standard", at("PT", 2026, 10, 23, 15),
        at("PT", 2026, 10, 30, 15), "default", target=DISPUTE),
    # --- boundaries and refusals -------------------------------------------------------------
    "BR platform default met when stopped at exactly due_at": Case(
        "BR", "other", "standard", at("BR", 2026, 4, 20, 10), at("BR", 2026, 4, 28, 10),
        "default", steps=(stop_(at("BR", 2026, 4, 28, 10)),), outcome=Outcome.MET),
    "BR platform emergency floor after reclassification, from the reclassification": Case(
        "BR", "other", "standard", at("BR", 2026, 4, 20, 10), at("BR", 2026, 4, 22, 12),
        "emergency",
        steps=(Step("reclassify", at("BR", 2026, 4, 22, 11), priority="emergency",
                    count_from=CountFrom.RECLASSIFICATION),)),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_worked_case(case: Case) -> None:
    clock, others = run(case)
    assert clock is not None
    assert clock.due_at == case.due.astimezone(UTC)
    assert clock.policy == case.policy
    assert clock.clamped is case.clamped
    if case.others is not None:
        assert tuple(others) == case.others
    if case.outcome is not None:
        assert outcome(clock, case.resolution) is case.outcome


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(("agency", "jurisdiction"), [
    ("TR", "DE"),  # a Turkish agency cannot start a German (EU) clock
    ("TR", "EU"),  # nor an EU one: Turkey is no member state
    ("GB", "EU"),
    ("EU", "DE"),  # an EU body files under the EU, not a member state's law
])
def test_jurisdictions_an_agency_may_not_file_for(agency: str, jurisdiction: str) -> None:
    with pytest.raises(Refused):
        run(Case(jurisdiction, "terrorism", "standard", at("UTC", 2026, 5, 5, 10), None, "",
                 agency=agency))


def test_no_policy_no_clock() -> None:
    # The portal refuses such a filing (portal/services/filing.py); here: none governs.
    assert governing((), RESOLVE, jurisdiction="DE", category="fraud", priority="standard",
                     start=at("UTC", 2026, 5, 5, 10),
                     calendar=build("DE", (), ("public",))) is None


def test_holiday_dates_relied_on() -> None:
    tr = build("TR", (), ("public", "half_day", "government"))
    assert tr.working_hours(date(2026, 3, 19)) == (time(9), time(13))
    assert tr.working_hours(date(2026, 5, 26)) == (time(9), time(13))
    assert tr.working_hours(date(2026, 10, 28)) == (time(9), time(13))
    assert not tr.is_working_day(date(2026, 3, 20))
    indonesia = build("ID", (), ("public", "half_day", "government"))
    assert {date(2026, 3, d) for d in (18, 19, 20, 23, 24)} <= indonesia.holidays
    assert date(2026, 6, 4) in build("DE", ("BY",), ("public", "half_day", "government")
                                     ).holidays
    assert date(2026, 6, 4) not in build("DE", (), ("public",)).holidays
    uk = build("GB", ("*",), ("public",))
    assert {date(2026, 7, 13), date(2026, 12, 25), date(2026, 12, 28)} <= uk.holidays
    assert date(2026, 7, 13) not in build("GB", ("ENG",), ("public",)).holidays

