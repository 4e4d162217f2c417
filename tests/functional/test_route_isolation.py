"""Every route, every kind of visitor: who gets in, who is refused, who is told nothing.

The test walks the app's whole URL map (pages and API). Each route must have a line in
ROUTES, so a new route cannot be forgotten: the test fails until someone decides who may
use it.

Outcomes:
  ok      the request reached its view (2xx/3xx, or a 400/409/422 about the input)
  login   sent to the sign-in page (pages) / 401 (API)
  403     known but not permitted
  404     not found: another agency's request is never confirmed to exist
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import secret_box
from portal.extensions import db
from portal.models import Attachment, HolidayOverride, RequestItem, SlaPolicy, Webhook
from portal.models.columns import utcnow
from portal.services import attachments, clocks, documents, heartbeat, tokens
from portal.services.attachments import AttachmentInput
from portal.services.transaction import transaction
from tests.conftest import sign_in
from tests.factories import World
from tests.pdfs import PLAIN_PDF

ACTORS = ("anonymous", "owner", "stranger", "reviewer", "liaison", "admin")
#: The API is walked with tokens that may do everything their user may: the scopes are
#: tested apart (tests/api/test_token_scopes.py).
ALL_SCOPES = ("read", "file", "act")

PUBLIC = dict.fromkeys(ACTORS, "ok")
SIGNED_IN = {"anonymous": "login"} | dict.fromkeys(ACTORS[1:], "ok")


def only(*allowed: str, others: str = "403") -> dict[str, str]:
    """Signed-in roles in ``allowed`` get in; other signed-in roles get ``others``."""
    return {"anonymous": "login"} | {a: ("ok" if a in allowed else others)
                                     for a in ACTORS[1:]}


def request_scoped(owner: str, staff: tuple[str, ...], staff_others: str = "403"
                   ) -> dict[str, str]:
    """A route about one request: the stranger is told nothing (404)."""
    table = {"anonymous": "login", "owner": owner, "stranger": "404"}
    for role in ("reviewer", "liaison", "admin"):
        table[role] = "ok" if role in staff else staff_others
    return table


STAFF = ("reviewer", "liaison", "admin")
OFFICIALS = ("owner", "stranger")

#: (endpoint, method) -> expected outcome per actor.
ROUTES: dict[tuple[str, str], dict[str, str]] = {
    ("main.index", "GET"): PUBLIC,
    ("main.choose_language", "GET"): PUBLIC,
    ("main.language", "POST"): PUBLIC,
    ("api_docs.docs", "GET"): PUBLIC,
    ("api-docs.openapi_json", "GET"): PUBLIC,
    # Probes: anyone may ask (one word, no detail); metrics are for operators only,
    # and the walk asks from an outside address (ENVIRON) with no operator token.
    ("ops.healthz", "GET"): PUBLIC,
    ("ops.readyz", "GET"): PUBLIC,
    ("ops.metrics", "GET"): dict.fromkeys(ACTORS, "404"),
    # Sign-in and accounts
    ("auth.login", "GET"): PUBLIC,
    ("auth.login", "POST"): PUBLIC,
    ("auth.logout", "POST"): dict.fromkeys(ACTORS, "login"),  # walked last
    ("auth.forgot_password", "GET"): PUBLIC,
    ("auth.forgot_password", "POST"): PUBLIC,
    ("auth.reset_password", "GET"): PUBLIC,
    ("auth.reset_password", "POST"): PUBLIC,
    ("auth.register", "GET"): PUBLIC,
    ("auth.register", "POST"): PUBLIC,
    ("auth.registered", "GET"): PUBLIC,
    ("auth.confirm", "GET"): PUBLIC,
    ("auth.confirm", "POST"): PUBLIC,
    ("auth.accept_invite", "GET"): PUBLIC,
    ("auth.accept_invite", "POST"): PUBLIC,
    ("auth.two_factor", "GET"): {"anonymous": "403"} | dict.fromkeys(ACTORS[1:], "403"),
    ("auth.two_factor", "POST"): {"anonymous": "403"} | dict.fromkeys(ACTORS[1:], "403"),
    ("auth.enroll_two_factor", "GET"): {"anonymous": "403"} | dict.fromkeys(ACTORS[1:], "ok"),
    ("auth.enroll_two_factor", "POST"): {"anonymous": "403"} | dict.fromkeys(ACTORS[1:],
                                                                             "ok"),
    ("auth.account", "GET"): SIGNED_IN,
    # Notifications: everyone signed in has their own (a notice of someone else's is
    # never shown nor marked: tests/functional/test_notifications.py).
    ("notices.index", "GET"): SIGNED_IN,
    ("notices.mark_read", "POST"): SIGNED_IN,
    ("notices.mutes", "POST"): SIGNED_IN,
    ("auth.account", "POST"): SIGNED_IN,
    ("auth.new_recovery_codes", "POST"): SIGNED_IN,
    ("auth.disable_two_factor", "POST"): SIGNED_IN,
    ("auth.confirm_identity", "GET"): SIGNED_IN,
    ("auth.confirm_identity", "POST"): SIGNED_IN,
    ("auth.create_token", "POST"): SIGNED_IN,
    # Revoking a token: its owner only; anyone else's is not found.
    ("auth.revoke_token", "POST"): {"anonymous": "login", "owner": "ok"}
    | dict.fromkeys(("stranger", "reviewer", "liaison", "admin"), "404"),
    ("auth.invite", "GET"): only(*OFFICIALS),
    ("auth.invite", "POST"): only(*OFFICIALS),
    # Agency officials
    ("requests.index", "GET"): only(*OFFICIALS),
    ("requests.new", "GET"): only(*OFFICIALS),
    ("requests.new", "POST"): only(*OFFICIALS),
    ("requests.view", "GET"): request_scoped("ok", STAFF),
    ("requests.attachment", "GET"): request_scoped("ok", STAFF),
    ("requests.decisions_csv", "GET"): request_scoped("ok", STAFF),
    ("requests.decisions_json", "GET"): request_scoped("ok", STAFF),
    ("requests.act", "POST"): request_scoped("ok", ()),
    ("requests.message", "POST"): request_scoped("ok", ()),
    ("requests.add_documents", "POST"): request_scoped("ok", ()),
    # Legal reviewers (liaisons and administrators read)
    ("review.queue", "GET"): only(*STAFF),
    ("review.request", "GET"): only(*STAFF),
    ("review.claim", "POST"): only("reviewer"),
    ("review.decide", "POST"): only("reviewer"),
    ("review.notice", "POST"): only("reviewer"),
    ("review.restore", "POST"): only("reviewer"),
    # One item's page: staff read it; only a reviewer writes the note.
    ("review.item", "GET"): only(*STAFF),
    ("review.item", "POST"): only("reviewer"),
    # Liaisons hand requests between reviewers here (unassign, reassign); the machine
    # refuses them every trigger that decides (tests/functional/test_case_handling.py).
    ("review.act", "POST"): only("reviewer", "liaison"),
    ("review.answer_dispute", "POST"): only("reviewer"),
    ("review.message", "POST"): only("reviewer", "liaison"),
    ("review.reclassify", "POST"): only("reviewer"),
    ("review.confirm_out_of_band", "POST"): only("reviewer"),
    ("review.earlier_receipt", "POST"): only("reviewer", "liaison"),
    ("review.force_majeure", "POST"): only("reviewer", "liaison"),
    # Publication: staff preview a request's notice; publishing is a reviewer's (the
    # walked request is under review, so the page answers 422: undecided items).
    ("publication.publish", "GET"): only(*STAFF),
    ("publication.publish", "POST"): only(*STAFF),
    ("publication.dsa_categories", "GET"): only("admin"),
    # Platform liaisons (administrators read)
    ("liaison.dashboard", "GET"): only("liaison", "admin"),
    ("liaison.compliance", "GET"): only("liaison", "admin"),
    ("liaison.export", "GET"): only("liaison", "admin"),
    ("liaison.close", "POST"): only("liaison"),
    # Transparency: the report and the orders table for liaisons and administrators, an
    # agency's own figures for its officials; the public summary is off unless configured.
    **{(endpoint, "GET"): only("liaison", "admin") for endpoint in (
        "transparency.index", "transparency.report_csv", "transparency.report_json",
        "transparency.dsa_orders_page", "transparency.dsa_orders_csv")},
    ("transparency.ours", "GET"): only(*OFFICIALS),
    ("transparency.ours_csv", "GET"): only(*OFFICIALS),
    ("transparency.public", "GET"): dict.fromkeys(ACTORS, "404"),
    # Administrators
    **{(endpoint, method): only("admin") for endpoint, method in [
        ("admin.index", "GET"), ("admin.agencies", "GET"), ("admin.agency", "GET"),
        ("admin.approve_agency", "POST"), ("admin.reject_agency", "POST"),
        ("admin.suspend_agency", "POST"), ("admin.reinstate_agency", "POST"),
        ("admin.agency_focal_point", "POST"), ("admin.agency_focal_contact", "POST"),
        ("admin.agency_subdivision", "POST"), ("admin.agency_requester_type", "POST"),
        ("admin.users", "GET"), ("admin.user", "GET"),
        ("admin.new_user", "GET"), ("admin.new_user", "POST"), ("admin.change_role", "POST"),
        ("admin.set_active", "POST"), ("admin.set_liaison_lead", "POST"),
        ("admin.set_lead_reviewer", "POST"), ("admin.set_coverage", "POST"),
        ("admin.send_setup_link", "POST"), ("admin.issue_enrolment_code", "POST"),
        ("admin.reset_two_factor", "POST"), ("admin.policies", "GET"),
        ("admin.policy", "GET"), ("admin.policy", "POST"), ("admin.new_policy", "GET"),
        ("admin.new_policy", "POST"), ("admin.holidays", "GET"), ("admin.add_holiday", "POST"),
        ("admin.delete_holiday", "POST"), ("admin.evidence", "GET"),
    ]},
    # The API (tokens of the same people)
    ("api_requests.Requests", "GET"): SIGNED_IN,
    ("api_requests.Requests", "POST"): only(*OFFICIALS),
    ("api_requests.RequestDetail", "GET"): request_scoped("ok", STAFF),
    ("api_requests.items", "GET"): request_scoped("ok", STAFF),
    ("api_requests.decisions_csv", "GET"): request_scoped("ok", STAFF),
    ("api_reports.Transparency", "GET"): only("liaison", "admin", "reviewer"),
    ("api_requests.events", "GET"): request_scoped("ok", STAFF),
    ("api_requests.documents", "GET"): request_scoped("ok", STAFF),
    ("api_requests.document", "GET"): request_scoped("ok", STAFF),
    ("api_requests.add_documents", "POST"): request_scoped("ok", ()),
    ("api_requests.answer", "POST"): request_scoped("ok", ()),
    ("api_requests.Messages", "GET"): request_scoped("ok", STAFF),
    ("api_requests.Messages", "POST"): request_scoped("ok", STAFF),
    ("api_requests.action", "POST"): request_scoped("ok", ()),
    ("api_requests.decisions", "POST"): request_scoped("403", ("reviewer",)),
    ("api_requests.restorations", "POST"): request_scoped("403", ("reviewer",)),
    ("api_requests.notices", "POST"): request_scoped("403", ("reviewer",)),
    ("api_requests.disputes", "GET"): request_scoped("ok", STAFF),
    ("api_requests.dispute_answers", "POST"): request_scoped("403", ("reviewer",)),
    ("api_webhooks.Webhooks", "GET"): SIGNED_IN,
    ("api_webhooks.Webhooks", "POST"): only(*OFFICIALS),
    ("api_webhooks.webhook", "DELETE"): {"anonymous": "login", "owner": "ok",
                                         "stranger": "404", "reviewer": "404",
                                         "liaison": "404", "admin": "404"},
}


#: Routes walked from an address other than the test client's loopback one.
ENVIRON = {("ops.metrics", "GET"): {"REMOTE_ADDR": "203.0.113.7"}}

#: The trigger each action route is walked with (one its own people may fire).
TRIGGERS = {"review.act": "request_info"}

#: Valid API bodies, so that the walk tests who may act rather than schema validation.
API_BODIES = {
    ("api_requests.Requests", "POST"): {
        "category": "fraud", "priority": "standard", "issuing_authority": "BTK",
        "requested_action": "remove",
        "legal_basis": {"statute": "Law No. 5651"}, "items": [{"target": "@walked"}]},
    ("api_requests.decisions", "POST"): {"all_pending": True, "decision": "removed"},
    ("api_requests.restorations", "POST"): {"all_acted": True, "reason": "order_annulled"},
    ("api_requests.notices", "POST"): {"all_acted": True, "notified": True},
    ("api_requests.Messages", "POST"): {"body": "walked"},
    ("api_requests.dispute_answers", "POST"): {"all_open": True, "answer": "upheld",
                                               "text": "walked"},
    ("api_webhooks.Webhooks", "POST"): {"url": "https://example.org/walked"},
}

#: API routes that take files: walked with a valid multipart body (a fresh one per call).
API_FORMS = {
    ("api_requests.add_documents", "POST"): {"kind": "annexure", "language": "en"},
    ("api_requests.answer", "POST"): {"answer": "walked", "kind": "annexure",
                                      "language": "en"},
}


def api_body(key: tuple[str, str]) -> dict[str, object]:
    """The body an API route is walked with: JSON, or a form with one PDF."""
    if key in API_FORMS:
        return {"data": {**API_FORMS[key], "file": (io.BytesIO(PLAIN_PDF), "walked.pdf")},
                "content_type": "multipart/form-data"}
    return {"json": API_BODIES.get(key, {})}


@dataclass
class Fixtures:
    world: World
    values: dict[str, object]
    api_tokens: dict[str, str]


@pytest.fixture
def fixtures(app: Flask) -> Fixtures:
    with transaction():
        clocks.load_defaults()
    w = World()
    pdf = AttachmentInput("order.pdf", "application/pdf", PLAIN_PDF)
    req = w.file(["@a", "@b"], attachment=pdf)
    w.to_review(req.reference)
    attachment = db.session.scalar(sa.select(Attachment.id))
    # Verification evidence the agency sent when it registered (administrators read it).
    with attachments.staged() as staging:
        [evidence] = documents.add_evidence(w.agency.id, w.official.id, [
            documents.DocumentInput(pdf, "other")], utcnow(), staging)
        db.session.commit()
    hook = Webhook(agency_id=w.agency.id, url="https://example.org/h",
                   secret_encrypted=secret_box.seal("s", app.config),
                   created_by_id=w.official.id)
    override = HolidayOverride(country="TR", day=req.received_at.date(), name="x")
    db.session.add_all([hook, override])
    db.session.commit()
    values = {
        "reference": req.reference, "agency_id": w.agency.id, "user_id": w.official.id,
        "policy_id": db.session.scalar(sa.select(SlaPolicy.id)), "override_id": override.id,
        "attachment_id": attachment, "webhook_id": hook.id, "token": "not-a-real-link",
        "document_id": attachment, "evidence_id": evidence.id,
        "item_id": db.session.scalar(sa.select(RequestItem.id).where(
            RequestItem.request_id == req.id).order_by(RequestItem.position)),
    }
    people = {"owner": w.official, "stranger": w.stranger, "reviewer": w.reviewer,
              "liaison": w.liaison, "admin": w.admin}
    api_tokens = {name: tokens.create_token(user, "isolation", scopes=ALL_SCOPES)[1]
                  for name, user in people.items()}
    # A token of the owner's that the walk may revoke (not the one it calls the API with).
    values["token_id"] = tokens.create_token(w.official, "walked")[0].id
    # A worker that has just passed: /readyz is ready.
    heartbeat.beat("walk:1", started_at=utcnow(), ok=True, pass_seconds=0.1, interval=30)
    return Fixtures(w, values, api_tokens)


def outcome(status: int, location: str, api: bool) -> str:
    if api and status == 401 or not api and status == 302 and "/login" in location:
        return "login"
    if status in (403, 404):
        return str(status)
    if status >= 500 or status in (401, 405):
        return f"error {status}"
    return "ok"


def test_every_route_for_every_visitor(app: Flask, fixtures: Fixtures):
    # Signing out is walked last: it would end the sessions the other checks use.
    rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"),
                   key=lambda r: r.endpoint == "auth.logout")
    seen, problems, checked = set(), [], 0
    people = {"owner": fixtures.world.official, "stranger": fixtures.world.stranger,
              "reviewer": fixtures.world.reviewer, "liaison": fixtures.world.liaison,
              "admin": fixtures.world.admin}
    clients = {"anonymous": app.test_client()}
    for name, user in people.items():
        client = app.test_client()
        sign_in(client, user)
        clients[name] = client
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            key = (rule.endpoint, method)
            seen.add(key)
            expected = ROUTES.get(key)
            if expected is None:
                problems.append(f"{method} {rule.rule} ({rule.endpoint}) has no line in ROUTES")
                continue
            values = dict(fixtures.values, trigger=TRIGGERS.get(rule.endpoint, "withdraw"))
            path = rule.build({k: values[k] for k in rule.arguments},
                              append_unknown=False)[1]
            api = path.startswith("/api/") and not path.endswith(("/docs", "/openapi.json"))
            for actor in ACTORS:
                headers = {}
                client = clients[actor]
                if api:
                    client = clients["anonymous"]
                    if actor != "anonymous":
                        headers["Authorization"] = f"Bearer {fixtures.api_tokens[actor]}"
                kwargs = api_body(key) if api and method != "GET" else {}
                response = client.open(path, method=method, headers=headers,
                                       environ_base=ENVIRON.get(key, {}), **kwargs)
                got = outcome(response.status_code, response.headers.get("Location", ""), api)
                response.get_data()  # run streamed bodies (the CSV export) to the end
                response.close()
                checked += 1
                if got != expected[actor]:
                    problems.append(f"{actor:9} {method:6} {path}: expected "
                                    f"{expected[actor]}, got {got} ({response.status_code})")
    stale = sorted(set(ROUTES) - seen)
    assert not stale, f"ROUTES lists routes that no longer exist: {stale}"
    assert not problems, f"{len(problems)} of {checked} checks:\n" + "\n".join(problems)
    print(f"\nroute isolation: {len(seen)} routes x {len(ACTORS)} visitors = {checked} checks")


HUGE = (2**31, 2**63, 10**30)


def test_numbers_beyond_the_database_are_refused_cleanly(app: Flask, fixtures: Fixtures):
    """Ids and page numbers past a database integer are a 404 or a clamp, never a 500.

    PostgreSQL's ``integer`` ends at 2**31 - 1 and SQLite's at 2**63 - 1; a number past
    either once reached the database and failed there (DELETE /api/v1/webhooks/2147483648).
    """
    people = {"owner": fixtures.world.official, "reviewer": fixtures.world.reviewer,
              "liaison": fixtures.world.liaison, "admin": fixtures.world.admin}
    problems, checked = [], 0
    for actor, user in people.items():
        client = app.test_client()
        sign_in(client, user)
        headers = {"Authorization": f"Bearer {fixtures.api_tokens[actor]}"}
        for rule in app.url_map.iter_rules():
            if rule.endpoint in ("static", "auth.logout"):
                continue
            ints = [a for a in rule.arguments
                    if rule._converters[a].__class__.__name__ == "DatabaseId"]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                values = dict(fixtures.values, trigger=TRIGGERS.get(rule.endpoint, "withdraw"))
                api = rule.rule.startswith("/api/")
                cases: list[str] = []
                for number in HUGE:
                    if ints:
                        path = rule.build({k: (number if k in ints else values[k])
                                           for k in rule.arguments}, append_unknown=False)
                        cases.append(path[1])
                    elif method == "GET":
                        path = rule.build({k: values[k] for k in rule.arguments},
                                          append_unknown=False)[1]
                        cases.append(f"{path}?page={number}&per_page={number}")
                for path in cases:
                    response = (client if not api else app.test_client()).open(
                        path, method=method, headers=headers if api else {},
                        **({"json": API_BODIES.get((rule.endpoint, method), {})}
                           if api and method != "GET" else {}))
                    response.get_data()
                    response.close()
                    checked += 1
                    if response.status_code >= 500 or (ints and response.status_code != 404):
                        problems.append(f"{actor} {method} {path}: {response.status_code}")
    assert not problems, f"{len(problems)} of {checked} checks:\n" + "\n".join(problems)


@pytest.mark.parametrize("number", HUGE)
def test_api_numbers_beyond_the_database_are_a_422(app: Flask, fixtures: Fixtures,
                                                   number: int):
    client = app.test_client()
    reference = fixtures.values["reference"]
    headers = {"Authorization": f"Bearer {fixtures.api_tokens['reviewer']}"}
    response = client.post(f"/api/v1/requests/{reference}/decisions", headers=headers,
                           json={"item_ids": [number], "decision": "removed"})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "item_ids" in response.get_data(as_text=True)
    cursor = base64.urlsafe_b64encode(str(number).encode()).decode().rstrip("=")
    for path in ("/api/v1/requests", f"/api/v1/requests/{reference}/items"):
        response = client.get(f"{path}?cursor={cursor}", headers=headers)
        assert response.status_code == 422, (path, response.get_data(as_text=True))
        assert "not a cursor this API gave out" in response.get_data(as_text=True)
