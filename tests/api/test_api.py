"""The JSON API contract: every endpoint and every error status."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import ApiToken, Event, LegalRequest, Notification, RequestItem
from portal.services import tokens

PROBLEM = "application/problem+json"


# Every test here runs with the default SLA policies (the shared ``world`` has none).
pytestmark = pytest.mark.usefixtures("policies")


def bearer(user) -> dict[str, str]:
    _, token = tokens.create_token(user, "test", scopes=["file", "act"])
    return {"Authorization": f"Bearer {token}"}


def body(**overrides):
    data = {
        "category": "disinformation", "priority": "urgent",
        "requested_action": "withhold_in_country",
        "legal_basis": {"statute": "Law No. 5651", "article": "Art. 8/A"},
        "issuing_authority": "BTK", "order_reference": "2026/77", "order_date": "2026-11-01",
        "description": "fake aid campaigns",
        "items": [{"target": "@fake_aid1"}, {"target": "https://x.com/fake_aid2/status/12",
                                              "kind": "post"}],
    }
    data.update(overrides)
    return data


def test_file_a_request(client, world):
    response = client.post("/api/v1/requests", json=body(), headers=bearer(world.official))
    assert response.status_code == 201, response.json
    data = response.json
    assert data["reference"] == "TR-2026-000001" and data["state"] == "received"
    assert data["items_accepted"] == 2
    assert {c["target"] for c in data["sla"]} == {"acknowledge", "resolve"}
    resolve = next(c for c in data["sla"] if c["target"] == "resolve")
    assert 0 < resolve["remaining_seconds"] <= 4 * 3600 and not resolve["breached"]
    assert data["links"]["self"] == "/api/v1/requests/TR-2026-000001"
    assert response.headers["Location"] == data["links"]["self"]


def test_idempotency_key_replays_and_refuses_another_body(client, world):
    headers = bearer(world.official) | {"Idempotency-Key": "case-4711"}
    first = client.post("/api/v1/requests", json=body(), headers=headers)
    again = client.post("/api/v1/requests", json=body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)) == 1
    other = client.post("/api/v1/requests", json=body(description="changed"), headers=headers)
    assert other.status_code == 409 and other.content_type == PROBLEM
    assert "different body" in other.json["detail"]


def test_bad_items_are_listed_by_index_with_the_parsers_reason(client, world):
    items = [{"target": "@ok"}, {"target": "https://facebook.com/x"}, {"target": "@ok"},
             {"target": "@bad handle"}]
    response = client.post("/api/v1/requests", json=body(items=items),
                           headers=bearer(world.official))
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert [(e["index"], e["code"], e["path"]) for e in response.json["errors"]] == [
        (1, "foreign_url", "items/1/target"), (2, "duplicate", "items/2/target"),
        (3, "malformed_handle", "items/3/target")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)) == 0


def test_schema_validation_lists_every_field(client, world):
    response = client.post("/api/v1/requests", json={"category": "spam", "items": [{}],
                                                     "extra": 1},
                           headers=bearer(world.official))
    assert response.status_code == 422
    paths = {e["path"] for e in response.json["errors"]}
    assert {"category", "priority", "legal_basis", "issuing_authority", "extra",
            "items/0/target"} <= paths
    assert any(e["index"] == 0 for e in response.json["errors"] if e["path"].startswith("items"))


def test_too_many_items_is_413(client, world, app):
    app.config["MAX_ITEMS_PER_REQUEST"] = 3
    items = [{"target": f"@h{n}"} for n in range(4)]
    response = client.post("/api/v1/requests", json=body(items=items),
                           headers=bearer(world.official))
    assert response.status_code == 413 and "at most 3" in response.json["detail"]


def test_body_too_large_is_413(client, world, app):
    app.config["API_MAX_FILING_BYTES"] = 1000
    response = client.post("/api/v1/requests", json=body(description="x" * 2000),
                           headers=bearer(world.official))
    assert response.status_code == 413 and response.content_type == PROBLEM


def test_not_json_is_415(client, world):
    response = client.post("/api/v1/requests", data="category=terrorism",
                           headers=bearer(world.official))
    assert response.status_code == 415 and response.content_type == PROBLEM


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer lp_nope"])
def test_missing_or_bad_token_is_401(client, world, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/requests", headers=headers)
    assert response.status_code == 401 and response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_and_deactivated_user_are_401(client, world, app):
    app.config["API_TOKEN_CACHE_SECONDS"] = 0  # another process: no cache to forget
    row, token = tokens.create_token(world.official, "x")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/requests", headers=headers).status_code == 200
    assert db.session.get(ApiToken, row.id).last_used_at is not None
    tokens.revoke(world.official.id, row.id)
    assert client.get("/api/v1/requests", headers=headers).status_code == 401
    cached, cached_token = tokens.create_token(world.official, "cached")
    app.config["API_TOKEN_CACHE_SECONDS"] = 60
    cached_headers = {"Authorization": f"Bearer {cached_token}"}
    assert client.get("/api/v1/requests", headers=cached_headers).status_code == 200
    tokens.revoke(world.official.id, cached.id)  # this process forgets it at once
    assert client.get("/api/v1/requests", headers=cached_headers).status_code == 401
    app.config["API_TOKEN_CACHE_SECONDS"] = 0
    _, fresh = tokens.create_token(world.official, "y")
    world.official.active = False
    db.session.commit()
    assert client.get("/api/v1/requests",
                      headers={"Authorization": f"Bearer {fresh}"}).status_code == 401


def test_staff_cannot_file_403(client, world):
    response = client.post("/api/v1/requests", json=body(), headers=bearer(world.reviewer))
    assert response.status_code == 403 and response.content_type == PROBLEM


def test_another_agencys_request_is_404_everywhere(client, world):
    ref = world.file().reference
    headers = bearer(world.stranger)
    for path in ("", "/items", "/events", "/messages"):
        assert client.get(f"/api/v1/requests/{ref}{path}", headers=headers).status_code == 404
    assert client.post(f"/api/v1/requests/{ref}/actions/withdraw", json={"reason": "x"},
                       headers=headers).status_code == 404
    assert client.get("/api/v1/requests", headers=headers).json["data"] == []


def test_list_filters_and_cursor_pagination(client, world):
    refs = [world.file([f"@t{n}"]).reference for n in range(5)]
    world.to_review(refs[0])
    headers = bearer(world.official)
    page = client.get("/api/v1/requests", query_string={"limit": 2}, headers=headers).json
    assert [r["reference"] for r in page["data"]] == refs[::-1][:2]
    second = client.get(page["next"], headers=headers).json
    assert [r["reference"] for r in second["data"]] == refs[::-1][2:4]
    reviewing = client.get("/api/v1/requests", query_string={"state": "legal_review"},
                           headers=headers).json
    assert [r["reference"] for r in reviewing["data"]] == [refs[0]]
    later = client.get("/api/v1/requests", headers=headers, query_string={
        "updated_since": "2030-01-01T00:00:00+00:00"}).json
    assert later["data"] == []
    bad = client.get("/api/v1/requests", query_string={"cursor": "!!", "state": "nope"},
                     headers=headers)
    assert bad.status_code == 422


def test_detail_with_counts_sla_and_allowed_actions(client, world):
    req = world.file(["@a", "@b", "@c"])
    world.to_review(req.reference)
    ids = db.session.scalars(sa.select(RequestItem.id).where(
        RequestItem.request_id == req.id).order_by(RequestItem.position)).all()
    client.post(f"/api/v1/requests/{req.reference}/decisions", headers=bearer(world.reviewer),
                json={"item_ids": ids[:1], "decision": "removed"})
    official = client.get(f"/api/v1/requests/{req.reference}",
                          headers=bearer(world.official)).json
    assert official["item_counts"] == {"pending": 2, "removed": 1}
    assert official["allowed_actions"] == ["withdraw"]
    assert official["legal_basis"] == {"statute": "Law No. 5651", "article": "Art. 8/A"}
    staff = client.get(f"/api/v1/requests/{req.reference}", headers=bearer(world.reviewer)).json
    # Allowed now: guards included. Actioning waits for the two pending items; declining
    # is stopped by the item already removed. Each blocked action says which guard.
    # The reviewer holds it: they may let it go, and nobody may take it meanwhile.
    assert staff["allowed_actions"] == ["request_info", "unassign"]
    assert [(b["action"], b["guard"]) for b in staff["blocked_actions"]] == [
        ("action", "all_items_decided"), ("decline", "no_item_acted"), ("claim", "unclaimed")]
    assert "2 of 3 are still pending" in staff["blocked_actions"][0]["message"]
    assert official["blocked_actions"] == []
    assert {c["target"] for c in staff["sla"]} == {"acknowledge", "resolve"}
    assert next(c for c in staff["sla"] if c["target"] == "acknowledge")["stopped"]


def test_items_filter_and_pagination(client, world):
    req = world.file([f"@i{n}" for n in range(5)])
    world.to_review(req.reference)
    world.decide_all(req.reference, "no_action")
    headers = bearer(world.official)
    page = client.get(f"/api/v1/requests/{req.reference}/items", query_string={"limit": 3},
                      headers=headers).json
    assert [i["position"] for i in page["data"]] == [1, 2, 3]
    rest = client.get(page["next"], headers=headers).json
    assert [i["position"] for i in rest["data"]] == [4, 5] and rest["next"] is None
    pending = client.get(f"/api/v1/requests/{req.reference}/items",
                         query_string={"decision": "pending"}, headers=headers).json
    assert pending["data"] == []


def test_actions_and_their_refusals(client, world):
    req = world.file()
    ref = req.reference
    reviewer, official = bearer(world.reviewer), bearer(world.official)
    ok = client.post(f"/api/v1/requests/{ref}/actions/begin_review", json={},
                     headers=reviewer)
    assert ok.status_code == 200 and ok.json["state"] == "legal_review"
    illegal = client.post(f"/api/v1/requests/{ref}/actions/begin_review", json={},
                          headers=reviewer)
    assert illegal.status_code == 409 and "legal_review" in illegal.json["detail"]
    guard = client.post(f"/api/v1/requests/{ref}/actions/action", json={}, headers=reviewer)
    assert guard.status_code == 409 and "pending" in guard.json["detail"]
    forbidden = client.post(f"/api/v1/requests/{ref}/actions/action", json={}, headers=official)
    assert forbidden.status_code == 403
    missing = client.post(f"/api/v1/requests/{ref}/actions/request_info", json={},
                          headers=reviewer)
    assert missing.status_code == 422 and missing.json["errors"][0]["path"] == "question"
    stale = client.post(f"/api/v1/requests/{ref}/actions/withdraw",
                        json={"reason": "x", "expected_version": 1}, headers=official)
    assert stale.status_code == 409 and "changed since" in stale.json["detail"]
    unknown = client.post(f"/api/v1/requests/{ref}/actions/explode", json={}, headers=reviewer)
    assert unknown.status_code == 404


def test_decisions_staff_only_and_validated(client, world):
    req = world.file(["@a", "@b"])
    world.to_review(req.reference)
    url = f"/api/v1/requests/{req.reference}/decisions"
    assert client.post(url, json={"all_pending": True, "decision": "removed"},
                       headers=bearer(world.official)).status_code == 403
    both = client.post(url, json={"all_pending": True, "item_ids": [1], "decision": "removed"},
                       headers=bearer(world.reviewer))
    assert both.status_code == 422
    no_reason = client.post(url, json={"all_pending": True, "decision": "no_action"},
                            headers=bearer(world.reviewer))
    assert no_reason.status_code == 422
    assert no_reason.json["errors"][0]["path"] == "no_action_reason"
    done = client.post(url, json={"all_pending": True, "decision": "withheld_in_country"},
                       headers=bearer(world.reviewer))
    assert done.status_code == 200 and done.json["decided"] == 2


def test_messages_and_internal_notes(client, world):
    ref = world.file().reference
    url = f"/api/v1/requests/{ref}/messages"
    assert client.post(url, json={"body": "looks automated", "internal": True},
                       headers=bearer(world.reviewer)).status_code == 201
    assert client.post(url, json={"body": "any news?"},
                       headers=bearer(world.official)).status_code == 201
    assert client.post(url, json={"body": "psst", "internal": True},
                       headers=bearer(world.official)).status_code == 403
    seen = client.get(url, headers=bearer(world.official)).json["data"]
    assert [m["body"] for m in seen] == ["any news?"]
    assert len(client.get(url, headers=bearer(world.reviewer)).json["data"]) == 2


def test_events_hide_notes_and_addresses_from_agencies(client, world):
    ref = world.file().reference
    client.post(f"/api/v1/requests/{ref}/messages", json={"body": "n", "internal": True},
                headers=bearer(world.reviewer))
    client.post(f"/api/v1/requests/{ref}/actions/begin_review", json={},
                headers=bearer(world.reviewer) | {"User-Agent": "case-system/1"})
    agency = client.get(f"/api/v1/requests/{ref}/events", headers=bearer(world.official)).json
    assert [e["kind"] for e in agency["data"]] == ["filed", "transition"]
    assert "ip" not in agency["data"][1]["payload"]
    staff = client.get(f"/api/v1/requests/{ref}/events", headers=bearer(world.reviewer)).json
    assert [e["kind"] for e in staff["data"]] == ["filed", "note", "transition"]
    assert staff["data"][2]["payload"]["user_agent"] == "case-system/1"


def test_webhooks_register_list_delete(client, world, app):
    app.config["WEBHOOK_ALLOW_HTTP"] = False
    headers = bearer(world.official)
    refused = client.post("/api/v1/webhooks", json={"url": "http://example.org/hook"},
                          headers=headers)
    assert refused.status_code == 422
    created = client.post("/api/v1/webhooks", json={"url": "https://example.org/hook"},
                          headers=headers)
    assert created.status_code == 201 and len(created.json["secret"]) == 64
    listed = client.get("/api/v1/webhooks", headers=headers).json["data"]
    assert [h["url"] for h in listed] == ["https://example.org/hook"] and "secret" not in listed[0]
    assert client.post("/api/v1/webhooks", json={"url": "https://x.org"},
                       headers=bearer(world.reviewer)).status_code == 403
    assert client.delete(f"/api/v1/webhooks/{created.json['id']}",
                         headers=bearer(world.stranger)).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{created.json['id']}",
                         headers=headers).status_code == 204
    assert client.get("/api/v1/webhooks", headers=headers).json["data"] == []


def test_webhooks_to_internal_addresses_are_refused(client, world, app):
    app.config.update(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE=False)
    headers = bearer(world.official)
    for url in ("http://127.0.0.1:8080/x", "http://169.254.169.254/latest/meta-data",
                "https://10.1.2.3/hook", "http://localhost/h"):
        refused = client.post("/api/v1/webhooks", json={"url": url}, headers=headers)
        assert refused.status_code == 422, url
        assert "forbidden_destination" in {e["code"] for e in refused.json["errors"]}


def test_rate_limit_is_429_with_retry_after(client, world, app):
    from portal.extensions import limiter

    app.config["API_RATE_LIMIT"] = "3 per minute"
    limiter.reset()
    headers = bearer(world.official)
    codes = [client.get("/api/v1/requests", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    last = client.get("/api/v1/requests", headers=headers)
    assert last.content_type == PROBLEM and int(last.headers["Retry-After"]) > 0
    limiter.reset()


def test_openapi_document_and_docs_page_are_public(client, world):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"] == "3.1.0"
    assert {"/api/v1/requests", "/api/v1/requests/{reference}", "/api/v1/webhooks",
            "/api/v1/requests/{reference}/actions/{trigger}"} <= set(spec["paths"])
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "X-Portal-Signature" in page and "POST /api/v1/requests" in page


def test_tokens_command_prints_the_token_once(runner, world, client):
    result = runner.invoke(args=["tokens", "create", world.official.email, "--name", "cms"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    stored = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "cms"))
    assert token not in stored.token_hash and stored.token_hash == tokens.digest(token)
    assert client.get("/api/v1/requests",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_state_changes_enqueue_webhook_notifications(client, world):
    headers = bearer(world.official)
    client.post("/api/v1/webhooks", json={"url": "https://example.org/h"}, headers=headers)
    ref = client.post("/api/v1/requests", json=body(), headers=headers).json["reference"]
    client.post(f"/api/v1/requests/{ref}/actions/begin_review", json={},
                headers=bearer(world.reviewer))
    notes = db.session.scalars(sa.select(Notification).where(
        Notification.channel == "webhook").order_by(Notification.id)).all()
    assert [(n.params["data"]["trigger"], n.params["data"]["to_state"]) for n in notes] == [
        ("file", "received"), ("begin_review", "legal_review")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 2
    _ = timedelta


def test_the_api_limit_is_one_budget_for_the_whole_api(client, world, app):
    """Flask-Limiter counted each endpoint apart: 3 a minute meant 3 per endpoint."""
    app.config["API_RATE_LIMIT"] = "3 per minute"
    headers = bearer(world.official)
    req = world.file()
    codes = [client.get(url, headers=headers).status_code for url in (
        "/api/v1/requests", f"/api/v1/requests/{req.reference}",
        f"/api/v1/requests/{req.reference}/items", "/api/v1/requests")]
    assert codes == [200, 200, 200, 429]
    ok = client.get("/api/v1/requests", headers=bearer(world.reviewer))  # another token
    assert ok.status_code == 200
    assert (ok.headers["X-RateLimit-Limit"], ok.headers["X-RateLimit-Remaining"]) == ("3", "2")
    assert int(ok.headers["X-RateLimit-Reset"]) > 0


def test_the_detail_reads_each_clock_from_its_stored_times(client, world):
    """The detail's SLA readings come from the clock rows' deadline and pause and stop
    times alone (no whole clock is built): a paused clock keeps what was left at the
    pause, a stopped one what was left at the stop, a running one counts to now."""
    from datetime import UTC, datetime

    from portal.models import SlaClock

    req = world.file(["@reading"])
    due = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    rows = {row.target: row for row in db.session.scalars(
        sa.select(SlaClock).where(SlaClock.request_id == req.id))}
    rows["acknowledge"].due_at = due
    rows["acknowledge"].stopped_at = due + timedelta(seconds=120)  # two minutes late
    rows["resolve"].due_at = due
    rows["resolve"].paused_at = due - timedelta(hours=1)
    db.session.commit()
    sla = {c["target"]: c for c in client.get(
        f"/api/v1/requests/{req.reference}", headers=bearer(world.official)).json["sla"]}
    ack, resolve = sla["acknowledge"], sla["resolve"]
    assert (ack["remaining_seconds"], ack["breached"], ack["stopped"], ack["paused"]) == (
        -120, True, True, False)
    assert (resolve["remaining_seconds"], resolve["breached"], resolve["stopped"],
            resolve["paused"]) == (3600, False, False, True)
    assert resolve["due_at"] == "2026-11-20T12:00:00+00:00"
    rows["resolve"].paused_at = None
    db.session.commit()
    running = {c["target"]: c for c in client.get(
        f"/api/v1/requests/{req.reference}", headers=bearer(world.official)).json["sla"]}
    # Running past a deadline in the past: breached, and negative by the time since.
    assert running["resolve"]["breached"] and running["resolve"]["remaining_seconds"] < -3600


def test_the_detail_converts_the_requests_columns_once_whatever_its_clocks(world, monkeypatch):
    """The request's columns repeat on each clock's row of the detail's one query; they
    are converted (times parsed, JSON decoded, enums looked up) from the first row only:
    converting them on every row was a third of the detail's database read."""
    from portal.models import columns
    from portal.services import listing
    from portal.services.actors import Actor

    req = world.file(["@once"])
    official = world.official
    actor = Actor(official.id, official.role, official.agency_id)  # its row read now
    reference = req.reference
    converted = []
    original = columns.UTCDateTime.process_result_value

    def counting(self, value, dialect):
        if value is not None:
            converted.append(value)
        return original(self, value, dialect)

    monkeypatch.setattr(columns.UTCDateTime, "process_result_value", counting)
    # Converters are built once per engine and kept: forget them so they are built anew
    # around the counting one.
    db.engine.dialect._type_memos.clear()
    db.engine._compiled_cache.clear()
    listing._detail_read.cache_clear()
    detail = listing.request_detail(actor, reference)
    assert len(detail.clocks) == 2  # acknowledge and resolve, both running
    # The request's received_at and updated_at once, and each clock's deadline.
    assert len(converted) == 4, converted
    assert detail.request.reference == reference
    assert detail.request.received_at.tzinfo is not None
    assert {clock.target for clock in detail.clocks} == {"acknowledge", "resolve"}
    assert all(clock.due_at.tzinfo is not None for clock in detail.clocks)
