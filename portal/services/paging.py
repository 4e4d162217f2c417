"""Pages of a longer list: the one ``Page`` every list returns, and how a page is read.

A list either knows its length (a counted page: "page 2 of 5") or only whether another
page follows, learnt by reading one row more than it shows (an uncounted page: "51 to
100"); the second is for lists too long to count on every view. Both are a ``Page``, so
one pager (``templates/macros/pager.html``) serves every list.

Page numbers and sizes come from user input: they are clamped here, never refused, and
never reach the database as a number it cannot hold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql import Select

from portal.extensions import db

T = TypeVar("T")
U = TypeVar("U")
#: A select of any columns (the pages read entities, columns or several of each).
AnySelect = Select[*tuple[Any, ...]]

#: The deepest page served; beyond it OFFSET scans get slow, and nobody pages that far.
MAX_PAGE = 10_000
#: The most rows one page shows, whatever size is asked for.
MAX_PER_PAGE = 100
#: Rows per page of the lists whose reader may choose another size (the admin lists).
DEFAULT_PER_PAGE = 25


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list; ``number`` counts from 1.

    ``total`` is the length of the whole list, or ``None`` when it was not counted; then
    ``more`` says whether a row follows this page.
    """

    rows: list[T]
    number: int
    per_page: int
    total: int | None = None
    more: bool = False

    @property
    def pages(self) -> int | None:
        """How many pages the list fills (at least one); ``None`` when not counted."""
        if self.total is None:
            return None
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        if self.total is None:
            return self.more
        return self.number * self.per_page < self.total

    @property
    def paginated(self) -> bool:
        """Whether the list needs a pager: it fills several pages (counted), or there is
        a page on either side of this one (uncounted)."""
        if self.total is None:
            return self.has_previous or self.more
        return self.total > self.per_page

    @property
    def first(self) -> int:
        """1-based position of the first row shown (0 when the page is empty)."""
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        """1-based position of the last row shown."""
        return (self.number - 1) * self.per_page + len(self.rows)

    def with_rows(self, rows: list[U]) -> Page[U]:
        """The same page holding ``rows`` instead (e.g. each row wrapped for display)."""
        return Page(rows, self.number, self.per_page, self.total, self.more)


def page_number(value: Any) -> int:
    """A page number from user input: a positive integer up to ``MAX_PAGE``, else 1."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def page_size(value: Any) -> int:
    """A page size from user input or a caller: from 1 to ``MAX_PER_PAGE``."""
    return min(page_number(value), MAX_PER_PAGE)


def offset_of(number: int, per_page: int) -> int:
    """How many rows come before page ``number`` (clamped as :func:`page_number` does)."""
    return (page_number(number) - 1) * per_page


def count_of(query: AnySelect) -> int:
    """How many rows ``query`` selects (its order and any limit of a page aside)."""
    counted = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    return db.session.scalar(counted) or 0


def page_of(query: AnySelect, number: int, per_page: int, *,
            count: bool | int = False) -> Page[Any]:
    """Page ``number`` of the rows of ``query`` (which sets their order).

    The number and size are clamped (:func:`page_number`, :func:`page_size`). ``count``
    says how the page learns where the list ends:

    - ``False``: one row more than shown is read; the page is not counted (no total).
    - ``True``: the rows of ``query`` are counted (one more statement).
    - an ``int``: the total, already known (a counter kept on a row, or a count the
      caller needs anyway).

    A query that selects one thing (an entity, a column) gives those; one that selects
    several gives row tuples.
    """
    number, per_page = page_number(number), page_size(per_page)
    if count is True:
        total: int | None = count_of(query)
    elif count is False:
        total = None
    else:
        total = int(count)
    fetch = per_page + 1 if total is None else per_page
    paged = query.limit(fetch).offset((number - 1) * per_page)
    rows: Sequence[Any]
    if len(query.column_descriptions) == 1:
        rows = db.session.scalars(paged).all()
    else:
        rows = db.session.execute(paged).all()
    return Page(list(rows[:per_page]), number, per_page, total,
                more=total is None and len(rows) > per_page)


# -- a page of a list made of parts -----------------------------------------------------

@dataclass(frozen=True)
class Segment:
    """One part of a list walked in order: its rows, and how many there are (a number
    when known, else a statement that counts them, run only when a page starts past
    the part)."""

    rows: Any
    size: Any


def walk(segments: Sequence[Segment], *, offset: int, size: int, total: int,
         params: dict[str, Any] | None = None) -> list[Any]:
    """Rows [offset, offset + size) of the segments one after the other.

    Each segment is read with its own LIMIT/OFFSET, so each can walk an index in order;
    a segment is read only if the page reaches it (``total`` says where the list ends).
    """
    found: list[Any] = []
    skip = offset
    for segment in segments:
        if len(found) >= size or offset + len(found) >= total:
            break
        known = segment.size if isinstance(segment.size, int) else None
        if known is not None and skip >= known:
            skip -= known
            continue
        rows = db.session.execute(segment.rows.limit(size - len(found)).offset(skip),
                                  params or {}).all()
        if not rows and skip:
            # The page starts past this segment: count it to know how far past.
            length = known if known is not None else int(
                db.session.scalar(segment.size, params or {}) or 0)
            skip = max(skip - length, 0)
            continue
        found += rows
        skip = 0
    return found
