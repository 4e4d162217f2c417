"""Sign-in: Flask-Login wiring and the sign-in pages."""

from __future__ import annotations

from flask import Blueprint, Flask

from portal import page_hooks
from portal.extensions import db, login_manager
from portal.i18n import lazy_gettext as _l
from portal.models import User

bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    """Bind Flask-Login (sessions, the sign-in page) and register the auth pages."""
    # Its remember-cookie hook is for the pages: API calls carry no session.
    page_hooks.install(app, login_manager.init_app)
    # Sessions are permanent (12 hours, idle timeout), and Flask-Login's "strong" mode
    # only acts on non-permanent ones: with ours it does exactly what "basic" does, so
    # say "basic". A session seen from another browser or address becomes not fresh and
    # must give the password or a code again before any sensitive action
    # (security.recently_confirmed). What ends a copied cookie is the session
    # generation (``load_user``), not this address check, which a thief can spoof.
    login_manager.session_protection = "basic"
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    app.register_blueprint(bp)


from portal.auth import (  # noqa: E402,F401  (registers the routes)
    api_tokens,
    confirmation,
    second_factor,
    views,
)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user a session names (``User.get_id``: id and session generation), if the
    session is still theirs: an account whose generation has moved on since (sign-out,
    a password or authenticator change, deactivation) or that is deactivated loads no
    one, so every copy of an ended session's cookie is dead."""
    number, _, generation = user_id.partition(":")
    if not number.isdigit() or not generation.isdigit():
        return None
    user = db.session.get(User, int(number))
    if user is None or not user.active or user.session_generation != int(generation):
        return None
    return user
