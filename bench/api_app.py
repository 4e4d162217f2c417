"""The app as gunicorn serves it in bench/api.py, plus the bare comparison route: one
primary-key select through Flask-SQLAlchemy, serialised as JSON (benchmark only)."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from portal.extensions import db
from portal.models import LegalRequest
from wsgi import app

# The benchmark measures throughput, not the limit: it must never answer 429.
app.config["API_RATE_LIMIT"] = "100000000 per minute"


@app.get("/bench/bare/<int:request_id>")
def bare(request_id: int) -> ResponseReturnValue:
    found = db.session.get(LegalRequest, request_id)
    if found is None:
        return jsonify({"error": "not found"}), 404
    return jsonify({"reference": found.reference, "state": found.state.value})
