"""Headers, cookies and the idle timeout."""

from __future__ import annotations

import time

from tests.conftest import login
from tests.factories import make_user


def test_every_page_gets_a_strict_policy_and_the_usual_headers(client):
    for path in ("/", "/login", "/no-such-page", "/api/v1/docs"):
        headers = client.get(path).headers
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"


def test_signed_in_pages_are_not_cached(client):
    login(client, make_user("legal_reviewer"))
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite(client, app):
    app.config["SESSION_COOKIE_SECURE"] = True
    response = login(client, make_user("legal_reviewer"))
    cookie = next(v for k, v in response.headers.items()
                  if k == "Set-Cookie" and v.startswith("portal_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_sign_in_starts_a_fresh_session(client):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["locale"] = "tr"
    login(client, make_user("legal_reviewer"))
    with client.session_transaction() as session:
        assert "planted" not in session and session["locale"] == "tr"


def test_idle_sessions_are_signed_out(client, app):
    login(client, make_user("legal_reviewer"))
    assert "Legal reviewer" in client.get("/").get_data(as_text=True)
    with client.session_transaction() as session:
        session["seen"] = time.time() - 31 * 60
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Legal reviewer" not in page and "without activity" in page


def test_api_answers_are_not_cached_and_touch_no_session(client):
    from portal.services import tokens
    from tests.factories import make_agency

    official = make_user("agency_official", make_agency("TR"))
    _, token = tokens.create_token(official, "test", scopes=["file"])
    login(client, make_user("legal_reviewer"))  # a session cookie the API must ignore
    answer = client.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in answer.headers
    assert len(answer.headers["X-Request-ID"]) == 32
    assert client.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"}
                      ).headers["X-Request-ID"] != answer.headers["X-Request-ID"]
