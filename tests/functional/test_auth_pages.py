"""Signing in and out, and the error pages."""

from __future__ import annotations

import re

import pytest

from tests.conftest import login
from tests.factories import PASSWORD, make_user


def test_sign_in_and_out(client, app):
    user = make_user("legal_reviewer")
    page = client.get("/login")
    assert page.status_code == 200 and b'autocomplete="current-password"' in page.data
    response = login(client, user.email.upper())
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Legal reviewer" in home
    client.post("/logout")
    assert "Legal reviewer" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(("email", "password"), [
    ("nobody@platform.example", PASSWORD), ("{user}", "wrong password!"), ("not an email", "x")])
def test_failed_sign_in_says_the_same_thing_whatever_failed(client, email, password):
    user = make_user("legal_reviewer")
    response = login(client, email.format(user=user.email), password, follow_redirects=True)
    assert "The e-mail address or the password is not right" in response.get_data(as_text=True)


def test_deactivated_users_cannot_sign_in(client, app):
    from portal.extensions import db
    user = make_user("legal_reviewer")
    user.active = False
    db.session.commit()
    assert login(client, user.email).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_sign_in_never_redirects_off_site(client, target):
    user = make_user("legal_reviewer")
    response = login(client, user.email, query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_error_pages_are_clear_and_localised(client):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert "Not found" in missing.get_data(as_text=True)
    turkish = client.get("/no-such-page", headers={"Accept-Language": "tr"})
    assert 'lang="tr"' in turkish.get_data(as_text=True)
    arabic = client.get("/no-such-page", headers={"Accept-Language": "ar"})
    assert 'dir="rtl"' in arabic.get_data(as_text=True)


def test_language_switch_is_remembered(client):
    response = client.post("/language", data={"lang": "id", "next": "/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert 'lang="id"' in client.get("/login").get_data(as_text=True)


def test_a_get_never_changes_the_language(client):
    """GET /language changed state: a link or an image on any site could switch a
    signed-in user's language (kept on the account). Now it only shows the choice."""
    user = make_user("legal_reviewer")
    login(client, user.email)
    page = client.get("/language", query_string={"lang": "ar", "next": "/"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'method="post"' in text and 'name="lang"' in text and 'lang="en"' in text
    from portal.extensions import db

    db.session.refresh(user)
    assert user.locale == "en"


def test_the_language_switch_needs_a_csrf_token(client, app):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user("legal_reviewer")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    forged = client.post("/language", data={"lang": "ar", "next": "/"})
    assert forged.status_code == 400
    from portal.extensions import db

    db.session.refresh(user)
    assert user.locale == "en"
    footer = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', footer).group(1)
    assert client.post("/language", data={"lang": "ar", "next": "/",
                                          "csrf_token": token}).status_code == 302
    db.session.refresh(user)
    assert user.locale == "ar"


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: x=1", "/requests\nX: y", "/a\x00b",
                                    "/\x7f"])
def test_control_characters_in_next_are_a_400_not_a_500(client, target):
    user = make_user("legal_reviewer")
    assert client.get("/login", query_string={"next": target}).status_code == 400
    response = login(client, user.email, query_string={"next": target})
    assert response.status_code == 400
    assert client.post("/language", data={"lang": "tr", "next": target}).status_code == 400
