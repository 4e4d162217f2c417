"""The whole topology, 60 seconds of load with faults (deploy/topology.py): PostgreSQL
behind PgBouncer, Redis, an SMTP sink, nginx, two gunicorn instances and two workers.

Runs once per `make test`, in the PostgreSQL pass (it starts servers of its own, so the
SQLite pass leaves it out); `make soak` runs the same script for ten minutes. Before: a
PostgreSQL restart ended every SLA worker for good, a Redis outage was a full API outage,
ten slow clients froze a gunicorn instance (issue 12)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres_only
@pytest.mark.topology
@pytest.mark.slow
def test_the_topology_loses_nothing_through_its_faults():
    missing = [p for p in ("nginx", "redis-server", "openssl") if not shutil.which(p)]
    if missing:
        pytest.skip(f"needs Debian's {', '.join(missing)} (.ci/test-suite installs them)")
    # The script's own folder in the system's temporary directory (removed when every
    # check held, kept and named when not): PostgreSQL runs as its own user there, and
    # pytest's folders are private to the user running the suite.
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "topology.py"),
                           "--seconds", "60"], capture_output=True, text=True, timeout=600)
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "topology: every check held" in done.stdout
    assert "lost 0, stored twice 0" in done.stdout
