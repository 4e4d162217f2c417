"""The hash chain in workflows.audit: what verifies, and every way tampering shows; the
rule-2 parts (global numbers, item buckets, folds, the global head, anchors, replayed
decisions) as hypothesis properties."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from workflows import audit
from workflows.audit import GENESIS, Link, chain_hash, replay_state, verify_chain
from workflows.request_flow import BY_TRIGGER
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


# --- rule 2: snapshots, global numbers, the rows' digests, anchors (hypothesis) -------------



texts = st.text(max_size=12)
payloads = st.dictionaries(st.sampled_from(["a", "b", "reason"]), texts, max_size=3)


@st.composite
def chains(draw, min_size=1):
    """A request's events under rule 2: rising global numbers, a snapshot each."""
    n = draw(st.integers(min_size, 8))
    gseqs = sorted(draw(st.sets(st.integers(1, 10_000), min_size=n, max_size=n)))
    links, prev = [], GENESIS
    for seq, gseq in enumerate(gseqs, start=1):
        body = audit.event_body(
            reference="TR-2026-000001", seq=seq, kind=draw(st.sampled_from(
                ["filed", "transition", "items_decided", "note"])),
            trigger=None, from_state=None, to_state=None,
            actor_id=draw(st.none() | st.integers(1, 9)), actor_role="legal_reviewer",
            payload=draw(payloads), at=f"2026-11-20T10:00:{seq:02d}", version=2, gseq=gseq,
            snapshot={"state": draw(texts), "items": draw(texts)})
        links.append(Link(seq, prev, chain_hash(prev, body), body))
        prev = links[-1].hash
    return links


def verifies(links, head, count):
    return audit.verify_chain(links, head_hash=head, count=count) is None


@given(chains())
def test_an_untouched_rule_2_chain_verifies(links):
    assert verifies(links, links[-1].hash, len(links))


@given(chains(), st.data())
def test_any_edit_of_any_event_is_found(links, data):
    i = data.draw(st.integers(0, len(links) - 1))
    key = data.draw(st.sampled_from(["kind", "actor_id", "payload", "at", "gseq", "snapshot",
                                     "v", "request"]))
    value = data.draw(st.one_of(texts, st.integers(-5, 10_001), payloads, st.none()))
    body = dict(links[i].body)
    assume(body.get(key) != value)
    body[key] = value
    links[i] = dataclasses.replace(links[i], body=body)
    assert not verifies(links, links[-1].hash, len(links))


@given(chains(min_size=2), st.data())
def test_deleting_swapping_or_downgrading_an_event_is_found(links, data):
    head, count = links[-1].hash, len(links)
    i = data.draw(st.integers(0, len(links) - 2))
    action = data.draw(st.sampled_from(["delete", "swap", "downgrade"]))
    if action == "delete":
        del links[i]
    elif action == "swap":
        links[i], links[i + 1] = links[i + 1], links[i]
    else:
        # Rewritten under rule 1 from event i on, every hash recomputed: still refused,
        # since a chain never goes back to an older rule.
        prev = links[i - 1].hash if i else GENESIS
        for j in range(i, len(links)):
            body = {k: v for k, v in links[j].body.items() if k not in {"v", "gseq",
                                                                         "snapshot"}}
            links[j] = Link(links[j].seq, prev, chain_hash(prev, body), body)
            prev = links[j].hash
        assume(i > 0)
        head = prev
    assert not verifies(links, head, count)


records = st.lists(st.none() | texts, min_size=len(audit.RECORD_FIELDS),
                   max_size=len(audit.RECORD_FIELDS))


@given(st.lists(st.tuples(st.tuples(texts, texts, texts, st.none() | texts, st.none() | texts,
                                    st.none() | st.integers(1, 99), st.none() | texts),
                          records), max_size=5))
def test_item_lines_are_json_and_never_collide(rows):
    lines = [audit.item_line(p, *row, record=record)
             for p, (row, record) in enumerate(rows, start=1)]
    assert [json.loads(line) for line in lines] == [[p, *row, *record] for p, (row, record)
                                                    in enumerate(rows, start=1)]
    # A tail written once for the items sharing a record is the same line.
    assert lines == [audit.item_line(p, *row, tail=audit.record_tail(record))
                     for p, (row, record) in enumerate(rows, start=1)]
    old = [audit.item_line_v2(p, *row) for p, (row, _) in enumerate(rows, start=1)]
    assert [json.loads(line) for line in old] == [[p, *row] for p, (row, _) in
                                                  enumerate(rows, start=1)]


def test_an_item_line_without_a_record_has_a_null_for_each_field():
    line = audit.item_line(1, "account", "@a", "@a", None, None, None, None)
    assert json.loads(line) == [1, "account", "@a", "@a", *[None] * (4 + 15)]
    assert line == audit.item_line(1, "account", "@a", "@a", None, None, None, None,
                                   [None] * len(audit.RECORD_FIELDS))


@st.composite
def item_sets(draw):
    count = draw(st.integers(0, 300))
    lines = {p: draw(st.sampled_from(["pending", "removed", "no_action"])) + str(p)
             for p in range(1, count + 1)}
    return count, lines


@given(item_sets(), st.data())
def test_changing_one_item_changes_its_bucket_only_and_the_root(items, data):
    count, lines = items
    assume(count > 0)
    before = audit.item_buckets(count, sorted(lines.items()))
    p = data.draw(st.integers(1, count))
    lines[p] = lines[p] + " changed"
    after = audit.item_buckets(count, sorted(lines.items()))
    size = audit.bucket_size(count)
    assert len(before) == len(after) <= audit.MAX_ITEM_BUCKETS
    assert [b for b in range(len(before)) if before[b] != after[b]] == [(p - 1) // size]
    assert audit.items_root(count, before) != audit.items_root(count, after)


@given(item_sets(), st.data())
def test_a_missing_added_or_stray_item_changes_the_root(items, data):
    count, lines = items
    root = audit.items_root(count, audit.item_buckets(count, sorted(lines.items())))
    change = data.draw(st.sampled_from(["delete", "add", "stray"]))
    if change == "delete":
        assume(count > 0)
        del lines[data.draw(st.integers(1, count))]
    elif change == "add":
        lines[count + data.draw(st.integers(1, 500))] = "added"
    else:
        lines[data.draw(st.integers(-3, 0))] = "stray"
    assert audit.items_root(count, audit.item_buckets(count, sorted(lines.items()))) != root


@given(st.lists(texts, max_size=20))
def test_a_running_fold_is_the_fold_of_its_rows(lines):
    digest = GENESIS
    for n, line in enumerate(lines, start=1):
        digest = audit.fold(digest, line)
        assert audit.fold_all(lines[:n]) == (n, digest)
    if lines:
        # Any other row list (edited, deleted, reordered) folds to something else.
        assert audit.fold_all(lines[:-1])[1] != digest
        assert audit.fold_all([*lines[:-1], lines[-1] + "x"])[1] != digest


heads = st.lists(st.tuples(st.integers(1, 10_000), st.from_regex(r"[A-Z]{2}-2026-\d{6}",
                                                                 fullmatch=True),
                           st.integers(1, 50), st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
                 max_size=12, unique_by=lambda h: h[0])


@given(heads, st.randoms())
def test_the_global_head_is_one_per_set_of_heads_and_changes_with_any(rows, rnd):
    head = audit.fold_heads(rows)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert audit.fold_heads(shuffled) == head
    if rows:
        i = rnd.randrange(len(rows))
        rid, ref, seq, digest = rows[i]
        assert audit.fold_heads(rows[:i] + rows[i + 1:]) != head
        assert audit.fold_heads([*rows[:i], (rid, ref, seq + 1, digest), *rows[i + 1:]]) != head


@given(heads, st.integers(0, 10**6), st.booleans())
def test_an_anchor_reads_back_as_written(rows, events, with_heads):
    rows = sorted(rows)
    anchor = audit.Anchor(at="2026-11-20T10:00:00.000000+00:00", events=events,
                          requests=len(rows), head=audit.fold_heads(rows), heads=tuple(rows))
    back = audit.Anchor.from_json(anchor.to_json(with_heads=with_heads))
    assert (back.at, back.events, back.requests, back.head) == (
        anchor.at, anchor.events, anchor.requests, anchor.head)
    assert back.heads == (tuple(rows) if with_heads else None)


@given(heads.filter(bool), st.data())
def test_an_altered_anchor_file_is_refused(rows, data):
    rows = sorted(rows)
    anchor = audit.Anchor(at="2026-11-20T10:00:00.000000+00:00", events=7,
                          requests=len(rows), head=audit.fold_heads(rows), heads=tuple(rows))
    i = data.draw(st.integers(0, len(rows) - 1))
    rid, ref, seq, digest = rows[i]
    altered = dataclasses.replace(anchor, heads=(*rows[:i], (rid, ref, seq + 1, digest),
                                                 *rows[i + 1:]))
    with pytest.raises(audit.AnchorError, match="altered"):
        audit.Anchor.from_json(altered.to_json())


@pytest.mark.parametrize(("text", "reason"), [
    ("{", "not JSON"),
    ("[]", "not an audit anchor"),
    ('{"format": "liaison-portal audit anchor", "version": 2}', "unknown anchor version"),
    ('{"format": "liaison-portal audit anchor", "version": 1, "events": -1}', "events"),
    ('{"format": "liaison-portal audit anchor", "version": 1, "events": 1, "requests": 0,'
     ' "head": "xyz", "at": "now"}', "64 hex digits"),
    ('{"format": "liaison-portal audit anchor", "version": 1, "events": 1, "requests": 1,'
     ' "head": "' + "a" * 64 + '", "at": "now", "heads": [[1, "A", 1]]}', "head #1"),
])
def test_a_malformed_anchor_is_refused_with_the_reason(text, reason):
    with pytest.raises(audit.AnchorError, match=reason):
        audit.Anchor.from_json(text)


@st.composite
def decision_histories(draw):
    count = draw(st.integers(1, 40))
    bodies, model = [], {}
    for seq in range(2, draw(st.integers(2, 12))):
        at = f"2026-11-20T10:{seq:02d}:00"
        if draw(st.integers(0, 5)) == 0:
            reason = draw(st.text(min_size=1, max_size=5))
            bodies.append({"seq": seq, "kind": "transition", "trigger": "decline",
                           "actor_id": 3, "at": at, "payload": {"reason": reason}})
            for p in range(1, count + 1):
                model.setdefault(p, ("no_action", reason, 3, at, seq))
            continue
        positions = sorted(draw(st.sets(st.integers(1, count), min_size=1)))
        decision = draw(st.sampled_from(["removed", "withheld_in_country", "no_action"]))
        reason = draw(st.sampled_from(["", "per order"]))
        runs = []
        for p in positions:
            if runs and runs[-1][1] == p - 1:
                runs[-1][1] = p
            else:
                runs.append([p, p])
        bodies.append({"seq": seq, "kind": "items_decided", "actor_id": 2, "at": at,
                       "payload": {"decision": decision, "reason": reason,
                                   "positions": runs}})
        for p in positions:
            model[p] = (decision, reason or None, 2, at, seq)
    return count, bodies, model


@given(decision_histories())
def test_replayed_decisions_are_what_the_events_did(history):
    count, bodies, model = history
    replayed = audit.replay_decisions(bodies, range(1, count + 1))
    assert {p: (d.decision, d.reason, d.decided_by, d.decided_at, d.seq)
            for p, d in replayed.items()} == model


@settings(max_examples=200)
@given(st.sets(st.integers(1, 60)), st.integers(0, 70))
def test_missing_ranges_are_the_numbers_not_handed_out(taken, last):
    gaps = audit.missing_ranges(iter(sorted(taken)), last)
    missing = {n for first, final in gaps for n in range(first, final + 1)}
    assert missing == set(range(1, last + 1)) - taken


def test_every_trigger_says_what_it_may_change():
    assert set(audit.TRIGGER_CHANGES) == set(BY_TRIGGER)
    assert audit.may_change({"kind": "filed"}) is None
    assert audit.may_change({"kind": "sla_alert"}) == frozenset()
    assert audit.may_change({"kind": "transition", "trigger": "dispute"}) == {
        "state", "resolution", "disputed_at", "messages"}
    assert audit.may_change({"kind": "unheard-of"}) == frozenset()


@given(st.lists(st.tuples(st.sampled_from(["account", "post", "channel"]), texts, texts),
                max_size=300))
def test_a_filed_list_is_bucketed_as_the_general_rule_buckets_it(items):
    general = audit.item_buckets(len(items), (
        (p, audit.item_line(p, kind, target, raw, None, None, None, None))
        for p, (kind, target, raw) in enumerate(items, start=1)))
    assert audit.filed_item_buckets(items) == general


def test_forged_huge_numbers_cost_nothing_to_check():
    # A forged position or range in the billions must not make verify walk it.
    buckets = audit.item_buckets(3, [(1, "a"), (2, "b"), (3_000_000_000, "forged")])
    assert len(buckets) == 4  # three items and one bucket of strays
    decided = audit.replay_decisions([{"seq": 2, "kind": "items_decided", "actor_id": 1,
                                       "at": "t", "payload": {"decision": "removed",
                                                              "positions": [[1, 10**12]]}}],
                                     {1, 2})
    assert set(decided) == {1, 2}
