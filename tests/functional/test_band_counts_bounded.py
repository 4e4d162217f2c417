"""The dashboard's band counts read at most ``BAND_COUNT_LIMIT`` running clocks (in
deadline order) and as many waiting for the agency, so they cost the same with 100,000
running clocks as with 100; a count the walk did not finish is a floor and says so
("500+"). The breached count stays exact while the walk gets past the breached clocks.

Before: every running clock was read on every view (the covering index, and a pass over
the clocks the worker had not swept: 322 ms of SQL at 1,000,000 requests on SQLite)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.services import alerts, dashboard, lifecycle
from portal.services.actors import Actor
from portal.services.filing import file_request
from portal.services.request_filters import RequestFilters
from tests.conftest import sign_in
from tests.factories import NOW, filing, make_agency, make_user

pytestmark = pytest.mark.usefixtures("policies")

NON_PAUSED = ("breached", "90", "75", "50", "on_track")


def _clocks(world) -> None:
    """Running clocks in every band over a week: wall-clock and business-hours ones,
    two waiting for the agency."""
    saudi = make_agency("SA")
    saudi_official = Actor.of(make_user("agency_official", saudi))
    for n, (hours, fields) in enumerate([
        (0, {}), (3, {"priority": "emergency"}), (20, {"priority": "standard"}),
        (50, {"category": "fraud"}), (70, {}),
    ]):
        world.file([f"@tr{n}"], now=NOW + timedelta(hours=hours), **fields)
        file_request(saudi_official, filing([f"@sa{n}"], **fields),
                     now=NOW + timedelta(hours=hours))
    for n in range(2):
        paused = world.file([f"@p{n}"], now=NOW + timedelta(hours=1), category="privacy")
        world.to_review(paused.reference, NOW + timedelta(hours=1))
        lifecycle.fire(world.actor("reviewer"), paused.reference, "request_info",
                       inputs={"question": "?"}, now=NOW + timedelta(hours=2))


def test_counts_are_exact_or_floors_that_say_so_at_any_limit(world, monkeypatch):
    _clocks(world)
    liaison = world.actor("liaison")
    checked = Counter[str]()
    for step in range(0, 24 * 7, 11):
        at = NOW + timedelta(hours=step, minutes=17)
        if step % 2:
            alerts.sweep(at)
        monkeypatch.setattr(dashboard, "BAND_COUNT_LIMIT", 10_000)
        page, _ = dashboard.sla_dashboard(liaison, filters=RequestFilters(), page=1,
                                          now=at, size=100)
        truth = Counter(row.clock.band.value for row in page.rows)
        for limit in (1, 2, 3, 5, 8):
            monkeypatch.setattr(dashboard, "BAND_COUNT_LIMIT", limit)
            _, counted = dashboard.sla_dashboard(liaison, filters=RequestFilters(), page=1,
                                                 now=at, size=1)
            # Each walk stops one clock past the limit, so it knows it stopped.
            ahead = sum(truth[b] for b in NON_PAUSED[1:])
            assert counted.is_capped("paused") == (truth["paused"] > limit), (at, limit)
            assert counted.is_capped("breached") == (truth["breached"] > limit), (at, limit)
            for band in NON_PAUSED[1:]:
                assert counted.is_capped(band) == (ahead > limit), (at, limit, band)
            if ahead > limit:
                assert sum(counted[b] for b in NON_PAUSED[1:]) == limit + 1
            for band in ("paused", *NON_PAUSED):
                if counted.is_capped(band):
                    assert counted[band] <= truth[band], (at, limit, band)
                    checked["floor"] += 1
                else:
                    assert counted[band] == truth[band], (at, limit, band)
                    checked["exact"] += 1
    # Both kinds were met (not a vacuous pass).
    assert checked["floor"] > 30 and checked["exact"] > 30, checked


def test_the_page_marks_a_capped_count_and_says_what_it_means(world, client, monkeypatch):
    now = NOW + timedelta(days=3)  # the five requests' clocks are breached by then
    for n in range(5):
        world.file([f"@b{n}"], now=NOW + timedelta(minutes=n))
    monkeypatch.setattr(dashboard, "BAND_COUNT_LIMIT", 2)
    monkeypatch.setattr("portal.liaison.views.BAND_COUNT_LIMIT", 2)
    monkeypatch.setattr("portal.liaison.views.utcnow", lambda: now)
    sign_in(client, world.liaison)
    html = client.get("/liaison/").get_data(as_text=True)
    # Three clocks read (two and the one that says there are more), all breached.
    assert "Breached: <strong>3+</strong>" in html
    assert "On track: <strong>0</strong>" in html
    assert "Paused (waiting for the agency): <strong>0</strong>" in html
    assert "A count marked + is a floor: there are at least that many clocks in that band." in html
    assert "Running clocks: 3+, the most urgent first" in html
    monkeypatch.setattr(dashboard, "BAND_COUNT_LIMIT", 100)
    monkeypatch.setattr("portal.liaison.views.BAND_COUNT_LIMIT", 100)
    html = client.get("/liaison/").get_data(as_text=True)
    assert "Breached: <strong>10</strong>" in html  # an acknowledge and a resolve clock each
    assert "is a floor" not in html


def test_a_band_the_walk_never_reached_is_not_counted_rather_than_0_plus(world, client,
                                                                        monkeypatch):
    # Ten minutes in, the first clocks in deadline order are all on track: the walk
    # stops there and knows nothing of the bands nearer breach ("0+" said nothing).
    for n in range(5):
        world.file([f"@b{n}"], now=NOW + timedelta(minutes=n))
    monkeypatch.setattr(dashboard, "BAND_COUNT_LIMIT", 2)
    monkeypatch.setattr("portal.liaison.views.BAND_COUNT_LIMIT", 2)
    monkeypatch.setattr("portal.liaison.views.utcnow", lambda: NOW + timedelta(minutes=10))
    sign_in(client, world.liaison)
    html = client.get("/liaison/").get_data(as_text=True)
    assert "On track: <strong>3+</strong>" in html
    for percent in (90, 75, 50):
        assert f"{percent}% of the time used: <strong>not counted</strong>" in html, html
    assert "<strong>0+</strong>" not in html
    assert "Breached: <strong>0</strong>" in html  # the breached walk finished: exact
    assert "“Not counted”: counting stopped before it reached any clock of that band" in html
    monkeypatch.setattr(dashboard, "BAND_COUNT_LIMIT", 100)
    monkeypatch.setattr("portal.liaison.views.BAND_COUNT_LIMIT", 100)
    html = client.get("/liaison/").get_data(as_text=True)
    assert "not counted" not in html and "Not counted" not in html


def _start_page_needs(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return html[html.index('id="needs-heading"'):html.index("</section>")]


def test_the_liaisons_start_page_shows_the_dashboards_bounded_counts(world, client,
                                                                    monkeypatch):
    # The start page counted every running clock's band (67 ms at 1M requests); it now
    # reads the dashboard's bounded walks, so both pages give the same figures.
    breached_at = NOW + timedelta(days=3)
    for n in range(5):
        world.file([f"@b{n}"], now=NOW + timedelta(minutes=n))
    monkeypatch.setattr(dashboard, "BAND_COUNT_LIMIT", 2)
    monkeypatch.setattr("portal.main.views.BAND_COUNT_LIMIT", 2)
    monkeypatch.setattr("portal.main.views.utcnow", lambda: breached_at)
    sign_in(client, world.liaison)
    assert "3+ running deadlines have passed." in _start_page_needs(client)
    monkeypatch.setattr(dashboard, "BAND_COUNT_LIMIT", 100)
    assert "10 running deadlines have passed." in _start_page_needs(client)


def test_the_start_page_says_when_clocks_at_risk_were_not_all_counted(world, client,
                                                                     monkeypatch):
    # Five requests just filed: ten clocks, none at risk. A walk stopped before the end
    # cannot say none is at risk, and the page says so rather than "nothing needs you".
    for n in range(5):
        world.file([f"@n{n}"], now=NOW)
    monkeypatch.setattr("portal.main.views.utcnow", lambda: NOW + timedelta(minutes=5))
    monkeypatch.setattr(dashboard, "BAND_COUNT_LIMIT", 2)
    monkeypatch.setattr("portal.main.views.BAND_COUNT_LIMIT", 2)
    sign_in(client, world.liaison)
    needs = _start_page_needs(client)
    assert ("Deadlines at risk were not all counted: more than 2 running clocks are not due"
            " yet.") in needs
    assert "running deadline" not in needs
    monkeypatch.setattr(dashboard, "BAND_COUNT_LIMIT", 100)
    needs = _start_page_needs(client)
    assert "not all counted" not in needs and "running deadline" not in needs


def test_each_walk_reads_its_index_in_deadline_order(app, monkeypatch):
    """``bench/pages.py``'s seed of 8,000 requests, half open, the clocks of those waiting
    for an answer paused. Without an order, PostgreSQL counted the waiting clocks from a
    bitmap of their whole partial index (24,921 entries at 1M requests) and the breached
    ones by scanning the table in storage order, which stops early only while running
    clocks are spread through it."""
    from bench.pages import NOW as SEEDED_AT
    from portal.extensions import db
    from tests.functional.test_unassigned_queue import _plan, _seeded_reviewer

    _seeded_reviewer(monkeypatch, open_share=0.5)
    seen: list = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        dashboard.bounded_band_counts([], SEEDED_AT)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    plan = _plan(*seen[-1])
    assert "ix_sla_clocks_waiting" in plan, plan
    if db.engine.dialect.name == "postgresql":
        # At this size PostgreSQL may sort the few waiting clocks itself (at 1M requests
        # it walks the index: docs/BENCHMARKS.md); it never scans the table.
        assert '"Seq Scan"' not in plan, plan
    else:
        assert "COVERING INDEX ix_sla_clocks_open_bands" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    db.session.rollback()
