"""Sign in and out, password reset, the account page, agency registration and
invitations."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portal import document_forms, security
from portal.auth import bp
from portal.auth.confirmation import wait_text
from portal.auth.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    InviteForm,
    LoginForm,
    NewPasswordForm,
    NewTokenForm,
    ProfileForm,
    RegisterAgencyForm,
)
from portal.auth.second_factor import complete_sign_in
from portal.error_text import field_error_text
from portal.extensions import limiter
from portal.i18n import lazy_gettext as _l
from portal.links import external_url
from portal.models import Agency, User
from portal.models.columns import utcnow
from portal.navigation import has_endpoint
from portal.services import passwords, profile, registration, signin, tokens
from portal.services.accounts import MIN_PASSWORD_LENGTH
from portal.services.documents import DocumentInput
from portal.services.errors import FieldError, ValidationFailed
from portal.services.paging import page_number
from portal.services.passwords import ExpiredLink, InvalidLink, LinkPurpose
from portal.services.signin import TooSoon
from portal.web import apply_errors, current_actor, roles_required
from workflows.codes import DocumentKind
from workflows.roles import Role

#: Why an agency cannot file, in the reader's language, keyed by the English reason
#: ``Agency.filing_block`` gives.
FILING_BLOCKS: dict[str, LazyString] = {
    "the agency has not been verified yet": _l(
        "Your agency has not been verified yet, so it cannot file requests. An "
        "administrator of the platform checks every new agency (its official domain and "
        "documents); you will be able to file once it is verified."),
    "the agency's verification was rejected": _l(
        "Your agency's verification was rejected, so it cannot file requests. Contact the "
        "platform's liaison team if you think this is a mistake."),
    "the agency is suspended": _l(
        "Your agency is suspended, so it cannot file requests for now. Contact the "
        "platform's liaison team to restore access."),
    "the agency's verification has expired": _l(
        "Your agency's verification has expired, so it cannot file requests until an "
        "administrator renews it. Contact the platform's liaison team."),
}

#: Wording for the field errors of these pages that say more than the generic one.
FIELD_ERRORS: dict[tuple[str, str], LazyString] = {
    ("evidence", "not_pdf"): _l("The file must be a PDF file."),
    ("email", "invalid"): _l("Enter a valid e-mail address, such as name@ministry.gov.example."),
    ("official_email", "invalid"): _l("Enter a valid e-mail address, such as "
                                      "name@ministry.gov.example."),
    ("email", "taken"): _l("This address already has an account."),
    ("official_email", "taken"): _l("This address already has an account. Sign in, or use "
                                    "“Forgot your password?” on the sign-in page."),
    ("domain", "invalid"): _l("Enter the agency's domain name only, such as "
                              "ministry.gov.example (no address, no https://)."),
    ("domain", "taken"): _l("An agency with this domain is already registered. Ask one of "
                            "its officials to invite you."),
    ("domain", "overlaps"): _l("An agency with a related domain (a parent or a subdomain of "
                               "this one) is already registered. Ask one of its officials "
                               "to invite you, or contact the platform's liaison team."),
    ("domain", "public_suffix"): _l("This domain is shared by many organisations (like "
                                    "gov.uk or co.uk). Enter your agency's own domain, "
                                    "such as ministry.gov.uk."),
    ("domain", "free_mail"): _l("This is a public e-mail service, not your agency's own "
                                "domain. Enter the domain of your agency's official "
                                "addresses."),
    ("country", "choice"): _l("Choose a country from the list."),
    ("timezone", "choice"): _l("Choose a time zone from the list, such as Europe/Istanbul."),
    ("locale", "choice"): _l("Choose one of the listed languages."),
    ("current_password", "wrong"): _l("The current password is not right."),
    ("name", "required"): _l("Enter a name."),
    ("agency_name", "required"): _l("Enter the name of the agency."),
    ("official_name", "required"): _l("Enter your name."),
}

#: What a dead link page says.
LINK_PROBLEMS: dict[str, LazyString] = {
    ExpiredLink.code: _l("This link has expired."),
    InvalidLink.code: _l("This link is not valid: it has been used already, or it was "
                         "copied incompletely."),
}


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after sign-in (no open redirect).

    Raises:
        BadRequest (400): the target holds a control character (CR or LF would split the
            redirect's Location header: a 500 before, and header injection in spirit).
    """
    if not target:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        abort(400, description="the 'next' address contains control characters")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def error_text(error: FieldError, *, domain: str = "") -> str:
    """A service field error of these pages, in the reader's language."""
    if error.code == "domain" and domain:
        return str(_("The address must be on %(domain)s or one of its subdomains.",
                     domain=domain))
    if error.code == "too_short" and error.field == "password":
        return str(_("Use at least %(count)s characters.", count=MIN_PASSWORD_LENGTH))
    if isinstance(error, TooSoon) and error.retry_at is not None:
        return wait_text(error.retry_at)
    specific = FIELD_ERRORS.get((error.field, error.code))
    text = str(specific) if specific is not None else field_error_text(error)
    if error.field == "evidence" and error.index is not None:
        # One of several files: say which.
        return str(_("File %(number)s: %(problem)s", number=error.index, problem=text))
    return text


def show_errors(form: FlaskForm, exc: ValidationFailed, *, domain: str = "") -> None:
    """Put a service's field errors on the form, translated; flash those without a field."""
    for text in apply_errors(form, exc.errors,
                             wording=functools.partial(error_text, domain=domain)):
        flash(text, "error")


@bp.app_template_global()
def filing_block_text(agency: Agency | None) -> str | None:
    """Why this agency cannot file now, in the reader's language, or ``None``."""
    if agency is None:
        return None
    block = agency.filing_block(utcnow())
    if block is None:
        return None
    text = FILING_BLOCKS.get(block)
    return str(text) if text is not None else block


def _no_referrer(response: Response) -> Response:
    """Pages whose address holds a token never pass it on as a Referer."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _dead_link(exc: InvalidLink) -> Response:
    page = render_template("auth/link_invalid.html", problem=LINK_PROBLEMS[exc.code])
    return _no_referrer(Response(page, status=400, mimetype="text/html"))


# Signing in and out ---------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["LOGIN_RATE_LIMIT"]), methods=["POST"])
def login() -> str | Response:
    follow = safe_next(request.args.get("next"))  # a forged 'next' is refused up front
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        attempt = signin.check_password(form.email.data or "", form.password.data or "",
                                        ip_address=request.remote_addr)
        if attempt.user is not None:
            return complete_sign_in(attempt.user, follow)
        # One message for every failure, locked accounts included: never reveal which
        # addresses have accounts (the owner of a locked account is told by mail).
        flash(_("The e-mail address or the password is not right, or the account is "
                "locked for a while after too many attempts."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        # Ends every session of the account: a copy of this cookie taken before signing
        # out is dead too (not only the browser's own copy, which logout_user forgets).
        signin.sign_out(current_user._get_current_object())
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


# Forgotten passwords --------------------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["RESET_RATE_LIMIT"]), methods=["POST"])
def forgot_password() -> str | Response:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        passwords.request_reset(
            form.email.data or "",
            link=lambda token: external_url("auth.reset_password", token=token),
        )
        # The same answer whether or not the address has an account.
        minutes = max(passwords.max_age(LinkPurpose.RESET) // 60, 1)
        flash(_("If an account uses that address, a link to choose a new password is on its "
                "way. It works once, for %(minutes)s minutes. Check your spam folder if it "
                "does not arrive.", minutes=minutes), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response:
    try:
        user = passwords.user_for_token(token, LinkPurpose.RESET)
    except InvalidLink as exc:
        return _dead_link(exc)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            passwords.set_password_from_link(token, LinkPurpose.RESET, form.password.data or "")
        except InvalidLink as exc:
            return _dead_link(exc)
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            if current_user.is_authenticated:
                logout_user()
            flash(_("Your password has been changed. Sign in with the new one."), "success")
            return redirect(url_for("auth.login"))
    page = render_template("auth/reset_password.html", form=form, email=user.email)
    return _no_referrer(Response(page, mimetype="text/html"))


# The account page -----------------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> str | Response:
    user: User = current_user._get_current_object()
    settings = ProfileForm(prefix="profile", obj=user)
    password = ChangePasswordForm(prefix="password")
    if request.method == "POST":
        if settings.submit.data and settings.validate():
            try:
                profile.update_profile(current_actor(), name=settings.name.data or "",
                                       locale=settings.locale.data or "",
                                       timezone=settings.timezone.data or "")
            except ValidationFailed as exc:
                show_errors(settings, exc)
            else:
                flash(_("Your settings are saved."), "success")
                return redirect(url_for("auth.account"))
        elif password.submit.data and password.validate():
            try:
                passwords.change_password(current_actor(), password.current_password.data or "",
                                          password.password.data or "")
            except ValidationFailed as exc:
                show_errors(password, exc)
            else:
                # Every other session of the account ended; this one goes on.
                security.renew_session(user)
                flash(_("Your password has been changed. Every other session of your "
                        "account has been signed out."), "success")
                return redirect(url_for("auth.account"))
    return render_template("auth/account.html", settings=settings, password=password,
                           user=user, time_zones=profile.time_zones(),
                           min_password=MIN_PASSWORD_LENGTH,
                           token_form=NewTokenForm(prefix="token"),
                           api_tokens=tokens.tokens_of(user.id))


# Agency self-registration ---------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: str(current_app.config["REGISTER_RATE_LIMIT"]), methods=["POST"])
def register() -> str | Response:
    if current_user.is_authenticated:
        flash(_("You are signed in already: an agency is registered by its first official, "
                "before they have an account."), "info")
        return redirect(url_for("main.index"))
    form = RegisterAgencyForm()
    if form.validate_on_submit():
        data = registration.AgencyRegistration(
            agency_name=form.agency_name.data or "", country=form.country.data or "",
            domain=form.domain.data or "", official_name=form.official_name.data or "",
            official_email=form.official_email.data or "", locale=_current_locale(),
            evidence=_evidence(form),
        )
        review = ("admin.agencies" if has_endpoint("admin.agencies") else "main.index")
        try:
            registration.register_agency(
                data,
                confirm_link=lambda token: external_url("auth.confirm", token=token),
                review_link=external_url(review),
                account_link=external_url("auth.forgot_password"),
            )
        except ValidationFailed as exc:
            show_errors(form, exc, domain=(form.domain.data or "").strip().lower())
        else:
            return redirect(url_for("auth.registered"))
    return render_template("auth/register.html", form=form,
                           max_mb=current_app.config["MAX_ATTACHMENT_BYTES"] // 1_000_000)


def _evidence(form: RegisterAgencyForm) -> list[DocumentInput]:
    """The proof files chosen on the registration form (kind "other", no language:
    administrators read them, nothing is filed with them)."""
    found = [document_forms.upload_of(upload) for upload in form.evidence.data or []]
    return [DocumentInput(upload, DocumentKind.OTHER.value) for upload in found
            if upload is not None]


def _current_locale() -> str:
    return str(g.get("locale", "en"))


@bp.get("/register/done")
def registered() -> str:
    return render_template(
        "auth/registered.html",
        hours=max(passwords.max_age(LinkPurpose.CONFIRM) // 3600, 1),
    )


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Response:
    return _set_password_page(token, LinkPurpose.CONFIRM)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invite(token: str) -> Response:
    return _set_password_page(token, LinkPurpose.INVITE)


def _set_password_page(token: str, purpose: LinkPurpose) -> Response:
    """A mailed link's page: the first password (and, for an invitation, the name)."""
    try:
        user = passwords.user_for_token(token, purpose)
    except InvalidLink as exc:
        return _dead_link(exc)
    invited = purpose is LinkPurpose.INVITE
    form = AcceptInvitationForm() if invited else NewPasswordForm()
    if form.validate_on_submit():
        name = (form.name.data or "") if isinstance(form, AcceptInvitationForm) else None
        try:
            user = passwords.set_password_from_link(token, purpose, form.password.data or "",
                                                    name=name)
        except InvalidLink as exc:
            return _dead_link(exc)
        except ValidationFailed as exc:
            show_errors(form, exc)
        else:
            if invited:
                flash(_("Welcome! Your account is ready."), "success")
            else:
                flash(_("Your e-mail address is confirmed and your password is set."),
                      "success")
            return complete_sign_in(user, None)
    template = "auth/accept_invite.html" if invited else "auth/confirm.html"
    page = render_template(template, form=form, user=user, agency=user.agency)
    return _no_referrer(Response(page, mimetype="text/html"))


# Invitations ----------------------------------------------------------------------

PER_PAGE = 50


@bp.route("/invite", methods=["GET", "POST"])
@roles_required(Role.AGENCY_OFFICIAL)
def invite() -> str | Response:
    agency = current_user.agency
    block = filing_block_text(agency)
    form = InviteForm()
    if form.validate_on_submit():
        try:
            colleague = registration.invite_colleague(
                current_actor(), form.email.data or "",
                link=lambda token: external_url("auth.accept_invite", token=token),
            )
        except ValidationFailed as exc:
            show_errors(form, exc, domain=agency.official_domain if agency else "")
        else:
            flash(_("An invitation is on its way to %(email)s.", email=colleague.email),
                  "success")
            return redirect(url_for("auth.invite"))
    people = registration.colleagues(current_actor(), per_page=PER_PAGE,
                                     page=page_number(request.args.get("page")))
    if people.has_previous and not people.rows:
        abort(404)
    return render_template("auth/invite.html", form=form, agency=agency, block=block,
                           people=people)
