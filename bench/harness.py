"""Shared set-up for the benchmarks: an app on a fresh, migrated database per engine."""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db


def engines() -> list[tuple[str, str]]:
    """(name, URL) of the engines to measure: SQLite always, PostgreSQL when a URL is set
    in BENCH_DATABASE_URL or TEST_DATABASE_URL (``make bench`` starts a server)."""
    found = [("SQLite", "")]
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        found.append(("PostgreSQL", url))
    return found


@contextmanager
def bench_app(url: str) -> Iterator[Flask]:
    """An app on an empty database upgraded by the migrations; the context is pushed."""
    with tempfile.TemporaryDirectory() as tmp:
        if url:
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            engine.dispose()
        else:
            url = "sqlite:///" + str(Path(tmp) / "bench.sqlite3")
        # The benchmarks have always measured the development settings; without
        # PORTAL_ENV the app would start with production's.
        os.environ.setdefault("PORTAL_ENV", "development")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ATTACHMENT_DIR": tmp,
                          "SECRET_KEY": "bench-only-secret-key-never-used-in-production"})
        with app.app_context():
            upgrade()
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def timed(fn: Callable[[], object]) -> float:
    """Seconds taken by one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.machine()}, {cpus} cores, Python {platform.python_version()}"
