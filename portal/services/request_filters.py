"""What a list of requests is narrowed to: one set of filters for every list (the
agency's requests, the review queue, the SLA dashboard), turned into SQL in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from portal import intake, platforms
from portal.extensions import db
from portal.models import LegalRequest, RequestItem, search_index
from workflows.codes import Category, Priority
from workflows.states import RequestState


@dataclass(frozen=True)
class RequestFilters:
    """What a list is narrowed to. A blank (``None`` or ``""``) means any, and a code
    that is not one (an unknown state, category or priority) is ignored rather than
    refused: filters come from query strings, and a stale link should still show a list.
    """

    state: str | None = None
    category: str | None = None
    priority: str | None = None
    jurisdiction: str | None = None
    agency_id: int | None = None
    reviewer_id: int | None = None
    search: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The conditions on ``legal_requests`` rows, one per filter set."""
        found: list[ColumnElement[bool]] = []
        # Compared as their codes: the columns' enum type takes a known value as is.
        if self.state in RequestState._value2member_map_:
            found.append(LegalRequest.state == self.state)
        if self.category in Category._value2member_map_:
            found.append(LegalRequest.category == self.category)
        if self.priority in Priority._value2member_map_:
            found.append(LegalRequest.priority == self.priority)
        if self.jurisdiction:
            found.append(LegalRequest.jurisdiction == self.jurisdiction.upper())
        if self.agency_id is not None:
            found.append(LegalRequest.agency_id == self.agency_id)
        if self.reviewer_id is not None:
            found.append(LegalRequest.assigned_reviewer_id == self.reviewer_id)
        searched = search_condition(self.search or "")
        if searched is not None:
            found.append(searched)
        return found


def search_condition(search: str) -> ColumnElement[bool] | None:
    """Requests whose reference starts with ``search``, that name ``search`` (after
    normalising it as a target: ``@Jack`` and ``https://twitter.com/jack`` are the same
    account) among their items, or whose order line (order number, issuing authority,
    description) holds every word of ``search`` ("W.P.(C) 1234/2026"). ``None`` when
    there is nothing to search for.

    Each way is one indexed lookup (the reference's unique index, the items' target
    index, the order line's full-text index), and the request ids they find are
    gathered first: the list then reads only those rows, whatever the agency filter,
    instead of walking every request of the agency to test each one.
    """
    text = search.strip()
    if not text:
        return None
    prefix = text.upper()
    found: list[sa.Select[int]] = [
        # The range lets both engines walk the unique index on reference; LIKE keeps the
        # match exact (SQLite's LIKE alone cannot use that index).
        sa.select(LegalRequest.id).where(
            LegalRequest.reference >= prefix,
            LegalRequest.reference < prefix + "\U0010ffff",
            LegalRequest.reference.startswith(prefix, autoescape=True)),
    ]
    enabled = platforms.enabled()
    # A bare @name may be any enabled platform's (their names differ in length).
    targets = set()
    for profile in enabled.profiles:
        try:
            targets.add(intake.normalise(text, enabled.with_default(profile.code))[1])
        except intake.TargetError:
            pass  # not a target (e.g. a partial reference or an order number)
    for target in sorted(targets):
        found.append(sa.select(RequestItem.request_id).where(RequestItem.target == target))
    order_line = order_line_ids(text)
    if order_line is not None:
        found.append(order_line)
    return LegalRequest.id.in_(sa.union(*found))


#: A word of a search: letters or digits between anything else (``W.P.(C)`` is one).
_WORD = re.compile(r"\S+")


def _words(text: str) -> list[str]:
    """The words of ``text`` that hold a letter or digit (punctuation alone finds
    nothing on either engine)."""
    return [w for w in _WORD.findall(text) if any(ch.isalnum() for ch in w)][:MAX_WORDS]


#: Words of a search the order line is matched on (the rest are ignored).
MAX_WORDS = 8


def order_line_ids(text: str) -> sa.Select[int] | None:
    """Ids of requests whose order line holds every word of ``text``; ``None`` when
    ``text`` has no word.

    SQLite: an FTS5 query, each word a phrase of its tokens (``W.P.(C)`` is the phrase
    "w p c"), the last also as a prefix unless it ends in a digit. PostgreSQL: each word
    a case-insensitive substring of one of the columns, served by the trigram index. The
    two differ at the edges (FTS5 matches whole tokens, trigrams any substring: "1234/202"
    finds "1234/2026" there and not here) and agree on what people
    type: an order number, an authority's name, words of the description.
    """
    words = _words(text)
    if not words:
        return None
    if db.session.get_bind().dialect.name == "sqlite":
        phrases = ['"' + w.replace('"', '""') + '"' for w in words]
        # A word being typed is found by its start; an order number is typed whole. FTS5
        # reads a prefix's whole doclist: for the year ending every order number
        # ("1234/2026*") that is every request's entry, 40 ms at 1M requests against
        # 0.2 ms for the phrase.
        if not [ch for ch in words[-1] if ch.isalnum()][-1].isdigit():
            phrases[-1] += "*"
        fts = sa.table(search_index.FTS_TABLE, sa.column("rowid", sa.Integer))
        return sa.select(fts.c.rowid).where(
            sa.literal_column(search_index.FTS_TABLE).op("MATCH")(" ".join(phrases)))
    columns = [getattr(LegalRequest, name) for name in search_index.SEARCHED_COLUMNS]
    return sa.select(LegalRequest.id).where(*(
        sa.or_(*(column.ilike(_contains(w), escape="\\") for column in columns))
        for w in words))


def _contains(word: str) -> str:
    """An ILIKE pattern for ``word`` anywhere, its wildcards escaped."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
