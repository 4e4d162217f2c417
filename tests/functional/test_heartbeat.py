"""The worker's heartbeat: every pass writes it, good or failed, so a stalled worker shows;
a clean stop removes it; the deploy entrypoint starts the same worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from portal import worker as worker_loop
from portal.extensions import db
from portal.models import WorkerHeartbeat
from portal.models.columns import utcnow
from portal.services import heartbeat, notify
from portal.services.transaction import transaction

ROOT = Path(__file__).resolve().parents[2]


def rows() -> list[WorkerHeartbeat]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(WorkerHeartbeat)))


def test_a_good_pass_writes_the_heartbeat(app):
    assert worker_loop.run(interval=30, max_backoff=60, once=True, echo=lambda _: None)
    [row] = rows()
    assert row.name == heartbeat.identity() and row.pid == os.getpid()
    assert row.ok_at == row.beat_at and row.failures == 0 and row.passes == 1
    assert row.interval_seconds == 30 and row.pass_seconds >= 0
    live = heartbeat.liveness()
    assert live.workers == 1 and live.age_seconds is not None and live.age_seconds < 5


def test_a_failed_pass_beats_too_but_is_not_a_good_pass(app):
    """A pass that fails every time (here: a mail whose template does not exist, a real
    bug in a step) still beats, so the worker shows as alive but not working."""
    with transaction():
        notify.enqueue_mail("no_such_template", recipient="x@platform.example",
                            params={}, dedup_key="broken")
    assert not worker_loop.run(interval=30, max_backoff=60, once=True, echo=lambda _: None)
    [row] = rows()
    assert row.ok_at is None and row.failures == 1
    assert "TemplateNotFound" in (row.last_error or "")
    assert heartbeat.liveness().age_seconds is None


def test_stale_rows_of_killed_workers_are_forgotten(app):
    from datetime import timedelta

    now = utcnow()
    heartbeat.beat("gone-host:1", started_at=now - timedelta(days=3), ok=True,
                   pass_seconds=0.1, interval=30, now=now - timedelta(days=2))
    heartbeat.beat("here:2", started_at=now, ok=True, pass_seconds=0.1, interval=30, now=now)
    assert [r.name for r in rows()] == ["here:2"]


def test_the_entrypoint_runs_the_worker_and_a_clean_stop_removes_its_heartbeat(
        app, database_url):
    env = dict(os.environ, DATABASE_URL=database_url, PORTAL_ENV="testing",
               PORTAL_MAIL_BACKEND='"log"', PORTAL_PYTHON_BIN=str(Path(sys.executable).parent))
    worker = subprocess.Popen([str(ROOT / "deploy" / "entrypoint.sh"), "worker",
                               "--interval", "600"], cwd="/", env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert worker.stdout is not None
        assert "worker: started" in worker.stdout.readline()
        assert "alerts" in worker.stdout.readline()
        [row] = rows()
        assert row.pid == worker.pid and row.ok_at is not None  # exec'd: the same process
        worker.send_signal(signal.SIGTERM)
        rest, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, rest
    assert rows() == []
