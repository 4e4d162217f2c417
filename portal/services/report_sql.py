"""SQL pieces the reports share: durations in seconds and continuous percentiles per
group, computed by the database on both engines with the same numbers.

PostgreSQL has ``percentile_cont``; SQLite has none, so there the values of each group
are numbered in order by a window function and only the (at most two) rows around each
percentile are read back and interpolated as ``percentile_cont`` does: the value at
position ``(n - 1) * q`` of the sorted values, linearly between its neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def hours(seconds: float | None) -> float | None:
    """Seconds as hours, rounded to :data:`HOUR_PLACES`."""
    return None if seconds is None else round(seconds / 3600.0, HOUR_PLACES)


def percentiles(values: Select[Any] | Any, keys: Sequence[str], value: str,
                quantiles: Sequence[float]) -> dict[tuple[Any, ...], list[float | None]]:
    """The continuous percentiles ``quantiles`` of column ``value`` of the query
    ``values``, per distinct tuple of its columns ``keys`` (one group with no keys).

    ``values`` must select a label for each key and for ``value`` (NULL values are left
    out, as ``percentile_cont`` does).
    """
    sub = values.subquery("pv")
    key_cols = [sub.c[k] for k in keys]
    measured = sub.c[value]
    if dialect() == "postgresql":
        cols = [sa.func.percentile_cont(q).within_group(measured) for q in quantiles]
        query = sa.select(*key_cols, *cols).where(measured.is_not(None))
        if key_cols:
            query = query.group_by(*key_cols)
        return {tuple(row[:len(keys)]): [None if v is None else float(v)
                                          for v in row[len(keys):]]
                for row in db.session.execute(query)}
    # SQLite: number the values of each group in order, keep the rows next to each
    # percentile's position.
    rn = sa.func.row_number().over(partition_by=key_cols or None, order_by=measured)
    n = sa.func.count().over(partition_by=key_cols or None)
    ranked = (sa.select(*key_cols, measured.label("v"), rn.label("rn"), n.label("n"))
              .where(measured.is_not(None)).subquery("ranked"))
    wanted = []
    for q in quantiles:
        first = sa.cast((ranked.c.n - 1) * q, sa.Integer) + 1
        wanted += [ranked.c.rn == first, ranked.c.rn == first + 1]
    rows = db.session.execute(
        sa.select(*[ranked.c[k] for k in keys], ranked.c.v, ranked.c.rn, ranked.c.n)
        .where(sa.or_(*wanted))
    ).all()
    near: dict[tuple[Any, ...], dict[int, float]] = {}
    sizes: dict[tuple[Any, ...], int] = {}
    for row in rows:
        key = tuple(row[:len(keys)])
        near.setdefault(key, {})[int(row.rn)] = float(row.v)
        sizes[key] = int(row.n)
    found: dict[tuple[Any, ...], list[float | None]] = {}
    for key, at in near.items():
        size = sizes[key]
        result: list[float | None] = []
        for q in quantiles:
            h = (size - 1) * q
            low = math.floor(h)
            below = at[low + 1]
            above = at.get(low + 2, below)
            result.append(below + (h - low) * (above - below))
        found[key] = result
    return found
