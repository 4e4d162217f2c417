"""The transparency pages: the platform's report (staff), the DSA orders table, the
public summary (when switched on) and an agency's own figures."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("transparency", __name__, url_prefix="/transparency")

from portal.transparency import views  # noqa: E402,F401  (registers the routes on bp)
