"""The full-text index over a request's order line (order number, issuing authority,
description), which the models cannot declare: an FTS5 virtual table kept by triggers on
SQLite, a trigram GIN index on PostgreSQL. Both are built by migration ``d15a1157f007``;
the names below are what schema comparisons must leave alone (Alembic cannot reflect
them into the models' terms, and would otherwise propose to drop them)."""

from __future__ import annotations

#: The FTS5 table (SQLite) and the columns it indexes, in order.
FTS_TABLE = "request_search"
SEARCHED_COLUMNS = ("order_reference", "issuing_authority", "description")
#: The trigram index (PostgreSQL).
TRIGRAM_INDEX = "ix_legal_requests_order_line_trgm"
#: The triggers that keep the FTS5 table in step with ``legal_requests`` (SQLite).
FTS_TRIGGERS = ("request_search_ai", "request_search_ad", "request_search_au")

#: Every schema object name the index adds: the FTS5 table, its shadow tables, the index.
SCHEMA_NAMES = frozenset({
    FTS_TABLE, *(f"{FTS_TABLE}_{part}" for part in ("data", "idx", "docsize", "config",
                                                      "content")),
    TRIGRAM_INDEX,
})


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: leave the search index's objects out of schema
    comparisons."""
    return name not in SCHEMA_NAMES
