"""The sweep and the worker as real processes: killed mid-run, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, Notification, SlaClock
from portal.services import audit_verify, clocks
from portal.services.transaction import transaction
from tests.factories import World

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def flask(database_url: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, DATABASE_URL=database_url, PORTAL_ENV="testing",
               PORTAL_MAIL_BACKEND='"log"')
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


@pytest.fixture
def many_due(app):
    """300 requests whose acknowledge and resolve clocks are all past every threshold."""
    with transaction():
        clocks.load_defaults()
    w = World()
    for n in range(300):
        w.file([f"@t{n}"], now=T0)
    db.session.remove()
    return count(SlaClock) * 4  # four thresholds per clock


def test_sweep_killed_mid_run_loses_and_duplicates_nothing(app, database_url, many_due):
    at = (T0 + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S%z")
    sweeper = flask(database_url, "sla", "sweep", "--batch", "1", "--now", at)
    deadline = time.monotonic() + 60
    while count(Event) - 300 <= 0 and time.monotonic() < deadline:  # 300 "filed" events
        time.sleep(0.005)
    sweeper.send_signal(signal.SIGKILL)
    sweeper.communicate(timeout=10)
    fired_before = count(Event) - 300
    assert 0 < fired_before < many_due, "the kill should land mid-run"
    again = flask(database_url, "sla", "sweep", "--now", at)
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0, output
    alerts = db.session.execute(sa.select(Event.request_id, Event.payload).where(
        Event.kind == "sla_alert")).all()
    keys = [(rid, p["target"], p["threshold"]) for rid, p in alerts]
    assert len(keys) == len(set(keys)) == many_due
    notes = db.session.scalars(sa.select(Notification.dedup_key)).all()
    assert len(notes) == len(set(notes)) > 0
    assert list(audit_verify.verify_all()) == []


def test_worker_stops_cleanly_on_sigterm(app, database_url):
    worker = flask(database_url, "worker", "--interval", "0.2")
    assert worker.stdout is not None
    first = worker.stdout.readline()
    assert "worker: started" in first
    assert "alerts" in worker.stdout.readline()  # one pass done
    worker.send_signal(signal.SIGTERM)
    rest, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0
    assert "stopping after this pass" in rest and rest.rstrip().endswith("worker: stopped")
