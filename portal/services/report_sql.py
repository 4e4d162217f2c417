"""SQL pieces the reports share: durations in seconds and continuous percentiles per
group, computed by the database on both engines with the same numbers.

PostgreSQL has ``percentile_cont``; SQLite has none, so there the values are read back
and sorted in Python, and interpolated as ``percentile_cont`` does: the value at position
``(n - 1) * q`` of the sorted values, linearly between its neighbours.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select

from portal.extensions import db

#: Places an hour figure is rounded to, so that both engines print the same numbers
#: (SQLite's julianday arithmetic is exact only to about a millisecond).
HOUR_PLACES = 3


def dialect() -> str:
    return db.session.get_bind().dialect.name


def seconds_between(start: Any, end: Any) -> ColumnElement[Any]:
    """``end - start`` in seconds, as a float, in the session's dialect."""
    if dialect() == "postgresql":
        return sa.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def iso_time(column: Any) -> ColumnElement[str]:
    """A UTC time column as ``datetime.isoformat`` writes it (``2026-11-20T10:00:00+00:00``,
    ``.123456`` before the offset when there are microseconds), and ``''`` for NULL,
    written by the database, so that a large export never builds a datetime per cell.

    SQLite stores ``2026-11-20 10:00:00.000000``; PostgreSQL formats the same text in UTC.
    """
    if dialect() == "postgresql":
        stored: ColumnElement[Any] = sa.func.to_char(
            sa.func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS.US")
    else:
        stored = sa.type_coerce(column, sa.String)
    # The stored text has one space and its only "." before the microseconds.
    text = sa.func.replace(sa.func.replace(stored, " ", "T", type_=sa.String), ".000000", "",
                           type_=sa.String)
    return sa.func.coalesce(text.concat("+00:00"), "", type_=sa.String)


def hours(seconds: float | None) -> float | None:
    """Seconds as hours, rounded to :data:`HOUR_PLACES`."""
    return None if seconds is None else round(seconds / 3600.0, HOUR_PLACES)


def percentiles(values: Select[Any] | Any, keys: Sequence[str], value: str,
                quantiles: Sequence[float], *,
                total: bool = False) -> dict[tuple[Any, ...], list[float | None]]:
    """The continuous percentiles ``quantiles`` of column ``value`` of the query
    ``values``, per distinct tuple of its columns ``keys`` (one group with no keys), and
    with ``total`` those of all the values too, under the key ``()``.

    ``values`` must select a label for each key and for ``value`` (NULL values are left
    out, as ``percentile_cont`` does).
    """
    sub = values.subquery("pv")
    key_cols = [sub.c[k] for k in keys]
    measured = sub.c[value]
    if dialect() == "postgresql":
        # Room to sort a period's values in memory (the default 4 MB spilt 100,000 of them
        # to disk); for this transaction only.
        db.session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
        cols = [sa.func.percentile_cont(q).within_group(measured) for q in quantiles]
        width = len(keys)
        if not key_cols:
            query = sa.select(*cols).where(measured.is_not(None))
        elif not total:
            query = sa.select(*key_cols, *cols).where(measured.is_not(None)).group_by(*key_cols)
        else:
            # The groups and the total in one pass over the values; GROUPING() tells the
            # total's row from a group whose keys are NULL.
            query = (sa.select(*key_cols, *cols, sa.func.grouping(*key_cols))
                     .where(measured.is_not(None))
                     .group_by(sa.func.grouping_sets(sa.tuple_(*key_cols), sa.tuple_())))
        found: dict[tuple[Any, ...], list[float | None]] = {}
        for result in db.session.execute(query):
            key = () if total and key_cols and result[-1] else tuple(result[:width])
            found[key] = [None if v is None else float(v)
                          for v in result[width:width + len(quantiles)]]
        return found
    # SQLite has no percentile_cont: the values come back (one narrow row each, read in
    # order of storage, as the driver gives them) and are sorted here, where a sort of
    # 100,000 floats takes a few milliseconds; SQLite's window functions took four times
    # as long.
    groups: defaultdict[tuple[Any, ...], list[float]] = defaultdict(list)
    for row in raw_rows(sa.select(*key_cols, measured).where(measured.is_not(None))):
        groups[row[:-1]].append(row[-1])
    ordered = {key: sorted(found) for key, found in groups.items()}
    if total and keys:
        # Sorted runs, one per group: Timsort merges them instead of sorting again.
        ordered[()] = sorted(v for found in ordered.values() for v in found)
    return {key: interpolate(found, quantiles) for key, found in ordered.items()}


def raw_rows(query: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of ``query`` as the driver returns them: plain tuples of stored values,
    without SQLAlchemy's result types (keys come back as stored codes, times as stored).

    For reads of a row per request: building a Row object cost about 2 µs, three times
    what SQLite took to read it (100,000 values: 190 ms against 55 ms).
    """
    result = db.session.connection().execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


@contextmanager
def streamed(query: Select[Any]) -> Iterator[Any]:
    """A driver cursor over ``query``'s rows (plain tuples, as :func:`raw_rows`) to read
    with ``fetchmany``: on PostgreSQL a server-side cursor in the session's transaction,
    so a large export holds one batch in memory at a time; on SQLite the ordinary
    cursor, which already reads as it is fetched. (SQLAlchemy's own streaming reads
    rows ahead into its buffer, which a driver cursor would then skip.)"""
    conn = db.session.connection()
    if conn.dialect.name != "postgresql":
        result = conn.execute(query)
        try:
            yield result.cursor
        finally:
            result.close()
        return
    compiled = query.compile(dialect=conn.dialect)
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor(name="streamed_export") as cursor:
        cursor.execute(str(compiled), compiled.params)
        yield cursor


def interpolate(ordered: Sequence[float], quantiles: Sequence[float]) -> list[float | None]:
    """The percentiles of sorted values as ``percentile_cont`` computes them: the value
    at position ``(n - 1) * q``, linearly between its neighbours."""
    if not ordered:
        return [None for _ in quantiles]
    found: list[float | None] = []
    for q in quantiles:
        h = (len(ordered) - 1) * q
        low = math.floor(h)
        below = ordered[low]
        above = ordered[min(low + 1, len(ordered) - 1)]
        found.append(float(below + (h - low) * (above - below)))
    return found
