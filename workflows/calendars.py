"""Business calendars: a jurisdiction's time zone, weekend, public holidays and hours.

Working time is counted in the jurisdiction's LOCAL wall-clock hours (09:00-17:00 by
default) on its working days, so a business deadline follows the people who work to it,
daylight-saving changes included. Elapsed (24/7) clocks are not this module's business:
they are plain UTC arithmetic in :mod:`workflows.sla`.

The maths works on a "working position": the working time from the start of the
proleptic calendar (``date.fromordinal(1)``) up to an instant. Adding working time is
then one subtraction and one inversion, with whole weeks and holidays counted
arithmetically (``bisect``) rather than stepped through, so a deadline costs a few
microseconds however far away it is.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as pyholidays
import pytz

_US_PER_SECOND = 1_000_000

#: The weekend almost everywhere, and the default for countries not in WEEKENDS.
SATURDAY_SUNDAY: frozenset[int] = frozenset({5, 6})

_FRI_SAT = frozenset({4, 5})

#: Countries whose weekly rest days are not Saturday-Sunday (weekday numbers, Monday=0).
#: Sources: Wikipedia "Workweek and weekend" (as of 2026), cross-checked against the
#: per-country ``weekend`` attribute of python-holidays; disagreements are noted inline.
#: The United Arab Emirates is absent on purpose: its federal government moved to a
#: Saturday-Sunday weekend on 1 January 2022 (Friday is a half day), as python-holidays
#: also has it. Subdivisions with their own weekend (Malaysia's Kedah, Kelantan and
#: Terengganu; the emirate of Sharjah) are not modelled: pass ``weekend=`` explicitly.
WEEKENDS: dict[str, frozenset[int]] = {
    # Friday-Saturday: Saudi Arabia since 29 June 2013 (royal decree), as Qatar (2003),
    # Bahrain (2006), Kuwait (2007), Oman and Yemen (2013); Jordan, Syria, Egypt, Iraq,
    # Sudan, Libya, Algeria (2009), Bangladesh, the Maldives and Mauritania.
    "SA": _FRI_SAT,
    "QA": _FRI_SAT,
    "KW": _FRI_SAT,
    "BH": _FRI_SAT,
    "OM": _FRI_SAT,
    "YE": _FRI_SAT,
    "JO": _FRI_SAT,
    "SY": _FRI_SAT,
    "EG": _FRI_SAT,
    "IQ": _FRI_SAT,
    "SD": _FRI_SAT,
    "LY": _FRI_SAT,
    "DZ": _FRI_SAT,
    "BD": _FRI_SAT,
    "MV": _FRI_SAT,
    "MR": _FRI_SAT,
    # Israel: Friday and Saturday, the Sabbath (Friday evening to Saturday evening).
    "IL": _FRI_SAT,
    # Brunei: Friday and Sunday, Saturday is a working day.
    "BN": frozenset({4, 6}),
    # Iran: Friday only (Thursday is a half day in government). Parliament has voted to
    # make Saturday a rest day too; not applied here until it is in force.
    "IR": frozenset({4}),
    # Djibouti and Somalia: Friday only per Wikipedia's one-day-weekend list
    # (python-holidays has Djibouti as Friday-Saturday).
    "DJ": frozenset({4}),
    "SO": frozenset({4}),
    # Afghanistan: Thursday-Friday, Thursday added to the Friday rest in 2010 (Britannica,
    # 2021). python-holidays has Friday-Saturday; confirm with the liaison team.
    "AF": frozenset({3, 4}),
    # Nepal: Saturday only; a Sunday rest day tried from 15 May 2022 was withdrawn on
    # 15 June 2022 (Cabinet decision of 6 June 2022).
    "NP": frozenset({5}),
}

#: Time zones for countries that span several, where the capital's zone is wanted (the
#: first zone pytz lists is not always the capital's: Ukraine's is Simferopol, Brazil's
#: Noronha, Russia's Kaliningrad, Uzbekistan's Samarkand).
CAPITAL_ZONES: dict[str, str] = {
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",  # Canberra
    "BR": "America/Sao_Paulo",  # Brasília
    "CA": "America/Toronto",  # Ottawa
    "CD": "Africa/Kinshasa",
    "CL": "America/Santiago",
    "CN": "Asia/Shanghai",
    "EC": "America/Guayaquil",  # Quito shares it
    "ES": "Europe/Madrid",
    "FM": "Pacific/Pohnpei",  # Palikir
    "GL": "America/Nuuk",
    "ID": "Asia/Jakarta",
    "KI": "Pacific/Tarawa",
    "KZ": "Asia/Almaty",  # Astana; one national zone (UTC+5) since March 2024
    "MH": "Pacific/Majuro",
    "MN": "Asia/Ulaanbaatar",
    "MX": "America/Mexico_City",
    "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland",  # Wellington
    "PF": "Pacific/Tahiti",
    "PG": "Pacific/Port_Moresby",
    "PS": "Asia/Hebron",  # the West Bank, where the Palestinian Authority sits
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "UA": "Europe/Kyiv",
    "US": "America/New_York",  # Washington, D.C.
    "UZ": "Asia/Tashkent",
}


def require_aware(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` unchanged if it carries a UTC offset.

    Raises:
        ValueError: if ``value`` is naive.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def _us(delta: timedelta) -> int:
    """A timedelta as whole microseconds (exact, no float)."""
    return (delta.days * 86_400 + delta.seconds) * _US_PER_SECOND + delta.microseconds


def _tod_us(hour: int, minute: int, second: int, microsecond: int) -> int:
    return ((hour * 60 + minute) * 60 + second) * _US_PER_SECOND + microsecond


def _time_us(t: time) -> int:
    return _tod_us(t.hour, t.minute, t.second, t.microsecond)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days and hours of one jurisdiction.

    ``weekend`` holds weekday numbers (Monday=0); ``holidays`` every public holiday as a
    local date (those falling on a weekend are harmless). Working hours are
    ``[opens, closes)`` local wall-clock time on every day that is neither.

    Raises:
        ValueError: (on construction) if ``opens`` is not before ``closes``, if the
            weekend is every day, or if a weekday number is outside 0-6.
    """

    country: str
    tz: ZoneInfo
    weekend: frozenset[int] = SATURDAY_SUNDAY
    holidays: frozenset[date] = frozenset()
    opens: time = time(9, 0)
    closes: time = time(17, 0)

    # Derived once per calendar, so each deadline is arithmetic plus a bisect or two.
    _opens_us: int = field(init=False, repr=False, compare=False)
    _closes_us: int = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)
    _week_working: int = field(init=False, repr=False, compare=False)
    _prefix: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _workdays: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _hol_ords: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _hol_set: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens and closes are local wall-clock times: pass naive times")
        if not self.opens < self.closes:
            raise ValueError(f"opens ({self.opens}) must be before closes ({self.closes})")
        if not self.weekend <= frozenset(range(7)):
            raise ValueError(f"weekend days are weekday numbers 0-6, got {sorted(self.weekend)}")
        if len(self.weekend) == 7:
            raise ValueError("a weekend of seven days leaves no working day")
        workdays = tuple(d for d in range(7) if d not in self.weekend)
        # prefix[r]: working weekdays among Monday..(r-1); date.fromordinal(1) is a Monday.
        prefix = tuple(sum(1 for d in range(r) if d not in self.weekend) for r in range(8))
        # Only holidays on would-be working days change the count of working days.
        hol_ords = tuple(sorted(d.toordinal() for d in self.holidays
                                if d.weekday() not in self.weekend))
        opens_us, closes_us = _time_us(self.opens), _time_us(self.closes)
        for name, value in (
            ("_opens_us", opens_us),
            ("_closes_us", closes_us),
            ("_day_us", closes_us - opens_us),
            ("_week_working", len(workdays)),
            ("_prefix", prefix),
            ("_workdays", workdays),
            ("_hol_ords", hol_ords),
            ("_hol_set", frozenset(hol_ords)),
        ):
            object.__setattr__(self, name, value)

    @property
    def working_day_length(self) -> timedelta:
        """The working time in one full working day (``closes - opens``)."""
        return timedelta(microseconds=self._day_us)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` (a local date) is neither a weekend day nor a holiday."""
        return self._is_working(day.toordinal())

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which ``amount`` of working time has elapsed from ``start``.

        A start outside working hours counts from the next opening; an ``amount`` of zero
        therefore returns ``start`` within hours and the next opening outside them. A
        result that falls exactly on a closing time stays there (Friday 17:00, not
        Monday 09:00). A negative ``amount`` counts backwards and returns the earliest
        instant that much working time before ``start``.

        Returns:
            An aware datetime in UTC.

        Raises:
            ValueError: if ``start`` is naive.
        """
        local = require_aware(start, "start").astimezone(self.tz)
        ordinal = local.toordinal()
        tod = _tod_us(local.hour, local.minute, local.second, local.microsecond)
        if not amount:
            if self._is_working(ordinal) and self._opens_us <= tod <= self._closes_us:
                return start.astimezone(UTC)
            return self._at_position(self._position(ordinal, tod), earliest=False)
        return self._at_position(self._position(ordinal, tod) + _us(amount), earliest=True)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time in ``[start, end)``; zero when ``end`` is not after ``start``.

        The inverse of :meth:`add_working_time`:
        ``working_time_between(s, add_working_time(s, a)) == a`` for every ``a >= 0``.

        Raises:
            ValueError: if ``start`` or ``end`` is naive.
        """
        # Compared in UTC: Python compares two datetimes of the same zone by wall clock,
        # which gets the repeated hour of a daylight-saving change wrong.
        start = require_aware(start, "start").astimezone(UTC)
        end = require_aware(end, "end").astimezone(UTC)
        if end <= start:
            return timedelta(0)
        return timedelta(microseconds=self._position_of(end) - self._position_of(start))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``add_working_time(start, days * (closes - opens))``: whole working days.

        Raises:
            ValueError: if ``start`` is naive.
        """
        return self.add_working_time(start, days * self.working_day_length)

    def latest_working_instant(self, moment: datetime) -> datetime:
        """The last instant at or before ``moment`` at which working time was running.

        That is ``moment`` itself inside working hours (after the opening, up to the
        closing) of a working day, and otherwise the previous working day's closing.

        Returns:
            An aware datetime in UTC.

        Raises:
            ValueError: if ``moment`` is naive.
        """
        require_aware(moment, "moment")
        return self._at_position(self._position_of(moment), earliest=True)

    def end_of_day(self, start: datetime, cutoff: time) -> datetime:
        """The end of the local day ``start`` falls on, or of the next working day.

        Before ``cutoff`` on a working day: the next local midnight. At or after the
        cut-off, or on a weekend day or holiday: the midnight that ends the next working
        day (so a later start never gets an earlier deadline).

        Returns:
            An aware datetime in UTC.

        Raises:
            ValueError: if ``start`` is naive or ``cutoff`` carries a time zone.
        """
        if cutoff.tzinfo is not None:
            raise ValueError("cutoff is a local wall-clock time: pass a naive time")
        local = require_aware(start, "start").astimezone(self.tz)
        ordinal = local.toordinal()
        if not (self._is_working(ordinal) and local.time() < cutoff):
            # The first working day after today: it has every working day up to today
            # (inclusive) before it.
            ordinal = self._nth_working(self._working_before(ordinal + 1))
        midnight = datetime.combine(date.fromordinal(ordinal + 1), time(0), tzinfo=self.tz)
        return midnight.astimezone(UTC)

    # -- the working-position arithmetic -------------------------------------------------

    def _is_working(self, ordinal: int) -> bool:
        return (ordinal - 1) % 7 not in self.weekend and ordinal not in self._hol_set

    def _weekdays_before(self, ordinal: int) -> int:
        """Non-weekend days in ``[1, ordinal)``, holidays included."""
        weeks, rest = divmod(ordinal - 1, 7)
        return weeks * self._week_working + self._prefix[rest]

    def _working_before(self, ordinal: int) -> int:
        """Working days in ``[1, ordinal)``."""
        return self._weekdays_before(ordinal) - bisect_left(self._hol_ords, ordinal)

    def _nth_weekday(self, m: int) -> int:
        """The non-weekend day with exactly ``m`` non-weekend days before it."""
        weeks, rest = divmod(m, self._week_working)
        return 1 + 7 * weeks + self._workdays[rest]

    def _nth_working(self, n: int) -> int:
        """The working day with exactly ``n`` working days before it."""
        # Find the least m with m == n + (holidays up to and including the m-th
        # non-weekend day). The map m -> n + holidays_upto(m) is monotone, so iterating
        # it from m = n climbs to that least fixed point; each step skips the holidays
        # found so far, usually one or two steps in all. At the fixed point the day is not
        # a holiday (if it were, m - 1 would be a smaller fixed point).
        m = n
        while True:
            day = self._nth_weekday(m)
            following = n + bisect_right(self._hol_ords, day)
            if following == m:
                return day
            m = following

    def _position(self, ordinal: int, tod: int) -> int:
        """Working microseconds from the epoch to local day ``ordinal`` at ``tod``."""
        done = self._working_before(ordinal) * self._day_us
        if self._is_working(ordinal):
            done += min(max(tod, self._opens_us), self._closes_us) - self._opens_us
        return done

    def _position_of(self, moment: datetime) -> int:
        local = moment.astimezone(self.tz)
        return self._position(
            local.toordinal(),
            _tod_us(local.hour, local.minute, local.second, local.microsecond),
        )

    def _at_position(self, position: int, *, earliest: bool) -> datetime:
        """The instant at working ``position``, as aware UTC.

        Between a closing and the next opening the position does not move; ``earliest``
        picks the closing (a deadline), otherwise the opening (where counting starts).
        """
        days, rest = divmod(position, self._day_us)
        if rest == 0 and earliest:
            ordinal, tod = self._nth_working(days - 1), self._closes_us
        else:
            ordinal, tod = self._nth_working(days), self._opens_us + rest
        local = datetime.fromordinal(ordinal) + timedelta(microseconds=tod)
        return local.replace(tzinfo=self.tz).astimezone(UTC)


@dataclass(frozen=True)
class HolidayChange:
    """An administrator's override of the package's holidays for one local date.

    For holidays announced late (dates fixed by moon sighting) or moved by decree:
    ``holiday=True`` adds ``day``, ``holiday=False`` removes a holiday the package
    predicted.
    """

    day: date
    holiday: bool


def country_timezone(country: str) -> ZoneInfo:
    """The time zone of a country's capital (ISO 3166-1 alpha-2 code, any case).

    Countries spanning several zones use :data:`CAPITAL_ZONES`; the rest the first zone
    the IANA ``zone.tab`` lists (via pytz). An unknown code gives UTC rather than an
    error, so an agency from an unlisted territory still gets a (24-hour) calendar.
    """
    code = country.upper()
    name = CAPITAL_ZONES.get(code)
    if name is None:
        try:
            name = str(pytz.country_timezones[code][0])
        except KeyError:
            return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        # pytz ships its own zone list, which can name a zone newer than the system's
        # tzdata; UTC is the honest fallback rather than a guessed neighbour.
        return ZoneInfo("UTC")


@lru_cache(maxsize=256)
def _public_holidays(
    country: str, subdivision: str | None, years: tuple[int, ...]
) -> frozenset[date]:
    # Building a python-holidays table costs ~0.1 s for some countries (Islamic and
    # Chinese calendars); calendars are built per request, so the tables are cached.
    if country not in pyholidays.list_supported_countries():
        return frozenset()
    try:
        table = pyholidays.country_holidays(country, subdiv=subdivision, years=years)
    except NotImplementedError as exc:  # an unknown subdivision of a known country
        raise ValueError(str(exc)) from exc
    return frozenset(table.keys())


def calendar_for(
    country: str,
    *,
    years: Iterable[int],
    subdivision: str | None = None,
    changes: Iterable[HolidayChange] = (),
    tz: str | None = None,
) -> BusinessCalendar:
    """The business calendar of ``country`` for the given years.

    ``years`` must cover every date a deadline can reach (the receipt year and the next
    is the usual choice); dates outside them have no holidays. ``changes`` apply in
    order, so a later change for the same day wins. A country python-holidays does not
    know has no public holidays (not an error).

    Raises:
        ValueError: if ``subdivision`` is not one of the country's subdivisions, or
            ``tz`` is not a known IANA zone.
    """
    code = country.upper()
    days = set(_public_holidays(code, subdivision, tuple(sorted(set(years)))))
    for change in changes:
        if change.holiday:
            days.add(change.day)
        else:
            days.discard(change.day)
    try:
        zone = ZoneInfo(tz) if tz is not None else country_timezone(code)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc
    return BusinessCalendar(
        country=code,
        tz=zone,
        weekend=WEEKENDS.get(code, SATURDAY_SUNDAY),
        holidays=frozenset(days),
    )
