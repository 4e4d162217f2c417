"""Configuration classes. Every setting can be overridden from the environment.

``PORTAL_ENV`` picks the class (``production``, also when it is not set;
``development``; ``testing``): a deployment that forgets it fails closed, with production's
settings and checks. ``DATABASE_URL``, ``SECRET_KEY`` and ``WEBHOOK_SECRET_KEY`` are read
directly, and any other setting from a ``PORTAL_<NAME>`` variable (values parsed as JSON
when they can be, e.g. ``PORTAL_MAX_ITEMS_PER_REQUEST=20000``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit


class Config:
    """Defaults shared by every environment."""

    ENVIRONMENT = "base"

    SECRET_KEY: str | None = None
    # The portal's own address as its users reach it (scheme, host, optional port and
    # path prefix): every link in a mail is built on it, never on a request's Host header.
    BASE_URL: str | None = None
    # Host names a request may be addressed to (Flask refuses others with 400); production
    # defaults to BASE_URL's host.
    TRUSTED_HOSTS: list[str] | None = None
    # Reverse proxies in front of the portal that set X-Forwarded-For/-Proto: their number
    # (0: none; the client's address is the connection's).
    PROXY_HOPS = 0
    SQLALCHEMY_DATABASE_URI: str | None = None  # None: SQLite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
    # Flask-Limiter warns (an error under our test settings) unless storage is explicit.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Degrade, don't fail: when Redis is unreachable each process counts in its own memory
    # (a warning is logged, portal_ratelimit_fallback says so, /readyz reports it) and
    # goes back to Redis once it answers again. A Redis that hangs is given half a second.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS: dict[str, object] = {"socket_timeout": 0.5,
                                                    "socket_connect_timeout": 0.5}
    # Compression (Flask-Compress): pages and JSON of at least COMPRESS_MIN_SIZE bytes are
    # sent gzipped to clients that accept it (the review queue: 58.7 KB, 5.7 KB gzipped).
    # Streamed responses (CSV exports, order documents, static files) are left to the
    # proxy: documents are PDFs, already compressed, and a stream has no size to judge.
    COMPRESS_ALGORITHM = ["gzip"]
    COMPRESS_MIN_SIZE = 1024
    COMPRESS_STREAMS = False
    COMPRESS_MIMETYPES = ["text/html", "text/plain", "text/css", "text/javascript",
                          "application/javascript", "application/json",
                          "application/problem+json", "image/svg+xml"]
    # Logs: "json" (one object a line, with the request id) or "text" (as Python and
    # gunicorn set them up); one line per request when LOG_REQUESTS.
    LOG_FORMAT = "text"
    LOG_LEVEL = "INFO"
    LOG_REQUESTS = True
    # /readyz's detail and /metrics are for requests bearing this token (Authorization:
    # Bearer ...) or from these networks (the client's address, after PROXY_HOPS).
    OPS_TOKEN: str | None = None
    OPS_NETWORKS: list[str] = ["127.0.0.0/8", "::1/128"]
    # /readyz fails when no worker finished a good pass within this many of its
    # intervals (only reports it when READY_REQUIRES_WORKER is off), or when more than
    # READY_MAX_OUTBOX_BACKLOG notifications are due.
    READY_HEARTBEAT_INTERVALS = 3
    READY_REQUIRES_WORKER = True
    READY_MAX_OUTBOX_BACKLOG = 5000
    # Requests: limits and the dispute window.
    MAX_ITEMS_PER_REQUEST = 10_000
    MAX_CONTENT_LENGTH = 24 * 1024 * 1024
    MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
    DISPUTE_WINDOW_DAYS = 14
    # The public, unauthenticated transparency summary (/transparency/public): off until
    # the platform decides to publish (aggregate figures only, small counts banded).
    TRANSPARENCY_PUBLIC = False
    # The platforms targets may belong to, side by side: "x" (an X-like microblog) and
    # "telegram" (a Telegram-like messenger). A link is read by its host's profile; a
    # bare @name by PLATFORM_PROFILE, unless the filing names its service. A JSON list
    # or a comma-separated string.
    PLATFORM_PROFILES: list[str] | str = ["x", "telegram"]
    PLATFORM_PROFILE = "x"
    # Where documents are stored (outside the database and the web root): "local" (a
    # directory, ATTACHMENT_DIR) or "s3" (a bucket of an S3-compatible store).
    DOCUMENT_STORAGE = "local"
    ATTACHMENT_DIR: str | None = None  # None: <instance>/attachments
    # The S3-compatible store (DOCUMENT_STORAGE = "s3"): the bucket (created by the
    # operator), a key prefix, the endpoint (None: AWS), region and keys (None: boto3's
    # own chain, e.g. AWS_ACCESS_KEY_ID or an instance role); "path" addressing suits
    # MinIO and most others; seconds to wait for an answer.
    S3_BUCKET: str | None = None
    S3_PREFIX = "documents/"
    S3_ENDPOINT_URL: str | None = None
    S3_REGION: str | None = None
    S3_ACCESS_KEY_ID: str | None = None
    S3_SECRET_ACCESS_KEY: str | None = None
    S3_ADDRESSING_STYLE = "path"
    S3_TIMEOUT = 10
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
    # The outbox sends over one SMTP connection, renewed after this many mails.
    MAIL_MESSAGES_PER_CONNECTION = 100
    # One worker pass delivers the outbox for at most this many seconds (then sweeps the
    # clocks again): a time, not a count, so an alert wave goes out in one pass.
    OUTBOX_PASS_SECONDS = 20
    # Each batch of the outbox commits after this long: what a crash can send twice.
    OUTBOX_BATCH_SECONDS = 0.25
    # A failed delivery is retried after this many seconds, doubling each time (6 h at
    # most), until MAIL_MAX_ATTEMPTS.
    OUTBOX_RETRY_SECONDS = 60
    # Webhooks: plain http only for local testing; a delivery gives up after this many s.
    WEBHOOK_ALLOW_HTTP = False
    # Let webhooks reach loopback and private addresses on any port (local development
    # only: it turns the destination checks off; redirects are still refused).
    WEBHOOK_ALLOW_PRIVATE = False
    WEBHOOK_TIMEOUT = 10
    # Ports allowed besides the scheme's standard one (443; 80 for plain http).
    WEBHOOK_EXTRA_PORTS: list[int] = []
    # Certificate authorities for receivers' certificates (PEM file); None: the system's.
    WEBHOOK_CA_FILE: str | None = None
    # Encrypts webhook signing secrets at rest (at least 32 random characters); None:
    # derived from SECRET_KEY. Old keys still decrypt (rotation, see docs/SECURITY.md).
    WEBHOOK_SECRET_KEY: str | None = None
    WEBHOOK_SECRET_OLD_KEYS: list[str] = []
    # Test suite only (refused at start-up otherwise): networks counted as public, and a
    # callable (host, port) -> addresses used instead of the system's resolver.
    WEBHOOK_TESTING_PUBLIC_NETWORKS: list[str] = []
    WEBHOOK_TESTING_RESOLVER = None
    # API: items per filing, page sizes, rate limit per token (Flask-Limiter syntax).
    API_RATE_LIMIT = "600 per minute"
    API_PAGE_SIZE = 100
    # API bodies: the largest a call reads (413 past it, refused from Content-Length
    # before anything is read). A filing of MAX_ITEMS_PER_REQUEST (10,000) targets of up
    # to a few hundred characters each fits in API_MAX_FILING_BYTES.
    API_MAX_FILING_BYTES = 8 * 1024 * 1024
    API_MAX_BODY_BYTES = 256 * 1024
    # API tokens live this many days unless their maker chooses (at most the maximum).
    API_TOKEN_DAYS = 90
    API_TOKEN_MAX_DAYS = 365
    # A checked token is remembered this long per process (revocation delay elsewhere).
    API_TOKEN_CACHE_SECONDS = 10
    # Worker: seconds between passes (sweep, deliver, close after the dispute window).
    WORKER_INTERVAL = 30
    # After failed passes in a row the wait doubles from WORKER_INTERVAL up to this.
    WORKER_MAX_BACKOFF = 300
    # Who receives each `flask audit anchor` by mail (people outside the database team):
    # a JSON list, or one string of comma-separated addresses.
    AUDIT_ANCHOR_RECIPIENTS: list[str] | str = []
    # DSA statements of reasons (flask report dsa-sor, docs/OPERATIONS.md): how the
    # platform describes every statement, and where `report dsa-submit` posts them (the
    # Transparency Database's /api/v1/statements and a token it issued; unset: refused).
    DSA_SOURCE_TYPE = "SOURCE_TYPE_OTHER_NOTIFICATION"
    DSA_AUTOMATED_DETECTION = "No"
    DSA_AUTOMATED_DECISION = "AUTOMATED_DECISION_NOT_AUTOMATED"
    DSA_PUID_PREFIX = ""
    DSA_SUBMIT_URL: str | None = None
    DSA_SUBMIT_TOKEN: str | None = None
    DSA_SUBMIT_TIMEOUT = 30
    # Lumen-style notices: the recipient entity (the platform) and its country.
    LUMEN_RECIPIENT_NAME = "The platform"
    LUMEN_RECIPIENT_COUNTRY = "IE"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "portal_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Signed-in sessions end after this much inactivity.
    SESSION_IDLE_MINUTES = 30
    # Two-factor sign-in for staff, administrators and (per agency) officials.
    TWO_FACTOR_ENFORCED = True
    # Rate limits (Flask-Limiter syntax), per client address.
    LOGIN_RATE_LIMIT = "20 per minute"
    RESET_RATE_LIMIT = "5 per minute"
    REGISTER_RATE_LIMIT = "10 per hour"
    # Urgent-request safeguards (services/safeguards.py). History is the filings the
    # platform acted on. An account younger than SAFEGUARD_NEW_USER_DAYS is "new"; a
    # category the agency had no acted-on filing of in SAFEGUARD_CATEGORY_DAYS is "new";
    # an hour is unusual when fewer than SAFEGUARD_USUAL_HOUR_SHARE of the agency's filings
    # fell within an hour of it (local time), once it has SAFEGUARD_HOURS_MIN_HISTORY.
    SAFEGUARD_NEW_USER_DAYS = 14
    SAFEGUARD_CATEGORY_DAYS = 90
    SAFEGUARD_HOURS_MIN_HISTORY = 20
    SAFEGUARD_USUAL_HOUR_SHARE = 0.05
    DEMO_LOGINS_ON_START_PAGE = False
    # Sign-in delays, sessions and re-authentication (docs/SECURITY.md, threat 7). Wrong
    # passwords and wrong codes are counted apart; after SIGNIN_FREE_FAILURES of one kind,
    # each further try of that kind waits SIGNIN_FIRST_DELAY_SECONDS, doubling up to
    # SIGNIN_MAX_DELAY_SECONDS (no account is ever locked); a count is forgotten this
    # many hours after its last failure. The owner is mailed when a count reaches
    # SIGNIN_NOTICE_FAILURES, at most once per SIGNIN_NOTICE_WINDOW_MINUTES.
    SIGNIN_FREE_FAILURES = 5
    SIGNIN_FIRST_DELAY_SECONDS = 30
    SIGNIN_MAX_DELAY_SECONDS = 300
    SIGNIN_FORGET_HOURS = 24
    SIGNIN_NOTICE_FAILURES = 5
    SIGNIN_NOTICE_WINDOW_MINUTES = 60
    # Sensitive actions (new recovery codes, tokens, two-factor changes) ask for the
    # password or a code again unless the session signed in or confirmed this recently.
    REAUTH_MINUTES = 5
    # An administrator's one-time code for a staff member's first second factor.
    ENROLMENT_CODE_HOURS = 24


class DevelopmentConfig(Config):
    """The embedded default: SQLite in ``instance/``, demo logins shown on the start page."""

    ENVIRONMENT = "development"
    BASE_URL = "http://127.0.0.1:5000"
    DEMO_LOGINS_ON_START_PAGE = True
    # The demo's accounts sign in with a password only (PORTAL_TWO_FACTOR_ENFORCED=true
    # to try two-factor enrolment); production enforces it.
    TWO_FACTOR_ENFORCED = False
    MAIL_BACKEND = "log"
    WEBHOOK_ALLOW_HTTP = True
    WEBHOOK_ALLOW_PRIVATE = True


class TestingConfig(Config):
    """Used by the test suite (tests/conftest.py sets ``PORTAL_ENV=testing``); the database
    comes from ``TEST_DATABASE_URL`` or SQLite."""

    ENVIRONMENT = "testing"
    TESTING = True
    BASE_URL = "http://localhost"
    SECRET_KEY = "testing-only-secret"
    WTF_CSRF_ENABLED = False
    # Page tests sign in with a password; the two-factor tests turn this on.
    TWO_FACTOR_ENFORCED = False
    # Mail is rendered and "sent" to the log unless a test starts an SMTP server; webhooks
    # reach the tests' receivers on loopback. Rate limits stay on: tests check them.
    MAIL_BACKEND = "log"
    WEBHOOK_ALLOW_HTTP = True
    WEBHOOK_ALLOW_PRIVATE = True


class ProductionConfig(Config):
    """Production, and the default when ``PORTAL_ENV`` is not set: ``SECRET_KEY`` and
    ``DATABASE_URL`` are required (see ``check_production``), no demo sign-ins, two-factor
    sign-in enforced, cookies only over HTTPS."""

    ENVIRONMENT = "production"
    LOG_FORMAT = "json"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # No default: per-process memory would let each worker count its own attempts.
    RATELIMIT_STORAGE_URI: str | None = None  # type: ignore[assignment]


#: What runs when ``PORTAL_ENV`` is not set: the strict settings, never the demo's.
DEFAULT_ENVIRONMENT = "production"
#: A shorter secret key is refused in production.
MIN_SECRET_KEY_LENGTH = 32

CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


class ConfigurationError(RuntimeError):
    """A setting the app must not start without is missing or unsafe."""


def config_class() -> type[Config]:
    """The class named by ``PORTAL_ENV`` (production when it is not set).

    Raises:
        ConfigurationError: if ``PORTAL_ENV`` names no known environment.
    """
    name = os.environ.get("PORTAL_ENV") or DEFAULT_ENVIRONMENT
    try:
        return CONFIGS[name]
    except KeyError:
        known = ", ".join(CONFIGS)
        raise ConfigurationError(f"PORTAL_ENV={name!r} is not one of: {known}") from None


_NEW_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


def check_production(config: Mapping[str, Any]) -> None:
    """Refuse production settings without a strong secret key or a database URL.

    Called before the SQLite default is filled in: production never falls back to a file
    in the instance folder, nor to a generated key.

    Raises:
        ConfigurationError: naming the variable that is missing or too weak.
    """
    # Someone who only forgot PORTAL_ENV on a laptop should learn how to get the demo.
    hint = ("" if os.environ.get("PORTAL_ENV") else
            " (PORTAL_ENV is not set, so production settings apply; for the demo on this "
            "machine set PORTAL_ENV=development, as `make run` does)")
    key = config.get("SECRET_KEY") or ""
    if not key:
        raise ConfigurationError(
            "SECRET_KEY is not set: production signs sessions with it and has no default; "
            f"export SECRET_KEY=$({_NEW_KEY}){hint}")
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"SECRET_KEY is too weak: {len(key)} characters where production needs at least "
            f"{MIN_SECRET_KEY_LENGTH} random ones; export SECRET_KEY=$({_NEW_KEY})")
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        raise ConfigurationError(
            "DATABASE_URL is not set: production does not fall back to a SQLite file in the "
            f"instance folder; export DATABASE_URL=postgresql://user:password@host/name{hint}")
    base = config.get("BASE_URL") or ""
    if not base:
        raise ConfigurationError(
            "PORTAL_BASE_URL is not set: links in mails are built on it, never on the Host "
            "header a request claims; export PORTAL_BASE_URL=https://portal.example.org")
    if not base.startswith("https://"):
        raise ConfigurationError(
            f"PORTAL_BASE_URL={base!r} is not an https:// address: production's cookies and "
            "links travel over HTTPS only")
    if not config.get("RATELIMIT_STORAGE_URI"):
        raise ConfigurationError(
            "RATELIMIT_STORAGE_URI is not set: with several workers, limits kept in each "
            "process's memory let every worker count its own attempts; export "
            "RATELIMIT_STORAGE_URI=redis://host:6379/0 (or memory:// for a single process)")


class BaseUrl(NamedTuple):
    """The parts of ``BASE_URL``: links are built as ``scheme://netloc/prefix/path``."""

    scheme: str
    netloc: str
    hostname: str
    prefix: str


def parse_base_url(value: str) -> BaseUrl:
    """The parts of a base URL.

    Raises:
        ConfigurationError: not an http(s) address of a host, or one with a query, a
            fragment or credentials.
    """
    parts = urlsplit(value)
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query
            or parts.fragment or parts.username or parts.password):
        raise ConfigurationError(
            f"BASE_URL={value!r} must be http(s)://host[:port][/prefix], nothing more")
    return BaseUrl(parts.scheme, parts.netloc, parts.hostname, parts.path.rstrip("/"))


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
