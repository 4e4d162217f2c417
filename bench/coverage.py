"""Who is told of a new request, with reviewers who cover jurisdictions, on each engine.

The recipients of a new request are one statement (``notices.recipients``): the active
reviewers who cover its jurisdiction or all, or every one when none does. Here 300 active
reviewers (and 30 inactive): a third cover all, the rest two to five of 40 countries each.
Timed for a jurisdiction some cover, one only the covers-all reviewers take, and, with the
covers-all reviewers made inactive, one nobody covers (the fallback to every reviewer);
beside it, the statement for every reviewer (what a new request cost before coverage, and
what an emergency still costs).

Run: ``python -m bench.coverage`` (SQLite only unless BENCH_DATABASE_URL is set).
"""

from __future__ import annotations

import random

import sqlalchemy as sa

from bench.harness import bench_app, engines, machine, median_ms, p95_ms, timed
from portal.extensions import db
from portal.models import ReviewerJurisdiction, User
from portal.services import notices
from workflows.codes import Priority
from workflows.notices import AUDIENCES, NoticeKind
from workflows.roles import Role

REVIEWERS = 300
INACTIVE = 30
RUNS = 300
COUNTRIES = ("AR", "AU", "BD", "BR", "CA", "CL", "CO", "DE", "EG", "ES", "FR", "GB", "GH",
             "ID", "IL", "IT", "JP", "KE", "KR", "MA", "MX", "MY", "NG", "NL", "PE", "PH",
             "PK", "PL", "RO", "SA", "SE", "TH", "UA", "US", "VN", "ZA", "AE", "BE", "CH",
             "NZ")
COVERED = "IN"  # some name it
NAMED_BY_NONE = "TR"  # only those who cover all


def _seed() -> list[int]:
    """The reviewers with their coverage; return the ids of those who cover all."""
    rng = random.Random(13)
    users = [{"email": f"reviewer{n}@platform.example", "name": f"Reviewer {n}",
              "role": Role.LEGAL_REVIEWER, "locale": "en", "timezone": "UTC",
              "active": n < REVIEWERS} for n in range(REVIEWERS + INACTIVE)]
    db.session.execute(sa.insert(User), users)
    ids = list(db.session.scalars(sa.select(User.id).order_by(User.id)))
    rows: list[dict[str, object]] = []
    cover_all = []
    for n, user_id in enumerate(ids):
        if n % 3 == 0:
            cover_all.append(user_id)
            continue
        codes = set(rng.sample(COUNTRIES, rng.randint(2, 5)))
        if n % 7 == 1:
            codes.add(COVERED)
        rows += [{"user_id": user_id, "country": code} for code in sorted(codes)]
    db.session.execute(sa.insert(ReviewerJurisdiction), rows)
    db.session.commit()
    return cover_all


def _time(jurisdiction: str, *, everyone: bool = False) -> tuple[float, float, int]:
    kind = NoticeKind.EMERGENCY_FILED if everyone else NoticeKind.REQUEST_FILED
    found: list[int] = []

    def once() -> None:
        found[:] = [p.user_id for p in notices.recipients(
            kind, AUDIENCES[kind], agency_id=None, assignee_id=None,
            priority=Priority.STANDARD, jurisdiction=jurisdiction)]

    once()
    samples = [timed(once) for _ in range(RUNS)]
    return median_ms(samples), p95_ms(samples), len(found)


def run_engine(url: str) -> dict[str, tuple[float, float, int]]:
    with bench_app(url):
        cover_all = _seed()
        results = {"covered": _time(COVERED), "only all": _time(NAMED_BY_NONE),
                   "every reviewer": _time(COVERED, everyone=True)}
        db.session.execute(sa.update(User).where(User.id.in_(cover_all)).values(active=False))
        db.session.commit()
        results["nobody covers"] = _time(NAMED_BY_NONE)
        return results


def main() -> None:
    print(f"coverage benchmark on {machine()}: {REVIEWERS} active reviewers, {RUNS} runs")
    for name, url in engines():
        for label, (median, p95, told) in run_engine(url).items():
            print(f"{name:10}  {label:15} {median:6.2f} ms median, {p95:6.2f} ms p95, "
                  f"{told} told")


if __name__ == "__main__":
    main()
