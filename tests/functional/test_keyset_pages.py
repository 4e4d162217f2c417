"""Keyset pages: read from where the reader is, the last page as cheap as the first.

Walking forward page by page from the first page, and backward from the last, shows
every row exactly once in the list's order, also when rows tie on their sort key (the
same receipt time: the id decides). A cursor the portal did not give out shows the first
page. Before: pages were counted off from the start (OFFSET), and there was no last page.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.services.listing import list_requests
from portal.services.paging import (
    AFTER,
    BEFORE,
    LAST,
    Keyset,
    Position,
    decode_cursor,
    encode_cursor,
    keyset_page,
    position_of,
)
from portal.services.request_filters import RequestFilters
from tests.factories import NOW


@pytest.fixture
def seven(world):
    # Receipt times with ties: 3 at the same minute, so the id breaks them.
    minutes = [0, 1, 1, 1, 2, 3, 4]
    made = [world.file(["@t"], now=NOW + timedelta(minutes=m)) for m in minutes]
    # Newest first; among equal times, the highest id first.
    return [r.reference for r in sorted(made, key=lambda r: (r.received_at, r.id),
                                        reverse=True)]


def _page(world, page):
    return list_requests(world.actor("official"), RequestFilters(), page=page, per_page=3)


def test_forward_from_the_first_page_shows_each_row_once(world, seven):
    seen, page = [], _page(world, Position())
    assert page.is_first and not page.has_previous
    while True:
        seen += [r.reference for r in page.rows]
        if not page.has_next:
            break
        page = _page(world, position_of(page.links()["next"]))
        assert page.has_previous and "first" in page.links()
    assert seen == seven


def test_backward_from_the_last_page_shows_each_row_once(world, seven):
    page = _page(world, position_of(LAST))
    assert page.is_last and not page.has_next
    assert [r.reference for r in page.rows] == seven[-3:]
    seen = [r.reference for r in page.rows]
    while page.has_previous:
        page = _page(world, position_of(page.links()["previous"]))
        seen = [r.reference for r in page.rows] + seen
    # The walk back ends on the first page, full: rows 1-3, after 4-6 and 5-7 overlapped.
    assert [r.reference for r in page.rows] == seven[:3]
    assert seen[:3] == seven[:3] and seen[-3:] == seven[-3:]
    assert sorted(set(seen)) == sorted(seven)


def test_previous_of_a_page_is_the_page_before_its_first_row(world, seven):
    second = _page(world, position_of(_page(world, Position()).links()["next"]))
    third = _page(world, position_of(second.links()["next"]))
    back = _page(world, position_of(third.links()["previous"]))
    assert [r.reference for r in back.rows] == [r.reference for r in second.rows]


def test_a_page_number_from_before_is_still_served(world, seven):
    assert [r.reference for r in _page(world, 2).rows] == seven[3:6]
    assert [r.reference for r in _page(world, 3).rows] == seven[6:]


@pytest.mark.parametrize("value", ["after.", "before.!!", "after.bm90IGpzb24", "after.WzAsImEiXQ",
                                   "after.WzUsMSwyXQ", "before.eyJhIjoxfQ", "banana", ""])
def test_a_cursor_not_given_out_shows_the_first_page(world, seven, value):
    page = _page(world, position_of(value))
    assert [r.reference for r in page.rows] == seven[:3]


def test_cursors_round_trip():
    key = (NOW, 42, "x")
    assert decode_cursor(encode_cursor(1, key)) == (1, key)
    for kind in (AFTER, BEFORE):
        position = position_of(Position(kind, 1, key).param())
        assert (position.kind, position.segment, position.key) == (kind, 1, key)
    with pytest.raises(ValueError, match="not a cursor"):
        decode_cursor(encode_cursor(0, (NOW.replace(tzinfo=None),)))


def test_queue_tab_counts_stop_at_the_cap(world, client, monkeypatch):
    """Each tab is counted up to the cap plus one: a longer tab says "3+" (the cap
    lowered from 500 to 3 here), a shorter one its exact number."""
    from portal.services import queue
    from tests.conftest import sign_in

    monkeypatch.setattr(queue, "COUNT_CAP", 3)
    made = [world.file([f"@c{n}"], now=NOW + timedelta(minutes=n)) for n in range(5)]
    world.to_review(made[0].reference)
    _, counts = queue.review_queue(world.actor("reviewer"), tab=queue.QueueTab.OPEN,
                                   filters=RequestFilters(), page=1, now=NOW)
    assert (counts.open, counts.unassigned, counts.mine) == (4, 4, 1)
    assert counts.capped(queue.QueueTab.OPEN) and not counts.capped(queue.QueueTab.MINE)
    sign_in(client, world.reviewer)
    body = client.get("/review/?tab=open").get_data(as_text=True)
    assert "(3+)" in body and "(1)" in body
    assert sum(r.reference in body for r in made) == 5  # the page itself is whole


# -- the seek itself, on any key and any mix of directions ---------------------------------

_scratch = sa.MetaData()
_rows = sa.Table("keyset_scratch", _scratch,
                 sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                 sa.Column("a", sa.Integer, nullable=False),
                 sa.Column("b", sa.String(3), nullable=False))


@pytest.fixture
def scratch(app):
    _scratch.create_all(db.engine)
    yield
    db.session.rollback()
    _scratch.drop_all(db.engine)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["", "a", "b", "ab"])),
                       max_size=14),
       descending=st.sets(st.integers(0, 2)), per_page=st.integers(1, 5),
       split=st.integers(0, 3))
def test_walks_give_every_row_once_in_order(scratch, values, descending, per_page, split):
    """Forward from the first page and backward from the last, over one or two segments
    (rows with ``a`` below ``split``, then the rest), ties on (a, b) broken by id: the
    pages hold the list in order, each row once (backward, the first page may overlap
    the one after it, as a full first page does)."""
    db.session.execute(_rows.delete())
    if values:
        db.session.execute(_rows.insert(), [{"id": n, "a": a, "b": b}
                                            for n, (a, b) in enumerate(values)])
    key = (_rows.c.a, _rows.c.b, _rows.c.id)
    segments = [Keyset(sa.select(_rows.c.id).where(_rows.c.a < split), key,
                       frozenset(descending)),
                Keyset(sa.select(_rows.c.id).where(_rows.c.a >= split), key,
                       frozenset(descending))]

    def order(rows):
        ordered = list(rows)
        for index in reversed(range(3)):  # stable sorts, the last key first
            ordered.sort(key=lambda r: r[index], reverse=index in descending)  # noqa: B023
        return [r[2] for r in ordered]

    rows = [(a, b, n) for n, (a, b) in enumerate(values)]
    expected = (order([r for r in rows if r[0] < split])
                + order([r for r in rows if r[0] >= split]))

    def walk(start: Position, link: str) -> list[int]:
        seen: list[int] = []
        position = start
        for _ in range(40):
            page = keyset_page(segments, position, per_page)
            seen = seen + page.rows if link == "next" else page.rows + seen
            if link not in page.links():
                return seen
            position = position_of(page.links()[link])
        raise AssertionError("the walk does not end")

    assert walk(Position(), "next") == expected
    assert list(dict.fromkeys(walk(Position(LAST), "previous"))) == expected


def test_actioned_requests_awaiting_close_are_counted_up_to_the_cap(world, client, monkeypatch):
    """With the cap lowered from 1,000 to 1: two actioned requests read "More than 1"."""
    from portal.liaison import views as liaison_views
    from portal.services import dashboard
    from tests.conftest import sign_in

    for n in range(2):
        world.actioned([f"@a{n}"], now=NOW + timedelta(minutes=n))
    _, total = dashboard.awaiting_close(world.actor("liaison"))
    assert total == 2
    monkeypatch.setattr(dashboard, "CLOSE_COUNT_CAP", 1)
    monkeypatch.setattr(liaison_views, "CLOSE_COUNT_CAP", 1)
    _, total = dashboard.awaiting_close(world.actor("liaison"))
    assert total == 2  # counted up to the cap plus one
    sign_in(client, world.liaison)
    body = client.get("/liaison/").get_data(as_text=True)
    assert "More than 1 actioned requests can be closed" in body
