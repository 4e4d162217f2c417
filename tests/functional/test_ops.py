"""/healthz, /readyz, /metrics, request ids, JSON logs and ``flask check``.

Before these existed an operator had no probe, no metric, no request id and no way to
check the settings short of the first failing query (issue 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, Notification
from portal.models.columns import utcnow
from portal.services import heartbeat, notify, tokens
from portal.services.transaction import transaction
from tests.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}
TOKEN = "ops-token-for-the-tests-0123456789abcdef"


@pytest.fixture
def beating(app):
    """A worker that has just finished a good pass."""
    now = utcnow()
    heartbeat.beat("worker-host:1", started_at=now, ok=True, pass_seconds=0.25,
                   interval=30, now=now)


def test_healthz_answers_anyone(client):
    response = client.get("/healthz", environ_base=OUTSIDE)
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok\n"


def test_readyz_tells_the_public_one_word(client, beating):
    response = client.get("/readyz", environ_base=OUTSIDE)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ready\n"
    assert response.mimetype == "text/plain"


def test_readyz_gives_detail_to_internal_addresses_and_the_token(client, app, beating):
    app.config["OPS_TOKEN"] = TOKEN
    inside = client.get("/readyz").json  # the test client comes from 127.0.0.1
    assert inside["status"] == "ready"
    names = [c["name"] for c in inside["checks"]]
    assert names == ["database", "schema", "worker", "outbox", "rate limits"]
    with_token = client.get("/readyz", environ_base=OUTSIDE,
                            headers={"Authorization": f"Bearer {TOKEN}"})
    assert with_token.json["status"] == "ready"
    wrong = client.get("/readyz", environ_base=OUTSIDE,
                       headers={"Authorization": "Bearer not-it"})
    assert wrong.get_data(as_text=True) == "ready\n"


def test_readyz_fails_without_a_worker_and_with_a_stalled_one(client, app):
    response = client.get("/readyz", environ_base=OUTSIDE)
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "not ready\n"
    [worker] = [c for c in client.get("/readyz").json["checks"] if c["name"] == "worker"]
    assert worker["status"] == "fail" and "no worker" in worker["detail"]
    long_ago = utcnow() - timedelta(seconds=91)
    heartbeat.beat("stuck:1", started_at=long_ago, ok=True, pass_seconds=1, interval=30,
                   now=long_ago)
    [worker] = [c for c in client.get("/readyz").json["checks"] if c["name"] == "worker"]
    assert worker["status"] == "fail" and "stalled" in worker["detail"]
    app.config["READY_REQUIRES_WORKER"] = False
    assert client.get("/readyz").status_code == 200


def test_readyz_fails_when_the_outbox_backs_up(client, app, beating):
    app.config["READY_MAX_OUTBOX_BACKLOG"] = 2
    with transaction():
        for n in range(3):
            notify.enqueue_mail("password_reset", recipient=f"u{n}@platform.example",
                                params={}, dedup_key=f"k{n}")
    response = client.get("/readyz")
    assert response.status_code == 503
    [outbox] = [c for c in response.json["checks"] if c["name"] == "outbox"]
    assert outbox == {"name": "outbox", "status": "fail",
                      "detail": "more than 2 notifications due"}


def test_readyz_fails_when_the_schema_is_behind_the_code(client, beating):
    with db.engine.begin() as conn:
        head = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '4c2a9e1f7b3d'"))
    try:
        response = client.get("/readyz")
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert response.status_code == 503
    [schema] = [c for c in response.json["checks"] if c["name"] == "schema"]
    assert schema["status"] == "fail" and "flask db upgrade" in schema["detail"]


def test_metrics_are_not_public(client, app):
    app.config["OPS_TOKEN"] = TOKEN
    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 404
    wrong = client.get("/metrics", environ_base=OUTSIDE, headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 404


def test_metrics_read_the_requests_clocks_outbox_and_workers(client, app, world, policies,
                                                             beating):
    app.config["OPS_TOKEN"] = TOKEN
    world.file(["@a", "@b"], now=utcnow())
    with transaction():
        notify.enqueue_mail("password_reset", recipient="u@platform.example", params={},
                            dedup_key="due", now=utcnow() - timedelta(minutes=5))
    client.get("/")
    response = client.get("/metrics", environ_base=OUTSIDE,
                          headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)
    lines = set(text.splitlines())
    assert 'portal_requests{state="received"} 1.0' in lines
    assert 'portal_sla_open_clocks{band="on_track"} 2.0' in lines
    assert "portal_sla_breaches 0.0" in lines
    due = db.session.scalar(sa.select(sa.func.count()).where(
        Notification.status == "pending", Notification.next_attempt_at <= utcnow()))
    assert due >= 1 and f"portal_outbox_backlog {due:.1f}" in lines
    oldest = next(line for line in lines if line.startswith("portal_outbox_oldest_due_seconds"))
    assert 290 < float(oldest.split()[1]) < 400
    assert 'portal_worker_pass_seconds{worker="worker-host:1"} 0.25' in lines
    assert 'portal_worker_failed_passes{worker="worker-host:1"} 0.0' in lines
    assert any(line.startswith('portal_http_request_duration_seconds_bucket{endpoint='
                               '"main.index",le="0.005",method="GET"}') for line in lines)
    assert any(line.startswith('portal_http_requests_total{endpoint="main.index",'
                               'method="GET",status="200"}') for line in lines)


@pytest.mark.parametrize(("given", "kept"), [
    ("3f2a9c0e8b7d4a1f9e6c5b4a3d2e1f00", True),
    ("trace-1.2:3", True),
    ("x" * 129, False),
    ("bad id with spaces", False),
    ("<script>alert(1)</script>", False),
    ("", False),
])
def test_request_ids_are_taken_when_sane_and_made_otherwise(client, given, kept):
    response = client.get("/healthz", headers={"X-Request-ID": given} if given else {})
    returned = response.headers["X-Request-ID"]
    if kept:
        assert returned == given
    else:
        assert returned != given and len(returned) == 32 and int(returned, 16) >= 0


def test_the_request_id_is_written_on_the_audit_events_staff_only(client, world, policies):
    _, token = tokens.create_token(world.official, "t", scopes=["file", "read"])
    auth = {"Authorization": f"Bearer {token}"}
    filed = client.post("/api/v1/requests", headers={**auth, "X-Request-ID": "filing-42"},
                        json={"category": "fraud", "priority": "standard",
                              "issuing_authority": "BTK", "requested_action": "remove",
                              "legal_basis": {"statute": "Law No. 5651"},
                              "items": [{"target": "@x"}]})
    assert filed.status_code == 201 and filed.headers["X-Request-ID"] == "filing-42"
    [event] = db.session.scalars(sa.select(Event)).all()
    assert event.payload["request_id"] == "filing-42"
    reference = filed.json["reference"]
    seen_by_agency = client.get(f"/api/v1/requests/{reference}/events", headers=auth).json
    assert "request_id" not in seen_by_agency["data"][0]["payload"]


def flask_process(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, DATABASE_URL=database_url, PORTAL_ENV="testing",
                       PORTAL_MAIL_BACKEND='"log"')
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)


def test_an_exception_is_one_json_line_with_its_traceback_and_request_id(app):
    import logging

    from portal.logs import JsonFormatter, assign_request_id

    with app.test_request_context("/x", headers={"X-Request-ID": "req-7"}):
        assign_request_id()
        try:
            raise RuntimeError("boom\nsecond line")
        except RuntimeError:
            record = logging.getLogger("portal").makeRecord(
                "portal", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info())
        line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed here" and entry["request_id"] == "req-7"
    assert entry["exception"]["type"] == "RuntimeError"
    assert entry["exception"]["traceback"].startswith("Traceback (most recent call last)")


def test_the_worker_logs_json_lines(app, database_url):
    """A failing pass (a mail whose template does not exist) logs one JSON line."""
    with transaction():
        notify.enqueue_mail("no_such_template", recipient="x@platform.example", params={},
                            dedup_key="broken")
    done = flask_process(database_url, "worker", "--once", PORTAL_LOG_FORMAT='"json"')
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[-1] == "Error: the pass failed (see the log line above)"  # click's own
    entries = [json.loads(line) for line in lines[:-1]]
    [failed] = [e for e in entries if e["logger"] == "portal.worker"]
    assert failed["level"] == "ERROR" and "pass failed (1 in a row)" in failed["message"]
    assert "TemplateNotFound" in failed["message"]


def test_check_reaches_every_dependency(app, database_url, smtp, beating):
    done = flask_process(database_url, "check", PORTAL_MAIL_BACKEND='"smtp"',
                         PORTAL_MAIL_SERVER='"127.0.0.1"',
                         PORTAL_MAIL_PORT=str(app.config["MAIL_PORT"]))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "ok    settings", "ok    database", "ok    schema", "ok    rate limits", "ok    smtp",
        "ok    documents", "ok    worker", "ok    outbox"]
    assert lines[-1] == "check: every dependency answered"


def test_check_fails_naming_each_dependency_it_cannot_reach(app, database_url):
    dead = free_port()
    done = flask_process(database_url, "check", PORTAL_MAIL_BACKEND='"smtp"',
                         PORTAL_MAIL_SERVER='"127.0.0.1"', PORTAL_MAIL_PORT=str(dead),
                         RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{dead}/0")
    assert done.returncode == 1
    out = done.stdout
    assert f"FAIL  rate limits: redis://127.0.0.1:{dead}/0 unreachable" in out
    assert f"FAIL  smtp: 127.0.0.1:{dead}: ConnectionRefusedError" in out
    assert "WARN  worker: no worker has ever beaten" in out
    assert "check: 2 failed (rate limits, smtp)" in done.stderr
    bad_db = flask_process("postgresql://nobody@127.0.0.1:1/none", "check")
    assert bad_db.returncode == 1
    assert "FAIL  database: OperationalError" in bad_db.stdout


def test_notifications_table_is_left_clean(app):
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_schema_heads_read_from_the_files_are_alembics(app):
    # Readiness reads the heads without loading Alembic into the web worker.
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from portal.database import MIGRATIONS_DIR
    from portal.services.readiness import schema_heads

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert schema_heads() == frozenset(ScriptDirectory.from_config(config).get_heads())
    assert len(schema_heads()) == 1
