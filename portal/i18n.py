"""Languages: Flask-Babel wiring, the five supported locales and their text direction."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import flask_babel
from babel import Locale
from babel.dates import (
    DateTimePattern,
    get_date_format,
    get_datetime_format,
    get_time_format,
    parse_pattern,
)
from babel.numbers import format_decimal
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, get_locale, get_timezone, get_translations
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup

from portal import page_hooks

#: The portal's languages, in their own names.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "tr": "Türkçe",
    "hi": "हिन्दी",
    "id": "Bahasa Indonesia",
    "ar": "العربية",
}
RIGHT_TO_LEFT = frozenset({"ar"})

babel = Babel()


def select_locale() -> str:
    """The user's own setting, then the language chosen in this session, then the
    browser's preference, then English."""
    if getattr(current_user, "is_authenticated", False) and current_user.locale in LANGUAGES:
        return str(current_user.locale)
    if session.get("locale") in LANGUAGES:
        return str(session["locale"])
    if request:
        best = request.accept_languages.best_match(list(LANGUAGES))
        if best:
            return best
    return "en"


def select_timezone() -> str | None:
    if getattr(current_user, "is_authenticated", False):
        return str(current_user.timezone)
    return None


def bdi(text: object) -> Markup:
    """User-written text (names, statutes, messages, targets, reasons) isolated in
    ``<bdi>``: its own direction is worked out apart from the page's, and a bidi control
    in it (U+202E RIGHT-TO-LEFT OVERRIDE, say, in an agency's name) cannot reorder what
    follows it on the page. The text is escaped as usual."""
    return Markup("<bdi>%s</bdi>") % ("" if text is None else text)


def with_user_text(translated: str, **values: object) -> Markup:
    """A translated sentence with placeholders, as markup: the sentence is escaped, and
    so is each value, except values already marked up (``bdi(...)``, for user-written
    text). ``translated`` is the catalogue's sentence, looked up without values:
    ``with_user_text(_("Reason: %(text)s"), text=bdi(reason))``."""
    return Markup.escape(translated) % values


def text_direction(locale: str) -> str:
    return "rtl" if locale in RIGHT_TO_LEFT else "ltr"


def _translations() -> Any:
    """This request's catalogue, looked up once per request and locale.

    Flask-Babel looks it up again for every ``_()`` in a template (a chain of context
    lookups, ~20 µs); a 50-row list page calls it a thousand times.
    """
    if not has_request_context():
        return get_translations()
    # The locale object itself is the key: Flask-Babel keeps one per request and
    # ``force_locale`` (a mail in its reader's language) puts another in its place, and
    # writing it out as a string was a fifth of this lookup's cost.
    locale = get_locale()
    cached = g.get("_translations")
    if cached is None or cached[0] is not locale:
        cached = g._translations = (locale, get_translations())
    return cached[1]


def lazy_gettext(message: str, **variables: Any) -> LazyString:
    """Flask-Babel's ``lazy_gettext`` (the labels of form fields and codes), read through
    this request's catalogue: a page with a few forms reads 200 and more labels, and
    Flask-Babel walked its context lookups again for each."""
    return LazyString(_lazy_text, message, **variables)


def _lazy_text(message: str, **variables: Any) -> str:
    text = gettext(message)
    return text % variables if variables else text


def gettext(message: str) -> str:
    """``message`` from this request's catalogue (looked up once per request, as the
    templates' ``_`` does; Flask-Babel's ``gettext`` walks its context lookups again on
    every call)."""
    return str(_translations().ugettext(message))


_STANDARD_FORMATS = frozenset({"short", "medium", "long", "full"})


@lru_cache(maxsize=256)
def _datetime_patterns(locale: Locale, format: str
                       ) -> tuple[str, DateTimePattern, DateTimePattern] | DateTimePattern:
    """The parsed patterns Babel would look up for ``format`` in ``locale``."""
    if format in _STANDARD_FORMATS:
        combined = str(get_datetime_format(format, locale=locale))  # type: ignore[arg-type]
        return (combined.replace("'", ""),
                get_time_format(format, locale=locale),  # type: ignore[arg-type]
                get_date_format(format, locale=locale))  # type: ignore[arg-type]
    return parse_pattern(format)


def reader_time(value: datetime) -> datetime:
    """An aware UTC time as the reader's wall clock shows it, without its zone (what a
    ``datetime-local`` field displays)."""
    tz = get_timezone()
    moment = value.astimezone(tz) if tz is not None else value.astimezone(UTC)
    if tz is not None and hasattr(tz, "normalize"):  # pytz zones
        moment = tz.normalize(moment)
    return moment.replace(tzinfo=None)


def from_reader_time(value: datetime) -> datetime:
    """A wall-clock time the reader typed (naive, in their own time zone) as aware UTC."""
    tz = get_timezone()
    if tz is None:
        return value.replace(tzinfo=UTC)
    if hasattr(tz, "localize"):  # pytz zones: replace(tzinfo=...) would take their LMT
        localized: datetime = tz.localize(value)
        return localized.astimezone(UTC)
    return value.replace(tzinfo=tz).astimezone(UTC)


def format_datetime(value: Any = None, format: str | None = None, rebase: bool = True) -> str:
    """Flask-Babel's ``format_datetime``, the same text, several times faster.

    Flask-Babel and Babel look up the locale, the time zone and three patterns again for
    every call; a dashboard of 50 rows formats a hundred and more times (7 ms of its
    render). Here the patterns are parsed once per (locale, format). Anything but an
    aware or naive datetime goes to Flask-Babel unchanged.
    """
    if not isinstance(value, datetime):
        return str(flask_babel.format_datetime(value, format, rebase))
    locale = get_locale()
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if rebase:
        tz = get_timezone()
        if tz is not None:
            moment = moment.astimezone(tz)
            if hasattr(tz, "normalize"):  # pytz zones
                moment = tz.normalize(moment)
    patterns = _datetime_patterns(locale, format or "medium")
    if isinstance(patterns, DateTimePattern):
        return str(patterns.apply(moment, locale))
    combined, time_pattern, date_pattern = patterns
    return (combined
            .replace("{0}", time_pattern.apply(moment.timetz(), locale,
                                               reference_date=moment.date()))
            .replace("{1}", date_pattern.apply(moment.date(), locale)))


def format_number(number: Any) -> str:
    """Flask-Babel's ``format_number``, the same text. Whole numbers from 0 to 999 (an
    item's position on each of a page's 100 rows) skip Babel: written in any language
    the portal speaks they are their digits (Latin digits, nothing to group), and
    Babel's locale and pattern lookups were a tenth of the reviewer's workspace. Larger
    whole numbers (the positions on a long request's later pages, written twice a row)
    are formatted once per locale and value."""
    if type(number) is int:
        if 0 <= number < 1000:
            return str(number)
        return _whole_number(number, get_locale())
    return str(flask_babel.format_number(number))


@lru_cache(maxsize=8192)
def _whole_number(number: int, locale: Locale | None) -> str:
    return str(format_decimal(number, locale=locale))


def format_until(value: datetime, format: str = "medium") -> str:
    """The last day of something that lasts "until" a date, as that date in UTC ("Dec 7,
    2027 (UTC)"): a verification until 7 Dec 2027 ends at 23:59:59 UTC that day, which
    in the reader's zone would show as another day ("Dec 8, 2027, 5:29:59 AM" in
    India) though the administrator chose the 7th."""
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    day = flask_babel.format_date(moment.astimezone(UTC).date(), format)
    return str(flask_babel.gettext("%(date)s (UTC)", date=day))


def init_app(app: Flask) -> None:
    """Bind Flask-Babel; templates get ``g.locale`` and ``g.text_direction``."""
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )

    def remember_locale() -> None:
        if request.path.startswith("/api/"):
            return  # the API speaks codes and English, and needs no session
        g.locale = select_locale()
        g.text_direction = text_direction(g.locale)

    page_hooks.before_request(app, remember_locale)

    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["format_until"] = format_until
    app.jinja_env.filters["bdi"] = bdi
    app.jinja_env.filters["numberformat"] = format_number
