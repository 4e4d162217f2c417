"""The requests pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("requests", __name__, url_prefix="/requests")

from portal.requests import views  # noqa: E402,F401  (registers the routes on bp)
