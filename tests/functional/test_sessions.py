"""Sessions end when they should, and sensitive actions ask who is there.

A session cookie copied before sign-out, a password change, a password reset, a change
of authenticator, an administrator's two-factor reset or a deactivation is dead after
it (the session generation it carries is no longer the account's). Recovery codes, API
tokens and two-factor changes need the password or a current code again unless the
session proved itself in the last ``REAUTH_MINUTES`` from the same browser.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import ApiToken, RecoveryCode, User
from portal.services import enrolment, passwords, tokens
from portal.services.actors import Actor
from portal.services.passwords import LinkPurpose
from tests.factories import PASSWORD, make_agency, make_user
from tests.functional.test_webhook_secrets import insert, scratch_app  # noqa: F401 (a fixture)

NEW_PASSWORD = "a brand new passphrase"
#: Another browser on another network (a thief replaying a copied cookie).
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.9", "HTTP_USER_AGENT": "Mozilla/5.0 (elsewhere)"}
CODES = re.compile(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>")


def login(client, user, password=PASSWORD):
    return client.post("/login", data={"email": user.email, "password": password})


def signed_in(client, **kwargs) -> bool:
    return "Sign out" in client.get("/", **kwargs).get_data(as_text=True)


def copy_of(app, client):
    """A second client holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie.value)
    return thief


def fresh(user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def with_authenticator(user) -> str:
    """Give ``user`` an authenticator (as enrolment would); return its secret."""
    secret = pyotp.random_base32()
    code = enrolment.issue_code(Actor.of(make_user("admin")), user.id).code \
        if user.is_staff else ""
    enrolment.enrol(fresh(user), secret, pyotp.TOTP(secret).now(), enrolment_code=code)
    return secret


def later(client, minutes: float = 6) -> None:
    """What the session looks like ``minutes`` after it last proved who it is."""
    with client.session_transaction() as saved:
        saved["confirmed_at"] -= minutes * 60


# -- Copied cookies die ---------------------------------------------------------------

def test_a_cookie_copied_before_sign_out_is_dead_after_it(app):
    """The attack: a cookie copied before sign-out went on working after it."""
    reviewer = make_user("legal_reviewer")
    victim = app.test_client()
    login(victim, reviewer)
    thief = copy_of(app, victim)
    assert signed_in(thief)  # the copy works while the session lives
    victim.post("/logout")
    assert not signed_in(thief)
    assert thief.get("/review/").status_code == 302
    # Signing in again starts a new session; the old copy stays dead.
    login(victim, reviewer)
    assert signed_in(victim) and not signed_in(thief)


def test_a_cookie_copied_before_a_password_change_is_dead_after_it(app):
    """The attack: a copied cookie went on working after the password was changed.
    Now every other session ends; the one that changed it goes on."""
    reviewer = make_user("legal_reviewer")
    victim = app.test_client()
    login(victim, reviewer)
    other_browser = app.test_client()
    login(other_browser, reviewer)
    thief = copy_of(app, victim)
    changed = victim.post("/account", data={
        "password-current_password": PASSWORD, "password-password": NEW_PASSWORD,
        "password-confirm": NEW_PASSWORD, "password-submit": "1"}, follow_redirects=True)
    assert "Every other session of your account has been signed out" in \
        changed.get_data(as_text=True)
    assert signed_in(victim)
    assert not signed_in(thief) and not signed_in(other_browser)


def test_a_password_reset_by_link_ends_every_session(app):
    reviewer = make_user("legal_reviewer")
    victim = app.test_client()
    login(victim, reviewer)
    thief = copy_of(app, victim)
    token = passwords.make_token(reviewer, LinkPurpose.RESET)
    passwords.set_password_from_link(token, LinkPurpose.RESET, NEW_PASSWORD)
    assert not signed_in(thief) and not signed_in(victim)


def test_deactivation_ends_the_sessions_at_once(app):
    admin, reviewer = make_user("admin"), make_user("legal_reviewer")
    session = app.test_client()
    login(session, reviewer)
    assert signed_in(session)
    administrator = app.test_client()
    login(administrator, admin)
    administrator.post(f"/admin/users/{reviewer.id}/active", data={"active": "0"})
    assert not fresh(reviewer).active
    assert not signed_in(session)
    # Reactivated, the old session stays ended; a new sign-in works.
    administrator.post(f"/admin/users/{reviewer.id}/active", data={"active": "1"})
    assert not signed_in(session)
    login(session, reviewer)
    assert signed_in(session)


def test_an_administrators_two_factor_reset_ends_every_session(app):
    admin, reviewer = make_user("admin"), make_user("legal_reviewer")
    with_authenticator(reviewer)
    session = app.test_client()
    login(session, reviewer)
    session.post("/login/two-factor", data={"code": _recovery_code(reviewer)})
    assert signed_in(session)
    administrator = app.test_client()
    login(administrator, admin)
    page = administrator.get(f"/admin/users/{reviewer.id}").get_data(as_text=True)
    assert "Reset two-factor sign-in" in page
    administrator.post(f"/admin/users/{reviewer.id}/two-factor/reset")
    user = fresh(reviewer)
    assert not user.two_factor_enabled and not signed_in(session)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == reviewer.id)) == 0
    # Staff then need a new enrolment code: the page offers to issue one.
    page = administrator.get(f"/admin/users/{reviewer.id}").get_data(as_text=True)
    assert "Issue an enrolment code" in page


def _recovery_code(user) -> str:
    """A fresh recovery code of ``user`` (made through the service, shown once)."""
    from portal.services import two_factor

    return two_factor.regenerate_codes(fresh(user))[0]


def test_turning_two_factor_off_or_moving_it_ends_other_sessions(app):
    official = make_user("agency_official", make_agency())
    official.agency.require_two_factor = False
    db.session.commit()
    secret = with_authenticator(official)
    here, there = app.test_client(), app.test_client()
    for client in (here, there):
        login(client, official)
        client.post("/login/two-factor", data={"code": _recovery_code(official)})
        assert signed_in(client)
    # A new authenticator: the old one and its recovery codes stop working.
    new_secret = re.search(r"<code>([A-Z2-7]{32})</code>",
                           here.get("/login/enrol").get_data(as_text=True)).group(1)
    moved = here.post("/login/enrol", data={"code": pyotp.TOTP(new_secret).now()})
    assert len(CODES.findall(moved.get_data(as_text=True))) == 10
    assert fresh(official).totp_secret == new_secret != secret
    assert signed_in(here) and not signed_in(there)
    login(there, official)
    there.post("/login/two-factor", data={"code": _recovery_code(official)})
    here.post("/account/two-factor/off")
    assert not fresh(official).two_factor_enabled
    assert signed_in(here) and not signed_in(there)


def test_a_busy_session_still_ends_twelve_hours_after_it_started(app):
    """Every request signs the cookie again, so the cookie's own age never ran out while
    it was used (nor for a thief who kept using a copy): the session's start limits it."""
    reviewer = make_user("legal_reviewer")
    client = app.test_client()
    login(client, reviewer)
    with client.session_transaction() as saved:
        saved["started"] -= 11 * 3600
    assert signed_in(client)
    with client.session_transaction() as saved:
        saved["started"] -= 3600 + 1
    assert not signed_in(client)


def test_a_pending_sign_in_dies_when_the_sessions_end(app):
    """Password checked, code not yet given, and meanwhile the owner changes the
    password: the half-finished sign-in cannot be completed."""
    reviewer = make_user("legal_reviewer")
    with_authenticator(reviewer)
    app.config["TWO_FACTOR_ENFORCED"] = True
    thief = app.test_client()
    assert login(thief, reviewer).headers["Location"] == "/login/two-factor"
    passwords.change_password(Actor.of(fresh(reviewer)), PASSWORD, NEW_PASSWORD)
    assert thief.post("/login/two-factor",
                      data={"code": _recovery_code(reviewer)}).status_code == 403


# -- Sensitive actions ask again ------------------------------------------------------

def test_a_stolen_session_cannot_mint_recovery_codes_without_the_password(app):
    """The attack: a copied session cookie made new recovery codes (a way back in after
    the session ends) without any password or code."""
    official = make_user("agency_official", make_agency())
    with_authenticator(official)
    victim = app.test_client()
    login(victim, official)
    victim.post("/login/two-factor", data={"code": _recovery_code(official)})
    before = _codes_of(official)
    thief = copy_of(app, victim)
    # From another browser the copy is not fresh, even right after the sign-in.
    minted = thief.post("/account/recovery-codes", environ_base=ELSEWHERE)
    assert minted.status_code == 302
    assert minted.headers["Location"].startswith("/account/confirm?next=/account")
    assert _codes_of(official) == before
    # Guessing the password there counts like a sign-in, and is slowed down the same way.
    for _ in range(6):
        thief.post("/account/confirm", data={"password": "guess"}, environ_base=ELSEWHERE)
    assert fresh(official).failed_logins == 5
    assert _codes_of(official) == before


def _codes_of(user) -> set[str]:
    return set(db.session.scalars(sa.select(RecoveryCode.code_hash)
                                  .where(RecoveryCode.user_id == user.id)))


def test_recovery_codes_after_confirming_with_the_password_or_a_code(app):
    official = make_user("agency_official", make_agency())
    secret = with_authenticator(official)
    client = app.test_client()
    login(client, official)
    client.post("/login/two-factor", data={"code": _recovery_code(official)})
    # Just signed in: no question asked.
    assert len(CODES.findall(client.post("/account/recovery-codes")
                             .get_data(as_text=True))) == 10
    later(client)
    asked = client.post("/account/recovery-codes")
    assert asked.headers["Location"] == "/account/confirm?next=/account"
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert "Confirm it is you" in page and 'name="code"' in page
    wrong = client.post("/account/confirm?next=/account", data={"password": "nope"})
    assert "That is not right." in wrong.get_data(as_text=True)
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step (enrolment used this one)
    confirmed = client.post("/account/confirm?next=/account", data={"code": code})
    assert confirmed.headers["Location"] == "/account"
    assert len(CODES.findall(client.post("/account/recovery-codes")
                             .get_data(as_text=True))) == 10
    later(client)
    client.post("/account/confirm?next=/account", data={"password": PASSWORD})
    assert len(CODES.findall(client.post("/account/recovery-codes")
                             .get_data(as_text=True))) == 10


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_the_confirmation_page_never_sends_anyone_off_site(client, target):
    reviewer = make_user("legal_reviewer")
    login(client, reviewer)
    done = client.post("/account/confirm", query_string={"next": target},
                       data={"password": PASSWORD})
    assert done.headers["Location"] == "/account"


def test_turning_two_factor_off_asks_again(app):
    official = make_user("agency_official", make_agency())
    official.agency.require_two_factor = False
    db.session.commit()
    with_authenticator(official)
    client = app.test_client()
    login(client, official)
    client.post("/login/two-factor", data={"code": _recovery_code(official)})
    later(client)
    asked = client.post("/account/two-factor/off")
    assert asked.headers["Location"].startswith("/account/confirm")
    assert fresh(official).two_factor_enabled
    client.post("/account/confirm", data={"password": PASSWORD})
    client.post("/account/two-factor/off")
    assert not fresh(official).two_factor_enabled


def test_moving_to_a_new_authenticator_asks_again(app):
    official = make_user("agency_official", make_agency())
    secret = with_authenticator(official)
    client = app.test_client()
    login(client, official)
    client.post("/login/two-factor", data={"code": _recovery_code(official)})
    later(client)
    assert client.get("/login/enrol").headers["Location"] == \
        "/account/confirm?next=/login/enrol"
    assert fresh(official).totp_secret == secret


def test_api_tokens_are_made_and_revoked_after_confirming(app):
    reviewer = make_user("legal_reviewer")
    client = app.test_client()
    login(client, reviewer)
    made = client.post("/account/tokens", data={"token-name": "case system"})
    token = re.search(r'<code class="token">(lp_[A-Za-z0-9_\-]+)</code>',
                      made.get_data(as_text=True)).group(1)
    assert tokens.authenticate(token) is not None
    account = client.get("/account").get_data(as_text=True)
    assert "case system" in account and token not in account
    row = db.session.scalars(sa.select(ApiToken)).one()
    # A stolen session, minutes later: neither a new token nor a revocation.
    later(client)
    assert client.post("/account/tokens", data={"token-name": "mine now"}
                       ).headers["Location"].startswith("/account/confirm")
    assert client.post(f"/account/tokens/{row.id}/revoke"
                       ).headers["Location"].startswith("/account/confirm")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 1
    client.post("/account/confirm", data={"password": PASSWORD})
    client.post(f"/account/tokens/{row.id}/revoke")
    db.session.expire_all()
    assert row.revoked_at is not None
    with pytest.raises(tokens.TokenRefused, match="revoked"):
        tokens.authenticate(token)
    # Another person's token is not found.
    other = tokens.create_token(make_user("platform_liaison"), "theirs")[0]
    assert client.post(f"/account/tokens/{other.id}/revoke").status_code == 404


def test_a_blank_token_name_is_refused(app):
    reviewer = make_user("legal_reviewer")
    client = app.test_client()
    login(client, reviewer)
    refused = client.post("/account/tokens", data={"token-name": "  "},
                          follow_redirects=True)
    assert "What the token is for" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


# -- The migration -----------------------------------------------------------------------

BEFORE_SESSIONS = "8183d1a86885"  # the revision before session generations


@pytest.mark.usefixtures("scratch_app")  # an empty database of its own
def test_the_migration_ends_old_sessions_keeps_accounts_and_goes_back():
    from datetime import UTC, datetime

    from flask_migrate import downgrade, upgrade

    from portal.auth import load_user

    upgrade(revision=BEFORE_SESSIONS)
    with db.engine.begin() as conn:
        insert(conn, "users", id=1, email="r@platform.example", role="legal_reviewer",
               active=True, failed_logins=3,
               locked_until=datetime(2026, 12, 1, tzinfo=UTC))
        # Rows that point at the user: a rebuilt users table would fail their keys.
        insert(conn, "recovery_codes", id=1, user_id=1, code_hash="0" * 64)
        insert(conn, "user_networks", id=1, user_id=1, network="203.0.113.0/24")
    upgrade()
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM users")).mappings().one()
        tables = set(sa.inspect(conn).get_table_names())
    assert "locked_until" not in row and "enrolment_codes" in tables
    assert (row["session_generation"], row["failed_codes"], row["failed_logins"]) == (0, 0, 3)
    # A session cookie from before the upgrade names the account without a generation.
    assert load_user("1") is None and load_user("1:0") is not None
    db.session.remove()

    downgrade(revision=BEFORE_SESSIONS)
    with db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM users")).mappings().one()
        tables = set(sa.inspect(conn).get_table_names())
    assert "session_generation" not in row and row["locked_until"] is None
    assert "enrolment_codes" not in tables and row["email"] == "r@platform.example"
    upgrade()  # and up again


def test_the_current_password_on_the_account_page_is_counted_like_a_sign_in(app):
    """A stolen session cannot guess the password through the password change form."""
    reviewer = make_user("legal_reviewer")
    client = app.test_client()
    login(client, reviewer)

    def change(current: str) -> str:
        return client.post("/account", data={
            "password-current_password": current, "password-password": NEW_PASSWORD,
            "password-confirm": NEW_PASSWORD, "password-submit": "1"}).get_data(as_text=True)

    for _ in range(5):
        assert "The current password is not right." in change("guess")
    # Now even the right one waits, and is not checked.
    # 30 s from the fifth wrong try, less the time taken since (a busy machine).
    waits = re.findall(r"Too many wrong attempts: try again in (\d+) seconds\.", change(PASSWORD))
    assert waits and 25 <= int(waits[0]) <= 30, waits
    assert fresh(reviewer).check_password(PASSWORD) and fresh(reviewer).failed_logins == 5
