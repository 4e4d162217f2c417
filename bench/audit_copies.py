"""`audit verify` over a record of about a million events on PostgreSQL, built in minutes:
the record ``bench.audit`` made through the services (kept with BENCH_AUDIT_KEEP),
copied BENCH_AUDIT_COPIES times in a database of its own.

Each copy's requests, items and messages are the originals' rows under new ids and new
references (``IN-2026-<n>`` numbered on from the counter); its events are the originals'
with their global numbers moved past the record's and every hash of every chain computed
again through the portal's own functions (``models.event.event_body``,
``workflows.audit.chain_hash``), since each event's body names its request; the ledger,
the reference counter and the id sequences are moved on. The items' lines, buckets and
digests name no request, so they copy as they are. Only what ``audit verify`` reads is
copied (not the clocks, facts or notifications), and the copy's items and requests keep
only the indexes verify and the copies need (the search indexes are dropped: building
them for six million rows is what would take long).

Run (the kept 3,000-request record first, see bench/audit.py):
``BENCH_AUDIT_REQUESTS=3000 BENCH_AUDIT_COPIES=77 python -m bench.audit_copies URL``
where URL is the server's maintenance database (``…/postgres``).
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
from typing import Any

import sqlalchemy as sa

from bench.harness import machine
from portal import create_app
from portal.extensions import db
from portal.models import User
from portal.models.columns import utcnow
from portal.models.event import event_body
from portal.services import audit_checkpoint, audit_verify, messages
from portal.services.actors import Actor
from workflows.audit import GENESIS, chain_hash

REQUESTS = int(os.environ.get("BENCH_AUDIT_REQUESTS", "3000"))
COPIES = int(os.environ.get("BENCH_AUDIT_COPIES", "77"))
_DROPPED = ("ix_request_items_target", "ix_request_items_request_decision",
            "ix_legal_requests_order_line_trgm")
_EVENT_COLUMNS = ("id, request_id, seq, kind, trigger, from_state, to_state, actor_id, "
                  "actor_role, payload, created_at, prev_hash, hash, chain_version, gseq, "
                  "snapshot")


def _columns(conn: sa.Connection, table: str) -> list[str]:
    return list(conn.scalars(sa.text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
        "ORDER BY ordinal_position"), {"t": table}))


def _copy_rows(conn: sa.Connection, table: str, offsets: dict[str, str], where: str) -> None:
    """INSERT every copy of ``table``'s original rows, columns shifted by ``offsets``
    (SQL in ``k``, the copy's number)."""
    names = _columns(conn, table)
    values = ", ".join(offsets.get(n, f'"{n}"') for n in names)
    conn.execute(sa.text(
        f'INSERT INTO {table} ({", ".join(f"{chr(34)}{n}{chr(34)}" for n in names)}) '
        f"SELECT {values} FROM {table} CROSS JOIN generate_series(1, :copies) AS k "
        f"WHERE {where}"), {"copies": COPIES})


def build(url: str) -> None:
    """Copy the record in the database at ``url`` (the originals hold ids 1..N)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        n = conn.scalar(sa.text("SELECT max(id) FROM legal_requests"))
        g = conn.scalar(sa.text("SELECT last_gseq FROM audit_ledger"))
        counts = {t: conn.scalar(sa.text(f"SELECT max(id) FROM {t}"))
                  for t in ("request_items", "messages", "events")}
        assert conn.scalar(sa.text("SELECT count(*) FROM legal_requests")) == n == REQUESTS + 1
        assert conn.scalar(sa.text("SELECT count(*) FROM events")) == g == counts["events"]
        for index in _DROPPED:
            conn.execute(sa.text(f"DROP INDEX IF EXISTS {index}"))
        started = time.perf_counter()
        _copy_rows(conn, "legal_requests", {
            "id": f"id + k * {n}",
            "reference": f"'IN-2026-' || lpad((id + k * {n})::text, 6, '0')"}, "true")
        _copy_rows(conn, "request_items", {"id": f"id + k * {counts['request_items']}",
                                           "request_id": f"request_id + k * {n}"}, "true")
        _copy_rows(conn, "messages", {"id": f"id + k * {counts['messages']}",
                                      "request_id": f"request_id + k * {n}"}, "true")
        print(f"requests, items, messages copied in {time.perf_counter() - started:.0f} s",
              flush=True)
        started = time.perf_counter()
        columns = ", ".join("e." + c for c in _EVENT_COLUMNS.split(", "))
        originals = conn.execute(sa.text(
            f"SELECT r.reference, {columns} "
            "FROM events e JOIN legal_requests r ON r.id = e.request_id "
            f"WHERE e.request_id <= {n} ORDER BY e.request_id, e.seq")).all()
        heads: list[tuple[int, str]] = []
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(
                f"COPY events ({_EVENT_COLUMNS}) FROM STDIN") as copy:
            for k in range(1, COPIES + 1):
                prev, at = GENESIS, None
                for e in originals:
                    if at != e.request_id:
                        if at is not None:
                            heads.append((at + k * n, prev))
                        prev, at = GENESIS, e.request_id
                    number = int(e.reference.rsplit("-", 1)[1]) + k * n
                    reference = f"IN-2026-{number:06d}"
                    payload = dict(e.payload)
                    if "message_id" in payload:
                        payload["message_id"] += k * counts["messages"]
                    gseq = e.gseq + k * g
                    digest = chain_hash(prev, event_body(
                        reference=reference, seq=e.seq, kind=e.kind, trigger=e.trigger,
                        from_state=e.from_state, to_state=e.to_state, actor_id=e.actor_id,
                        actor_role=e.actor_role, payload=payload, created_at=e.created_at,
                        version=e.chain_version, gseq=gseq, snapshot=e.snapshot))
                    copy.write_row((e.id + k * counts["events"], e.request_id + k * n, e.seq,
                                    e.kind, e.trigger, e.from_state, e.to_state, e.actor_id,
                                    e.actor_role, json.dumps(payload), e.created_at, prev,
                                    digest, e.chain_version, gseq, json.dumps(e.snapshot)))
                    prev = digest
                heads.append((at + k * n, prev))
        print(f"{len(originals) * COPIES:,} events written in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        buffer = io.StringIO("".join(f"{rid}\t{head}\n" for rid, head in heads))
        conn.execute(sa.text("CREATE TEMP TABLE heads (id int PRIMARY KEY, head text)"))
        with raw.cursor() as cursor, cursor.copy("COPY heads FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        conn.execute(sa.text("UPDATE legal_requests r SET audit_head = h.head FROM heads h "
                             "WHERE h.id = r.id"))
        total = (COPIES + 1)
        conn.execute(sa.text(f"UPDATE audit_ledger SET last_gseq = {g * total}"))
        conn.execute(sa.text(f"UPDATE reference_counters SET last = {n * total} "
                             "WHERE jurisdiction = 'IN' AND year = 2026"))
        for table in ("legal_requests", "request_items", "messages", "events"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


def measure(url: str) -> None:
    os.environ.setdefault("PORTAL_ENV", "development")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ATTACHMENT_DIR": tempfile.mkdtemp(),
                      "SECRET_KEY": "bench-only-secret-key-never-used-in-production"})
    with app.app_context():
        for workers in (1, 2):
            tally = audit_verify.Tally()
            started = time.perf_counter()
            # As the command runs it: the seals taken for the checkpoint (PostgreSQL).
            found = list(audit_verify.verify_all(None, tally, workers, seal=True))
            took = time.perf_counter() - started
            assert not found, found[:5]
            print(f"audit verify (--workers {workers}): {tally.requests:,} requests, "
                  f"{tally.events:,} events, {tally.items:,} items in {took:.1f} s "
                  f"({1e6 * took / tally.events:.0f} µs an event, {1e6 * took / tally.items:.1f}"
                  f" µs an item)", flush=True)
        started = time.perf_counter()
        audit_checkpoint.save(tally, "full", utcnow())
        print(f"checkpoint with {len(tally.seals or ()):,} seals saved in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        reviewer = Actor.of(_user("r@platform.example"))
        refs = db.session.scalars(sa.text(
            "SELECT reference FROM legal_requests ORDER BY id LIMIT 20")).all()
        for ref in refs:
            messages.post_message(reviewer, ref, "Seen again.", internal=True)
        db.session.remove()
        start = audit_checkpoint.newest()
        tally = audit_verify.Tally()
        started = time.perf_counter()
        found = list(audit_checkpoint.verify_since(start, tally))
        took = time.perf_counter() - started
        assert not found, found[:5]
        print(f"audit verify --since (20 changed, {tally.unchanged:,} by their head, "
              f"{tally.sealed:,} of them by their seal): {took:.1f} s", flush=True)


def _user(email: str) -> Any:
    return db.session.scalar(sa.select(User).where(User.email == email))


def main() -> None:
    server = sa.engine.make_url(sys.argv[1])
    name = f"audit_bench_{REQUESTS}_x{COPIES + 1}"
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": name})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "audit_bench_{REQUESTS}"'))
    engine.dispose()
    url = server.set(database=name).render_as_string(hide_password=False)
    print(f"audit verify over copies on {machine()}: {name}", flush=True)
    copied = sa.create_engine(url)
    with copied.connect() as conn:
        done = conn.scalar(sa.text("SELECT count(*) FROM legal_requests")) > REQUESTS + 1
    copied.dispose()
    if not done:  # a build that failed rolled back whole
        started = time.perf_counter()
        build(url)
        print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    measure(url)


if __name__ == "__main__":
    main()
