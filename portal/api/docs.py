"""The human-readable API documentation, rendered from the same OpenAPI document the
validating schemas generate (no external viewer: the portal works offline)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from portal.api.schemas import ProblemSchema
from portal.services import webhooks

bp = Blueprint("api_docs", __name__)


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    if isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return {"name": name, **spec["components"]["schemas"].get(name, {})}
    return node


@bp.get("/api/v1/docs")
def docs() -> str:
    from portal.api import api

    spec = api.spec.to_dict()
    operations = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append({
                "path": path, "method": method.upper(), "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "parameters": op.get("parameters", []),
                "body": _resolve(spec, body.get("schema")) if body else None,
                "responses": op.get("responses", {}),
            })
    return render_template("api/docs.html", spec=spec, operations=operations,
                           schemas=spec["components"]["schemas"], webhooks=webhooks)


__all__ = ["ProblemSchema", "bp"]
