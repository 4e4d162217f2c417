"""JSON API v1 (flask-smorest): tokens, OpenAPI 3.1, idempotent filing, signed webhooks.

The contract is documented in docs/API.md and served at /api/v1/openapi.json and
/api/v1/docs.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api as SmorestApi

from portal.api.problems import MEDIA_TYPE
from portal.api.schemas import ProblemSchema


class Api(SmorestApi):
    """flask-smorest's Api without its app-wide JSON error handler: the pages keep their
    HTML error pages, and API paths get problem+json (portal.navigation dispatches)."""

    ERROR_SCHEMA = ProblemSchema
    # Errors are documented per operation, as problem+json (see document_problems).
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        return None


#: Errors every authenticated operation can answer, whatever its own ones.
_COMMON_PROBLEMS = {401: "Missing or bad token",
                    429: "Rate limited: retry after the Retry-After header's seconds"}
_BODY_PROBLEMS = {400: "The body is not valid JSON",
                  413: "Body too large (or more items than the limit)",
                  415: "The body is not application/json",
                  422: "Validation failed: every problem listed in errors"}
#: Errors every writing operation can answer.
_WRITE_PROBLEMS = {403: "Not permitted, or the token lacks the scope this call needs"}


def document_problems(paths: dict[str, Any]) -> None:
    """Make every error response of every operation an ``application/problem+json``
    with the Problem schema, and add the errors any operation can return (401, 429;
    413, 415, 422 where a body is sent; 404 where a path names something)."""
    problem_content = {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in paths.items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            extra = dict(_COMMON_PROBLEMS)
            if method in {"post", "put", "patch"}:
                extra |= _BODY_PROBLEMS
            if method in {"post", "put", "patch", "delete"}:
                extra |= _WRITE_PROBLEMS
            if "{" in path:
                extra[404] = "Not found, or outside the caller's agency"
            if path.startswith("/api/v1/requests") and method == "get":
                extra[422] = "Invalid query parameters"
            for code, description in extra.items():
                responses.setdefault(str(code), {"description": description})
            for code, response in list(responses.items()):
                if code.isdigit() and int(code) >= 400:
                    described = (response.get("description") if "$ref" not in response
                                 else None) or _BODY_PROBLEMS.get(int(code), "Error")
                    responses[code] = {"description": described, "content": problem_content}


api = Api()


def init_app(app: Flask) -> None:
    """Configure the OpenAPI document and register the API blueprints."""
    app.config.setdefault("API_TITLE", "Government liaison portal API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Verified agencies file legal requests and follow them; "
                                "platform staff read and decide. See /api/v1/docs."},
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "An API token from `flask tokens create`, with "
                                      "its scopes (read; file; act) and expiry"}}},
        "security": [{"bearer": []}],
    })
    api.init_app(app)
    from portal import page_hooks
    from portal.api import (
        docs,
        reports,
        request_documents,  # noqa: F401  (its routes join requests.blp)
        requests,
        webhooks,
    )
    from portal.extensions import csrf, limiter

    for blueprint in (requests.blp, webhooks.blp, reports.blp):
        # Token-authenticated JSON calls carry no session cookie, so no CSRF token.
        csrf.exempt(blueprint)
        # The API counts its calls itself (auth.limit_rate): one round trip a call.
        limiter.exempt(blueprint)
        # Exempt from both, and without a session: the pages' hooks have nothing to do.
        page_hooks.skip_for(app, blueprint.name)
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    app.register_blueprint(docs.bp)
    if "Problem" not in api.spec.components.schemas:
        api.spec.components.schema("Problem", schema=ProblemSchema)
    document_problems(api.spec._paths)


__all__ = ["MEDIA_TYPE", "api", "init_app"]
