"""Binds the database and its migrations to the app, and tunes SQLite connections."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask

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
