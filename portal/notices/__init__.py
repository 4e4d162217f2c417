"""The notifications page (/notifications) and the unread count in every page's header."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask
from flask_login import current_user

bp = Blueprint("notices", __name__, url_prefix="/notifications")

from portal.notices import views  # noqa: E402  (registers the routes on bp)
from portal.notices.wording import notice_text, unread_badge  # noqa: E402


def init_app(app: Flask) -> None:
    """Register the page, and give every template ``unread_notices()``: the signed-in
    user's unread count as the header shows it, read only when a page asks for it."""
    app.register_blueprint(bp)

    @app.context_processor
    def _unread() -> dict[str, Any]:
        def unread_notices() -> str:
            if not getattr(current_user, "is_authenticated", False):
                return ""
            return unread_badge(views.unread_for(current_user.id))

        return {"unread_notices": unread_notices}

    app.jinja_env.globals.update(notice_text=notice_text)
