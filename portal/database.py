"""Binds the database and its migrations to the app, and tunes SQLite connections."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask import Flask
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine

from portal import ROOT
from portal.extensions import db

MIGRATIONS_DIR = ROOT / "migrations"


def init_app(app: Flask) -> None:
    """Bind Flask-SQLAlchemy to ``app``, and Flask-Migrate (``flask db ...``) when it is
    first used.

    Flask-Migrate imports Alembic (about 10 MB of every process), which only the
    ``db`` commands, the tests and the benchmarks use: a web worker never does.
    """
    import portal.models  # noqa: F401  (registers every model on the metadata)

    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        # A SQLite file has no server that restarts or drops connections: the ping before
        # each checkout (PostgreSQL's guard, kept there) was a query per request for
        # nothing. A copy: the settings class's dict is shared by every app.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.pop("pool_pre_ping", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    app.extensions["migrate"] = _Migrations(app)
    app.cli.add_command(_MigrationCommands(app))


def _bind_migrate(app: Flask) -> Any:
    """Bind Flask-Migrate to ``app`` now; return its configuration."""
    from flask_migrate import Migrate

    from portal import migration_plan

    Migrate().init_app(app, db, directory=str(MIGRATIONS_DIR), compare_type=True,
                       render_as_batch=True)
    # ``flask db downgrade`` lists what it drops, and needs --force in production.
    migration_plan.init_app()
    return app.extensions["migrate"]


class _Migrations:
    """Stands in ``app.extensions["migrate"]`` (where Flask-Migrate's functions look)
    until something reads it, then binds Flask-Migrate and answers for it."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._config: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._config is None:
            self._config = _bind_migrate(self._app)
        return getattr(self._config, name)


class _MigrationCommands(click.Group):
    """``flask db``: Flask-Migrate's command group, loaded when a command is asked for."""

    def __init__(self, app: Flask) -> None:
        super().__init__("db", help="Perform database migrations.")
        self._app = app

    def _group(self) -> click.Group:
        from flask_migrate.cli import db as group

        self._app.extensions["migrate"].directory  # binds Flask-Migrate  # noqa: B018
        assert isinstance(group, click.Group)
        return group

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        # The real group parses its own options (--directory, -x) and runs.
        return self._group().make_context(info_name, args, parent, **extra)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite leaves foreign keys off by default; WAL lets the web process read while the
    # worker writes; the busy timeout makes a second writer wait instead of failing.
    # sqlite3 is looked up, not imported: a process on PostgreSQL never loads the driver
    # (1 MB of each worker), and then no connection can be one of its.
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is not None and isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _sqlite_from_hint(compiler: Any, table: Any, text: str | None) -> str | None:
    return text


# SQLAlchemy renders ``Select.with_hint(..., "sqlite")`` only for dialects that declare
# from-hints, and its SQLite compiler does not; SQLite's own ``INDEXED BY`` is such a
# hint. The queue and the dashboard name the partial index of waiting clocks with it,
# where SQLite's planner would otherwise walk every running clock (1.2 s at 1M requests).
setattr(SQLiteCompiler, "get_from_hint_text", _sqlite_from_hint)  # noqa: B010
