"""The request lifecycle as data: the one table every other part is derived from.

This module only describes: each row names its roles, inputs and guards, and each guard
says how it explains a refusal. The machine (:mod:`workflows.machine`) is built from the
table and is the only thing that decides; the buttons a page shows, the API's
``allowed_actions`` and the diagram in ``docs/ARCHITECTURE.md`` are all derived from it.
Nowhere else lists transitions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from workflows.decisions import ItemTally, derive_resolution
from workflows.roles import Role
from workflows.states import OPEN_STATES, RequestState, Resolution

S = RequestState


@dataclass(frozen=True)
class Facts:
    """What the guards may look at, gathered by the caller from the database."""

    tally: ItemTally = field(default_factory=ItemTally)
    resolution: Resolution | None = None
    dispute_window_open: bool = True
    decisions_changed_since_dispute: bool = False
    #: Filed urgent or emergency with nobody but the filer told (no second channel).
    out_of_band_needed: bool = False
    #: A reviewer recorded that the agency confirmed it through another channel.
    out_of_band_confirmed: bool = False
    #: A removal order under the EU terrorist-content regulation (it must be given effect
    #: in all Member States: Reg. 2021/784 Art. 3).
    tco_order: bool = False
    #: Its acted-on items given effect in fewer places than the EEA with no reason
    #: recorded (counted only for a TCO order while its items can be decided).
    narrow_scopes_unexplained: int = 0
    #: A reviewer holds the request (it was claimed and not unassigned since).
    claimed: bool = False


@dataclass(frozen=True)
class Guard:
    """A named predicate on (state, facts) with the message shown when it fails."""

    name: str
    check: Callable[[RequestState, Facts], bool]
    explain: Callable[[RequestState, Facts], str]


def _all_items_decided(state: RequestState, facts: Facts) -> bool:
    return facts.tally.all_decided


def _any_item_acted(state: RequestState, facts: Facts) -> bool:
    return facts.tally.acted > 0


def _no_item_acted(state: RequestState, facts: Facts) -> bool:
    return facts.tally.acted == 0


def _disputable_outcome(state: RequestState, facts: Facts) -> bool:
    # A closed request can be disputed only when it was declined, not when it was
    # withdrawn by the agency or closed after the platform complied.
    return state is S.ACTIONED or facts.resolution is Resolution.DECLINED


def _within_dispute_window(state: RequestState, facts: Facts) -> bool:
    return facts.dispute_window_open


def _decisions_changed(state: RequestState, facts: Facts) -> bool:
    return facts.decisions_changed_since_dispute


def _out_of_band_confirmed(state: RequestState, facts: Facts) -> bool:
    # Only the account that filed it has heard of this urgent request: before the platform
    # acts on it, someone at the agency must confirm it through another channel.
    return not facts.out_of_band_needed or facts.out_of_band_confirmed


def _tco_scope_explained(state: RequestState, facts: Facts) -> bool:
    # A TCO removal order is complied with by removing or disabling the content in every
    # Member State; an item given effect in fewer places needs its reason on the record.
    # Upholding a dispute in which no decision changed keeps the outcome as it was
    # actioned (checked then, or decided before scopes were recorded).
    if state is S.DISPUTED and not facts.decisions_changed_since_dispute:
        return True
    return not facts.tco_order or facts.narrow_scopes_unexplained == 0


ALL_ITEMS_DECIDED = Guard(
    "all_items_decided",
    _all_items_decided,
    lambda s, f: f"every item needs a decision first: {f.tally.pending} of "
    f"{f.tally.total} are still pending",
)
ANY_ITEM_ACTED = Guard(
    "any_item_acted",
    _any_item_acted,
    lambda s, f: "at least one item must be acted on; to act on none, decline the request",
)
NO_ITEM_ACTED = Guard(
    "no_item_acted",
    _no_item_acted,
    lambda s, f: f"{f.tally.acted} items have an action decision; change them to no_action "
    "or action the request instead",
)
DISPUTABLE_OUTCOME = Guard(
    "disputable_outcome",
    _disputable_outcome,
    lambda s, f: "only an actioned or declined request can be disputed; this one was "
    f"closed as {f.resolution.value if f.resolution else 'unresolved'}",
)
WITHIN_DISPUTE_WINDOW = Guard(
    "within_dispute_window",
    _within_dispute_window,
    lambda s, f: "the dispute window for this request has ended",
)
DECISIONS_CHANGED = Guard(
    "decisions_changed",
    _decisions_changed,
    lambda s, f: "revising needs at least one item decision changed since the dispute; "
    "otherwise uphold the outcome",
)

OUT_OF_BAND_CONFIRMED = Guard(
    "out_of_band_confirmed",
    _out_of_band_confirmed,
    lambda s, f: "nobody at the agency but the filer was told of this urgent request (no "
    "second channel); record the agency's out-of-band confirmation first",
)

CLAIMED = Guard(
    "claimed",
    lambda s, f: f.claimed,
    lambda s, f: "nobody holds this request; there is no reviewer to unassign",
)
UNCLAIMED = Guard(
    "unclaimed",
    lambda s, f: not f.claimed,
    lambda s, f: "a reviewer holds this request already; a lead reviewer or a liaison can "
    "reassign it",
)

TCO_SCOPE_EXPLAINED = Guard(
    "tco_scope_explained",
    _tco_scope_explained,
    lambda s, f: f"{f.narrow_scopes_unexplained} items of this terrorist-content removal "
    "order are given effect in fewer places than the EEA with no reason recorded; widen "
    "their scope or record why",
)


@dataclass(frozen=True)
class Transition:
    """One row of DESIGN.md §3.

    ``owner_only`` means an agency official may fire it only on a request filed by their
    own agency. ``claimed_only`` means a reviewer may fire it on a request another reviewer
    holds only as a lead reviewer; ``lead_only`` that a reviewer must be a lead reviewer
    (the row's other roles, a liaison, need not be). ``inputs`` are the free-text fields
    the trigger needs (non-blank). ``outcome`` says what resolution the request records on
    arrival: ``"derived"`` from the item decisions, ``"withdrawn"``, or ``None``
    (unchanged). A ``dest`` of ``None`` leaves the state as it is (who holds the request
    changes, not where it stands).
    """

    trigger: str
    sources: tuple[RequestState, ...]
    dest: RequestState | None
    roles: frozenset[Role]
    owner_only: bool = False
    claimed_only: bool = False
    lead_only: bool = False
    inputs: tuple[str, ...] = ()
    guards: tuple[Guard, ...] = ()
    outcome: str | None = None
    summary: str = ""


_REVIEWER = frozenset({Role.LEGAL_REVIEWER})
_AGENCY = frozenset({Role.AGENCY_OFFICIAL})
#: Who hands a request from one reviewer to another: a lead reviewer (``lead_only``), or a
#: platform liaison, who watches every clock and sees who is away.
_ASSIGNERS = frozenset({Role.LEGAL_REVIEWER, Role.PLATFORM_LIAISON})
#: States in which a reviewer holds a request: from the review's beginning until it is
#: actioned or closed, and again while it is disputed.
HELD_STATES: tuple[RequestState, ...] = (S.LEGAL_REVIEW, S.AWAITING_INFO, S.DISPUTED)

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        "begin_review", (S.RECEIVED,), S.LEGAL_REVIEW, _REVIEWER,
        summary="a reviewer takes the request (assigns themself)",
    ),
    Transition(
        "request_info", (S.LEGAL_REVIEW,), S.AWAITING_INFO, _REVIEWER, claimed_only=True,
        inputs=("question",),
        summary="ask the agency a question; the resolve clock pauses",
    ),
    Transition(
        "provide_info", (S.AWAITING_INFO,), S.LEGAL_REVIEW, _AGENCY, owner_only=True,
        inputs=("answer",),
        summary="the agency answers; the clock resumes or restarts per policy",
    ),
    Transition(
        "action", (S.LEGAL_REVIEW,), S.ACTIONED, _REVIEWER, claimed_only=True,
        guards=(OUT_OF_BAND_CONFIRMED, ALL_ITEMS_DECIDED, ANY_ITEM_ACTED,
                TCO_SCOPE_EXPLAINED), outcome="derived",
        summary="every item decided, at least one acted on; confirmed out of band when "
        "nobody else at the agency was told; a TCO order's items in the whole EEA, or "
        "a reason recorded",
    ),
    Transition(
        "decline", (S.LEGAL_REVIEW,), S.CLOSED, _REVIEWER, claimed_only=True,
        inputs=("reason", "no_action_reason"), guards=(NO_ITEM_ACTED,), outcome="derived",
        summary="no item acted on (pending items become no_action with the reason and "
        "its code from the fixed list)",
    ),
    Transition(
        "withdraw", (S.RECEIVED, S.LEGAL_REVIEW, S.AWAITING_INFO), S.CLOSED, _AGENCY,
        owner_only=True, inputs=("reason",), outcome="withdrawn",
        summary="the agency withdraws its request",
    ),
    Transition(
        "dispute", (S.ACTIONED, S.CLOSED), S.DISPUTED, _AGENCY, owner_only=True,
        inputs=("reason",), guards=(DISPUTABLE_OUTCOME, WITHIN_DISPUTE_WINDOW),
        summary="the agency contests an actioned or declined outcome, within the window",
    ),
    Transition(
        "revise", (S.DISPUTED,), S.ACTIONED, _REVIEWER, claimed_only=True,
        guards=(OUT_OF_BAND_CONFIRMED, DECISIONS_CHANGED, ALL_ITEMS_DECIDED, ANY_ITEM_ACTED,
                TCO_SCOPE_EXPLAINED),
        outcome="derived",
        summary="the reviewer changes item decisions (confirmed out of band and a TCO "
        "order's scope explained, as for action)",
    ),
    Transition(
        "uphold", (S.DISPUTED,), S.CLOSED, _REVIEWER, claimed_only=True, inputs=("reason",),
        guards=(TCO_SCOPE_EXPLAINED,), outcome="derived",
        summary="the reviewer keeps the outcome (a TCO order's scope explained if a "
        "decision changed in the dispute)",
    ),
    Transition(
        "close", (S.ACTIONED,), S.CLOSED, frozenset({Role.PLATFORM_LIAISON, Role.SYSTEM}),
        outcome="derived",
        summary="a liaison closes it, or the worker after the dispute window",
    ),
    Transition(
        "claim", HELD_STATES, None, _REVIEWER, guards=(UNCLAIMED,),
        summary="a reviewer takes a request under review that nobody holds",
    ),
    Transition(
        "unassign", HELD_STATES, None, _ASSIGNERS, claimed_only=True, guards=(CLAIMED,),
        summary="the reviewer who holds it lets it go (a lead reviewer or a liaison may "
        "unassign anyone); a reason may be given",
    ),
    Transition(
        "reassign", HELD_STATES, None, _ASSIGNERS, lead_only=True, inputs=("reviewer",),
        summary="a lead reviewer or a liaison hands it to another active reviewer; a "
        "reason may be given",
    ),
)

#: What a reviewer does to a request without moving it or its holder, checked by the
#: machine like a row of the table (its role and claim conditions) but never offered as
#: an action: deciding items, and the decisions that follow them (restorations and
#: users' notices, in any state as before; a reclassification, while the request is
#: open). Each is the holder's, a lead reviewer's, or anyone's while nobody holds it
#: (issue 13). The reviewer's item notes are no decision and stay open to every reviewer.
ACTIVITIES: tuple[Transition, ...] = (
    Transition(
        "decide_items", (S.LEGAL_REVIEW, S.DISPUTED), None, _REVIEWER, claimed_only=True,
        summary="decide items (while under review or disputed)",
    ),
    Transition(
        "record_after_effects", tuple(RequestState), None, _REVIEWER, claimed_only=True,
        summary="record that acted-on items were restored, or their users told or the "
        "notice deferred (in any state)",
    ),
    Transition(
        "reclassify", tuple(s for s in RequestState if s in OPEN_STATES), None, _REVIEWER,
        claimed_only=True,
        summary="change the category or priority (while the request is open)",
    ),
)

BY_TRIGGER: Mapping[str, Transition] = {t.trigger: t for t in TRANSITIONS}
#: Every row the machine holds: the lifecycle's and the activities'.
ALL_ROWS: Mapping[str, Transition] = {t.trigger: t for t in (*TRANSITIONS, *ACTIVITIES)}

#: States in which reviewers may change item decisions.
DECIDABLE_STATES: frozenset[RequestState] = frozenset({S.LEGAL_REVIEW, S.DISPUTED})


class TransitionError(Exception):
    """A trigger was refused. ``code`` is stable (API errors, translations)."""

    code = "transition_refused"

    def __init__(self, trigger: str, state: RequestState | None, message: str) -> None:
        super().__init__(message)
        self.trigger = trigger
        self.state = state
        self.message = message


class UnknownTrigger(TransitionError):
    code = "unknown_trigger"


class NotPermitted(TransitionError):
    code = "not_permitted"


class NotAssignee(NotPermitted):
    """Another reviewer holds the request: only they or a lead reviewer may act on it."""

    code = "not_assignee"


class IllegalTransition(TransitionError):
    code = "illegal_transition"


class MissingInput(TransitionError):
    code = "missing_input"

    def __init__(self, trigger: str, state: RequestState | None, field_name: str) -> None:
        super().__init__(trigger, state, f"'{trigger}' needs a non-empty {field_name}")
        self.field = field_name


class GuardFailed(TransitionError):
    """A guard did not hold; ``facts`` are what it looked at (pages word the refusal with
    them, without asking the database again)."""

    code = "guard_failed"

    def __init__(self, trigger: str, state: RequestState, guard: Guard, facts: Facts) -> None:
        super().__init__(trigger, state, f"cannot {trigger}: {guard.explain(state, facts)}")
        self.guard = guard.name
        self.facts = facts


def resolution_after(
    transition: Transition, tally: ItemTally, current: Resolution | None
) -> Resolution | None:
    """The resolution a request records after ``transition``, given its items then.

    Raises:
        ValueError: for a derived outcome while items are still pending (the guards of
            every such transition rule that out).
    """
    if transition.outcome == "withdrawn":
        return Resolution.WITHDRAWN
    if transition.outcome == "derived":
        return derive_resolution(tally)
    return current


def lookup(trigger: str) -> Transition:
    """Return the table row (or activity) for ``trigger``.

    Raises:
        UnknownTrigger: if no transition has that name.
    """
    try:
        return ALL_ROWS[trigger]
    except KeyError:
        raise UnknownTrigger(trigger, None, f"'{trigger}' is not an action") from None


def is_permitted(transition: Transition, role: Role, is_owner: bool) -> bool:
    """Role and ownership rule: may this kind of user fire this transition at all?"""
    if role not in transition.roles:
        return False
    return not (transition.owner_only and role is Role.AGENCY_OFFICIAL and not is_owner)
