"""The development mail page."""

from __future__ import annotations

import re

from flask import render_template
from markupsafe import Markup, escape

from portal.dev import bp
from portal.i18n import lazy_gettext as _l
from portal.services.dev_mail import recent_mail

#: A web address in a mail's text (mails hold the portal's own links).
_URL = re.compile(r"https?://[^\s<>\"']+")

#: How the page words each delivery status.
STATUS_TEXT = {
    "pending": _l("Waiting for the worker"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}


#: A link to an address; ``format`` escapes the address it is given.
_LINK = Markup('<a href="{url}">{url}</a>')


def linked(text: str) -> Markup:
    """The text escaped, with each web address made a link that can be followed."""
    parts: list[Markup] = []
    last = 0
    for found in _URL.finditer(text):
        parts.append(escape(text[last:found.start()]))
        parts.append(_LINK.format(url=found.group(0)))
        last = found.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


@bp.get("/mail")
def mail() -> str:
    """The mail the portal sent or is about to send, newest first, links included."""
    return render_template("dev/mail.html", mails=recent_mail(), linked=linked,
                           status_text=STATUS_TEXT)
