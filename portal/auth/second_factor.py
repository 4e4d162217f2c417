"""The second step of signing in: a TOTP code (or a recovery code), and enrolment."""

from __future__ import annotations

import time

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from portal.auth import bp
from portal.extensions import db, limiter
from portal.models import User
from portal.security import start_session
from portal.services import signin, two_factor
from portal.services.errors import ValidationFailed

#: A half-finished sign-in (password checked, code not yet) lasts this long.
PENDING_SECONDS = 300


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric",
                                  "autofocus": True})


def complete_sign_in(user: User, next_url: str | None) -> Response:
    """After the password (or a confirmed link): the second factor when it is required,
    otherwise a fresh session."""
    if two_factor.required_for(user):
        kept = {k: session[k] for k in ("locale", "_flashes") if k in session}
        session.clear()
        session.update(kept)
        session["pending_sign_in"] = {"user": user.id, "at": time.time(),
                                      "next": next_url}
        target = "auth.two_factor" if user.two_factor_enabled else "auth.enroll_two_factor"
        return redirect(url_for(target))
    return _signed_in(user, next_url)


def _signed_in(user: User, next_url: str | None) -> Response:
    start_session(user)
    signin.record_network(user, request.remote_addr)
    return redirect(next_url or url_for("main.index"))


def _pending_user() -> tuple[User, str | None]:
    """The user whose password was just checked; 403 when there is none or it expired."""
    pending = session.get("pending_sign_in")
    if not pending or time.time() - float(pending["at"]) > PENDING_SECONDS:
        session.pop("pending_sign_in", None)
        flash(_("Please sign in again."), "info")
        abort(403)
    user = db.session.get(User, int(pending["user"]))
    if user is None or not user.active:
        abort(403)
    return user, pending.get("next")


@bp.route("/login/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@limiter.limit(lambda: _limit("LOGIN_RATE_LIMIT"), methods=["POST"])
def two_factor_step() -> str | Response:
    user, next_url = _pending_user()
    if not user.two_factor_enabled:
        return redirect(url_for("auth.enroll_two_factor"))
    form = CodeForm()
    if form.validate_on_submit():
        if not signin.is_locked(user) and two_factor.verify(user, form.code.data or ""):
            return _signed_in(user, next_url)
        if signin.second_factor_failed(user, ip_address=request.remote_addr):
            session.pop("pending_sign_in", None)
            flash(_("Too many wrong codes: the account is locked for a while and its owner "
                    "has been told by e-mail."), "error")
            return redirect(url_for("auth.login"))
        form.code.errors = [_("That code is not right (or was already used). Use the "
                              "current code from your authenticator, or a recovery code.")]
    return render_template("auth/two_factor.html", form=form)


@bp.route("/login/enrol", methods=["GET", "POST"], endpoint="enroll_two_factor")
def enroll() -> str | Response:
    """Set up the authenticator: while signing in (when it is required), or from the
    account page."""
    next_url: str | None
    if current_user.is_authenticated:
        user: User = current_user._get_current_object()
        next_url = url_for("auth.account")
    else:
        user, next_url = _pending_user()
    if user.two_factor_enabled:
        return redirect(next_url or url_for("main.index"))
    secret = session.get("enrol_secret") or two_factor.new_secret()
    session["enrol_secret"] = secret
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(user, secret, form.code.data or "")
        except ValidationFailed:
            form.code.errors = [_("That code does not match. Check that the authenticator "
                                  "shows this account, and that its clock is right.")]
        else:
            session.pop("enrol_secret", None)
            if not current_user.is_authenticated:
                start_session(user)
                signin.record_network(user, request.remote_addr)
            return render_template("auth/recovery_codes.html", codes=codes,
                                   next_url=next_url or url_for("main.index"))
    uri = two_factor.provisioning_uri(user, secret)
    return render_template("auth/enroll.html", form=form, qr=two_factor.qr_data_uri(uri),
                           secret=secret, user=user)


@bp.post("/account/recovery-codes")
@login_required
def new_recovery_codes() -> str:
    user: User = current_user._get_current_object()
    if not user.two_factor_enabled:
        abort(400)
    codes = two_factor.regenerate_codes(user)
    return render_template("auth/recovery_codes.html", codes=codes,
                           next_url=url_for("auth.account"))


@bp.post("/account/two-factor/off")
@login_required
def disable_two_factor() -> Response:
    try:
        two_factor.disable(current_user._get_current_object())
    except ValidationFailed:
        flash(_("Two-factor sign-in is required for your account and cannot be turned "
                "off."), "error")
    else:
        flash(_("Two-factor sign-in is off."), "info")
    return redirect(url_for("auth.account"))


@bp.app_template_global()
def recovery_codes_left(user: User) -> int:
    return two_factor.remaining_codes(user)


def _limit(name: str) -> str:
    from flask import current_app

    return str(current_app.config[name])
