"""Verifying the audit record: every request's chain, every row its events record, the
global event sequence, the reference counters, and (given one) an anchor taken earlier.

Everything is read in one consistent snapshot of the database (writers carry on), in
batches of requests: seven queries per batch, none per request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLedger, Event, LegalRequest
from portal.models.event import event_body
from portal.services.audit import (
    SNAPSHOT_COLUMNS,
    Rows,
    among,
    digests_of,
    document_line,
    item_line_v2,
    load_rows,
    message_line,
    snapshot_of,
)
from portal.services.audit_findings import (
    Finding,
    collection_findings,
    item_findings,
)
from portal.services.audit_items import UNCONVERTED_ITEM_COLUMNS, ItemValues, item_values
from portal.services.audit_numbers import counter_findings, numbered, sequence_findings
from workflows import audit as chain
from workflows.audit import (
    COLLECTIONS,
    PROTECTED_FIELDS,
    RULE_3_FIELDS,
    Anchor,
    HeadFold,
    Link,
    legacy_field,
    replay_state,
    verify_chain,
)

#: A batch holds at most this many requests and, past its first request, this many items.
BATCH_REQUESTS = 1000
BATCH_ITEMS = 50_000


@dataclass
class Tally:
    """What a verification read."""

    requests: int = 0
    events: int = 0
    items: int = 0
    messages: int = 0
    documents: int = 0
    last_gseq: int = 0
    legacy_requests: int = 0  # whose newest event follows rule 1 (no snapshot yet)
    unchanged: int = 0  # ``--since``: requests with no event since the checkpoint
    sealed: int = 0  # ``--since``: of those, passed by their seal (PostgreSQL)
    #: Every request's seal in id order, for the checkpoint (PostgreSQL, when asked for).
    seals: list[tuple[int, str]] | None = None
    #: Every request's newest event, folded in id order: what a checkpoint records.
    fold: HeadFold = field(default_factory=HeadFold)


#: The counts of a Tally that checking a batch adds to.
COUNTS = ("requests", "events", "items", "messages", "documents", "legacy_requests")


def read_snapshot() -> None:
    """Start a read-only transaction that sees one moment of the database throughout
    (REPEATABLE READ on PostgreSQL, a read transaction on SQLite), so rows written while
    the record is read are not mistaken for tampering."""
    session = db.session
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        connection = session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        # The seals (audit_checkpoint) hash rows as text, and a time's text follows the
        # session's zone: fixed here, a verify run from a shell in another zone computes
        # the seals a checkpoint stored, instead of reading every head again.
        connection.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")
    else:
        # pysqlite starts transactions only before writes; a read transaction is asked for.
        session.connection().exec_driver_sql("BEGIN")


def ledger_last() -> int:
    """The last number of the global event sequence (0 before the first event)."""
    return db.session.scalar(sa.select(AuditLedger.last_gseq).where(AuditLedger.id == 1)) or 0


def verify_all(anchor: Anchor | None = None, tally: Tally | None = None,
               workers: int = 1, *, seal: bool = False) -> Iterator[Finding]:
    """Check the whole record; yield every finding (nothing when it is intact).

    With ``anchor``, also prove that nothing recorded up to the anchor was rewritten
    since, even consistently. ``tally`` is filled with what was read, and its ``fold``
    with every request's newest event (what a checkpoint records). With ``workers`` > 1
    (PostgreSQL only) the batches are checked in that many processes reading the same
    snapshot; the findings and the tally are the same, in the same order. With ``seal``
    on PostgreSQL, an intact record's ``tally.seals`` are taken in the same snapshot (for
    the checkpoint, see ``audit_checkpoint``).

    Raises:
        ValueError: ``workers`` > 1 on a database other than PostgreSQL.
    """
    from portal.services import audit_checkpoint  # which imports this

    tally = tally if tally is not None else Tally()
    read_snapshot()
    try:
        intact = True
        for finding in _verify_all(anchor, tally, workers):
            intact = False
            yield finding
        if intact and seal and db.session.get_bind().dialect.name == "postgresql":
            tally.seals = audit_checkpoint.take_seals()
    finally:
        db.session.rollback()


def _verify_all(anchor: Anchor | None, tally: Tally, workers: int) -> Iterator[Finding]:
    from portal.services import audit_parallel  # which imports this
    tally.last_gseq = ledger_last()
    yield from sequence_findings(tally.last_gseq)
    numbers: dict[tuple[str, int], list[int]] = {}
    against = _AnchorCheck(anchor) if anchor is not None else None
    checked = audit_parallel.check_in_workers(workers) if workers > 1 else _check_here()
    for part in checked:
        yield from part.findings
        part.add_to(tally, numbers)
        for request_id, reference, mine in part.heads:
            if mine:
                tally.fold.add(request_id, reference, mine[-1].seq, mine[-1].hash)
            if against is not None:
                yield from against.see(request_id, reference, mine)
    yield from counter_findings(numbers)
    if against is not None:
        yield from against.finish(tally.last_gseq)


def check_batch(batch: list[Any], tally: Tally, numbers: dict[tuple[str, int], list[int]],
                events: dict[int, list[Any]]) -> Iterator[Finding]:
    """Check each request of ``batch`` (rows of :func:`batches`) whole: its chain, and its
    fields and rows against its events; note its reference in ``numbers`` and its
    events, in order, in ``events``. Four queries whatever the batch holds."""
    ids = [r.id for r in batch]
    events.update(_events(ids))
    rows = load_rows(ids, UNCONVERTED_ITEM_COLUMNS)
    values = item_values(db.session.get_bind().dialect)
    for req in batch:
        tally.requests += 1
        mine = events.setdefault(req.id, [])
        tally.events += len(mine)
        tally.items += len(rows[req.id].items)
        tally.messages += len(rows[req.id].messages) + len(rows[req.id].notes)
        tally.documents += len(rows[req.id].documents)
        yield from _request(req, mine, rows[req.id], tally, values)
        yield from numbered(req.reference, numbers)


@dataclass
class Checked:
    """What checking one batch found and read: its findings in order, its counts and
    references, and each request's events (``seq``, ``hash``, ``gseq``) in id order."""

    findings: list[Finding]
    counts: dict[str, int]  # of the Tally's COUNTS
    numbers: dict[tuple[str, int], list[int]]
    heads: list[tuple[int, str, list[Any]]]

    def add_to(self, tally: Tally, numbers: dict[tuple[str, int], list[int]]) -> None:
        """Add this batch's counts and references to the whole record's."""
        for name, count in self.counts.items():
            setattr(tally, name, getattr(tally, name) + count)
        for key, taken in self.numbers.items():
            numbers.setdefault(key, []).extend(taken)


def check_one(batch: list[Any], heads: Callable[[Any], Any] = lambda e: e) -> Checked:
    """:func:`check_batch` of one batch, with what it found and read (each request's
    events as ``heads`` gives them)."""
    tally = Tally()
    numbers: dict[tuple[str, int], list[int]] = {}
    events: dict[int, list[Any]] = {}
    findings = list(check_batch(batch, tally, numbers, events))
    return Checked(findings, {name: getattr(tally, name) for name in COUNTS}, numbers, [
        (r.id, r.reference, [heads(e) for e in events.get(r.id, [])]) for r in batch])


def _check_here() -> Iterator[Checked]:
    for batch in batches():
        yield check_one(batch)


def batches(ids: Sequence[int] | None = None, *, light: bool = False
            ) -> Iterator[list[Any]]:
    """Requests (all, or those of ``ids``) in id order, in batches small enough to hold
    with their rows (``light``: only each request's id and item count)."""
    columns: dict[str, Any] = {c.key: c for c in (
        (LegalRequest.id, LegalRequest.item_count) if light else
        (LegalRequest.id, LegalRequest.reference, LegalRequest.event_count,
         LegalRequest.audit_head, LegalRequest.item_buckets, *SNAPSHOT_COLUMNS))}
    last_id = 0
    while True:
        query = (sa.select(*columns.values()).where(LegalRequest.id > last_id)
                 .order_by(LegalRequest.id).limit(BATCH_REQUESTS))
        if ids is not None:
            query = query.where(among(LegalRequest.id, ids))
        rows = db.session.connection().execute(query).all()
        if not rows:
            return
        batch: list[Any] = []
        items = 0
        for row in rows:
            if batch and items + row.item_count > BATCH_ITEMS:
                break
            batch.append(row)
            items += row.item_count
        last_id = batch[-1].id
        yield batch


_EVENT_COLUMNS = (Event.request_id, Event.seq, Event.kind, Event.trigger, Event.from_state,
                  Event.to_state, Event.actor_id, Event.actor_role, Event.payload,
                  Event.created_at, Event.prev_hash, Event.hash, Event.chain_version,
                  Event.gseq, Event.snapshot)


def _events(ids: Sequence[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    for row in db.session.connection().execute(sa.select(*_EVENT_COLUMNS).where(
            among(Event.request_id, ids)).order_by(Event.request_id, Event.seq)).all():
        found.setdefault(row.request_id, []).append(row)
    return found


# --- one request -----------------------------------------------------------------------------

def _request(req: Any, events: list[Any], rows: Rows, tally: Tally,
             values: ItemValues) -> Iterator[Finding]:
    ref = req.reference
    links = [Link(seq=e.seq, prev_hash=e.prev_hash, hash=e.hash, body=event_body(
        reference=ref, seq=e.seq, kind=e.kind, trigger=e.trigger, from_state=e.from_state,
        to_state=e.to_state, actor_id=e.actor_id, actor_role=e.actor_role,
        payload=e.payload, created_at=e.created_at, version=e.chain_version, gseq=e.gseq,
        snapshot=e.snapshot)) for e in events]
    broken = verify_chain(links, head_hash=req.audit_head, count=req.event_count)
    if broken is not None:
        yield Finding(ref, broken.seq, "chain", broken.problem)
    recorded = [(link.seq, link.body["snapshot"]) for link in links
                if link.body.get("v", 1) >= 2 and isinstance(link.body.get("snapshot"), dict)]
    covered = bool(links) and bool(recorded) and recorded[-1][0] == links[-1].seq
    try:
        replayed = replay_state(link.body for link in links)
    except ValueError as exc:
        yield Finding(ref, req.event_count, "chain", str(exc))
    else:
        if not covered and (replayed is None or replayed.value != req.state.value):
            yield Finding(ref, req.event_count, "field state",
                          f"is {req.state.value}; the events lead to {replayed}")
    # Items are checked under every rule: the filing recorded its list, and every
    # decision is an event with its positions. The rows are hashed as the newest
    # snapshot's rule hashed them (rule 2 without the decisions' legal record).
    head = recorded[-1] if covered else None
    rule = int(links[-1].body.get("v", 1)) if covered else 1
    now = _Now(req, rows, values, rule)
    yield from item_findings(req, links, rows, head, now)
    if not covered:
        tally.legacy_requests += 1
        return
    yield from _changes_between(ref, links, recorded)
    yield from _rows_against(req, links, recorded, rows, now)


class _Now:
    """The rows' digests as they are, each item hashed once, under ``rule``'s lines, and
    each item's decided part (rule 3's: what the items' checks compare with the events).
    The items are rows of UNCONVERTED_ITEM_COLUMNS, converted by ``values``."""

    def __init__(self, req: Any, rows: Rows, values: ItemValues,
                 rule: int = chain.CHAIN_VERSION) -> None:
        self.item_count: int = req.item_count
        self.typed = values.typed
        part_of = values.decided_part
        self.parts: dict[int, str] = {}
        self.item_lines: list[tuple[int, str]] = []
        targets: list[tuple[str, str]] = []
        raws: list[str] = []
        # One pass over the items (this runs for every item of the record): each one's
        # decided part, its line, and what the filing's digests of the list cover.
        for r in rows.items:
            position, kind, target, raw = r[2:6]
            kind = getattr(kind, "value", kind)
            part = part_of(tuple(r[6:]))  # from the decision on (ITEM_COLUMNS)
            self.parts[position] = part
            self.item_lines.append((position, chain.item_line_of(
                position, kind, target, raw, part) if rule >= 3 else item_line_v2(
                    values.typed(r))))
            targets.append((kind, target))
            raws.append(raw)
        #: ``items_sha256`` and ``raw_sha256`` of the rows, as a filing records them.
        self.targets_sha256 = chain.targets_digest(targets)
        self.raw_sha256 = chain.raw_digest(raws)
        self.digests, self.buckets = digests_of(req.item_count, rows, self.item_lines)
        self.snapshot = snapshot_of(req, self.digests)

    def item_buckets(self, count: int) -> list[str]:
        """The item buckets laid out for ``count`` items (the filed count)."""
        if count == self.item_count:
            return chain.split_buckets(self.buckets)
        return chain.item_buckets(count, self.item_lines)


def _show(value: Any) -> str:
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef"
                                                           for c in value):
        return value[:12] + "…"
    return repr(value)


def _changes_between(ref: str, links: list[Link],
                     recorded: list[tuple[int, dict[str, Any]]]) -> Iterator[Finding]:
    """A field or digest that changed at an event which does not change it (the rows
    were changed outside the portal and that event recorded them as it found them), or
    a reclassification that starts from another value than the one recorded before."""
    bodies = {link.seq: link.body for link in links}
    first_seq, first = recorded[0]
    if bodies[first_seq].get("kind") == "filed":
        filed = bodies[first_seq].get("payload") or {}
        for key in ("category", "priority", "jurisdiction", "risk_flags"):
            if key in filed and filed[key] != first.get(key):
                yield Finding(ref, first_seq, f"field {key}", f"the filing recorded "
                              f"{filed[key]!r} and {first.get(key)!r} at once (rewritten)")
    for (before_seq, before), (seq, after) in zip(recorded, recorded[1:], strict=False):
        body = bodies[seq]
        allowed = chain.may_change(body)
        if allowed is None:
            continue
        what = body.get("trigger") or body.get("kind")
        keys = set(before) | set(after)
        if int(bodies[before_seq].get("v", 1)) < 3 <= int(body.get("v", 1)):
            # The first event of rule 3 hashes the items with their legal record and
            # records the fields rule 3 added: nothing before it to compare them with
            # (the values the upgrade gave them are checked against the events).
            keys -= {"items", *(k for k in RULE_3_FIELDS if k not in before)}
        # Only the keys that changed where they may not are sorted and named.
        for key in sorted(k for k in keys if k not in allowed
                          and before.get(k) != after.get(k)):
            subject = f"field {key}" if key in PROTECTED_FIELDS else key
            yield Finding(ref, seq, subject, f"was {_show(before.get(key))} before and "
                          f"{_show(after.get(key))} at this event ({what}), which does "
                          "not change it: changed outside the portal")
        payload = body.get("payload") or {}
        for key in ("category", "priority"):
            change = payload.get(key) if body.get("kind") == "reclassified" else None
            if isinstance(change, list) and change and change[0] != before.get(key):
                yield Finding(ref, seq, f"field {key}", f"reclassified from {change[0]!r}, "
                              f"but the record had {before.get(key)!r}: changed outside the "
                              "portal before it")


def _rows_against(req: Any, links: list[Link], recorded: list[tuple[int, dict[str, Any]]],
                  rows: Rows, current: _Now) -> Iterator[Finding]:
    """The request and its rows now, against what its newest event recorded."""
    ref = req.reference
    head_seq, head = recorded[-1]
    now, buckets = current.snapshot, current.buckets
    for key in PROTECTED_FIELDS:
        # Recorded before rule 3 added the field: what the upgrade set it to.
        want = head.get(key) if key in head else legacy_field(key, (link.body for link in
                                                                     links))
        if now.get(key) != want:
            since = (f"since event #{chain.since(recorded, key)}" if key in head
                     else "as the upgrade to rule 3 set it")
            yield Finding(ref, head_seq, f"field {key}", f"is {_show(now.get(key))}; the "
                          f"record has {_show(want)} ({since})")
    lines: dict[str, Callable[[Any], str]] = {
        "messages": message_line, "notes": message_line, "documents": document_line}
    for key in COLLECTIONS:
        yield from collection_findings(ref, key, getattr(rows, key), lines[key], links, recorded,
                               changed=now[key] != head.get(key))
    # The row's cached digests feed the next event: one changed alone would be recorded
    # by it as the truth.
    cached = req.record_digests or {}
    for key in chain.DIGESTS:
        if cached.get(key) != now[key] and now[key] == head.get(key):
            yield Finding(ref, None, "stored digests", f"the request row's {key} digest "
                          "does not match its rows (changed outside the portal)")
    if now["items"] == head.get("items") and (req.item_buckets or "") != buckets:
        yield Finding(ref, None, "stored digests", "the request row's item buckets do not "
                      "match its items (changed outside the portal)")


# --- against an anchor ------------------------------------------------------------------------

@dataclass
class _AnchorCheck:
    """Folds each request's head as it stood at the anchor's global number, and compares
    them with the anchor's, request by request when it lists them."""

    anchor: Anchor
    fold: HeadFold = field(default_factory=HeadFold)
    listed: list[tuple[int, str, int, str]] = field(default_factory=list)
    at: int = 0
    differences: int = 0

    def __post_init__(self) -> None:
        self.listed = sorted(self.anchor.heads or ())

    def _missing(self, until: int) -> Iterator[Finding]:
        while self.at < len(self.listed) and self.listed[self.at][0] < until:
            rid, ref, seq, _ = self.listed[self.at]
            self.differences += 1
            yield Finding(ref, seq, "anchor", f"had {seq} events at the anchor of "
                          f"{self.anchor.at}; the request is gone (deleted)")
            self.at += 1

    def see(self, request_id: int, reference: str, events: list[Any]) -> Iterator[Finding]:
        limit = self.anchor.events
        head = None
        for e in events:
            if e.gseq is not None and e.gseq <= limit:
                head = (e.seq, e.hash)
        if head is not None:
            self.fold.add(request_id, reference, *head)
        if self.anchor.heads is None:
            return
        yield from self._missing(request_id)
        if self.at < len(self.listed) and self.listed[self.at][0] == request_id:
            _, ref, seq, digest = self.listed[self.at]
            self.at += 1
            if head is None:
                self.differences += 1
                yield Finding(reference, seq, "anchor", f"had {seq} events at the anchor of "
                              f"{self.anchor.at}; none of them is left")
            elif (reference, head[0], head[1]) != (ref, seq, digest):
                self.differences += 1
                yield Finding(reference, head[0], "anchor", f"at the anchor of "
                              f"{self.anchor.at} its record was {ref} up to event #{seq} "
                              f"with hash {digest[:12]}…; now event #{head[0]} has "
                              f"{head[1][:12]}…: the record before the anchor was rewritten")
        elif head is not None:
            self.differences += 1
            yield Finding(reference, head[0], "anchor", f"has events from before the anchor "
                          f"of {self.anchor.at} that the anchor does not list (inserted)")

    def finish(self, last_gseq: int) -> Iterator[Finding]:
        yield from self._missing(2**63)
        if last_gseq < self.anchor.events:
            self.differences += 1
            yield Finding(None, None, "anchor", f"the anchor of {self.anchor.at} counts "
                          f"{self.anchor.events} events; the record has {last_gseq} (the "
                          "newest were deleted)")
        if self.fold.hexdigest() != self.anchor.head and not self.differences:
            yield Finding(None, None, "anchor", f"the record up to g#{self.anchor.events} "
                          f"does not fold to the head of the anchor of {self.anchor.at}: "
                          "something recorded before the anchor was rewritten")
