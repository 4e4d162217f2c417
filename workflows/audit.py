"""The audit record's hash chain: each event's hash covers its body and the previous hash.

Pure functions over plain mappings, so the portal (rows), the ``audit verify`` command and
the workflow tests (in-memory records) share one definition of the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workflows.states import RequestState

#: The ``prev_hash`` of a request's first event.
GENESIS = "0" * 64


def canonical(body: Mapping[str, Any]) -> bytes:
    """The byte form that is hashed: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def chain_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """SHA-256 over the previous hash and the canonical body, as 64 hex digits."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical(body))
    return digest.hexdigest()


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
    row recorded; with them a deleted last event is caught too.
    """
    prev = GENESIS
    expected_seq = 1
    seen = 0
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
