"""An SLA clock's standing and countdown as HTML, for the staff's tables (the review
queue, the reviewer's workspace, the liaison dashboard).

Functions rather than Jinja macros for the reason of :mod:`portal.item_cells`: the
dashboard's 50 rows called four macros each (a badge, its words, a countdown, its
duration), a fifth of the page's render. A standing always carries words as well as its
colour; the countdown is the text ``portal.js`` ticks, frozen while paused or stopped.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from markupsafe import Markup

from portal.i18n import format_datetime, gettext
from portal.i18n import lazy_gettext as _l
from portal.services.reports import Band
from portal.wording import STAFF_BANDS, labeller

#: A clock's standing in the staff's words, the stopped ones' too.
staff_band_label = labeller({**STAFF_BANDS, Band.MET: _l("Met"), Band.MISSED: _l("Missed")})

_BADGE = Markup('<span class="badge band-%s">%s</span>')
_COUNTDOWN = Markup('<time class="countdown" datetime="%s" data-due="%s"%s\n'
                    '    title="%s">%s</time>')
_FROZEN = Markup(' data-frozen="1"')


def countdown_text(remaining: timedelta) -> str:
    """Time left as the live countdown shows it ("1d 02:03:04", "−00:10:00" when late)."""
    seconds = round(remaining.total_seconds())
    sign = "−" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    day_part = f"{days}d " if days else ""
    return f"{sign}{day_part}{hours:02d}:{minutes:02d}:{secs:02d}"


def band_badge(band: object) -> Markup:
    """A standing as a coloured badge with its words."""
    code = str(getattr(band, "value", band))
    return _BADGE % (code, staff_band_label(code))


def countdown(status: Any) -> Markup:
    """A live countdown to a clock's deadline (a ``ClockStatus``), with the deadline in
    the reader's zone as its title."""
    due = status.due_at.isoformat()
    title = gettext("Due %(when)s") % {"when": format_datetime(status.due_at)}
    return _COUNTDOWN % (due, due, _FROZEN if status.paused or status.stopped else Markup(),
                         title, countdown_text(status.remaining))


def init_app(app: Flask) -> None:
    """Give templates the standing's badge and the countdown."""
    app.jinja_env.globals.update(band_badge=band_badge, countdown=countdown)
