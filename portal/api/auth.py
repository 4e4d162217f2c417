"""Bearer-token authentication, token scopes and rate limits for the API blueprints."""

from __future__ import annotations

from flask import Response, abort, g, request
from flask_smorest import Blueprint

from portal.api import body, rate_limit
from portal.api.problems import problem
from portal.logs import current_request_id
from portal.models import TokenScope
from portal.services import tokens
from portal.services.actors import Actor

#: The scope each API call that changes something needs (reading needs only ``read``,
#: which every token has), by endpoint. A writing endpoint missing here is refused to
#: every token, and tests/api/test_token_scopes.py fails until it is listed.
WRITE_SCOPES: dict[str, TokenScope] = {
    "api_requests.Requests": TokenScope.FILE,
    "api_requests.Messages": TokenScope.FILE,
    "api_webhooks.Webhooks": TokenScope.FILE,
    "api_webhooks.webhook": TokenScope.FILE,
    "api_requests.action": TokenScope.ACT,
    "api_requests.decisions": TokenScope.ACT,
    "api_requests.restorations": TokenScope.ACT,
    "api_requests.notices": TokenScope.ACT,
    "api_requests.dispute_answers": TokenScope.ACT,
    # Adding documents is the filer's writing, as filing is; an answer is the action
    # provide_info, which needs "act" through /actions/ as well.
    "api_requests.add_documents": TokenScope.FILE,
    "api_requests.answer": TokenScope.ACT,
}

_READING = frozenset({"GET", "HEAD", "OPTIONS"})


def required_scope(endpoint: str | None, method: str) -> TokenScope | None:
    """The scope a call needs; ``None`` for a writing endpoint no scope allows."""
    if method in _READING:
        return TokenScope.READ
    return WRITE_SCOPES.get(endpoint or "")


def authenticate() -> Response | None:
    """Run before every API view: the token's user becomes ``g.api_actor``; otherwise 401,
    or 403 when the token's scopes do not allow this call."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, description="send 'Authorization: Bearer <token>'")
    try:
        owner = tokens.authenticate(token.strip(), ip_address=request.remote_addr)
    except tokens.TokenRefused as refused:
        abort(401, description=refused.reason)
    needed = required_scope(request.endpoint, request.method)
    if needed is None or needed not in owner.scopes:
        name = needed.value if needed is not None else "(none)"
        held = " ".join(s.value for s in TokenScope if s in owner.scopes)
        detail = (f"this token's scopes ({held}) do not include '{name}', which "
                  f"{request.method} {request.path} needs: create a token with that scope"
                  if needed is not None else
                  f"no token scope allows {request.method} {request.path}")
        # RFC 6750 §3.1: insufficient_scope, naming the scope needed.
        challenge = f'Bearer realm="api", error="insufficient_scope", scope="{name}"'
        return problem(403, detail, kind="insufficient-scope",
                       errors=[{"path": "", "index": None, "code": "insufficient_scope",
                                "message": f"needs the '{name}' scope"}],
                       headers={"WWW-Authenticate": challenge})
    g.api_actor = Actor(owner.user_id, owner.role, owner.agency_id,
                        ip_address=request.remote_addr,
                        user_agent=request.user_agent.string or None,
                        request_id=current_request_id())
    return None


def rate_key() -> str:
    """Rate limits count per token (by its digest), or per address without one."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return "token:" + tokens.digest(header[7:].strip())[:32]
    return "ip:" + (request.remote_addr or "unknown")


def limit_rate() -> None:
    """Count the call against its token's (or address's) limit before anything else."""
    rate_limit.check(rate_key())


def require_json() -> None:
    """A body that is not JSON (or, where files are sent, not multipart/form-data) gets
    415, not a confusing 'missing field'."""
    if request.method not in {"POST", "PUT", "PATCH"}:
        return
    if request.endpoint in body.MULTIPART_ENDPOINTS:
        if request.mimetype != "multipart/form-data":
            abort(415, description="send the body as multipart/form-data")
    elif not request.is_json:
        abort(415, description="send the body as application/json")


def protect(blueprint: Blueprint) -> Blueprint:
    """Require a token with the call's scope (then a JSON body where one is sent) on
    every route.

    The rate limit (``rate_limit``, keyed by the token's digest) and the token are
    checked from the headers alone; only then is a body read, within its size limit
    (``body.load_json_body``), and parsed once for the schemas.
    """
    blueprint.before_request(limit_rate)
    blueprint.after_request(rate_limit.add_headers)
    blueprint.before_request(authenticate)
    blueprint.before_request(require_json)
    blueprint.before_request(body.load_json_body)
    blueprint.ARGUMENTS_PARSER = body.BodyParser()
    return blueprint


def actor() -> Actor:
    found: Actor = g.api_actor
    return found
