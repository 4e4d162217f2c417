"""A web worker imports only what answering requests needs: the packages that only the
command line, the demo, document uploads, holiday calendars or sign-in fingerprints use are
imported when first used (each gunicorn worker holds its own copy: docs/BENCHMARKS.md),
and neither redis-py (rate limits in Redis go through portal/redis_store.py) nor, on
PostgreSQL, the SQLite driver is imported at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Imported on first use, never by ``import wsgi``: what each one is for, and where.
LAZY = {
    "alembic": "migrations (flask db)",
    "flask_migrate": "migrations (flask db)",
    "pypdf": "document uploads and the demo's PDFs",
    "cryptography": "pypdf's encryption, webhook secrets",
    "jsonschema": "DSA statements (flask report dsa-sor)",
    "holidays": "business calendars, the holiday pages",
    "dateutil": "python-holidays' own dependency",
    "ua_parser": "sign-in fingerprints for the urgent-request safeguards",
    "email_validator": "forms that take an e-mail address",
    "segno": "the QR code of two-factor enrolment",
    # Rate limits in Redis are counted over hiredis (portal/redis_store.py); limits
    # imports redis-py only for Sentinel or Cluster URLs.
    "redis": "rate limits in Redis Sentinel or Cluster (RATELIMIT_STORAGE_URI)",
}
#: Also never imported by a worker on PostgreSQL.
LAZY_ON_POSTGRESQL = {"sqlite3": "the SQLite driver", "_sqlite3": "the SQLite driver"}

_PROBE = """
import json, sys
import wsgi
print(json.dumps(sorted(name for name in {names!r} if name in sys.modules)))
"""


@pytest.mark.parametrize(("database", "limits"), [
    ("sqlite", "memory://"),
    # Production's set-up: limits shared through Redis (nothing connects at import).
    ("sqlite", "redis://127.0.0.1:6379/0"),
    ("postgresql", "redis://127.0.0.1:6379/0"),
])
def test_importing_the_web_app_leaves_the_lazy_packages_unloaded(tmp_path, database, limits):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PORTAL_") and k not in {"DATABASE_URL", "SECRET_KEY"}}
    lazy = dict(LAZY)
    if database == "postgresql":
        # Not connected to at import: any address will do.
        url = "postgresql://portal@127.0.0.1:5432/portal"
        lazy.update(LAZY_ON_POSTGRESQL)
    else:
        url = f"sqlite:///{tmp_path}/portal.sqlite3"
    env.update(PORTAL_ENV="production", SECRET_KEY="k" * 64, DATABASE_URL=url,
               PORTAL_BASE_URL="https://portal.example.org",
               PORTAL_ATTACHMENT_DIR=json.dumps(str(tmp_path)),
               RATELIMIT_STORAGE_URI=limits)
    done = subprocess.run([sys.executable, "-c", _PROBE.format(names=sorted(lazy))],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], {name: lazy[name] for name in loaded}
