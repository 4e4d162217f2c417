"""An urgent one-item filing with and without 10,000 requests of history, on each engine.

The safeguards read the filer's and the agency's summary rows (``account_history``,
``agency_history``) by primary key, so the cost of an urgent filing should not move when
the agency has filed 10,000 requests before. Three agencies in one database, whose
officials filed none, 100 and 10,000 requests the platform acted on (over three years, at
varied hours, from a few networks and browsers), counted by the same function the
lifecycle calls (``safeguards.count_acted_on``). Each filing also queues its mails to the
colleague and the focal point.

For comparison, the query the safeguards ran before (every request of the agency grouped
by category) is timed on the same 10,000 rows.

Run: ``make bench``, or ``python -m bench.safeguards`` (SQLite only unless
BENCH_DATABASE_URL is set).
"""

from __future__ import annotations

import os
import random
import statistics
from datetime import timedelta

import sqlalchemy as sa

from bench.harness import bench_app, engines, machine, median_ms, p95_ms, timed
from portal.extensions import db
from portal.models import Agency, LegalRequest
from portal.models.columns import utcnow
from portal.services import accounts, agencies, safeguards
from portal.services.actors import Actor
from portal.services.filing import FilingData, file_request
from workflows.codes import Category, Priority
from workflows.roles import Role
from workflows.states import RequestState, Resolution

HISTORY = int(os.environ.get("BENCH_SAFEGUARDS_HISTORY", "10000"))
#: Agencies by how many acted-on requests they filed before.
SIZES = (0, 100, HISTORY)
FILINGS = 100
ASSESSMENTS = 300
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
)


def _filing(n: int, priority: str = "emergency") -> FilingData:
    return FilingData(category="public_order", priority=priority,
                      requested_action="withhold_in_country",
                      legal_statute="Information Technology Act, 2000",
                      legal_article="Section 69A", issuing_authority="MeitY",
                      targets=[f"@bench_{n}"])


def _agency(name: str, domain: str) -> tuple[Actor, int]:
    """A verified agency with a filer, a colleague and a focal point (a second channel)."""
    agency = accounts.create_agency(name, country="IN", domain=domain, verified=True,
                                    verified_until=utcnow() + timedelta(days=365))
    filer = accounts.create_user(f"filer@{domain}", role="agency_official",
                                 agency_id=agency.id)
    accounts.create_user(f"colleague@{domain}", role="agency_official", agency_id=agency.id)
    agencies.set_focal_contact(Actor(None, Role.ADMIN), agency.id, name="Nodal officer",
                               email=f"nodal@{domain}", locale="hi")
    return Actor.of(filer, ip_address="198.51.100.7", user_agent=AGENTS[0]), agency.id


def _history(filer: Actor, agency_id: int, count: int, prefix: str) -> None:
    """``count`` acted-on requests of the agency, counted into its summary rows."""
    rng = random.Random(7)
    now = utcnow()
    categories = list(Category)
    rows = []
    for n in range(count):
        received = now - timedelta(days=rng.uniform(1, 3 * 365), hours=rng.gauss(0, 2))
        rows.append({
            "reference": f"{prefix}-{n:08d}", "agency_id": agency_id, "filed_by_id": filer.user_id,
            "jurisdiction": "IN", "legal_statute": "IT Act", "legal_article": "",
            "issuing_authority": "MeitY", "order_reference": "", "description": "",
            "category": rng.choice(categories), "priority": rng.choice(list(Priority)),
            "requested_action": "remove",
            "state": RequestState.CLOSED, "resolution": Resolution.COMPLIED,
            "received_at": received, "updated_at": received, "actioned_at": received,
            "closed_at": received, "item_count": 1, "decision_counts": {"removed": 1},
            "risk_flags": [], "event_count": 0, "audit_head": "0" * 64, "version": 1,
            "filed_network": f"198.51.{100 + n % 3}.0/24", "filed_device": safeguards.device_of(
                AGENTS[n % len(AGENTS)]),
        })
    db.session.execute(sa.insert(LegalRequest), rows)
    for req in db.session.scalars(sa.select(LegalRequest).where(
            LegalRequest.agency_id == agency_id).execution_options(yield_per=1000)):
        safeguards.count_acted_on(req)
    db.session.commit()
    db.session.expunge_all()


def run_engine(url: str) -> dict[str, float]:
    with bench_app(url):
        actors: dict[str, Actor] = {}
        for size in SIZES:
            actor, agency_id = _agency(f"History of {size}", f"h{size}.gov.in")
            if size:
                _history(actor, agency_id, size, f"H{size}")
            actors[f"{size:,}"] = actor
        if db.engine.dialect.name == "postgresql":
            # Building 10,000 filings of history in one go leaves as many dead versions of
            # the few summary rows (each count is an update); autovacuum clears them in
            # a running system, where each count is its own transaction.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE account_history, agency_history"))
        results: dict[str, float] = {}
        for actor in actors.values():
            file_request(actor, _filing(FILINGS + 1))  # warm the user-agent parser
        samples: dict[str, list[float]] = {label: [] for label in actors}
        # The same filing at standard priority (no safeguards), by the agency with the
        # most history: what an urgent one should cost too.
        standard: list[float] = []
        largest = actors[f"{HISTORY:,}"]
        # Interleaved, so that a busy moment of the machine weighs on all alike.
        for n in range(FILINGS):
            for label, actor in actors.items():
                samples[label].append(timed(lambda n=n, a=actor: file_request(a, _filing(n))))
                db.session.expunge_all()
            standard.append(timed(lambda n=n: file_request(
                largest, _filing(FILINGS + 2 + n, "standard"))))
            db.session.expunge_all()
        results["median_standard"] = median_ms(standard)
        results["urgent_over_standard"] = statistics.median(
            u / s for u, s in zip(samples[f"{HISTORY:,}"], standard, strict=True))
        for label, actor in actors.items():
            statements: list[str] = []

            def record(*args: object, found: list[str] = statements) -> None:
                found.append(str(args[2]))

            sa.event.listen(db.engine, "before_cursor_execute", record)
            file_request(actor, _filing(FILINGS))
            sa.event.remove(db.engine, "before_cursor_execute", record)
            results[f"median_{label}"] = median_ms(samples[label])
            results[f"p95_{label}"] = p95_ms(samples[label])
            results[f"statements_{label}"] = len(statements)
        # The safeguards' own reading, apart from the rest of the filing.
        for label, actor in actors.items():
            agency = db.session.get(Agency, actor.agency_id)
            source = safeguards.source_of(actor)
            reads = [timed(lambda a=actor, g=agency, s=source: safeguards.assess(
                a, g, category=Category.PUBLIC_ORDER, priority=Priority.EMERGENCY, source=s,
                now=utcnow())) for _ in range(ASSESSMENTS)]
            results[f"assess_{label}"] = median_ms(reads)
        by_category = (sa.select(LegalRequest.category, sa.func.count())
                       .where(LegalRequest.agency_id == actors[f"{HISTORY:,}"].agency_id)
                       .group_by(LegalRequest.category))
        scans = [timed(lambda: db.session.execute(by_category).all()) for _ in range(20)]
        results["old_scan_ms"] = median_ms(scans)
    return results


def main() -> None:
    print(f"safeguards benchmark on {machine()}")
    for name, url in engines():
        r = run_engine(url)
        print(f"{name:10}  an urgent 1-item filing (with its two mails), by history:")
        for size in SIZES:
            label = f"{size:,}"
            print(f"{'':12}{label:>7} acted on: {r['median_' + label]:6.2f} ms median, "
                  f"{r['p95_' + label]:6.2f} ms p95, {r['statements_' + label]:.0f} statements; "
                  f"the safeguards' reading alone {r['assess_' + label]:.2f} ms")
        print(f"{'':12}a standard 1-item filing by the agency with {HISTORY:,}: "
              f"{r['median_standard']:.2f} ms median; urgent / standard, pair by pair: "
              f"{r['urgent_over_standard']:.2f} (median)")
        print(f"{'':12}the former category scan alone over {HISTORY:,}: "
              f"{r['old_scan_ms']:.2f} ms")


if __name__ == "__main__":
    main()
