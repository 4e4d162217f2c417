"""Migrations go forward in production: ``db downgrade`` lists what it would drop and
needs ``--force`` there.

Before: downgrading past the two-factor migration wiped every risk flag and network, and
``db downgrade base`` dropped every table, without a word."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from tests.databases import Scratch

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"PORTAL_ENV": "production", "SECRET_KEY": "k" * 40,
              "PORTAL_BASE_URL": "https://localhost", "RATELIMIT_STORAGE_URI": "memory://"}


def flask(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, DATABASE_URL=url, PORTAL_ENV="testing")
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=180)


#: Every migration, newest first.
CHAIN = [script.revision for script in ScriptDirectory(str(ROOT / "migrations")).walk_revisions()]
BEFORE_HEARTBEATS = "4c2a9e1f7b3d"


def version(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.scalar(sa.text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


@pytest.fixture
def migrated(database_url, tmp_path):
    scratch = Scratch(database_url, tmp_path)
    url = scratch.create("forward_only")
    done = flask(url, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    yield url
    scratch.drop(url)
    scratch.close()


def test_production_refuses_a_downgrade_and_says_what_it_would_drop(migrated):
    head = version(migrated)
    refused = flask(migrated, "db", "downgrade", "base", **PRODUCTION)
    assert refused.returncode == 1
    out = refused.stdout
    assert head == CHAIN[0]
    assert out.startswith(f"downgrading from {head} to base undoes {len(CHAIN)} migration(s):")
    assert "805a4e67b1d7 two factor lockout networks risk flags" in out
    assert "drops column legal_requests.risk_flags" in out
    assert "drops table user_networks (every row in it)" in out
    assert "drops table legal_requests (every row in it)" in out
    assert "refused: migrations only go forward in production" in refused.stderr
    assert version(migrated) == head  # nothing was run


def test_force_downgrades_in_production_after_listing_the_drops(migrated):
    forced = flask(migrated, "db", "downgrade", "--force", BEFORE_HEARTBEATS, **PRODUCTION)
    assert forced.returncode == 0, forced.stderr
    assert "drops table worker_heartbeats (every row in it)" in forced.stdout
    assert version(migrated) == BEFORE_HEARTBEATS


def test_development_downgrades_and_still_lists_the_drops(migrated):
    done = flask(migrated, "db", "downgrade", "--", "-2")
    assert done.returncode == 0, done.stderr
    assert "undoes 2 migration(s)" in done.stdout
    assert version(migrated) == CHAIN[2]
