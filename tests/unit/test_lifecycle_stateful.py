"""Random triggers fired by random roles on an in-memory request: the invariants hold.

The record below plays the portal's part (items, audit chain, resolution, which reviewer
holds the request) with nothing but :mod:`workflows`, so the test needs neither Flask nor
a database.
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

TABLE = {(s, t.trigger, t.dest or s) for t in TRANSITIONS for s in t.sources}
texts = st.one_of(st.just(""), st.just("  "), st.text(min_size=1, max_size=12))
#: The reviewers: two plain ones and a lead reviewer.
REVIEWERS = ("ann", "bob", "lead")
#: Triggers that decide for the platform: only the holder (or a lead) fires them.
DECIDING = frozenset({"request_info", "action", "decline", "revise", "uphold"})


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
        #: Who holds the request, and who fired each deciding trigger or decision while
        #: someone held it (with the holder then).
        self.holder: str | None = None
        self.decided_by: list[tuple[str, str]] = []
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

    def _may_decide(self, who: str) -> bool:
        # As the decisions service asks: the machine's activity row, with the claim.
        refused = machine.refusal(self.state, "decide_items", role=Role.LEGAL_REVIEWER,
                                  is_owner=False, facts=self._facts(ItemTally.of(self.items)),
                                  holds_claim=who == self.holder, lead=who == "lead")
        if refused is None and self.holder is not None:
            self.decided_by.append((who, self.holder))
        return refused is None

    @precondition(lambda self: bool(self.items))
    @rule(data=st.data(), decision=st.sampled_from(Decision), who=st.sampled_from(REVIEWERS))
    def decide(self, data: st.DataObject, decision: Decision, who: str) -> None:
        if not self._may_decide(who):
            return
        assert self.state in DECIDABLE_STATES
        index = data.draw(st.integers(min_value=0, max_value=len(self.items) - 1))
        self.items[index] = decision
        if self.state is RequestState.DISPUTED:
            self.decided_since_dispute = True

    @precondition(lambda self: bool(self.items))
    @rule(decision=st.sampled_from(Decision), who=st.sampled_from(REVIEWERS))
    def decide_all(self, decision: Decision, who: str) -> None:
        if not self._may_decide(who):
            return
        assert self.state in DECIDABLE_STATES
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
        who=st.sampled_from(REVIEWERS),
        reason=texts, question=texts, answer=texts,
        reviewer=st.sampled_from(("", *REVIEWERS)),
    )
    def fire_anything(self, trigger: str, role: Role, is_owner: bool, who: str, reason: str,
                      question: str, answer: str, reviewer: str) -> None:
        self.fire(trigger, role, is_owner, reason, question, answer, who=who,
                  reviewer=reviewer)

    def _facts(self, tally: ItemTally) -> Facts:
        return Facts(tally=tally, resolution=self.resolution,
                     dispute_window_open=self.window_open,
                     decisions_changed_since_dispute=self.decided_since_dispute,
                     claimed=self.holder is not None)

    def fire(self, trigger: str, role: Role, is_owner: bool, reason: str, question: str,
             answer: str, *, who: str = "ann", reviewer: str = "bob") -> None:
        tally = ItemTally.of(self.items)
        if trigger == "decline":  # as the portal does: pending items become no_action
            tally = ItemTally(tally.total, 0, tally.acted, tally.no_action + tally.pending)
        facts = self._facts(tally)
        reviewing = role is Role.LEGAL_REVIEWER
        before = self.state
        try:
            after = machine.fire(before, trigger, role=role, is_owner=is_owner,
                                 inputs={"reason": reason, "question": question,
                                         "answer": answer, "reviewer": reviewer,
                                         "no_action_reason": "not_unlawful"},
                                 facts=facts, holds_claim=reviewing and who == self.holder,
                                 lead=reviewing and who == "lead")
        except TransitionError as refused:
            assert refused.message  # every refusal says why
            assert self.state is before
            return
        if reviewing and trigger in DECIDING and self.holder is not None:
            self.decided_by.append((who, self.holder))
        # The portal's effects on who holds it (the service checks the reviewer named).
        if trigger in ("begin_review", "claim"):
            self.holder = who
        elif trigger == "unassign":
            self.holder = None
        elif trigger == "reassign":
            self.holder = reviewer
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
        who = data.draw(st.sampled_from(REVIEWERS))
        options = [(role, o.trigger) for role in Role
                   for o in machine.options(
                       self.state, role=role, is_owner=True, facts=self._facts(
                           ItemTally.of(self.items)),
                       holds_claim=role is Role.LEGAL_REVIEWER and who == self.holder,
                       lead=role is Role.LEGAL_REVIEWER and who == "lead")]
        if options:
            role, trigger = data.draw(st.sampled_from(options))
            self.fire(trigger, role, True, "a reason", "a question", "an answer", who=who,
                      reviewer=data.draw(st.sampled_from(REVIEWERS)))

    @invariant()
    def only_the_holder_or_a_lead_decides(self) -> None:
        for who, holder in self.decided_by:
            assert who in (holder, "lead")

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
