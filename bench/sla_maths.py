"""The SLA maths alone: one business deadline, one "working days after the day of
receipt" deadline, and ``governing()`` over the defaults.

Times single calls over 20,000 random receipt times in 2026 (calendars built beforehand,
as the portal caches them) and prints the median and 95th percentile of each. The figure
to reach is a median of at most 100 µs for a 5-business-day deadline. The calendars are
those the default policy counts in: public holidays, half days (Turkey's eves close at
13:00) and government days off (Indonesia's cuti bersama), and a region (DE-BY).

Run: ``.venv/bin/python -m bench.sla_maths`` (no database, no app).
"""

from __future__ import annotations

import platform
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from workflows.calendars import BusinessCalendar, calendar_for
from workflows.codes import Category, Priority
from workflows.sla import (
    BUSINESS_DAY,
    DEFAULT_POLICIES,
    ClockKind,
    Target,
    TargetRule,
    deadline,
    governing,
)

SAMPLES = 20_000
GOAL_US = 100.0
COUNTRIES = ("BR", "ID", "SA", "DE", "IN", "TR")
#: The holiday categories of the default policy's calendars.
CATEGORIES = ("public", "half_day", "government")
#: The agency's region where the bench gives one (a Bavarian agency has Corpus Christi).
REGIONS = {"DE": ("BY",)}


def _starts(rng: random.Random) -> list[datetime]:
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    return [origin + timedelta(seconds=rng.randrange(365 * 86_400)) for _ in range(SAMPLES)]


def _per_call_us(call: Callable[[int], object]) -> list[float]:
    clock = time.perf_counter_ns
    samples = []
    for i in range(SAMPLES):
        began = clock()
        call(i)
        samples.append((clock() - began) / 1_000)
    return samples


def _p95(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.95)]


def main() -> None:
    """Measure and print the figures."""
    rng = random.Random(20260101)
    starts = _starts(rng)
    calendars: dict[str, BusinessCalendar] = {
        cc: calendar_for(cc, years=(2026, 2027), subdivisions=REGIONS.get(cc, ()),
                         categories=CATEGORIES)
        for cc in COUNTRIES
    }
    picks = [calendars[rng.choice(COUNTRIES)] for _ in range(SAMPLES)]
    rule = TargetRule(ClockKind.BUSINESS, 5 * BUSINESS_DAY)
    # The UK Terrorism Act 2006 s.3: 2 working days from the day after receipt, a bank
    # holiday in any part of the UK excluded.
    uk = calendar_for("GB", years=(2026, 2027), subdivisions=("*",))
    after = TargetRule(ClockKind.WORKING_DAYS_AFTER, timedelta(days=2))
    categories = [str(c) for c in Category]
    priorities = [str(p) for p in Priority]
    requests = [(rng.choice(categories), rng.choice(priorities)) for _ in range(SAMPLES)]

    def one_deadline(i: int) -> object:
        return deadline(rule, starts[i], picks[i])

    def one_working_days_after(i: int) -> object:
        return deadline(after, starts[i], uk)

    def one_governing(i: int) -> object:
        category, priority = requests[i]
        calendar = picks[i]
        return governing(DEFAULT_POLICIES, Target.RESOLVE, jurisdiction=calendar.country,
                         category=category, priority=priority, start=starts[i],
                         calendar=calendar)

    one_deadline(0)  # warm the code paths before timing
    business = _per_call_us(one_deadline)
    one_working_days_after(0)
    working_days = _per_call_us(one_working_days_after)
    chosen = _per_call_us(one_governing)

    print(f"SLA maths, {SAMPLES:,} random receipts in 2026, calendars {', '.join(COUNTRIES)}")
    print(f"{platform.machine()}, Python {platform.python_version()}")
    print(f"  business deadline (5 business days): median {statistics.median(business):6.1f} µs"
          f"  p95 {_p95(business):6.1f} µs  (goal: median <= {GOAL_US:.0f} µs)")
    print(f"  2 working days after the day (GB):   median "
          f"{statistics.median(working_days):6.1f} µs  p95 {_p95(working_days):6.1f} µs")
    print(f"  governing() over DEFAULT_POLICIES:   median {statistics.median(chosen):6.1f} µs"
          f"  p95 {_p95(chosen):6.1f} µs")


if __name__ == "__main__":
    main()
