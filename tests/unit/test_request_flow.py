"""The lifecycle table, the machine and the role rules, without Flask or a database."""

from __future__ import annotations

import itertools
import logging

import pytest

from workflows import machine
from workflows.decisions import ItemTally
from workflows.request_flow import (
    BY_TRIGGER,
    TRANSITIONS,
    Facts,
    GuardFailed,
    IllegalTransition,
    MissingInput,
    NotPermitted,
    UnknownTrigger,
    resolution_after,
)
from workflows.roles import Role
from workflows.states import RequestState, Resolution

S = RequestState

#: Facts under which every guard of every transition holds.
GOOD_FACTS = {
    "action": Facts(tally=ItemTally(3, 0, 2, 1)),
    "revise": Facts(tally=ItemTally(3, 0, 3, 0), decisions_changed_since_dispute=True),
    "decline": Facts(tally=ItemTally(3, 1, 0, 2)),
    "dispute": Facts(resolution=Resolution.DECLINED, dispute_window_open=True),
    "unassign": Facts(claimed=True),
}
INPUTS = {"reason": "because", "question": "which order?", "answer": "this one",
          "no_action_reason": "not_unlawful", "reviewer": "7"}
#: These tests act as the reviewer who holds the request and leads (the claim rules have
#: their own table in test_machine_decides.py).
HOLDER = {"holds_claim": True, "lead": True}

LEGAL = [(t, source) for t in TRANSITIONS for source in t.sources]


def _role_for(trigger: str) -> Role:
    return sorted(BY_TRIGGER[trigger].roles)[0]


@pytest.mark.parametrize(("transition", "source"), LEGAL,
                         ids=[f"{t.trigger}-from-{s.value}" for t, s in LEGAL])
def test_every_legal_transition_reaches_its_destination(transition, source):
    role = _role_for(transition.trigger)
    new_state = machine.fire(
        source, transition.trigger, role=role, is_owner=True,
        inputs=INPUTS, facts=GOOD_FACTS.get(transition.trigger, Facts()), **HOLDER,
    )
    assert new_state is (transition.dest or source)


def test_the_table_matches_the_design():
    as_rows = {(t.trigger, tuple(sorted(s.value for s in t.sources)),
                t.dest.value if t.dest else None) for t in TRANSITIONS}
    assert as_rows == {
        ("begin_review", ("received",), "legal_review"),
        ("request_info", ("legal_review",), "awaiting_info"),
        ("provide_info", ("awaiting_info",), "legal_review"),
        ("action", ("legal_review",), "actioned"),
        ("decline", ("legal_review",), "closed"),
        ("withdraw", ("awaiting_info", "legal_review", "received"), "closed"),
        ("dispute", ("actioned", "closed"), "disputed"),
        ("revise", ("disputed",), "actioned"),
        ("uphold", ("disputed",), "closed"),
        ("close", ("actioned",), "closed"),
        # Who holds the request changes; where it stands does not.
        ("claim", ("awaiting_info", "disputed", "legal_review"), None),
        ("unassign", ("awaiting_info", "disputed", "legal_review"), None),
        ("reassign", ("awaiting_info", "disputed", "legal_review"), None),
    }


ALL_COMBINATIONS = list(itertools.product(S, TRANSITIONS, Role, (True, False)))


@pytest.mark.parametrize(
    ("state", "transition", "role", "is_owner"),
    ALL_COMBINATIONS,
    ids=[f"{s.value}-{t.trigger}-{r.value}-{'owner' if o else 'other'}"
         for s, t, r, o in ALL_COMBINATIONS],
)
def test_every_combination_is_allowed_or_refused_with_a_clear_error(
    state, transition, role, is_owner
):
    permitted = role in transition.roles and not (
        transition.owner_only and role is Role.AGENCY_OFFICIAL and not is_owner
    )
    facts = GOOD_FACTS.get(transition.trigger, Facts())
    if permitted and state in transition.sources:
        assert machine.fire(state, transition.trigger, role=role, is_owner=is_owner,
                            inputs=INPUTS, facts=facts, **HOLDER) is (transition.dest or state)
        return
    expected = NotPermitted if not permitted else IllegalTransition
    with pytest.raises(expected) as refused:
        machine.fire(state, transition.trigger, role=role, is_owner=is_owner,
                     inputs=INPUTS, facts=facts, **HOLDER)
    message = refused.value.message
    assert transition.trigger in message
    if expected is IllegalTransition:
        assert state.value in message
    elif role not in transition.roles:
        assert role.value in message
    else:
        assert "filing agency" in message


def test_unknown_trigger_is_refused_by_name():
    with pytest.raises(UnknownTrigger, match="'explode' is not an action"):
        machine.fire(S.RECEIVED, "explode", role=Role.ADMIN, is_owner=False)


@pytest.mark.parametrize(("trigger", "source", "field"), [
    ("request_info", S.LEGAL_REVIEW, "question"),
    ("provide_info", S.AWAITING_INFO, "answer"),
    ("decline", S.LEGAL_REVIEW, "reason"),
    ("withdraw", S.RECEIVED, "reason"),
    ("dispute", S.ACTIONED, "reason"),
    ("uphold", S.DISPUTED, "reason"),
])
@pytest.mark.parametrize("given", [{}, {"question": "", "answer": "  ", "reason": "\n"}])
def test_required_inputs_must_be_given_and_not_blank(trigger, source, field, given):
    with pytest.raises(MissingInput) as refused:
        machine.fire(source, trigger, role=_role_for(trigger), is_owner=True,
                     inputs=given, facts=GOOD_FACTS.get(trigger, Facts()))
    assert refused.value.field == field
    assert field in refused.value.message


@pytest.mark.parametrize(("trigger", "source", "facts", "guard", "words"), [
    ("action", S.LEGAL_REVIEW, Facts(tally=ItemTally(10, 4, 6, 0)), "all_items_decided",
     "4 of 10 are still pending"),
    ("action", S.LEGAL_REVIEW, Facts(tally=ItemTally(2, 0, 0, 2)), "any_item_acted",
     "decline"),
    ("action", S.LEGAL_REVIEW, Facts(tally=ItemTally()), "all_items_decided", "0 of 0"),
    ("decline", S.LEGAL_REVIEW, Facts(tally=ItemTally(5, 0, 1, 4)), "no_item_acted",
     "1 items have an action decision"),
    ("dispute", S.CLOSED, Facts(resolution=Resolution.WITHDRAWN), "disputable_outcome",
     "withdrawn"),
    ("dispute", S.CLOSED, Facts(resolution=Resolution.COMPLIED), "disputable_outcome",
     "complied"),
    ("dispute", S.ACTIONED, Facts(dispute_window_open=False), "within_dispute_window",
     "window"),
    ("revise", S.DISPUTED, Facts(tally=ItemTally(1, 0, 1, 0)), "decisions_changed",
     "uphold"),
    ("revise", S.DISPUTED,
     Facts(tally=ItemTally(2, 0, 0, 2), decisions_changed_since_dispute=True),
     "any_item_acted", "at least one item"),
    ("action", S.LEGAL_REVIEW, Facts(tally=ItemTally(3, 0, 2, 1), out_of_band_needed=True),
     "out_of_band_confirmed", "no second channel"),
    # The confirmation is asked for first: before anything, is it the agency's request?
    ("action", S.LEGAL_REVIEW, Facts(tally=ItemTally(3, 3, 0, 0), out_of_band_needed=True),
     "out_of_band_confirmed", "out-of-band confirmation"),
    ("revise", S.DISPUTED,
     Facts(tally=ItemTally(3, 0, 3, 0), decisions_changed_since_dispute=True,
           out_of_band_needed=True),
     "out_of_band_confirmed", "no second channel"),
])
def test_guards_refuse_with_a_specific_reason(trigger, source, facts, guard, words):
    with pytest.raises(GuardFailed) as refused:
        machine.fire(source, trigger, role=_role_for(trigger), is_owner=True,
                     inputs=INPUTS, facts=facts)
    assert refused.value.guard == guard
    assert words in refused.value.message


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("is_owner", [True, False])
def test_options_are_exactly_what_fire_accepts(state, role, is_owner):
    expected = []
    for t in TRANSITIONS:
        try:
            machine.fire(state, t.trigger, role=role, is_owner=is_owner, inputs=INPUTS,
                         facts=GOOD_FACTS.get(t.trigger, Facts()), **HOLDER)
        except (NotPermitted, IllegalTransition):
            continue
        expected.append(t.trigger)
    assert [o.trigger for o in machine.options(state, role=role, is_owner=is_owner,
                                               **HOLDER)] == expected


def test_roles_are_separated():
    # A liaison never decides; an agency never acts for the platform; admins do neither.
    for t in TRANSITIONS:
        if Role.AGENCY_OFFICIAL in t.roles:
            assert t.owner_only and t.roles == {Role.AGENCY_OFFICIAL}
    for state in S:
        assert machine.options(state, role=Role.ADMIN, is_owner=True) == []
    # A liaison hands requests between reviewers (and sees why nobody can be unassigned
    # from one nobody holds), but decides nothing.
    assert [o.trigger for o in machine.options(S.LEGAL_REVIEW, role=Role.PLATFORM_LIAISON,
                                               is_owner=False)] == ["unassign", "reassign"]
    assert machine.possible_triggers(S.ACTIONED, role=Role.PLATFORM_LIAISON,
                                     is_owner=False) == ("close",)


@pytest.mark.parametrize(("trigger", "tally", "current", "expected"), [
    ("action", ItemTally(2, 0, 2, 0), None, Resolution.COMPLIED),
    ("action", ItemTally(2, 0, 1, 1), None, Resolution.PARTIALLY_COMPLIED),
    ("decline", ItemTally(2, 0, 0, 2), None, Resolution.DECLINED),
    ("withdraw", ItemTally(2, 2, 0, 0), None, Resolution.WITHDRAWN),
    ("dispute", ItemTally(2, 0, 2, 0), Resolution.COMPLIED, Resolution.COMPLIED),
    ("begin_review", ItemTally(2, 2, 0, 0), None, None),
])
def test_resolution_after_each_outcome(trigger, tally, current, expected):
    assert resolution_after(BY_TRIGGER[trigger], tally, current) is expected


def test_machine_is_shared_per_thread_and_left_empty(caplog):
    caplog.set_level(logging.WARNING, logger="transitions")
    m = machine.machine()
    for _ in range(3):
        machine.fire(S.RECEIVED, "begin_review", role=Role.LEGAL_REVIEWER, is_owner=False)
    assert machine.machine() is m
    assert m.models == []
    # transitions only logs (never raises) when a trigger clashes with a model attribute.
    assert not [r for r in caplog.records if r.name.startswith("transitions")]
