"""The audit record's hash chain: each event's hash covers its body and the previous hash.

Pure functions over plain values, so the portal (rows), the ``audit`` commands and the
workflow tests (in-memory records) share one definition of the chain.

Three rules of the body exist. Version 1 (the first release) covers the event alone.
Version 2 adds ``gseq``, the event's number in one gapless sequence over the whole
database, and ``snapshot``: the request's protected fields and digests of its items,
messages, internal notes and documents as they stand after the event. Version 3 has the
same body; its snapshot's items digest also covers each decision's legal record
(territorial scope, ground, effect, restoration, user notice, preservation:
:data:`RECORD_FIELDS`) and its fields the requested action and the receipt confirmation.
An event says which rule it follows, so chains written before keep verifying under their
own rule.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from json.encoder import encode_basestring
from typing import Any

from workflows.states import RequestState

#: The ``prev_hash`` of a request's first event, and the digest of an empty collection.
GENESIS = "0" * 64

#: The rule new events follow (see the module's docstring).
CHAIN_VERSION = 3

#: The request's own fields a version-2 event records, as they stand after it.
PROTECTED_FIELDS = (
    "agency_id", "filed_by_id", "jurisdiction", "legal_statute", "legal_article",
    "issuing_authority", "order_reference", "order_date", "category", "priority",
    "description_sha256", "state", "resolution", "received_at", "actioned_at",
    "disputed_at", "closed_at", "assigned_reviewer_id", "item_count", "decision_counts",
    "risk_flags", "requested_action", "receipt_confirmed_at", "order_received_at",
    "order_received_via",
)

#: Protected fields that rule 3 added: a rule-2 snapshot does not have them, and verify
#: derives what the upgrade set them to (:func:`legacy_field`).
RULE_3_FIELDS = ("requested_action", "receipt_confirmed_at")

#: Each decision's legal record, as an item's line (rule 3) and the events record it, in
#: line order. A decision sets the first nine (:data:`DECISION_FIELDS`), a restoration
#: the next three, a notice the three after.
RECORD_FIELDS = (
    "territorial_scope", "scope_reason", "ground", "ground_statute", "ground_article",
    "effect_given_at", "suspended_until", "no_action_reason", "preserved_until",
    "restored_at", "restored_reason", "restored_note",
    "user_notified_at", "notice_deferred_until", "notice_deferral_basis",
)
DECISION_FIELDS = RECORD_FIELDS[:9]
RESTORE_FIELDS = RECORD_FIELDS[9:12]
NOTICE_FIELDS = RECORD_FIELDS[12:]

#: The collections a version-2 event records by digest. ``items`` is a root over item
#: buckets (items change); the other three are running folds (rows are only appended).
COLLECTIONS = ("messages", "notes", "documents")
DIGESTS = ("items", *COLLECTIONS)

#: A request's items are hashed in at most this many buckets: a changed decision rehashes
#: one bucket (at most 79 rows of a 10,000-item request; the row keeps 8 KB of bucket
#: digests), and a request of up to this many items is hashed item by item, so a change
#: is named to the item.
MAX_ITEM_BUCKETS = 128

_HEX64 = re.compile(r"[0-9a-f]{64}")


#: ``json.dumps`` with these options builds an encoder on every call; verify hashes a
#: million bodies, so the one encoder is built once (the same C encoder, the same bytes).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False)


def canonical(body: Mapping[str, Any]) -> bytes:
    """The byte form that is hashed: sorted keys, no spaces, UTF-8, no NaN."""
    return _CANONICAL.encode(body).encode("utf-8")


def chain_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical body, as 64 hex digits."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical(body))
    return digest.hexdigest()


def event_body(
    *,
    reference: str,
    seq: int,
    kind: str,
    trigger: str | None,
    from_state: str | None,
    to_state: str | None,
    actor_id: int | None,
    actor_role: str,
    payload: Mapping[str, Any],
    at: str,
    version: int = 1,
    gseq: int | None = None,
    snapshot: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The body an event's hash covers, under the rule ``version`` names.

    Version 1 is exactly the first release's body (old chains keep verifying); version 2
    adds ``v``, ``gseq`` and ``snapshot``.
    """
    body: dict[str, Any] = {
        "request": reference,
        "seq": seq,
        "kind": kind,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "payload": payload,
        "at": at,
    }
    if version >= 2:
        body["v"] = version
        body["gseq"] = gseq
        body["snapshot"] = snapshot
    return body


@dataclass(frozen=True)
class Link:
    """One stored event as the chain sees it."""

    seq: int
    prev_hash: str
    hash: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class ChainBreak:
    """Where and why a chain stopped verifying."""

    seq: int
    problem: str


def verify_chain(
    links: Iterable[Link], *, head_hash: str | None = None, count: int | None = None
) -> ChainBreak | None:
    """Return the first break in a request's chain, or ``None`` if it is intact.

    ``links`` must be in ``seq`` order. ``head_hash`` and ``count`` are what the request
    row recorded; with them a deleted last event is caught too. An event may follow a
    newer rule than the one before it, never an older one (that would be a rewrite), and
    version-2 events carry rising global numbers.
    """
    prev = GENESIS
    expected_seq = 1
    seen = 0
    version = 1
    gseq = 0
    for link in links:
        seen += 1
        if link.seq != expected_seq:
            return ChainBreak(link.seq, f"expected event #{expected_seq}, found #{link.seq}")
        if link.prev_hash != prev:
            return ChainBreak(link.seq, "previous-hash does not match the event before it")
        if chain_hash(prev, link.body) != link.hash:
            return ChainBreak(link.seq, "content does not match its hash (edited)")
        if link.body.get("seq") != link.seq:
            return ChainBreak(link.seq, "sequence number in the body was changed")
        link_version = link.body.get("v", 1)
        if not isinstance(link_version, int) or not 1 <= link_version <= CHAIN_VERSION:
            return ChainBreak(link.seq, f"unknown rule version {link_version!r}")
        if link_version < version:
            return ChainBreak(
                link.seq, f"follows rule {link_version} after an event of rule {version}"
            )
        version = link_version
        if version >= 2:
            link_gseq = link.body.get("gseq")
            if not isinstance(link_gseq, int) or link_gseq <= gseq:
                return ChainBreak(link.seq, "global sequence number out of order")
            gseq = link_gseq
        prev = link.hash
        expected_seq += 1
    if count is not None and seen != count:
        return ChainBreak(expected_seq, f"the request records {count} events, found {seen}")
    if head_hash is not None and head_hash != prev:
        return ChainBreak(expected_seq, "the last event is not the one the request records")
    return None


def replay_state(bodies: Iterable[Mapping[str, Any]]) -> RequestState | None:
    """The state the events lead to: the last ``to_state`` seen, checking continuity.

    Raises:
        ValueError: if an event leaves a state other than the one the last one entered.
    """
    state: RequestState | None = None
    for body in bodies:
        to_state = body.get("to_state")
        if to_state is None:
            continue
        from_state = body.get("from_state")
        if state is not None and from_state != state.value:
            raise ValueError(
                f"event #{body.get('seq')} leaves {from_state} but the request was {state}"
            )
        state = RequestState(to_state)
    return state


# --- what a version-2 event records of the rows: lines, buckets and folds -----------------

def _text(value: str | None) -> str:
    return "null" if value is None else str(encode_basestring(value))


def _number(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def item_line_v2(
    position: int, kind: str, target: str, raw: str, decision: str | None,
    reason: str | None, decided_by: int | None, decided_at: str | None,
) -> str:
    """One item as rule 2 hashed it: without the decision's legal record."""
    return (f"[{int(position)},{_text(kind)},{_text(target)},{_text(raw)},{_text(decision)},"
            f"{_text(reason)},{_number(decided_by)},{_text(decided_at)}]")


#: The legal record of an item without one (pending, or decided before rule 3).
_NO_RECORD = ",null" * len(RECORD_FIELDS)


def record_tail(record: Sequence[str | None]) -> str:
    """The end of an item's line: its legal record (:data:`RECORD_FIELDS`, as text)."""
    if not any(v is not None for v in record):
        return _NO_RECORD
    return "".join(f",{_text(v)}" for v in record)


def decided_part(decision: str | None, reason: str | None, decided_by: int | None,
                 decided_at: str | None, record: Sequence[str | None] = (), *,
                 tail: str | None = None) -> str:
    """The end of an item's line, after its target: the decision, its reason, who and
    when, and its legal record (``tail``: :func:`record_tail` of ``record``, when the
    caller has it already). Every item of one decision shares it, and two items have the
    same part exactly when those values are the same (each is a JSON value)."""
    if tail is None:
        tail = record_tail(record)
    return f"{_text(decision)},{_text(reason)},{_number(decided_by)},{_text(decided_at)}{tail}"


#: The part of a pending item's line (no decision, no record).
PENDING_PART = decided_part(None, None, None, None)


def item_line(
    position: int, kind: str, target: str, raw: str, decision: str | None,
    reason: str | None, decided_by: int | None, decided_at: str | None,
    record: Sequence[str | None] = (), *, tail: str | None = None,
) -> str:
    """One item as hashed: a JSON array (written directly; this runs for 10,000 items),
    its decision's legal record at the end (``tail``: :func:`record_tail` of ``record``,
    when the caller has it already: the items of one decision share it)."""
    return item_line_of(position, kind, target, raw, decided_part(
        decision, reason, decided_by, decided_at, record, tail=tail))


def item_line_of(position: int, kind: str, target: str, raw: str, part: str) -> str:
    """:func:`item_line` from the item's :func:`decided_part`."""
    return f"[{int(position)},{_text(kind)},{_text(target)},{_text(raw)},{part}]"


def message_line(author_id: int, body: str, created_at: str) -> str:
    """One message or internal note as folded: author, SHA-256 of the text, time."""
    return (f"[{int(author_id)},\"{hashlib.sha256(body.encode('utf-8')).hexdigest()}\","
            f"{_text(created_at)}]")


def document_line(filename: str, content_type: str, size: int, sha256: str,
                  uploaded_by: int, created_at: str) -> str:
    """One order document as folded: its name, type, size, content hash, uploader, time."""
    return (f"[{_text(filename)},{_text(content_type)},{int(size)},{_text(sha256)},"
            f"{int(uploaded_by)},{_text(created_at)}]")


def fold(prev: str, line: str) -> str:
    """The running digest of an append-only collection after one more row."""
    return hashlib.sha256(f"{prev}\n{line}".encode()).hexdigest()


def fold_all(lines: Iterable[str]) -> tuple[int, str]:
    """``(count, digest)`` of a collection, rows in the order they were added."""
    count, digest = 0, GENESIS
    for line in lines:
        count += 1
        digest = fold(digest, line)
    return count, digest


def bucket_size(count: int) -> int:
    """Items per bucket for a request of ``count`` items (fixed at filing)."""
    return max(1, -(-count // MAX_ITEM_BUCKETS))


def bucket_digest(lines: Iterable[str]) -> str:
    """SHA-256 over one bucket's item lines, in position order."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def items_root(count: int, buckets: Sequence[str]) -> str:
    """The digest a snapshot records for the items: their count and every bucket."""
    return hashlib.sha256(f"{count}\n{''.join(buckets)}".encode("ascii")).hexdigest()


def item_buckets(count: int, rows: Iterable[tuple[int, str]]) -> list[str]:
    """Bucket digests for ``(position, line)`` rows in position order, laid out for a
    request of ``count`` items. A missing position changes its bucket; a position outside
    1..``count`` adds a last bucket of strays: both change the root (and a row numbered
    in the billions costs one bucket, not billions)."""
    size = bucket_size(count)
    lines: dict[int, list[str]] = {}
    stray: list[str] = []
    for position, line in rows:
        if 1 <= position <= count:
            lines.setdefault((position - 1) // size, []).append(line)
        else:
            stray.append(line)
    buckets = [bucket_digest(lines.get(b, ())) for b in range(-(-count // size))]
    if stray:
        buckets.append(bucket_digest(["stray", *stray]))
    return buckets


def filed_item_buckets(items: Sequence[tuple[str, str, str]]) -> list[str]:
    """:func:`item_buckets` of a list being filed: ``(kind, target, raw)`` at positions
    1, 2, …, every item pending. The same digests, several times faster (this runs
    inside the filing of up to 10,000 items)."""
    count = len(items)
    size = bucket_size(count)
    enc = encode_basestring
    return [
        hashlib.sha256("".join(
            f"[{start + n},{enc(kind)},{enc(target)},{enc(raw)},null,null,null,null"
            f"{_NO_RECORD}]\n"
            for n, (kind, target, raw) in enumerate(items[start - 1:start - 1 + size])
        ).encode("utf-8")).hexdigest()
        for start in range(1, count + 1, size)
    ]


def split_buckets(stored: str | None) -> list[str]:
    """The bucket digests kept on the request row (64 hex digits each, concatenated)."""
    if not stored:
        return []
    return [stored[i:i + 64] for i in range(0, len(stored), 64)]


def targets_digest(targets: Iterable[tuple[str, str]]) -> str:
    """SHA-256 over ``(kind, target)`` in position order: what a filing records of its
    list (``items_sha256``), recomputed later from the item rows."""
    return hashlib.sha256(
        "".join(f"{kind}\t{target}\n" for kind, target in targets).encode()).hexdigest()


def raw_digest(raws: Iterable[str]) -> str:
    """SHA-256 over the targets' text as filed, in position order (``raw_sha256``)."""
    enc = encode_basestring
    return hashlib.sha256("".join(f"{enc(raw)}\n" for raw in raws).encode()).hexdigest()


# --- what an event's snapshot says, what each event may change, when it last changed ------

#: What firing each trigger changes of the snapshot, besides ``state`` and ``resolution``
#: (the portal's effects of each trigger: portal/services/lifecycle.py ``EFFECTS``).
TRIGGER_CHANGES: Mapping[str, frozenset[str]] = {
    "begin_review": frozenset({"assigned_reviewer_id", "receipt_confirmed_at"}),
    "request_info": frozenset({"messages"}),
    "provide_info": frozenset({"messages"}),
    "action": frozenset({"actioned_at"}),
    "revise": frozenset({"actioned_at"}),
    "decline": frozenset({"closed_at", "items", "decision_counts"}),
    "withdraw": frozenset({"closed_at"}),
    "dispute": frozenset({"disputed_at", "messages"}),
    "uphold": frozenset({"closed_at", "messages"}),
    "close": frozenset({"closed_at"}),
    "claim": frozenset({"assigned_reviewer_id"}),
    "unassign": frozenset({"assigned_reviewer_id"}),
    "reassign": frozenset({"assigned_reviewer_id"}),
}
#: What each other kind of event changes.
KIND_CHANGES: Mapping[str, frozenset[str]] = {
    "items_decided": frozenset({"items", "decision_counts"}),
    "items_restored": frozenset({"items"}),
    "notice_recorded": frozenset({"items"}),
    "notice_deferral_ended": frozenset(),
    "reclassified": frozenset({"category", "priority"}),
    "receipt_recorded": frozenset({"order_received_at", "order_received_via"}),
    "force_majeure": frozenset(),
    "message": frozenset({"messages"}),
    "note": frozenset({"notes"}),
    "sla_alert": frozenset(),
    "dispute_answered": frozenset(),
}


def may_change(body: Mapping[str, Any]) -> frozenset[str] | None:
    """The snapshot keys an event may change: ``None`` for a filing (it sets them all).

    A key that changed at any other event was changed outside the portal before it, and
    the event recorded the rows as it found them.
    """
    kind = str(body.get("kind"))
    if kind == "filed":
        return None
    if kind == "transition":
        return frozenset({"state", "resolution"}) | TRIGGER_CHANGES.get(
            str(body.get("trigger")), frozenset())
    return KIND_CHANGES.get(kind, frozenset())


# --- when a snapshot's value last changed ---------------------------------------------------

def since(snapshots: Sequence[tuple[int, Mapping[str, Any]]], key: str) -> int:
    """The event from which ``key`` has had the value the last snapshot records.

    ``snapshots`` are ``(seq, snapshot)`` of the version-2 events, in order.
    """
    value = snapshots[-1][1].get(key)
    first = snapshots[-1][0]
    for seq, snapshot in reversed(snapshots):
        if snapshot.get(key) != value:
            break
        first = seq
    return first


@dataclass(frozen=True)
class Decided:
    """An item's decision as the events recorded it: ``record`` holds its legal record
    (:data:`RECORD_FIELDS`, as text), ``seq`` the last event that changed the item."""

    decision: str
    reason: str | None
    decided_by: int | None
    decided_at: str
    seq: int
    record: Mapping[str, str | None] = field(
        default_factory=lambda: dict.fromkeys(RECORD_FIELDS))


@dataclass(frozen=True)
class LegacyOrder:
    """What the upgrade to rule 3 read of a request to give its earlier decisions their
    legal record: the requesting country and the request's legal basis."""

    jurisdiction: str
    legal_statute: str
    legal_article: str


def legacy_record(decision: str | None, decided_at: str | None,
                  order: LegacyOrder | None) -> dict[str, str | None]:
    """The legal record the upgrade gave a decision made before rule 3: an action applies
    in the requesting country, on its law as the request cites it, from the time it was
    decided; no action has none (its reason was free text). Migration ``b7e4d2a91c08``
    writes exactly this."""
    record: dict[str, str | None] = dict.fromkeys(RECORD_FIELDS)
    if decision is not None and decision != "no_action" and order is not None:
        record.update(territorial_scope=order.jurisdiction, ground="local_law",
                      ground_statute=order.legal_statute or None,
                      ground_article=order.legal_article or None,
                      effect_given_at=decided_at)
    return record


def legacy_field(key: str, bodies: Iterable[Mapping[str, Any]]) -> Any:
    """What the upgrade to rule 3 set a protected field it added to, from the events:
    receipt was confirmed when the review began; the requested action was not asked."""
    if key == "receipt_confirmed_at":
        for body in bodies:
            if body.get("kind") == "transition" and body.get("trigger") == "begin_review":
                return body.get("at")
    return None


def _spans(payload: Mapping[str, Any], wanted: set[int]) -> Iterator[int]:
    """The positions of ``wanted`` that an event's ``positions`` ranges list."""
    for first, last in payload.get("positions", []):
        first, last = int(first), int(last)
        if last - first < len(wanted):
            yield from (p for p in range(first, last + 1) if p in wanted)
        else:
            yield from (p for p in wanted if first <= p <= last)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def replay_decisions(bodies: Iterable[Mapping[str, Any]], positions: Collection[int],
                     order: LegacyOrder | None = None) -> dict[int, Decided]:
    """The decisions the events record for these item positions (one not in the result
    is pending), with each one's legal record.

    ``items_decided`` events set the positions they list: in full when the event records
    the legal record (rule 3), else with :func:`legacy_record` of ``order``; a decision
    lifts a restoration, and no action also ends a deferred notice. A ``decline`` sets
    every item still pending to ``no_action`` with its reason. ``items_restored`` and
    ``notice_recorded`` set their part of the record (what the portal does in each case).
    Only ``positions`` are followed, so the work is bounded by the rows that exist,
    whatever the events claim.
    """
    wanted = set(positions)
    decided: dict[int, Decided] = {}
    for body in bodies:
        payload = body.get("payload") or {}
        at, actor, seq = body.get("at", ""), body.get("actor_id"), int(body.get("seq", 0))
        kind = body.get("kind")
        if kind == "items_decided":
            decision = str(payload.get("decision"))
            reason = str(payload.get("reason") or "") or None
            full = "territorial_scope" in payload
            fields = ({k: _text_or_none(payload.get(k)) for k in DECISION_FIELDS} if full
                      else legacy_record(decision, at, order))
            # Items with no notice recorded before get the same decision: one object for
            # all of them (a bulk decision covers 10,000 items), never mutated.
            shared: Decided | None = None
            for position in _spans(payload, wanted):
                before = decided.get(position)
                if before is None or all(before.record.get(k) is None for k in NOTICE_FIELDS):
                    if shared is None:
                        shared = _decided(decision, reason, actor, at, seq, fields, None)
                    decided[position] = shared
                else:
                    decided[position] = _decided(decision, reason, actor, at, seq, fields,
                                                 before)
        elif kind == "transition" and body.get("trigger") == "decline":
            reason = str(payload.get("reason") or "")
            record = dict.fromkeys(RECORD_FIELDS)
            record["no_action_reason"] = _text_or_none(payload.get("no_action_reason"))
            declined = Decided("no_action", reason, actor, at, seq, record)
            for position in wanted - decided.keys():
                decided[position] = declined
        elif kind in ("items_restored", "notice_recorded"):
            keys = RESTORE_FIELDS if kind == "items_restored" else NOTICE_FIELDS
            change = {k: _text_or_none(payload.get(k)) for k in keys}
            # Items that shared a decision share its change too (kept with the object
            # they came from, so an id is never reused while this map holds it).
            changed: dict[int, tuple[Decided, Decided]] = {}
            for position in _spans(payload, wanted):
                before = decided.get(position)
                if before is None:
                    continue  # the portal records these on decided items only
                if id(before) not in changed:
                    changed[id(before)] = (before, replace(
                        before, seq=seq, record={**before.record, **change}))
                decided[position] = changed[id(before)][1]
    return decided


def _decided(decision: str, reason: str | None, actor: Any, at: Any, seq: int,
             fields: Mapping[str, str | None], before: Decided | None) -> Decided:
    """An item's decision by an ``items_decided`` event: its legal record is the event's
    (``fields``), keeping the notice recorded ``before`` (none after no action)."""
    record: dict[str, str | None] = dict.fromkeys(RECORD_FIELDS)
    if before is not None:
        record.update({k: before.record.get(k) for k in NOTICE_FIELDS})
    record.update({k: fields.get(k) for k in DECISION_FIELDS})
    if decision == "no_action":
        record.update(notice_deferred_until=None, notice_deferral_basis=None)
    return Decided(decision, reason, actor, at, seq, record)


# --- the global head: every request's head folded into one, and anchors of it --------------

class HeadFold:
    """Folds ``(request id, reference, seq, hash)`` of every request, in id order, into
    the one global head an anchor records."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256(b"liaison-portal audit heads\n")
        self._last_id = 0
        self.requests = 0

    def add(self, request_id: int, reference: str, seq: int, head: str) -> None:
        """Raises: ValueError when ids do not rise (the fold is defined in id order)."""
        if request_id <= self._last_id:
            raise ValueError(f"request ids must rise: {request_id} after {self._last_id}")
        self._last_id = request_id
        self.requests += 1
        self._digest.update(f"{request_id}\t{reference}\t{seq}\t{head}\n".encode())

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def fold_heads(heads: Iterable[tuple[int, str, int, str]]) -> str:
    """The global head of ``(request id, reference, seq, hash)`` rows, in any order."""
    folder = HeadFold()
    for row in sorted(heads):
        folder.add(*row)
    return folder.hexdigest()


class AnchorError(ValueError):
    """An anchor file that cannot be used, with the reason."""


ANCHOR_FORMAT = "liaison-portal audit anchor"


@dataclass(frozen=True)
class Anchor:
    """The record's head at one moment: the global sequence number reached (``events``),
    how many requests had events by then, the global head, and optionally each request's
    head (so a later verify can name the request that was rewritten)."""

    at: str
    events: int
    requests: int
    head: str
    heads: tuple[tuple[int, str, int, str], ...] | None = field(default=None)

    def to_json(self, *, with_heads: bool = True) -> str:
        """The anchor as one JSON document (the per-request heads one to a line)."""
        header = {"format": ANCHOR_FORMAT, "version": 1, "at": self.at,
                  "events": self.events, "requests": self.requests, "head": self.head}
        text = json.dumps(header, separators=(", ", ": "))
        if not with_heads or self.heads is None:
            return text + "\n"
        rows = ",\n".join(json.dumps(list(h), ensure_ascii=False) for h in self.heads)
        return f'{text[:-1]}, "heads": [\n{rows}\n]}}\n'

    @classmethod
    def from_json(cls, text: str) -> Anchor:
        """Read an anchor written by :meth:`to_json` (or its one-line header from a mail).

        Raises:
            AnchorError: not JSON, not an anchor, a field missing or malformed, or
                per-request heads that do not fold to the head (the file was altered).
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise AnchorError(f"not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != ANCHOR_FORMAT:
            raise AnchorError(f"not an audit anchor (no \"format\": \"{ANCHOR_FORMAT}\")")
        if data.get("version") != 1:
            raise AnchorError(f"unknown anchor version {data.get('version')!r}")
        for name in ("events", "requests"):
            if not isinstance(data.get(name), int) or isinstance(data.get(name), bool) \
                    or data[name] < 0:
                raise AnchorError(f"\"{name}\" must be a whole number")
        if not isinstance(data.get("head"), str) or not _HEX64.fullmatch(data["head"]):
            raise AnchorError("\"head\" must be 64 hex digits")
        if not isinstance(data.get("at"), str):
            raise AnchorError("\"at\" must be the time the anchor was taken")
        heads = None
        if "heads" in data:
            heads = tuple(_head_row(n, row) for n, row in enumerate(data["heads"], start=1))
            if len(heads) != data["requests"]:
                raise AnchorError(f"\"requests\" says {data['requests']} but {len(heads)} "
                                  "heads are listed: the file was altered")
            if fold_heads(heads) != data["head"]:
                raise AnchorError("the listed request heads do not fold to \"head\": the "
                                  "file was altered")
        return cls(at=data["at"], events=data["events"], requests=data["requests"],
                   head=data["head"], heads=heads)


def _head_row(n: int, row: Any) -> tuple[int, str, int, str]:
    if (isinstance(row, list) and len(row) == 4 and isinstance(row[0], int)
            and isinstance(row[1], str) and isinstance(row[2], int)
            and isinstance(row[3], str) and _HEX64.fullmatch(row[3])):
        return (row[0], row[1], row[2], row[3])
    raise AnchorError(f"head #{n} must be [request id, reference, event number, hash]")


def missing_ranges(numbers: Iterator[int], last: int) -> list[tuple[int, int]]:
    """The runs of 1..``last`` missing from rising ``numbers`` (numbers past ``last`` are
    the caller's to report)."""
    gaps: list[tuple[int, int]] = []
    expected = 1
    for n in numbers:
        if n > expected and expected <= last:
            gaps.append((expected, min(n - 1, last)))
        expected = max(expected, n + 1)
    if expected <= last:
        gaps.append((expected, last))
    return gaps
