"""Item decisions the law can read, and the resolution they add up to.

A decision records what was done to one target (the **action**), where (its territorial
scope, :mod:`workflows.territory`), on what **ground** (a local law, with its statute and
article, or the platform's own rules), and when it took effect; or, for no action, why
not, from a fixed list. :func:`settle` turns what a reviewer gave into that record, with
every default and every refusal in one place, for the web form and the API alike.

The vocabulary mirrors the DSA Transparency Database's (``decision_visibility`` and
``decision_account``). The first release's codes stay valid: they are stored on the
decisions made before and still accepted, each the same as one of the new actions
(:data:`LEGACY`); the resolution counts every code but ``no_action`` as acted on.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from workflows import territory
from workflows.codes import Category, RequestedAction
from workflows.states import Resolution


class Decision(StrEnum):
    """What the platform did with one target."""

    # What happened to the content's visibility.
    REMOVED = "removed"
    DISABLED = "disabled"
    WITHHELD = "withheld"
    DEMOTED = "demoted"
    AGE_RESTRICTED = "age_restricted"
    INTERACTION_RESTRICTED = "interaction_restricted"
    LABELLED = "labelled"
    # What happened to the account.
    ACCOUNT_SUSPENDED = "account_suspended"
    ACCOUNT_TERMINATED = "account_terminated"
    NO_ACTION = "no_action"
    # The first release's codes: stored on earlier decisions, and still accepted.
    WITHHELD_IN_COUNTRY = "withheld_in_country"
    ACCOUNT_READ_ONLY = "account_read_only"
    VISIBILITY_RESTRICTED = "visibility_restricted"


#: The first release's codes and the action each one is (documented in docs/API.md).
LEGACY: Mapping[Decision, Decision] = {
    Decision.WITHHELD_IN_COUNTRY: Decision.WITHHELD,
    Decision.ACCOUNT_READ_ONLY: Decision.INTERACTION_RESTRICTED,
    Decision.VISIBILITY_RESTRICTED: Decision.DEMOTED,
}

#: The vocabulary offered for new decisions, in the order forms list it.
CURRENT: tuple[Decision, ...] = tuple(d for d in Decision if d not in LEGACY)

VISIBILITY_ACTIONS: frozenset[Decision] = frozenset({
    Decision.REMOVED, Decision.DISABLED, Decision.WITHHELD, Decision.DEMOTED,
    Decision.AGE_RESTRICTED, Decision.INTERACTION_RESTRICTED, Decision.LABELLED})
ACCOUNT_ACTIONS: frozenset[Decision] = frozenset({
    Decision.ACCOUNT_SUSPENDED, Decision.ACCOUNT_TERMINATED})

#: The code of an item without a decision yet, in counts by decision and in filters.
PENDING = "pending"

#: Decisions that act on the target (everything but ``no_action``, old codes included).
ACTED_DECISIONS: frozenset[Decision] = frozenset(Decision) - {Decision.NO_ACTION}

#: Actions that take content away: a TCO order's removed items are preserved (Art. 6).
PRESERVED_ACTIONS: frozenset[Decision] = frozenset({
    Decision.REMOVED, Decision.DISABLED, Decision.WITHHELD})

#: The DSA Transparency Database's value for each action (``decision_visibility`` or
#: ``decision_account``); withheld content is content disabled in its scope.
DSA_VISIBILITY: Mapping[Decision, str] = {
    Decision.REMOVED: "DECISION_VISIBILITY_CONTENT_REMOVED",
    Decision.DISABLED: "DECISION_VISIBILITY_CONTENT_DISABLED",
    Decision.WITHHELD: "DECISION_VISIBILITY_CONTENT_DISABLED",
    Decision.DEMOTED: "DECISION_VISIBILITY_CONTENT_DEMOTED",
    Decision.AGE_RESTRICTED: "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    Decision.INTERACTION_RESTRICTED: "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    Decision.LABELLED: "DECISION_VISIBILITY_CONTENT_LABELLED",
}
DSA_ACCOUNT: Mapping[Decision, str] = {
    Decision.ACCOUNT_SUSPENDED: "DECISION_ACCOUNT_SUSPENDED",
    Decision.ACCOUNT_TERMINATED: "DECISION_ACCOUNT_TERMINATED",
}


def canonical(decision: Decision) -> Decision:
    """The action a code stands for in the current vocabulary (old codes mapped)."""
    return LEGACY.get(decision, decision)


class NoActionReason(StrEnum):
    """Why nothing was done to a target: the fixed list reports count by."""

    NOT_FOUND = "not_found"
    ALREADY_REMOVED = "already_removed"
    NOT_ENOUGH_INFORMATION = "not_enough_information"
    INVALID_ORDER = "invalid_order"
    ISSUER_NOT_COMPETENT = "issuer_not_competent"
    NOT_UNLAWFUL = "not_unlawful"
    DISPROPORTIONATE = "disproportionate"
    PENDING_COURT = "pending_court"


class Ground(StrEnum):
    """What a restriction rests on: the requesting country's law, or the platform's own
    rules (the DSA's illegal content and incompatible content)."""

    LOCAL_LAW = "local_law"
    PLATFORM_RULES = "platform_rules"


class RestoreReason(StrEnum):
    """Why an item's restriction was lifted after effect was given."""

    ORDER_ANNULLED = "order_annulled"
    COMPLAINT_UPHELD = "complaint_upheld"


class NoticeDeferral(StrEnum):
    """The legal basis on which the affected user is not told yet."""

    TCO_ART_11_3 = "tco_art_11_3"
    DSA_ART_9_5 = "dsa_art_9_5"
    COURT_GAG_ORDER = "court_gag_order"


#: How long a TCO order's removed content is preserved (Reg. 2021/784 Art. 6(2)).
PRESERVATION_MONTHS = 6

#: Longest texts: a scope's reason and a rule's or statute's name and article (as the
#: request's own legal basis), a restoration's note.
MAX_REASON = 1000
MAX_STATUTE = 300
MAX_ARTICLE = 100


# --- the record of one decision ---------------------------------------------------------------

@dataclass(frozen=True)
class Order:
    """What a decision's defaults and checks read of the request it answers."""

    jurisdiction: str
    legal_statute: str
    legal_article: str
    category: str
    requested_action: str | None
    received_at: datetime


def is_tco_order(jurisdiction: str, category: str | Category,
                 requested_action: str | RequestedAction | None) -> bool:
    """A removal order under Reg. (EU) 2021/784: terrorist content, from an EU member
    state's authority (or an EU body), asking for removal or disabling (a request to
    preserve or disclose data is not one)."""
    return (str(category) == Category.TERRORISM
            and (jurisdiction.upper() in territory.EU_MEMBER_STATES or jurisdiction == "EU")
            and requested_action not in (RequestedAction.PRESERVE_DATA,
                                         RequestedAction.DISCLOSE_DATA))


def default_scope(decision: Decision, jurisdiction: str) -> str:
    """Where an action applies when the reviewer says nothing: withheld content in the
    requesting country (what withholding means), every other action everywhere. An EU
    body's jurisdiction ("EU") withholds in the EEA."""
    if canonical(decision) is Decision.WITHHELD:
        if jurisdiction.upper() in territory.ISO_COUNTRIES:
            return jurisdiction.upper()
        return territory.EEA
    return territory.GLOBAL


def add_months(moment: datetime, months: int) -> datetime:
    """The same time ``months`` later, on the same day or the month's last one."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Terms:
    """What a reviewer gave besides the action: each blank or ``None`` takes its default
    (see :func:`settle`)."""

    territorial_scope: str | Sequence[str] | None = None
    scope_reason: str = ""
    ground: str | None = None
    ground_statute: str = ""
    ground_article: str = ""
    effect_given_at: datetime | None = None
    suspended_until: datetime | None = None
    no_action_reason: str | None = None


@dataclass(frozen=True)
class Settled:
    """A decision as it is recorded on each item it applies to."""

    decision: Decision
    territorial_scope: str | None = None
    scope_reason: str | None = None
    ground: Ground | None = None
    ground_statute: str | None = None
    ground_article: str | None = None
    effect_given_at: datetime | None = None
    suspended_until: datetime | None = None
    no_action_reason: NoActionReason | None = None
    preserved_until: datetime | None = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with what was given: the field, a stable code, a message."""

    field: str
    code: str
    message: str


@dataclass
class Rejected(ValueError):
    """What was given cannot be recorded; every problem at once."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(f"{p.field}: {p.message}" for p in self.problems)


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def _length(problems: list[Problem], name: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        problems.append(Problem(name, "too_long", f"at most {limit} characters"))
    if value is not None and "\x00" in value:
        problems.append(Problem(name, "control_characters", "contains a NUL character"))


def _aware(problems: list[Problem], name: str, value: datetime | None) -> bool:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        problems.append(Problem(name, "invalid", "give a time zone"))
        return False
    return True


def settle(decision: str, terms: Terms, order: Order, now: datetime, *,
           reason: str = "") -> Settled:
    """The record of ``decision`` with ``terms`` on an item of ``order``, decided ``now``.

    Defaults: an action's scope is :func:`default_scope`; its ground the requesting
    country's law, cited as the request cites it; effect is given ``now``. A TCO order's
    removed, disabled or withheld items are preserved for six months from the effect
    (Art. 6). For ``no_action`` the reason may be given, as the first release's clients
    did, as a code in ``reason``.

    Raises:
        Rejected: every problem: an unknown action, reason, ground or scope; a scope,
            ground, effect or end date on no action, a reason code on an action; no rule
            named for the platform's rules; a suspension without its end, or an end
            before the effect; an effect in the future or before the order was received.
    """
    problems: list[Problem] = []
    if decision not in Decision._value2member_map_:
        raise Rejected([Problem("decision", "choice", f"unknown decision {decision!r}")])
    chosen = Decision(decision)
    given_reason = _text(terms.no_action_reason)
    if chosen is Decision.NO_ACTION:
        code = given_reason or (reason.strip() if reason.strip()
                                in NoActionReason._value2member_map_ else None)
        if code is None:
            problems.append(Problem("no_action_reason", "required",
                                    "no action needs a reason from the list"))
        elif code not in NoActionReason._value2member_map_:
            problems.append(Problem("no_action_reason", "choice",
                                    f"unknown reason {code!r}"))
        not_here = {
            "territorial_scope": terms.territorial_scope not in (None, "", []),
            "scope_reason": bool(_text(terms.scope_reason)),
            "ground": bool(_text(terms.ground)),
            "ground_statute": bool(_text(terms.ground_statute)),
            "ground_article": bool(_text(terms.ground_article)),
            "effect_given_at": terms.effect_given_at is not None,
            "suspended_until": terms.suspended_until is not None,
        }
        for name, given in not_here.items():
            if given:
                problems.append(Problem(name, "not_applicable",
                                        "applies to an action, not to no action"))
        if problems:
            raise Rejected(problems)
        assert code is not None
        return Settled(chosen, no_action_reason=NoActionReason(code))

    if given_reason is not None:
        problems.append(Problem("no_action_reason", "not_applicable",
                                "a no-action reason is for no action only"))
    scope: str | None = None
    if terms.territorial_scope in (None, "", []):
        scope = default_scope(chosen, order.jurisdiction)
    else:
        try:
            scope = territory.parse_scope(terms.territorial_scope or "")
        except territory.ScopeError as exc:
            problems.append(Problem("territorial_scope", "invalid", str(exc)))
    scope_reason = _text(terms.scope_reason)
    _length(problems, "scope_reason", scope_reason, MAX_REASON)

    ground_code = _text(terms.ground) or Ground.LOCAL_LAW.value
    ground: Ground | None = None
    statute, article = _text(terms.ground_statute), _text(terms.ground_article)
    if ground_code not in Ground._value2member_map_:
        problems.append(Problem("ground", "choice", f"unknown ground {ground_code!r}"))
    else:
        ground = Ground(ground_code)
        if ground is Ground.LOCAL_LAW and statute is None and article is None:
            statute, article = _text(order.legal_statute), _text(order.legal_article)
        if ground is Ground.PLATFORM_RULES and statute is None:
            problems.append(Problem("ground_statute", "required",
                                    "name the platform rule the action rests on"))
        if ground is Ground.LOCAL_LAW and statute is None:
            problems.append(Problem("ground_statute", "required",
                                    "name the law the action rests on"))
    _length(problems, "ground_statute", statute, MAX_STATUTE)
    _length(problems, "ground_article", article, MAX_ARTICLE)

    effect = terms.effect_given_at or now
    if terms.effect_given_at is not None and _aware(problems, "effect_given_at", effect):
        if effect > now:
            problems.append(Problem("effect_given_at", "future", "this time is in the future"))
        elif effect < order.received_at:
            problems.append(Problem("effect_given_at", "before_receipt",
                                    "this time is before the request was received"))
    until = terms.suspended_until
    if canonical(chosen) is Decision.ACCOUNT_SUSPENDED:
        if until is None:
            problems.append(Problem("suspended_until", "required",
                                    "a suspension needs the time it ends"))
        elif _aware(problems, "suspended_until", until) and until <= effect:
            problems.append(Problem("suspended_until", "before_effect",
                                    "a suspension must end after it takes effect"))
    elif until is not None:
        problems.append(Problem("suspended_until", "not_applicable",
                                "an end time is for a suspension only"))
    if problems:
        raise Rejected(problems)
    preserved = None
    if canonical(chosen) in PRESERVED_ACTIONS and is_tco_order(
            order.jurisdiction, order.category, order.requested_action):
        preserved = add_months(effect, PRESERVATION_MONTHS)
    return Settled(chosen, territorial_scope=scope, scope_reason=scope_reason, ground=ground,
                   ground_statute=statute, ground_article=article, effect_given_at=effect,
                   suspended_until=until, preserved_until=preserved)


def narrower_than_eea(decision: Decision | None, scope: str | None,
                      scope_reason: str | None) -> bool:
    """An acted item given effect in fewer places than the EEA with no reason recorded:
    what a TCO order cannot be complied with (see ``tco_scope_explained``)."""
    return (decision is not None and decision is not Decision.NO_ACTION
            and not territory.covers_eea(scope) and not (scope_reason or "").strip())


# --- notices and restorations ----------------------------------------------------------------

@dataclass(frozen=True)
class Notice:
    """The affected user was told at ``notified_at``, or will be after ``deferred_until``
    on ``basis``."""

    notified_at: datetime | None = None
    deferred_until: datetime | None = None
    basis: NoticeDeferral | None = None


def settle_notice(*, notified: bool, notified_at: datetime | None,
                  deferred_until: datetime | None, basis: str | None,
                  now: datetime) -> Notice:
    """A notice to record: ``notified`` (at ``notified_at``, by default now), or deferred
    until a future time on a legal basis.

    Raises:
        Rejected: both or neither; a time in the future (notified) or past (deferred);
            no or an unknown basis for a deferral.
    """
    problems: list[Problem] = []
    code = (basis or "").strip() or None
    if notified:
        if deferred_until is not None or code is not None:
            problems.append(Problem("deferred_until", "not_applicable",
                                    "a user who was told has no deferred notice"))
        at = notified_at or now
        if _aware(problems, "notified_at", notified_at) and at > now:
            problems.append(Problem("notified_at", "future", "this time is in the future"))
        if problems:
            raise Rejected(problems)
        return Notice(notified_at=at)
    if notified_at is not None:
        problems.append(Problem("notified_at", "not_applicable",
                                "a deferred notice has no time told"))
    if deferred_until is None:
        problems.append(Problem("deferred_until", "required",
                                "give the time until which notice is deferred"))
    elif _aware(problems, "deferred_until", deferred_until) and deferred_until <= now:
        problems.append(Problem("deferred_until", "past", "this time has passed"))
    if code is None:
        problems.append(Problem("basis", "required", "give the legal basis of the deferral"))
    elif code not in NoticeDeferral._value2member_map_:
        problems.append(Problem("basis", "choice", f"unknown basis {code!r}"))
    if problems:
        raise Rejected(problems)
    assert code is not None
    return Notice(deferred_until=deferred_until, basis=NoticeDeferral(code))


@dataclass(frozen=True)
class Restoration:
    """A lifted restriction: when, why, and a note (the court's decision, the complaint)."""

    restored_at: datetime
    reason: RestoreReason
    note: str | None = None


def settle_restoration(*, reason: str | None, note: str = "",
                       restored_at: datetime | None, now: datetime) -> Restoration:
    """A restoration to record (at ``restored_at``, by default now).

    Raises:
        Rejected: no or an unknown reason; a time in the future; a note too long.
    """
    problems: list[Problem] = []
    code = (reason or "").strip() or None
    if code is None:
        problems.append(Problem("reason", "required", "give the reason for restoring"))
    elif code not in RestoreReason._value2member_map_:
        problems.append(Problem("reason", "choice", f"unknown reason {code!r}"))
    text = _text(note)
    _length(problems, "note", text, MAX_REASON)
    at = restored_at or now
    if _aware(problems, "restored_at", restored_at) and at > now:
        problems.append(Problem("restored_at", "future", "this time is in the future"))
    if problems:
        raise Rejected(problems)
    assert code is not None
    return Restoration(at, RestoreReason(code), text)


# --- counting ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemTally:
    """Counts of a request's items by decision state: the facts the guards look at."""

    total: int = 0
    pending: int = 0
    acted: int = 0
    no_action: int = 0

    @classmethod
    def of(cls, decisions: Iterable[Decision | None]) -> ItemTally:
        """Count a sequence of item decisions (``None`` is pending)."""
        total = pending = acted = no_action = 0
        for decision in decisions:
            total += 1
            if decision is None:
                pending += 1
            elif decision is Decision.NO_ACTION:
                no_action += 1
            else:
                acted += 1
        return cls(total=total, pending=pending, acted=acted, no_action=no_action)

    @classmethod
    def of_counts(cls, counts: Mapping[str, int]) -> ItemTally:
        """A tally from counts by decision code, ``"pending"`` for undecided items (as
        a request row keeps them)."""
        pending = counts.get(PENDING, 0)
        no_action = counts.get(Decision.NO_ACTION.value, 0)
        total = sum(counts.values())
        return cls(total=total, pending=pending, acted=total - pending - no_action,
                   no_action=no_action)

    @property
    def all_decided(self) -> bool:
        return self.total > 0 and self.pending == 0


def derive_resolution(tally: ItemTally) -> Resolution:
    """Return the resolution that a request's item decisions add up to.

    Raises:
        ValueError: if some items are still pending (nothing can be derived yet).
    """
    if not tally.all_decided:
        raise ValueError(f"{tally.pending} of {tally.total} items are still pending")
    if tally.acted == tally.total:
        return Resolution.COMPLIED
    if tally.acted == 0:
        return Resolution.DECLINED
    return Resolution.PARTIALLY_COMPLIED

