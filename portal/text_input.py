"""Refuse form text with a NUL character before any view sees it.

No text column can hold U+0000 on PostgreSQL (SQLite keeps it and cuts strings at it in
places), and nobody types it: it arrives from pasted binary or a hostile client. One
check here covers every form field, instead of one in each service; the API checks its
JSON bodies itself, after the token (portal/api/body.py).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request

from portal import page_hooks
from portal.i18n import lazy_gettext as _l

NUL = "\x00"

#: Form fields whose own parser reports a NUL more precisely: the pasted target list,
#: where the intake parser names the line (and never stores the text).
_PARSED_FIELDS = frozenset({"targets"})

_TITLE = _l("The request could not be understood")
_EXPLANATION = _l("A field of the form contains a null character (U+0000), which text "
                  "cannot hold. Nothing was saved: remove it and send the form again.")


def refuse_nul() -> Any:
    """A 400 page when any submitted form field holds NUL (API paths are left alone)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.path.startswith("/api/"):
        # The API reads its bodies itself, after the token and the rate limit, within a
        # size limit, and reports each NUL on its field or item (portal/api/body.py):
        # reading the body here, before those checks, let anyone cost a worker seconds.
        return None
    if any(NUL in value for name, value in request.form.items(multi=True)
           if name not in _PARSED_FIELDS):
        return render_template("errors/error.html", code=400, title=_TITLE,
                               explanation=_EXPLANATION), 400
    return None


def init_app(app: Flask) -> None:
    page_hooks.before_request(app, refuse_nul)
