"""API tokens on the account page: created (shown once) and revoked, each after the
person confirms it is them (a token outlives the session that made it, so a stolen
session must not be able to make one)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.auth import bp
from portal.auth.forms import NewTokenForm
from portal.models import User
from portal.services import tokens
from portal.services.errors import ValidationFailed
from portal.web import apply_errors, confirmation_required


@bp.post("/account/tokens")
@confirmation_required("auth.account")
def create_token() -> str | Response:
    user: User = current_user._get_current_object()
    form = NewTokenForm(prefix="token")
    if form.validate_on_submit():
        try:
            row, token = tokens.create_token(user, form.name.data or "",
                                             scopes=form.scopes.data or (), days=form.days.data)
        except ValidationFailed as exc:
            for text in apply_errors(form, exc.errors):
                flash(text, "error")
        else:
            return render_template("auth/api_token.html", row=row, token=token)
    for name, errors in form.errors.items():
        for text in errors:
            flash(f"{form[name].label.text}: {text}", "error")
    return redirect(url_for("auth.account"))


@bp.post("/account/tokens/<int:token_id>/revoke")
@confirmation_required("auth.account")
def revoke_token(token_id: int) -> Response:
    """Revoke one of one's own tokens; another person's is not found (404)."""
    tokens.revoke(current_user.id, token_id)
    flash(_("The token is revoked: it no longer works."), "success")
    return redirect(url_for("auth.account"))
