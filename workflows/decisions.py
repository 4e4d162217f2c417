"""Item decisions and the resolution they add up to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from workflows.states import Resolution


class Decision(StrEnum):
    """What the platform did with one target (the enforcement-options vocabulary)."""

    WITHHELD_IN_COUNTRY = "withheld_in_country"
    REMOVED = "removed"
    ACCOUNT_SUSPENDED = "account_suspended"
    ACCOUNT_READ_ONLY = "account_read_only"
    VISIBILITY_RESTRICTED = "visibility_restricted"
    LABELLED = "labelled"
    NO_ACTION = "no_action"


#: The code of an item without a decision yet, in counts by decision and in filters.
PENDING = "pending"

#: Decisions that act on the target (everything but ``no_action``).
ACTED_DECISIONS: frozenset[Decision] = frozenset(Decision) - {Decision.NO_ACTION}


class NoActionReason(StrEnum):
    """Common reasons for ``no_action``; reviewers may also write their own."""

    NOT_FOUND = "not_found"
    ALREADY_REMOVED = "already_removed"
    INSUFFICIENT_LEGAL_BASIS = "insufficient_legal_basis"
    NOT_UNLAWFUL = "not_unlawful"
    OUT_OF_SCOPE = "out_of_scope"


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
