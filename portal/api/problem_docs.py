"""The problem+json answers the API's routes may give, as the OpenAPI document lists
them: one decorator per route for the run of them, instead of one ``alt_response`` line
per status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Blueprint

#: What each problem status means, as the OpenAPI document says it.
PROBLEMS = {
    400: "Bad request", 401: "Missing or bad token", 403: "Known but not permitted",
    404: "Not found, or another agency's", 409: "Illegal transition or concurrent change",
    413: "More items than the limit, or a body too large", 415: "Not JSON",
    422: "Validation failed", 429: "Rate limited (see Retry-After)",
}

F = TypeVar("F", bound=Callable[..., Any])


def documenter(blp: Blueprint) -> Callable[..., Callable[[F], F]]:
    """``problems(*codes)`` for the routes of ``blp``: a decorator documenting the
    problem+json answers ``codes`` as flask-smorest's ``alt_response`` does, in order.

    Raises:
        KeyError: (when decorating) a code :data:`PROBLEMS` does not describe.
    """
    def problems(*codes: int) -> Callable[[F], F]:
        def decorate(view: F) -> F:
            for code in reversed(codes):
                view = blp.alt_response(code, description=PROBLEMS[code],
                                        content_type="application/problem+json")(view)
            return view
        return decorate
    return problems
