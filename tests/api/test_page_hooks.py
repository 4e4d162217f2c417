"""API calls skip the hooks only pages need (portal/page_hooks.py); pages, the API's
documentation and its OpenAPI document still run them, in their order."""

from __future__ import annotations

import pytest

from portal.services import tokens


@pytest.fixture
def page_hook_calls(app, monkeypatch):
    """The paths for which the page-only before, after and teardown hooks ran."""
    hooks = app.extensions["page_hooks"]
    calls: list[tuple[str, str]] = []

    from flask import request

    def before():
        calls.append(("before", request.path))

    def after(response):
        calls.append(("after", request.path))
        return response

    def teardown(error):
        calls.append(("teardown", request.path))

    monkeypatch.setattr(hooks, "before", [*hooks.before, before])
    monkeypatch.setattr(hooks, "after", [after, *hooks.after])
    monkeypatch.setattr(hooks, "teardown", [teardown, *hooks.teardown])
    return calls


def test_api_calls_skip_the_page_hooks(client, world, page_hook_calls):
    _, token = tokens.create_token(world.official, "hooks")
    answered = client.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"})
    refused = client.get("/api/v1/requests")  # no token: the API's own 401
    assert (answered.status_code, refused.status_code) == (200, 401)
    assert page_hook_calls == []
    # What every answer gets is not a page hook: the API's answers still carry it.
    for response in (answered, refused):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Request-ID"]
        assert response.headers["X-RateLimit-Limit"]


@pytest.mark.parametrize("path", ["/", "/api/v1/docs", "/api/v1/openapi.json"])
def test_pages_and_the_api_documents_run_them(client, page_hook_calls, path):
    assert client.get(path).status_code == 200
    assert page_hook_calls == [("before", path), ("after", path), ("teardown", path)]


def test_the_registered_page_hooks_are_the_page_only_ones(app):
    """Which hooks are page-only, by name, in the order they run: a hook added to this
    list must be one that API calls can skip (it returns early for /api/, or its
    extension exempts the API's blueprints)."""
    hooks = app.extensions["page_hooks"]
    names = [getattr(hook, "__qualname__", getattr(getattr(hook, "func", None),
                                                   "__qualname__", repr(hook)))
             for hook in [*hooks.before, *hooks.after, *hooks.teardown]]
    assert names == [
        "init_app.<locals>.remember_locale", "enforce_idle_timeout", "refuse_nul",
        "CSRFProtect.init_app.<locals>.csrf_protect", "Limiter._check_request_limit",
        "LoginManager._update_remember_cookie", "Limiter.__inject_headers",
        "Limiter.__release_context",
    ]
    assert hooks.skipped == {"api_requests", "api_webhooks", "api_reports"}
