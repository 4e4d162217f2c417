"""What ``audit verify`` says about the record as a whole: every number of the global
event sequence used exactly once, and every reference each (jurisdiction, year) counter
handed out belonging to a request."""

from __future__ import annotations

import re
from collections.abc import Iterator

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, ReferenceCounter
from portal.services.audit_findings import MAX_LISTED, Finding
from workflows import audit as chain


def sequence_findings(last: int) -> Iterator[Finding]:
    """Every number of the global sequence up to the ledger's is used exactly once."""
    total, distinct, low, high = db.session.execute(sa.select(
        sa.func.count(Event.gseq), sa.func.count(sa.distinct(Event.gseq)),
        sa.func.min(Event.gseq), sa.func.max(Event.gseq))).one()
    subject = "global sequence"
    if total != distinct:
        for g, n in db.session.execute(
                sa.select(Event.gseq, sa.func.count()).group_by(Event.gseq)
                .having(sa.func.count() > 1).order_by(Event.gseq).limit(MAX_LISTED)):
            yield Finding(None, None, subject, f"g#{g} is used by {n} events (copied events)")
    if high is not None and high > last:
        yield Finding(None, None, subject, f"the ledger's last number is {last} but event "
                      f"g#{high} exists (the ledger was changed, or events were inserted)")
    if total == 0 and last == 0:
        return
    gaps: list[tuple[int, int]] = []
    if low is None:
        gaps.append((1, last))
    else:
        if low > 1:
            gaps.append((1, low - 1))
        following = sa.func.lead(Event.gseq).over(order_by=Event.gseq)
        pairs = sa.select(Event.gseq.label("g"), following.label("after")).subquery()
        gaps += [(g + 1, after - 1) for g, after in db.session.execute(
            sa.select(pairs.c.g, pairs.c.after).where(pairs.c.after > pairs.c.g + 1)
            .order_by(pairs.c.g).limit(MAX_LISTED))]
        if last > high:
            gaps.append((high + 1, last))
    for first, final in gaps[:MAX_LISTED]:
        numbers = f"g#{first}" if first == final else f"g#{first}–g#{final}"
        newest = " (the newest)" if final == last else ""
        yield Finding(None, None, subject, f"events {numbers}{newest} are missing: deleted "
                      "events, or a deleted request with all of its events")


_REFERENCE = re.compile(r"([A-Z]{2})-(\d{4})-(\d+)")


def numbered(reference: str, numbers: dict[tuple[str, int], list[int]]) -> Iterator[Finding]:
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        yield Finding(reference, None, "request", "its reference is not one the portal "
                      "hands out (inserted outside the portal)")
        return
    numbers.setdefault((match[1], int(match[2])), []).append(int(match[3]))


def counter_findings(numbers: dict[tuple[str, int], list[int]]) -> Iterator[Finding]:
    """Each (jurisdiction, year) counter handed out 1..last, and each has a request."""
    counters = {(c.jurisdiction, c.year): c.last
                for c in db.session.scalars(sa.select(ReferenceCounter))}
    for key in sorted(set(counters) | set(numbers)):
        jurisdiction, year = key
        last = counters.get(key, 0)
        taken = sorted(numbers.get(key, []))
        listed = 0
        for first, final in chain.missing_ranges(iter(taken), last):
            for n in range(first, final + 1):
                listed += 1
                if listed > MAX_LISTED:
                    break
                yield Finding(f"{jurisdiction}-{year}-{n:06d}", None, "request",
                              f"missing (deleted): the {jurisdiction} {year} counter handed "
                              f"out {last} numbers and no request has this one")
        for n in (n for n in taken if n > last):
            yield Finding(f"{jurisdiction}-{year}-{n:06d}", None, "request",
                          f"numbered past the {jurisdiction} {year} counter ({last}): the "
                          "counter was changed, or the request inserted outside the portal")
