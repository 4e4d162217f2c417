"""Who is told of what: the notification matrix as data.

Each kind of notice names the audiences it goes to; the portal turns an audience into
people (``portal/services/notices.py``). Nothing here knows about users or mail: the
table is what the documentation, the mute settings and the tests read.

Only the agency that filed a request and the platform's own staff are ever audiences:
an official of another agency is never one.
"""

from __future__ import annotations

from enum import StrEnum

from workflows.codes import Priority
from workflows.roles import Role


class NoticeKind(StrEnum):
    """What a notice is about (also the code a user mutes)."""

    REQUEST_FILED = "request_filed"
    URGENT_FILED = "urgent_filed"
    EMERGENCY_FILED = "emergency_filed"
    INFO_REQUESTED = "info_requested"
    INFO_PROVIDED = "info_provided"
    OUTCOME = "outcome"
    DISPUTED = "disputed"
    WITHDRAWN = "withdrawn"
    ASSIGNED = "assigned"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"


class Audience(StrEnum):
    """A group of people a notice can go to."""

    #: Every active legal reviewer, whatever jurisdictions they cover.
    REVIEWERS = "reviewers"
    #: The active legal reviewers who cover the request's jurisdiction, and those who
    #: cover all (a reviewer who names none); every active reviewer when none covers it,
    #: so a new request never goes untold.
    COVERING_REVIEWERS = "covering_reviewers"
    #: The reviewer who claimed the request (none before the review begins); after a
    #: reassignment, the reviewer it was handed to.
    ASSIGNEE = "assignee"
    LIAISONS = "liaisons"
    ADMINS = "admins"
    #: The active officials of the agency that filed the request, and no other agency's.
    AGENCY_OFFICIALS = "agency_officials"


#: The matrix. SLA notices escalate by threshold instead (:func:`sla_audiences`).
AUDIENCES: dict[NoticeKind, frozenset[Audience]] = {
    # A new request goes to the reviewers of its jurisdiction; an urgent one to the
    # liaisons as well, at once. An emergency goes to every reviewer whatever they cover
    # (and the liaisons): its acknowledgement is due within 15 minutes by default, and
    # whoever is at hand first must hear of it, as no mute silences it either.
    NoticeKind.REQUEST_FILED: frozenset({Audience.COVERING_REVIEWERS}),
    NoticeKind.URGENT_FILED: frozenset({Audience.COVERING_REVIEWERS, Audience.LIAISONS}),
    NoticeKind.EMERGENCY_FILED: frozenset({Audience.REVIEWERS, Audience.LIAISONS}),
    NoticeKind.INFO_REQUESTED: frozenset({Audience.AGENCY_OFFICIALS}),
    NoticeKind.INFO_PROVIDED: frozenset({Audience.ASSIGNEE}),
    NoticeKind.OUTCOME: frozenset({Audience.AGENCY_OFFICIALS}),
    NoticeKind.DISPUTED: frozenset({Audience.ASSIGNEE, Audience.LIAISONS}),
    NoticeKind.WITHDRAWN: frozenset({Audience.ASSIGNEE}),
    # Told after the handover is stored, so the assignee is the new holder; the previous
    # one and the lead or liaison who handed it on are not told.
    NoticeKind.ASSIGNED: frozenset({Audience.ASSIGNEE}),
}

#: The notice each lifecycle trigger sends (triggers not named send none).
TRIGGER_KINDS: dict[str, NoticeKind] = {
    "request_info": NoticeKind.INFO_REQUESTED,
    "provide_info": NoticeKind.INFO_PROVIDED,
    "action": NoticeKind.OUTCOME,
    "decline": NoticeKind.OUTCOME,
    "revise": NoticeKind.OUTCOME,
    "uphold": NoticeKind.OUTCOME,
    "close": NoticeKind.OUTCOME,
    "dispute": NoticeKind.DISPUTED,
    "withdraw": NoticeKind.WITHDRAWN,
    "reassign": NoticeKind.ASSIGNED,
}

#: The threshold from which the liaisons hear of a clock (the claimed reviewer hears of
#: every threshold; admins only of a breach).
LIAISON_THRESHOLD = 0.75
BREACH = 1.0


def filed_kind(priority: Priority) -> NoticeKind:
    """The notice a new request of ``priority`` sends."""
    if priority is Priority.EMERGENCY:
        return NoticeKind.EMERGENCY_FILED
    if priority is Priority.URGENT:
        return NoticeKind.URGENT_FILED
    return NoticeKind.REQUEST_FILED


def sla_kind(threshold: float) -> NoticeKind:
    return NoticeKind.SLA_BREACH if threshold >= BREACH else NoticeKind.SLA_WARNING


def sla_audiences(threshold: float, *, assigned: bool, emergency: bool) -> frozenset[Audience]:
    """Who hears that a clock crossed ``threshold`` (a share of its time, 1.0 the breach).

    The claimed reviewer first; the liaisons from :data:`LIAISON_THRESHOLD` (at once for
    an emergency, and whenever nobody has claimed the request, since then no one else is
    watching it); the administrators at the breach.
    """
    audiences = {Audience.ASSIGNEE} if assigned else set()
    if threshold >= LIAISON_THRESHOLD or emergency or not assigned:
        audiences.add(Audience.LIAISONS)
    if threshold >= BREACH:
        audiences.add(Audience.ADMINS)
    return frozenset(audiences)


def mutable(kind: NoticeKind, priority: Priority | None = None) -> bool:
    """Whether a user's mute silences this notice: never for an emergency request, nor
    for any SLA notice about one."""
    if kind is NoticeKind.EMERGENCY_FILED:
        return False
    return not (priority is Priority.EMERGENCY
                and kind in (NoticeKind.SLA_WARNING, NoticeKind.SLA_BREACH))


#: Kinds a user may mute (the emergency notice is not one of them).
MUTABLE_KINDS: tuple[NoticeKind, ...] = tuple(k for k in NoticeKind if mutable(k))


#: The audiences a person of each role can belong to.
ROLE_AUDIENCES: dict[Role, frozenset[Audience]] = {
    Role.AGENCY_OFFICIAL: frozenset({Audience.AGENCY_OFFICIALS}),
    Role.LEGAL_REVIEWER: frozenset({Audience.REVIEWERS, Audience.COVERING_REVIEWERS,
                                    Audience.ASSIGNEE}),
    Role.PLATFORM_LIAISON: frozenset({Audience.LIAISONS}),
    Role.ADMIN: frozenset({Audience.ADMINS}),
}


def kinds_for(role: Role) -> tuple[NoticeKind, ...]:
    """The kinds of notice a person of ``role`` can receive, in :class:`NoticeKind` order
    (what the mute settings offer them)."""
    mine = ROLE_AUDIENCES.get(role, frozenset())
    sla = {NoticeKind.SLA_WARNING: {Audience.ASSIGNEE, Audience.LIAISONS},
           NoticeKind.SLA_BREACH: {Audience.ASSIGNEE, Audience.LIAISONS, Audience.ADMINS}}
    return tuple(k for k in NoticeKind
                 if mine & (AUDIENCES.get(k) or frozenset(sla.get(k, set()))))
