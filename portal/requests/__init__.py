"""The requests pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("requests", __name__, url_prefix="/requests")

# Registers the routes on bp (documents after views: its routes render the request page).
from portal.requests import views  # noqa: E402,F401,I001
from portal.requests import documents  # noqa: E402,F401,I001
