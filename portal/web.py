"""Helpers every blueprint shares: who is acting, role checks, fetch-or-404, and turning
service errors into form errors and flashes."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from portal.models import LegalRequest
from portal.services import access
from portal.services.actors import Actor
from portal.services.errors import FieldError, NotFound
from workflows.roles import Role

F = TypeVar("F", bound=Callable[..., Any])


def current_actor() -> Actor:
    """The signed-in user as a service actor, with where the request came from."""
    return Actor.of(
        current_user._get_current_object(),  # the real User, not the proxy
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string or None,
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


def get_request_or_404(reference: str, *, for_update: bool = False) -> LegalRequest:
    """The request ``reference`` as the current user may see it.

    Raises:
        werkzeug.exceptions.NotFound: no such request, or another agency's (the portal
            never confirms that another agency's request exists).
    """
    try:
        return access.get_request(current_actor(), reference, for_update=for_update)
    except NotFound:
        abort(404)


def apply_errors(form: FlaskForm, errors: list[FieldError], *,
                 aliases: dict[str, str] | None = None) -> list[FieldError]:
    """Attach service field errors to the form's fields; return those with no field."""
    aliases = aliases or {}
    unplaced = []
    for error in errors:
        field = getattr(form, aliases.get(error.field, error.field), None)
        if field is not None and hasattr(field, "errors"):
            if isinstance(field.errors, tuple):
                field.errors = list(field.errors)
            field.errors.append(error.message)
        else:
            unplaced.append(error)
    return unplaced
