"""`audit verify` and `audit anchor` over a generated record, and what the audit costs the
writes: one decision on a 10,000-item request (one bucket rehashed), on each engine.

The record is made through the services, as the portal makes it: REQUESTS requests of
5 to 40 items, each reviewed, most decided and actioned, some with a message and an
internal note, some disputed; and one request of 10,000 items.

Run: ``make bench``, or ``python -m bench.audit`` (SQLite only unless BENCH_DATABASE_URL
is set); ``BENCH_AUDIT_REQUESTS`` changes the number of requests (2,000 by default).
``BENCH_AUDIT_KEEP=DIR`` keeps the seeded record (SQLite: a file in DIR; PostgreSQL: a
database ``audit_bench_<requests>`` on the server) and reuses it on the next run, since
seeding through the services costs about a second a request.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from bench.harness import bench_app, engines, machine, median_ms, timed
from portal import create_app
from portal.extensions import db
from portal.models import Agency, Event, LegalRequest, RequestItem, User
from portal.services import (
    accounts,
    audit_anchor,
    audit_checkpoint,
    audit_verify,
    decisions,
    lifecycle,
    messages,
)
from portal.services.actors import Actor
from portal.services.filing import FilingData, file_request

REQUESTS = int(os.environ.get("BENCH_AUDIT_REQUESTS", "2000"))
KEEP = os.environ.get("BENCH_AUDIT_KEEP")
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _filing(targets: list[str]) -> FilingData:
    return FilingData(category="public_order", priority="standard",
                      requested_action="withhold_in_country",
                      legal_statute="Information Technology Act, 2000",
                      legal_article="Section 69A", issuing_authority="MeitY", targets=targets)


def _seed(official: Actor, reviewer: Actor) -> str:
    rnd = random.Random(2026)
    now = START
    for n in range(REQUESTS):
        now += timedelta(minutes=3)
        ref = file_request(official, _filing(
            [f"@r{n}_{i}" for i in range(rnd.randint(5, 40))]), now=now).reference
        lifecycle.fire(reviewer, ref, "begin_review", now=now + timedelta(minutes=1))
        if n % 3 == 0:
            messages.post_message(reviewer, ref, "Checked with the ministry.", internal=True,
                                  now=now + timedelta(minutes=1))
            messages.post_message(official, ref, "The order follows.",
                                  now=now + timedelta(minutes=1))
        if n % 4 != 3:
            decisions.decide_items(reviewer, ref, decision="withheld_in_country",
                                   all_pending=True, now=now + timedelta(minutes=2))
            lifecycle.fire(reviewer, ref, "action", now=now + timedelta(minutes=2))
            if n % 10 == 0:
                lifecycle.fire(official, ref, "dispute", inputs={"reason": "Too late."},
                               now=now + timedelta(hours=1))
        db.session.expunge_all()
    big = file_request(official, _filing([f"@big_{i:05d}" for i in range(10_000)]),
                       now=now + timedelta(hours=2)).reference
    lifecycle.fire(reviewer, big, "begin_review", now=now + timedelta(hours=2))
    return big


@contextmanager
def record_app(url: str) -> Iterator[None]:
    """The app on a fresh database, or (BENCH_AUDIT_KEEP) on the kept one of this size."""
    if not KEEP:
        with bench_app(url):
            yield
        return
    if url:
        kept = sa.engine.make_url(url).set(database=f"audit_bench_{REQUESTS}")
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                               {"n": kept.database}):
                conn.execute(sa.text(f'CREATE DATABASE "{kept.database}"'))
        engine.dispose()
        url = kept.render_as_string(hide_password=False)
    else:
        Path(KEEP).mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{Path(KEEP).resolve() / f'audit_bench_{REQUESTS}.sqlite3'}"
    os.environ.setdefault("PORTAL_ENV", "development")
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ATTACHMENT_DIR": tmp,
                          "SECRET_KEY": "bench-only-secret-key-never-used-in-production"})
        with app.app_context():
            upgrade()
            try:
                yield
            finally:
                db.session.remove()
                db.engine.dispose()


def _actors() -> tuple[Actor, Actor, str | None]:
    """The bench's official and reviewer, and the 10,000-item request when the record
    is seeded already."""
    official = db.session.scalar(sa.select(User).where(User.email == "o@bench.gov.in"))
    if official is None:
        agency = accounts.create_agency("Bench agency", country="IN", domain="bench.gov.in",
                                        verified=True, now=START - timedelta(days=1))
        return (Actor.of(accounts.create_user("o@bench.gov.in", role="agency_official",
                                              agency_id=agency.id)),
                Actor.of(accounts.create_user("r@platform.example", role="legal_reviewer")),
                None)
    reviewer = db.session.scalar(sa.select(User).where(User.email == "r@platform.example"))
    big = db.session.scalar(sa.select(LegalRequest.reference).where(
        LegalRequest.item_count == 10_000).order_by(LegalRequest.id).limit(1))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == 1
    return Actor.of(official), Actor.of(reviewer), big


def run_engine(url: str) -> dict[str, float]:
    with record_app(url):
        official, reviewer, big = _actors()
        started = time.perf_counter()
        if big is None:
            big = _seed(official, reviewer)
        seeding = time.perf_counter() - started
        counts = (db.session.scalar(sa.select(sa.func.count()).select_from(Event)),
                  db.session.scalar(sa.select(sa.func.count()).select_from(RequestItem)))
        db.session.remove()
        verify = []
        for _ in range(3):
            tally = audit_verify.Tally()
            verify.append(timed(lambda tally=tally: list(audit_verify.verify_all(None,
                                                                                 tally))))
            assert tally.requests == REQUESTS + 1
        assert list(audit_verify.verify_all()) == []
        # The same in two processes on one snapshot (PostgreSQL only).
        parallel = [timed(lambda: list(audit_verify.verify_all(None, None, 2)))
                    for _ in range(3 if url else 0)]
        # From a checkpoint, after 20 requests changed (a message each): `--since`.
        tally = audit_verify.Tally()
        assert list(audit_verify.verify_all(None, tally, seal=True)) == []
        audit_checkpoint.save(tally, "full", START)  # with its seals on PostgreSQL
        refs = db.session.scalars(sa.select(LegalRequest.reference).order_by(LegalRequest.id)
                                  .limit(20)).all()
        for ref in refs:
            messages.post_message(reviewer, ref, "Seen again.", internal=True,
                                  now=START + timedelta(days=30))
        db.session.remove()
        since = []
        for _ in range(3):
            start = audit_checkpoint.newest()
            tally = audit_verify.Tally()
            since.append(timed(lambda s=start, t=tally: list(
                audit_checkpoint.verify_since(s, t))))
            assert tally.requests == REQUESTS + 1 and tally.unchanged == REQUESTS + 1 - 20
        anchor = [timed(lambda: audit_anchor.take_anchor(START)) for _ in range(3)]
        items = db.session.scalars(
            sa.select(RequestItem.id).join(LegalRequest)
            .where(LegalRequest.reference == big, RequestItem.decision.is_(None))
            .order_by(RequestItem.position).limit(100)
        ).all()
        db.session.remove()
        one = []
        for item in items:
            one.append(timed(lambda item=item: decisions.decide_items(
                reviewer, big, decision="removed", item_ids=[item])))
            db.session.expunge_all()
        assert list(audit_verify.verify_all()) == []
    return {"seed_s": seeding, "events": counts[0], "items": counts[1],
            "verify_ms": median_ms(verify), "anchor_ms": median_ms(anchor),
            "verify_2_ms": median_ms(parallel) if parallel else 0.0,
            "since_ms": median_ms(since),
            "decide_one_of_10k_ms": median_ms(one)}


def main() -> None:
    print(f"audit benchmark on {machine()}: {REQUESTS} requests + one of 10,000 items")
    for name, url in engines():
        r = run_engine(url)
        print(f"{name:10}  {r['events']:,} events, {r['items']:,} items (seeded in "
              f"{r['seed_s']:.0f} s)\n"
              f"{'':10}  audit verify: {r['verify_ms']:.0f} ms median ("
              f"{1000 * r['verify_ms'] / r['events']:.0f} µs an event, "
              f"{1000 * r['verify_ms'] / r['items']:.1f} µs an item)"
              + (f"; --workers 2: {r['verify_2_ms']:.0f} ms" if r["verify_2_ms"] else "")
              + f"\n{'':10}  --since a checkpoint after 20 requests changed: "
              f"{r['since_ms']:.0f} ms median\n"
              f"{'':10}  audit anchor: "
              f"{r['anchor_ms']:.0f} ms  one decision on the 10,000-item request: "
              f"{r['decide_one_of_10k_ms']:.1f} ms median")


if __name__ == "__main__":
    main()
