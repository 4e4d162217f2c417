"""The lifecycle machine, built once per thread from :data:`request_flow.TRANSITIONS`.

Why this shape (DESIGN.md §3, measured with transitions 0.9.3): building a ``Machine``
costs ~80 µs, binding a model ~28 µs, but ``add_model`` grows with the models still
attached and is not thread-safe. So each thread keeps one machine, binds one short-lived
:class:`Subject` per operation and always unbinds it. The subject is a plain object rather
than the ORM row because transitions silently skips triggers whose names clash with model
attributes and leaves its helpers on the object after ``remove_model``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from transitions import EventData, Machine

from workflows.request_flow import (
    TRANSITIONS,
    Facts,
    Guard,
    GuardFailed,
    check,
    failed_guard,
    lookup,
)
from workflows.roles import Role
from workflows.states import RequestState


class Subject:
    """What the machine moves: only a state. Callers copy the result to their row."""

    def __init__(self, state: RequestState) -> None:
        self.state = state


def _condition(guard: Guard) -> Any:
    def condition(event: EventData) -> bool:
        facts = event.kwargs.get("facts") or Facts()
        return guard.check(RequestState(event.state.name), facts)

    condition.__name__ = guard.name
    return condition


def build_machine() -> Machine:
    """A new machine holding the whole table (conditions are the table's guards)."""
    transitions = [
        {
            "trigger": t.trigger,
            "source": [s.value for s in t.sources],
            "dest": t.dest.value,
            "conditions": [_condition(g) for g in t.guards],
        }
        for t in TRANSITIONS
    ]
    return Machine(
        model=None,
        states=[s.value for s in RequestState],
        transitions=transitions,
        initial=None,
        auto_transitions=False,
        send_event=True,
    )


_local = threading.local()


def machine() -> Machine:
    """This thread's machine (built on first use)."""
    found: Machine | None = getattr(_local, "machine", None)
    if found is None:
        found = _local.machine = build_machine()
    return found


def fire(
    state: RequestState,
    trigger: str,
    *,
    role: Role,
    is_owner: bool,
    inputs: Mapping[str, str] | None = None,
    facts: Facts | None = None,
) -> RequestState:
    """Fire ``trigger`` from ``state`` for this actor and return the new state.

    Nothing is changed by this function: the caller stores the returned state together
    with the audit event in one transaction.

    Raises:
        UnknownTrigger, NotPermitted, IllegalTransition, MissingInput, GuardFailed:
            as :func:`workflows.request_flow.check` describes.
    """
    facts = facts or Facts()
    check(state, trigger, role=role, is_owner=is_owner, inputs=inputs, facts=facts)
    subject = Subject(state)
    m = machine()
    m.add_model(subject, initial=state.value)
    try:
        moved = getattr(subject, trigger)(facts=facts)
    finally:
        m.remove_model(subject)
    if not moved:  # the table check passed, so only a guard can say no here
        transition = lookup(trigger)
        guard = failed_guard(transition, state, facts)
        assert guard is not None, f"machine refused {trigger} with no failing guard"
        raise GuardFailed(trigger, state, guard, facts)
    return RequestState(subject.state)
