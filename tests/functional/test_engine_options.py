"""The pool pings a connection before each checkout on PostgreSQL (a restarted server drops
them), not on SQLite, which has no server: the ping was a query per request."""

from __future__ import annotations

from portal.config import Config
from portal.extensions import db


def test_pre_ping_on_postgresql_only(app):
    with app.app_context():
        pings = db.engine.pool._pre_ping
        dialect = db.engine.dialect.name
    assert pings is (dialect == "postgresql")
    # The settings class's dict is shared by every app: it is copied, never changed.
    assert Config.SQLALCHEMY_ENGINE_OPTIONS == {"pool_pre_ping": True}
