"""Configuration classes. Every setting can be overridden from the environment.

``PORTAL_ENV`` picks the class (``development`` by default, ``production``, ``testing``);
``DATABASE_URL`` and ``SECRET_KEY`` are read directly, and any other setting from a
``PORTAL_<NAME>`` variable (values parsed as JSON when they can be, e.g.
``PORTAL_MAX_ITEMS_PER_REQUEST=20000``).
"""

from __future__ import annotations

import os
from pathlib import Path


class Config:
    """Defaults shared by every environment."""

    ENVIRONMENT = "base"

    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None  # None: SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
    # Flask-Limiter warns (an error under our test settings) unless storage is explicit.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Requests: limits and the dispute window.
    MAX_ITEMS_PER_REQUEST = 10_000
    MAX_CONTENT_LENGTH = 24 * 1024 * 1024
    MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
    DISPUTE_WINDOW_DAYS = 14
    # The platform the targets belong to: "x" (X-like microblog) or "telegram".
    PLATFORM_PROFILE = "x"
    # Where order documents are stored (outside the database and the web root).
    ATTACHMENT_DIR: str | None = None  # None: <instance>/attachments
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    # Mail: "smtp" sends through MAIL_SERVER; "log" writes messages to the log instead.
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_SENDER = "Liaison portal <no-reply@portal.invalid>"
    MAIL_TIMEOUT = 10
    MAIL_MAX_ATTEMPTS = 8
    # Webhooks: plain http only for local testing; a delivery gives up after this many s.
    WEBHOOK_ALLOW_HTTP = False
    # Let webhooks reach loopback and private addresses (local development and tests only).
    WEBHOOK_ALLOW_PRIVATE = False
    WEBHOOK_TIMEOUT = 10
    # API: items per filing, page sizes, rate limit per token (Flask-Limiter syntax).
    API_RATE_LIMIT = "600 per minute"
    API_PAGE_SIZE = 100
    # A checked token is remembered this long per process (revocation delay elsewhere).
    API_TOKEN_CACHE_SECONDS = 10
    # Worker: seconds between passes (sweep, deliver, close after the dispute window).
    WORKER_INTERVAL = 30
    # Who receives each `flask audit anchor` by mail (people outside the database team):
    # a JSON list, or one string of comma-separated addresses.
    AUDIT_ANCHOR_RECIPIENTS: list[str] | str = []
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "portal_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Signed-in sessions end after this much inactivity.
    SESSION_IDLE_MINUTES = 30
    # Two-factor sign-in for staff, administrators and (per agency) officials.
    TWO_FACTOR_ENFORCED = True
    # Failed sign-ins before the account locks, and for how long.
    LOCKOUT_THRESHOLD = 5
    LOCKOUT_MINUTES = 15
    # Rate limits (Flask-Limiter syntax), per client address.
    LOGIN_RATE_LIMIT = "20 per minute"
    RESET_RATE_LIMIT = "5 per minute"
    REGISTER_RATE_LIMIT = "10 per hour"
    # Urgent-request safeguards: an account younger than this is "new"; an agency with at
    # least this many requests has "usual" categories.
    SAFEGUARD_NEW_USER_DAYS = 14
    SAFEGUARD_MIN_HISTORY = 3
    DEMO_LOGINS_ON_START_PAGE = False


class DevelopmentConfig(Config):
    """The embedded default: SQLite in ``instance/``, demo logins shown on the start page."""

    ENVIRONMENT = "development"
    DEMO_LOGINS_ON_START_PAGE = True
    # The demo's accounts sign in with a password only (PORTAL_TWO_FACTOR_ENFORCED=true
    # to try two-factor enrolment); production enforces it.
    TWO_FACTOR_ENFORCED = False
    MAIL_BACKEND = "log"
    WEBHOOK_ALLOW_HTTP = True
    WEBHOOK_ALLOW_PRIVATE = True


class TestingConfig(Config):
    """Used by the test suite; the database comes from ``TEST_DATABASE_URL`` or SQLite."""

    ENVIRONMENT = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-secret"
    WTF_CSRF_ENABLED = False
    # Page tests sign in with a password; the two-factor tests turn this on.
    TWO_FACTOR_ENFORCED = False
    RATELIMIT_ENABLED = False


class ProductionConfig(Config):
    """Production: a secret key is required."""

    ENVIRONMENT = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_class() -> type[Config]:
    """The class named by ``PORTAL_ENV``.

    Raises:
        RuntimeError: if ``PORTAL_ENV`` names no known environment.
    """
    name = os.environ.get("PORTAL_ENV", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        known = ", ".join(CONFIGS)
        raise RuntimeError(f"PORTAL_ENV={name!r} is not one of: {known}") from None


def development_secret(instance_path: str) -> str:
    """A random key kept in the instance folder, so sessions survive restarts in development.

    Never used outside development: there a missing ``SECRET_KEY`` stops the start-up.
    """
    path = Path(instance_path) / "dev-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()
