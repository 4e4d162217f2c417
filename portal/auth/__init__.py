"""Sign-in: Flask-Login wiring and the sign-in pages."""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_babel import lazy_gettext as _l

from portal.extensions import db, login_manager
from portal.models import User

bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    """Bind Flask-Login (sessions, the sign-in page) and register the auth pages."""
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    app.register_blueprint(bp)


from portal.auth import second_factor, views  # noqa: E402,F401  (registers the routes)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))
