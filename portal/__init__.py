"""The government liaison portal: a Flask application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from portal.config import (
    ConfigurationError,
    check_production,
    config_class,
    development_secret,
    parse_base_url,
)
from portal.models.columns import ID_MAX

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings, then each extension's and module's ``init_app``.

    Raises:
        ConfigurationError: in production (also when ``PORTAL_ENV`` is not set) without
            ``DATABASE_URL`` or a ``SECRET_KEY`` of at least 32 characters; in testing
            without a ``SECRET_KEY``; a ``WEBHOOK_SECRET_KEY`` shorter than 32 characters;
            a test-only webhook setting outside testing; an unknown
            ``DOCUMENT_STORAGE``, or ``s3`` without ``S3_BUCKET``; platform profiles
            that name no known profile, or a default that is not enabled.
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    # Ids in URLs are database integers: a number past 64 bits is a 404, not a driver
    # overflow (schemathesis found that one).
    app.url_map.converters["int"] = DatabaseId
    # Settings: the class for PORTAL_ENV, then the environment, then the caller's.
    app.config.from_object(config_class())
    app.config.from_prefixed_env("PORTAL")
    for name in ("SECRET_KEY", "WEBHOOK_SECRET_KEY", "RATELIMIT_STORAGE_URI"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if overrides:
        app.config.update(overrides)
    _complete_settings(app)
    # Behind reverse proxies, the client's address and scheme are what they forwarded
    # (only as many hops as configured: a client can write these headers too).
    if app.config["PROXY_HOPS"]:
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    # Compression first: after-request hooks run in reverse, so it sees the final body.
    from portal.extensions import compress

    compress.init_app(app)
    # Request ids first (every later hook and log line has one); JSON logs in production.
    from portal import logs

    logs.init_app(app)
    # Chunked page bodies are bounded (and spooled) before anything reads them.
    from portal import body_limit

    body_limit.init_app(app)
    # Where documents are kept (a directory, or an S3-compatible store).
    from portal import storage

    storage.init_app(app)
    # The database, its migrations and the models.
    from portal import database

    database.init_app(app)
    # Sign-in sessions (the pages come with the auth blueprint).
    from portal import auth

    auth.init_app(app)
    # Languages, and the translated labels of codes for pages and mails.
    from portal import document_labels, i18n, wording

    i18n.init_app(app)
    wording.init_app(app)
    document_labels.init_app(app)
    # The platforms targets belong to (checked at start-up; links to their pages).
    from portal import clock_cells, item_cells, platforms

    platforms.init_app(app)
    item_cells.init_app(app)
    clock_cells.init_app(app)
    # Security headers, cookie settings and the idle timeout.
    from portal import security

    security.init_app(app)
    # No text with a NUL character reaches a view (no column can hold it).
    from portal import text_input

    text_input.init_app(app)
    # CSRF protection for every form; rate limits of the pages (the API's blueprints are
    # exempt from both, and skip their hooks: portal/page_hooks.py).
    from portal import page_hooks
    from portal.extensions import csrf, limiter

    page_hooks.install(app, csrf.init_app)
    page_hooks.install(app, limiter.init_app)
    # Pages: navigation and error pages, then one blueprint per face.
    from portal import main, navigation

    navigation.init_app(app)
    app.register_blueprint(main.bp)
    from portal import admin, liaison, publication, requests, review, transparency

    for blueprint in (requests.bp, review.bp, liaison.bp, admin.bp, publication.bp,
                      transparency.bp):
        app.register_blueprint(blueprint)
    # Notifications: the list page and the unread count in every page's header.
    from portal import notices

    notices.init_app(app)
    # In development only: the mail the portal sent, on a page (/dev/mail).
    from portal import dev

    dev.init_app(app)
    # The JSON API (problem+json errors, OpenAPI at /api/v1/openapi.json).
    from portal import api

    api.init_app(app)
    # Probes and metrics for operators: /healthz, /readyz, /metrics.
    from portal import metrics, ops

    metrics.init_app(app)
    app.register_blueprint(ops.bp)
    # Command line: agencies, users, demo, audit (``db`` is Flask-Migrate's).
    from portal import cli

    cli.init_app(app)
    return app


class DatabaseId(IntegerConverter):
    """``<int:...>`` limited to what an id column holds: a larger number is a 404 here
    rather than an out-of-range error from the database."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def _complete_settings(app: Flask) -> None:
    """Refuse unsafe settings, then fill in those that depend on the instance folder."""
    if app.config["ENVIRONMENT"] == "production":
        check_production(app.config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        if app.config["ENVIRONMENT"] != "development":
            raise ConfigurationError("SECRET_KEY is not set: it is required outside development")
        app.config["SECRET_KEY"] = development_secret(app.instance_path)
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        uri = "sqlite:///" + str(Path(app.instance_path) / "portal.sqlite3")
    # psycopg 3 is the driver we ship; plain postgresql:// URLs would ask for psycopg2.
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            uri = "postgresql+psycopg://" + uri[len(prefix):]
    app.config["SQLALCHEMY_DATABASE_URI"] = uri
    if app.config.get("BASE_URL"):
        base = parse_base_url(app.config["BASE_URL"])
        if app.config.get("TRUSTED_HOSTS") is None and app.config["ENVIRONMENT"] == "production":
            # A request addressed to any other host is refused (400) before a view runs.
            app.config["TRUSTED_HOSTS"] = [base.hostname]
    webhook_key = app.config.get("WEBHOOK_SECRET_KEY")
    if webhook_key and len(webhook_key) < 32:
        raise ConfigurationError("WEBHOOK_SECRET_KEY is too short: use at least 32 random "
                                 "characters")
    for name in ("WEBHOOK_TESTING_PUBLIC_NETWORKS", "WEBHOOK_TESTING_RESOLVER"):
        if app.config.get(name) and not app.testing:
            raise ConfigurationError(f"{name} is a test-suite setting: it is refused outside "
                                     "TESTING, since it would let webhooks reach internal "
                                     "addresses")
    if not app.config.get("ATTACHMENT_DIR"):
        app.config["ATTACHMENT_DIR"] = str(Path(app.instance_path) / "attachments")
