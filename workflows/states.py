"""The states a legal request moves through, and how it ends."""

from __future__ import annotations

from enum import StrEnum


class RequestState(StrEnum):
    """Lifecycle states (DESIGN.md §3). Values are stored in the database."""

    RECEIVED = "received"
    LEGAL_REVIEW = "legal_review"
    AWAITING_INFO = "awaiting_info"
    ACTIONED = "actioned"
    DISPUTED = "disputed"
    CLOSED = "closed"


#: States in which the platform still owes the agency an answer; SLA clocks run here
#: and the queues and dashboards list them.
OPEN_STATES: frozenset[RequestState] = frozenset(
    {
        RequestState.RECEIVED,
        RequestState.LEGAL_REVIEW,
        RequestState.AWAITING_INFO,
        RequestState.DISPUTED,
    }
)


class Resolution(StrEnum):
    """The outcome recorded when a request is actioned or closed."""

    COMPLIED = "complied"
    PARTIALLY_COMPLIED = "partially_complied"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
