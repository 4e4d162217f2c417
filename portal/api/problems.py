"""RFC 9457 problem details for every API error: ``application/problem+json`` with
``type``, ``title``, ``status``, ``detail`` and an ``errors`` list."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, json
from werkzeug.exceptions import HTTPException

from portal.services.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ServiceError,
    ValidationFailed,
)
from workflows.request_flow import (
    GuardFailed,
    IllegalTransition,
    MissingInput,
    NotAssignee,
    NotPermitted,
    TransitionError,
    UnknownTrigger,
)

MEDIA_TYPE = "application/problem+json"
#: Problem types are documented at /api/v1/docs#problems.
TYPE_BASE = "/api/v1/docs#problem-"

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Not permitted",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal server error",
}


def problem(status: int, detail: str, *, kind: str | None = None,
            errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """A problem response."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + (kind or str(status)),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    response = current_app.response_class(json.dumps(body), status=status,
                                          mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_errors(errors: list[FieldError], items_field: str = "items") -> list[dict[str, Any]]:
    found = []
    for e in errors:
        if e.field == "targets" and e.index is not None:
            # Services number targets from 1 (lines); the API counts items from 0.
            found.append({"path": f"{items_field}/{e.index - 1}/target", "index": e.index - 1,
                          "code": e.code, "message": e.message})
        else:
            found.append({"path": _api_field(e.field), "index": e.index, "code": e.code,
                          "message": e.message})
    return found


#: Service field names that the API spells differently.
_FIELD_NAMES = {"legal_statute": "legal_basis/statute", "legal_article": "legal_basis/article",
                "targets": "items"}


def _api_field(name: str) -> str:
    return _FIELD_NAMES.get(name, name)


def from_service_error(error: ServiceError) -> Response:
    if isinstance(error, ValidationFailed):
        if any(e.code == "too_many" for e in error.errors):
            return problem(413, error.message, kind="too-many-items",
                           errors=_field_errors(error.errors))
        return problem(422, error.message, kind="validation",
                       errors=_field_errors(error.errors))
    if isinstance(error, NotFound):
        return problem(404, error.message, kind="not-found")
    if isinstance(error, Forbidden):
        return problem(403, error.message, kind="forbidden")
    if isinstance(error, Conflict):
        return problem(409, error.message, kind="conflict")
    return problem(400, error.message)


def from_transition_error(error: TransitionError) -> Response:
    if isinstance(error, NotAssignee):
        # Another reviewer holds the request: the type says so, apart from a role refusal.
        return problem(403, error.message, kind="not-assignee")
    if isinstance(error, NotPermitted):
        return problem(403, error.message, kind="not-permitted")
    if isinstance(error, MissingInput):
        return problem(422, error.message, kind="validation", errors=[
            {"path": error.field, "index": None, "code": "required",
             "message": error.message}])
    if isinstance(error, UnknownTrigger):
        return problem(404, error.message, kind="unknown-action")
    if isinstance(error, GuardFailed | IllegalTransition):
        return problem(409, error.message, kind=error.code.replace("_", "-"))
    return problem(409, error.message)


def from_http_exception(error: HTTPException) -> Response:
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(data.get("headers") or {})
    if code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    messages = data.get("messages") or data.get("errors")
    errors = _webargs_errors(messages) if messages else []
    detail = data.get("message") or (error.description or "")
    if code == 422 and errors:
        detail = f"{len(errors)} problem{'s' if len(errors) != 1 else ''} in the request"
    if code == 429:
        retry = error.get_headers()
        for name, value in retry:
            if name.lower() == "retry-after":
                headers["Retry-After"] = value
        headers.setdefault("Retry-After", "60")
    return problem(code, detail, kind=None if code != 422 else "validation", errors=errors,
                   headers=headers)


def _webargs_errors(messages: Any) -> list[dict[str, Any]]:
    """Flatten webargs/marshmallow messages ({location: {field: [...]}} with nested item
    indexes) into path entries."""
    flat: list[dict[str, Any]] = []

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, str(key)])
        elif isinstance(node, list) and node and all(isinstance(m, str) for m in node):
            index = next((int(p) for p in path if p.isdigit()), None)
            for message in node:
                flat.append({"path": "/".join(path), "index": index, "code": "invalid",
                             "message": message})
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, [*path, str(i)])
        else:
            flat.append({"path": "/".join(path), "index": None, "code": "invalid",
                         "message": str(node)})

    if isinstance(messages, dict):
        # webargs nests by location first ("json", "query"): keep the field paths only.
        for location, fields in messages.items():
            walk(fields, [] if location in {"json", "query", "headers", "form"} else [location])
    else:
        walk(messages, [])
    return flat
