"""Which addresses have accounts is not told by sign-in's timing: every refusal costs one
password hash with the configured method, like a wrong password does. (The registration
form's silence about taken addresses is tested in test_registration.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import werkzeug.security

from portal.extensions import db
from portal.models.columns import utcnow
from portal.services import signin
from tests.factories import PASSWORD, make_user


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The method of every password hash checked (the real check runs: this only counts)."""
    seen: list[str] = []
    real = werkzeug.security.check_password_hash

    def counted(pwhash: str, password: str) -> bool:
        seen.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    for module in ("portal.models.user", "portal.services.signin"):
        monkeypatch.setattr(f"{module}.check_password_hash", counted, raising=False)
    yield seen


def attempt(email: str, password: str = "a wrong password") -> signin.Attempt:
    return signin.check_password(email, password, ip_address="198.51.100.7")


def test_a_wrong_password_costs_one_hash(app, hashes):
    user = make_user("legal_reviewer")
    assert attempt(user.email).user is None
    assert hashes == ["pbkdf2:sha256:1000"]


@pytest.mark.parametrize("case", ["unknown", "malformed", "deactivated", "delayed"])
def test_every_other_refusal_costs_the_same_hash(app, hashes, case):
    user = make_user("legal_reviewer")
    email = user.email
    if case == "unknown":
        email = "nobody@platform.example"
    elif case == "malformed":
        email = "not an address"
    elif case == "deactivated":
        user.active = False
        db.session.commit()
    else:
        user.failed_logins, user.login_failed_at = 12, utcnow() - timedelta(seconds=1)
        db.session.commit()
    outcome = attempt(email)
    assert outcome.user is None
    assert (outcome.retry_at is not None) is (case == "delayed")
    assert hashes == [app.config["PASSWORD_HASH_METHOD"]]


def test_the_right_password_still_signs_in(app, hashes):
    user = make_user("legal_reviewer")
    assert attempt(user.email, PASSWORD).user is not None and len(hashes) == 1
