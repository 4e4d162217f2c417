"""The SLA sweep over 1,000,000 open clocks: with 1,000 alerts due (goal <= 1 s), and with
nothing due (goal <= 5 ms: an index walk, not a scan; the query plans are printed).

Run: ``make bench`` (SQLite and a throwaway PostgreSQL) or ``python -m bench.sla_sweep``.
Set BENCH_CLOCKS to try another size.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench.harness import bench_app, engines, machine, median_ms, timed
from portal.extensions import db
from portal.models import Event, Notification, SlaClock
from portal.services import accounts, alerts
from portal.services.transaction import transaction
from workflows import calendars, sla

CLOCKS = int(os.environ.get("BENCH_CLOCKS", "1000000"))
DUE = 1_000
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def _seed(dialect: str) -> None:
    """CLOCKS / 2 requests with an acknowledge and a resolve clock each; DUE resolve
    clocks have their 50 % alert due at NOW, all others alert days later."""
    with transaction():
        agency = accounts.create_agency("Bench", country="TR", domain="bench.gov.tr",
                                        verified=True)
        official = accounts.create_user("o@bench.gov.tr", role="agency_official",
                                        agency_id=agency.id)
        accounts.create_user("l@platform.example", role="platform_liaison")
    requests = CLOCKS // 2
    cal = calendars.calendar_for("TR", years=[2026])
    rule = sla.TargetRule(sla.ClockKind.ELAPSED, timedelta(hours=4))
    conn = db.session.connection()
    driver = conn.connection.driver_connection
    mark = "?" if dialect == "sqlite" else "%s"

    def insert(table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
        if dialect == "postgresql":
            with driver.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            driver.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                f"({', '.join([mark] * len(columns))})", rows)

    chunk = 50_000
    for first in range(1, requests + 1, chunk):
        ids = range(first, min(first + chunk, requests + 1))
        received = NOW - timedelta(hours=2)
        insert("legal_requests", [
            "id", "reference", "agency_id", "filed_by_id", "jurisdiction", "legal_statute",
            "legal_article", "issuing_authority", "order_reference", "category", "priority",
            "description", "state", "received_at", "updated_at", "item_count", "event_count",
            "audit_head", "version", "decision_counts"],
            [(i, f"TR-2026-{i:07d}", agency.id, official.id, "TR", "Law No. 5651", "8/A",
              "BTK", "", "disinformation", "urgent", "", "legal_review",
              _ts(received, dialect), _ts(received, dialect), 1, 0, "0" * 64, 1,
              '{"pending": 1}')
             for i in ids])
        clock_rows = []
        for i in ids:
            due_now = i <= DUE
            start = NOW - timedelta(hours=2, seconds=1) if due_now else NOW + timedelta(days=2)
            c = sla.start_clock(sla.Target.RESOLVE, rule, sla.DEFAULT_THRESHOLDS, start, cal)
            for target in ("acknowledge", "resolve"):
                clock_rows.append((
                    i, target, "tr-5651", "Law No. 5651", "elapsed", 14400,
                    c.allowance.total_seconds(), None, "extend",
                    json.dumps(list(c.thresholds)),
                    json.dumps([t.isoformat() for t in c.alert_times]),
                    _ts(c.started_at, dialect), _ts(c.due_at, dialect),
                    _ts(c.due_at, dialect), 0.0, 0,
                    _ts(c.alert_times[0], dialect) if (due_now and target == "resolve")
                    else _ts(NOW + timedelta(days=3), dialect), 1,
                ))
        insert("sla_clocks", [
            "request_id", "target", "policy_code", "source", "kind", "seconds",
            "allowance_seconds", "cutoff", "resume", "thresholds", "alert_times",
            "started_at", "due_at", "open_due_at", "paused_seconds", "fired",
            "next_alert_at", "run"], clock_rows)
    if dialect == "postgresql":
        conn.exec_driver_sql(f"SELECT setval('legal_requests_id_seq', {requests})")
    db.session.commit()
    if dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def _ts(value: datetime, dialect: str) -> object:
    # SQLite keeps UTC without a zone (as UTCDateTime stores it); PostgreSQL takes aware.
    return value.replace(tzinfo=None).isoformat(" ") if dialect == "sqlite" else value


def _plan(dialect: str, now: datetime) -> str:
    """The plan of the sweep's candidate query, with bound parameters (SQLite picks a
    different plan for literal LIMITs)."""
    query = (sa.select(SlaClock.request_id).where(alerts.alert_due(now))
             .order_by(SlaClock.next_alert_at).limit(500))
    compiled = query.compile(db.engine)
    conn = db.session.connection()
    if dialect == "sqlite":
        values = {"next_alert_at_1": _ts(now, dialect), "next_alert_at_2": _ts(now, dialect),
                  "param_1": 500, "param_2": 0}
        params: object = tuple(values[name] for name in compiled.positiontup or ())
        sql = "EXPLAIN QUERY PLAN " + str(compiled)
    else:
        params = dict(compiled.params)
        sql = "EXPLAIN (ANALYZE, COSTS OFF) " + str(compiled)
    rows = conn.exec_driver_sql(sql, params).all()  # type: ignore[arg-type]
    db.session.rollback()
    return "\n".join("    " + " ".join(str(v) for v in row) for row in rows)


def run_engine(name: str, url: str) -> dict[str, float | str]:
    with bench_app(url):
        dialect = db.engine.dialect.name
        seed_seconds = timed(lambda: _seed(dialect))
        nothing_due = [timed(lambda: alerts.sweep(NOW - timedelta(hours=3))) for _ in range(20)]
        plan = _plan(dialect, NOW - timedelta(hours=3))
        due_seconds = timed(lambda: alerts.sweep(NOW))
        fired = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
        notes = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
        assert fired == DUE, fired
        again = timed(lambda: alerts.sweep(NOW))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == DUE
    return {"seed_s": seed_seconds, "empty_ms": median_ms(nothing_due), "due_ms":
            due_seconds * 1000, "again_ms": again * 1000, "notifications": float(notes or 0),
            "plan": plan}


def main() -> None:
    print(f"SLA sweep benchmark on {machine()}: {CLOCKS:,} open clocks, {DUE:,} alerts due")
    for name, url in engines():
        r = run_engine(name, url)
        print(f"{name:10}  sweep, {DUE} alerts due: {r['due_ms']:7.1f} ms (goal <= 1000) "
              f"-> {DUE} events, {int(float(r['notifications']))} notifications\n"
              f"{'':10}  sweep, nothing due: {r['empty_ms']:.2f} ms median of 20 (goal <= 5); "
              f"right after the big one: {r['again_ms']:.2f} ms\n"
              f"{'':10}  (seeding took {r['seed_s']:.0f} s) plan of the candidate query:\n"
              f"{r['plan']}")


if __name__ == "__main__":
    main()
