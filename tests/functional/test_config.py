"""Settings fail closed: without ``PORTAL_ENV`` the app runs with production settings, and
production does not start without ``DATABASE_URL`` and a strong ``SECRET_KEY``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import create_app
from portal.config import MIN_SECRET_KEY_LENGTH, ConfigurationError
from portal.demo import DEMO_PASSWORD
from portal.extensions import db
from portal.models import User

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "a-secret-key-of-forty-characters-0123456"


@pytest.fixture
def bare_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment with no portal settings at all (as a deployment that forgot them),
    and an instance folder of the test's own."""
    for name in list(os.environ):
        if name.startswith("PORTAL_") or name in {"SECRET_KEY", "DATABASE_URL"}:
            monkeypatch.delenv(name)
    monkeypatch.setattr(Flask, "auto_find_instance_path",
                        lambda self: str(tmp_path / "instance"))
    return monkeypatch


def test_without_portal_env_and_secret_key_it_refuses_naming_secret_key(bare_env, tmp_path):
    bare_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/portal.sqlite3")
    with pytest.raises(ConfigurationError, match="SECRET_KEY is not set") as refused:
        create_app()
    assert "PORTAL_ENV=development" in str(refused.value)  # how to get the demo instead
    assert not (tmp_path / "instance" / "dev-secret-key").exists()


def test_without_portal_env_and_database_url_it_refuses_naming_database_url(bare_env):
    bare_env.setenv("SECRET_KEY", STRONG_KEY)
    with pytest.raises(ConfigurationError, match="DATABASE_URL is not set"):
        create_app()


@pytest.mark.parametrize("key", ["x", "changeme", "k" * (MIN_SECRET_KEY_LENGTH - 1)])
def test_production_refuses_a_weak_secret_key(bare_env, tmp_path, key):
    bare_env.setenv("PORTAL_ENV", "production")
    bare_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/portal.sqlite3")
    bare_env.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigurationError, match=f"SECRET_KEY is too weak: {len(key)} char"):
        create_app()


def test_the_real_entry_point_stops_with_the_message(bare_env):
    """``flask --app wsgi ...`` (and gunicorn's ``wsgi:app``) without any settings."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "current"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "ConfigurationError: SECRET_KEY is not set" in done.stderr


def production_env(env: pytest.MonkeyPatch, database_url: str) -> None:
    """Everything production needs: a key, a database, its address, a rate-limit store."""
    env.setenv("SECRET_KEY", STRONG_KEY)
    env.setenv("DATABASE_URL", database_url)
    # The test client addresses "localhost": the one host production will then accept.
    env.setenv("PORTAL_BASE_URL", "https://localhost")
    env.setenv("RATELIMIT_STORAGE_URI", "memory://")


@pytest.mark.parametrize(("missing", "value", "message"), [
    ("PORTAL_BASE_URL", None, "PORTAL_BASE_URL is not set"),
    ("PORTAL_BASE_URL", "http://portal.example.org", "is not an https:// address"),
    ("PORTAL_BASE_URL", "https://portal.example.org/?next=x", "nothing more"),
    ("RATELIMIT_STORAGE_URI", None, "RATELIMIT_STORAGE_URI is not set"),
])
def test_production_needs_its_address_and_a_rate_limit_store(bare_env, database_url, missing,
                                                            value, message):
    production_env(bare_env, database_url)
    if value is None:
        bare_env.delenv(missing)
    else:
        bare_env.setenv(missing, value)
    with pytest.raises(ConfigurationError, match=message):
        create_app()


def test_with_both_it_starts_in_production_mode(app, bare_env, database_url):
    production_env(bare_env, database_url)
    production = create_app()
    config = production.config
    assert config["ENVIRONMENT"] == "production"
    assert config["SECRET_KEY"] == STRONG_KEY
    assert config["DEMO_LOGINS_ON_START_PAGE"] is False
    assert config["TWO_FACTOR_ENFORCED"] is True
    assert config["SESSION_COOKIE_SECURE"] is True and config["WTF_CSRF_ENABLED"] is True
    assert config["MAIL_BACKEND"] == "smtp" and config["WEBHOOK_ALLOW_PRIVATE"] is False
    try:
        cli = production.test_cli_runner()
        # The commands run in the app context that is current: production's, not the
        # suite's (which the ``app`` fixture has pushed).
        with production.app_context():
            # The demo's published password on an administrator: never in production.
            seeded = cli.invoke(args=["demo", "seed"])
            assert seeded.exit_code == 1, seeded.output
            assert "refused: demo data is for development only" in seeded.output
            assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
            made = cli.invoke(args=["users", "create", "reviewer@platform.example",
                                    "--role", "legal_reviewer", "--password-stdin"],
                              input=DEMO_PASSWORD)
            assert made.exit_code == 0, made.output
            db.session.remove()
        client = production.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        start = client.get("/").get_data(as_text=True)
        assert "Demo sign-ins" not in start and DEMO_PASSWORD not in start
        # The demo reviewer's password is right, but staff must enrol a second factor.
        form = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        assert token, "the sign-in form carries no CSRF token"
        response = client.post("/login", data={
            "csrf_token": token.group(1), "email": "reviewer@platform.example",
            "password": DEMO_PASSWORD})
        assert response.status_code == 302
        assert response.headers["Location"] == "/login/enrol"
    finally:
        with production.app_context():
            db.session.remove()
            db.engine.dispose()


def test_development_still_works_with_no_other_setting(bare_env, tmp_path):
    bare_env.setenv("PORTAL_ENV", "development")
    development = create_app()
    config = development.config
    instance = tmp_path / "instance"
    assert config["ENVIRONMENT"] == "development"
    assert config["SECRET_KEY"] == (instance / "dev-secret-key").read_text().strip()
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'portal.sqlite3'}"
    assert config["DEMO_LOGINS_ON_START_PAGE"] is True
    assert config["TWO_FACTOR_ENFORCED"] is False
    # The key is kept: sessions survive a restart.
    assert create_app().config["SECRET_KEY"] == config["SECRET_KEY"]
