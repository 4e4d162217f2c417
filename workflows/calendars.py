"""Business calendars: a jurisdiction's time zone, weekend, public holidays and hours.

Working time is counted in the jurisdiction's LOCAL wall-clock hours (09:00-17:00 by
default) on its working days, so a business deadline follows the people who work to it,
daylight-saving changes included. Elapsed (24/7) clocks are not this module's business:
they are plain UTC arithmetic in :mod:`workflows.sla`.

The maths works on a "working position": the working time from the start of the
proleptic calendar (``date.fromordinal(1)``) up to an instant. Adding working time is
then one subtraction and one inversion, with whole weeks, holidays and the hours lost to
early closings (a Turkish holiday eve closes at 13:00) counted arithmetically
(``bisect``) rather than stepped through, so a deadline costs a few microseconds however
far away it is.

:func:`calendar_for` reads python-holidays by category (``public``, ``half_day``,
``government``, ``bank``: what a policy asks for and the country has), for the whole
country or for one or more subdivisions together (``"*"``: every part, as the UK's
Terrorism Act 2006 counts a bank holiday "in any part of the United Kingdom").
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    "EU": "Europe/Brussels",  # not a country: the zone EU bodies' orders are dated in
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
    ``[opens, closes)`` local wall-clock time on every day that is neither, except the
    days in ``early_closes``, which close at the time given (a half-day holiday eve); an
    early close at or before ``opens`` makes the day a holiday, one at or after
    ``closes`` changes nothing.

    Raises:
        ValueError: (on construction) if ``opens`` is not before ``closes``, if the
            weekend is every day, if a weekday number is outside 0-6, or if a time
            carries a zone.
    """

    country: str
    tz: ZoneInfo
    weekend: frozenset[int] = SATURDAY_SUNDAY
    holidays: frozenset[date] = frozenset()
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    early_closes: Mapping[date, time] = field(default_factory=dict, hash=False)

    # Derived once per calendar, so each deadline is arithmetic plus a bisect or two.
    _opens_us: int = field(init=False, repr=False, compare=False)
    _closes_us: int = field(init=False, repr=False, compare=False)
    _day_us: int = field(init=False, repr=False, compare=False)
    _week_working: int = field(init=False, repr=False, compare=False)
    _prefix: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _workdays: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _hol_ords: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _hol_set: frozenset[int] = field(init=False, repr=False, compare=False)
    # Early closings on working days: their ordinals in order, the closing time of each
    # (microseconds) and the working time lost before each one (a prefix sum).
    _short_ords: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _short_close: Mapping[int, int] = field(init=False, repr=False, compare=False)
    _short_prefix: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens and closes are local wall-clock times: pass naive times")
        if not self.opens < self.closes:
            raise ValueError(f"opens ({self.opens}) must be before closes ({self.closes})")
        if not self.weekend <= frozenset(range(7)):
            raise ValueError(f"weekend days are weekday numbers 0-6, got {sorted(self.weekend)}")
        if len(self.weekend) == 7:
            raise ValueError("a weekend of seven days leaves no working day")
        if any(t.tzinfo is not None for t in self.early_closes.values()):
            raise ValueError("early closing times are local wall-clock times: pass naive "
                             "times")
        workdays = tuple(d for d in range(7) if d not in self.weekend)
        # prefix[r]: working weekdays among Monday..(r-1); date.fromordinal(1) is a Monday.
        prefix = tuple(sum(1 for d in range(r) if d not in self.weekend) for r in range(8))
        opens_us, closes_us = _time_us(self.opens), _time_us(self.closes)
        # A day that closes before it opens is no working day at all.
        days_off = set(self.holidays) | {
            d for d, t in self.early_closes.items() if _time_us(t) <= opens_us}
        # Only holidays on would-be working days change the count of working days.
        hol_ords = tuple(sorted(d.toordinal() for d in days_off
                                if d.weekday() not in self.weekend))
        short = sorted(
            (d.toordinal(), _time_us(t)) for d, t in self.early_closes.items()
            if d.weekday() not in self.weekend and d not in days_off
            and _time_us(t) < closes_us)
        lost, short_prefix = 0, [0]
        for _, close_us in short:
            lost += closes_us - close_us
            short_prefix.append(lost)
        for name, value in (
            ("_opens_us", opens_us),
            ("_closes_us", closes_us),
            ("_day_us", closes_us - opens_us),
            ("_week_working", len(workdays)),
            ("_prefix", prefix),
            ("_workdays", workdays),
            ("_hol_ords", hol_ords),
            ("_hol_set", frozenset(hol_ords)),
            ("_short_ords", tuple(o for o, _ in short)),
            ("_short_close", MappingProxyType(dict(short))),
            ("_short_prefix", tuple(short_prefix)),
        ):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "early_closes", MappingProxyType(dict(self.early_closes)))

    @property
    def working_day_length(self) -> timedelta:
        """The working time in one full working day (``closes - opens``)."""
        return timedelta(microseconds=self._day_us)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` (a local date) is neither a weekend day nor a holiday (a day
        that closes early is a working day)."""
        return self._is_working(day.toordinal())

    def working_hours(self, day: date) -> tuple[time, time] | None:
        """The local opening and closing time of ``day``; ``None`` if it is no working
        day."""
        ordinal = day.toordinal()
        if not self._is_working(ordinal):
            return None
        close = self._short_close.get(ordinal)
        if close is None:
            return self.opens, self.closes
        return self.opens, (datetime.min + timedelta(microseconds=close)).time()

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
            if self._is_working(ordinal) and self._opens_us <= tod <= self._closes_of(ordinal):
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

    def working_days_after(self, start: datetime, days: int) -> datetime:
        """The end (local midnight) of the ``days``-th working day after the local day
        ``start`` falls on: "N working days, counted from the day after receipt".

        The day of ``start`` never counts, whatever the hour; a working day that closes
        early counts as a whole one (the law counts days, not hours).

        Returns:
            An aware datetime in UTC.

        Raises:
            ValueError: if ``start`` is naive or ``days`` is less than 1.
        """
        if days < 1:
            raise ValueError(f"count at least one working day, got {days}")
        ordinal = require_aware(start, "start").astimezone(self.tz).toordinal()
        last = self._nth_working(self._working_before(ordinal + 1) + days - 1)
        midnight = datetime.combine(date.fromordinal(last + 1), time(0), tzinfo=self.tz)
        return midnight.astimezone(UTC)

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

    def _closes_of(self, ordinal: int) -> int:
        """The closing time (microseconds) of working day ``ordinal``."""
        return self._short_close.get(ordinal, self._closes_us) if self._short_ords \
            else self._closes_us

    def _lost_before(self, ordinal: int) -> int:
        """Working time lost to early closings on the days before ``ordinal``."""
        if not self._short_ords:
            return 0
        return self._short_prefix[bisect_left(self._short_ords, ordinal)]

    def _day_start(self, n: int) -> int:
        """The working position at the opening of the ``n``-th working day (0-based)."""
        return n * self._day_us - self._lost_before(self._nth_working(n))

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
        done = self._working_before(ordinal) * self._day_us - self._lost_before(ordinal)
        if self._is_working(ordinal):
            done += min(max(tod, self._opens_us), self._closes_of(ordinal)) - self._opens_us
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
        if self._short_ords:
            days = self._day_containing(position, days)
            rest = position - self._day_start(days)
        if rest == 0 and earliest:
            ordinal = self._nth_working(days - 1)
            tod = self._closes_of(ordinal)
        else:
            ordinal, tod = self._nth_working(days), self._opens_us + rest
        local = datetime.fromordinal(ordinal) + timedelta(microseconds=tod)
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    def _day_containing(self, position: int, n: int) -> int:
        """The last working day (0-based count) that opens at or before ``position``.

        Without early closings that is ``position // day``; each early closing before it
        moves it on by the time lost. ``n`` (that quotient) is a lower bound, and
        ``n -> (position + lost before day n) // day`` climbs towards the answer; a step
        past an early closing on the day itself is checked one day at a time.
        """
        while True:
            climbed = (position + self._lost_before(self._nth_working(n))) // self._day_us
            if climbed > n:
                n = climbed
            elif self._day_start(n + 1) <= position:
                n += 1
            else:
                return n


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


#: The holiday categories a policy may ask for (python-holidays' names). ``public`` is
#: always included; the others only where the country's table has them.
HOLIDAY_CATEGORIES: tuple[str, ...] = ("public", "half_day", "government", "bank")

#: Any subdivision: the holidays of every part of the country together.
ALL_SUBDIVISIONS = "*"

#: When a half day begins, as python-holidays' English names say it: "(from 1pm)",
#: "(from 12:30pm)", "workday shortened by 3 hours".
_FROM_HOUR = re.compile(r"\(from (\d{1,2})(?::(\d{2}))?\s*([ap]m)\)", re.IGNORECASE)
_SHORTENED = re.compile(r"shortened by (\d{1,2}) hours?", re.IGNORECASE)


def early_close_of(name: str, closes: time = time(17, 0)) -> time | None:
    """The local time a half day closes at, read from the holiday's English name, or
    ``None`` when the name does not say.

    >>> early_close_of("Eid al-Fitr (from 1pm)")
    datetime.time(13, 0)
    """
    found = _FROM_HOUR.search(name)
    if found is not None:
        hour = int(found.group(1)) % 12 + (12 if found.group(3).lower() == "pm" else 0)
        minute = int(found.group(2) or 0)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    shortened = _SHORTENED.search(name)
    if shortened is not None:
        hours = int(shortened.group(1))
        if hours * 60 < closes.hour * 60 + closes.minute:
            return (datetime.combine(date.min, closes) - timedelta(hours=hours)).time()
    return None


@lru_cache(maxsize=1)
def supported_countries() -> Mapping[str, tuple[str, ...]]:
    """Countries python-holidays knows, with their subdivision codes (asked once)."""
    # python-holidays (about 4 MB of every process) is imported when a deadline first
    # needs a country's holidays, not by every web worker at start-up.
    import holidays as pyholidays

    return MappingProxyType({code: tuple(subdivisions) for code, subdivisions
                             in pyholidays.list_supported_countries().items()})


@lru_cache(maxsize=512)
def _holiday_table(country: str, subdivision: str | None, years: tuple[int, ...],
                   category: str) -> tuple[tuple[date, str], ...]:
    # Building a python-holidays table costs ~0.1 s for some countries (Islamic and
    # Chinese calendars); calendars are built per request, so the tables are cached.
    # Names in English where the package has them: half days are read from the name.
    if country not in supported_countries():
        return ()
    import holidays as pyholidays  # already imported by supported_countries()

    try:
        probe = pyholidays.country_holidays(country, subdiv=subdivision, years=())
    except NotImplementedError as exc:  # an unknown subdivision of a known country
        raise ValueError(str(exc)) from exc
    if category not in probe.supported_categories:
        return ()
    language = "en_US" if "en_US" in probe.supported_languages else None
    table = pyholidays.country_holidays(country, subdiv=subdivision, years=years,
                                        categories=(category,), language=language)
    return tuple(sorted(table.items()))


def subdivisions_of(country: str) -> tuple[str, ...]:
    """The subdivision codes python-holidays knows for ``country`` (none if unknown)."""
    return supported_countries().get(country.upper(), ())


def _places(country: str, subdivisions: Iterable[str | None]) -> list[str | None]:
    chosen = {s.upper() for s in subdivisions if s}
    places: list[str | None] = [None]
    if ALL_SUBDIVISIONS in chosen:
        places += subdivisions_of(country)
    else:
        places += sorted(chosen)
    return places


def holidays_and_early_closes(
    country: str,
    *,
    years: Iterable[int],
    subdivisions: Iterable[str | None] = (),
    categories: Iterable[str] = ("public",),
) -> tuple[frozenset[date], dict[date, time]]:
    """The days off and the early closings python-holidays gives ``country``.

    Every subdivision named adds its holidays (``"*"``: every part of the country); no
    subdivision means the national holidays. Each category asked for that the country
    has adds its days: ``half_day`` ones close early when the name says at what time
    (and are ignored when it does not: a day of unknown hours counts in full, which
    never makes a deadline later); a day of another category whose name says "from 1pm"
    closes early too. A day off in any category wins over an early closing.

    Raises:
        ValueError: if a subdivision or category is unknown.
    """
    code = country.upper()
    wanted = tuple(dict.fromkeys(("public", *categories)))
    unknown = [c for c in wanted if c not in HOLIDAY_CATEGORIES]
    if unknown:
        raise ValueError(f"unknown holiday categories: {', '.join(unknown)}")
    span = tuple(sorted(set(years)))
    days_off: set[date] = set()
    early: dict[date, time] = {}
    for place in _places(code, subdivisions):
        for category in wanted:
            for day, name in _holiday_table(code, place, span, category):
                closes = early_close_of(name)
                if closes is not None:
                    # Two half days on one date (two subdivisions): the earlier closing.
                    early[day] = min(closes, early.get(day, closes))
                elif category != "half_day":
                    days_off.add(day)
    return frozenset(days_off), {d: t for d, t in early.items() if d not in days_off}


def calendar_for(
    country: str,
    *,
    years: Iterable[int],
    subdivision: str | None = None,
    subdivisions: Iterable[str | None] = (),
    categories: Iterable[str] = ("public",),
    changes: Iterable[HolidayChange] = (),
    tz: str | None = None,
) -> BusinessCalendar:
    """The business calendar of ``country`` for the given years.

    ``years`` must cover every date a deadline can reach (the receipt year and the next
    is the usual choice); dates outside them have no holidays. ``subdivision`` and
    ``subdivisions`` together name the regions whose holidays apply as well as the
    national ones (the agency's and the policy's: a Bavarian agency has Corpus Christi;
    ``"*"`` takes every region's). ``categories`` are python-holidays categories
    (:data:`HOLIDAY_CATEGORIES`; ``public`` always applies). ``changes`` apply in order,
    so a later change for the same day wins; a change makes a day a whole holiday or a
    whole working day. A country python-holidays does not know has no public holidays
    (not an error).

    Raises:
        ValueError: if a subdivision or category is unknown, or ``tz`` is not a known
            IANA zone.
    """
    # Built once per set of arguments and process: a filing asked for the same calendars
    # for each of its clocks and policies, and recomputed python-holidays' early closings
    # each time (a pure function of these arguments; a calendar is immutable).
    return _calendar(country.upper(), tuple(years), subdivision, tuple(subdivisions),
                     tuple(categories), tuple(changes), tz)


@lru_cache(maxsize=256)
def _calendar(code: str, years: tuple[int, ...], subdivision: str | None,
              subdivisions: tuple[str | None, ...], categories: tuple[str, ...],
              changes: tuple[HolidayChange, ...], tz: str | None) -> BusinessCalendar:
    holidays, early = holidays_and_early_closes(
        code, years=years, subdivisions=[subdivision, *subdivisions], categories=categories)
    days = set(holidays)
    for change in changes:
        early.pop(change.day, None)
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
        early_closes=MappingProxyType(early),
    )
