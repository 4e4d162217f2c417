"""Sign-in's timing must not tell which addresses have accounts: the median time of a
refused sign-in for an address with an account (wrong password) and for one without,
through the sign-in page, with production's password hashing (scrypt). Goal: within 10 %.

Run: ``python -m bench.signin`` (SQLite; BENCH_DATABASE_URL for PostgreSQL).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from flask.testing import FlaskClient

from bench.harness import bench_app, engines, machine, median_ms, timed
from portal.services import accounts

ROUNDS = 61


def _signer(client: FlaskClient) -> Callable[[str], None]:
    """A refused sign-in through the page (with its CSRF token) as ``email``."""
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert token, "no CSRF token on the sign-in form"

    def sign_in(email: str) -> None:
        page = client.post("/login", data={"email": email, "password": "a wrong one",
                                           "csrf_token": token.group(1)})
        assert "is not right" in page.get_data(as_text=True), "not refused as wrong"

    return sign_in


def main() -> None:
    print(f"Sign-in timing on {machine()}: {ROUNDS} alternating rounds, scrypt")
    for name, url in engines():
        with bench_app(url) as app:
            # Production's hash; no delays or rate limits in the way of the measurement.
            app.config.update(PASSWORD_HASH_METHOD="scrypt", SIGNIN_FREE_FAILURES=10**6,
                              LOGIN_RATE_LIMIT="1000000 per minute")
            accounts.create_user("reviewer@platform.example", role="legal_reviewer",
                                 password="the right passphrase 2026")
            sign_in = _signer(app.test_client())
            sign_in("warm-up@platform.example")
            known, unknown = [], []
            for _ in range(ROUNDS):
                known.append(timed(partial(sign_in, "reviewer@platform.example")))
                unknown.append(timed(partial(sign_in, "nobody@platform.example")))
            k, u = median_ms(known), median_ms(unknown)
            print(f"{name:<11} known address {k:7.1f} ms median; unknown {u:7.1f} ms; "
                  f"difference {abs(k - u) / max(k, u):.1%} (goal <= 10 %)")


if __name__ == "__main__":
    main()
