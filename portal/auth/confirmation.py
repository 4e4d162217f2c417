"""The page where a signed-in person confirms it is them: sensitive actions (new recovery
codes, API tokens, turning two-factor sign-in off or moving it to a new authenticator,
an administrator's enrolment codes and resets; ``web.confirmation_required``) send
people here unless this session signed in or confirmed within ``REAUTH_MINUTES`` from
the same browser.

A stolen session cookie is therefore not enough to mint recovery codes or tokens that
would outlive it. The password and the code are counted like sign-in attempts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import Length, Optional

from portal import security
from portal.auth import bp
from portal.extensions import limiter
from portal.i18n import lazy_gettext as _l
from portal.models import User
from portal.models.columns import utcnow
from portal.services import signin


class ConfirmForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[Optional(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password",
                                        "autofocus": True})
    code = StringField(_l("Or a code from your authenticator"),
                       validators=[Optional(), Length(max=20)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


def wait_text(retry_at: datetime) -> str:
    """'Too many wrong attempts: try again in 2 minutes.' in the reader's language."""
    left = max(retry_at - utcnow(), timedelta(0))
    return str(_("Too many wrong attempts: try again in %(wait)s.",
                 wait=format_timedelta(left, granularity="second", threshold=1)))


@bp.route("/account/confirm", methods=["GET", "POST"], endpoint="confirm_identity")
@limiter.limit(lambda: _login_limit(), methods=["POST"])
@login_required
def confirm_identity() -> str | Response:
    from portal.auth.views import safe_next  # views imports wait_text from here

    user: User = current_user._get_current_object()
    next_url = safe_next(request.args.get("next")) or url_for("auth.account")
    form = ConfirmForm()
    if form.validate_on_submit():
        password, code = form.password.data or "", (form.code.data or "").strip()
        if not user.two_factor_enabled:
            code = ""  # no authenticator: only the password can confirm
        field = form.password if password or not code else form.code
        if not password and not code:
            field.errors = [_("Enter your password, or a code from your authenticator.")]
        else:
            if password:
                check = signin.confirm_password(user, password, ip_address=request.remote_addr)
            else:
                check = signin.check_code(user, code, ip_address=request.remote_addr)
            if check.ok:
                security.mark_confirmed()
                return redirect(next_url)
            errors = []
            if check.checked:
                errors.append(_("That is not right.") if password else
                              _("That code is not right (or was already used)."))
            if check.retry_at is not None:
                errors.append(wait_text(check.retry_at))
            field.errors = errors
    return render_template("auth/confirm_identity.html", form=form, user=user,
                           next_url=next_url)


def _login_limit() -> str:
    from flask import current_app

    return str(current_app.config["LOGIN_RATE_LIMIT"])
