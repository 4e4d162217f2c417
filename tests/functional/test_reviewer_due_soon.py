"""The reviewer's start page counts their requests due within the hour on their clocks
(``SlaClock.holder_id``, kept with ``unassigned``, and the partial index
``ix_sla_clocks_holder_due`` of the clocks not waiting for the agency).

Before: the count walked the reviewer's open requests on the (state, reviewer) index and
asked each for a running clock due soon; requests waiting for an answer come first in
that index, so a reviewer holding 25,000 of them had every one read before any match
(56 ms of SQL at 1M requests on SQLite); the column and the index did not exist."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from bench.pages import NOW
from portal.extensions import db
from portal.models import SlaClock
from portal.services import start_page
from portal.services.actors import Actor
from tests.functional.test_unassigned_queue import _plan, _seeded_reviewer, due_soon_recount


def _statements(reviewer: Actor, now) -> tuple[int, list[tuple[str, Any]]]:
    """The reviewer's due-soon count at ``now`` and the statements the start page ran."""
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        count = start_page.needs_now(reviewer, now).mine_due_soon
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return count, seen


def test_the_count_walks_the_reviewers_clocks_not_their_waiting_requests(app, monkeypatch):
    """``bench/pages.py``'s seed of 8,000 requests, half of them open: the reviewer holds
    every open one not "received", and the clocks of those waiting for an answer are
    paused. The count reads the reviewer's clocks not waiting, in deadline order."""
    reviewer = _seeded_reviewer(monkeypatch, open_share=0.5)
    # Early in the seed's twenty days only a few clocks are due: the count is exact.
    early = NOW - timedelta(days=19) + timedelta(hours=6)
    count, seen = _statements(reviewer, early)
    assert count == due_soon_recount(reviewer.user_id, early)
    assert 0 < count < start_page.CAP, count
    # Later, more than CAP are overdue: the count stops there.
    assert start_page.needs_now(reviewer, NOW).mine_due_soon == start_page.CAP + 1
    # The paused clocks are there and many are due: a count that ignored waiting would
    # differ (the seed pauses an hour after receipt; their deadlines passed long ago).
    waiting_due = db.session.scalar(sa.select(sa.func.count()).select_from(SlaClock).where(
        SlaClock.paused_at.is_not(None), SlaClock.open_due_at <= NOW))
    assert waiting_due > 500, waiting_due
    statement, parameters = next((s, p) for s, p in seen if "holder_id" in s)
    plan = _plan(statement, parameters)
    assert "ix_sla_clocks_holder_due" in plan, plan
    if db.engine.dialect.name == "sqlite":
        # Not the requests' (state, reviewer) index, which reads the waiting ones first.
        assert "ix_legal_requests_state_reviewer" not in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    else:
        # No sort: DISTINCT sorted every clock walked (47,858 at 1M requests, 519 ms).
        assert '"Node Type": "Sort"' not in plan, plan
        assert '"Node Type": "Unique"' not in plan, plan
    db.session.rollback()


def test_another_reviewer_counts_none_of_them(app, monkeypatch):
    reviewer = _seeded_reviewer(monkeypatch, open_share=0.5)
    nobody = Actor(user_id=reviewer.user_id + 10_000, role=reviewer.role, agency_id=None)
    assert start_page.needs_now(nobody, NOW).mine_due_soon == 0
    db.session.rollback()
