"""Reporting periods: half-years ("2026H1") and any range of days, as [start, end) in
aware UTC. Transparency reports count by UTC day, as the platforms' published reports
and the DSA templates do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


class PeriodError(ValueError):
    """A period that cannot be read; the message names the bad value and the form
    expected."""


@dataclass(frozen=True)
class Period:
    """Requests received in [start, end), UTC; ``label`` names it ("2026H1",
    "2026-01-01..2026-03-31")."""

    start: datetime
    end: datetime
    label: str

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The last day counted (``end`` is the midnight after it)."""
        return (self.end - timedelta(days=1)).date()


_HALF = re.compile(r"^\s*(\d{4})\s*-?\s*H\s*([12])\s*$", re.IGNORECASE)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def half_year(year: int, half: int) -> Period:
    """The half-year ``half`` (1 or 2) of ``year``."""
    if half == 1:
        return Period(_midnight(date(year, 1, 1)), _midnight(date(year, 7, 1)), f"{year}H1")
    return Period(_midnight(date(year, 7, 1)), _midnight(date(year + 1, 1, 1)), f"{year}H2")


def half_year_of(moment: datetime | date) -> Period:
    """The half-year ``moment`` falls in."""
    return half_year(moment.year, 1 if moment.month <= 6 else 2)


def previous_half_years(period: Period, count: int) -> list[Period]:
    """The ``count`` half-years up to and including the one ``period`` ends in, oldest
    first."""
    last = half_year_of(period.last_day)
    year, half = int(last.label[:4]), int(last.label[-1])
    found = []
    for _ in range(count):
        found.append(half_year(year, half))
        year, half = (year, 1) if half == 2 else (year - 1, 2)
    return found[::-1]


def parse_half_year(text: str) -> Period:
    """A half-year written ``2026H1`` (or ``2026-H2``).

    Raises:
        PeriodError: not of that form.
    """
    found = _HALF.match(text or "")
    if not found:
        raise PeriodError(f"{text!r} is not a half-year: write it like 2026H1 or 2026H2")
    year = int(found.group(1))
    if not 1970 <= year <= 9998:
        raise PeriodError(f"{text!r}: the year {year} is out of range")
    return half_year(year, int(found.group(2)))


def parse_day(text: str, name: str = "date") -> date:
    """A day written ``YYYY-MM-DD``.

    Raises:
        PeriodError: another form, or no such day; the message names ``name``.
    """
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise PeriodError(f"{name} {text!r} is not a date: write it like 2026-01-31") from None


def days(first: date, last: date) -> Period:
    """The days ``first`` to ``last``, both included.

    Raises:
        PeriodError: ``last`` comes before ``first``.
    """
    if last < first:
        raise PeriodError(f"the period ends ({last.isoformat()}) before it starts "
                          f"({first.isoformat()})")
    label = f"{first.isoformat()}..{last.isoformat()}"
    for half in (half_year_of(first),):
        if half.first_day == first and half.last_day == last:
            label = half.label
    return Period(_midnight(first), _midnight(last + timedelta(days=1)), label)


def parse_period(text: str) -> Period:
    """A half-year (``2026H1``) or a range of days (``2026-01-01..2026-03-31``).

    Raises:
        PeriodError: neither form, or a range that ends before it starts.
    """
    if ".." in (text or ""):
        first, _, last = text.partition("..")
        return days(parse_day(first, "start"), parse_day(last, "end"))
    return parse_half_year(text)
