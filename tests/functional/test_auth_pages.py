"""Signing in and out, and the error pages."""

from __future__ import annotations

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
    client.get("/language", query_string={"lang": "id", "next": "/login"})
    assert 'lang="id"' in client.get("/login").get_data(as_text=True)
