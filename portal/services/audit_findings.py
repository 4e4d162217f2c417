"""What ``audit verify`` says about one request's rows: the items that differ from the
list its filing recorded and the decisions its events made, and the message, note or
document that differs from what an event recorded. Each finder names the rows; the
walk over requests, chains and snapshots is ``audit_verify``'s."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any, Protocol

from portal.services.audit import Rows, iso, item_record
from workflows import audit as chain
from workflows.audit import GENESIS, RECORD_FIELDS, LegacyOrder, Link, replay_decisions

#: At most this many findings of one kind (items, messages, …) are listed per request.
MAX_LISTED = 20


@dataclass(frozen=True)
class Finding:
    """Something in the record that is not as its events recorded it.

    ``reference`` is the request (None for the record as a whole), ``seq`` the event the
    finding is about, ``subject`` what changed (``field priority``, ``item #3 (@x)``,
    ``message 12``, ``document 4 (order.pdf)``, ``chain``, ``global sequence``, …).
    """

    reference: str | None
    seq: int | None
    subject: str
    problem: str

    def __str__(self) -> str:
        where = self.reference or "record"
        if self.seq is not None:
            where += f" event #{self.seq}"
        return f"{where}: {self.subject}: {self.problem}"


class ItemLayout(Protocol):
    """The items as they are now: each one's decided part (``audit.decided_part_of``, by
    position), the digests of their list as a filing records it (``items_sha256``,
    ``raw_sha256``), and laid out in buckets."""

    targets_sha256: str
    raw_sha256: str

    @property
    def parts(self) -> Mapping[int, str]:
        """Each item's decided part, by position."""
        ...

    def typed(self, row: Any) -> Any:
        """An item row with its values converted as the portal reads them."""
        ...

    def item_buckets(self, count: int) -> list[str]:
        """The item buckets laid out for ``count`` items."""
        ...


def item_findings(req: Any, links: list[Link], rows: Rows,
                  head: tuple[int, dict[str, Any]] | None,
                  current: ItemLayout) -> Iterator[Finding]:
    """Name the items that differ from the record: positions missing or added, targets
    and kinds against the list the filing recorded, decisions against what the events
    decided, and (by bucket, rule 2) raw text and whatever else the items' digest shows."""
    filing = links[0].body if links and links[0].body.get("kind") == "filed" else None
    if filing is None:
        return  # no filing event: the chain finding says so
    ref = req.reference
    payload = filing.get("payload") or {}
    filed_count = payload.get("items")
    count = filed_count if isinstance(filed_count, int) else req.item_count
    seq = head[0] if head is not None else links[-1].seq
    by_position = {r.position: r for r in rows.items}
    filed = {p for p in by_position if 1 <= p <= count}
    found: list[tuple[int, Finding]] = []
    missing = count - len(filed)
    if missing > MAX_LISTED:
        found.append((0, Finding(ref, seq, "items", f"{missing} of the {count} filed are "
                                 "missing (deleted)")))
    p = 0
    while missing and len(found) <= MAX_LISTED:  # the first few; never a walk of a
        p += 1                                   # forged count in the billions
        if p not in by_position:
            missing -= 1
            found.append((p, Finding(ref, seq, f"item #{p}", "missing (deleted)")))
    for p, r in by_position.items():
        if not 1 <= p <= count:
            found.append((p, Finding(ref, seq, f"item #{p} ({r.target})",
                                     "not in the record (added outside the portal)")))
    expected = replay_decisions((link.body for link in links), filed, LegacyOrder(
        req.jurisdiction, req.legal_statute, req.legal_article))
    # Each item's decision and legal record against the events', compared as the part of
    # its line they make (one string comparison an item): equal parts are equal values,
    # field by field (each is a JSON value of its own), so only an item whose part differs
    # is compared field by field to say what differs. The events' part is written once
    # per decision (the replay shares one object among the items a decision covers).
    # No item is skipped where its bucket's digest matches the record: an item changed by
    # hand before a later decision of its bucket is hashed into that decision's snapshot
    # as the portal found it, so the digests agree and only this comparison names it.
    # What the check costs now is reading the items and writing their lines, which the
    # digests need anyway.
    parts = current.parts
    wanted: dict[int, tuple[chain.Decided, str | None]] = {}
    for p, r in by_position.items():
        if 1 <= p <= count:
            want = expected.get(p)
            if want is None:
                if parts.get(p) == chain.PENDING_PART:
                    continue
            else:
                if id(want) not in wanted:
                    wanted[id(want)] = (want, _expected_part(want))
                part = wanted[id(want)][1]
                if part is not None and parts.get(p) == part:
                    continue
            problem = _decision_problem(current.typed(r), want)
            if problem is not None:
                at = expected[p].seq if p in expected else seq
                found.append((p, Finding(ref, at, f"item #{p} ({r.target})", problem)))
    targets_changed = current.targets_sha256 != payload.get("items_sha256") or (
        "raw_sha256" in payload and current.raw_sha256 != payload["raw_sha256"])
    items_changed = head is not None and chain.items_root(
        count, current.item_buckets(count)) != head[1].get("items")
    named = len(found)
    if head is not None and (targets_changed or items_changed):
        found += _buckets(req, count, head, by_position, current.item_buckets(count),
                          explained={p for p, _ in found})
    if targets_changed and len(found) == named and not any(
            "missing" in f.problem or "not in the record" in f.problem for _, f in found):
        found.append((0, Finding(ref, links[0].seq, "items", "the targets, their kinds or "
                                 "their text differ from the list this filing recorded")))
    if items_changed and not found:
        found.append((0, Finding(ref, seq, "items", "differ from the record")))
    found.sort(key=lambda pair: pair[0])
    for _, finding in found[:MAX_LISTED]:
        yield finding
    if len(found) > MAX_LISTED:
        yield Finding(ref, seq, "items", f"and {len(found) - MAX_LISTED} more")


def _expected_part(want: chain.Decided) -> str | None:
    """The decided part of the line of an item decided as ``want`` says, or None when
    ``want`` holds a value no row could (then the item is compared field by field)."""
    texts = (want.decision, want.reason, want.decided_at,
             *(want.record.get(k) for k in RECORD_FIELDS))
    if not all(v is None or isinstance(v, str) for v in texts) or not (
            want.decided_by is None or type(want.decided_by) is int):
        return None
    return chain.decided_part(want.decision, want.reason, want.decided_by, want.decided_at,
                              [want.record.get(k) for k in RECORD_FIELDS])


def _decision_problem(r: Any, want: chain.Decided | None) -> str | None:
    have = (getattr(r.decision, "value", r.decision), r.reason, r.decided_by_id,
            iso(r.decided_at))
    record = dict(zip(RECORD_FIELDS, item_record(r), strict=True))
    if want is None:
        if have == (None, None, None, None) and not any(record.values()):
            return None
        if have[0] is None:
            name = next(k for k, v in record.items() if v is not None)
            return f"{name} is {record[name]!r}; the record has the item undecided"
        return f"decision is {have[0]!r}; the record has it undecided"
    if have == (want.decision, want.reason, want.decided_by, want.decided_at) \
            and all(record[k] == want.record.get(k) for k in RECORD_FIELDS):
        return None
    if have[0] != want.decision:
        problem = f"decision is {have[0]!r}; the record has {want.decision!r}"
    elif have[1] != want.reason:
        problem = f"reason is {have[1]!r}; the record has {want.reason!r}"
    elif have[2:] != (want.decided_by, want.decided_at):
        problem = (f"decided by {have[2]} at {have[3]}; the record has {want.decided_by} "
                   f"at {want.decided_at}")
    else:
        name = next(k for k in RECORD_FIELDS if record[k] != want.record.get(k))
        problem = f"{name} is {record[name]!r}; the record has {want.record.get(name)!r}"
    return f"{problem} (event #{want.seq})"


def _buckets(req: Any, count: int, head: tuple[int, dict[str, Any]],
             by_position: Mapping[int, Any], now: list[str],
             explained: set[int]) -> list[tuple[int, Finding]]:
    """Items whose bucket differs from the one the row keeps, when those are the buckets
    the record holds (one item per bucket in requests of up to 128 items)."""
    cached = chain.split_buckets(req.item_buckets)
    if chain.items_root(count, cached) != head[1].get("items"):
        return []
    size = chain.bucket_size(count)
    explained_buckets = {(p - 1) // size for p in explained}
    found = []
    for b, (was, is_) in enumerate(zip_longest(cached, now)):
        if was == is_ or b in explained_buckets:
            continue
        first, last = b * size + 1, min((b + 1) * size, count)
        if first == last and first in by_position:
            subject = f"item #{first} ({by_position[first].target})"
        else:
            subject = f"items #{first}–#{last}"
        found.append((first, Finding(req.reference, head[0], subject,
                                     "target, kind, raw text or the decision's legal record "
                                     "differs from the record")))
    return found


_NOUNS = {"messages": "message", "notes": "note", "documents": "document"}
#: The payload field that holds the text of a message a transition writes.
_TRANSITION_TEXT = {"request_info": "question", "provide_info": "answer", "dispute": "reason",
                    "uphold": "reason"}


def collection_findings(ref: str, key: str, rows: list[Any], line: Callable[[Any], str],
                        links: list[Link], recorded: list[tuple[int, dict[str, Any]]], *,
                        changed: bool) -> Iterator[Finding]:
    """Name the message, note or document that differs: the first row whose running
    digest no longer matches what an event recorded. Every count an event recorded is
    checked, so a row changed and then recorded as found by a later event shows too."""
    noun = _NOUNS[key]
    first_recorded: dict[int, tuple[str, int]] = {}
    for seq, snapshot in recorded:
        value = snapshot.get(key)
        if isinstance(value, list) and len(value) == 2:
            first_recorded.setdefault(int(value[0]), (str(value[1]), seq))
    prefix = [GENESIS]
    for row in rows:
        prefix.append(chain.fold(prefix[-1], line(row)))
    good = 0
    bodies = {link.seq: link.body for link in links}
    for n in sorted(first_recorded):
        digest, seq = first_recorded[n]
        if n < len(prefix) and prefix[n] == digest:
            good = n
            continue
        yield _diverged(ref, noun, rows, good, n, seq, bodies[seq])
        return
    if not changed:
        return
    held = recorded[-1][1].get(key)
    held_count = int(held[0]) if isinstance(held, list) and held else 0
    extra = rows[held_count:]
    for row in extra[:MAX_LISTED]:
        yield Finding(ref, recorded[-1][0], f"{noun} {row.id}",
                      "not in the record (added outside the portal)")
    if not extra:
        yield Finding(ref, recorded[-1][0], key, "differ from the record")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _recorded_shas(payload: Mapping[str, Any]) -> list[str]:
    """The hashes of the documents an event added, in its order: every one a filing with
    several (the order first) or a ``documents_added`` event lists, else the filing's
    single order."""
    listed = payload.get("documents")
    if isinstance(listed, list):
        return [str(d.get("sha256")) for d in listed if isinstance(d, dict)]
    single = payload.get("attachment_sha256")
    return [str(single)] if single else []


def _diverged(ref: str, noun: str, rows: list[Any], good: int, n: int, seq: int,
              body: Mapping[str, Any]) -> Finding:
    """The row(s) after the last matching prefix, up to the ``n``-th that event ``seq``
    recorded."""
    payload = body.get("payload") or {}
    if noun in {"message", "note"} and "message_id" in payload:
        wanted = payload["message_id"]
        row = next((r for r in rows if r.id == wanted), None)
        if row is not None and (row.author_id, iso(row.created_at)) != (
                body.get("actor_id"), body.get("at")):
            return Finding(ref, seq, f"{noun} {wanted}", "missing (deleted); this event "
                           f"recorded it, and its id now belongs to another {noun}")
        if row is None:
            return Finding(ref, seq, f"{noun} {wanted}", "missing (deleted); this event "
                           "recorded it")
        if _sha(row.body) != payload.get("body_sha256"):
            return Finding(ref, seq, f"{noun} {wanted}", "text edited: it no longer "
                           "matches the hash this event recorded")
    text_field = _TRANSITION_TEXT.get(str(body.get("trigger")))
    if noun == "message" and text_field and isinstance(payload.get(text_field), str):
        row = rows[n - 1] if n <= len(rows) else None
        if row is None:
            return Finding(ref, seq, noun, f"the {text_field} this event recorded is "
                           "missing (deleted)")
        if row.body != payload[text_field]:
            return Finding(ref, seq, f"{noun} {row.id}", f"text edited: this event recorded "
                           f"the {text_field} differently")
    if noun == "document":
        # The event added the last of its ``n`` documents, in the order it lists them
        # (a filing's order first): compare each with the row in its place.
        shas = _recorded_shas(payload)
        for place, sha in enumerate(shas, start=n - len(shas)):
            row = rows[place] if 0 <= place < len(rows) else None
            if row is None:
                return Finding(ref, seq, noun, "missing (deleted); this event recorded it")
            if row.sha256 != sha:
                return Finding(ref, seq, f"document {row.id} ({row.filename})",
                               f"sha256 is {row.sha256[:12]}…; the record has "
                               f"{sha[:12]}… (this event)")
    if n > len(rows):
        return Finding(ref, seq, noun, f"the record has {n}, the table {len(rows)}: "
                       f"#{len(rows) + 1}–#{n} missing (deleted)")
    row = rows[good] if good < len(rows) else rows[-1]
    which = f"{noun} {row.id}" if n == good + 1 else f"one of {noun}s #{good + 1}–#{n}"
    return Finding(ref, seq, which, "differs from what this event recorded (edited, "
                   "replaced, or one before it deleted)")
