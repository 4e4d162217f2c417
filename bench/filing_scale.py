"""An urgent one-item filing on a large database (issue 15: <= 6.5 ms median at 1M
requests).

``file_request`` in-process on a database seeded and kept by ``bench/scale.py``
(BENCH_SCALE_DIR / BENCH_SCALE_KEEP_PG), as ``bench/safeguards.py`` files: a new
verified agency whose official has a colleague and a focal point (so each urgent filing
queues the two second-channel mails), one-item filings at emergency and at standard
priority, interleaved so that a busy moment of the machine weighs on both alike. Prints
the requests already in the database, median and p95 of each, the statements of one
urgent filing, the median CPU time of this process per urgent filing (on SQLite nearly
all of it; on PostgreSQL without the server's part), and the load average before and
after.

Each run adds 2 * BENCH_FILING_N + 3 requests (and their rows) to the database.

Run: ``python -m bench.filing_scale URL [URL ...]`` (for instance
``sqlite:////path/scale_1000000_10.sqlite3``, a copy: the database is written);
BENCH_FILING_N filings of each priority (default 60).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time

import sqlalchemy as sa

from bench.harness import machine, median_ms, p95_ms, timed
from bench.safeguards import _agency, _filing
from portal import create_app
from portal.extensions import db
from portal.services.filing import file_request

N = int(os.environ.get("BENCH_FILING_N", "60"))


def run(url: str) -> None:
    os.environ.setdefault("PORTAL_ENV", "development")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ATTACHMENT_DIR": tempfile.mkdtemp(),
                      "SECRET_KEY": "bench-only-secret-key-never-used-in-production"})
    # The filings' own log lines are not what is measured.
    logging.disable(logging.INFO)
    with app.app_context():
        requests = db.session.scalar(sa.text("SELECT max(id) FROM legal_requests"))
        tag = f"{int(time.time())}"
        actor, _ = _agency(f"Bench filing {tag}", f"f{tag}.gov.in")
        # Warm-up: the user-agent parser, the statement caches, the calendars.
        file_request(actor, _filing(0))
        file_request(actor, _filing(1, "standard"))
        db.session.expunge_all()
        load_before = os.getloadavg()
        urgent: list[float] = []
        standard: list[float] = []
        cpu: list[float] = []
        for n in range(N):
            start = time.process_time()
            urgent.append(timed(lambda n=n: file_request(actor, _filing(10 + 2 * n))))
            cpu.append(time.process_time() - start)
            db.session.expunge_all()
            standard.append(timed(lambda n=n: file_request(
                actor, _filing(11 + 2 * n, "standard"))))
            db.session.expunge_all()
        load_after = os.getloadavg()
        statements: list[str] = []

        def record(*args: object) -> None:
            statements.append(str(args[2]))

        sa.event.listen(db.engine, "before_cursor_execute", record)
        file_request(actor, _filing(5))
        sa.event.remove(db.engine, "before_cursor_execute", record)
        engine = db.engine.dialect.name
        db.session.remove()
        db.engine.dispose()
    print(f"{engine:10}  ~{requests:,} requests in the database; {N} filings of each "
          f"priority, interleaved")
    print(f"{'':12}urgent (emergency) one-item filing: {median_ms(urgent):6.2f} ms median, "
          f"{p95_ms(urgent):6.2f} ms p95, {len(statements)} statements")
    print(f"{'':12}  this process's CPU time of it: {median_ms(cpu):6.2f} ms median (the "
          "part a busy machine inflates least)")
    print(f"{'':12}standard one-item filing:           {median_ms(standard):6.2f} ms median, "
          f"{p95_ms(standard):6.2f} ms p95")
    print(f"{'':12}load average before / after: {load_before[0]:.2f} / {load_after[0]:.2f}")


def main() -> None:
    print(f"filing at scale on {machine()}")
    for url in sys.argv[1:]:
        run(url)


if __name__ == "__main__":
    main()
