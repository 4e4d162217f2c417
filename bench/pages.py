"""Server time of the busiest pages with 100,000 requests and 1,000,000 items in the
database: the reviewer's queue, the liaison's dashboard, an agency's request list, and a
request page (and the reviewer's workspace) with 10,000 items; the start pages (what
needs each role now) and the notifications page. Every page carries the header's unread
count: each signed-in user has BENCH_NOTICES notices (a tenth unread). Goal: p95 <= 50 ms
on SQLite and PostgreSQL. 10 % of the requests are open (the backlog; BENCH_OPEN_SHARE), the
rest actioned or closed; the clocks are as the worker leaves them (thresholds fired), and
those of requests waiting for the agency's answer are paused (waiting for the agency).

Server time is measured in-process with Flask's test client (the whole WSGI call:
routing, sign-in, queries, templates), 50 renders per page after 5 warm-up renders.

Run: ``make bench`` or ``python -m bench.pages`` (BENCH_REQUESTS / BENCH_ITEMS to resize).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import g

from bench.harness import bench_app, engines, machine
from portal.extensions import db
from portal.models import LegalRequest, User
from portal.services import accounts, clocks, notices
from portal.services.transaction import transaction
from workflows import calendars, sla

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "100000"))
#: Share of requests still open (a backlog; the rest is history: actioned or closed).
OPEN_SHARE = float(os.environ.get("BENCH_OPEN_SHARE", "0.1"))
ITEMS = int(os.environ.get("BENCH_ITEMS", "1000000"))
BIG = 10_000
#: In-app notices per benchmark user (a tenth of them unread).
NOTICES = int(os.environ.get("BENCH_NOTICES", "20000"))
RENDERS = 50
NOW = datetime.now(UTC)
PASSWORD = "bench password 1"
STATES = ["received", "legal_review", "awaiting_info", "actioned", "disputed", "closed"]
CATEGORIES = ["terrorism", "disinformation", "hate_speech", "fraud", "public_order"]


def _insert(dialect: str, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    conn = db.session.connection()
    driver = conn.connection.driver_connection
    if dialect == "postgresql":
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    else:
        marks = ", ".join("?" * len(columns))
        driver.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                           rows)


def _ts(value: datetime, dialect: str) -> Any:
    return value.replace(tzinfo=None).isoformat(" ") if dialect == "sqlite" else value


def seed(dialect: str, requests: int = REQUESTS, items: int = ITEMS,
         open_share: float = OPEN_SHARE) -> dict[str, Any]:
    """Agencies, staff, ``requests`` requests spread over states and agencies (each with
    an order number "W.P.(C) <id>/2026"), ``items`` items (one request has BIG of them),
    and SLA clocks for every request."""
    rng = random.Random(7)
    with transaction():
        clocks.load_defaults()
    agencies = [accounts.create_agency(f"Agency {n}", country=cc, domain=f"a{n}.gov.example",
                                       verified=True, verified_until=NOW + timedelta(days=300))
                for n, cc in enumerate(["TR", "IN", "ID", "DE", "BR"] * 4)]
    official = accounts.create_user("official@a0.gov.example", role="agency_official",
                                    agency_id=agencies[0].id, password=PASSWORD)
    reviewer = accounts.create_user("reviewer@platform.example", role="legal_reviewer",
                                    password=PASSWORD)
    liaison = accounts.create_user("liaison@platform.example", role="platform_liaison",
                                   password=PASSWORD)
    cal = calendars.calendar_for("TR", years=[NOW.year - 1, NOW.year, NOW.year + 1])
    rule = sla.TargetRule(sla.ClockKind.ELAPSED, timedelta(hours=24))
    per_request = max(1, (items - BIG) // max(1, requests - 1))
    chunk = 20_000
    for first in range(1, requests + 1, chunk):
        ids = range(first, min(first + chunk, requests + 1))
        request_rows, item_rows, clock_rows = [], [], []
        for i in ids:
            agency = agencies[0] if i == 1 else agencies[i % len(agencies)]
            if i == 1:
                state = "legal_review"
            elif rng.random() < open_share:
                state = rng.choice(["received", "legal_review", "awaiting_info", "disputed"])
            else:
                state = rng.choice(["actioned", "closed", "closed", "closed"])
            received = NOW - timedelta(minutes=rng.randint(1, 60 * 24 * 20))
            count = BIG if i == 1 else per_request
            decided = 0 if state in {"received", "legal_review", "awaiting_info"} else count
            counts = {"pending": count - decided, "withheld_in_country": decided}
            request_rows.append((
                i, f"{agency.country}-2026-{i:07d}", agency.id, official.id, agency.country,
                "Law No. 5651", "8/A", "Authority", f"W.P.(C) {i}/2026",
                rng.choice(CATEGORIES), "urgent", "",
                state, _ts(received, dialect), _ts(received, dialect), count, 1, "0" * 64, 1,
                json.dumps(counts), "[]",
                reviewer.id if state != "received" else None,
                _ts(received + timedelta(hours=3), dialect)
                if state in {"actioned", "closed"} else None,
                _ts(received + timedelta(days=15), dialect) if state == "closed" else None,
                0 if state in {"actioned", "closed"} else 1))
            for p in range(1, count + 1):
                item_rows.append((i, p, "account", f"@r{i}_{p}", f"@r{i}_{p}",
                                  "withheld_in_country" if p <= decided else None))
            clock = sla.start_clock(sla.Target.RESOLVE, rule, sla.DEFAULT_THRESHOLDS,
                                    received, cal)
            open_ = state not in {"actioned", "closed"}
            # Waiting for the agency's answer: paused an hour after receipt (the reviewer
            # asked), as a policy that pauses leaves it; nothing fires while it waits.
            paused_at = received + timedelta(hours=1) if state == "awaiting_info" else None
            # As the worker leaves them: every threshold crossed by now has fired.
            fired = (sum(1 for t in clock.alert_times if t <= (paused_at or NOW))
                     if open_ else 0)
            next_alert = (clock.alert_times[fired]
                          if open_ and paused_at is None and fired < len(clock.alert_times)
                          else None)
            clock_rows.append((
                i, "resolve", "tr-5651", "Law No. 5651", "elapsed", 86400,
                clock.allowance.total_seconds(), None, "extend", json.dumps(list(clock.thresholds)),
                json.dumps([t.isoformat() for t in clock.alert_times]),
                _ts(clock.started_at, dialect), _ts(clock.due_at, dialect),
                _ts(clock.due_at, dialect) if open_ else None, 0.0,
                None if open_ else _ts(received + timedelta(hours=3), dialect), fired,
                _ts(next_alert, dialect) if next_alert else None, 1,
                # Nobody holds a request still "received" (the reviewer holds the rest).
                state == "received", _ts(paused_at, dialect) if paused_at else None,
                reviewer.id if open_ and state != "received" else None))
        _insert(dialect, "legal_requests", [
            "id", "reference", "agency_id", "filed_by_id", "jurisdiction", "legal_statute",
            "legal_article", "issuing_authority", "order_reference", "category", "priority",
            "description", "state", "received_at", "updated_at", "item_count",
            "event_count", "audit_head", "version", "decision_counts", "risk_flags",
            "assigned_reviewer_id", "actioned_at", "closed_at", "running_clocks"], request_rows)
        _insert(dialect, "request_items", ["request_id", "position", "kind", "raw", "target",
                                           "decision"], item_rows)
        _insert(dialect, "sla_clocks", [
            "request_id", "target", "policy_code", "source", "kind", "seconds",
            "allowance_seconds", "cutoff", "resume", "thresholds", "alert_times",
            "started_at", "due_at", "open_due_at", "paused_seconds", "stopped_at", "fired",
            "next_alert_at", "run", "unassigned", "paused_at", "holder_id"], clock_rows)
    # Every user has a long history of notices, a tenth of them unread: the header's
    # count on every page reads the partial index of unread rows.
    notice_rows = []
    for user_id in (official.id, reviewer.id, liaison.id):
        for n in range(NOTICES):
            rid = rng.randint(1, requests)
            created = NOW - timedelta(minutes=n)
            notice_rows.append((
                f"bench:{user_id}:{n}", user_id, "request_filed", rid, f"TR-2026-{rid:07d}",
                json.dumps({"reference": f"TR-2026-{rid:07d}", "agency": "Agency 0"}),
                _ts(created, dialect), None if n % 10 == 0 else _ts(created, dialect)))
    _insert(dialect, "user_notices", ["dedup_key", "user_id", "kind", "request_id",
                                      "reference", "payload", "created_at", "read_at"],
            notice_rows)
    conn = db.session.connection()
    if dialect == "postgresql":
        conn.exec_driver_sql(f"SELECT setval('legal_requests_id_seq', {requests})")
    db.session.commit()
    if dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    big = db.session.scalar(sa.select(LegalRequest.reference).where(LegalRequest.id == 1))
    return {"big": big}


def _timings(client: Any, path: str) -> list[float]:
    for _ in range(5):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    samples = []
    for _ in range(RENDERS):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200
    return samples


def run_engine(url: str) -> dict[str, tuple[float, float]]:
    with bench_app(url) as app:
        app.config.update(WTF_CSRF_ENABLED=False, TWO_FACTOR_ENFORCED=False,
                          RATELIMIT_ENABLED=False)
        dialect = db.engine.dialect.name
        seeded = seed(dialect)
        db.session.remove()
        pages = {
            "review queue (all open)": ("reviewer@platform.example", "/review/?tab=open"),
            "review queue (unassigned)": ("reviewer@platform.example", "/review/"),
            "liaison dashboard": ("liaison@platform.example", "/liaison/"),
            "agency request list": ("official@a0.gov.example", "/requests/"),
            "request page, 10,000 items": ("official@a0.gov.example",
                                           f"/requests/{seeded['big']}"),
            "reviewer workspace, 10,000 items": ("reviewer@platform.example",
                                                 f"/review/requests/{seeded['big']}"),
            "start page, official": ("official@a0.gov.example", "/"),
            "start page, reviewer": ("reviewer@platform.example", "/"),
            "start page, liaison": ("liaison@platform.example", "/"),
            "notifications page (unread)": ("reviewer@platform.example",
                                            "/notifications/?show=unread"),
        }
        results = {}
        # What the header's count adds to every page: the count alone, timed apart, so
        # the figure holds however loaded the machine is when the pages are measured.
        reviewer_id = db.session.scalar(sa.select(User.id).where(
            User.email == "reviewer@platform.example"))
        counted = []
        for _ in range(RENDERS * 4):
            started = time.perf_counter()
            notices.unread_count(reviewer_id)
            counted.append((time.perf_counter() - started) * 1000)
        db.session.remove()
        counted.sort()
        results["header unread count (query alone)"] = (
            statistics.median(counted), counted[int(len(counted) * 0.95) - 1])
        for name, (email, path) in pages.items():
            # Requests reuse the benchmark's app context, where Flask-Login caches the
            # signed-in user in g: forget it so each page runs as its own user.
            g.pop("_login_user", None)
            with app.test_client() as client:
                client.post("/login", data={"email": email, "password": PASSWORD})
                samples = _timings(client, path)
            ms = sorted(s * 1000 for s in samples)
            results[name] = (statistics.median(ms), ms[int(len(ms) * 0.95) - 1])
    return results


def main() -> None:
    print(f"page benchmark on {machine()}: {REQUESTS:,} requests, {ITEMS:,} items, "
          f"{RENDERS} renders per page")
    for name, url in engines():
        for page, (median, p95) in run_engine(url).items():
            flag = "" if p95 <= 50 else "  <-- over the 50 ms goal"
            print(f"{name:10}  {page:34} median {median:6.1f} ms   p95 {p95:6.1f} ms{flag}")


if __name__ == "__main__":
    main()
