"""Fixtures: a migrated database (SQLite, or PostgreSQL from TEST_DATABASE_URL), the app,
its client and CLI runner, the default SLA policies and a world of people; and the
sign-in helpers ``login`` and ``sign_in``.

The schema is built once per run by the migrations (never ``create_all``), and every test
leaves the tables empty for the next.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import flask_babel
import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import TestResponse

from portal import create_app
from portal.extensions import db
from portal.models import SlaPolicy, User
from portal.services import clocks
from portal.services.transaction import transaction
from tests.factories import PASSWORD, World
from tests.smtp import Inbox, smtp_server

# Without PORTAL_ENV the app runs with production settings (and refuses to start without
# SECRET_KEY and DATABASE_URL): the suite, and every process it starts, tests the testing
# settings, whatever the shell says.
os.environ["PORTAL_ENV"] = "testing"

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_report_header() -> str:
    engine = "PostgreSQL" if ON_POSTGRES else "SQLite"
    return f"database: {engine}; CI={IN_CI}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # In CI nothing may be skipped silently: there a skip is reported as a failure.
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI=true): {report.longrepr}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests that need PostgreSQL (row locks, SKIP LOCKED) are left out of the SQLite pass
    # rather than skipped: they run in the PostgreSQL pass of the same `make test`. Tests
    # of SQLite's own path (where PostgreSQL does the work in SQL) are left out of the
    # PostgreSQL pass the same way.
    other = "sqlite_only" if ON_POSTGRES else "postgres_only"
    kept = [i for i in items if i.get_closest_marker(other) is None]
    deselected = [i for i in items if i.get_closest_marker(other) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database, upgraded to head by the migrations, for the whole run."""
    if ON_POSTGRES:
        url = TEST_DATABASE_URL
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "portal.sqlite3")
    app = _make_app(url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def _make_app(url: str, instance: Path) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "ENVIRONMENT": "testing",
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "ATTACHMENT_DIR": str(instance / "attachments"),
            "DEMO_LOGINS_ON_START_PAGE": True,
            # scrypt takes ~0.1 s a hash; the suite hashes thousands of passwords.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )

    @app.before_request
    def forget_request_caches() -> None:
        # In production every request has its own app context. Tests keep one open
        # around the whole test, and requests made through the test client reuse it, so
        # Flask-Login's signed-in user and Flask-Babel's locale would leak from one
        # request (or one client) to the next: forget them as a new context would.
        g.pop("_login_user", None)
        g.pop("_labels", None)
        g.pop("_translations", None)
        g.pop("csrf_token", None)  # Flask-WTF's signed token of the previous session
        flask_babel.refresh()

    return app


@pytest.fixture(scope="session")
def shared_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app for the run: building one (the OpenAPI document above all) costs ~0.2 s,
    which over ~1,500 tests and two databases was most of the suite's time."""
    app = _make_app(database_url, tmp_path_factory.mktemp("instance"))
    yield app
    dispose(app)


def dispose(app: Flask) -> None:
    """Close every pooled connection of ``app``'s engine. An app dropped with its pool
    open leaves its connections to the garbage collector, and psycopg warns (an error
    under the suite's settings) in whichever later test the collector happens to run."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(shared_app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """The app with an app context pushed. Whatever a test changes in the settings is put
    back, rate-limit counters start at zero, and the tables are emptied afterwards."""
    from portal.api.rate_limit import api_rate_limit
    from portal.extensions import limiter

    settings = dict(shared_app.config)
    views = dict(shared_app.view_functions)
    shared_app.config["ATTACHMENT_DIR"] = str(tmp_path / "attachments")
    limiter.reset()
    api_rate_limit.reset()
    with shared_app.app_context():
        try:
            yield shared_app
        finally:
            db.session.remove()
            empty_tables()
            shared_app.config.clear()
            shared_app.config.update(settings)
            shared_app.view_functions.clear()
            shared_app.view_functions.update(views)


def empty_tables() -> None:
    """Delete every row, children first, and (on PostgreSQL) restart the id sequences;
    then put back the default SLA policies the migrations load: the next test sees the
    database as it was after the migrations."""
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(_postgres_emptying(conn, tables))
        else:
            for table in tables:
                conn.execute(table.delete())
        conn.execute(sa.insert(SlaPolicy), clocks.default_rows())


_emptying: dict[str, str] = {}


def _postgres_emptying(conn: sa.Connection, tables: list[sa.Table]) -> str:
    """The statements that empty ``tables`` and restart their sequences, in one string
    (one round trip; psycopg runs several statements when there are no parameters).

    ``TRUNCATE … RESTART IDENTITY`` gives each table and index new files: it took ~45 ms a
    test (about half the PostgreSQL pass), deleting the few rows a test leaves ~1.5 ms.
    """
    key = str(conn.engine.url)
    if key not in _emptying:
        sequences = conn.execute(sa.text(
            "SELECT pg_get_serial_sequence(quote_ident(table_name), column_name) AS seq"
            " FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = ANY(:names)"), {"names": [t.name for t in tables]}).scalars()
        statements = [f"DELETE FROM {table.name}" for table in tables]
        restarts = [f"setval('{seq}', 1, false)" for seq in sorted(filter(None, sequences))]
        if restarts:
            statements.append("SELECT " + ", ".join(restarts))
        _emptying[key] = "; ".join(statements)
    return _emptying[key]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def policies(app: Flask) -> None:
    """The default SLA policies (the migrations load them, and every test starts with
    them; this says a test relies on them, and adds any a test before removed)."""
    with transaction():
        clocks.load_defaults()


@pytest.fixture
def no_policies(app: Flask) -> None:
    """No SLA policy at all (an operator removed them): filings are refused."""
    db.session.execute(sa.delete(SlaPolicy))
    db.session.commit()


@pytest.fixture
def world(app: Flask) -> World:
    """An agency with an official, a second agency with one, a reviewer, a liaison and an
    administrator (``tests.factories.World``), and the default SLA policies."""
    return World()


def login(client: FlaskClient, who: User | str, password: str = PASSWORD,
          **kwargs: object) -> TestResponse:
    """Post the sign-in form as ``who`` (a user or an e-mail address) and return the
    response: a redirect (302) when it signed in, the form again (200) when it did not.
    Other keyword arguments go to ``client.post`` (``query_string``, ``environ_base`` …)."""
    email = who if isinstance(who, str) else who.email
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


def sign_in(client: FlaskClient, who: User | str, password: str = PASSWORD) -> None:
    """Sign in as ``who``; the test fails here unless the form redirected (signed in)."""
    response = login(client, who, password)
    email = who if isinstance(who, str) else who.email
    assert response.status_code == 302, f"sign-in as {email} failed ({response.status})"


@pytest.fixture
def smtp(app: Flask) -> Iterator[Inbox]:
    """A real SMTP server on loopback that the app's mail is sent to, and the inbox of
    every message it accepted."""
    with smtp_server(app.config) as inbox:
        app.config["MAIL_SENDER"] = "Portal <portal@platform.example>"
        yield inbox


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    """Compile any translation catalogue whose .mo is missing or older than its .po (as
    `make install` does), so running pytest directly after editing a .po works too."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[1] / "portal" / "translations"
    for po in root.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        with mo.open("wb") as target:
            write_mo(target, catalog)
