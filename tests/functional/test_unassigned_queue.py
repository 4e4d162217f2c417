"""The review queue's unassigned tab reads who holds a request off its clocks
(``SlaClock.unassigned``, kept by the services in the transaction that assigns a request
or writes a clock), so its order is one partial index in deadline order.

Before: the tab joined the unassigned requests first and PostgreSQL sorted every one of
their clocks for each page (17 ms at 100,000 requests, 529 ms at 1,000,000); the flag
and its index did not exist."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import pages as bench_pages
from portal.extensions import db
from portal.models import LegalRequest, SlaClock, User
from portal.services import clocks, decisions, lifecycle, queue, start_page
from portal.services.actors import Actor
from portal.services.errors import ServiceError
from portal.services.paging import Position, position_of
from portal.services.request_filters import RequestFilters
from portal.services.transaction import transaction
from tests.factories import NOW, Terms, make_user
from tests.functional.test_webhook_secrets import scratch_app  # noqa: F401 (a fixture)
from workflows.request_flow import TransitionError

#: (who, trigger, inputs) of the actions drawn; "decide" decides every item, and
#: "reassign" hands the request to the other reviewer.
ACTIONS = [
    ("reviewer", "begin_review", {}),
    ("second", "begin_review", {}),
    ("reviewer", "claim", {}),
    ("second", "claim", {}),
    ("reviewer", "unassign", {}),
    ("second", "unassign", {}),
    ("reviewer", "reassign", {}),
    ("second", "reassign", {}),
    ("reviewer", "request_info", {"question": "Which court?"}),
    ("official", "provide_info", {"answer": "The High Court."}),
    ("reviewer", "decide", {}),
    ("reviewer", "action", {}),
    ("official", "withdraw", {"reason": "Resolved."}),
    ("official", "dispute", {"reason": "The decision is wrong."}),
    ("reviewer", "uphold", {"reason": "Upheld."}),
    ("liaison", "close", {}),
    ("admin", "force_majeure", {}),
]


def due_soon_recount(reviewer_id: int, now) -> int:
    """The reviewer's open requests with a running clock due within the hour that is not
    waiting for the agency (paused within its deadline), counted in Python."""
    rows = db.session.execute(
        sa.select(LegalRequest.id, SlaClock.open_due_at, SlaClock.paused_at)
        .join(SlaClock, SlaClock.request_id == LegalRequest.id)
        .where(LegalRequest.assigned_reviewer_id == reviewer_id,
               LegalRequest.state.in_(queue.OPEN_STATES))).all()
    return len({rid for rid, due, paused in rows
                if due is not None and due <= now + timedelta(hours=1)
                and not (paused is not None and paused <= due)})


def unassigned_tab(world) -> list[str]:
    """Every reference on the unassigned tab, page after page."""
    found: list[str] = []
    position: Position = Position()
    while True:
        page, _ = queue.review_queue(world.actor("reviewer"), tab=queue.QueueTab.UNASSIGNED,
                                     filters=RequestFilters(), page=position, now=NOW,
                                     size=2)
        found += [row.request.reference for row in page.rows]
        if "next" not in page.links():
            return found
        position = position_of(page.links()["next"])


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 2), st.integers(0, len(ACTIONS) - 1),
                                st.integers(1, 90)), max_size=10))
def test_the_tab_holds_exactly_the_open_requests_nobody_holds(world, policies, steps):
    second = make_user("legal_reviewer")
    made = [world.file([f"@u{n}"], now=NOW, priority=priority)
            for n, priority in enumerate(["standard", "emergency", "standard"])]
    now = NOW
    for which, action, minutes in steps:
        now += timedelta(minutes=minutes)
        who, trigger, inputs = ACTIONS[action]
        actor = Actor.of(second) if who == "second" else world.actor(who)
        reference = made[which].reference
        if trigger == "reassign":
            other = world.reviewer if who == "second" else second
            inputs = {"reviewer": str(other.id)}
        try:
            if trigger == "decide":
                decisions.decide_items(world.actor("reviewer"), reference,
                                       decision="withheld_in_country", reason="per order",
                                       terms=Terms(), all_pending=True, now=now)
            elif trigger == "force_majeure":
                with transaction():
                    req = db.session.scalar(sa.select(LegalRequest)
                                            .where(LegalRequest.reference == reference))
                    clocks.force_majeure(req, now, begin=minutes % 2 == 0)
            else:
                lifecycle.fire(actor, reference, trigger, inputs=inputs, now=now)
        except (ServiceError, TransitionError, clocks.ClockRefused):
            db.session.rollback()  # not allowed in this state: nothing changed
        db.session.expire_all()
        # Every running clock says what its request's row says; a stopped one, nothing.
        flags = db.session.execute(
            sa.select(SlaClock.unassigned, SlaClock.holder_id, SlaClock.open_due_at,
                      LegalRequest.assigned_reviewer_id)
            .join(LegalRequest, LegalRequest.id == SlaClock.request_id)).all()
        assert all(bool(flag) == (holder is None and due is not None)
                   for flag, _, due, holder in flags), (who, trigger)
        assert all(copy == (holder if due is not None else None)
                   for _, copy, due, holder in flags), (who, trigger)
        # Each reviewer's start page counts their requests due within the hour as the
        # request rows and their clocks say (read here without the copies).
        for person in (world.reviewer, second):
            assert (start_page.needs_now(Actor.of(person), now).mine_due_soon
                    == due_soon_recount(person.id, now)), (who, trigger)
        # The tab lists each open request nobody holds once, whatever its clocks do.
        expected = set(db.session.scalars(
            sa.select(LegalRequest.reference).where(
                LegalRequest.state.in_(queue.OPEN_STATES),
                LegalRequest.assigned_reviewer_id.is_(None))))
        listed = unassigned_tab(world)
        assert sorted(listed) == sorted(expected), (who, trigger)


def _seeded_reviewer(monkeypatch, *, open_share: float) -> Actor:
    """``bench/pages.py``'s seed of 8,000 requests (1 item each, no notices), analysed;
    its reviewer, who holds every open request but the "received" ones."""
    monkeypatch.setattr(bench_pages, "NOTICES", 0)
    monkeypatch.setattr(bench_pages, "BIG", 1)
    bench_pages.seed(db.engine.dialect.name, requests=8000, items=8000,
                     open_share=open_share)
    db.session.remove()
    return Actor.of(db.session.scalar(sa.select(User).where(
        User.email == "reviewer@platform.example")))


def _statements(reviewer: Actor, page: Position) -> list[tuple[str, Any]]:
    """The statements the unassigned tab's ``page`` runs, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        found, _ = queue.review_queue(reviewer, tab=queue.QueueTab.UNASSIGNED,
                                      filters=RequestFilters(), page=page, now=NOW)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert found.rows
    return seen


def _plan(statement: str, parameters: Any) -> str:
    """The engine's plan of ``statement`` as text (PostgreSQL's as JSON)."""
    cursor = db.session.connection().connection.driver_connection.cursor()
    if db.engine.dialect.name == "postgresql":
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        value = cursor.fetchone()[0]
        return json.dumps(value if not isinstance(value, str) else json.loads(value))
    cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
    return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_the_tab_walks_one_index_in_deadline_order_without_a_sort(app, monkeypatch):
    """8,000 open requests, a quarter of them unassigned: the first page
    of the tab reads the partial index of unassigned running clocks in order."""
    reviewer = _seeded_reviewer(monkeypatch, open_share=1.0)
    plan = _plan(*next((s, p) for s, p in _statements(reviewer, Position())
                       if "seek_0" in s and "sla_clocks" in s))
    if db.engine.dialect.name == "postgresql":
        assert '"Index Name": "ix_sla_clocks_unassigned"' in plan, plan
        assert '"Node Type": "Sort"' not in plan, plan
    else:
        assert "ix_sla_clocks_unassigned" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    db.session.rollback()


def test_the_last_page_reads_the_open_clockless_index_not_every_unassigned_request(
        app, monkeypatch):
    """Walking back from the end, the tab first reads the open requests without a running
    clock. The index for them held every clockless request, closed ones too, and
    PostgreSQL walked every unassigned request through the reviewer index instead (64 ms
    at 1M requests, to find none); the index now holds exactly the open ones."""
    reviewer = _seeded_reviewer(monkeypatch, open_share=0.1)
    plan = _plan(*next((s, p) for s, p in _statements(reviewer, Position("last"))
                       if "running_clocks = 0" in s and "count" not in s))
    assert "ix_legal_requests_open_clockless" in plan, plan
    if db.engine.dialect.name == "postgresql":
        assert "ix_legal_requests_assigned_reviewer_id" not in plan, plan
    else:
        assert "TEMP B-TREE" not in plan, plan
    db.session.rollback()


def test_the_last_page_reads_the_unassigned_waiting_clocks_not_every_waiting_clock(
        app, monkeypatch):
    """Requests waiting for the agency's answer are nearly all held by the reviewer who
    asked (the seed pauses their clocks). Walking back from the end, the tab reads the
    clocks waiting for the agency of requests nobody holds: through the index of every
    waiting clock it read each of them (82 ms at 1M requests on SQLite); now through an
    index of exactly those."""
    reviewer = _seeded_reviewer(monkeypatch, open_share=0.5)
    plan = _plan(*next(
        (s, p) for s, p in _statements(reviewer, Position("last"))
        if "paused_at IS NOT NULL" in s and "unassigned" in s and "count(" not in s))
    if db.engine.dialect.name == "postgresql":
        # PostgreSQL chooses for itself: at this size it ANDs the bitmaps of the waiting
        # and the unassigned indexes (at 1M requests the last page took 25.5 ms with the
        # new index and 37.0 without it, one run each). Either way the flag narrows the
        # walk through an index, never by reading every waiting clock's row.
        assert ("ix_sla_clocks_unassigned_waiting" in plan
                or '"Index Name": "ix_sla_clocks_unassigned"' in plan), plan
    else:
        # SQLite is told which index to walk (it cannot judge these partial indexes).
        assert "ix_sla_clocks_unassigned_waiting" in plan, plan
        assert "ix_sla_clocks_waiting" not in plan, plan
    db.session.rollback()


def test_the_open_clockless_index_names_the_open_states():
    # The index's condition is written out (literals the planner can see); it must name
    # exactly the open states, as the migration that built it does.
    import importlib.util
    from pathlib import Path

    from portal.models.legal_request import OPEN_CLOCKLESS

    named = set(re.findall(r"'([a-z_]+)'", OPEN_CLOCKLESS))
    assert named == {state.value for state in queue.OPEN_STATES}
    path = next(Path(__file__).resolve().parents[2].glob(
        "migrations/versions/*_e15c2d3e4f06_*.py"))
    spec = importlib.util.spec_from_file_location("open_clockless", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.OPEN_CLOCKLESS == OPEN_CLOCKLESS


# The suite's app first, then the empty database of its own on top.
@pytest.mark.usefixtures("scratch_app")
def test_the_migration_marks_the_running_clocks_of_unassigned_requests(monkeypatch):
    """Seeded at head, taken back before the flag and up again: the migration sets it
    from who holds each request, on running clocks only."""
    from flask_migrate import downgrade, upgrade

    upgrade()
    monkeypatch.setattr(bench_pages, "NOTICES", 0)
    monkeypatch.setattr(bench_pages, "BIG", 1)
    bench_pages.seed(db.engine.dialect.name, requests=400, items=400, open_share=0.5)
    db.session.remove()
    downgrade(revision="d15a1157f007")
    upgrade()
    # Running clocks carry their request's holder too (migration e16c4d5e6f07).
    held = db.session.execute(sa.text(
        "SELECT c.holder_id, c.open_due_at IS NOT NULL, r.assigned_reviewer_id"
        " FROM sla_clocks c JOIN legal_requests r ON r.id = c.request_id")).all()
    copies = Counter((copy is not None, bool(running)) for copy, running, _ in held)
    assert copies[(True, True)] > 20 and copies[(False, False)] > 20, copies
    assert all(copy == (holder if running else None) for copy, running, holder in held)
    rows = db.session.execute(sa.text(
        "SELECT c.unassigned, c.open_due_at IS NOT NULL, r.assigned_reviewer_id IS NULL"
        " FROM sla_clocks c JOIN legal_requests r ON r.id = c.request_id")).all()
    seen = Counter((bool(flag), bool(running), bool(nobody)) for flag, running, nobody in rows)
    # Running and nobody's: marked; everything else: not (both kinds are present).
    assert seen[(True, True, True)] > 20 and seen[(False, True, False)] > 20
    assert seen[(False, False, False)] > 20
    assert set(seen) <= {(True, True, True), (False, True, False), (False, False, False),
                         (False, False, True)}, seen
    db.session.remove()
