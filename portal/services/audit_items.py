"""The items as ``audit verify`` reads them: every item of the record, each value as the
database driver returns it, converted by SQLAlchemy's own result processors only where
the record writes it (once per distinct decision, not once per item) or a finding names
a field.

Verify reads every item of every request. Converting every value of every item row (two
codes and eight timestamps an item, most of them empty) took as long as the query itself;
the items of one decision share all of those values, so their line's decided part is
written once from the converted values and cached by the values as read. The part is
what the portal's own ``audit.decided_part_of`` writes for the converted row, so the lines
and digests are the same (tests/functional/test_audit_verify_items.py compares them row
by row on each engine).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from portal.services.audit import ITEM_COLUMNS, decided_part_of

#: ITEM_COLUMNS without SQLAlchemy's conversion of their values (same labels).
UNCONVERTED_ITEM_COLUMNS = tuple(sa.type_coerce(c, sa.types.NullType()).label(c.key)
                                 for c in ITEM_COLUMNS)
_INDEX = {c.key: n for n, c in enumerate(ITEM_COLUMNS)}
#: Where an item row's decision starts (``decided_part`` covers the rest of the row).
_DECIDED = _INDEX["decision"]


class TypedItem(tuple[Any, ...]):
    """An item row converted as SQLAlchemy converts it, by index or by column name."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[_INDEX[name]]
        except KeyError:
            raise AttributeError(name) from None


class ItemValues:
    """Converts item rows of UNCONVERTED_ITEM_COLUMNS read on one kind of database."""

    def __init__(self, dialect: sa.Dialect) -> None:
        # The processors SQLAlchemy applies to these columns' results on this dialect
        # (None where the driver's value is used as it is).
        self._convert: list[Callable[[Any], Any] | None] = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in ITEM_COLUMNS]
        self._decided = self._convert[_DECIDED:]
        self.decided_part = functools.lru_cache(maxsize=4096)(self._decided_part)

    def typed(self, row: Sequence[Any]) -> TypedItem:
        """The row as SQLAlchemy would have converted it."""
        return TypedItem(v if f is None else f(v)
                         for f, v in zip(self._convert, row, strict=True))

    def _decided_part(self, values: tuple[Any, ...]) -> str:
        """``audit.decided_part_of`` of a row whose values from its decision on are
        ``values`` as read (call :attr:`decided_part`: cached by those values)."""
        return decided_part_of(tuple(v if f is None else f(v)
                                     for f, v in zip(self._decided, values, strict=True)))


_KINDS: dict[tuple[str, str], ItemValues] = {}


def item_values(dialect: sa.Dialect) -> ItemValues:
    """One converter (and its cache of parts) per kind of database and driver."""
    key = (dialect.name, dialect.driver)
    if key not in _KINDS:
        _KINDS[key] = ItemValues(dialect)
    return _KINDS[key]
