"""Legal regimes as dated data through the faces (issue 11, parts 1-4): the API's clock
record, the filing form's refusal of a foreign jurisdiction, the staff's earlier receipt
and force majeure, the administrator's policy and agency forms, `flask sla policies`, and
the migration that loads the defaults."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Agency, Event, LegalRequest, SlaClock, SlaPolicy
from portal.models.columns import utcnow
from portal.services import earlier_receipt, force_majeure, lifecycle, tokens
from portal.services.actors import Actor
from portal.services.errors import ValidationFailed
from portal.services.filing import file_request
from tests.conftest import TEST_DATABASE_URL, sign_in
from tests.factories import filing, make_agency, make_user
from tests.functional.test_webhook_secrets import scratch_app  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("policies")

ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")


def text(response) -> str:
    return re.sub(r"</?bdi>", "", html.unescape(response.get_data(as_text=True)))


def clock(req: LegalRequest, target: str = "resolve") -> SlaClock:
    db.session.expire_all()
    return db.session.scalar(sa.select(SlaClock).where(
        SlaClock.request_id == req.id, SlaClock.target == target))


def bearer(user) -> dict[str, str]:
    _, token = tokens.create_token(user, "test", scopes=["file", "act"])
    return {"Authorization": f"Bearer {token}"}


def api_body(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "category": "terrorism", "priority": "emergency", "requested_action": "remove",
        "legal_basis": {"statute": "Regulation (EU) 2021/784", "article": "Art. 3"},
        "issuing_authority": "Bundeskriminalamt", "order_reference": "TCO-2026-1",
        "items": [{"target": "@propaganda"}],
    }
    data.update(overrides)
    return data


# -- the API: the clock's record -------------------------------------------------------------

def test_the_api_names_the_governing_policy_the_others_and_the_pause_rule(client):
    agency = make_agency("DE")
    official = make_user("agency_official", agency)
    response = client.post("/api/v1/requests", json=api_body(), headers=bearer(official))
    assert response.status_code == 201, response.json
    detail = client.get(response.json["links"]["self"], headers=bearer(official))
    assert detail.status_code == 200
    resolve = next(c for c in detail.json["sla"] if c["target"] == "resolve")
    # An emergency ties with the TCO hour: the law governs, with its restart.
    assert (resolve["policy"], resolve["basis"], resolve["pause_rule"]) == (
        "eu-tco-terrorism", "law", "restart")
    assert resolve["force_majeure"] is True
    assert "2021/784" in resolve["source"] and resolve["instrument"].startswith(
        "Regulation (EU) 2021/784")
    assert resolve["article"] and resolve["source_url"].startswith("https://eur-lex")
    others = {o["policy"]: o for o in resolve["other_policies"]}
    assert set(others) == {"emergency", "default"}
    assert others["emergency"]["basis"] == "platform"
    assert others["emergency"]["pause_rule"] == "extend" and others["emergency"]["due_at"]
    acknowledge = next(c for c in detail.json["sla"] if c["target"] == "acknowledge")
    assert acknowledge["policy"] == "emergency" and acknowledge["clamped"] is False


def test_the_api_refuses_an_eu_order_from_a_country_outside_the_eu(client):
    official = make_user("agency_official", make_agency("TR"))
    response = client.post("/api/v1/requests", json=api_body(jurisdiction="EU"),
                           headers=bearer(official))
    assert response.status_code == 422
    assert [(e["path"], e["code"]) for e in response.json["errors"]] == [
        ("jurisdiction", "foreign_jurisdiction")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)) == 0


def test_the_api_refuses_a_request_no_policy_covers(client):
    official = make_user("agency_official", make_agency("DE"))
    db.session.execute(sa.update(SlaPolicy).values(active=False))
    db.session.commit()
    response = client.post("/api/v1/requests", json=api_body(), headers=bearer(official))
    assert response.status_code == 422
    assert [(e["path"], e["code"]) for e in response.json["errors"]] == [
        ("category", "no_sla_policy")]


# -- the filing form ---------------------------------------------------------------------------

def filing_form(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "legal_statute": "Regulation (EU) 2021/784", "legal_article": "Art. 3",
        "issuing_authority": "Bundeskriminalamt", "order_reference": "TCO-2026-1",
        "order_date": "2026-11-01", "category": "terrorism", "priority": "urgent",
        "jurisdiction": "DE", "description": "", "targets": "@propaganda",
        "action": "file", "previewed": "0" * 64,
    }
    values.update(changes)
    return values


def test_the_form_offers_the_eu_to_a_member_states_authority_only(client):
    german = make_user("agency_official", make_agency("DE"))
    sign_in(client, german)
    page = text(client.get("/requests/new"))
    select = page.split('name="jurisdiction"')[1].split("</select>")[0]
    assert re.findall(r'<option[^>]* value="([A-Z]{2})"', select) == ["DE", "EU"]
    refused = client.post("/requests/new", data=filing_form(jurisdiction="TR"),
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    body = text(refused)
    assert ("Your agency can file only under the law of its own country (DE) or under EU "
            "law (EU).") in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)) == 0


def test_the_form_refuses_a_turkish_agency_an_eu_clock(client):
    turkish = make_user("agency_official", make_agency("TR"))
    sign_in(client, turkish)
    refused = client.post("/requests/new", data=filing_form(jurisdiction="EU"),
                          content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "Your agency can file only under the law of its own country (TR)." in text(refused)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaClock)) == 0


def test_the_agency_is_told_its_deadline_runs_on_while_it_answers(client, world):
    req = world.file(["@a"])  # Law 5651 Arts. 8, 8/A: no pause
    world.to_review(req.reference)
    lifecycle.fire(world.actor("reviewer"), req.reference, "request_info",
                   inputs={"question": "Which court?"})
    sign_in(client, world.official)
    page = text(client.get(f"/requests/{req.reference}"))
    assert "allows no pause: it keeps running while you answer" in page
    assert "The deadline is paused until you answer." not in page


# -- an earlier receipt ------------------------------------------------------------------------

T = datetime(2026, 5, 5, 10, tzinfo=UTC)


def turkish_request(now: datetime = T) -> tuple[LegalRequest, Actor]:
    agency = make_agency("TR")
    req = file_request(Actor.of(make_user("agency_official", agency)),
                       filing(["@a"], priority="standard"), now=now)
    return req, Actor.of(make_user("legal_reviewer"))


def test_an_earlier_receipt_moves_the_deadlines_and_is_on_the_record():
    req, reviewer = turkish_request()
    assert clock(req).due_at == T + timedelta(hours=4)
    received = T - timedelta(hours=3)
    earlier_receipt.record_earlier_receipt(
        reviewer, req.reference,
        earlier_receipt.EarlierReceipt(received, "email", "BTK mailed it at 10:00 TRT"),
        now=T + timedelta(minutes=5))
    assert clock(req).due_at == received + timedelta(hours=4)
    assert db.session.get(LegalRequest, req.id).order_received_via == "email"
    event = db.session.scalars(sa.select(Event).where(Event.kind == "receipt_recorded")).one()
    assert event.payload["reason"] == "BTK mailed it at 10:00 TRT"
    assert event.payload["channel"] == "email"
    assert event.payload["sla"]["resolve"]["was_due_at"] == (T + timedelta(hours=4)).isoformat()


@pytest.mark.parametrize(("when", "code"), [
    (T + timedelta(hours=1), "future"),
    (T, "not_earlier"),
])
def test_an_earlier_receipt_must_be_earlier(when, code):
    req, reviewer = turkish_request()
    with pytest.raises(ValidationFailed) as refused:
        earlier_receipt.record_earlier_receipt(
            reviewer, req.reference, earlier_receipt.EarlierReceipt(when, "mail", "stamp"),
            now=T + timedelta(minutes=5))
    assert [(e.field, e.code) for e in refused.value.errors] == [("received_at", code)]
    assert clock(req).due_at == T + timedelta(hours=4)


def test_the_workspace_records_an_earlier_receipt(client, world):
    req = world.file(["@a"], now=utcnow() - timedelta(minutes=30))
    due = clock(req).due_at
    sign_in(client, world.reviewer)
    received = (utcnow() - timedelta(hours=1)).astimezone(UTC)
    response = client.post(f"/review/requests/{req.reference}/earlier-receipt", data={
        "receipt-version": db.session.get(LegalRequest, req.id).version,
        "receipt-received_at": received.strftime("%Y-%m-%dT%H:%M"),
        "receipt-channel": "government_portal", "receipt-reason": "e-Devlet receipt 991",
    })
    assert response.status_code == 302, text(response)
    assert clock(req).due_at < due
    page = text(client.get(response.headers["Location"]))
    assert "The earlier receipt is on the record; the deadlines count from it." in page


# -- force majeure -----------------------------------------------------------------------------

def test_force_majeure_stops_the_tco_hour_and_it_starts_again_in_full():
    agency = make_agency("DE")
    req = file_request(Actor.of(make_user("agency_official", agency)),
                       filing(["@a"], category="terrorism", priority="standard"), now=T)
    reviewer = Actor.of(make_user("legal_reviewer"))
    force_majeure.declare(reviewer, req.reference, begin=True, reason="Data centre fire",
                          now=T + timedelta(minutes=40))
    row = clock(req)
    assert row.paused_at == T + timedelta(minutes=40) and row.pause_reason == "force_majeure"
    force_majeure.declare(reviewer, req.reference, begin=False, reason="Restored",
                          now=T + timedelta(hours=5))
    row = clock(req)
    assert row.paused_at is None and row.due_at == T + timedelta(hours=6)
    kinds = db.session.scalars(sa.select(Event.kind).where(Event.request_id == req.id)
                               .order_by(Event.id)).all()
    assert kinds.count("force_majeure") == 2


def test_force_majeure_does_not_stop_a_law_that_allows_none():
    req, reviewer = turkish_request()
    with pytest.raises(force_majeure.ForceMajeureRefused) as refused:
        force_majeure.declare(reviewer, req.reference, begin=True, reason="Outage",
                              now=T + timedelta(minutes=10))
    assert refused.value.reason == "not_allowed"
    assert clock(req).paused_at is None


# -- the administrator's forms -----------------------------------------------------------------

def policy_form(**overrides: str) -> dict[str, str]:
    data = {
        "code": "xx-new-law", "name": "A new law", "basis": "law",
        "instrument": "Law No. 1", "article": "Art. 2",
        "source": "Law No. 1 Art. 2: two working days", "source_url": "",
        "valid_from": "2027-01-01T00:00", "valid_to": "",
        "jurisdictions": "GB", "holiday_categories": "public",
        "calendar_subdivision": "*", "thresholds": "0.5, 1.0", "position": "5",
        "active": "y", "resolve-kind": "working_days_after", "resolve-working_days": "2",
        "resolve-resume": "none", "acknowledge-kind": "", "dispute-kind": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def as_admin(client, world):
    sign_in(client, world.admin)
    return client


def test_an_administrator_adds_a_dated_regime(as_admin):
    response = as_admin.post("/admin/policies/new", data=policy_form(
        **{"resolve-force_majeure": "y"}))
    assert response.status_code == 302, text(response)
    row = db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.code == "xx-new-law"))
    assert (row.basis, row.instrument, row.article) == ("law", "Law No. 1", "Art. 2")
    assert row.valid_from is not None and row.valid_from.tzinfo is not None
    assert row.valid_to is None and row.calendar_subdivision == "*"
    assert row.targets["resolve"] == {"kind": "working_days_after", "seconds": 2 * 86_400,
                                      "cutoff": None, "resume": "none",
                                      "force_majeure": True}
    page = text(as_admin.get(f"/admin/policies/{row.id}"))
    assert 'value="Law No. 1"' in page and 'value="2027-01-01T00:00"' in page
    listing = text(as_admin.get("/admin/policies"))
    assert "2 working days from the day after receipt" in listing
    assert "no pause while the agency answers" in listing


def test_a_policy_must_end_after_it_begins(as_admin):
    response = as_admin.post("/admin/policies/new", data=policy_form(
        valid_to="2026-12-31T00:00"))
    assert response.status_code == 200
    assert "The end must come after the beginning." in text(response)
    assert db.session.scalar(sa.select(SlaPolicy).where(SlaPolicy.code == "xx-new-law")) \
        is None


def test_an_administrator_sets_the_agencys_region(as_admin):
    agency = make_agency("DE")
    url = f"/admin/agencies/{agency.id}/subdivision"
    page = text(as_admin.get(f"/admin/agencies/{agency.id}"))
    assert "Region (for holidays)" in page
    refused = as_admin.post(url, data={"region-subdivision": "XX"})
    assert refused.status_code == 200  # the agency page again, with the error
    assert "XX is not a subdivision of this country." in text(refused)
    assert db.session.get(Agency, agency.id).subdivision is None
    saved = as_admin.post(url, data={"region-subdivision": "de-by"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Agency, agency.id).subdivision == "BY"


# -- the command ---------------------------------------------------------------------------------

def test_the_policies_command_lists_dates_pause_rules_and_sources(runner):
    out = runner.invoke(args=["sla", "policies"]).output
    india = out.split("in-it-rules-2026 (law)")[1].split("\n\n")[0]
    assert "in force: received from 2026-02-19 18:30 UTC" in india
    assert "resolve 3 h elapsed, pause extend" in india
    assert "G.S.R. 120(E)" in india
    old = out.split("in-it-rules-2021 (law)")[1]
    assert ("in force: received from 2021-02-24 18:30 UTC until 2026-02-19 18:30 UTC"
            in old)
    turkey = out.split("tr-5651-art8 (law)")[1]
    assert "resolve 4 h elapsed, pause none" in turkey
    tco = out.split("eu-tco-terrorism (law)")[1]
    assert "pause restart, force majeure pauses" in tco
    assert "2 working day(s) after the day of receipt" in out
    assert "emergency (platform)" in out and "in force: always" in out


# -- the migration -------------------------------------------------------------------------------

BEFORE = "b7e4d2a91c08"  # the revision before legal regimes became dated data


def _codes(conn: sa.Connection, active: bool = True) -> set[str]:
    return set(conn.scalars(sa.text("SELECT code FROM sla_policies WHERE active = :a"),
                            {"a": active}))


# The suite's app first (the module's policies), then the empty database of its own on top.
@pytest.mark.usefixtures("policies", "scratch_app")
def test_the_migration_loads_the_defaults_and_brings_old_ones_forward():
    from flask_migrate import downgrade, upgrade

    upgrade(revision=BEFORE)
    with db.engine.begin() as conn:
        assert _codes(conn) == set()
        now = datetime(2026, 1, 1, tzinfo=UTC)
        policies = sa.table(
            "sla_policies", sa.column("code"), sa.column("name"),
            sa.column("jurisdictions", sa.JSON), sa.column("categories", sa.JSON),
            sa.column("exclude_categories", sa.JSON), sa.column("priorities", sa.JSON),
            sa.column("targets", sa.JSON), sa.column("thresholds", sa.JSON),
            sa.column("source"), sa.column("source_url"), sa.column("position"),
            sa.column("active"), sa.column("updated_at", sa.DateTime(timezone=True)))
        rule = {"kind": "elapsed", "seconds": 14400, "cutoff": None, "resume": "extend"}
        common = {"categories": None, "exclude_categories": [], "priorities": None,
                  "thresholds": [0.5, 0.75, 0.9, 1.0], "active": True, "updated_at": now}
        conn.execute(policies.insert(), [
            # As the earlier release shipped it: retired (it cited the annulled Art. 9).
            {**common, "code": "tr-5651",
             "name": "Turkey decision under Law 5651 (Arts. 8, 8/A, 9)",
             "jurisdictions": ["TR"], "targets": {"resolve": rule},
             "source": "Law No. 5651 Art. 8/A",
             "source_url": "https://www.mevzuat.gov.tr/mevzuat?MevzuatNo=5651&MevzuatTur=1"
                           "&MevzuatTertip=5", "position": 5},
            # Edited by an operator: left as edited.
            {**common, "code": "in-it-rules-2021", "name": "India, our own wording",
             "jurisdictions": ["IN"], "targets": {"resolve": {**rule, "seconds": 7200}},
             "source": "our reading", "source_url": "", "position": 6},
        ])
    upgrade()
    with db.engine.begin() as conn:
        active = _codes(conn)
        assert {"tr-5651-art8", "tr-5651-add4", "in-it-rules-2026", "gb-ta2006-s3",
                "default", "emergency"} <= active
        assert "tr-5651" in _codes(conn, active=False)
        assert conn.scalar(sa.text(
            "SELECT name FROM sla_policies WHERE code = 'in-it-rules-2021'")) == \
            "India, our own wording"
    downgrade(revision=BEFORE)
    with db.engine.begin() as conn:
        # The earlier release's defaults, Turkey's active again; the new regimes gone.
        assert _codes(conn) == {"emergency", "eu-tco-terrorism", "eu-dsa-orders",
                                "id-mr5-urgent", "id-mr5", "tr-5651", "in-it-rules-2021",
                                "default"}
        assert conn.scalar(sa.text(
            "SELECT name FROM sla_policies WHERE code = 'in-it-rules-2021'")) == \
            "India, our own wording"
    upgrade()  # and up again
    with db.engine.begin() as conn:
        assert "tr-5651-art8" in _codes(conn)


# The suite's app first (the module's policies), then the empty database of its own on top.
@pytest.mark.usefixtures("policies", "scratch_app")
def test_an_empty_database_gets_every_default_policy():
    from flask_migrate import upgrade

    from portal.services.clocks import default_rows
    from workflows.sla import DEFAULT_POLICIES

    upgrade()
    with db.engine.begin() as conn:
        assert _codes(conn) == {p.code for p in DEFAULT_POLICIES}
    # What the migration froze is what the code ships (a later edit of one of them
    # needs a migration of its own).
    compared = ("name", "jurisdictions", "categories", "exclude_categories", "priorities",
                "targets", "thresholds", "holiday_categories", "actions", "basis",
                "instrument", "article", "valid_from", "valid_to", "source", "source_url",
                "calendar_subdivision")
    stored = {row.code: {name: getattr(row, name) for name in compared}
              for row in db.session.scalars(sa.select(SlaPolicy))}
    shipped = {row["code"]: {name: row[name] for name in compared} for row in default_rows()}
    assert stored == shipped
