"""The sweep and the worker as real processes: killed mid-run, stopped by a signal between
passes, and alive through a PostgreSQL restart."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal import worker as worker_loop
from portal.extensions import db
from portal.models import DeliveryStatus, Event, Notification, SlaClock
from portal.services import audit_verify, clocks, notify
from portal.services.transaction import transaction
from tests.conftest import _make_app
from tests.factories import World, make_user

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def flask(database_url: str, *args: str, **settings: str) -> subprocess.Popen[str]:
    env = dict(os.environ, DATABASE_URL=database_url, PORTAL_ENV="testing",
               PORTAL_MAIL_BACKEND='"log"')
    env.update(settings)
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


def test_a_signal_while_waiting_stops_the_worker_at_once(app, database_url):
    worker = flask(database_url, "worker", "--interval", "600")
    assert worker.stdout is not None
    assert "worker: started" in worker.stdout.readline()
    assert "alerts" in worker.stdout.readline()  # one pass done; now a 10-minute wait
    time.sleep(0.5)
    signalled = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    rest, _ = worker.communicate(timeout=30)
    assert time.monotonic() - signalled < 5, "the wait should end at the signal"
    assert worker.returncode == 0, rest
    assert rest.startswith("worker: SIGTERM received, stopping\n")
    assert rest.rstrip().endswith("worker: stopped")


class HeldInbox:
    """An SMTP server's handler that holds each message until the test lets it go."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.arrived.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)
        return "250 OK"


def test_a_signal_during_a_pass_lets_the_pass_finish(app, database_url):
    """Ctrl-C while the pass hands a mail to a slow SMTP server: the mail is sent and
    recorded, the pass ends, then the worker exits 0."""
    user = make_user("legal_reviewer")
    with transaction():
        note = notify.enqueue_mail(
            "password_reset", recipient=user.email, user_id=user.id, dedup_key="held",
            params={"name": user.name, "link": "http://localhost/reset", "minutes": 60})
    inbox = HeldInbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    worker = flask(database_url, "worker", "--interval", "600", PORTAL_MAIL_BACKEND='"smtp"',
                   PORTAL_MAIL_SERVER='"127.0.0.1"', PORTAL_MAIL_PORT=str(port))
    try:
        assert inbox.arrived.wait(30), "the worker sent no mail"
        worker.send_signal(signal.SIGINT)  # while the mail is on its way
        inbox.release.set()
        rest, _ = worker.communicate(timeout=30)
    finally:
        inbox.release.set()
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
        server.stop()
    assert worker.returncode == 0, rest
    assert "worker: 0 alerts, 0 closed, 1 sent" in rest
    assert "worker: SIGINT received during a pass, stopping after it" in rest
    assert rest.rstrip().endswith("worker: stopped")
    db.session.expire_all()
    assert db.session.get(Notification, note.id).status is DeliveryStatus.SENT


def test_the_backoff_doubles_up_to_the_cap_and_starts_at_the_interval():
    waits = [worker_loop.backoff(30, failures, 300) for failures in range(7)]
    assert waits == [30, 30, 60, 120, 240, 300, 300]
    assert worker_loop.backoff(10, 3, 5) == 10  # never shorter than the interval


# -- the database goes away under the worker ------------------------------------------

class PrivatePostgres:
    """A PostgreSQL cluster of this test's own (the commands of .ci/with-postgres), which
    it can stop and start without disturbing the suite's server."""

    def __init__(self, bin_dir: Path, directory: Path) -> None:
        self.bin, self.dir = bin_dir, directory
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        # initdb refuses to run as root: as root, the cluster belongs to the postgres user.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_owner, str(self.bin / program), *args], check=True,
                       capture_output=True, timeout=60)

    def create(self) -> None:
        self.run("initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--locale=C.UTF-8")

    def start(self) -> None:
        self.run("pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                 f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off",
                 "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)])
    if not found:
        pytest.skip("needs Debian's postgresql package (.ci/with-postgres installs it)")
    directory = Path(tempfile.mkdtemp(prefix="portal-pg-worker."))
    directory.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    server = PrivatePostgres(found[-1].parent, directory)
    try:
        server.create()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(directory, ignore_errors=True)


class Lines:
    """The lines a process writes, read in the background so a test can wait for one."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(process.stdout,),
                                        daemon=True)
        self._reader.start()

    def _read(self, stream: typing.IO[str]) -> None:
        with stream:
            for line in stream:
                self._queue.put(line)
        self._queue.put(None)  # the end of the output

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        """The next line matching ``pattern`` (a regular expression)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if not line:
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s; "
                                     "the output so far:\n" + "".join(self.seen))
            self.seen.append(line)
            if re.search(pattern, line):
                return line

    def rest(self, timeout: float = 10) -> str:
        """Every line still to come, once the process has closed its output."""
        self._reader.join(timeout)
        found = []
        while not self._queue.empty():
            line = self._queue.get()
            if line:
                found.append(line)
        self.seen.extend(found)
        return "".join(found)


@pytest.mark.postgres_only
def test_the_worker_survives_postgresql_going_away_and_works_on_its_return(
        private_postgres, tmp_path):
    """PostgreSQL stopped under a running worker (a restart, a failover): each pass fails
    at connect and is logged, the waits grow to the cap, and the worker goes on; once the
    database is back, its next pass does the work that arrived meanwhile."""
    portal = _make_app(private_postgres.url, tmp_path)
    with portal.app_context():
        from flask_migrate import upgrade

        upgrade()
        with transaction():
            clocks.load_defaults()
    worker = flask(private_postgres.url, "worker", "--interval", "0.2", "--max-backoff", "0.4")
    lines = Lines(worker)
    try:
        lines.wait_for(r"^worker: 0 alerts")  # a good pass
        private_postgres.stop()
        first = lines.wait_for(r"pass failed \(1 in a row\), next in 0\.2 s")
        assert "OperationalError" in first and f"port {private_postgres.port}" in first
        lines.wait_for(r"pass failed \(2 in a row\), next in 0\.4 s")
        lines.wait_for(r"pass failed \(3 in a row\), next in 0\.4 s")  # the cap
        assert worker.poll() is None, "the worker ended with the database"
        private_postgres.start()
        with portal.app_context():
            World().file(now=T0)  # overdue: every threshold of both clocks is crossed
        lines.wait_for(r"^worker: 8 alerts")
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=10)
        stopped_after = time.monotonic() - started
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        with portal.app_context():
            db.engine.dispose()
    rest = lines.rest()
    assert worker.returncode == 0 and stopped_after < 5, rest
    assert "SIGTERM received" in rest and rest.rstrip().endswith("worker: stopped")
    assert "".join(lines.seen).count("worker: started") == 1  # one process all along
