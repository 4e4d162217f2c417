"""Filing a 10,000-item request, deciding all its items at once, and firing 1,000
transitions, on each engine.

The anchor is a raw insert of the same 10,000 item rows in one transaction, the fastest
plain way each driver offers (COPY on PostgreSQL, ``executemany`` on SQLite; no ORM, no
parsing, no audit) on the same engine in the same
run; the figure to reach is filing at most 3x that, and a committed transition with its
audit event at most 3 ms median on SQLite. Each filed request is then reviewed and all its
10,000 items decided in one call (scope, ground, effect: the reviewer's bulk form), and
actioned; the same for EU terrorist-content removal orders (a preservation hold on every
item, and the action's guard counts the items given effect in fewer places than the EEA).

Run: ``make bench`` (starts a throwaway PostgreSQL), or ``python -m bench.lifecycle``
(SQLite only unless BENCH_DATABASE_URL is set).
"""

from __future__ import annotations

import sqlalchemy as sa

from bench.harness import bench_app, engines, machine, median_ms, p95_ms, timed
from portal import intake
from portal.extensions import db
from portal.models import RequestItem
from portal.models.columns import utcnow
from portal.services import accounts, decisions, lifecycle, safeguards
from portal.services.actors import Actor
from portal.services.filing import FilingData, file_request
from workflows.decisions import Terms

ITEMS = 10_000
FILINGS = 7
TRANSITIONS = 1_000


def _targets() -> list[str]:
    return [f"@handle_{n:06d}" for n in range(ITEMS)]


def _filing(targets: list[str]) -> FilingData:
    return FilingData(category="public_order", priority="urgent",
                      requested_action="withhold_in_country",
                      legal_statute="Information Technology Act, 2000",
                      legal_article="Section 69A", issuing_authority="MeitY",
                      targets=targets)


def run_engine(name: str, url: str) -> dict[str, float]:
    with bench_app(url):
        agency = accounts.create_agency("Bench agency", country="IN", domain="bench.gov.in",
                                        verified=True)
        official = Actor.of(accounts.create_user("o@bench.gov.in", role="agency_official",
                                                 agency_id=agency.id))
        reviewer = Actor.of(accounts.create_user("r@platform.example",
                                                 role="legal_reviewer"))
        targets = _targets()
        parsed = intake.parse_entries([(n, t, None) for n, t in enumerate(targets, 1)])
        holder = file_request(official, _filing(["@holder"]))
        rows = [(holder.id, n, t.kind.value, t.raw, t.target)
                for n, t in enumerate(parsed.accepted, start=2)]
        table = RequestItem.__table__
        dialect = db.engine.dialect.name
        columns = "request_id, position, kind, raw, target"

        def raw_insert() -> None:
            # The fastest plain way each driver has: COPY on PostgreSQL, executemany on
            # SQLite (multi-row VALUES through psycopg was 3-4x slower than COPY here).
            with db.engine.begin() as conn:
                driver = conn.connection.driver_connection
                if dialect == "postgresql":
                    with driver.cursor() as cursor:
                        with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as cp:
                            for row in rows:
                                cp.write_row(row)
                else:
                    driver.executemany(
                        f"INSERT INTO {table.name} ({columns}) VALUES (?, ?, ?, ?, ?)", rows)

        def clear() -> None:
            with db.engine.begin() as conn:
                conn.execute(table.delete().where(table.c.position > 1))

        raw: list[float] = []
        service: list[float] = []
        bulk: list[float] = []
        acted: list[float] = []
        filed: list[str] = []
        for _ in range(FILINGS):
            raw.append(timed(raw_insert))
            clear()
            service.append(timed(lambda: filed.append(
                file_request(official, _filing(targets)).reference)))
            db.session.expunge_all()
            bulk_, acted_ = _decide_all(reviewer, filed[-1], Terms(
                territorial_scope="IN", ground="local_law"), "withheld")
            bulk.append(bulk_)
            acted.append(acted_)
        # EU terrorist-content removal orders of 10,000 items: every item preserved.
        eu = accounts.create_agency("Bench EU agency", country="DE", domain="bench.bund.de",
                                    verified=True)
        eu_official = Actor.of(accounts.create_user("o@bench.bund.de", role="agency_official",
                                                    agency_id=eu.id))
        tco_bulk: list[float] = []
        tco_acted: list[float] = []
        for _ in range(3):
            ref = file_request(eu_official, FilingData(
                category="terrorism", priority="standard", requested_action="remove",
                legal_statute="Regulation (EU) 2021/784", legal_article="Art. 3",
                issuing_authority="BKA", targets=targets)).reference
            db.session.expunge_all()
            bulk_, acted_ = _decide_all(reviewer, ref, Terms(territorial_scope="DE",
                                                             scope_reason="bench"), "removed",
                                          confirm=False)
            tco_bulk.append(bulk_)
            tco_acted.append(acted_)
        # 1,000 distinct requests, then one begin_review each (lock, check, fire, audit,
        # commit): the per-transition cost a reviewer's click pays.
        references = []
        for n in range(TRANSITIONS):
            references.append(file_request(official, _filing([f"@t{n}"])).reference)
        db.session.expunge_all()
        fire: list[float] = []
        for ref in references:
            fire.append(timed(lambda ref=ref: lifecycle.fire(reviewer, ref, "begin_review")))
            db.session.expunge_all()
        count = db.session.scalar(sa.select(sa.func.count()).select_from(RequestItem))
        assert count and count > ITEMS
    raw_ms, service_ms = median_ms(raw), median_ms(service)
    return {
        "raw_insert_ms": raw_ms,
        "file_10k_ms": service_ms,
        "ratio": service_ms / raw_ms,
        "transition_median_ms": median_ms(fire),
        "transition_p95_ms": p95_ms(fire),
        "decide_10k_ms": median_ms(bulk),
        "action_10k_ms": median_ms(acted),
        "tco_decide_10k_ms": median_ms(tco_bulk),
        "tco_action_10k_ms": median_ms(tco_acted),
    }


def _decide_all(reviewer: Actor, reference: str, terms: Terms,
                decision: str, *, confirm: bool = True) -> tuple[float, float]:
    """Review a request, then time one decision on all its pending items, and actioning
    it (the guards' facts, the resolution, the clock, the audit event)."""
    lifecycle.fire(reviewer, reference, "begin_review")
    if confirm:
        # Urgent, and the bench agency has no second channel: confirmed out of band first.
        safeguards.confirm_out_of_band(reviewer, reference, safeguards.Confirmation(
            "Head of legal affairs", "phone", utcnow(), "bench"))
    db.session.expunge_all()
    bulk = timed(lambda: decisions.decide_items(reviewer, reference, decision=decision,
                                                terms=terms, all_pending=True))
    db.session.expunge_all()
    acted = timed(lambda: lifecycle.fire(reviewer, reference, "action"))
    db.session.expunge_all()
    return bulk, acted


def main() -> None:
    print(f"lifecycle benchmark on {machine()}")
    for name, url in engines():
        r = run_engine(name, url)
        print(
            f"{name:10}  file 10,000 items: {r['file_10k_ms']:7.1f} ms median  "
            f"raw insert: {r['raw_insert_ms']:6.1f} ms  ratio: {r['ratio']:.2f}x (goal <= 3)\n"
            f"{'':10}  transition + audit, committed: {r['transition_median_ms']:.2f} ms "
            f"median, {r['transition_p95_ms']:.2f} ms p95 over {TRANSITIONS} requests"
            + ("  (goal <= 3 ms median)" if name == "SQLite" else "")
            + f"\n{'':10}  one decision on all 10,000 items: {r['decide_10k_ms']:.1f} ms "
            f"median, then action: {r['action_10k_ms']:.1f} ms\n"
            f"{'':10}  the same, TCO order (preserved, scope guard): "
            f"{r['tco_decide_10k_ms']:.1f} ms, action: {r['tco_action_10k_ms']:.1f} ms"
        )


if __name__ == "__main__":
    main()
