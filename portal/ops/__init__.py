"""Probes and metrics for operators: /healthz, /readyz, /metrics."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from portal.ops import views  # noqa: E402,F401  (registers the routes)
