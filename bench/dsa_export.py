"""DSA statements of reasons and Lumen notices: how fast the export writes and checks
statements, and how long a notice of a 10,000-item request takes to prepare with
redaction, on each engine.

Data, made through the services: BENCH_DSA_REQUESTS (10 by default) requests of 5,000
items from a German authority, every item removed worldwide (each gives a statement).

Run: ``python -m bench.dsa_export`` (SQLite only unless BENCH_DATABASE_URL is set).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from bench.harness import bench_app, engines, machine, median_ms
from portal.extensions import db
from portal.services import accounts, decisions, dsa_statements, lifecycle, lumen
from portal.services.actors import Actor
from portal.services.filing import FilingData, file_request
from workflows import dsa

REQUESTS = int(os.environ.get("BENCH_DSA_REQUESTS", "10"))
ITEMS = 5_000
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _filing(targets: list[str]) -> FilingData:
    return FilingData(category="terrorism", priority="standard", requested_action="remove",
                      legal_statute="Regulation (EU) 2021/784 (TCO)", legal_article="Art. 3",
                      issuing_authority="Bundeskriminalamt", order_reference="TCO-1",
                      description="Posts by Jane Doe of Springfield; call 0151 000 000.",
                      targets=targets)


def _seed(official: Actor, reviewer: Actor, count: int, items: int, tag: str) -> list[str]:
    references = []
    now = START
    for n in range(count):
        now += timedelta(minutes=5)
        ref = file_request(official, _filing([f"@{tag}{n}_{i}" for i in range(items)]),
                           now=now).reference
        lifecycle.fire(reviewer, ref, "begin_review", now=now)
        decisions.decide_items(reviewer, ref, decision="removed", all_pending=True, now=now)
        lifecycle.fire(reviewer, ref, "action", now=now)
        db.session.expunge_all()
        references.append(ref)
    return references


def run_engine(url: str) -> dict[str, float]:
    with bench_app(url):
        agency = accounts.create_agency("BKA", country="DE", domain="bka.bench", verified=True,
                                        verified_until=START + timedelta(days=365),
                                        now=START - timedelta(days=1))
        official = Actor.of(accounts.create_user("o@bka.bench", role="agency_official",
                                                 agency_id=agency.id, password="x" * 12))
        reviewer = Actor.of(accounts.create_user("r@platform.example", role="legal_reviewer",
                                                 password="x" * 12))
        _seed(official, reviewer, REQUESTS, ITEMS, "r")
        big = _seed(official, reviewer, 1, 10_000, "big")[0]
        staff = Actor(user_id=None, role=reviewer.role)
        refused: list[dsa_statements.Refusal] = []
        start = time.perf_counter()
        written = 0
        for body in dsa.batches(dsa_statements.stream(staff, dsa.Settings(), refused)):
            written += len(body["statements"])
        export_s = time.perf_counter() - start
        assert not refused and written == REQUESTS * ITEMS + 10_000
        choices = lumen.Choices(
            redact_targets="\n".join(f"@big0_{i}" for i in range(0, 10_000, 100)),
            redact_passages="Jane Doe\nSpringfield\n0151 000 000")
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            lumen.prepare(reviewer, big, choices, now=START + timedelta(days=1),
                          platform=("Platform", "IE"))
            samples.append(time.perf_counter() - start)
        return {"statements": written, "export_s": export_s,
                "per_1000_ms": export_s / written * 1_000_000,
                "lumen_ms": median_ms(samples)}


def main() -> None:
    print(f"# DSA statements and Lumen notices ({machine()})")
    for name, url in engines():
        r = run_engine(url)
        print(f"{name}: {int(r['statements'])} statements written and checked in "
              f"{r['export_s']:.1f} s ({r['per_1000_ms']:.0f} ms per 1,000); Lumen notice "
              f"of 10,000 items with 100 targets and 3 passages redacted: "
              f"{r['lumen_ms']:.0f} ms median")


if __name__ == "__main__":
    main()
