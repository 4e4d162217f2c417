"""The review pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")

from portal.review import views  # noqa: E402,F401  (registers the routes on bp)
