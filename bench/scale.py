"""Cost as the data grows: the pages of the growth table (issue 15) at 10,000, 100,000
and 1,000,000 requests with 10 items each (10,000,000 items at the largest size), on
SQLite and PostgreSQL. Goal: every page and API list p95 <= 50 ms at 1M requests, first
and last page alike.

Each size is its own database, migrated and seeded as ``bench/pages.py`` seeds (10 % of
requests open, 20 agencies, one resolve clock per request as the worker leaves it; COPY
on PostgreSQL, executemany on SQLite), then each page is rendered in-process with Flask's
test client: RENDERS timed renders after 3 warm-ups, median and p95 printed.

Run: ``python -m bench.scale`` (``make bench-scale``; PostgreSQL when BENCH_DATABASE_URL
or TEST_DATABASE_URL is set, e.g. under ``.ci/with-postgres``). Settings:
BENCH_SCALE_SIZES (comma-separated request counts, default 10000,100000,1000000),
BENCH_SCALE_ITEMS_PER_REQUEST (10), BENCH_SCALE_RENDERS (30), BENCH_SCALE_DIR (keep the
SQLite files there and reuse a complete one instead of seeding again),
BENCH_SCALE_KEEP_PG=1 (keep the PostgreSQL databases, ``portal_scale_<size>``, and reuse
one seeded completely; the server must outlive the run, e.g. one started apart and named
by BENCH_DATABASE_URL), BENCH_SCALE_SEED_ONLY=1 (seed the kept databases, measure
nothing: to seed at low priority and measure later on a quiet machine).
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, g
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from bench import pages
from bench.harness import engines, machine
from portal import create_app
from portal.extensions import db
from portal.models import LegalRequest, User
from portal.services import tokens

SIZES = [int(n) for n in os.environ.get("BENCH_SCALE_SIZES",
                                         "10000,100000,1000000").split(",")]
PER_REQUEST = int(os.environ.get("BENCH_SCALE_ITEMS_PER_REQUEST", "10"))
RENDERS = int(os.environ.get("BENCH_SCALE_RENDERS", "30"))
KEEP = os.environ.get("BENCH_SCALE_DIR", "")
#: Keep the PostgreSQL databases and reuse a complete one.
KEEP_PG = os.environ.get("BENCH_SCALE_KEEP_PG") == "1"
#: Seed the kept SQLite files or PostgreSQL databases only (to measure them later).
SEED_ONLY = os.environ.get("BENCH_SCALE_SEED_ONLY") == "1"
#: The comment a kept PostgreSQL database carries once its seeding has finished.
SEEDED = "bench.scale: seeded"

REVIEWER = "reviewer@platform.example"
LIAISON = "liaison@platform.example"
OFFICIAL = "official@a0.gov.example"


def _pages(size: int) -> dict[str, tuple[str, str]]:
    """The growth table's pages: (who, path). The searched target and order number are
    of a request of agency 0 (ids divisible by 20) near the middle of the history."""
    middle = (size // 2) // 20 * 20
    return {
        "queue, unassigned": (REVIEWER, "/review/"),
        "queue, unassigned, last page": (REVIEWER, "/review/?page=last"),
        "queue, all open, last page": (REVIEWER, "/review/?tab=open&page=last"),
        "dashboard": (LIAISON, "/liaison/"),
        "dashboard, last page": (LIAISON, "/liaison/?page=last"),
        "agency list": (OFFICIAL, "/requests/"),
        "agency list, last page": (OFFICIAL, "/requests/?page=last"),
        "agency list, searched by target": (OFFICIAL, f"/requests/?q=@r{middle}_1"),
        "agency list, searched by order no.": (OFFICIAL,
                                               f"/requests/?q=W.P.(C) {middle}/2026"),
        "workspace items, last page": (REVIEWER, "/review/requests/{big}?page=last"),
        "API list, state=legal_review": (OFFICIAL, "/api/v1/requests?state=legal_review"),
        "API list, state=closed": (OFFICIAL, "/api/v1/requests?state=closed"),
        "start page, reviewer": (REVIEWER, "/"),
        "start page, liaison": (LIAISON, "/"),
    }


@contextmanager
def _database(engine_url: str, size: int) -> Iterator[tuple[str, bool]]:
    """The URL of the database for ``size`` requests, and whether it is already seeded
    (a kept SQLite file, complete)."""
    if engine_url:
        url = make_url(engine_url)
        name = f"portal_scale_{size}_{PER_REQUEST}"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            comment = conn.scalar(sa.text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                " WHERE datname = :name"), {"name": name})
            seeded = KEEP_PG and comment == SEEDED
            if not seeded:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
        try:
            yield url.set(database=name).render_as_string(hide_password=False), seeded
            if KEEP_PG:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"COMMENT ON DATABASE {name} IS '{SEEDED}'")
        finally:
            if not KEEP_PG:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.dispose()
        return
    if KEEP:
        path = Path(KEEP) / f"scale_{size}_{PER_REQUEST}.sqlite3"
        done = path.with_suffix(".done")
        yield "sqlite:///" + str(path), done.exists()
        done.touch()
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield "sqlite:///" + str(Path(tmp) / "scale.sqlite3"), False


def _app(url: str, tmp: str) -> Flask:
    os.environ.setdefault("PORTAL_ENV", "development")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ATTACHMENT_DIR": tmp,
                      "SECRET_KEY": "bench-only-secret-key-never-used-in-production"})
    app.config.update(WTF_CSRF_ENABLED=False, TWO_FACTOR_ENFORCED=False,
                      RATELIMIT_ENABLED=False)
    # As wsgi.py does for every worker: what the app built at start is moved out of the
    # collector's generations. Without it a full collection walks all of it (80-100 ms
    # at 1M on SQLite, measured 2026-12-08), once or twice in 60 renders, and that tail
    # is the bench's, not a served page's.
    gc.collect()
    gc.freeze()
    return app


@contextmanager
def _sql_time(spent: list[float]) -> Iterator[None]:
    """Adds the time spent in each SQL statement run inside the block to ``spent[0]``:
    the database's share of a render, apart from Python and templates (on a machine
    shared with other work, its growth with the data is the clearer signal)."""
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(*_: Any) -> None:
        spent[0] += (time.perf_counter() - started.pop()) * 1000

    sa.event.listen(db.engine, "before_cursor_execute", before)
    sa.event.listen(db.engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
        sa.event.remove(db.engine, "after_cursor_execute", after)


def _timings(client: Any, path: str, headers: dict[str, str]) -> tuple[list[float], float]:
    """Milliseconds per render, and the median milliseconds spent in SQL."""
    for _ in range(3):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.status_code)
    samples, sql = [], []
    for _ in range(RENDERS):
        spent = [0.0]
        with _sql_time(spent):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
        sql.append(spent[0])
        assert response.status_code == 200, (path, response.status_code)
    return samples, statistics.median(sql)


def run_size(engine_url: str, size: int) -> dict[str, tuple[float, float, float]]:
    """Seed (or reuse) the database of ``size`` requests and time every page on it."""
    with _database(engine_url, size) as (url, seeded), tempfile.TemporaryDirectory() as tmp:
        app = _app(url, tmp)
        with app.app_context():
            dialect = db.engine.dialect.name
            if not seeded:
                upgrade()
                started = time.perf_counter()
                if dialect == "sqlite":
                    # A large page cache: the items' target index is filled out of order.
                    db.session.execute(sa.text("PRAGMA cache_size=-1000000"))
                pages.seed(dialect, requests=size, items=size * PER_REQUEST)
                print(f"  seeded {size:,} requests, {size * PER_REQUEST:,} items in "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
            db.session.remove()
            if SEED_ONLY:
                return {}
            big = db.session.scalar(sa.select(LegalRequest.reference)
                                    .where(LegalRequest.id == 1))
            official = db.session.scalar(sa.select(User).where(User.email == OFFICIAL))
            _, token = tokens.create_token(official, "bench")
            db.session.commit()
            results = {}
            for name, (email, path) in _pages(size).items():
                path = path.format(big=big)
                g.pop("_login_user", None)
                with app.test_client() as client:
                    headers = {}
                    if path.startswith("/api/"):
                        headers = {"Authorization": f"Bearer {token}"}
                    else:
                        client.post("/login", data={"email": email,
                                                    "password": pages.PASSWORD})
                    timed, sql = _timings(client, path, headers)
                samples = sorted(timed)
                results[name] = (statistics.median(samples),
                                 samples[min(len(samples) - 1, int(len(samples) * 0.95))],
                                 sql)
            db.session.remove()
            db.engine.dispose()
    return results


def main() -> None:
    print(f"scale benchmark on {machine()}: sizes {SIZES}, {PER_REQUEST} items per request, "
          f"{RENDERS} renders per page", flush=True)
    only = sys.argv[1:]  # "SQLite" or "PostgreSQL" to run one engine
    for engine, url in engines():
        if only and engine not in only:
            continue
        table: dict[str, dict[int, tuple[float, float, float]]] = {}
        for size in SIZES:
            print(f"{engine}: {size:,} requests", flush=True)
            for name, figures in run_size(url, size).items():
                table.setdefault(name, {})[size] = figures
                median, p95, sql = figures
                flag = "" if p95 <= 50 else "  <-- over the 50 ms goal"
                print(f"  {name:38} median {median:7.1f} ms   p95 {p95:7.1f} ms   "
                      f"SQL {sql:6.1f} ms{flag}", flush=True)
        print(f"\n{engine}: median / p95 / SQL ms by size")
        print(f"  {'page':38} " + "".join(f"{size:>25,}" for size in SIZES))
        for name, by_size in table.items():
            cells = "".join(f"{by_size[s][0]:>9.1f} /{by_size[s][1]:>6.1f} /{by_size[s][2]:>6.1f}"
                            for s in SIZES if s in by_size)
            print(f"  {name:38} {cells}", flush=True)


if __name__ == "__main__":
    main()
