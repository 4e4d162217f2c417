"""Links to the portal's own pages, as they appear in mails and other messages.

Built on ``BASE_URL`` alone, never on the Host header of the request being served: a
client chooses that header, and a reset link mailed to ``attacker.example`` would hand
the token to whoever runs it.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from portal.config import parse_base_url


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute address of ``endpoint`` under ``BASE_URL`` (inside or outside a
    request: the worker's mails use it too).

    Raises:
        RuntimeError: no ``BASE_URL`` is configured (production refuses to start without
            one; development and testing have defaults).
        werkzeug.routing.BuildError: no such endpoint, or values it cannot take.
    """
    configured = current_app.config.get("BASE_URL")
    if not configured:
        raise RuntimeError("BASE_URL is not configured: set PORTAL_BASE_URL")
    base = parse_base_url(configured)
    adapter = current_app.url_map.bind(base.netloc, script_name=base.prefix or "/",
                                       url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
