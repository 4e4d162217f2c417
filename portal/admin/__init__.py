"""The admin pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Registers the routes on bp.
from portal.admin import views  # noqa: E402,F401,I001
from portal.admin import evidence  # noqa: E402,F401,I001
