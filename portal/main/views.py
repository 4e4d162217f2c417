"""Start page: what the portal is, and in development the demo logins."""

from __future__ import annotations

from flask import current_app, render_template

from portal.demo import DEMO_PASSWORD, demo_logins
from portal.main import bp


@bp.get("/")
def index() -> str:
    logins = demo_logins() if current_app.config["DEMO_LOGINS_ON_START_PAGE"] else []
    return render_template("main/index.html", logins=logins, demo_password=DEMO_PASSWORD)
