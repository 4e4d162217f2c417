"""The lifecycle machine: the one place that decides whether a trigger may fire.

The ``transitions`` machine is built once per thread from :data:`request_flow.TRANSITIONS`,
and everything the table says about a trigger is one of its **conditions**: the role,
ownership, each required input and each guard (in that order). Firing a trigger is asking
the machine; a refusal is the first condition that said no, worded from the same table
row. :func:`options` lists what an actor may do now by asking the same machine
(``may_<trigger>``), so buttons, the API's ``allowed_actions`` and the transition itself
can never disagree.

Why this shape (DESIGN.md §3, measured with transitions 0.9.3): building a ``Machine``
costs ~80 µs, binding a model ~28 µs, but ``add_model`` grows with the models still
attached and is not thread-safe. So each thread keeps one machine, binds one short-lived
:class:`Attempt` per operation and always unbinds it. The attempt is a plain object rather
than the ORM row because transitions silently skips triggers whose names clash with model
attributes and leaves its helpers on the object after ``remove_model``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from transitions import EventData, Machine, MachineError

from workflows.request_flow import (
    ACTIVITIES,
    BY_TRIGGER,
    TRANSITIONS,
    Facts,
    Guard,
    GuardFailed,
    IllegalTransition,
    MissingInput,
    NotAssignee,
    NotPermitted,
    Transition,
    TransitionError,
    UnknownTrigger,
    is_permitted,
    lookup,
)
from workflows.roles import Role
from workflows.states import RequestState


class Attempt:
    """One actor's attempt at a trigger: what the machine moves and its conditions judge.

    ``inputs`` of ``None`` means "not given yet": listing what an actor may do does not
    judge the texts a form will ask for. ``holds_claim`` says the actor is the reviewer
    who holds the request, ``lead`` that the actor is a lead reviewer. ``refusal`` is set
    by the first condition that fails.
    """

    def __init__(self, state: RequestState, role: Role, is_owner: bool,
                 inputs: Mapping[str, str] | None, facts: Facts, *,
                 holds_claim: bool = False, lead: bool = False) -> None:
        self.state = state.value
        self.role = role
        self.is_owner = is_owner
        self.inputs = inputs
        self.facts = facts
        self.holds_claim = holds_claim
        self.lead = lead
        self.refusal: TransitionError | None = None


Condition = Callable[[EventData], bool]


#: What a reviewer who does not hold a request was refused, where the trigger's name
#: alone does not say it (the API's problem detail reads "… may <this>").
_HOLDER_WORK = {
    "decide_items": "decide its items",
    "record_after_effects": "record restorations or users' notices on it",
}


def _attempt(event: EventData) -> Attempt:
    model = event.model
    assert isinstance(model, Attempt)
    return model


def _refuse(event: EventData, error: TransitionError) -> bool:
    _attempt(event).refusal = error
    return False


def _role_condition(t: Transition) -> Condition:
    def role_may_fire(event: EventData) -> bool:
        attempt = _attempt(event)
        if attempt.role in t.roles:
            return True
        return _refuse(event, NotPermitted(
            t.trigger, RequestState(attempt.state),
            f"a {attempt.role.value} may not {t.trigger} a request"))

    return role_may_fire


def _owner_condition(t: Transition) -> Condition:
    def filed_by_own_agency(event: EventData) -> bool:
        attempt = _attempt(event)
        if is_permitted(t, attempt.role, attempt.is_owner):
            return True
        return _refuse(event, NotPermitted(
            t.trigger, RequestState(attempt.state),
            f"only the filing agency may {t.trigger} this request"))

    return filed_by_own_agency


def _claim_condition(t: Transition) -> Condition:
    def holder_or_lead(event: EventData) -> bool:
        # A request another reviewer holds is theirs to decide: a second reviewer acting
        # on it at the same time would decide items twice or answer over them.
        attempt = _attempt(event)
        if (attempt.role is not Role.LEGAL_REVIEWER or not attempt.facts.claimed
                or attempt.holds_claim or attempt.lead):
            return True
        return _refuse(event, NotAssignee(
            t.trigger, RequestState(attempt.state),
            f"another reviewer holds this request: only they or a lead reviewer may "
            f"{_HOLDER_WORK.get(t.trigger, t.trigger.replace('_', ' ') + ' it')}"))

    return holder_or_lead


def _lead_condition(t: Transition) -> Condition:
    def lead_reviewer(event: EventData) -> bool:
        attempt = _attempt(event)
        if attempt.role is not Role.LEGAL_REVIEWER or attempt.lead:
            return True
        return _refuse(event, NotPermitted(
            t.trigger, RequestState(attempt.state),
            f"only a lead reviewer or a platform liaison may {t.trigger} a request"))

    return lead_reviewer


def _input_condition(t: Transition, name: str) -> Condition:
    def input_given(event: EventData) -> bool:
        attempt = _attempt(event)
        if attempt.inputs is None or str(attempt.inputs.get(name) or "").strip():
            return True
        return _refuse(event, MissingInput(t.trigger, RequestState(attempt.state), name))

    input_given.__name__ = f"{name}_given"
    return input_given


def _guard_condition(t: Transition, guard: Guard) -> Condition:
    def guard_holds(event: EventData) -> bool:
        attempt = _attempt(event)
        state = RequestState(attempt.state)
        if guard.check(state, attempt.facts):
            return True
        return _refuse(event, GuardFailed(t.trigger, state, guard, attempt.facts))

    guard_holds.__name__ = guard.name
    return guard_holds


def conditions_of(t: Transition) -> list[Condition]:
    """Everything the table row says must hold, as machine conditions, in the order a
    refusal is explained: role, ownership, who holds the request, inputs, guards."""
    found = [_role_condition(t)]
    if t.owner_only:
        found.append(_owner_condition(t))
    if t.claimed_only:
        found.append(_claim_condition(t))
    if t.lead_only:
        found.append(_lead_condition(t))
    found += [_input_condition(t, name) for name in t.inputs]
    found += [_guard_condition(t, guard) for guard in t.guards]
    return found


def build_machine() -> Machine:
    """A new machine holding the whole table and the activities, each row with its
    conditions (a row without a destination is an internal transition: the state
    stays)."""
    transitions = [
        {
            "trigger": t.trigger,
            "source": [s.value for s in t.sources],
            "dest": t.dest.value if t.dest is not None else None,
            "conditions": conditions_of(t),
        }
        for t in (*TRANSITIONS, *ACTIVITIES)
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


def _wrong_state(trigger: str, state: RequestState, role: Role,
                 is_owner: bool) -> TransitionError:
    """Why the machine has no such transition from ``state``. Who may fire it at all is
    said first: a reader is never told about states of an action they cannot take."""
    t = lookup(trigger)
    if role not in t.roles:
        return NotPermitted(trigger, state, f"a {role.value} may not {trigger} a request")
    if not is_permitted(t, role, is_owner):
        return NotPermitted(trigger, state, f"only the filing agency may {trigger} this request")
    allowed = ", ".join(s.value for s in t.sources)
    return IllegalTransition(
        trigger, state, f"cannot {trigger} a request that is {state.value} (only from: {allowed})")


def fire(
    state: RequestState,
    trigger: str,
    *,
    role: Role,
    is_owner: bool,
    inputs: Mapping[str, str] | None = None,
    facts: Facts | None = None,
    holds_claim: bool = False,
    lead: bool = False,
) -> RequestState:
    """Fire ``trigger`` from ``state`` for this actor on the machine; return the new state
    (the same state for a row without a destination, and for an activity).

    Nothing is changed by this function: the caller stores the returned state together
    with the audit event in one transaction.

    Raises:
        UnknownTrigger: the machine has no such trigger.
        NotPermitted: the role may not fire it, or the request belongs to another agency;
            ``NotAssignee`` when another reviewer holds the request.
        IllegalTransition: the trigger does not leave ``state``.
        MissingInput: a required input is missing or blank.
        GuardFailed: a guard of the table does not hold for ``facts``.
    """
    m = machine()
    if trigger not in m.events:
        raise UnknownTrigger(trigger, None, f"'{trigger}' is not an action")
    attempt = Attempt(state, role, is_owner, dict(inputs or {}), facts or Facts(),
                      holds_claim=holds_claim, lead=lead)
    m.add_model(attempt, initial=state.value)
    try:
        moved = m.events[trigger].trigger(attempt)
    except MachineError:
        raise _wrong_state(trigger, state, role, is_owner) from None
    finally:
        m.remove_model(attempt)
    if not moved:
        assert attempt.refusal is not None, f"{trigger} refused with no condition failing"
        raise attempt.refusal
    return RequestState(attempt.state)


@dataclass(frozen=True)
class Option:
    """A trigger the actor's role may fire from the state, and why not now (if not)."""

    trigger: str
    refusal: TransitionError | None = None

    @property
    def possible(self) -> bool:
        return self.refusal is None


def options(state: RequestState, *, role: Role, is_owner: bool,
            facts: Facts | None = None, holds_claim: bool = False,
            lead: bool = False) -> list[Option]:
    """What this actor may do from ``state``, in table order, asked of the machine.

    Triggers the role (or ownership) rules out are left out; the others carry the guard
    refusal the machine gives now, if any. Inputs are not judged: a form asks for them.
    Activities (deciding items) are not options: :func:`refusal` answers for them.

    The machine's own transitions and conditions are evaluated, as ``may_<trigger>``
    would, but without binding the attempt to the machine: binding adds every trigger and
    helper to the object, which cost three times the answer on the API's hottest read.
    The answer depends on these arguments alone (the facts are a frozen value), so it is
    remembered for the last few thousand of them: most calls ask about the same handful.
    """
    return list(_options(state, role, is_owner, facts or Facts(), holds_claim, lead))


@functools.lru_cache(maxsize=4096)
def _options(state: RequestState, role: Role, is_owner: bool, facts: Facts,
             holds_claim: bool, lead: bool) -> tuple[Option, ...]:
    m = machine()
    attempt = Attempt(state, role, is_owner, None, facts,
                      holds_claim=holds_claim, lead=lead)
    source = m.get_state(state.value)
    found = []
    for trigger in m.get_triggers(state.value):
        if trigger not in BY_TRIGGER:
            continue
        event = m.events[trigger]
        attempt.refusal = None
        data = EventData(source, event, m, attempt, args=(), kwargs={})
        if any(all(condition.check(data) for condition in transition.conditions)
               for transition in event.transitions[state.value]):
            found.append(Option(trigger))
        elif not isinstance(attempt.refusal, NotPermitted):
            found.append(Option(trigger, attempt.refusal))
    return tuple(found)


def refusal(state: RequestState, trigger: str, *, role: Role, is_owner: bool,
            facts: Facts | None = None, holds_claim: bool = False,
            lead: bool = False) -> TransitionError | None:
    """Why the machine would refuse ``trigger`` now (inputs aside), or ``None``: asked by
    pages that show a form for an activity only to those who may use it.

    Raises:
        UnknownTrigger: the machine has no such trigger.
    """
    m = machine()
    if trigger not in m.events:
        raise UnknownTrigger(trigger, None, f"'{trigger}' is not an action")
    event = m.events[trigger]
    if state.value not in event.transitions:
        return _wrong_state(trigger, state, role, is_owner)
    attempt = Attempt(state, role, is_owner, None, facts or Facts(),
                      holds_claim=holds_claim, lead=lead)
    data = EventData(m.get_state(state.value), event, m, attempt, args=(), kwargs={})
    for transition in event.transitions[state.value]:
        attempt.refusal = None
        if all(condition.check(data) for condition in transition.conditions):
            return None
    return attempt.refusal


def possible_triggers(state: RequestState, *, role: Role, is_owner: bool,
                      facts: Facts | None = None, holds_claim: bool = False,
                      lead: bool = False) -> tuple[str, ...]:
    """The triggers this actor may fire now (every condition but the inputs holds)."""
    return tuple(o.trigger for o in options(state, role=role, is_owner=is_owner, facts=facts,
                                            holds_claim=holds_claim, lead=lead)
                 if o.possible)
