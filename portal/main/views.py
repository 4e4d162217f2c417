"""Start page and the language switch."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.auth.views import safe_next
from portal.demo import DEMO_PASSWORD, demo_logins
from portal.extensions import db
from portal.i18n import LANGUAGES
from portal.main import bp
from portal.models.columns import utcnow
from portal.services import coverage, start_page
from portal.services.dashboard import BAND_COUNT_LIMIT
from portal.web import current_actor
from workflows.roles import Role


@bp.get("/")
def index() -> str:
    logins = demo_logins() if current_app.config["DEMO_LOGINS_ON_START_PAGE"] else []
    # What needs the signed-in person now comes first on their start page.
    needs = (start_page.needs_now(current_actor(), utcnow())
             if current_user.is_authenticated else None)
    # A reviewer sees which jurisdictions' new requests they are told of.
    covered = (coverage.covered(current_user.id) if current_user.is_authenticated
               and current_user.role is Role.LEGAL_REVIEWER else None)
    return render_template("main/index.html", logins=logins, demo_password=DEMO_PASSWORD,
                           needs=needs, covered=covered, band_count_limit=BAND_COUNT_LIMIT)


@bp.get("/language")
def choose_language() -> str:
    """The language choice on a page of its own; it changes nothing (a GET never does:
    a link or an image could otherwise change a signed-in user's setting)."""
    follow = safe_next(request.args.get("next"))
    return render_template("main/language.html", next=follow or url_for("main.index"))


@bp.post("/language")
def language() -> Response:
    """Switch the interface language (kept on the account when signed in); the form
    carries a CSRF token, like every form."""
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session["locale"] = chosen
        if current_user.is_authenticated and current_user.locale != chosen:
            current_user.locale = chosen
            db.session.commit()
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))
