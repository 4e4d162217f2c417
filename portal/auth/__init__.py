"""Sign-in sessions: Flask-Login wiring (the sign-in pages come with the web issue)."""

from __future__ import annotations

from flask import Flask

from portal.extensions import db, login_manager
from portal.models import User


def init_app(app: Flask) -> None:
    """Bind Flask-Login and tell it how to load a user from the session."""
    login_manager.init_app(app)
    login_manager.session_protection = "strong"


@login_manager.user_loader  # type: ignore[untyped-decorator]
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))
