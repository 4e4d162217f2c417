"""Sign in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from portal.auth import bp
from portal.auth.forms import LoginForm
from portal.extensions import db
from portal.models import User
from portal.services.accounts import normalise_email
from portal.services.errors import ValidationFailed


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            address = normalise_email(form.email.data or "")
        except ValidationFailed:
            address = ""
        user = db.session.scalar(sa.select(User).where(User.email == address))
        if user is not None and user.active and user.check_password(form.password.data or ""):
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
        # One message for every failure: never reveal which addresses have accounts.
        flash(_("The e-mail address or the password is not right."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
