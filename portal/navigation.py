"""The role-aware navigation and the error pages every blueprint shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, render_template, request, url_for
from flask.globals import request_ctx
from flask_babel.speaklater import LazyString
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from portal.api import problems
from portal.i18n import lazy_gettext as _l
from portal.services.errors import Conflict, Forbidden, NotFound, ServiceError, ValidationFailed
from workflows.request_flow import NotPermitted, TransitionError
from workflows.roles import Role

#: What each role sees in the header, in order. Entries whose blueprint is not
#: registered are left out, so the table can name pages before they exist.
NAVIGATION: dict[Role, list[tuple[str, LazyString]]] = {
    Role.AGENCY_OFFICIAL: [
        ("requests.index", _l("Our requests")),
        ("requests.new", _l("File a request")),
        ("transparency.ours", _l("Our figures")),
    ],
    Role.LEGAL_REVIEWER: [
        ("review.queue", _l("Review queue")),
    ],
    Role.PLATFORM_LIAISON: [
        ("liaison.dashboard", _l("SLA dashboard")),
        ("liaison.compliance", _l("Compliance")),
        ("transparency.index", _l("Transparency")),
    ],
    Role.ADMIN: [
        ("admin.agencies", _l("Agencies")),
        ("admin.users", _l("Users")),
        ("admin.policies", _l("SLA policies")),
        ("admin.holidays", _l("Holidays")),
        ("publication.dsa_categories", _l("DSA categories")),
        ("transparency.index", _l("Transparency")),
    ],
}

#: Title and explanation of each error page, in plain words for a tired reader.
ERRORS: dict[int, tuple[LazyString, LazyString]] = {
    400: (_l("The request could not be understood"),
          _l("Something in what was sent was malformed. Go back, check the form and try "
             "again.")),
    401: (_l("Please sign in"), _l("You need to sign in to see this page.")),
    403: (_l("Not allowed"),
          _l("Your account does not have permission to do this. If you think it should, "
             "contact your administrator.")),
    404: (_l("Not found"),
          _l("There is nothing here, or it is not visible to your account. Check the "
             "reference or the address.")),
    405: (_l("Not allowed here"), _l("This page cannot be used that way.")),
    409: (_l("Changed in the meantime"),
          _l("Someone else changed this at the same time. Reload the page to see the "
             "current state, then try again.")),
    413: (_l("Too large"),
          _l("What was sent is larger than the portal accepts. Split it into smaller "
             "parts or send a smaller file.")),
    415: (_l("Unsupported file type"), _l("This kind of file is not accepted here.")),
    422: (_l("Could not process this"), _l("Some of the information is not valid.")),
    429: (_l("Too many attempts"),
          _l("Please wait a moment before trying again.")),
    500: (_l("Something went wrong on our side"),
          _l("The error has been logged. Nothing you sent was half-saved: try again in a "
             "moment, and if it keeps happening contact the liaison team.")),
    503: (_l("Temporarily unavailable"),
          _l("The portal is busy or being updated. Try again in a few minutes.")),
}


def navigation() -> list[tuple[str, LazyString]]:
    if not getattr(current_user, "is_authenticated", False):
        return []
    views = current_app.view_functions
    return [(e, label) for e, label in NAVIGATION.get(current_user.role, []) if e in views]


def current_entry(entries: list[tuple[str, LazyString]], endpoint: str | None) -> str | None:
    """The header entry of the page ``endpoint`` (the one marked ``aria-current``): the
    entry for that very page, else the first entry of its section (a request's page
    belongs to "Our requests"), else none."""
    if not endpoint:
        return None
    names = [name for name, _label in entries]
    if endpoint in names:
        return endpoint
    section = endpoint.split(".")[0]
    return next((name for name in names if name.split(".")[0] == section), None)


def has_endpoint(endpoint: str) -> bool:
    """Whether a page exists (templates link to optional pages only when they do)."""
    return endpoint in current_app.view_functions


def page_url_for(number: int | str, param: str = "page", args: Mapping[str, Any] | None = None
                 ) -> str:
    """This page's address at page ``number`` (for pagers): its path, ``args`` or else
    this request's query, and ``param`` set to the number (or a keyset position)."""
    query = dict(request.args.to_dict() if args is None else args)
    query.pop(param, None)
    query.update(request.view_args or {})
    query[param] = number
    return url_for(request.endpoint or "main.index", **query)


def render_error(error: HTTPException) -> Any:
    code = error.code or 500
    if request_ctx.url_adapter is None:
        # Refused before routing (a Host outside TRUSTED_HOSTS): no page can be built,
        # since every link on it would be built for the refused host.
        return current_app.response_class(f"{code} {error.name}\n", status=code,
                                           mimetype="text/plain")
    if _is_api():
        return problems.from_http_exception(error)
    title, explanation = ERRORS.get(code, (error.name, error.description or ""))
    return render_template("errors/error.html", code=code, title=title,
                           explanation=explanation), code


def _is_api() -> bool:
    return request.path.startswith("/api/")


#: Where a service refusal that a page did not handle itself ends up.
_SERVICE_CODES: dict[type[ServiceError], int] = {
    NotFound: 404, Forbidden: 403, Conflict: 409, ValidationFailed: 422,
}


def service_error(error: ServiceError) -> Any:
    """A refusal no view handled: problem+json on the API, the matching error page
    elsewhere (views normally catch these and explain on the form)."""
    if _is_api():
        return problems.from_service_error(error)
    code = next((c for t, c in _SERVICE_CODES.items() if isinstance(error, t)), 400)
    return render_error(_http_error(code))


def transition_error(error: TransitionError) -> Any:
    if _is_api():
        return problems.from_transition_error(error)
    return render_error(_http_error(403 if isinstance(error, NotPermitted) else 409))


def _http_error(code: int) -> HTTPException:
    from werkzeug.exceptions import default_exceptions

    return default_exceptions[code]()


def init_app(app: Flask) -> None:
    """Template globals and an error page for every HTTP error code."""
    app.jinja_env.globals.update(navigation=navigation, has_endpoint=has_endpoint,
                                 current_entry=current_entry,
                                 page_url_for=page_url_for)
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(ServiceError, service_error)
    app.register_error_handler(TransitionError, transition_error)
