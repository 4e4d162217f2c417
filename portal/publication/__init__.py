"""Publication pages: a reviewer's Lumen-style notice of a request (with redaction and a
preview), and the DSA category mapping administrators check."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("publication", __name__)

from portal.publication import views  # noqa: E402,F401  (registers the routes on bp)
