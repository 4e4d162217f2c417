"""Helpers every blueprint shares: who is acting, role checks, fetch-or-404, and the one
way service field errors reach a form."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import Any, TypeVar

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portal import security
from portal.error_text import field_error_text
from portal.logs import current_request_id
from portal.models import LegalRequest
from portal.services import access
from portal.services.actors import Actor
from portal.services.errors import FieldError
from workflows.roles import Role

F = TypeVar("F", bound=Callable[..., Any])


def current_actor() -> Actor:
    """The signed-in user as a service actor, with where the request came from."""
    return Actor.of(
        current_user._get_current_object(),  # the real User, not the proxy
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string or None,
        request_id=current_request_id(),
    )


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Sign-in required, and one of ``roles``; anyone else gets 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def confirmation_required(back: str, *, keep: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Sign-in required, and a recent confirmation that it is the person
    (``security.recently_confirmed``); otherwise the confirmation page, which then sends
    them to the endpoint ``back`` (with the view arguments named in ``keep``): the page
    with the button, where the action is pressed again, never replayed."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not security.recently_confirmed():
                return ask_confirmation(url_for(back, **{k: kwargs[k] for k in keep}))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def ask_confirmation(next_url: str) -> Response:
    """Send the person to confirm it is them, then on to ``next_url``."""
    flash(_("Please confirm it is you: enter your password (or a code from your "
            "authenticator) again."), "info")
    return redirect(url_for("auth.confirm_identity", next=next_url))


def get_request_or_404(reference: str, *, for_update: bool = False) -> LegalRequest:
    """The request ``reference`` as the current user may see it.

    Raises:
        NotFound: no such request, or another agency's (the portal never confirms that
            another agency's request exists); the app answers it with its 404 page.
    """
    return access.get_request(current_actor(), reference, for_update=for_update)


#: How a face words one service field error in the reader's language.
Wording = Callable[[FieldError], str]


def worded(texts: Mapping[tuple[str, str], object], *,
           otherwise: Wording = field_error_text) -> Wording:
    """A wording that says ``texts[(field, code)]`` where this form has a sentence of its
    own for that refusal, and ``otherwise`` (the generic wording of the code) elsewhere."""

    def wording(error: FieldError) -> str:
        special = texts.get((error.field, error.code))
        return str(special) if special is not None else otherwise(error)

    return wording


def apply_errors(form: FlaskForm, errors: Sequence[FieldError], *,
                 wording: Wording = field_error_text, aliases: Mapping[str, str] | None = None,
                 skip_errored: bool = False) -> list[str]:
    """Put a service's field errors on the form's fields (``resolve.cutoff`` names a
    field of a sub-form), each worded by ``wording``; return the texts of those that
    belong to no field, for the page to show otherwise.

    A text is put on a field once (a hundred unknown item ids make one sentence). With
    ``skip_errored``, a field that already shows an error of the form's own (a missing
    value, a malformed number) gets no second one about the same input.
    """
    aliases = aliases or {}
    placed = [(error, _field_of(form, aliases.get(error.field, error.field)))
              for error in errors]
    errored = {id(field) for _error, field in placed if field is not None and field.errors}
    unplaced: list[str] = []
    for error, field in placed:
        text = wording(error)
        if field is None:
            if text not in unplaced:
                unplaced.append(text)
            continue
        if skip_errored and id(field) in errored:
            continue
        if isinstance(field.errors, tuple):
            field.errors = list(field.errors)
        if text not in field.errors:
            field.errors.append(text)
    return unplaced


def _field_of(form: FlaskForm, name: str) -> Any:
    """The field a service error names, or ``None``; a sub-form itself is no place for
    an error."""
    holder: Any = form
    for part in name.split("."):
        holder = getattr(getattr(holder, "form", holder), part, None)
        if holder is None:
            return None
    if not isinstance(getattr(holder, "errors", None), list | tuple):
        return None
    return holder
