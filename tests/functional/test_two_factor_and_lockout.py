"""Two-factor sign-in, enrolment codes, sign-in delays and rate limits."""

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
from portal.models import EnrolmentCode, Notification, RecoveryCode, User, UserNetwork
from portal.models.columns import utcnow
from portal.services import enrolment, outbox, signin
from portal.services.actors import SYSTEM, Actor
from portal.services.errors import ValidationFailed
from tests.conftest import dispose, login
from tests.factories import PASSWORD, make_agency, make_user


@pytest.fixture
def enforced(app):
    app.config["TWO_FACTOR_ENFORCED"] = True
    return app


def enrolment_code(user) -> str:
    """An administrator's one-time code for a staff member (here: the command line's)."""
    return enrolment.issue_code(SYSTEM, user.id).code


def enrol(client, user, code: str | None = None) -> tuple[str, list[str]]:
    """Set up the authenticator on the enrolment page; staff give an enrolment code."""
    page = client.get("/login/enrol").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)
    data = {"code": pyotp.TOTP(secret).now()}
    if user.is_staff:
        data["enrolment_code"] = code or enrolment_code(user)
    done = client.post("/login/enrol", data=data)
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.get_data(as_text=True))
    return secret, codes


def signed_in(client) -> bool:
    return "Sign out" in client.get("/").get_data(as_text=True)


def fresh(user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def age_failures(user, by: timedelta) -> None:
    """Move both failure times back: what the account looks like ``by`` later."""
    user = fresh(user)
    for name in ("login_failed_at", "code_failed_at"):
        if getattr(user, name) is not None:
            setattr(user, name, getattr(user, name) - by)
    db.session.commit()


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
    # Officials enrol with their password alone: no enrolment code is asked for.
    assert "enrolment_code" not in client.get("/login/enrol").get_data(as_text=True)
    _, codes = enrol(client, other)
    assert len(codes) == 10 and signed_in(client)


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
    try:
        for worker in (first, second, first, second):
            with worker.test_client() as c:
                statuses.append(login(c, email, "x").status_code)
    finally:
        dispose(first)
        dispose(second)
    assert statuses == [200, 200, 200, 429]
    limiter.reset()


# -- Finding 1: a right password never clears the count of wrong codes -----------------

def test_a_right_password_never_clears_the_count_of_wrong_codes(client, enforced):
    """The attack: the password, 4 wrong codes, the password again, 4 more... (16 wrong
    codes) never locked anything, because a right password reset the one count both
    shared. Now wrong codes have a count of their own that only a right code clears:
    from the 5th on each try waits, and signing in with the password again gains
    nothing."""
    reviewer = make_user("legal_reviewer")
    login(client, reviewer)
    secret, _ = enrol(client, reviewer)
    client.post("/logout")
    checked = []
    for _round in range(4):
        assert login(client, reviewer).headers["Location"] == "/login/two-factor"
        for _ in range(4):
            page = client.post("/login/two-factor", data={"code": "000000"})
            checked.append("not right" in page.get_data(as_text=True))
    # Five wrong codes were checked; the other eleven came too soon and were not.
    assert checked == [True] * 5 + [False] * 11
    user = fresh(reviewer)
    assert (user.failed_codes, user.failed_logins) == (5, 0)
    # Even the right code waits now.
    right = pyotp.TOTP(secret).at(time.time() + 30)
    login(client, reviewer)
    page = client.post("/login/two-factor", data={"code": right}).get_data(as_text=True)
    # 30 s from the fifth wrong try, less the time taken since (a busy machine).
    waits = re.findall(r"Too many wrong attempts: try again in (\d+) seconds\.", page)
    assert waits and 25 <= int(waits[0]) <= 30, waits
    assert not signed_in(client)
    # The owner is told that someone has the password.
    [note] = db.session.scalars(sa.select(Notification).where(
        Notification.template == "sign_in_failures")).all()
    assert note.params["factor"] == "code" and note.recipient == reviewer.email
    assert outbox.render(note).subject == "Wrong codes were entered after your password"
    # Once the wait is over, the right code signs in and clears the count.
    age_failures(reviewer, timedelta(seconds=30))
    assert client.post("/login/two-factor", data={"code": right}).status_code == 302
    assert signed_in(client) and fresh(reviewer).failed_codes == 0


def test_wrong_codes_wait_longer_and_longer(app):
    official = make_user("agency_official", make_agency())
    secret = pyotp.random_base32()
    enrolment.enrol(official, secret, pyotp.TOTP(secret).now())
    t0 = utcnow() - timedelta(hours=2)
    waits, now = [], t0
    for _ in range(10):
        check = signin.check_code(fresh(official), "123456", ip_address=None, now=now)
        assert check.checked and not check.ok
        waits.append(int((check.retry_at - now).total_seconds()) if check.retry_at else 0)
        # An attempt before that time is refused unchecked, and not counted.
        if check.retry_at is not None:
            early = signin.check_code(fresh(official), "123456", ip_address=None,
                                      now=check.retry_at - timedelta(seconds=1))
            assert not early.checked and early.retry_at == check.retry_at
        now = check.retry_at or now + timedelta(seconds=1)
    assert waits == [0, 0, 0, 0, 30, 60, 120, 240, 300, 300]
    assert fresh(official).failed_codes == 10


# -- Finding 2: no one can lock a named account ---------------------------------------

@pytest.mark.parametrize("role", ["legal_reviewer", "platform_liaison", "admin",
                                  "agency_official"])
def test_a_stranger_cannot_lock_anyone_out(app, role):
    """The attack: five wrong passwords from anyone locked any named account (reviewers
    included) for 15 minutes, again and again. Now five make the next attempt wait
    30 seconds; staff and officials alike."""
    user = make_user(role, make_agency() if role == "agency_official" else None)
    t0 = utcnow() - timedelta(hours=2)
    for i in range(5):
        attempt = signin.check_password(user.email, f"guess {i}", ip_address="198.51.100.9",
                                        now=t0 + timedelta(seconds=i))
        assert attempt.user is None and attempt.retry_at is None
    early = signin.check_password(user.email, PASSWORD, ip_address="203.0.113.5",
                                  now=t0 + timedelta(seconds=20))
    assert early.user is None and early.retry_at == t0 + timedelta(seconds=4 + 30)
    # Before the fix the account stayed locked until t0 + 15 minutes.
    owner = signin.check_password(user.email, PASSWORD, ip_address="203.0.113.5",
                                  now=t0 + timedelta(seconds=34))
    assert owner.user is not None
    assert fresh(user).failed_logins == 0


def test_an_hour_of_guessing_delays_the_owner_by_five_minutes_at_most(app):
    """A stranger who tries the very moment each attempt is allowed, for an hour: 19
    passwords are checked (5 free, 4 while the wait climbs to the cap, then one per 5
    minutes: 12 an hour from then on, where the lock allowed 20), every other attempt is
    refused unchecked, and the owner who comes after them waits at most the cap."""
    reviewer = make_user("legal_reviewer")
    t0 = utcnow() - timedelta(hours=2)
    now, checked, refused = t0, 0, 0
    while now < t0 + timedelta(hours=1):
        attempt = signin.check_password(reviewer.email, "guess", ip_address="198.51.100.9",
                                        now=now)
        if attempt.retry_at is not None:
            refused += 1
            now = attempt.retry_at
        else:
            checked += 1
            last = now
    assert checked == 19 and refused == 15  # one too soon before each wait ended
    assert fresh(reviewer).failed_logins == 19
    cap = timedelta(seconds=app.config["SIGNIN_MAX_DELAY_SECONDS"])
    assert signin.check_password(reviewer.email, PASSWORD, ip_address=None,
                                 now=last + cap).user is not None


def test_five_wrong_passwords_from_a_stranger_delay_the_reviewer_by_seconds(client, app):
    """The same attack through the sign-in page."""
    reviewer = make_user("legal_reviewer")
    stranger = app.test_client()
    for _ in range(5):
        login(stranger, reviewer, "wrong password!",
              environ_base={"REMOTE_ADDR": "198.51.100.9"})
    # Within the first 30 seconds the reviewer gets the one message every failure gets.
    refused = login(client, reviewer, follow_redirects=True).get_data(as_text=True)
    assert "The e-mail address or the password is not right" in refused
    age_failures(reviewer, timedelta(seconds=30))
    assert login(client, reviewer).headers["Location"] == "/"
    assert signed_in(client)


def test_an_attempt_too_soon_is_neither_checked_nor_counted(app):
    reviewer = make_user("legal_reviewer")
    t0 = utcnow() - timedelta(hours=2)
    for i in range(7):
        signin.check_password(reviewer.email, "guess", ip_address=None,
                              now=t0 + timedelta(seconds=i))
    assert fresh(reviewer).failed_logins == 5  # the 6th and 7th came too soon
    assert fresh(reviewer).login_failed_at == t0 + timedelta(seconds=4)


def test_failures_are_forgotten_a_day_after_the_last(app):
    reviewer = make_user("legal_reviewer")
    t0 = utcnow() - timedelta(days=3)
    for i in range(4):
        signin.check_password(reviewer.email, "guess", ip_address=None,
                              now=t0 + timedelta(seconds=i))
    later = t0 + timedelta(days=1, seconds=3)
    signin.check_password(reviewer.email, "guess", ip_address=None, now=later)
    user = fresh(reviewer)
    assert user.failed_logins == 1 and user.login_failed_at == later


def _subject(message) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"])))


def _fail_when_allowed(check, times: int, start):
    """Fail ``times`` checked attempts, each the moment it is allowed; the last time."""
    now, done = start, 0
    while done < times:
        result = check(now)
        wait = result.retry_at if not getattr(result, "checked", result.retry_at is None) \
            else None
        if wait is not None:
            now = wait
            continue
        done += 1
        last = now
        now += timedelta(seconds=1)
    return last


def test_the_owner_is_told_once_an_hour_in_their_language(app, smtp):
    from flask_babel import force_locale
    from flask_babel import gettext as _

    reviewer = make_user("legal_reviewer")
    reviewer.locale = "tr"
    db.session.commit()
    t0 = utcnow() - timedelta(hours=3)

    def wrong_password(now):
        return signin.check_password(reviewer.email, "guess", ip_address="198.51.100.9",
                                     now=now)

    last = _fail_when_allowed(wrong_password, 4, t0)
    assert smtp.messages == []
    last = _fail_when_allowed(wrong_password, 1, last + timedelta(seconds=1))
    [message] = smtp.messages
    with force_locale("tr"):
        expected = _("Repeated failed sign-ins to your account")
    assert _subject(message) == expected != "Repeated failed sign-ins to your account"
    body = message.get_payload(decode=True).decode()
    assert "198.51.100.9" in body and "5" in body
    # Five more failures within the hour: no second mail.
    last = _fail_when_allowed(wrong_password, 5, last + timedelta(seconds=1))
    assert len(smtp.messages) == 1
    # An hour after the first mail, the next failure mails again.
    _fail_when_allowed(wrong_password, 1, t0 + timedelta(minutes=65))
    assert len(smtp.messages) == 2
    # Wrong codes are another matter (someone has the password): mailed at once.
    secret = pyotp.random_base32()
    reviewer = fresh(reviewer)
    reviewer.totp_secret, reviewer.totp_enabled_at = secret, t0
    db.session.commit()

    def wrong_code(now):
        return signin.check_code(fresh(reviewer), "000000", ip_address="198.51.100.9",
                                 now=now)

    _fail_when_allowed(wrong_code, 5, t0 + timedelta(minutes=70))
    assert len(smtp.messages) == 3
    with force_locale("tr"):
        expected = _("Wrong codes were entered after your password")
    assert _subject(smtp.messages[-1]) == expected


# -- Enrolment codes: a staff member's first second factor ------------------------------

def _enrol_page_secret(client) -> str:
    page = client.get("/login/enrol").get_data(as_text=True)
    return re.search(r"<code>([A-Z2-7]{32})</code>", page).group(1)


def test_a_staff_member_cannot_enrol_a_first_authenticator_with_the_password_alone(
        client, enforced):
    """The attack: whoever had a reviewer's password before the reviewer enrolled could
    enrol their own authenticator, and the account was theirs. Now a staff member's first
    second factor also needs a one-time code from an administrator."""
    reviewer = make_user("legal_reviewer")
    assert login(client, reviewer).headers["Location"] == "/login/enrol"
    secret = _enrol_page_secret(client)
    now_code = pyotp.TOTP(secret).now()
    refused = client.post("/login/enrol", data={"code": now_code}).get_data(as_text=True)
    assert "need an enrolment code from an administrator" in refused
    assert not signed_in(client) and not fresh(reviewer).two_factor_enabled
    # A guessed enrolment code is a wrong code.
    client.post("/login/enrol", data={"code": now_code, "enrolment_code": "AAAA-BBBB-CCCC"})
    assert fresh(reviewer).failed_codes == 1 and not fresh(reviewer).two_factor_enabled
    # The administrator's code works (typed in lower case, without the dashes).
    code = enrolment_code(reviewer)
    done = client.post("/login/enrol", data={"code": now_code,
                                             "enrolment_code": code.lower().replace("-", " ")})
    assert "Your recovery codes" in done.get_data(as_text=True) and signed_in(client)
    user = fresh(reviewer)
    assert user.two_factor_enabled and user.failed_codes == 0
    [row] = db.session.scalars(sa.select(EnrolmentCode)).all()
    assert row.used_at is not None and len(row.code_hash) == 64
    assert code.replace("-", "") not in row.code_hash


def test_an_enrolment_code_works_once_only_for_its_user_and_not_after_it_expires(
        app, enforced):
    reviewer, other = make_user("legal_reviewer"), make_user("platform_liaison")
    first = enrolment_code(reviewer)
    replaced_by = enrolment_code(reviewer)  # a new code replaces the first
    foreign = enrolment_code(other)

    def try_code(code: str) -> bool:
        client = app.test_client()
        login(client, reviewer)
        secret = _enrol_page_secret(client)
        client.post("/login/enrol", data={"code": pyotp.TOTP(secret).now(),
                                          "enrolment_code": code})
        return fresh(reviewer).two_factor_enabled

    assert not try_code(first)
    assert not try_code(foreign)
    row = db.session.scalars(sa.select(EnrolmentCode).where(
        EnrolmentCode.user_id == reviewer.id, EnrolmentCode.used_at.is_(None))).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert not try_code(replaced_by)
    fresh_code = enrolment_code(reviewer)
    age_failures(reviewer, timedelta(minutes=5))
    assert try_code(fresh_code)
    enrolment.reset(Actor.of(make_user("admin")), reviewer.id)
    age_failures(reviewer, timedelta(minutes=5))
    assert not try_code(fresh_code)  # used already


@pytest.mark.parametrize(("case", "code"), [
    ("official", "official"), ("deactivated", "inactive"), ("self", "self"),
    ("enrolled", "enabled")])
def test_who_gets_no_enrolment_code(app, case, code):
    admin = make_user("admin")
    target = {"official": lambda: make_user("agency_official", make_agency()),
              "self": lambda: admin}.get(case, lambda: make_user("legal_reviewer"))()
    if case == "deactivated":
        target.active = False
    if case == "enrolled":
        target.totp_secret, target.totp_enabled_at = pyotp.random_base32(), utcnow()
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        enrolment.issue_code(Actor.of(admin), target.id)
    assert [(e.field, e.code) for e in refused.value.errors] == [("enrolment_code", code)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EnrolmentCode)) == 0


def test_an_administrator_issues_an_enrolment_code_shown_once(client, app, enforced):
    admin, reviewer = make_user("admin"), make_user("legal_reviewer")
    # The administrator has no second factor yet: one issued on the command line.
    admin_code = app.test_cli_runner().invoke(args=["users", "enrolment-code", admin.email])
    assert admin_code.exit_code == 0, admin_code.output
    login(client, admin)
    enrol(client, admin, re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}",
                                   admin_code.output).group(0))
    assert signed_in(client)
    page = client.get(f"/admin/users/{reviewer.id}").get_data(as_text=True)
    assert "Issue an enrolment code" in page
    shown = client.post(f"/admin/users/{reviewer.id}/enrolment-code")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    code = re.search(r'<code class="token">([A-Z2-9-]{14})</code>',
                     shown.get_data(as_text=True)).group(1)
    row = db.session.scalars(sa.select(EnrolmentCode).where(
        EnrolmentCode.user_id == reviewer.id)).one()
    assert row.issued_by_id == admin.id and row.used_at is None
    assert row.expires_at - row.issued_at == timedelta(hours=24)
    # The user's page says until when it works, never the code.
    page = client.get(f"/admin/users/{reviewer.id}").get_data(as_text=True)
    assert code not in page and "works until" in page
    # Minutes later the administrator confirms it is them before issuing another.
    with client.session_transaction() as saved:
        saved["confirmed_at"] -= 6 * 60
    again = client.post(f"/admin/users/{reviewer.id}/enrolment-code")
    assert again.headers["Location"].startswith("/account/confirm?next=/admin/users/")
    # The reviewer enrols with it.
    reviewer_client = app.test_client()
    login(reviewer_client, reviewer)
    enrol(reviewer_client, reviewer, code)
    assert signed_in(reviewer_client) and fresh(reviewer).two_factor_enabled


def test_parallel_guesses_cannot_all_pass_the_delay_check(app):
    """Twenty wrong passwords sent at the same moment: each attempt reads and writes the
    count under the account's lock, so five are checked and the others wait."""
    import threading

    reviewer = make_user("legal_reviewer")
    email = reviewer.email
    db.session.remove()
    now = utcnow() - timedelta(hours=1)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    guard = threading.Lock()

    def guess(n: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                attempt = signin.check_password(email, f"guess {n}", ip_address=None,
                                                now=now)
                outcome = "waited" if attempt.retry_at is not None else "checked"
            except Exception as exc:  # noqa: BLE001 - any error is a finding here
                outcome = f"error {exc!r}"
            finally:
                db.session.remove()
        with guard:
            outcomes.append(outcome)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["checked"] * 5 + ["waited"] * 15, outcomes
    assert fresh(reviewer).failed_logins == 5
