"""Security headers, session cookies, the idle timeout, and how recently a session proved
who it is (sensitive actions ask again past ``REAUTH_MINUTES``)."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask, Request, Response, current_app, flash, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import confirm_login, current_user, login_user, logout_user

from portal import page_hooks
from portal.extensions import db
from portal.models import User

#: No inline script or style anywhere: every script and stylesheet is a vendored file.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


#: Sent with every answer unless the view set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def add_headers(response: Response) -> Response:
    headers = response.headers
    # One pass over the headers already set (each setdefault was a scan of its own).
    present = {key.lower() for key in headers.keys()}
    headers.extend([(k, v) for k, v in SECURITY_HEADERS if k.lower() not in present])
    if request.is_secure and "strict-transport-security" not in present:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.path.startswith("/api/"):
        # Token-authenticated answers hold an agency's data too; asking Flask-Login about
        # a session the API never uses loaded it on every call.
        if "cache-control" not in present:
            headers["Cache-Control"] = "no-store"
        return response
    if getattr(current_user, "is_authenticated", False) and "cache-control" not in present:
        # Pages of signed-in people hold other people's data: never keep them in caches.
        headers["Cache-Control"] = "no-store"
    return response


def enforce_idle_timeout() -> None:
    """Sign out a session that has been idle longer than ``SESSION_IDLE_MINUTES``, or that
    was started longer ago than the session lifetime (12 hours) however busy it was."""
    if request.path.startswith(("/static/", "/api/")):
        return
    now = time.time()
    if getattr(current_user, "is_authenticated", False):
        last = session.get("seen")
        idle = 60 * float(current_app.config["SESSION_IDLE_MINUTES"])
        if last is not None and now - float(last) > idle:
            _end_session()
            flash(_("You were signed out after %(minutes)s minutes without activity.",
                    minutes=int(idle // 60)), "info")
            return
        # The cookie is signed again on every request, so its own age never runs out
        # while it is used: the start of the session is what limits it.
        started = session.get("started")
        lifetime = current_app.permanent_session_lifetime.total_seconds()
        if started is not None and now - float(started) > lifetime:
            _end_session()
            flash(_("Please sign in again."), "info")
            return
        session["seen"] = now


def _end_session() -> None:
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale


def start_session(user: User, *, remember: bool = False) -> None:
    """Sign ``user`` in with a fresh session: whatever the session held before (a
    half-finished sign-in, a planted cookie) is dropped, only the language is kept."""
    kept = {k: session[k] for k in ("locale", "_flashes") if k in session}
    session.clear()
    session.update(kept)
    # A language chosen before signing in is the person's choice: keep it on the account.
    if kept.get("locale") and kept["locale"] != user.locale:
        user.locale = kept["locale"]
        db.session.commit()
    login_user(user, remember=remember)
    session.permanent = True
    session["seen"] = session["started"] = time.time()
    session["confirmed_at"] = time.time()


def renew_session(user: User) -> None:
    """Keep this session signed in after it ended every session of the account (its own
    password change or authenticator change raised the session generation): the cookie
    now carries the new generation, while copies of the old one stay dead."""
    login_user(user, fresh=True)
    session["confirmed_at"] = time.time()


def recently_confirmed() -> bool:
    """Whether this session proved who it is (signed in, or gave the password or a code
    again) within ``REAUTH_MINUTES``, from the browser and address it did it from.

    A session cookie used from another browser or address is marked not fresh by
    Flask-Login (``session_protection = "basic"``), so a copied cookie must prove itself
    before any sensitive action even within those minutes.
    """
    if not session.get("_fresh"):
        return False
    at = session.get("confirmed_at")
    window = 60 * float(current_app.config["REAUTH_MINUTES"])
    return at is not None and time.time() - float(at) <= window


def mark_confirmed() -> None:
    """This session has just given the password or a code again."""
    confirm_login()  # fresh again, bound to this browser and address
    session["confirmed_at"] = time.time()


#: The one page under /api/: the API's documentation, in the reader's language.
API_DOCS_PAGE = "/api/v1/docs"


class PageSessions(SecureCookieSessionInterface):
    """Signed-cookie sessions for the pages only: an API call is authenticated by its
    token, so it gets Flask's read-only null session instead of a cookie checked (and a
    serializer built) on every call."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith("/api/") and request.path != API_DOCS_PAGE:
            return None  # Flask then uses make_null_session: empty, and never saved
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = PageSessions()
    app.config.setdefault("SESSION_IDLE_MINUTES", 30)
    app.config.setdefault("REAUTH_MINUTES", 5)
    app.permanent_session_lifetime = timedelta(hours=12)
    page_hooks.before_request(app, enforce_idle_timeout)
    app.after_request(add_headers)
