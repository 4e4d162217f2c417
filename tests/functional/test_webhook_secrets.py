"""Webhook signing secrets are encrypted at rest (portal/secret_box.py): unreadable in the
database, readable by the worker with the configured key, re-encrypted on key rotation,
and encrypted (and decrypted on downgrade) by the migration that introduced them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from portal import create_app, secret_box
from portal.extensions import db
from portal.models import Webhook
from portal.services import tokens, webhooks
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL

KEY_A = "a" * 16 + "first-webhook-key-of-the-tests"
KEY_B = "b" * 16 + "second-webhook-key-of-the-tests"
BEFORE = "16d1f39c0e97"  # the revision before secrets were encrypted


def register(client, world) -> tuple[int, str]:
    headers = {"Authorization": "Bearer " + tokens.create_token(
        world.official, "t", scopes=["file"])[1]}
    created = client.post("/api/v1/webhooks", json={"url": "https://example.org/hook"},
                          headers=headers)
    assert created.status_code == 201
    return created.json["id"], created.json["secret"]


def raw_row(webhook_id: int) -> dict[str, object]:
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT * FROM webhooks WHERE id = :id"),
                                 {"id": webhook_id}).mappings().one())


def test_the_secret_is_not_readable_in_the_database(client, app, world):
    webhook_id, secret = register(client, world)
    row = raw_row(webhook_id)
    assert "secret" not in row
    assert not any(secret in str(value) for value in row.values())
    stored = str(row["secret_encrypted"])
    assert stored.startswith("gAAAAA")  # a Fernet token (version byte 0x80)
    assert secret_box.unseal(stored, app.config) == secret
    # Without the key, the token is useless: another key does not open it.
    with pytest.raises(secret_box.SecretUnreadable):
        secret_box.unseal(stored, {"WEBHOOK_SECRET_KEY": KEY_B})


def test_the_key_is_derived_from_secret_key_unless_one_is_given(app):
    derived = secret_box.seal("s", {"SECRET_KEY": "flask-session-key"})
    assert secret_box.unseal(derived, {"WEBHOOK_SECRET_KEY": None,
                                       "SECRET_KEY": "flask-session-key"}) == "s"
    given = secret_box.seal("s", {"WEBHOOK_SECRET_KEY": KEY_A, "SECRET_KEY": "x"})
    with pytest.raises(secret_box.SecretUnreadable):
        secret_box.unseal(given, {"SECRET_KEY": "x"})
    # The derived key is not the string itself: HKDF with the documented info.
    assert secret_box.derive_key(KEY_A) != secret_box.derive_key(KEY_B)
    assert len(secret_box.derive_key(KEY_A)) == 44


def test_an_altered_token_is_refused(app):
    token = secret_box.seal("s", {"WEBHOOK_SECRET_KEY": KEY_A})
    altered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(secret_box.SecretUnreadable):
        secret_box.unseal(altered, {"WEBHOOK_SECRET_KEY": KEY_A})


def test_key_rotation_re_encrypts_every_secret(client, app, runner, world):
    app.config["WEBHOOK_SECRET_KEY"] = KEY_A
    webhook_id, secret = register(client, world)
    before = raw_row(webhook_id)["secret_encrypted"]
    # Without the old key, nothing is changed and the operator is told why.
    app.config.update(WEBHOOK_SECRET_KEY=KEY_B, WEBHOOK_SECRET_OLD_KEYS=[])
    refused = runner.invoke(args=["webhooks", "rotate-secrets"])
    assert refused.exit_code == 1
    assert f"the secret of webhook {webhook_id} opens with no configured key" in refused.output
    assert raw_row(webhook_id)["secret_encrypted"] == before
    # With it, every secret moves to the new key, and the old one can then go.
    app.config["WEBHOOK_SECRET_OLD_KEYS"] = [KEY_A]
    done = runner.invoke(args=["webhooks", "rotate-secrets"])
    assert done.exit_code == 0 and "re-encrypted 1 webhook secret(s)" in done.output
    after = str(raw_row(webhook_id)["secret_encrypted"])
    assert after != before
    assert secret_box.unseal(after, {"WEBHOOK_SECRET_KEY": KEY_B}) == secret
    with pytest.raises(secret_box.SecretUnreadable):
        secret_box.unseal(after, {"WEBHOOK_SECRET_KEY": KEY_A})


def test_an_old_key_in_the_environment_may_be_a_plain_string(app):
    token = secret_box.seal("s", {"WEBHOOK_SECRET_KEY": KEY_A})
    assert secret_box.unseal(token, {"WEBHOOK_SECRET_KEY": KEY_B,
                                     "WEBHOOK_SECRET_OLD_KEYS": KEY_A}) == "s"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"WEBHOOK_SECRET_KEY": "short"}, "WEBHOOK_SECRET_KEY is too short"),
    ({"TESTING": False, "WEBHOOK_TESTING_PUBLIC_NETWORKS": ["10.0.0.0/8"]},
     "WEBHOOK_TESTING_PUBLIC_NETWORKS is a test-suite setting"),
    ({"TESTING": False, "WEBHOOK_TESTING_RESOLVER": lambda host, port: ["10.0.0.1"]},
     "WEBHOOK_TESTING_RESOLVER is a test-suite setting"),
])
def test_unsafe_webhook_settings_stop_the_start(tmp_path, overrides, message):
    with pytest.raises(RuntimeError, match=message):
        create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                    "TESTING": True, **overrides})


def test_the_test_settings_are_ignored_by_an_app_that_is_not_testing(app, world):
    # Set after start-up (where they are refused), they still do not take effect.
    from portal.services import webhook_destinations as destinations

    config = dict(app.config, WEBHOOK_ALLOW_PRIVATE=False,
                  WEBHOOK_TESTING_PUBLIC_NETWORKS=["127.0.0.0/8"])
    target = destinations.parse_url("https://127.0.0.1/hook", config)
    assert destinations.resolve(target, config, testing=True)
    with pytest.raises(destinations.DestinationRefused):
        destinations.resolve(target, config, testing=False)


# --- the migration --------------------------------------------------------------------


@pytest.fixture
def scratch_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database of its own (a second PostgreSQL database on the
    PostgreSQL pass), for walking the migrations with data in the tables."""
    if ON_POSTGRES:
        server = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
        name = "portal_migration_scratch"
        with server.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        url = sa.make_url(TEST_DATABASE_URL).set(database=name).render_as_string(
            hide_password=False)
    else:
        url = "sqlite:///" + str(tmp_path / "scratch.sqlite3")
    scratch = create_app({"TESTING": True, "ENVIRONMENT": "testing",
                          "SECRET_KEY": "scratch-secret", "SQLALCHEMY_DATABASE_URI": url,
                          "WEBHOOK_SECRET_KEY": KEY_A})
    try:
        with scratch.app_context():
            yield scratch
            db.session.remove()
            db.engine.dispose()
    finally:
        if ON_POSTGRES:
            with server.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            server.dispose()


def insert(conn: sa.Connection, name: str, **values: object) -> None:
    """Insert a row with ``values``, filling every other required column with a value
    of its type (the tables as they were at that revision, read from the database)."""
    table = sa.Table(name, sa.MetaData(), autoload_with=conn)
    row = dict(values)
    for column in table.columns:
        if (column.name in row or column.nullable or column.server_default is not None
                or (column.primary_key and column.autoincrement is not False
                    and "id" not in values)):
            continue
        python_type = column.type.python_type
        if python_type is bool:
            row[column.name] = False
        elif python_type is int:
            row[column.name] = 1
        elif python_type is datetime:
            row[column.name] = datetime(2026, 11, 1, tzinfo=UTC)
        elif python_type in (dict, list):
            row[column.name] = {}
        else:
            row[column.name] = "x"
    conn.execute(table.insert().values(**row))


PLAIN_SECRET = "0123456789abcdef" * 4


def test_the_migration_encrypts_existing_secrets_and_downgrade_decrypts_them(scratch_app):
    upgrade(revision=BEFORE)
    with db.engine.begin() as conn:
        insert(conn, "agencies", id=1, official_domain="a.gov.example", country="TR",
               status="verified")
        insert(conn, "users", id=1, email="o@a.gov.example", agency_id=1,
               role="agency_official")
        insert(conn, "notifications", id=1, channel="webhook", status="sent",
               template="request.state_changed", recipient="https://example.org/h")
        insert(conn, "webhooks", id=1, agency_id=1, created_by_id=1,
               url="https://example.org/h", secret=PLAIN_SECRET, active=True)
        for n, (status, error) in enumerate([
                (None, "URLError: <urlopen error [Errno 111] Connection refused>"),
                (None, "localhost resolves to a non-public address (127.0.0.1)"),
                (None, "TimeoutError: timed out"), (404, "HTTP 404"), (503, "HTTP 503"),
                (200, None)], start=1):
            insert(conn, "webhook_deliveries", id=n, webhook_id=1, notification_id=1,
                   event="request.state_changed", status_code=status, error=error,
                   attempted_at=datetime(2026, 11, 1, tzinfo=UTC), duration_ms=1)

    upgrade()
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM webhooks")).mappings().one()
        errors = conn.execute(sa.text(
            "SELECT error FROM webhook_deliveries ORDER BY id")).scalars().all()
    assert "secret" not in row and PLAIN_SECRET not in str(dict(row))
    assert secret_box.unseal(row["secret_encrypted"], scratch_app.config) == PLAIN_SECRET
    assert errors == ["connection failed", "refused", "timeout", "HTTP 4xx", "HTTP 5xx", None]
    assert db.session.get(Webhook, 1).secret_encrypted == row["secret_encrypted"]
    db.session.remove()

    downgrade(revision=BEFORE)
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM webhooks")).mappings().one()
    assert row["secret"] == PLAIN_SECRET and "secret_encrypted" not in row

    upgrade()  # and up again, as an operator who went back and forth would
    with db.engine.connect() as conn:
        token = conn.execute(sa.text("SELECT secret_encrypted FROM webhooks")).scalar_one()
    assert secret_box.unseal(token, scratch_app.config) == PLAIN_SECRET
    _ = webhooks
