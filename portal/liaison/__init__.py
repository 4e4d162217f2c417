"""The liaison pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("liaison", __name__, url_prefix="/liaison")

from portal.liaison import views  # noqa: E402,F401  (registers the routes on bp)
