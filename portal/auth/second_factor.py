"""The second step of signing in: a TOTP code (or a recovery code), and enrolment."""

from __future__ import annotations

import time

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from portal import security
from portal.auth import bp
from portal.auth.confirmation import wait_text
from portal.extensions import db, limiter
from portal.i18n import lazy_gettext as _l
from portal.models import User
from portal.security import start_session
from portal.services import enrolment, signin, two_factor
from portal.services.errors import FieldError, ValidationFailed
from portal.services.signin import TooSoon
from portal.web import apply_errors, ask_confirmation, confirmation_required

#: A half-finished sign-in (password checked, code not yet) lasts this long.
PENDING_SECONDS = 300


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric",
                                  "autofocus": True})


NEEDS_ENROLMENT_CODE = _l("Staff accounts need an enrolment code from an administrator to "
                         "set up two-factor sign-in.")


class EnrolmentForm(CodeForm):
    """Enrolment of a staff member's first second factor: the administrator's code too."""

    enrolment_code = StringField(_l("Enrolment code from an administrator"),
                                 validators=[DataRequired(message=NEEDS_ENROLMENT_CODE),
                                             Length(max=40)],
                                 render_kw={"autocomplete": "off", "spellcheck": "false"})


#: Why an enrolment was refused, by (field, code).
ENROL_ERRORS: dict[tuple[str, str], LazyString] = {
    ("code", "invalid"): _l("That code does not match. Check that the authenticator shows "
                            "this account, and that its clock is right."),
    ("enrolment_code", "required"): NEEDS_ENROLMENT_CODE,
    ("enrolment_code", "invalid"): _l("This enrolment code is not right, was used already, "
                                      "or has expired. Ask an administrator for a new one."),
}


def _enrol_error(error: FieldError) -> str:
    if isinstance(error, TooSoon) and error.retry_at is not None:
        return wait_text(error.retry_at)
    text = ENROL_ERRORS.get((error.field, error.code))
    return str(text) if text is not None else error.message


def complete_sign_in(user: User, next_url: str | None) -> Response:
    """After the password (or a confirmed link): the second factor when it is required,
    otherwise a fresh session."""
    if two_factor.required_for(user):
        kept = {k: session[k] for k in ("locale", "_flashes") if k in session}
        session.clear()
        session.update(kept)
        session["pending_sign_in"] = {"user": user.id, "at": time.time(),
                                      "generation": user.session_generation,
                                      "next": next_url}
        target = "auth.two_factor" if user.two_factor_enabled else "auth.enroll_two_factor"
        return redirect(url_for(target))
    return _signed_in(user, next_url)


def _signed_in(user: User, next_url: str | None) -> Response:
    start_session(user)
    signin.record_network(user, request.remote_addr)
    return redirect(next_url or url_for("main.index"))


def _pending_user() -> tuple[User, str | None]:
    """The user whose password was just checked; 403 when there is none, it expired, or
    the account's sessions were ended since (its password changed, say)."""
    pending = session.get("pending_sign_in")
    if not pending or time.time() - float(pending["at"]) > PENDING_SECONDS:
        session.pop("pending_sign_in", None)
        flash(_("Please sign in again."), "info")
        abort(403)
    user = db.session.get(User, int(pending["user"]))
    if (user is None or not user.active
            or pending.get("generation") != user.session_generation):
        session.pop("pending_sign_in", None)
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
        check = signin.check_code(user, form.code.data or "", ip_address=request.remote_addr)
        if check.ok:
            return _signed_in(user, next_url)
        errors = []
        if check.checked:
            errors.append(_("That code is not right (or was already used). Use the current "
                            "code from your authenticator, or a recovery code."))
        if check.retry_at is not None:
            errors.append(wait_text(check.retry_at))
        form.code.errors = errors
    return render_template("auth/two_factor.html", form=form)


@bp.route("/login/enrol", methods=["GET", "POST"], endpoint="enroll_two_factor")
def enroll() -> str | Response:
    """Set up the authenticator: while signing in (when it is required), or from the
    account page, where it may also replace the one in use (after confirming)."""
    next_url: str | None
    signed_in = current_user.is_authenticated
    if signed_in:
        user: User = current_user._get_current_object()
        if not security.recently_confirmed():
            return ask_confirmation(url_for("auth.enroll_two_factor"))
        next_url = url_for("auth.account")
    else:
        user, next_url = _pending_user()
        if user.two_factor_enabled:
            # Signing in with an authenticator set up already: use it, not a new one.
            return redirect(url_for("auth.two_factor"))
    secret = session.get("enrol_secret") or two_factor.new_secret()
    session["enrol_secret"] = secret
    needs_code = enrolment.needs_enrolment_code(user)
    form = EnrolmentForm() if needs_code else CodeForm()
    if form.validate_on_submit():
        given = form.enrolment_code.data if isinstance(form, EnrolmentForm) else ""
        try:
            codes = enrolment.enrol(user, secret, form.code.data or "",
                                    enrolment_code=given or "",
                                    ip_address=request.remote_addr)
        except ValidationFailed as exc:
            for text in apply_errors(form, exc.errors, wording=_enrol_error):
                flash(text, "error")
        else:
            session.pop("enrol_secret", None)
            if signed_in:
                # Every other session of the account ended; this one goes on.
                security.renew_session(user)
            else:
                start_session(user)
                signin.record_network(user, request.remote_addr)
            return render_template("auth/recovery_codes.html", codes=codes,
                                   next_url=next_url or url_for("main.index"))
    uri = two_factor.provisioning_uri(user, secret)
    return render_template("auth/enroll.html", form=form, qr=two_factor.qr_data_uri(uri),
                           secret=secret, user=user, needs_code=needs_code,
                           replacing=user.two_factor_enabled)


@bp.post("/account/recovery-codes")
@confirmation_required("auth.account")
def new_recovery_codes() -> str:
    user: User = current_user._get_current_object()
    if not user.two_factor_enabled:
        abort(400)
    codes = two_factor.regenerate_codes(user)
    return render_template("auth/recovery_codes.html", codes=codes,
                           next_url=url_for("auth.account"))


@bp.post("/account/two-factor/off")
@confirmation_required("auth.account")
def disable_two_factor() -> Response:
    user: User = current_user._get_current_object()
    try:
        two_factor.disable(user)
    except ValidationFailed:
        flash(_("Two-factor sign-in is required for your account and cannot be turned "
                "off."), "error")
    else:
        # Every other session of the account ended; this one goes on.
        security.renew_session(user)
        flash(_("Two-factor sign-in is off."), "info")
    return redirect(url_for("auth.account"))


@bp.app_template_global()
def recovery_codes_left(user: User) -> int:
    return two_factor.remaining_codes(user)


def _limit(name: str) -> str:
    from flask import current_app

    return str(current_app.config[name])
