"""The one Page every list returns, and page_of: counted pages, "one row more" pages,
known totals, and page numbers and sizes from user input."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.models import Agency
from portal.services.paging import (
    MAX_PAGE,
    MAX_PER_PAGE,
    Page,
    page_number,
    page_of,
    page_size,
)
from tests.factories import count_statements, make_agency


@pytest.mark.parametrize(("page", "pages", "has_next", "paginated", "first", "last"), [
    (Page([1, 2], 1, 2, total=5), 3, True, True, 1, 2),
    (Page([5], 3, 2, total=5), 3, False, True, 5, 5),
    (Page([1, 2], 1, 2, total=2), 1, False, False, 1, 2),
    (Page([], 1, 25, total=0), 1, False, False, 0, 0),
    (Page([1, 2], 1, 2, more=True), None, True, True, 1, 2),
    (Page([3], 2, 2), None, False, True, 3, 3),
    (Page([1], 1, 2), None, False, False, 1, 1),
], ids=["counted-first", "counted-last", "counted-one-page", "counted-empty",
        "uncounted-first", "uncounted-last", "uncounted-one-page"])
def test_a_page_knows_where_it_is(page, pages, has_next, paginated, first, last):
    assert (page.pages, page.has_next, page.paginated, page.first, page.last) == (
        pages, has_next, paginated, first, last)
    assert page.has_previous is (page.number > 1)


@pytest.mark.parametrize(("raw", "number"), [
    (None, 1), ("", 1), ("x", 1), ("-3", 1), ("0", 1), ("7", 7), (2**31, MAX_PAGE),
    (10**30, MAX_PAGE),
])
def test_page_numbers_from_user_input_are_clamped(raw, number):
    assert page_number(raw) == number


@pytest.mark.parametrize(("raw", "size"), [("abc", 1), (0, 1), (25, 25), (2**63, MAX_PER_PAGE)])
def test_page_sizes_are_clamped(raw, size):
    assert page_size(raw) == size


@pytest.fixture
def five(app) -> list[int]:
    return [make_agency().id for _ in range(5)]


def by_id():
    return sa.select(Agency).order_by(Agency.id)


def test_an_uncounted_page_reads_one_row_more_in_one_statement(five):
    with count_statements() as statements:
        page = page_of(by_id(), 2, 2)
    assert len(statements) == 1
    assert [a.id for a in page.rows] == five[2:4]
    assert (page.total, page.has_next, page.first, page.last) == (None, True, 3, 4)
    assert page_of(by_id(), 3, 2).has_next is False


def test_a_counted_page_counts_in_one_more_statement(five):
    with count_statements() as statements:
        page = page_of(by_id(), 3, 2, count=True)
    assert len(statements) == 2
    assert ([a.id for a in page.rows], page.total, page.pages) == (five[4:], 5, 3)


def test_a_known_total_costs_no_count(five):
    with count_statements() as statements:
        page = page_of(by_id(), 1, 10, count=5)
    assert len(statements) == 1 and page.total == 5 and len(page.rows) == 5


def test_several_columns_give_rows_and_huge_numbers_are_clamped(five):
    page = page_of(sa.select(Agency.id, Agency.country).order_by(Agency.id), 10**30, 2**63,
                   count=True)
    assert (page.number, page.per_page, page.rows, page.total) == (MAX_PAGE, MAX_PER_PAGE,
                                                                   [], 5)
    rows = page_of(sa.select(Agency.id, Agency.country).order_by(Agency.id), 1, 2).rows
    assert [tuple(r) for r in rows] == [(five[0], "TR"), (five[1], "TR")]
    assert page.with_rows(["x"]).rows == ["x"] and page.with_rows(["x"]).total == 5
