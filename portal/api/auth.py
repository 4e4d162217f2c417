"""Bearer-token authentication and rate limits for the API blueprints."""

from __future__ import annotations

from flask import abort, g, request
from flask_smorest import Blueprint

from portal.services import tokens
from portal.services.actors import Actor


def authenticate() -> None:
    """Run before every API view: the token's user becomes ``g.api_actor``; otherwise 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, description="send 'Authorization: Bearer <token>'")
    owner = tokens.authenticate(token.strip(), ip_address=request.remote_addr)
    if owner is None:
        abort(401, description="the token is unknown, revoked, or its account deactivated")
    g.api_actor = Actor(owner.user_id, owner.role, owner.agency_id,
                        ip_address=request.remote_addr,
                        user_agent=request.user_agent.string or None)


def rate_key() -> str:
    """Rate limits count per token (by its digest), or per address without one."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return "token:" + tokens.digest(header[7:].strip())[:32]
    return "ip:" + (request.remote_addr or "unknown")


def require_json() -> None:
    """A body that is not JSON gets 415, not a confusing 'missing field'."""
    if request.method in {"POST", "PUT", "PATCH"} and not request.is_json:
        abort(415, description="send the body as application/json")


def protect(blueprint: Blueprint) -> Blueprint:
    """Require a token (then a JSON body where one is sent) on every route."""
    blueprint.before_request(authenticate)
    blueprint.before_request(require_json)
    return blueprint


def actor() -> Actor:
    found: Actor = g.api_actor
    return found

