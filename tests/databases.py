"""Databases of their own, beside the run's shared one, on the same engine: for tests that
migrate up and down, or that edit copies of a seeded database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from portal import create_app
from portal.extensions import db


class Scratch:
    """Creates, copies and drops databases named by the caller, next to ``database_url``
    (a new file on SQLite, a new database on the same PostgreSQL server)."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.folder = folder
        self.postgres = database_url.startswith("postgresql")
        self.server = sa.make_url(database_url)
        self.admin = (sa.create_engine(self.server.set(database="postgres"),
                                       isolation_level="AUTOCOMMIT")
                      if self.postgres else None)

    def create(self, name: str, template: str | None = None) -> str:
        """An empty database called ``name`` (or a copy of ``template``); its URL."""
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
                suffix = f' TEMPLATE "{template}"' if template else ""
                conn.execute(sa.text(f'CREATE DATABASE "{name}"{suffix}'))
            return self.server.set(database=name).render_as_string(hide_password=False)
        target = self.folder / f"{name}.sqlite3"
        target.unlink(missing_ok=True)
        if template is not None:
            with sqlite3.connect(self.folder / f"{template}.sqlite3") as src, \
                    sqlite3.connect(target) as dst:
                src.backup(dst)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        name = sa.make_url(url).database or ""
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        else:
            Path(name).unlink(missing_ok=True)

    def close(self) -> None:
        if self.admin is not None:
            self.admin.dispose()


def app_for(url: str, instance: Path, **settings: object) -> Flask:
    """An app of its own on ``url`` (the test settings of conftest)."""
    return create_app({
        "TESTING": True, "ENVIRONMENT": "testing", "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url, "ATTACHMENT_DIR": str(instance / "attachments"),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", **settings,
    })


@contextmanager
def using(app: Flask) -> Iterator[Flask]:
    """Its app context; every connection is closed after, so the database can be copied
    or dropped."""
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()
