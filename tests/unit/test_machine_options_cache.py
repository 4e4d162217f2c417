"""The machine's options are remembered per question (workflows/machine.py): the same
answer as asking afresh, and a caller's list is its own."""

from __future__ import annotations

from workflows import machine
from workflows.decisions import ItemTally
from workflows.request_flow import Facts
from workflows.roles import Role
from workflows.states import RequestState

AGENCY = {"role": Role.AGENCY_OFFICIAL, "is_owner": True}


def test_a_remembered_answer_is_the_fresh_one_and_each_caller_gets_its_own_list():
    facts = Facts(tally=ItemTally(total=2, pending=2))
    machine._options.cache_clear()
    first = machine.options(RequestState.RECEIVED, facts=facts, **AGENCY)
    assert machine._options.cache_info().misses == 1
    first.clear()  # a caller changing its list changes nobody else's
    again = machine.options(RequestState.RECEIVED, facts=facts, **AGENCY)
    assert machine._options.cache_info().hits == 1
    machine._options.cache_clear()
    assert again == machine.options(RequestState.RECEIVED, facts=facts, **AGENCY) != []
    # Other facts (or another role, state, claim) are another question, asked afresh.
    machine._options.cache_clear()
    decided = Facts(tally=ItemTally(total=2, pending=1, acted=1))
    machine.options(RequestState.RECEIVED, facts=facts, **AGENCY)
    machine.options(RequestState.RECEIVED, facts=decided, **AGENCY)
    assert machine._options.cache_info().misses == 2
