"""The jurisdictions a legal reviewer covers (issue 13, part 2: "new request (reviewers,
by jurisdiction they cover or all)"): set by an administrator on the user's page, with a
clear refusal of an unknown code and nothing half-saved; shown to the reviewer on their
start page. Who is then told of a new request is the notification matrix's business
(tests/functional/test_notifications.py).

Before: every reviewer was told of every new request, and no reviewer covered anything."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from portal.extensions import db
from portal.models import ReviewerJurisdiction, User
from portal.services import coverage, users
from portal.services.actors import Actor
from portal.services.errors import Problem, ValidationFailed
from tests.conftest import sign_in
from tests.factories import make_agency, make_user
from workflows.roles import Role

ADMIN = Actor(None, Role.ADMIN)


def text(response) -> str:
    return response.get_data(as_text=True)


def rows(user_id: int) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ReviewerJurisdiction.country).where(
        ReviewerJurisdiction.user_id == user_id).order_by(ReviewerJurisdiction.country)))


@pytest.fixture
def as_admin(app: Flask, client):
    sign_in(client, make_user("admin"))
    return client


@pytest.mark.parametrize(("typed", "codes"), [
    ("", []),
    ("  ", []),
    ("in, tr", ["IN", "TR"]),
    ("TR;IN  TR", ["IN", "TR"]),
    ("eu", ["EU"]),  # the EU's own orders are filed under "EU"
])
def test_codes_are_read_in_any_case_and_separator(typed, codes):
    assert coverage.parse_codes(typed) == codes


@pytest.mark.parametrize(("typed", "wrong"), [
    ("IN, XX", ["XX"]),
    ("India", ["India"]),
    ("IND, T", ["IND", "T"]),
    ("ZZ", ["ZZ"]),  # CLDR's "unknown region" is no country
])
def test_an_unknown_code_is_named(typed, wrong):
    with pytest.raises(ValidationFailed) as refused:
        coverage.parse_codes(typed)
    assert [(e.field, e.code, e.value) for e in refused.value.errors
            if isinstance(e, Problem)] == [("jurisdictions", "unknown_jurisdiction", w)
                                           for w in wrong]


def test_setting_replaces_and_empty_covers_all(app):
    reviewer = make_user("legal_reviewer")
    assert coverage.set_coverage(ADMIN, reviewer.id, ["tr, in"]) == ["IN", "TR"]
    assert rows(reviewer.id) == ["IN", "TR"]
    assert coverage.set_coverage(ADMIN, reviewer.id, ["ID"]) == ["ID"]
    assert coverage.covered(reviewer.id) == ["ID"]
    assert coverage.set_coverage(ADMIN, reviewer.id, [""]) == []
    assert rows(reviewer.id) == []


def test_a_refusal_changes_nothing(app):
    reviewer = make_user("legal_reviewer")
    coverage.set_coverage(ADMIN, reviewer.id, ["IN"])
    with pytest.raises(ValidationFailed):
        coverage.set_coverage(ADMIN, reviewer.id, ["TR, XX"])
    assert rows(reviewer.id) == ["IN"]
    liaison = make_user("platform_liaison")
    with pytest.raises(ValidationFailed) as refused:
        coverage.set_coverage(ADMIN, liaison.id, ["TR"])
    assert refused.value.errors[0].code == "coverage_not_reviewer"
    assert rows(liaison.id) == []


def test_a_reviewer_made_something_else_covers_all_when_made_a_reviewer_again(app):
    reviewer = make_user("legal_reviewer")
    coverage.set_coverage(ADMIN, reviewer.id, ["IN"])
    users.change_role(ADMIN, reviewer.id, "platform_liaison")
    assert rows(reviewer.id) == []
    users.change_role(ADMIN, reviewer.id, "legal_reviewer")
    assert coverage.covered(reviewer.id) == []


def test_the_admin_sets_coverage_on_the_users_page(as_admin):
    reviewer = make_user("legal_reviewer")
    page = text(as_admin.get(f"/admin/users/{reviewer.id}"))
    assert 'name="jurisdictions"' in page
    assert '<dd id="covered">Every jurisdiction</dd>' in page
    done = as_admin.post(f"/admin/users/{reviewer.id}/jurisdictions",
                         data={"jurisdictions": "tr, in"}, follow_redirects=True)
    page = text(done)
    assert "Covers: IN, TR." in page
    assert '<dd id="covered">India (IN), Türkiye (TR)</dd>' in page
    assert 'value="IN, TR"' in page
    assert rows(reviewer.id) == ["IN", "TR"]
    cleared = text(as_admin.post(f"/admin/users/{reviewer.id}/jurisdictions",
                                 data={"jurisdictions": ""}, follow_redirects=True))
    assert "Covers every jurisdiction." in cleared
    assert rows(reviewer.id) == []


def test_an_unknown_code_is_refused_on_the_form_in_the_admins_language(as_admin):
    reviewer = make_user("legal_reviewer")
    coverage.set_coverage(ADMIN, reviewer.id, ["ID"])
    refused = as_admin.post(f"/admin/users/{reviewer.id}/jurisdictions",
                            data={"jurisdictions": "TR, XX"})
    page = text(refused)
    assert "XX is not a country code (two letters, for example IN or TR) nor EU." in page
    assert 'value="TR, XX"' in page  # what was typed stays, to be corrected
    assert rows(reviewer.id) == ["ID"]
    as_admin.post("/language", data={"lang": "tr"})
    turkish = text(as_admin.post(f"/admin/users/{reviewer.id}/jurisdictions",
                                 data={"jurisdictions": "XX"}))
    assert "is not a country code" not in turkish and "XX" in turkish


def test_only_reviewers_get_the_coverage_form(as_admin):
    liaison = make_user("platform_liaison")
    assert 'name="jurisdictions"' not in text(as_admin.get(f"/admin/users/{liaison.id}"))
    official = make_user("agency_official", make_agency("TR"))
    assert 'name="jurisdictions"' not in text(as_admin.get(f"/admin/users/{official.id}"))


def test_the_reviewer_sees_what_they_cover_on_their_start_page(app, client):
    reviewer = make_user("legal_reviewer")
    sign_in(client, reviewer)
    assert ("You are told of new requests from every jurisdiction."
            in text(client.get("/")))
    coverage.set_coverage(ADMIN, reviewer.id, ["IN", "TR"])
    page = text(client.get("/"))
    assert ("You are told of new requests from: India (IN), Türkiye (TR). Emergencies "
            "reach you from everywhere.") in page
    reviewer = db.session.get(User, reviewer.id)
    reviewer.locale = "tr"
    db.session.commit()
    client.post("/language", data={"lang": "tr"})
    turkish = text(client.get("/"))
    assert "You are told of new requests" not in turkish and "Hindistan (IN)" in turkish


def test_other_roles_see_no_coverage(app, client):
    sign_in(client, make_user("platform_liaison"))
    assert 'id="coverage"' not in text(client.get("/"))


def test_the_command_line_sets_coverage_and_names_an_unknown_code(app, runner):
    reviewer = make_user("legal_reviewer")
    done = runner.invoke(args=["users", "jurisdictions", reviewer.email, "tr", "IN"])
    assert done.exit_code == 0, done.output
    assert done.output == f"user {reviewer.id}: {reviewer.email} covers IN, TR\n"
    refused = runner.invoke(args=["users", "jurisdictions", reviewer.email, "TR", "XX"])
    assert refused.exit_code == 1
    assert "jurisdictions: 'XX' is not a country code" in refused.output
    assert rows(reviewer.id) == ["IN", "TR"]
    cleared = runner.invoke(args=["users", "jurisdictions", reviewer.email])
    assert cleared.output.endswith("covers every jurisdiction\n")
    assert rows(reviewer.id) == []


NEW_REVIEWER = {"email": "new.reviewer@platform.example", "name": "New Reviewer",
                "role": "legal_reviewer", "agency": "", "locale": "en", "timezone": "",
                "password": "a long initial password"}


def test_a_new_reviewers_coverage_is_set_with_the_account(app, as_admin):
    app.view_functions.pop("auth.forgot_password", None)
    assert 'name="jurisdictions"' in text(as_admin.get("/admin/users/new"))
    response = as_admin.post("/admin/users/new", data=dict(NEW_REVIEWER,
                                                            jurisdictions="id tr"))
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == NEW_REVIEWER["email"]))
    assert rows(user.id) == ["ID", "TR"]


@pytest.mark.parametrize(("fields", "error"), [
    ({"jurisdictions": "TR, Turkey"},
     "Turkey is not a country code (two letters, for example IN or TR) nor EU."),
    ({"jurisdictions": "TR", "role": "platform_liaison"},
     "Only legal reviewers cover jurisdictions."),
])
def test_a_new_account_with_bad_coverage_is_not_created(app, as_admin, fields, error):
    app.view_functions.pop("auth.forgot_password", None)
    response = as_admin.post("/admin/users/new", data=dict(NEW_REVIEWER, **fields))
    assert response.status_code == 200
    assert error in text(response)
    assert db.session.scalar(sa.select(User.id).where(
        User.email == NEW_REVIEWER["email"])) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewerJurisdiction)) == 0
