"""What needs each person now, for their start page: a few counts, each one statement
on an index, never a list of more than a few hundred keys; counts that could run long
stop at ``CAP`` ("99+").

- an agency official: requests waiting for the agency's answer; outcomes of its requests
  they have not read yet (their unread ``outcome`` notices);
- a legal reviewer: unclaimed requests (how many urgent or emergency); their own claimed
  requests with a running clock overdue or due within ``DUE_SOON``;
- a platform liaison: running clocks breached and at risk (90 % or 75 % used), bounded
  as the dashboard bounds them (the same figures, a floor shown as "500+"); disputes;
- an administrator: agencies waiting for verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Agency, LegalRequest, SlaClock, UserNotice
from portal.models.sla import HELD_NOT_WAITING
from portal.services import listing
from portal.services.actors import Actor
from portal.services.dashboard import bounded_band_counts
from portal.services.reports import Band
from workflows.agency_flow import VerificationStatus
from workflows.codes import URGENT_PRIORITIES
from workflows.notices import NoticeKind
from workflows.roles import Role
from workflows.sla import Target
from workflows.states import OPEN_STATES, RequestState

#: A reviewer's clock "near breach": overdue, or due within this long. A window on
#: ``open_due_at`` (walked on its partial index) rather than the share of time used,
#: which would compute the band of every running clock (218 ms at 10,000 of them).
DUE_SOON = timedelta(hours=1)
#: Counts that could run long stop here; the page shows "99+".
CAP = 99
#: SQLite is told to walk the reviewer's clocks, not their requests (see ``_reviewer``).
HOLDER_DUE_INDEX_HINT = "INDEXED BY ix_sla_clocks_holder_due"


@dataclass(frozen=True)
class Needs:
    """The counts a start page shows (those that do not apply to the role stay 0)."""

    waiting_for_answer: int = 0
    unread_outcomes: int = 0
    unclaimed: int = 0
    unclaimed_urgent: int = 0
    mine_due_soon: int = 0
    breached: int = 0
    at_risk: int = 0
    disputed: int = 0
    agencies_pending: int = 0
    #: Whether ``breached`` / ``at_risk`` are floors (the dashboard's bounded walks
    #: stopped before counting every clock).
    breached_floor: bool = False
    at_risk_floor: bool = False

    @property
    def anything(self) -> bool:
        # A floor counts: clocks were left uncounted, some of which may need the liaison.
        return any(getattr(self, name) for name in self.__dataclass_fields__)


def needs_now(actor: Actor, now: datetime) -> Needs:
    """What needs ``actor`` now (see the module's docstring)."""
    if actor.role is Role.AGENCY_OFFICIAL:
        return _official(actor, now)
    if actor.role is Role.LEGAL_REVIEWER:
        return _reviewer(actor, now)
    if actor.role is Role.PLATFORM_LIAISON:
        return _liaison(now)
    if actor.role is Role.ADMIN:
        pending = db.session.scalar(sa.select(sa.func.count()).select_from(Agency).where(
            Agency.status == VerificationStatus.PENDING)) or 0
        return Needs(agencies_pending=int(pending))
    return Needs()


def _capped(query: sa.Select[Any]) -> int:
    """How many rows ``query`` gives, counted up to ``CAP + 1``."""
    return int(db.session.scalar(
        sa.select(sa.func.count()).select_from(query.limit(CAP + 1).subquery())) or 0)


def _official(actor: Actor, now: datetime) -> Needs:
    waiting = listing.count_requests(actor, listing.WAITING_FOR_AGENCY)
    # Outcomes they have not seen: read from the partial index of unread notices.
    outcomes = _capped(sa.select(UserNotice.id).where(
        UserNotice.user_id == (actor.user_id or -1), UserNotice.read_at.is_(None),
        UserNotice.kind == NoticeKind.OUTCOME))
    return Needs(waiting_for_answer=waiting, unread_outcomes=outcomes)


def _reviewer(actor: Actor, now: datetime) -> Needs:
    r = LegalRequest
    unclaimed = sa.select(r.id).where(r.state == RequestState.RECEIVED,
                                      r.assigned_reviewer_id.is_(None))
    urgent = unclaimed.where(r.priority.in_(list(URGENT_PRIORITIES)))
    # The reviewer's requests with a running clock due by then, walked on their clocks
    # in deadline order (``ix_sla_clocks_holder_due``); a clock waiting for the agency
    # is not theirs to hurry. Walking their requests instead read every one waiting for
    # an answer first. The request's own columns are asked too (one row each, by key),
    # so the count never rests on the copies alone. A request has at most one clock per
    # target, so the first (CAP + 1) x targets clocks hold CAP + 1 requests if that many
    # are due; told apart here, as DISTINCT made PostgreSQL sort every clock walked
    # (47,858 of them, 519 ms at 1M requests).
    c = SlaClock
    clocks_due = db.session.scalars(
        sa.select(c.request_id).join(r, r.id == c.request_id)
        .where(c.holder_id == (actor.user_id or -1), sa.text(HELD_NOT_WAITING),
               c.open_due_at <= now + DUE_SOON, r.state.in_(list(OPEN_STATES)),
               r.assigned_reviewer_id == c.holder_id)
        .order_by(c.holder_id, c.open_due_at).limit((CAP + 1) * len(Target))
        .with_hint(c, HOLDER_DUE_INDEX_HINT, "sqlite"))
    due_soon = min(len(set(clocks_due)), CAP + 1)
    return Needs(unclaimed=_capped(unclaimed), unclaimed_urgent=_capped(urgent),
                 mine_due_soon=due_soon)


def _liaison(now: datetime) -> Needs:
    # The dashboard's bounded counts, not every running clock's band: the same figures
    # the dashboard shows, at the same cost whatever the backlog (the exact count read
    # every running clock's index entry: 67 ms at 1M requests).
    bands = bounded_band_counts([], now)
    risky = (Band.NINETY.value, Band.THREE_QUARTERS.value)
    disputed = _capped(sa.select(LegalRequest.id).where(
        LegalRequest.state == RequestState.DISPUTED))
    return Needs(breached=bands.get(Band.BREACHED.value, 0),
                 breached_floor=bands.is_capped(Band.BREACHED.value),
                 at_risk=sum(bands.get(b, 0) for b in risky),
                 at_risk_floor=any(bands.is_capped(b) for b in risky),
                 disputed=disputed)
