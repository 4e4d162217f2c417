"""The API benchmark's anchor: an independent bare Flask + Flask-SQLAlchemy app that reads
one request by primary key and returns it as JSON (benchmark only).

It shares nothing with the portal but the database: no portal import, no app-wide hooks,
no token, no rate limit. bench/api.py serves it the way it serves the portal (gunicorn,
the same workers and settings) and drives both with the same wrk command, in turns, so
the API's share of this app's requests per second says what the portal's own work costs.

Run: ``DATABASE_URL=... gunicorn bench.bare_app:app``.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Row(db.Model):  # type: ignore[name-defined,misc]
    """The three columns the route returns, of the portal's ``legal_requests`` table."""

    __tablename__ = "legal_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str]
    state: Mapped[str]


def _url() -> str:
    url = os.environ["DATABASE_URL"]
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = _url()
db.init_app(app)


@app.get("/requests/<int:request_id>")
def detail(request_id: int) -> ResponseReturnValue:
    found = db.session.get(Row, request_id)
    if found is None:
        return jsonify({"error": "not found"}), 404
    return jsonify({"id": found.id, "reference": found.reference, "state": found.state})
