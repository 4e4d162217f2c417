"""Pages for the demo on a developer's machine only: ``/dev/mail`` shows the mail the
portal sent, since in development it goes to the log instead of a mail server."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("dev", __name__, url_prefix="/dev")


def init_app(app: Flask) -> None:
    """Register the pages in development only: anywhere else their URLs are a 404 (they
    show working one-time links to whoever asks)."""
    if app.config["ENVIRONMENT"] == "development":
        app.register_blueprint(bp)


from portal.dev import views  # noqa: E402,F401  (registers the routes on bp)
