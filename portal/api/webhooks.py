"""/api/v1/webhooks: an agency's callback URLs and their recent deliveries."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from portal.api import auth
from portal.api import schemas as s
from portal.api.problem_docs import documenter
from portal.services import webhooks

blp = auth.protect(Blueprint(
    "api_webhooks", __name__,
    description="An agency's callback URLs: told of every state change and SLA alert, "
    "signed with HMAC-SHA256 (see the docs page for the headers)."))

problems = documenter(blp)


def _out(hook: Any, deliveries: list[Any], secret: str | None = None) -> dict[str, Any]:
    found = {"id": hook.id, "url": hook.url, "description": hook.description,
             "created_at": hook.created_at,
             "recent_deliveries": [{"event": d.event, "attempted_at": d.attempted_at,
                                    "status_code": d.status_code, "error": d.error,
                                    "duration_ms": d.duration_ms} for d in deliveries]}
    if secret is not None:
        found["secret"] = secret
    return found


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, s.WebhookListSchema)
    @problems(401)
    def get(self) -> dict[str, Any]:
        """The agency's webhooks with their latest delivery attempts."""
        hooks = webhooks.of_agency(auth.actor())
        recent = webhooks.recent_deliveries([h.id for h in hooks])
        return {"data": [_out(h, recent.get(h.id, [])) for h in hooks]}

    @blp.arguments(s.WebhookInSchema)
    @blp.response(201, s.WebhookOutSchema)
    @problems(403, 422)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a callback URL (agency officials). The response carries the signing
        secret, once."""
        hook, secret = webhooks.create(auth.actor(), body["url"], body["description"])
        return _out(hook, [], secret)


@blp.route("/webhooks/<int:webhook_id>", endpoint="webhook", methods=["DELETE"])
@blp.response(204)
@problems(404)
def delete(webhook_id: int) -> None:
    """Stop a webhook (its delivery log is kept)."""
    webhooks.delete(auth.actor(), webhook_id)
