"""DSA statements of reasons from the database: the demo's all validate, an item whose
decision cannot give one is listed with its field (never skipped), and the export leaves
as JSON lines, as call bodies of at most 100, and to a real HTTP server."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from portal import demo
from portal.extensions import db
from portal.models import RequestItem
from portal.services import dsa_statements, lifecycle
from portal.services.actors import Actor
from portal.services.dsa_statements import check
from portal.services.filing import file_request
from tests.conftest import sign_in
from tests.factories import NOW, filing, handles, make_agency, make_user
from tests.receivers import Receiver
from workflows import dsa
from workflows.roles import Role

STAFF = Actor(user_id=None, role=Role.ADMIN)


def german_request(world, targets, *, decision="removed", now=NOW, **terms):
    """A request from a German authority, decided and actioned."""
    agency = make_agency("DE")
    official = make_user("agency_official", agency)
    req = file_request(Actor.of(official), filing(
        targets, category="hate_speech", priority="standard", legal_statute="NetzDG",
        legal_article="§ 3",
        issuing_authority="Staatsanwaltschaft Köln", order_reference="121 Js 7/26",
        order_date=date(2026, 11, 18)), now=now)
    world.to_review(req.reference, now)
    world.decide_all(req.reference, decision, now=now, **terms)
    lifecycle.fire(world.actor("reviewer"), req.reference, "action", now=now)
    return req


def test_every_statement_from_the_demo_data_validates(app):
    demo.seed(now=datetime(2026, 11, 22, 12, tzinfo=UTC))
    export = dsa_statements.statements(STAFF, dsa.Settings())
    assert export.refused == []
    # The BKA's three removed posts reach the EEA; India's withheld accounts do not.
    assert [s["puid"] for s in export.statements] == [
        "DE-2026-000001-1", "DE-2026-000001-2", "DE-2026-000001-3"]
    for statement in export.statements:
        assert check(statement) == []
        assert statement["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
        assert statement["illegal_content_legal_ground"] == (
            "Regulation (EU) 2021/784 (TCO), Art. 3")
        assert statement["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
        assert len(statement["territorial_scope"]) == 30


def test_an_item_without_a_ground_is_listed_with_the_field_never_skipped(world):
    req = german_request(world, handles(3))
    world.actioned(handles(2, "turkish"))  # withheld in Turkey: no statement, no problem
    # A decision recorded before decisions had a ground (the first release's).
    db.session.execute(sa.update(RequestItem).where(
        RequestItem.request_id == req.id, RequestItem.position == 3).values(ground=None))
    db.session.commit()
    export = dsa_statements.statements(STAFF, dsa.Settings())
    assert [s["puid"] for s in export.statements] == [f"{req.reference}-1",
                                                      f"{req.reference}-2"]
    assert [(r.reference, r.position, r.field) for r in export.refused] == [
        (req.reference, 3, "decision_ground")]
    first = export.statements[0]
    assert first["category"] == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    assert first["category_specification"] == ["KEYWORD_HATE_SPEECH"]
    assert first["illegal_content_legal_ground"] == "NetzDG, § 3"
    assert first["content_type"] == ["CONTENT_TYPE_OTHER"]
    assert first["content_type_other"] == "Account"
    assert first["application_date"] == "2026-11-20"
    assert first["content_date"] == "2026-11-18"


def test_a_statement_the_schema_refuses_is_listed_with_the_field(world, app):
    german_request(world, handles(1))
    # A source type the database does not know, set by mistake in the configuration.
    export = dsa_statements.statements(STAFF, dsa.Settings(source_type="SOURCE_GOVERNMENT"))
    assert export.statements == []
    assert [r.field for r in export.refused] == ["source_type"]


def test_since_and_until_choose_by_the_day_effect_was_given(world):
    german_request(world, handles(1), now=NOW)
    later = german_request(world, handles(1, "later"), now=NOW + timedelta(days=3))
    since = dsa_statements.day_start(date(2026, 11, 21))
    export = dsa_statements.statements(STAFF, dsa.Settings(), since=since)
    assert [s["puid"] for s in export.statements] == [f"{later.reference}-1"]
    until = dsa_statements.day_start(date(2026, 11, 23))
    assert dsa_statements.statements(STAFF, dsa.Settings(), since=since,
                                     until=until).statements == []


def test_the_cli_writes_json_lines_and_lists_the_refused(world, runner, tmp_path):
    req = german_request(world, handles(2))
    db.session.execute(sa.update(RequestItem).where(
        RequestItem.request_id == req.id, RequestItem.position == 2).values(ground=None))
    db.session.commit()
    out = tmp_path / "sor.jsonl"
    result = runner.invoke(args=["report", "dsa-sor", "--since", "2026-11-01",
                                 "--out", str(out)])
    assert result.exit_code == 1
    assert (f"refused {req.reference} item 2 ({req.reference}-2): decision_ground: "
            "the decision records no ground") in result.output
    assert "1 statement(s), 1 problem(s)" in result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["puid"] == f"{req.reference}-1"


def test_the_cli_writes_call_bodies_of_at_most_one_hundred(world, runner):
    german_request(world, handles(150))
    result = runner.invoke(args=["report", "dsa-sor", "--since", "2026-11-01", "--batch"])
    assert result.exit_code == 0, result.output
    bodies = [json.loads(line) for line in result.stdout.splitlines()]
    assert [len(b["statements"]) for b in bodies] == [100, 50]


def test_the_cli_refuses_a_bad_date(runner):
    result = runner.invoke(args=["report", "dsa-sor", "--since", "2026-02-30"])
    assert result.exit_code == 2
    assert "'2026-02-30' is not a date: write YYYY-MM-DD" in result.output
    result = runner.invoke(args=["report", "dsa-sor", "--since", "2026-02-01",
                                 "--until", "2026-01-01"])
    assert result.exit_code == 2
    assert "must be after --since" in result.output


def test_submitting_without_configuration_fails_clearly(runner, app):
    result = runner.invoke(args=["report", "dsa-submit", "--since", "2026-11-01"])
    assert result.exit_code == 1
    assert ("submitting is not configured: set DSA_SUBMIT_URL and DSA_SUBMIT_TOKEN "
            "(see docs/OPERATIONS.md)") in result.output
    app.config.update(DSA_SUBMIT_URL="http://transparency.example/api/v1/statements",
                      DSA_SUBMIT_TOKEN="t")
    result = runner.invoke(args=["report", "dsa-submit", "--since", "2026-11-01"])
    assert result.exit_code == 1
    assert "DSA_SUBMIT_URL must be an https URL" in result.output


def test_submission_posts_bodies_of_one_hundred_to_a_real_server(world, runner, app):
    german_request(world, handles(150))
    with Receiver(status=201) as server:
        app.config.update(DSA_SUBMIT_URL=server.url(path="/api/v1/statements"),
                          DSA_SUBMIT_TOKEN="token-123")
        result = runner.invoke(args=["report", "dsa-submit", "--since", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert "submitted 150 statement(s) in 2 call(s)" in result.output
    assert [(r.method, r.path) for r in server.received] == [
        ("POST", "/api/v1/statements"), ("POST", "/api/v1/statements")]
    first = server.received[0]
    assert first.headers["Authorization"] == "Bearer token-123"
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Accept"] == "application/json"
    bodies = [json.loads(r.body) for r in server.received]
    assert [len(b["statements"]) for b in bodies] == [100, 50]
    assert all(check(s) == [] for b in bodies for s in b["statements"])


def test_a_refused_submission_says_which_call_and_status(world, runner, app):
    german_request(world, handles(1))
    with Receiver(status=422) as server:
        app.config.update(DSA_SUBMIT_URL=server.url(path="/api/v1/statements"),
                          DSA_SUBMIT_TOKEN="token-123")
        result = runner.invoke(args=["report", "dsa-submit", "--since", "2026-11-01"])
    assert result.exit_code == 1
    assert ("call 1 was refused (0 statement(s) accepted before it): HTTP 422"
            in result.output)


def test_nothing_is_submitted_while_an_item_is_refused(world, runner, app):
    req = german_request(world, handles(2))
    db.session.execute(sa.update(RequestItem).where(
        RequestItem.request_id == req.id, RequestItem.position == 1).values(
        territorial_scope=None))
    db.session.commit()
    with Receiver(status=201) as server:
        app.config.update(DSA_SUBMIT_URL=server.url(path="/api/v1/statements"),
                          DSA_SUBMIT_TOKEN="token-123")
        result = runner.invoke(args=["report", "dsa-submit", "--since", "2026-11-01"])
    assert result.exit_code == 1
    assert "territorial_scope: the decision records no territorial scope" in result.output
    assert "nothing was submitted" in result.output
    assert server.received == []


def test_administrators_see_the_category_mapping(app, client, world):
    sign_in(client, world.admin)
    page = client.get("/admin/dsa-categories").get_data(as_text=True)
    assert "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY" in page
    assert "KEYWORD_TERRORIST_CONTENT" in page
    assert "SOURCE_TYPE_OTHER_NOTIFICATION" in page
    liaison = app.test_client()
    sign_in(liaison, world.liaison)
    assert liaison.get("/admin/dsa-categories").status_code == 403
