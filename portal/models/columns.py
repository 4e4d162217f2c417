"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class NaiveDatetimeError(ValueError):
    """A naive datetime reached the database layer: its zone is unknown, so it is refused."""


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC timestamp: refuses naive values, always returns aware UTC.

    SQLite keeps no zone, so values are converted to UTC before they are stored and read
    back as UTC; PostgreSQL stores ``timestamptz``.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(f"naive datetime {value.isoformat()} refused: give a zone")
        in_utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return in_utc.replace(tzinfo=None)
        return in_utc

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


def code_enum(enum_class: type[StrEnum], length: int = 32) -> sa.Enum:
    """A string column holding an enum's values (not names), checked in Python."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


#: JSON on every engine, JSONB on PostgreSQL.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


#: The largest id a row can have: ids are ``integer`` columns, 32 bits on PostgreSQL.
ID_MAX = 2**31 - 1


def utcnow() -> datetime:
    """The current time, aware UTC (the only kind the database accepts)."""
    return datetime.now(UTC)
