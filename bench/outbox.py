"""Outbox throughput: an alert wave of 10,000 SLA mails delivered to a local SMTP server
(aiosmtpd on loopback) by the worker's delivery step, pass after pass, until none is due.

Goal: all 10,000 delivered in <= 60 s. Before: at most 200 mails a pass (one SMTP
connection each), so 50 passes, 25 minutes at the default 30-second interval.

Run: ``make bench`` (SQLite and a throwaway PostgreSQL) or ``python -m bench.outbox``.
Set BENCH_MAILS to try another size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench.harness import bench_app, engines, machine
from portal.extensions import db
from portal.models import DeliveryStatus, Notification
from portal.services import outbox
from tests.smtp import free_port

MAILS = int(os.environ.get("BENCH_MAILS", "10000"))
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
LOCALES = ("en", "tr", "hi", "id", "ar")


#: The SMTP server runs in a process of its own, as a real one would: in the
#: benchmark's process it would take the interpreter lock from the sender.
SERVER = """
import sys, time
from aiosmtpd.controller import Controller
class Counter:
    received = connections = 0
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        Counter.connections += 1
        session.host_name = hostname
        return responses
    async def handle_DATA(self, server, session, envelope):
        Counter.received += 1
        return "250 OK"
server = Controller(Counter(), hostname="127.0.0.1", port=int(sys.argv[1]))
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
print(Counter.received, Counter.connections, flush=True)
"""


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "-c", SERVER, str(self.port)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def stop(self) -> tuple[int, int]:
        """(messages received, connections)."""
        out, _ = self.process.communicate("", timeout=30)
        received, connections = out.split()
        return int(received), int(connections)


def _seed() -> None:
    rows = [{
        "dedup_key": f"bench:{n}", "channel": "email", "template": "sla_alert",
        "params": {"reference": f"TR-2026-{n:06d}", "target": "resolve", "threshold": 0.5,
                   "due_at": (NOW + timedelta(hours=2)).isoformat(), "policy": "turkey",
                   "source": "Law No. 5651 Arts. 8, 8/A", "jurisdiction": "TR",
                   "category": "terrorism", "priority": "urgent"},
        "recipient": f"liaison{n % 40}@platform.example", "locale": LOCALES[n % 5],
        "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": NOW,
        "created_at": NOW,
    } for n in range(MAILS)]
    db.session.execute(sa.insert(Notification), rows)
    db.session.commit()


def main() -> None:
    print(f"outbox: {MAILS} alert mails to a local SMTP server ({machine()})")
    for name, url in engines():
        with bench_app(url) as app:
            _seed()
            server = SmtpSink()
            app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1",
                              MAIL_PORT=server.port, MAIL_SENDER="Portal <p@platform.example>")
            try:
                started = time.perf_counter()
                passes = 0
                while True:
                    result = outbox.deliver_due(NOW + timedelta(seconds=1))
                    passes += 1
                    if result.sent + result.retried + result.failed == 0:
                        break
                took = time.perf_counter() - started
            finally:
                received, connections = server.stop()
            sent = db.session.scalar(sa.select(sa.func.count()).where(
                Notification.status == DeliveryStatus.SENT))
            print(f"  {name:10} {sent} sent, {received} received in {took:.1f} s "
                  f"({sent / took:.0f} mails/s), {passes - 1} pass(es), "
                  f"{connections} SMTP connection(s)")


if __name__ == "__main__":
    main()
