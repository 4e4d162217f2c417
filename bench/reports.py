"""The reports over 100,000 requests and 1,000,000 items: the transparency report (service
and page), the DSA orders table, the compliance page and its CSV export. Goals (issues 14
and 15): report p95 <= 300 ms on SQLite and PostgreSQL; the CSV of 100k requests <= 1 s.

Seeds as bench/pages.py does (requests received over the last 20 days, 90 % answered),
then gives the decided items what the reports read: an effect 1 to 47 hours after
receipt, a scope (every third item worldwide, the others in the requesting country),
every seventh item no action (not found); and each reviewed request a receipt
confirmation one hour after receipt and its first effect (as services/decisions.recount
keeps it). The reports' facts (``request_facts``, ``report_days``) are then filled by the
backfill of the migration that made them, as an upgrade of a live database would.

Run: ``python -m bench.reports`` (BENCH_REQUESTS / BENCH_ITEMS to resize; BENCH_RENDERS
runs per figure after 3 warm-up runs; BENCH_ENGINES=PostgreSQL for one engine).
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from flask import g

from bench import pages
from bench.harness import bench_app, engines, machine
from portal.extensions import db
from portal.models.columns import utcnow
from portal.services import dsa_orders, reports, transparency
from portal.services.actors import Actor
from portal.services.periods import half_year_of
from workflows.roles import Role

RENDERS = int(os.environ.get("BENCH_RENDERS", "10"))
REPORT_FACTS_REVISION = "e14f0a1b2c01"
STAFF = Actor(user_id=None, role=Role.ADMIN)


def enrich(dialect: str) -> float:
    """What the reports read, on the seeded rows; returns the seconds it took."""
    started = time.perf_counter()
    conn = db.session.connection()
    # psycopg reads "%" as a placeholder: its modulo is written "%%".
    mod = "%%" if dialect == "postgresql" else "%"
    if dialect == "postgresql":
        conn.exec_driver_sql(
            "UPDATE request_items i SET effect_given_at = r.received_at "
            f"+ make_interval(hours => 1 + (i.request_id {mod} 47)), "
            f"territorial_scope = CASE WHEN i.position {mod} 3 = 0 THEN 'global' ELSE 'TR' END "
            "FROM legal_requests r WHERE r.id = i.request_id AND i.decision IS NOT NULL")
        conn.exec_driver_sql(
            "UPDATE legal_requests SET receipt_confirmed_at = received_at + interval '1 hour' "
            "WHERE state <> 'received'")
    else:
        conn.exec_driver_sql(
            "UPDATE request_items SET effect_given_at = datetime((SELECT received_at FROM "
            "legal_requests WHERE legal_requests.id = request_items.request_id), "
            "'+' || (1 + request_id % 47) || ' hours'), "
            "territorial_scope = CASE WHEN position % 3 = 0 THEN 'global' ELSE 'TR' END "
            "WHERE decision IS NOT NULL")
        conn.exec_driver_sql(
            "UPDATE legal_requests SET receipt_confirmed_at = datetime(received_at, "
            "'+1 hours') WHERE state <> 'received'")
    conn.exec_driver_sql(
        "UPDATE request_items SET decision = 'no_action', no_action_reason = 'not_found', "
        "effect_given_at = NULL, territorial_scope = NULL "
        f"WHERE decision IS NOT NULL AND position {mod} 7 = 0")
    # As services/decisions.recount keeps it (and the migration fills it).
    conn.exec_driver_sql(
        "UPDATE legal_requests SET first_effect_at = (SELECT min(effect_given_at) FROM "
        "request_items WHERE request_items.request_id = legal_requests.id "
        "AND decision IS NOT NULL AND decision <> 'no_action')")
    # The reports' facts, by the SQL the migration that made them filled them with.
    report_facts_migration().backfill(conn)
    db.session.commit()
    if dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return time.perf_counter() - started


def report_facts_migration() -> ModuleType:
    """The migration that made the reports' facts (its ``backfill`` fills them)."""
    path = next((Path(__file__).parents[1] / "migrations" / "versions")
                .glob(f"*_{REPORT_FACTS_REVISION}_*.py"))
    spec = importlib.util.spec_from_file_location("report_facts_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _samples(fn: Callable[[], Any]) -> list[float]:
    for _ in range(3):
        fn()
        db.session.rollback()
    found = []
    for _ in range(RENDERS):
        started = time.perf_counter()
        fn()
        found.append(time.perf_counter() - started)
        db.session.rollback()
    return found


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def run_engine(url: str) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    with bench_app(url) as app:
        app.config.update(WTF_CSRF_ENABLED=False, TWO_FACTOR_ENFORCED=False,
                          RATELIMIT_ENABLED=False)
        dialect = db.engine.dialect.name
        started = time.perf_counter()
        pages.seed(dialect)
        seeding = {"seed": time.perf_counter() - started, "enrich": enrich(dialect)}
        print(f"  ... seeded in {seeding['seed']:.0f} s + {seeding['enrich']:.0f} s",
              flush=True)
        db.session.remove()
        now = utcnow()
        half = half_year_of(now)
        month_ago = now - timedelta(days=30)
        figures: dict[str, Callable[[], Any]] = {
            "transparency, by country (service)":
                lambda: transparency.transparency_report(STAFF, half, ["country"]),
            "transparency, country x category":
                lambda: transparency.transparency_report(STAFF, half, ["country", "category"]),
            "transparency, by agency + charts":
                lambda: transparency.transparency_report(STAFF, half, ["agency"], charts=True),
            "DSA orders table": lambda: dsa_orders.orders_table(STAFF, half),
            "compliance, 30 days (service)": lambda: reports.compliance(month_ago, now),
        }
        results = {}
        for name, fn in figures.items():
            results[name] = _stats(_samples(fn))
            print(f"  ... {name}: p95 {results[name][1]:.0f} ms", flush=True)
        g.pop("_login_user", None)
        with app.test_client() as client:
            client.post("/login", data={"email": "liaison@platform.example",
                                        "password": pages.PASSWORD})
            start, end = (now - timedelta(days=30)).date(), now.date()
            for name, path in (
                    ("transparency page", "/transparency/"),
                    ("compliance page", f"/liaison/compliance?start={start}&end={end}")):
                results[name] = _stats(_samples(lambda p=path: _ok(client.get(p))))
            csv_path = f"/liaison/compliance.csv?start={start}&end={end}"
            rows = _ok(client.get(csv_path)).count("\n") - 1
            exports = _samples(lambda: _ok(client.get(csv_path)))
            results[f"compliance CSV ({rows:,} rows)"] = _stats(exports)
    return results, seeding


def _ok(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


def _stats(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples) * 1000, _p95(samples)


def main() -> None:
    print(f"report benchmark on {machine()}: {pages.REQUESTS:,} requests, "
          f"{pages.ITEMS:,} items, {RENDERS} runs per figure")
    wanted = os.environ.get("BENCH_ENGINES")  # e.g. "PostgreSQL": only that engine
    for name, url in engines():
        if wanted and name not in wanted.split(","):
            continue
        results, seeding = run_engine(url)
        print(f"{name:10}  seeded in {seeding['seed']:.0f} s, report columns filled in "
              f"{seeding['enrich']:.0f} s")
        for figure, (median, p95) in results.items():
            goal = 1000 if "CSV" in figure else 300
            flag = "" if p95 <= goal else f"  <-- over the {goal} ms goal"
            print(f"{name:10}  {figure:40} median {median:7.1f} ms   p95 {p95:7.1f} ms{flag}")


if __name__ == "__main__":
    main()
