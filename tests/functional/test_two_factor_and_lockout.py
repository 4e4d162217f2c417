"""Two-factor sign-in, account lockout and rate limits."""

from __future__ import annotations

import os
import re
import time
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from portal import create_app
from portal.extensions import db
from portal.models import Notification, RecoveryCode, UserNetwork
from portal.models.columns import utcnow
from portal.services import outbox
from tests.conftest import login
from tests.factories import make_agency, make_user


@pytest.fixture
def enforced(app):
    app.config["TWO_FACTOR_ENFORCED"] = True
    return app


def enrol(client, user) -> tuple[str, list[str]]:
    page = client.get("/login/enrol").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)
    done = client.post("/login/enrol", data={"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.get_data(as_text=True))
    return secret, codes


def signed_in(client) -> bool:
    return "Sign out" in client.get("/").get_data(as_text=True)


def test_staff_must_enrol_then_use_a_code(client, enforced):
    reviewer = make_user("legal_reviewer")
    response = login(client, reviewer)
    assert response.headers["Location"] == "/login/enrol"
    assert not signed_in(client)
    secret, codes = enrol(client, reviewer)
    assert len(codes) == 10 and signed_in(client)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 10
    client.post("/logout")
    assert login(client, reviewer).headers["Location"] == "/login/two-factor"
    wrong = client.post("/login/two-factor", data={"code": "000000"})
    assert "not right" in wrong.get_data(as_text=True) and not signed_in(client)
    # The enrolment used the current code; the next one is accepted (one step of drift is).
    code = pyotp.TOTP(secret).at(time.time() + 30)
    assert client.post("/login/two-factor", data={"code": code}).status_code == 302
    assert signed_in(client)
    client.post("/logout")
    login(client, reviewer)
    replay = client.post("/login/two-factor", data={"code": code})
    assert "already used" in replay.get_data(as_text=True)


def test_a_recovery_code_works_once(client, enforced):
    reviewer = make_user("legal_reviewer")
    login(client, reviewer)
    _, codes = enrol(client, reviewer)
    for expected in (True, False):
        client.post("/logout")
        login(client, reviewer)
        client.post("/login/two-factor", data={"code": codes[0]})
        assert signed_in(client) is expected


def test_the_second_step_cannot_be_skipped(client, enforced):
    reviewer = make_user("legal_reviewer")
    login(client, reviewer)
    assert client.get("/review/").status_code in {302, 401, 403}
    assert not signed_in(client)
    fresh = db.session.get(type(reviewer), reviewer.id)
    assert fresh.totp_enabled_at is None


def test_officials_of_an_agency_that_does_not_require_it_sign_in_with_a_password(
        client, enforced):
    agency = make_agency()
    agency.require_two_factor = False
    db.session.commit()
    official = make_user("agency_official", agency)
    assert login(client, official).headers["Location"] == "/"
    assert signed_in(client)
    other = make_user("agency_official", make_agency())
    client.post("/logout")
    assert login(client, other).headers["Location"] == "/login/enrol"


def test_repeated_failures_lock_the_account_and_tell_its_owner(client, app):
    user = make_user("platform_liaison")
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        login(client, user, "wrong password!")
    assert login(client, user).headers.get("Location") is None  # even the right one
    assert not signed_in(client)
    mail = db.session.scalar(sa.select(Notification).where(
        Notification.template == "account_locked"))
    assert mail is not None and mail.recipient == user.email
    assert "locked" in outbox.render(mail).subject
    user = db.session.get(type(user), user.id)
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert login(client, user).headers["Location"] == "/"


def test_a_sign_in_records_the_network(client):
    user = make_user("legal_reviewer")
    login(client, user, environ_base={"REMOTE_ADDR": "203.0.113.77"})
    networks = db.session.scalars(sa.select(UserNetwork.network)).all()
    assert networks == ["203.0.113.0/24"]


def test_sign_in_is_rate_limited(client, app):
    from portal.extensions import limiter

    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    limiter.reset()
    user = make_user("legal_reviewer")
    codes = [login(client, user, "x").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limiter.reset()


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"),
                    reason="needs TEST_REDIS_URL (make test starts a redis-server)")
def test_rate_limits_are_shared_through_redis(app, database_url, tmp_path):
    """Two app processes (two workers) share one budget when the storage is Redis."""
    from portal.extensions import limiter

    settings = {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url,
                "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": os.environ["TEST_REDIS_URL"],
                "LOGIN_RATE_LIMIT": "3 per minute", "ATTACHMENT_DIR": str(tmp_path)}
    user = make_user("legal_reviewer")
    email = user.email
    first, second = create_app(settings), create_app(settings)
    limiter.reset()  # clears the shared Redis keys of earlier runs
    statuses = []
    for worker in (first, second, first, second):
        with worker.test_client() as c:
            statuses.append(login(c, email, "x").status_code)
    assert statuses == [200, 200, 200, 429]
    limiter.reset()
