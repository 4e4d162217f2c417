"""Pages of a longer list: the one ``Page`` every list returns, and how a page is read.

A list either knows its length (a counted page: "page 2 of 5") or only whether another
page follows, learnt by reading one row more than it shows (an uncounted page: "51 to
100"); the second is for lists too long to count on every view. Both are a ``Page``, so
one pager (``templates/macros/pager.html``) serves every list.

Page numbers and sizes come from user input: they are clamped here, never refused, and
never reach the database as a number it cannot hold.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select

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
    #: A keyset page (:func:`keyset_page`): it knows whether it is the first and the
    #: last, and where the pages beside it start; not its number (0 past the first).
    keyset: bool = False
    is_first: bool = True
    is_last: bool = True
    after: Position | None = None
    before: Position | None = None

    @property
    def pages(self) -> int | None:
        """How many pages the list fills (at least one); ``None`` when not counted."""
        if self.total is None:
            return None
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        if self.keyset:
            return not self.is_first
        return self.number > 1

    @property
    def has_next(self) -> bool:
        if self.keyset:
            return not self.is_last
        if self.total is None:
            return self.more
        return self.number * self.per_page < self.total

    @property
    def paginated(self) -> bool:
        """Whether the list needs a pager: it fills several pages (counted), or there is
        a page on either side of this one (uncounted, keyset)."""
        if self.keyset:
            return not (self.is_first and self.is_last)
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
        return dataclasses.replace(self, rows=rows)  # type: ignore[return-value,arg-type]

    def links(self) -> dict[str, str]:
        """The positions (query values) of the pages a pager links to, by name:
        ``first``, ``previous``, ``next``, ``last`` (only those that exist)."""
        found: dict[str, str] = {}
        if self.keyset:
            if self.has_previous:
                found["first"] = Position(FIRST).param()
                if self.before is not None:
                    found["previous"] = self.before.param()
            if self.has_next:
                if self.after is not None:
                    found["next"] = self.after.param()
                found["last"] = Position(LAST).param()
            return found
        if self.has_previous:
            found["previous"] = str(self.number - 1)
        if self.has_next:
            found["next"] = str(self.number + 1)
        return found


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


# -- keyset (seek) pages ------------------------------------------------------------------
#
# A long list is read from where the reader is, not counted off from its start: the page
# after the last row shown is "the rows whose sort key follows that row's", an index walk
# of one page whatever the page's depth. The last page is the same walk backwards from
# the end, so the first and the last page cost the same. A page's address carries its
# position in one query parameter (the pager's ``param``): ``1`` (the first page),
# ``last``, ``after.<cursor>``, ``before.<cursor>``; a number above 1 (a link from before
# keyset pages) is still served, counting off from the start.

#: How a position names a page: its kind, and the cursor or number it carries.
FIRST, LAST, AFTER, BEFORE, NUMBER = "first", "last", "after", "before", "number"


@dataclass(frozen=True)
class Position:
    """Where a keyset page is in its list: the first or last page, the page after or
    before a row (its segment and sort key), or a page number (links from before)."""

    kind: str = FIRST
    segment: int = 0
    key: tuple[Any, ...] = ()
    number: int = 1

    def param(self) -> str:
        """The position as its query parameter's value."""
        if self.kind in (AFTER, BEFORE):
            return f"{self.kind}.{encode_cursor(self.segment, self.key)}"
        if self.kind == LAST:
            return LAST
        return str(self.number if self.kind == NUMBER else 1)


def encode_cursor(segment: int, key: Sequence[Any]) -> str:
    """An opaque, URL-safe cursor for a row: its segment and its sort key (integers,
    strings and aware datetimes)."""
    values: list[Any] = [segment]
    for value in key:
        if isinstance(value, datetime):
            values.append({"t": value.isoformat()})
        elif isinstance(value, Enum):
            values.append(value.value)
        else:
            values.append(value)
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, tuple[Any, ...]]:
    """The segment and sort key a cursor of :func:`encode_cursor` holds.

    Raises:
        ValueError: not a cursor this portal gave out.
    """
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as error:  # binascii.Error and JSON errors are both
        raise ValueError("not a cursor") from error
    if not isinstance(values, list) or not values or type(values[0]) is not int:
        raise ValueError("not a cursor")
    key: list[Any] = []
    for value in values[1:]:
        if isinstance(value, dict):
            stamp = datetime.fromisoformat(str(value.get("t")))
            if stamp.tzinfo is None:
                raise ValueError("not a cursor")
            key.append(stamp)
        elif isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("not a cursor")
        else:
            key.append(value)
    return values[0], tuple(key)


def position_of(value: Any) -> Position:
    """A page position from user input (see above); anything else is the first page,
    as a page number that is not one is (never refused: a stale link shows a list)."""
    text = str(value or "").strip()
    if text == LAST:
        return Position(LAST)
    kind, _, cursor = text.partition(".")
    if kind in (AFTER, BEFORE) and cursor:
        try:
            segment, key = decode_cursor(cursor)
        except ValueError:
            return Position(FIRST)
        return Position(kind, segment, key)
    number = page_number(value)
    return Position(NUMBER, number=number) if number > 1 else Position(FIRST)


def as_position(page: int | Position) -> Position:
    """A position from a page number (callers that still count pages) or a position."""
    if isinstance(page, Position):
        return page
    return position_of(page)


@dataclass(frozen=True)
class Keyset:
    """A list walked by a sort key: its rows (a select, without order) and the columns
    it is sorted by, each ascending unless named in ``descending``. The key must be
    unique (end it with a primary key), and no key column may be NULL."""

    rows: AnySelect
    key: tuple[Any, ...]
    descending: frozenset[int] = frozenset()


def _seek(keyset: Keyset, after: tuple[Any, ...], backwards: bool) -> ColumnElement[bool]:
    """Rows whose key follows ``after`` in the walk's direction: ``k1 >= v1 AND (k1 > v1
    OR (k2 >= v2 AND (k2 > v2 OR ...)))``, a form whose leading bound an index range
    can start from."""
    condition: ColumnElement[bool] | None = None
    for index in reversed(range(len(keyset.key))):
        column, value = keyset.key[index], after[index]
        up = (index in keyset.descending) == backwards
        strict = column > value if up else column < value
        if condition is None:
            condition = strict
        else:
            loose = column >= value if up else column <= value
            condition = sa.and_(loose, sa.or_(strict, condition))
    assert condition is not None  # a key has at least one column  # nosec B101
    return condition


def _keyed(keyset: Keyset) -> AnySelect:
    # Labelled: a key column the select already holds (an id) would otherwise be merged.
    return keyset.rows.add_columns(*(column.label(f"seek_{index}")
                                     for index, column in enumerate(keyset.key)))


def _ordered(keyset: Keyset, backwards: bool) -> AnySelect:
    columns = [column.desc() if (index in keyset.descending) != backwards else column.asc()
               for index, column in enumerate(keyset.key)]
    return _keyed(keyset).order_by(None).order_by(*columns)


def _read(query: AnySelect, limit: int, params: dict[str, Any] | None,
          offset: int = 0) -> list[Any]:
    return list(db.session.execute(query.limit(limit).offset(offset) if offset
                                   else query.limit(limit), params or {}).all())


def keyset_page(segments: Sequence[Keyset], position: Position, per_page: int, *,
                total: int | None = None, params: dict[str, Any] | None = None,
                counts: Sequence[Any] = ()) -> Page[Any]:
    """The page at ``position`` of the segments walked one after the other (each by its
    own key: a list in several parts, such as running clocks then paused ones).

    Reads at most one page (plus one row) per segment it reaches, whatever the page's
    depth; the first and the last page alike. A cursor that names a segment this list
    does not have, or a key of another shape, is the first page. A page number above 1
    (a link from before keyset pages) counts off from the start: each segment it passes
    is counted, with its statement in ``counts`` (or read to its end without one).

    Rows are what each segment's select selects (one entity or column gives those, more
    give row tuples). ``total`` is shown by the pager when given.
    """
    per_page = page_size(per_page)
    last_segment = len(segments) - 1
    if position.kind in (AFTER, BEFORE) and not (
            0 <= position.segment <= last_segment
            and len(position.key) == len(segments[position.segment].key)):
        position = Position(FIRST)
    backwards = position.kind in (BEFORE, LAST)
    if backwards:
        start = position.segment if position.kind == BEFORE else last_segment
        order = range(start, -1, -1)
    else:
        start = position.segment if position.kind == AFTER else 0
        order = range(start, last_segment + 1)
    skip = (position.number - 1) * per_page if position.kind == NUMBER else 0
    found: list[tuple[int, Any]] = []
    for index in order:
        keyset = segments[index]
        query = _ordered(keyset, backwards)
        if index == start and position.kind in (AFTER, BEFORE):
            query = query.where(_seek(keyset, position.key, backwards))
        rows = _read(query, per_page + 1 - len(found), params, skip)
        if skip and not rows:
            # The page starts past this segment: count it to know how far past.
            size = (db.session.scalar(counts[index], params or {}) if index < len(counts)
                    else len(_read(_keyed(keyset), MAX_PAGE * per_page,
                                   params)))
            skip = max(skip - int(size or 0), 0)
            continue
        skip = 0
        found += [(index, row) for row in rows]
        if len(found) > per_page:
            break
    more = len(found) > per_page
    found = found[:per_page]
    if backwards:
        found.reverse()
        if not more and position.kind == BEFORE:
            # Back at the start: the first page, full, as the reader would expect.
            return keyset_page(segments, Position(FIRST), per_page, total=total,
                               params=params, counts=counts)
    is_first = (position.kind == FIRST or (position.kind == NUMBER and position.number == 1)
                or (backwards and not more))
    is_last = position.kind == LAST or (not backwards and not more)
    before = after = None
    if found:
        head, tail = found[0], found[-1]
        width_head, width_tail = len(segments[head[0]].key), len(segments[tail[0]].key)
        before = Position(BEFORE, head[0], tuple(head[1][-width_head:]))
        after = Position(AFTER, tail[0], tuple(tail[1][-width_tail:]))
    rows_out = []
    for index, row in found:
        width = len(segments[index].key)
        values = tuple(row[:-width])
        rows_out.append(values[0] if len(values) == 1 else values)
    return Page(rows_out, 1 if is_first else 0, per_page, total, more=not is_last,
                keyset=True, is_first=is_first, is_last=is_last or not found,
                after=after, before=before)
