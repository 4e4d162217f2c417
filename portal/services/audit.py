"""Appending to a request's audit chain: the next event, its number in the global
sequence, and the snapshot of the request and its rows that the event records.

Every event (rule 2 of ``workflows.audit``) records the request's protected fields and
digests of its items, messages, internal notes and documents as they stand after it. The
digests are kept on the request row (``record_digests``, ``item_buckets``) by the services
that change those rows, in the same transaction, so an event never reads 10,000 items:
filing starts them, a message or note is folded in, a decision rehashes its bucket. They
are a cache: ``audit verify`` recomputes every one from the rows.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.extensions import db
from portal.models import (
    Attachment,
    AuditLedger,
    Event,
    LegalRequest,
    Message,
    RequestItem,
    SlaClock,
)
from portal.services import report_facts
from portal.services.actors import Actor
from workflows import audit as chain
from workflows.audit import CHAIN_VERSION, GENESIS, chain_hash

#: Request columns a snapshot reads, for Core queries (the sweep) as for ORM rows.
SNAPSHOT_COLUMNS = (
    LegalRequest.agency_id, LegalRequest.filed_by_id, LegalRequest.jurisdiction,
    LegalRequest.legal_statute, LegalRequest.legal_article, LegalRequest.issuing_authority,
    LegalRequest.order_reference, LegalRequest.order_date, LegalRequest.category,
    LegalRequest.priority, LegalRequest.description, LegalRequest.state,
    LegalRequest.resolution, LegalRequest.received_at, LegalRequest.actioned_at,
    LegalRequest.disputed_at, LegalRequest.closed_at, LegalRequest.assigned_reviewer_id,
    LegalRequest.item_count, LegalRequest.decision_counts, LegalRequest.risk_flags,
    LegalRequest.requested_action, LegalRequest.receipt_confirmed_at,
    LegalRequest.record_digests, LegalRequest.order_received_at,
    LegalRequest.order_received_via,
)


def iso(value: datetime | date | None) -> str | None:
    """A time (aware, in UTC, to the microsecond) or a date as the record writes it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value.isoformat()


def _code(value: Any) -> Any:
    return getattr(value, "value", value)


def snapshot_fields(req: Any) -> dict[str, Any]:
    """The protected fields of a request (an ORM row or a Core row of SNAPSHOT_COLUMNS)."""
    return {
        "agency_id": req.agency_id,
        "filed_by_id": req.filed_by_id,
        "jurisdiction": req.jurisdiction,
        "legal_statute": req.legal_statute,
        "legal_article": req.legal_article,
        "issuing_authority": req.issuing_authority,
        "order_reference": req.order_reference,
        "order_date": iso(req.order_date),
        "category": _code(req.category),
        "priority": _code(req.priority),
        "description_sha256": hashlib.sha256((req.description or "").encode()).hexdigest(),
        "state": _code(req.state),
        "resolution": _code(req.resolution),
        "received_at": iso(req.received_at),
        "actioned_at": iso(req.actioned_at),
        "disputed_at": iso(req.disputed_at),
        "closed_at": iso(req.closed_at),
        "assigned_reviewer_id": req.assigned_reviewer_id,
        "item_count": req.item_count,
        "decision_counts": dict(req.decision_counts or {}),
        "risk_flags": list(req.risk_flags or []),
        "requested_action": _code(req.requested_action),
        "receipt_confirmed_at": iso(req.receipt_confirmed_at),
        "order_received_at": iso(req.order_received_at),
        "order_received_via": req.order_received_via,
    }


def snapshot_of(req: Any, digests: dict[str, Any]) -> dict[str, Any]:
    """What an event records: the protected fields and the rows' digests."""
    return {**snapshot_fields(req), **{k: digests[k] for k in chain.DIGESTS}}


def _take_numbers(dialect: str) -> sa.Executable:
    table = cast(sa.Table, AuditLedger.__table__)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    count = sa.bindparam("count", type_=sa.BigInteger)
    return (
        insert(table)
        .values(id=1, last_gseq=count)
        .on_conflict_do_update(index_elements=["id"],
                               set_={"last_gseq": table.c.last_gseq + count})
        .returning(table.c.last_gseq)
    )


#: Built once per dialect: building the upsert cost more than running it.
_TAKE_NUMBERS = {name: _take_numbers(name) for name in ("postgresql", "sqlite")}


def allocate(count: int = 1) -> int:
    """Take the next ``count`` numbers of the global event sequence; return the first.

    The ledger row stays locked until the caller's transaction ends (an upsert, so an
    empty database needs no seeding), which makes the numbers gapless and in commit
    order: a rolled-back transaction gives its numbers back.
    """
    connection = db.session.connection()
    last: int = connection.execute(_TAKE_NUMBERS[connection.dialect.name],
                                   {"count": count}).scalar_one()
    return last - count + 1


def append_event(
    req: LegalRequest,
    kind: str,
    *,
    actor: Actor,
    now: datetime,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    payload: dict[str, Any] | None = None,
    filed_clock: SlaClock | None = None,
) -> Event:
    """Add the next event of ``req``'s chain to the session (the caller commits).

    Call it after every change the event records (state, fields, items, messages). The
    request row records the new head and count; because that row is version-checked,
    two transactions can never append the same ``seq``. ``filed_clock``: the event files
    the request, and this is its new resolve clock (``report_facts.on_event``).
    """
    # The reports' facts follow every change an event records, in its transaction.
    report_facts.on_event(req, trigger, filed_clock=filed_clock)
    payload = dict(payload or {})
    if actor.ip_address:
        payload.setdefault("ip", actor.ip_address)
    if actor.user_agent:
        payload.setdefault("user_agent", actor.user_agent[:300])
    if actor.request_id:
        payload.setdefault("request_id", actor.request_id)
    digests = ensure_digests(req)
    event = Event(
        request_id=req.id,
        seq=req.event_count + 1,
        kind=kind,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor.user_id,
        actor_role=actor.role.value,
        payload=payload,
        created_at=now,
        prev_hash=req.audit_head,
        chain_version=CHAIN_VERSION,
        snapshot=snapshot_of(req, digests),
        gseq=allocate(),
    )
    event.hash = chain_hash(event.prev_hash, event.body(req.reference))
    req.event_count = event.seq
    req.audit_head = event.hash
    req.updated_at = now
    db.session.add(event)
    return event


# --- the rows' digests ----------------------------------------------------------------------

def record_text(value: Any) -> str | None:
    """A value of an item's legal record as the record writes it (times in ISO 8601 UTC,
    codes as their values)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return iso(value)
    return str(getattr(value, "value", value))


def item_record(row: Any) -> tuple[str | None, ...]:
    """The legal record (``workflows.audit.RECORD_FIELDS``) of an item row of
    ITEM_COLUMNS, as text."""
    return tuple(record_text(value) for value in row[10:])


@functools.lru_cache(maxsize=4096)
def _tail(values: tuple[Any, ...]) -> str:
    # The items of one decision share their legal record: written once, not 10,000 times.
    return chain.record_tail([record_text(value) for value in values])


@functools.lru_cache(maxsize=4096)
def _part(values: tuple[Any, ...]) -> str:
    # The items of one decision share it whole (decision, reason, who, when and the
    # legal record): written once, not 10,000 times. Values the record writes alike (one
    # instant in two zones, a code and its text) are equal keys and share a part.
    decision, reason, decided_by, decided_at = values[:4]
    return chain.decided_part(None if decision is None else getattr(decision, "value",
                                                                    decision),
                              reason, decided_by, None if decided_at is None else iso(decided_at),
                              tail=_tail(values[4:]))


def decided_part_of(values: tuple[Any, ...]) -> str:
    """The end of an item row's line (of ITEM_COLUMNS, rule 3) from the row's values
    from its decision on (``row[6:]``): ``workflows.audit.decided_part`` of its decision
    and legal record."""
    return _part(values)


def item_line(row: Any) -> str:
    """An item row of ITEM_COLUMNS as the record hashes it (rule 3, legal record
    included)."""
    _, _, position, kind, target, raw = row[:6]
    return chain.item_line_of(position, kind.value, target, raw, _part(tuple(row[6:])))


def item_line_v2(row: Any) -> str:
    """An item row as rule 2 hashed it (for events recorded before rule 3)."""
    _, _, position, kind, target, raw, decision, reason, decided_by, decided_at = row[:10]
    return chain.item_line_v2(position, kind.value, target, raw,
                              None if decision is None else decision.value, reason,
                              decided_by, None if decided_at is None else iso(decided_at))


def message_line(row: Any) -> str:
    return chain.message_line(row.author_id, row.body, iso(row.created_at) or "")


def document_line(row: Any) -> str:
    return chain.document_line(row.filename, row.content_type, row.size, row.sha256,
                               row.uploaded_by_id, iso(row.created_at) or "")


ITEM_COLUMNS = (RequestItem.request_id, RequestItem.id, RequestItem.position,
                RequestItem.kind, RequestItem.target, RequestItem.raw, RequestItem.decision,
                RequestItem.reason, RequestItem.decided_by_id, RequestItem.decided_at,
                *(getattr(RequestItem, name) for name in chain.RECORD_FIELDS))
MESSAGE_COLUMNS = (Message.request_id, Message.id, Message.author_id, Message.internal,
                   Message.body, Message.created_at)
DOCUMENT_COLUMNS = (Attachment.request_id, Attachment.id, Attachment.filename,
                    Attachment.content_type, Attachment.size, Attachment.sha256,
                    Attachment.uploaded_by_id, Attachment.created_at)


@dataclass
class Rows:
    """A request's items (by position), messages, notes and documents (by id)."""

    items: list[Any] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)
    notes: list[Any] = field(default_factory=list)
    documents: list[Any] = field(default_factory=list)


def among(column: Any, ids: Sequence[int]) -> sa.ColumnElement[bool]:
    """``column IN ids``: on PostgreSQL as one array parameter (``= ANY``), since the
    driver rewrites a query of 1,000 placeholders each time it runs (a tenth of a
    verification's time went to that), elsewhere as an IN list."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(sa.ColumnElement[bool], column == sa.any_(
            sa.bindparam(None, list(ids), type_=ARRAY(sa.Integer))))
    return cast(sa.ColumnElement[bool], column.in_(ids))


def load_rows(ids: Sequence[int], item_columns: Sequence[Any] = ITEM_COLUMNS
              ) -> dict[int, Rows]:
    """The rows of these requests, in four queries however many requests there are
    (the items as ``item_columns`` read them: ITEM_COLUMNS or labelled alike)."""
    found: dict[int, Rows] = {i: Rows() for i in ids}
    if not ids:
        return found
    # Core rows through the session's connection: the ORM's row handling cost more than
    # the query for 10,000 items. Each result is fetched whole (row by row cost more).
    execute = db.session.connection().execute
    for item in execute(sa.select(*item_columns).where(
            among(RequestItem.request_id, ids)).order_by(RequestItem.request_id,
                                                         RequestItem.position)).all():
        found[item.request_id].items.append(item)
    for message in execute(sa.select(*MESSAGE_COLUMNS).where(
            among(Message.request_id, ids)).order_by(Message.request_id, Message.id)).all():
        rows = found[message.request_id]
        (rows.notes if message.internal else rows.messages).append(message)
    for document in execute(sa.select(*DOCUMENT_COLUMNS).where(
            among(Attachment.request_id, ids)).order_by(Attachment.request_id,
                                                        Attachment.id)).all():
        found[document.request_id].documents.append(document)
    return found


#: The key of the row's digests that says which rule's item lines they hold (absent:
#: rule 2's, computed before rule 3; recomputed when the next event needs them).
FORM = "v"


def current(digests: dict[str, Any] | None) -> bool:
    """Whether a row's cached digests follow the rule new events record."""
    return digests is not None and digests.get(FORM) == CHAIN_VERSION


def digests_of(item_count: int, rows: Rows,
               item_lines: Sequence[tuple[int, str]] | None = None
               ) -> tuple[dict[str, Any], str]:
    """The digests of a request's rows, and its item buckets as the row keeps them
    (``item_lines``: the items' ``(position, line)`` when the caller has them already)."""
    if item_lines is None:
        item_lines = [(r.position, item_line(r)) for r in rows.items]
    buckets = chain.item_buckets(item_count, item_lines)
    digests: dict[str, Any] = {
        FORM: CHAIN_VERSION,
        "items": chain.items_root(item_count, buckets),
        "messages": list(chain.fold_all(message_line(r) for r in rows.messages)),
        "notes": list(chain.fold_all(message_line(r) for r in rows.notes)),
        "documents": list(chain.fold_all(document_line(r) for r in rows.documents)),
    }
    return digests, "".join(buckets)


def fill_digests(requests: dict[int, int]) -> dict[int, tuple[dict[str, Any], str]]:
    """Digests from the tables for requests (id: item count) that have none yet, or only
    under an earlier rule (filed before the record kept them, or inserted in bulk), in
    four queries."""
    rows = load_rows(list(requests))
    return {rid: digests_of(requests[rid], rows[rid]) for rid in requests}


def ensure_digests(req: LegalRequest) -> dict[str, Any]:
    """The request's digests, computed from its rows the first time they are needed.

    The rows are read as the database has them: without flushing what the caller added
    to the session, so a message being added is not counted before it is folded in.
    Digests kept under an earlier rule are computed again the same way (the first event
    after the upgrade to rule 3).
    """
    if not current(req.record_digests):
        with db.session.no_autoflush:
            digests, buckets = fill_digests({req.id: req.item_count})[req.id]
        req.record_digests = digests
        req.item_buckets = buckets
        return digests
    assert req.record_digests is not None
    return req.record_digests


def start_record(req: LegalRequest, items: Sequence[tuple[str, str, str]]) -> None:
    """The digests of a request being filed: ``(kind, target, raw)`` of its items at
    positions 1, 2, …, all pending; no messages or documents yet."""
    buckets = chain.filed_item_buckets(items)
    empty = [0, GENESIS]
    req.item_buckets = "".join(buckets)
    req.record_digests = {FORM: CHAIN_VERSION,
                          "items": chain.items_root(req.item_count, buckets),
                          "messages": empty, "notes": list(empty), "documents": list(empty)}


def add_message(req: LegalRequest, message: Message) -> None:
    """Add ``message`` (a message or an internal note) to the session and fold it into
    the request's digests."""
    digests = ensure_digests(req)
    db.session.add(message)
    key = "notes" if message.internal else "messages"
    count, digest = digests[key]
    req.record_digests = {**digests, key: [count + 1, chain.fold(digest,
                                                                 message_line(message))]}


def add_document(req: LegalRequest, document: Attachment) -> None:
    """Add an order document to the session and fold it into the request's digests."""
    digests = ensure_digests(req)
    db.session.add(document)
    count, digest = digests["documents"]
    req.record_digests = {**digests, "documents": [count + 1, chain.fold(
        digest, document_line(document))]}


def _stored_buckets(req: LegalRequest) -> str | None:
    """The row's item buckets: set in this session already, or read with one plain query
    (loading the deferred attribute through the ORM cost several times more)."""
    state = sa.inspect(req)
    if "item_buckets" in state.dict:
        return req.item_buckets
    stored: str | None = db.session.connection().execute(
        sa.select(LegalRequest.item_buckets).where(LegalRequest.id == req.id)).scalar()
    return stored


#: Above this many buckets to rehash, one query reads all the items.
_FEW_BUCKETS = 8


def refresh_items(req: LegalRequest, positions: Iterable[int] | None = None) -> None:
    """Rehash the item buckets holding ``positions`` (all when None) after decisions on
    them changed in this transaction."""
    if not current(req.record_digests):
        ensure_digests(req)  # computed from the rows as they are now: nothing else to do
        return
    assert req.record_digests is not None
    count = req.item_count
    size = chain.bucket_size(count)
    buckets = chain.split_buckets(_stored_buckets(req))
    wanted = (None if positions is None
              else sorted({(p - 1) // size for p in positions if p >= 1}))
    if wanted == []:
        return
    query = sa.select(*ITEM_COLUMNS).where(RequestItem.request_id == req.id)
    if wanted is not None and len(wanted) <= _FEW_BUCKETS:
        query = query.where(sa.or_(*(
            RequestItem.position.between(b * size + 1, (b + 1) * size) for b in wanted)))
    rows = db.session.connection().execute(query.order_by(RequestItem.position)).all()
    lines: dict[int, list[str]] = {}
    for row in rows:
        lines.setdefault((row.position - 1) // size, []).append(item_line(row))
    for b in wanted if wanted is not None else range(len(buckets)):
        if b < len(buckets):
            buckets[b] = chain.bucket_digest(lines.get(b, ()))
    req.item_buckets = "".join(buckets)
    req.record_digests = {**req.record_digests,
                          "items": chain.items_root(count, buckets)}
