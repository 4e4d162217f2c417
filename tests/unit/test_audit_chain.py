"""The hash chain in workflows.audit: what verifies, and every way tampering shows."""

from __future__ import annotations

import dataclasses

import pytest

from workflows.audit import GENESIS, Link, chain_hash, replay_state, verify_chain
from workflows.states import RequestState


def build(bodies):
    links, prev = [], GENESIS
    for seq, body in enumerate(bodies, start=1):
        body = {**body, "seq": seq}
        link = Link(seq, prev, chain_hash(prev, body), body)
        links.append(link)
        prev = link.hash
    return links


BODIES = [
    {"kind": "filed", "from_state": None, "to_state": "received"},
    {"kind": "transition", "from_state": "received", "to_state": "legal_review"},
    {"kind": "items_decided", "payload": {"decision": "removed", "count": 3}},
    {"kind": "transition", "from_state": "legal_review", "to_state": "actioned"},
]


def test_an_untouched_chain_verifies_and_replays():
    links = build(BODIES)
    assert verify_chain(links, head_hash=links[-1].hash, count=4) is None
    assert replay_state(link.body for link in links) is RequestState.ACTIONED


def test_hash_depends_on_every_byte_and_on_the_previous_hash():
    body = {"kind": "x", "seq": 1}
    assert chain_hash(GENESIS, body) != chain_hash("1" * 64, body)
    assert chain_hash(GENESIS, body) != chain_hash(GENESIS, {"kind": "y", "seq": 1})
    assert chain_hash(GENESIS, {"a": 1, "b": 2}) == chain_hash(GENESIS, {"b": 2, "a": 1})


def test_edited_event_is_found():
    links = build(BODIES)
    edited = dict(links[2].body, payload={"decision": "removed", "count": 2})
    links[2] = dataclasses.replace(links[2], body=edited)
    broken = verify_chain(links)
    assert broken is not None and broken.seq == 3 and "edited" in broken.problem


def test_deleted_middle_event_is_found():
    links = build(BODIES)
    del links[1]
    broken = verify_chain(links)
    assert broken is not None and broken.seq == 3


def test_deleted_last_event_is_found_with_the_recorded_head():
    links = build(BODIES)
    head, count = links[-1].hash, len(links)
    assert verify_chain(links[:-1]) is None  # the chain alone cannot tell
    broken = verify_chain(links[:-1], head_hash=head, count=count)
    assert broken is not None and "4 events, found 3" in broken.problem


def test_inserted_event_is_found_even_with_a_recomputed_hash():
    links = build(BODIES)
    body = {"kind": "transition", "from_state": "legal_review", "to_state": "closed", "seq": 3}
    forged = Link(3, links[1].hash, chain_hash(links[1].hash, body), body)
    tampered = links[:2] + [forged] + links[2:]
    broken = verify_chain(tampered, head_hash=links[-1].hash, count=4)
    assert broken is not None and broken.seq == 3


def test_replay_refuses_a_gap_in_the_states():
    with pytest.raises(ValueError, match="leaves actioned"):
        replay_state([
            {"seq": 1, "from_state": None, "to_state": "received"},
            {"seq": 2, "from_state": "actioned", "to_state": "closed"},
        ])
