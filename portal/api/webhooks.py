"""/api/v1/webhooks: an agency's callback URLs and their recent deliveries."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from portal.api import auth
from portal.api import schemas as s
from portal.api.requests import PROBLEMS
from portal.services import webhooks

blp = auth.protect(Blueprint(
    "api_webhooks", __name__,
    description="An agency's callback URLs: told of every state change and SLA alert, "
    "signed with HMAC-SHA256 (see the docs page for the headers)."))


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
    @blp.alt_response(401, description=PROBLEMS[401], content_type="application/problem+json")
    def get(self) -> dict[str, Any]:
        """The agency's webhooks with their latest delivery attempts."""
        hooks = webhooks.of_agency(auth.actor())
        recent = webhooks.recent_deliveries([h.id for h in hooks])
        return {"data": [_out(h, recent.get(h.id, [])) for h in hooks]}

    @blp.arguments(s.WebhookInSchema)
    @blp.response(201, s.WebhookOutSchema)
    @blp.alt_response(403, description=PROBLEMS[403], content_type="application/problem+json")
    @blp.alt_response(422, description=PROBLEMS[422], content_type="application/problem+json")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a callback URL (agency officials). The response carries the signing
        secret, once."""
        hook, secret = webhooks.create(auth.actor(), body["url"], body["description"])
        return _out(hook, [], secret)


@blp.route("/webhooks/<int:webhook_id>", endpoint="webhook", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, description=PROBLEMS[404], content_type="application/problem+json")
def delete(webhook_id: int) -> None:
    """Stop a webhook (its delivery log is kept)."""
    webhooks.delete(auth.actor(), webhook_id)
