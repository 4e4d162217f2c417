"""Holiday overrides: the public holidays an administrator adds or cancels where the
python-holidays package is wrong or late (moon-sighting dates, holidays announced at
short notice), and the comparison of its predictions with the overrides.

An override applies to deadlines computed from then on. Each public function that
changes something is one transaction, and one ``portal.admin`` log line names who made
it. (Not ``holidays.py``: that is the python-holidays package this module reads.)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import sqlalchemy as sa

from portal.extensions import db
from portal.models import HolidayOverride
from portal.models.columns import utcnow
from portal.services.actors import Actor
from portal.services.errors import FieldError, NotFound, Problem, ValidationFailed
from portal.services.paging import DEFAULT_PER_PAGE, Page, page_of
from portal.services.transaction import lock_for_writing, transaction
from workflows import calendars

log = logging.getLogger("portal.admin")


@dataclass(frozen=True)
class HolidayDay:
    """One date of the comparison: what the package predicts and what an override says.

    ``effect`` is ``predicted`` (no override), ``added`` (an override adds a holiday),
    ``confirmed`` (an override repeats a predicted one), ``cancelled`` (an override
    removes a predicted one) or ``no_effect`` (an override removes a day that was not a
    holiday anyway).
    """

    day: date
    predicted: str | None
    override: HolidayOverride | None

    @property
    def effect(self) -> str:
        if self.override is None:
            return "predicted"
        if self.override.holiday:
            return "confirmed" if self.predicted is not None else "added"
        return "cancelled" if self.predicted is not None else "no_effect"

    @property
    def is_holiday(self) -> bool:
        if self.override is not None:
            return self.override.holiday
        return self.predicted is not None


@dataclass(frozen=True)
class HolidayComparison:
    country: str
    year: int
    subdivision: str | None
    supported: bool
    timezone: str
    weekend: list[int]
    days: list[HolidayDay]


@lru_cache(maxsize=1)
def supported_countries() -> Mapping[str, tuple[str, ...]]:
    """Countries python-holidays knows, with their subdivision codes (asking the package
    costs several milliseconds, so it is asked once)."""
    # The calendars' own cached table: python-holidays is imported when first asked.
    return calendars.supported_countries()


def _country(raw: str, errors: list[FieldError]) -> str:
    code = raw.strip().upper()
    if not (len(code) == 2 and code.isascii() and code.isalpha()):
        errors.append(FieldError("country", "a two-letter ISO 3166-1 country code", "invalid"))
    return code


def _subdivision(country: str, raw: str | None, errors: list[FieldError]) -> str | None:
    subdivision = (raw or "").strip().upper() or None
    if subdivision is None:
        return None
    known = supported_countries().get(country)
    if known is None or subdivision not in {s.upper() for s in known}:
        errors.append(Problem("subdivision", f"{subdivision} is not a subdivision of {country}",
                              "subdivision", value=subdivision))
    return subdivision


def list_overrides(*, country: str | None = None, number: int = 1,
                   per_page: int = DEFAULT_PER_PAGE) -> Page[HolidayOverride]:
    """Overrides by country and date, optionally of one country."""
    query = sa.select(HolidayOverride)
    if country:
        query = query.where(HolidayOverride.country == country.strip().upper())
    query = query.order_by(HolidayOverride.country, HolidayOverride.day.desc(),
                           HolidayOverride.id)
    return page_of(query, number, per_page, count=True)


def add_override(actor: Actor, *, country: str, day: date | None, holiday: bool,
                 subdivision: str | None = None, name: str = "",
                 now: datetime | None = None) -> HolidayOverride:
    """Add a holiday (``holiday=True``) or cancel a predicted one (``False``) on ``day``.

    It applies to clocks started (or resumed) from now on.

    Raises:
        ValidationFailed: a bad country, an unknown subdivision, no date, a name too
            long, or an override for that day and place already exists.
    """
    now = now or utcnow()
    errors: list[FieldError] = []
    code = _country(country, errors)
    subdivision = _subdivision(code, subdivision, errors) if not errors else None
    label = name.strip()
    if len(label) > 200:
        errors.append(FieldError("name", "at most 200 characters", "too_long"))
    if day is None:
        errors.append(FieldError("day", "a date is required", "required"))
    if errors:
        raise ValidationFailed(errors)
    assert day is not None
    with transaction():
        lock_for_writing()
        same_place = (HolidayOverride.subdivision.is_(None) if subdivision is None
                      else HolidayOverride.subdivision == subdivision)
        if db.session.scalar(sa.select(HolidayOverride.id).where(
                HolidayOverride.country == code, same_place, HolidayOverride.day == day)):
            raise ValidationFailed([FieldError(
                "day", "there is already an override for that day", "override_taken")])
        row = HolidayOverride(country=code, subdivision=subdivision, day=day,
                              holiday=holiday, name=label, created_at=now)
        db.session.add(row)
    log.info("holiday override %s %s %s (%s) by user %s", code, subdivision or "-", day,
             holiday, actor.user_id)
    return row


def delete_override(actor: Actor, override_id: int) -> HolidayOverride:
    """Remove an override; the package's prediction applies again.

    Raises:
        NotFound: no such override.
    """
    with transaction():
        row = db.session.get(HolidayOverride, override_id)
        if row is None:
            raise NotFound(f"no holiday override {override_id}")
        db.session.delete(row)
    log.info("holiday override %s %s %s deleted by user %s", row.country, row.subdivision,
             row.day, actor.user_id)
    return row


def _holiday_language(country: str, locale: str) -> str | None:
    """The python-holidays language closest to the reader's locale, if it has one."""
    import holidays as pyholidays  # when a page compares holidays, not at start-up

    languages = pyholidays.list_localized_countries().get(country, [])
    for language in languages:
        if language == locale:
            return language
    for language in languages:
        if language.split("_")[0] == locale:
            return language
    return None


@lru_cache(maxsize=256)
def _predicted(country: str, subdivision: str | None, year: int,
               language: str | None) -> tuple[tuple[date, str], ...]:
    # Building a table costs up to ~0.1 s for some countries (lunar calendars): cached.
    if country not in supported_countries():
        return ()
    import holidays as pyholidays

    table = pyholidays.country_holidays(country, subdiv=subdivision, years=year,
                                        language=language)
    return tuple(sorted(table.items()))


def compare_holidays(country: str, year: int, *, subdivision: str | None = None,
                     locale: str = "en") -> HolidayComparison:
    """For one country (and subdivision) and year: the public holidays python-holidays
    predicts side by side with the overrides that apply there, so the effect of each
    override is visible.

    Raises:
        ValidationFailed: a bad country code or an unknown subdivision.
    """
    errors: list[FieldError] = []
    code = _country(country, errors)
    subdivision = _subdivision(code, subdivision, errors) if not errors else None
    if errors:
        raise ValidationFailed(errors)
    predicted = dict(_predicted(code, subdivision, year, _holiday_language(code, locale)))
    overrides = db.session.scalars(
        sa.select(HolidayOverride).where(
            HolidayOverride.country == code,
            sa.or_(HolidayOverride.subdivision.is_(None),
                   HolidayOverride.subdivision == subdivision),
            HolidayOverride.day >= date(year, 1, 1),
            HolidayOverride.day <= date(year, 12, 31),
        ).order_by(HolidayOverride.subdivision.is_(None).desc(), HolidayOverride.id)
    ).all()
    # As the calendars apply them, a subdivision's override wins over the country's.
    by_day = {row.day: row for row in overrides}
    days = sorted(set(predicted) | set(by_day))
    return HolidayComparison(
        country=code, year=year, subdivision=subdivision,
        supported=code in supported_countries(),
        timezone=calendars.country_timezone(code).key,
        weekend=sorted(calendars.WEEKENDS.get(code, calendars.SATURDAY_SUNDAY)),
        days=[HolidayDay(day, predicted.get(day), by_day.get(day)) for day in days],
    )
