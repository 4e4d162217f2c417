"""API tokens expire and carry scopes: read (GET only), file (also file requests, post
messages, manage webhooks), act (also lifecycle actions and item decisions).

The attack reproduced: a token, once leaked, worked for ever and for everything its user
could do (a read-only dashboard's token could file or withdraw requests).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.api.auth import WRITE_SCOPES
from portal.extensions import db
from portal.models import ApiToken
from portal.models.columns import UTCDateTime, utcnow
from portal.services import tokens
from portal.services.errors import ValidationFailed
from tests.conftest import sign_in

pytestmark = pytest.mark.usefixtures("policies")


PROBLEM = "application/problem+json"


def bearer(user, *scopes: str, **kwargs) -> dict[str, str]:
    _, token = tokens.create_token(user, "scoped", scopes=scopes, **kwargs)
    return {"Authorization": f"Bearer {token}"}


def filing() -> dict:
    return {"category": "fraud", "priority": "standard", "issuing_authority": "BTK",
            "requested_action": "remove",
            "legal_basis": {"statute": "Law No. 5651"}, "items": [{"target": "@a"}]}


def test_every_writing_api_route_needs_a_named_scope(app: Flask):
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api_"):
            continue
        if (rule.methods or set()) - {"GET", "HEAD", "OPTIONS"} and \
                rule.endpoint not in WRITE_SCOPES:
            missing.append(rule.endpoint)
    assert missing == []


def test_a_read_token_reads_and_nothing_else(client, world):
    reference = world.file(["@a"]).reference
    headers = bearer(world.official)  # "read" only: the default
    assert client.get("/api/v1/requests", headers=headers).status_code == 200
    assert client.get(f"/api/v1/requests/{reference}", headers=headers).status_code == 200
    for path, body in [("/api/v1/requests", filing()),
                       (f"/api/v1/requests/{reference}/messages", {"body": "hi"}),
                       ("/api/v1/webhooks", {"url": "https://example.org/h"}),
                       (f"/api/v1/requests/{reference}/actions/withdraw", {"reason": "x"})]:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 403 and response.content_type == PROBLEM, path
        needed = "act" if "/actions/" in path else "file"
        assert f"do not include '{needed}'" in response.json["detail"]
        assert response.json["errors"][0]["code"] == "insufficient_scope"
        assert response.headers["WWW-Authenticate"] == (
            f'Bearer realm="api", error="insufficient_scope", scope="{needed}"')


def test_a_file_token_files_and_writes_but_does_not_act(client, world):
    headers = bearer(world.official, "file")
    filed = client.post("/api/v1/requests", json=filing(), headers=headers)
    assert filed.status_code == 201
    reference = filed.json["reference"]
    assert client.post(f"/api/v1/requests/{reference}/messages", json={"body": "hi"},
                       headers=headers).status_code == 201
    hook = client.post("/api/v1/webhooks", json={"url": "https://example.org/h"},
                       headers=headers)
    assert hook.status_code == 201
    assert client.delete(f"/api/v1/webhooks/{hook.json['id']}",
                         headers=headers).status_code == 204
    withdraw = client.post(f"/api/v1/requests/{reference}/actions/withdraw",
                           json={"reason": "filed by mistake"}, headers=headers)
    assert withdraw.status_code == 403 and "'act'" in withdraw.json["detail"]
    both = bearer(world.official, "file", "act")
    assert client.post(f"/api/v1/requests/{reference}/actions/withdraw",
                       json={"reason": "filed by mistake"}, headers=both).status_code == 200


def test_an_act_token_acts_and_decides_but_does_not_post_messages(client, world):
    reference = world.file(["@a", "@b"]).reference
    headers = bearer(world.reviewer, "act")
    assert client.post(f"/api/v1/requests/{reference}/actions/begin_review", json={},
                       headers=headers).status_code == 200
    decided = client.post(f"/api/v1/requests/{reference}/decisions",
                          json={"all_pending": True, "decision": "removed"}, headers=headers)
    assert decided.status_code == 200 and decided.json["decided"] == 2
    message = client.post(f"/api/v1/requests/{reference}/messages", json={"body": "hi"},
                          headers=headers)
    assert message.status_code == 403 and "'file'" in message.json["detail"]


def test_a_scope_never_widens_the_users_rights(client, world):
    """An official's act token cannot decide items: the role still decides."""
    reference = world.file(["@a"]).reference
    world.to_review(reference)
    response = client.post(f"/api/v1/requests/{reference}/decisions",
                           json={"all_pending": True, "decision": "removed"},
                           headers=bearer(world.official, "file", "act"))
    assert response.status_code == 403


def test_tokens_expire_after_90_days_by_default(client, world, app):
    app.config["API_TOKEN_CACHE_SECONDS"] = 0
    row, _ = tokens.create_token(world.official, "default")
    assert row.expires_at - row.created_at == timedelta(days=90)
    app.config["API_TOKEN_DAYS"] = 30
    row, _ = tokens.create_token(world.official, "shorter")
    assert row.expires_at - row.created_at == timedelta(days=30)
    row, _ = tokens.create_token(world.official, "chosen", days=7)
    assert row.expires_at - row.created_at == timedelta(days=7)


def test_an_expired_token_is_refused_with_a_clear_401(client, world, app):
    made = utcnow() - timedelta(days=91)
    row, token = tokens.create_token(world.official, "old", now=made)
    response = client.get("/api/v1/requests", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.content_type == PROBLEM
    assert "expired" in response.json["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_remembered_token_is_refused_once_it_expires(client, world, app):
    """The per-process cache never outlives the token."""
    app.config["API_TOKEN_CACHE_SECONDS"] = 3600
    row, token = tokens.create_token(world.official, "soon", days=1)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/requests", headers=headers).status_code == 200
    later = utcnow() + timedelta(days=1, seconds=1)
    with pytest.raises(tokens.TokenRefused, match="expired"):
        tokens.authenticate(token, now=later)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"scopes": ["admin"]}, "scopes"),
    ({"scopes": ["read", "write"]}, "scopes"),
    ({"days": 0}, "days"),
    ({"days": 366}, "days"),
])
def test_bad_scopes_and_lifetimes_are_refused(world, kwargs, field):
    with pytest.raises(ValidationFailed) as refused:
        tokens.create_token(world.official, "bad", **kwargs)
    assert [e.field for e in refused.value.errors] == [field]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_the_command_line_shows_scopes_and_expiry(runner, world, client):
    made = runner.invoke(args=["tokens", "create", world.official.email, "--name", "cms",
                               "--scope", "file", "--days", "30"])
    assert made.exit_code == 0, made.output
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "cms"))
    assert row.scopes == "read file"
    assert "scopes: read file" in made.output
    assert f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC" in made.output
    token = made.output.strip().splitlines()[-1]
    assert client.post("/api/v1/requests", json=filing(),
                       headers={"Authorization": f"Bearer {token}"}).status_code == 201
    listed = runner.invoke(args=["tokens", "list", world.official.email])
    assert listed.exit_code == 0
    assert "cms" in listed.output and "scopes: read file" in listed.output
    assert f"expires {row.expires_at:%Y-%m-%d}" in listed.output and token not in listed.output
    refused = runner.invoke(args=["tokens", "create", world.official.email, "--name", "x",
                                  "--days", "1000"])
    assert refused.exit_code != 0 and "days" in refused.output


def test_existing_tokens_are_migrated_with_every_scope_and_90_days(tmp_path: Path):
    """Tokens made before scopes existed keep working, as before, for 90 days after the
    migration; sent mails forget their one-time links."""
    url = "sqlite:///" + str(tmp_path / "migrate.sqlite3")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                      "ATTACHMENT_DIR": str(tmp_path)})
    with app.app_context():
        upgrade(revision="16d1f39c0e97")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO users (id, email, role, name, locale, timezone, active, "
                "created_at, failed_logins, liaison_lead) VALUES (1, 'a@b.example', "
                "'legal_reviewer', '', 'en', 'UTC', 1, '2025-01-01 00:00:00', 0, 0)"))
            conn.execute(sa.text(
                "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at) "
                "VALUES (1, 1, 'old', 'lp_x', :h, '2025-01-01 00:00:00')"), {"h": "0" * 64})
            for n, (template, status) in enumerate([("password_reset", "sent"),
                                                    ("invitation", "failed"),
                                                    ("invitation", "pending"),
                                                    ("agency_awaiting_verification", "sent")]):
                conn.execute(sa.text(
                    "INSERT INTO notifications (dedup_key, channel, template, params, "
                    "recipient, locale, status, attempts, next_attempt_at, created_at) "
                    "VALUES (:k, 'email', :t, :p, 'a@b.example', 'en', :s, 0, "
                    "'2025-01-01 00:00:00', '2025-01-01 00:00:00')"),
                    {"k": f"k{n}", "t": template, "s": status,
                     "p": '{"name": "A", "link": "https://portal/secret"}'})
        before = utcnow()
        upgrade()
        with db.engine.connect() as conn:
            scopes, expires = conn.execute(
                sa.select(sa.column("scopes"), sa.column("expires_at", UTCDateTime()))
                .select_from(sa.table("api_tokens"))).one()
            links = conn.execute(sa.text(
                "SELECT template, status, params FROM notifications ORDER BY id")).all()
        assert scopes == "read file act"
        assert timedelta(days=90) <= expires - before <= timedelta(days=90, minutes=1)
        kept = [(t, s, '"link"' in p) for t, s, p in links]
        assert kept == [("password_reset", "sent", False), ("invitation", "failed", False),
                        ("invitation", "pending", True),
                        ("agency_awaiting_verification", "sent", True)]
        downgrade(revision="16d1f39c0e97")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("api_tokens")}
        assert "scopes" not in columns and "expires_at" not in columns
        db.engine.dispose()


def test_the_account_page_makes_a_token_with_the_scopes_and_lifetime_chosen(app, world):
    client = app.test_client()
    sign_in(client, world.official)
    made = client.post("/account/tokens", data={
        "token-name": "case system", "token-scopes": ["file"], "token-days": "30"})
    page = made.get_data(as_text=True)
    token = re.search(r'<code class="token">(lp_[A-Za-z0-9_\-]+)</code>', page).group(1)
    assert "File requests, post messages and manage webhooks" in page
    row = db.session.scalars(sa.select(ApiToken)).one()
    assert row.scopes.split() == ["read", "file"] or set(row.scopes.split()) == {"read", "file"}
    assert (row.expires_at - row.created_at).days == 30
    headers = {"Authorization": f"Bearer {token}"}
    refused = client.post("/api/v1/requests/TR-2026-000001/actions/withdraw",
                          json={"reason": "x"}, headers=headers)
    assert refused.status_code == 403 and "act" in refused.json["detail"]
    too_long = client.post("/account/tokens", data={
        "token-name": "forever", "token-days": "400"}, follow_redirects=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1
    assert "Days until it expires" in too_long.get_data(as_text=True)
