"""Forms of the sign-in pages, the account page, registration and invitations."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.i18n import LANGUAGES
from portal.i18n import lazy_gettext as _l
from portal.services.accounts import MIN_PASSWORD_LENGTH
from portal.services.passwords import MAX_PASSWORD_LENGTH
from portal.services.registration import country_codes
from portal.wording import TOKEN_SCOPES


def _new_password(label: Any) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(),
                    Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                           message=_l("Use %(min)d to %(max)d characters."))],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH},
    )


def _repeat_password() -> PasswordField:
    return PasswordField(
        _l("New password again"),
        validators=[DataRequired(),
                    EqualTo("password", message=_l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )


def country_choices() -> list[SelectChoice]:
    """ISO country codes with their names in the reader's language, sorted by name."""
    locale = get_locale()
    names = locale.territories if locale is not None else {}
    pairs = sorted(((str(names.get(code, code)), code) for code in country_codes()),
                   key=lambda pair: pair[0].casefold())
    return [SelectChoice(code, name) for name, code in pairs]


def language_choices() -> list[SelectChoice]:
    """The portal's languages, each named in itself (and marked as such for readers)."""
    return [SelectChoice(code, name, render_kw={"lang": code})
            for code, name in LANGUAGES.items()]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "email"})


class NewPasswordForm(FlaskForm):
    """Setting a password from a mailed link (reset or registration confirmation)."""

    password = _new_password(_l("New password"))
    confirm = _repeat_password()


class AcceptInvitationForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    password = _new_password(_l("Password"))
    confirm = _repeat_password()


class ProfileForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    locale = SelectField(_l("Language"), choices=language_choices,
                         validators=[DataRequired()])
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)],
                           render_kw={"list": "time-zones", "autocomplete": "off",
                                      "spellcheck": "false"})
    submit = SubmitField(_l("Save settings"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(), Length(max=1024)],
                                     render_kw={"autocomplete": "current-password"})
    password = _new_password(_l("New password"))
    confirm = _repeat_password()
    submit = SubmitField(_l("Change password"))


class NewTokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=[DataRequired(), Length(max=100)],
                       description=_l("For example: case management system."))
    scopes = SelectMultipleField(
        _l("What it may do besides reading"),
        choices=[SelectChoice(scope, label) for scope, label in TOKEN_SCOPES.items()
                 if scope != "read"],
        validators=[Optional()], widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        description=_l("Every token may read. Give it no more than the system needs."))
    # Left empty, the token lives API_TOKEN_DAYS (the service checks the maximum).
    days = IntegerField(_l("Days until it expires"), default=90,
                        validators=[Optional(), NumberRange(min=1, max=365)])
    submit = SubmitField(_l("Create a token"))


class RegisterAgencyForm(FlaskForm):
    agency_name = StringField(_l("Name of the agency"),
                              validators=[DataRequired(), Length(max=200)],
                              render_kw={"autocomplete": "organization"})
    country = SelectField(_l("Country"), validators=[DataRequired()])
    domain = StringField(_l("Official domain"), validators=[DataRequired(), Length(max=253)],
                         render_kw={"autocomplete": "off", "spellcheck": "false",
                                    "inputmode": "url", "placeholder": "ministry.gov.example"})
    official_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)],
                                render_kw={"autocomplete": "name"})
    official_email = EmailField(_l("Your official e-mail address"),
                                validators=[DataRequired(), Length(max=254)],
                                render_kw={"autocomplete": "email"})
    evidence = MultipleFileField(_l("Proof of the agency (PDF)"),
                                 render_kw={"accept": ".pdf,application/pdf"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        blank = SelectChoice("", str(_l("Choose a country")))
        self.country.choices = [blank, *country_choices()]


class InviteForm(FlaskForm):
    email = EmailField(_l("Your colleague's e-mail address"),
                       validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "off"})
