"""Random triggers fired by random roles on an in-memory request: the invariants hold.

The record below plays the portal's part (items, audit chain, resolution) with nothing
but :mod:`workflows`, so the test needs neither Flask nor a database.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from workflows import machine
from workflows.audit import GENESIS, Link, chain_hash, replay_state, verify_chain
from workflows.decisions import Decision, ItemTally, derive_resolution
from workflows.request_flow import (
    BY_TRIGGER,
    DECIDABLE_STATES,
    TRANSITIONS,
    Facts,
    TransitionError,
    resolution_after,
)
from workflows.roles import Role
from workflows.states import RequestState, Resolution

TABLE = {(s, t.trigger, t.dest) for t in TRANSITIONS for s in t.sources}
texts = st.one_of(st.just(""), st.just("  "), st.text(min_size=1, max_size=12))


class RequestRecord(RuleBasedStateMachine):
    """One request: its state, items, resolution and hash-chained events."""

    def __init__(self) -> None:
        super().__init__()
        self.state = RequestState.RECEIVED
        self.resolution: Resolution | None = None
        self.items: list[Decision | None] = []
        self.decided_since_dispute = False
        self.window_open = True
        self.links: list[Link] = []
        self.fired: list[tuple[RequestState, str, RequestState]] = []
        self._append({"kind": "filed", "to_state": self.state.value, "from_state": None})

    def _append(self, body: dict[str, Any]) -> None:
        seq = len(self.links) + 1
        body = {**body, "seq": seq}
        prev = self.links[-1].hash if self.links else GENESIS
        self.links.append(Link(seq, prev, chain_hash(prev, body), body))

    @initialize(count=st.integers(min_value=1, max_value=6))
    def file_items(self, count: int) -> None:
        # Filing refuses a request without items, so every request starts with some.
        self.items = [None] * count

    @precondition(lambda self: self.state in DECIDABLE_STATES and bool(self.items))
    @rule(data=st.data(), decision=st.sampled_from(Decision))
    def decide(self, data: st.DataObject, decision: Decision) -> None:
        index = data.draw(st.integers(min_value=0, max_value=len(self.items) - 1))
        self.items[index] = decision
        if self.state is RequestState.DISPUTED:
            self.decided_since_dispute = True

    @precondition(lambda self: self.state in DECIDABLE_STATES and bool(self.items))
    @rule(decision=st.sampled_from(Decision))
    def decide_all(self, decision: Decision) -> None:
        self.items = [decision] * len(self.items)
        if self.state is RequestState.DISPUTED:
            self.decided_since_dispute = True

    @rule(open_=st.booleans())
    def time_passes(self, open_: bool) -> None:
        self.window_open = open_

    @rule(
        trigger=st.sampled_from([t.trigger for t in TRANSITIONS] + ["explode"]),
        role=st.sampled_from(Role),
        is_owner=st.booleans(),
        reason=texts, question=texts, answer=texts,
    )
    def fire_anything(self, trigger: str, role: Role, is_owner: bool, reason: str,
                      question: str, answer: str) -> None:
        self.fire(trigger, role, is_owner, reason, question, answer)

    def fire(self, trigger: str, role: Role, is_owner: bool, reason: str, question: str,
             answer: str) -> None:
        tally = ItemTally.of(self.items)
        if trigger == "decline":  # as the portal does: pending items become no_action
            tally = ItemTally(tally.total, 0, tally.acted, tally.no_action + tally.pending)
        facts = Facts(tally=tally, resolution=self.resolution,
                      dispute_window_open=self.window_open,
                      decisions_changed_since_dispute=self.decided_since_dispute)
        before = self.state
        try:
            after = machine.fire(before, trigger, role=role, is_owner=is_owner,
                                 inputs={"reason": reason, "question": question,
                                         "answer": answer,
                                         "no_action_reason": "not_unlawful"},
                                 facts=facts)
        except TransitionError as refused:
            assert refused.message  # every refusal says why
            assert self.state is before
            return
        if trigger == "decline":
            self.items = [Decision.NO_ACTION if d is None else d for d in self.items]
        self.resolution = resolution_after(BY_TRIGGER[trigger], tally, self.resolution)
        if after is RequestState.DISPUTED:
            self.decided_since_dispute = False
        self.state = after
        self.fired.append((before, trigger, after))
        self._append({"kind": "transition", "trigger": trigger,
                      "from_state": before.value, "to_state": after.value})

    @rule(data=st.data())
    def fire_something_allowed(self, data: st.DataObject) -> None:
        # Random roles rarely find a permitted trigger; this rule walks the table so the
        # deep states (actioned, disputed, closed) are reached too.
        options = [(role, o.trigger) for role in Role
                   for o in machine.options(self.state, role=role, is_owner=True)]
        if options:
            role, trigger = data.draw(st.sampled_from(options))
            self.fire(trigger, role, True, "a reason", "a question", "an answer")

    @invariant()
    def only_table_transitions(self) -> None:
        for fired in self.fired:
            assert fired in TABLE

    @invariant()
    def audit_chain_replays_to_the_state(self) -> None:
        assert verify_chain(self.links, head_hash=self.links[-1].hash,
                            count=len(self.links)) is None
        assert replay_state(link.body for link in self.links) is self.state

    @invariant()
    def closed_resolution_matches_items(self) -> None:
        if self.state is RequestState.CLOSED:
            if self.resolution is Resolution.WITHDRAWN:
                return
            assert self.resolution is derive_resolution(ItemTally.of(self.items))
        if self.state is RequestState.ACTIONED:
            assert self.resolution in {Resolution.COMPLIED, Resolution.PARTIALLY_COMPLIED}


RequestRecord.TestCase.settings = settings(max_examples=300, stateful_step_count=40,
                                           deadline=None)
TestRequestLifecycle = RequestRecord.TestCase
