"""The sign-in delay schedule, without Flask: its shape, its cap, and how many guesses it
lets through in a given time (hypothesis over every schedule the settings can make)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.services.signin_delays import DelaySchedule

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
DEFAULT = DelaySchedule(free=5, first=timedelta(seconds=30), cap=timedelta(minutes=5),
                        forget=timedelta(hours=24))


@st.composite
def schedules(draw: st.DrawFn) -> DelaySchedule:
    free = draw(st.integers(0, 20))
    first = timedelta(seconds=draw(st.integers(5, 600)))
    cap = first * draw(st.integers(1, 200))
    forget = cap + timedelta(seconds=draw(st.integers(1, 10 ** 6)))
    return DelaySchedule(free=free, first=first, cap=cap, forget=forget)


def test_the_default_schedule():
    waits = [DEFAULT.delay(n).total_seconds() for n in range(12)]
    assert waits == [0, 0, 0, 0, 0, 30, 60, 120, 240, 300, 300, 300]


@given(schedules(), st.integers(0, 10 ** 12))
def test_free_failures_then_doubling_up_to_the_cap(schedule, failures):
    delay = schedule.delay(failures)
    if failures < schedule.free:
        assert delay == timedelta(0)
        return
    assert schedule.first <= delay <= schedule.cap
    following = schedule.delay(failures + 1)
    # Never shorter, and exactly doubled until the cap (a count in the billions too).
    assert following == min(2 * delay, schedule.cap)


@given(schedules())
def test_the_cap_is_reached(schedule):
    ratio = schedule.cap / schedule.first
    assert schedule.delay(schedule.free + int(ratio).bit_length()) == schedule.cap


@given(schedules(), st.integers(0, 60), st.integers(0, 10 ** 6))
def test_an_attempt_is_allowed_once_the_delay_of_the_last_failure_has_passed(
        schedule, failures, seconds):
    now = T0 + timedelta(seconds=seconds)
    at = schedule.retry_at(failures, T0, now)
    waited = now - T0
    if failures == 0 or waited >= schedule.forget or waited >= schedule.delay(failures):
        assert at is None
    else:
        assert at == T0 + schedule.delay(failures) and at > now


@given(schedules(), st.integers(1, 10 ** 6))
def test_a_count_is_forgotten_a_while_after_its_last_failure(schedule, failures):
    assert schedule.current(failures, T0, T0 + schedule.forget) == 0
    assert schedule.current(failures, T0, T0 + schedule.forget - timedelta(seconds=1)) \
        == failures
    assert schedule.current(failures, None, T0) == 0


@settings(deadline=None)
@given(schedules(), st.integers(1, 12))
def test_guesses_per_period_are_bounded(schedule, hours):
    """An attacker who tries the moment each attempt is allowed gets no more than the
    free failures, the climb to the cap, and one per cap afterwards (waiting out
    ``forget`` instead gives the free failures once per ``forget``, far fewer); and the
    owner, arriving once the attacker stops, waits at most the cap."""
    period = timedelta(hours=hours)
    now, failures, last, checked = T0, 0, None, 0
    while now < T0 + period:
        failures = schedule.current(failures, last, now)
        at = schedule.retry_at(failures, last, now)
        if at is not None:
            now = at
            continue
        failures, last, checked = failures + 1, now, checked + 1
    climb = int(schedule.cap / schedule.first).bit_length()
    assert checked <= schedule.free + climb + period / schedule.cap + 1
    assert last is not None
    owner_waits = (schedule.retry_at(failures, last, last) or last) - last
    assert owner_waits <= schedule.cap


@pytest.mark.parametrize(("free", "first", "cap", "forget"), [
    (-1, 30, 300, 3600), (5, 0, 300, 3600), (5, 30, 10, 3600), (5, 30, 300, 60),
    (5, 30, 300, 300)])
def test_settings_that_make_no_schedule_are_refused(free, first, cap, forget):
    with pytest.raises(ValueError):
        DelaySchedule(free=free, first=timedelta(seconds=first), cap=timedelta(seconds=cap),
                      forget=timedelta(seconds=forget))
