"""``/healthz`` (the process answers), ``/readyz`` (it can serve: database, schema,
workers, outbox, rate-limit storage) and ``/metrics`` (Prometheus).

Anyone may ask ``/healthz`` and ``/readyz`` (load balancers do, without credentials) and
learns one word and the status code. The detail of each check (addresses, versions,
counts) and ``/metrics`` are only for an operator: a request bearing ``OPS_TOKEN``
(``Authorization: Bearer …``) or coming from an address in ``OPS_NETWORKS`` (loopback by
default; behind a proxy, the client's forwarded address once ``PROXY_HOPS`` is set).
Anyone else asking for ``/metrics`` gets a 404.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from flask import abort, current_app, jsonify, request

from portal import metrics
from portal.ops import bp
from portal.services import readiness


def is_operator() -> bool:
    """Whether this request may read the detail: the token, or an internal address."""
    token = current_app.config.get("OPS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header[:7].lower() == "bearer " and hmac.compare_digest(
            header[7:].strip().encode(), str(token).encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False)
               for net in current_app.config["OPS_NETWORKS"])


def _plain(text: str, status: int) -> Any:
    response = current_app.response_class(text + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Any:
    """The process is up and answering (nothing else is looked at)."""
    return _plain("ok", 200)


@bp.get("/readyz")
def readyz() -> Any:
    """200 when every check passes (a degraded one too), else 503."""
    checks = readiness.readiness()
    ready = all(c.ok for c in checks)
    status = 200 if ready else 503
    if not is_operator():
        return _plain("ready" if ready else "not ready", status)
    overall = ("not ready" if not ready else
               "degraded" if any(c.status == "degraded" for c in checks) else "ready")
    response = jsonify(status=overall, checks=[
        {"name": c.name, "status": c.status, "detail": c.detail} for c in checks])
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics", endpoint="metrics")
def prometheus() -> Any:
    """Prometheus's text format, for operators only (404 to anyone else)."""
    if not is_operator():
        abort(404)
    return metrics.exposition()
