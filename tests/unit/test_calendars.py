"""Business calendars: weekends, holidays, working hours, daylight saving (no Flask)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from workflows.calendars import (
    SATURDAY_SUNDAY,
    WEEKENDS,
    BusinessCalendar,
    HolidayChange,
    calendar_for,
    country_timezone,
)

YEARS = range(2024, 2030)
BR = calendar_for("BR", years=YEARS)
DE = calendar_for("DE", years=YEARS)
ID = calendar_for("ID", years=YEARS)
IN = calendar_for("IN", years=YEARS)
SA = calendar_for("SA", years=YEARS)
TR = calendar_for("TR", years=YEARS)
NP = calendar_for("NP", years=YEARS)
# With half-day eves (closing at 13:00) and Indonesia's cuti bersama.
TR_HALF = calendar_for("TR", years=YEARS, categories=("public", "half_day"))
ID_GOV = calendar_for("ID", years=YEARS, categories=("public", "government"))
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)

PROPERTY = settings(max_examples=100, database=None, deadline=None)


def at(cal: BusinessCalendar, *args: int) -> datetime:
    """A local wall-clock time in ``cal``'s zone."""
    return datetime(*args, tzinfo=cal.tz)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- weekends and time zones -------------------------------------------------------------

@pytest.mark.parametrize(("country", "weekend"), [
    ("SA", {4, 5}), ("QA", {4, 5}), ("KW", {4, 5}), ("BH", {4, 5}), ("OM", {4, 5}),
    ("JO", {4, 5}), ("EG", {4, 5}), ("IQ", {4, 5}), ("YE", {4, 5}), ("IL", {4, 5}),
    ("IR", {4}), ("AF", {3, 4}), ("NP", {5}), ("BN", {4, 6}),
    # The UAE moved to Saturday-Sunday on 1 January 2022.
    ("AE", {5, 6}), ("DE", {5, 6}), ("ID", {5, 6}), ("TR", {5, 6}), ("IN", {5, 6}),
])
def test_weekends(country, weekend):
    assert calendar_for(country, years=[2026]).weekend == weekend


def test_weekend_table_lists_only_exceptions():
    assert "AE" not in WEEKENDS
    assert all(days != SATURDAY_SUNDAY and len(days) < 7 for days in WEEKENDS.values())


@pytest.mark.parametrize(("country", "zone"), [
    ("ID", "Asia/Jakarta"), ("US", "America/New_York"), ("RU", "Europe/Moscow"),
    ("BR", "America/Sao_Paulo"), ("AU", "Australia/Sydney"), ("CA", "America/Toronto"),
    ("MX", "America/Mexico_City"), ("KZ", "Asia/Almaty"), ("UA", "Europe/Kyiv"),
    ("UZ", "Asia/Tashkent"),
    # Single-zone countries (and Germany's Busingen exclave) come from zone.tab.
    ("DE", "Europe/Berlin"), ("TR", "Europe/Istanbul"), ("IN", "Asia/Kolkata"),
    ("SA", "Asia/Riyadh"), ("de", "Europe/Berlin"),
    ("XX", "UTC"),
])
def test_country_timezone(country, zone):
    assert country_timezone(country) == ZoneInfo(zone)


def test_calendar_for_uses_the_capital_zone_unless_told():
    assert ID.tz == ZoneInfo("Asia/Jakarta")
    assert calendar_for("ID", years=[2026], tz="Asia/Makassar").tz == ZoneInfo("Asia/Makassar")
    with pytest.raises(ValueError, match="time zone"):
        calendar_for("ID", years=[2026], tz="Asia/Atlantis")


def test_unknown_country_has_no_holidays_and_utc():
    cal = calendar_for("XX", years=[2026])
    assert cal.holidays == frozenset()
    assert cal.tz == ZoneInfo("UTC")
    assert cal.weekend == SATURDAY_SUNDAY


def test_subdivision_holidays_and_unknown_subdivision():
    bavaria = calendar_for("DE", years=[2026], subdivision="BY")
    assert date(2026, 1, 6) in bavaria.holidays  # Epiphany, Bavaria only
    assert date(2026, 1, 6) not in calendar_for("DE", years=[2026]).holidays
    with pytest.raises(ValueError, match="subdivision"):
        calendar_for("DE", years=[2026], subdivision="ZZ")


@pytest.mark.parametrize("kwargs", [
    {"opens": time(17), "closes": time(9)},
    {"opens": time(9), "closes": time(9)},
    {"weekend": frozenset(range(7))},
    {"weekend": frozenset({7})},
    {"opens": time(9, tzinfo=UTC)},
])
def test_calendar_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        BusinessCalendar(country="ZZ", tz=ZoneInfo("UTC"), **kwargs)


@pytest.mark.parametrize("call", [
    lambda: DE.add_working_time(datetime(2026, 5, 4, 10), H),
    lambda: DE.add_working_days(datetime(2026, 5, 4, 10), 1),
    lambda: DE.working_time_between(datetime(2026, 5, 4, 10), utc(2026, 5, 5)),
    lambda: DE.working_time_between(utc(2026, 5, 4), datetime(2026, 5, 5, 10)),
    lambda: DE.end_of_day(datetime(2026, 5, 4, 10), time(16)),
])
def test_naive_datetimes_are_refused(call):
    with pytest.raises(ValueError, match="naive"):
        call()


# --- adding working time: worked examples --------------------------------------------------

def test_working_time_counts_hours_of_working_days():
    monday = at(DE, 2026, 5, 4, 10)
    assert DE.add_working_time(monday, 3 * H) == at(DE, 2026, 5, 4, 13)
    # 10:00 + 8 working hours runs through the night to Tuesday 10:00.
    assert DE.add_working_time(monday, 8 * H) == at(DE, 2026, 5, 5, 10)
    assert DE.add_working_days(monday, 5) == at(DE, 2026, 5, 11, 10)
    assert DE.add_working_time(monday, 3 * H).tzinfo is UTC


def test_a_deadline_on_a_closing_time_stays_there():
    friday = at(DE, 2026, 5, 8, 9)
    assert DE.add_working_time(friday, 8 * H) == at(DE, 2026, 5, 8, 17)


def test_a_start_outside_hours_counts_from_the_next_opening():
    saturday = at(DE, 2026, 5, 9, 11)
    assert DE.add_working_time(saturday, 2 * H) == at(DE, 2026, 5, 11, 11)
    assert DE.add_working_time(saturday, timedelta(0)) == at(DE, 2026, 5, 11, 9)
    early = at(DE, 2026, 5, 11, 6)
    assert DE.add_working_time(early, H) == at(DE, 2026, 5, 11, 10)
    late = at(DE, 2026, 5, 11, 19)
    assert DE.add_working_time(late, H) == at(DE, 2026, 5, 12, 10)
    assert DE.add_working_time(at(DE, 2026, 5, 11, 12), timedelta(0)) == at(DE, 2026, 5, 11, 12)


def test_negative_amounts_count_backwards():
    assert DE.add_working_time(at(DE, 2026, 5, 11, 11), -3 * H) == at(DE, 2026, 5, 8, 16)
    # Exactly a day back from an opening lands on the earlier closing, not the opening.
    assert DE.add_working_time(at(DE, 2026, 5, 12, 9), -8 * H) == at(DE, 2026, 5, 8, 17)


@pytest.mark.parametrize(("moment", "latest"), [
    (at(DE, 2026, 5, 11, 9, 30), at(DE, 2026, 5, 11, 9, 30)),  # inside hours: itself
    (at(DE, 2026, 5, 11, 17), at(DE, 2026, 5, 11, 17)),  # the closing is still inside
    (at(DE, 2026, 5, 11, 20), at(DE, 2026, 5, 11, 17)),
    (at(DE, 2026, 5, 11, 9), at(DE, 2026, 5, 8, 17)),  # no working time yet on Monday
    (at(DE, 2026, 5, 9, 12), at(DE, 2026, 5, 8, 17)),  # Saturday
])
def test_latest_working_instant(moment, latest):
    assert DE.latest_working_instant(moment) == latest


def test_working_time_between():
    assert DE.working_time_between(at(DE, 2026, 5, 8, 15), at(DE, 2026, 5, 11, 10)) == 3 * H
    assert DE.working_time_between(at(DE, 2026, 5, 9, 0), at(DE, 2026, 5, 10, 23)) == timedelta(0)
    assert DE.working_time_between(at(DE, 2026, 5, 11, 10), at(DE, 2026, 5, 8, 15)) == timedelta(0)


def test_saudi_business_deadline_skips_friday_and_saturday():
    thursday = at(SA, 2026, 4, 9, 10)
    assert not SA.is_working_day(date(2026, 4, 10))  # Friday
    assert not SA.is_working_day(date(2026, 4, 11))  # Saturday
    assert SA.is_working_day(date(2026, 4, 12))  # Sunday is a working day
    assert SA.add_working_days(thursday, 1) == at(SA, 2026, 4, 12, 10) == utc(2026, 4, 12, 7)


def test_nepal_works_on_sundays():
    friday = at(NP, 2026, 5, 8, 15)
    assert NP.add_working_time(friday, 4 * H) == at(NP, 2026, 5, 10, 11)


# --- holidays -------------------------------------------------------------------------------

def test_python_holidays_dates_used_here():
    # The dates below are python-holidays' for 2026; if an update moves them, the
    # deadline tests that rely on them must be revisited.
    assert {date(2026, 3, 21), date(2026, 3, 22), date(2026, 5, 27)} <= ID.holidays
    assert {date(2026, 3, 20), date(2026, 5, 27), date(2026, 5, 28), date(2026, 5, 29)} \
        <= TR.holidays
    assert date(2026, 1, 26) in IN.holidays
    assert date(2026, 4, 21) in BR.holidays


def test_indonesia_eid_al_adha_is_skipped():
    # Eid al-Adha is Wednesday 27 May 2026; Pancasila Day Monday 1 June.
    tuesday = at(ID, 2026, 5, 26, 10)
    assert ID.add_working_days(tuesday, 1) == at(ID, 2026, 5, 28, 10)
    monday = at(ID, 2026, 5, 25, 10)
    assert ID.add_working_days(monday, 5) == at(ID, 2026, 6, 3, 10) == utc(2026, 6, 3, 3)


def test_indonesia_eid_al_fitr_week():
    # Day of Silence Thursday 19 March, Eid al-Fitr on the weekend of 21-22 March.
    wednesday = at(ID, 2026, 3, 18, 10)
    assert ID.add_working_days(wednesday, 2) == at(ID, 2026, 3, 23, 10)


def test_turkey_eid_holidays_are_skipped():
    # Eid al-Fitr Friday 20 March 2026; Eid al-Adha Wednesday 27 to Saturday 30 May.
    assert TR.add_working_days(at(TR, 2026, 3, 19, 10), 1) == at(TR, 2026, 3, 23, 10)
    assert TR.add_working_days(at(TR, 2026, 5, 26, 10), 1) == at(TR, 2026, 6, 1, 10)
    assert TR.add_working_days(at(TR, 2026, 5, 26, 10), 1) == utc(2026, 6, 1, 7)


def test_india_republic_day_is_skipped():
    friday = at(IN, 2026, 1, 23, 10)
    assert IN.add_working_days(friday, 1) == at(IN, 2026, 1, 27, 10) == utc(2026, 1, 27, 4, 30)


def test_holiday_change_adds_a_late_announced_holiday():
    # Indonesia's joint leave after Eid (cuti bersama) is announced by decree.
    added = calendar_for("ID", years=[2026], changes=[HolidayChange(date(2026, 3, 23), True)])
    friday = at(ID, 2026, 3, 20, 10)
    assert ID.add_working_days(friday, 1) == at(ID, 2026, 3, 23, 10)
    assert added.add_working_days(friday, 1) == at(ID, 2026, 3, 24, 10)


def test_holiday_change_removes_a_predicted_holiday():
    # The moon was sighted a day late: Eid is not on Friday 20 March after all.
    moved = calendar_for("TR", years=[2026], changes=[
        HolidayChange(date(2026, 3, 20), False), HolidayChange(date(2026, 3, 23), True),
    ])
    assert moved.is_working_day(date(2026, 3, 20))
    assert not moved.is_working_day(date(2026, 3, 23))
    assert moved.add_working_days(at(TR, 2026, 3, 19, 10), 1) == at(TR, 2026, 3, 20, 10)


def test_later_changes_win():
    cal = calendar_for("TR", years=[2026], changes=[
        HolidayChange(date(2026, 4, 7), True), HolidayChange(date(2026, 4, 7), False),
    ])
    assert cal.is_working_day(date(2026, 4, 7))


def test_dates_are_looked_up_in_local_time():
    # 20:00 UTC on Sunday 25 January is 01:30 on Monday 26 January (Republic Day) in India.
    assert IN.add_working_time(utc(2026, 1, 25, 20), H) == at(IN, 2026, 1, 27, 10)


# --- daylight saving (Europe/Berlin, 29 March and 25 October 2026) ------------------------

def test_business_hours_across_the_spring_change():
    friday = at(DE, 2026, 3, 27, 15)  # CET, UTC+1
    due = DE.add_working_time(friday, 4 * H)
    assert due == at(DE, 2026, 3, 30, 11) == utc(2026, 3, 30, 9)  # CEST, UTC+2
    assert DE.working_time_between(friday, due) == 4 * H


def test_business_hours_across_the_autumn_change():
    friday = at(DE, 2026, 10, 23, 15)  # CEST
    due = DE.add_working_time(friday, 4 * H)
    assert due == at(DE, 2026, 10, 26, 11) == utc(2026, 10, 26, 10)  # CET
    assert DE.working_time_between(friday, due) == 4 * H


SEVEN_DAYS = dataclasses.replace(DE, weekend=frozenset())  # a desk that works on Sundays


def test_end_of_day_on_the_spring_change_day():
    start = at(SEVEN_DAYS, 2026, 3, 29, 10)
    due = SEVEN_DAYS.end_of_day(start, time(16))
    assert due == utc(2026, 3, 29, 22)  # local midnight, CEST
    assert due - at(SEVEN_DAYS, 2026, 3, 29, 0) == 23 * H  # a 23-hour day


def test_end_of_day_on_the_autumn_change_day():
    start = at(SEVEN_DAYS, 2026, 10, 25, 10)
    due = SEVEN_DAYS.end_of_day(start, time(16))
    assert due == utc(2026, 10, 25, 23)  # local midnight, CET
    assert due - at(SEVEN_DAYS, 2026, 10, 25, 0) == 25 * H  # a 25-hour day


def test_working_hours_are_wall_clock_on_the_change_day():
    sunday = at(SEVEN_DAYS, 2026, 3, 29, 0)
    assert SEVEN_DAYS.working_time_between(sunday, at(SEVEN_DAYS, 2026, 3, 30, 0)) == 8 * H


# --- end of day --------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "due"), [
    # Before the cut-off on a working day: that day's end.
    (at(DE, 2026, 5, 5, 15, 59), at(DE, 2026, 5, 6, 0)),
    # At or after it: the end of the next working day.
    (at(DE, 2026, 5, 5, 16, 0), at(DE, 2026, 5, 7, 0)),
    (at(DE, 2026, 5, 8, 17, 0), at(DE, 2026, 5, 12, 0)),  # Friday -> Monday's end
    # On a weekend day or a holiday, before the cut-off or not: the next working day's end.
    (at(DE, 2026, 5, 9, 10, 0), at(DE, 2026, 5, 12, 0)),
    (at(DE, 2026, 5, 1, 10, 0), at(DE, 2026, 5, 5, 0)),  # Labour Day, a Friday
    # A UTC start is taken in local time: 23:30 UTC Monday is Tuesday 01:30 in Berlin.
    (utc(2026, 5, 4, 23, 30), at(DE, 2026, 5, 6, 0)),
])
def test_end_of_day(start, due):
    assert DE.end_of_day(start, time(16)) == due


def test_end_of_day_refuses_an_aware_cutoff():
    with pytest.raises(ValueError, match="cutoff"):
        DE.end_of_day(utc(2026, 5, 5, 10), time(16, tzinfo=UTC))


# --- properties ----------------------------------------------------------------------------

CALENDARS = st.sampled_from([BR, DE, ID, IN, SA, TR, NP, SEVEN_DAYS, TR_HALF, ID_GOV])
STARTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 6, 30),
    timezones=st.sampled_from([UTC, BERLIN, ZoneInfo("America/New_York")]),
)
AMOUNTS = st.one_of(
    st.integers(0, 30 * 8).map(lambda h: timedelta(hours=h)),
    st.integers(0, 30 * 8 * 3600 * 10**6).map(lambda us: timedelta(microseconds=us)),
)
US = timedelta(microseconds=1)


def brute_force_between(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time in [start, end), one local day at a time."""
    first = start.astimezone(cal.tz).replace(tzinfo=None)
    last = end.astimezone(cal.tz).replace(tzinfo=None)
    total = timedelta(0)
    day = first.date()
    while day <= last.date():
        if day.weekday() not in cal.weekend and day not in cal.holidays:
            closes = cal.early_closes.get(day, cal.closes)
            lo = max(first, datetime.combine(day, cal.opens))
            hi = min(last, datetime.combine(day, min(closes, cal.closes)))
            total += max(hi - lo, timedelta(0))
        day += timedelta(days=1)
    return total


@PROPERTY
@given(cal=CALENDARS, start=STARTS, amount=AMOUNTS)
def test_add_then_measure_round_trips(cal, start, amount):
    due = cal.add_working_time(start, amount)
    assert due >= start
    assert cal.working_time_between(start, due) == amount
    if amount:
        # The earliest such instant: a microsecond sooner is not enough.
        assert cal.working_time_between(start, due - US) < amount
        local = due.astimezone(cal.tz)
        hours = cal.working_hours(local.date())
        assert hours is not None  # a working day
        assert hours[0] < local.time().replace(tzinfo=None) <= hours[1]


@PROPERTY
@given(cal=CALENDARS, start=STARTS, end=STARTS)
def test_measure_then_add_round_trips(cal, start, end):
    spent = cal.working_time_between(start, end)
    assume(spent > timedelta(0))
    reached = cal.add_working_time(start, spent)
    assert reached <= end
    assert cal.working_time_between(reached, end) == timedelta(0)


@PROPERTY
@given(cal=CALENDARS, start=STARTS, length=st.integers(0, 20 * 24 * 3600))
def test_between_matches_a_day_by_day_count(cal, start, length):
    end = start + timedelta(seconds=length)
    assert cal.working_time_between(start, end) == brute_force_between(cal, start, end)


@PROPERTY
@given(cal=CALENDARS, start=STARTS, a=AMOUNTS, b=AMOUNTS)
def test_adding_is_monotone_and_additive(cal, start, a, b):
    small, large = sorted((a, b))
    assert cal.add_working_time(start, small) <= cal.add_working_time(start, large)
    if small:
        # Adding in two steps lands where one step does.
        assert cal.add_working_time(cal.add_working_time(start, small), large) \
            == cal.add_working_time(start, small + large)


@PROPERTY
@given(cal=CALENDARS, start=STARTS, days=st.integers(0, 40))
def test_working_days_are_whole_working_days(cal, start, days):
    assert cal.add_working_days(start, days) == cal.add_working_time(start, days * 8 * H)


@PROPERTY
@given(cal=CALENDARS, start=STARTS, days=st.integers(1, 30))
def test_working_days_after_the_day_count_whole_days(cal, start, days):
    due = cal.working_days_after(start, days)
    local = due.astimezone(cal.tz)
    assert local.time() == time(0)  # the end of a local day
    last = local.date() - timedelta(days=1)
    assert cal.is_working_day(last)
    first = start.astimezone(cal.tz).date() + timedelta(days=1)
    counted = sum(cal.is_working_day(first + timedelta(days=n))
                  for n in range((last - first).days + 1))
    assert counted == days
    # A later receipt never gets an earlier deadline.
    assert cal.working_days_after(start + timedelta(hours=7), days) >= due


# --- half days, categories, regions ---------------------------------------------------------

def test_a_half_day_eve_closes_at_one():
    # Thursday 19 March 2026, Ramazan Bayramı eve, closes at 13:00; Friday is Eid.
    assert TR_HALF.working_hours(date(2026, 3, 19)) == (time(9), time(13))
    assert TR.working_hours(date(2026, 3, 19)) == (time(9), time(17))
    assert TR_HALF.add_working_time(at(TR, 2026, 3, 19, 10), 3 * H) == at(TR, 2026, 3, 19, 13)
    assert TR_HALF.add_working_time(at(TR, 2026, 3, 19, 10), 4 * H) == at(TR, 2026, 3, 23, 10)
    assert TR_HALF.working_time_between(at(TR, 2026, 3, 19, 9), at(TR, 2026, 3, 19, 17)) \
        == 4 * H
    # Counting back from Monday lands on the eve's early closing.
    assert TR_HALF.add_working_time(at(TR, 2026, 3, 23, 9), -H) == at(TR, 2026, 3, 19, 12)
    assert TR_HALF.latest_working_instant(at(TR, 2026, 3, 19, 15)) == at(TR, 2026, 3, 19, 13)


@pytest.mark.parametrize(("name", "closes"), [
    ("Eid al-Fitr (from 1pm)", time(13)),
    ("Christmas Eve (from 12pm)", time(12)),
    ("New Year's Eve (from 12:30pm)", time(12, 30)),
    ("Pre-holiday day (workday shortened by 3 hours)", time(14)),
    ("Christmas Eve", None),
    ("Women's Day", None),
])
def test_early_closings_are_read_from_the_name(name, closes):
    from workflows.calendars import early_close_of

    assert early_close_of(name) == closes


def test_a_half_day_of_unknown_hours_counts_in_full():
    # China's half days (e.g. Youth Day) are for some people only and give no hour.
    china = calendar_for("CN", years=[2026], categories=("public", "half_day"))
    assert china.working_hours(date(2026, 5, 4)) is None or \
        china.working_hours(date(2026, 5, 4)) == (time(9), time(17))


def test_cuti_bersama_are_in_the_government_category():
    assert {date(2026, 3, d) for d in (18, 20, 23, 24)} <= ID_GOV.holidays
    assert not {date(2026, 3, d) for d in (18, 20, 23, 24)} & ID.holidays


def test_regions_add_up_and_any_part_takes_them_all():
    both = calendar_for("DE", years=[2026], subdivisions=["BY", "BE"])
    assert date(2026, 6, 4) in both.holidays  # Corpus Christi, Bavaria
    assert date(2026, 3, 8) in calendar_for("DE", years=[2026], subdivision="BE").holidays
    uk = calendar_for("GB", years=[2026], subdivisions=["*"])
    assert {date(2026, 3, 17), date(2026, 7, 13), date(2026, 11, 30)} <= uk.holidays
    with pytest.raises(ValueError, match="categories"):
        calendar_for("DE", years=[2026], categories=("public", "harvest"))


def test_an_override_makes_a_half_day_a_whole_day():
    whole = calendar_for("TR", years=[2026], categories=("public", "half_day"),
                         changes=[HolidayChange(date(2026, 3, 19), True)])
    assert not whole.is_working_day(date(2026, 3, 19))
    open_all_day = calendar_for("TR", years=[2026], categories=("public", "half_day"),
                                changes=[HolidayChange(date(2026, 3, 19), False)])
    assert open_all_day.working_hours(date(2026, 3, 19)) == (time(9), time(17))


def test_early_closing_at_the_opening_is_a_day_off():
    cal = BusinessCalendar(country="ZZ", tz=ZoneInfo("UTC"),
                           early_closes={date(2026, 5, 5): time(9)})
    assert not cal.is_working_day(date(2026, 5, 5))
    assert cal.add_working_time(utc(2026, 5, 4, 16), 2 * H) == utc(2026, 5, 6, 10)
