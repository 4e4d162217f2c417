"""A web worker imports only what answering requests needs: the packages that only the
command line, the demo, document uploads, holiday calendars or sign-in fingerprints use are
imported when first used (each gunicorn worker holds its own copy: docs/BENCHMARKS.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
    # limits loads it for a Redis store, and the API's counter (portal/api/rate_limit.py)
    # when it first counts in one: a process whose limits are in memory never holds it.
    "redis": "rate limits kept in Redis (RATELIMIT_STORAGE_URI=redis://...)",
}

_PROBE = """
import json, sys
import wsgi
print(json.dumps(sorted(name for name in {names!r} if name in sys.modules)))
"""


def test_importing_the_web_app_leaves_the_lazy_packages_unloaded(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PORTAL_") and k not in {"DATABASE_URL", "SECRET_KEY"}}
    env.update(PORTAL_ENV="production", SECRET_KEY="k" * 64,
               DATABASE_URL=f"sqlite:///{tmp_path}/portal.sqlite3",
               PORTAL_BASE_URL="https://portal.example.org",
               PORTAL_ATTACHMENT_DIR=json.dumps(str(tmp_path)),
               RATELIMIT_STORAGE_URI="memory://")
    done = subprocess.run([sys.executable, "-c", _PROBE.format(names=sorted(LAZY))],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], {name: LAZY[name] for name in loaded}
