"""What needs each person now, for their start page: a few counts, each one statement
on an index, never a list.

- an agency official: requests waiting for the agency's answer; outcomes it can still
  dispute;
- a legal reviewer: unclaimed requests (how many urgent or emergency); their own claimed
  requests whose clock has used three quarters of its time or more;
- a platform liaison: running clocks breached and at risk (90 % or 75 % used); disputes;
- an administrator: agencies waiting for verification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import Agency, LegalRequest, SlaClock
from portal.services import listing
from portal.services.actors import Actor
from portal.services.dashboard import open_clocks_by_band
from portal.services.reports import Band, band_expression, band_params
from workflows.agency_flow import VerificationStatus
from workflows.codes import URGENT_PRIORITIES
from workflows.roles import Role
from workflows.states import OPEN_STATES, RequestState, Resolution

#: Bands a reviewer is told of on the start page: three quarters used or worse.
NEAR_BREACH = (Band.THREE_QUARTERS.value, Band.NINETY.value, Band.BREACHED.value)


@dataclass(frozen=True)
class Needs:
    """The counts a start page shows (those that do not apply to the role stay 0)."""

    waiting_for_answer: int = 0
    open_outcomes: int = 0
    unclaimed: int = 0
    unclaimed_urgent: int = 0
    mine_near_breach: int = 0
    breached: int = 0
    at_risk: int = 0
    disputed: int = 0
    agencies_pending: int = 0

    @property
    def anything(self) -> bool:
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


def _official(actor: Actor, now: datetime) -> Needs:
    waiting = listing.count_requests(actor, listing.WAITING_FOR_AGENCY)
    cutoff = now - timedelta(days=current_app.config["DISPUTE_WINDOW_DAYS"])
    r = LegalRequest
    outcomes = db.session.scalar(
        sa.select(sa.func.count()).select_from(r).where(
            r.agency_id == (actor.agency_id or -1),
            sa.or_(sa.and_(r.state == RequestState.ACTIONED, r.actioned_at >= cutoff),
                   sa.and_(r.state == RequestState.CLOSED, r.closed_at >= cutoff,
                           r.resolution != Resolution.WITHDRAWN)))
    ) or 0
    return Needs(waiting_for_answer=waiting, open_outcomes=int(outcomes))


def _reviewer(actor: Actor, now: datetime) -> Needs:
    r = LegalRequest
    unclaimed, urgent = db.session.execute(
        sa.select(sa.func.count(),
                  sa.func.coalesce(sa.func.sum(sa.case(
                      (r.priority.in_(list(URGENT_PRIORITIES)), 1), else_=0)), 0))
        .select_from(r)
        .where(r.state == RequestState.RECEIVED, r.assigned_reviewer_id.is_(None))
    ).one()
    near = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(r.id))).select_from(r)
        .join(SlaClock, SlaClock.request_id == r.id)
        .where(r.assigned_reviewer_id == (actor.user_id or -1),
               r.state.in_(list(OPEN_STATES)), SlaClock.open_due_at.is_not(None),
               band_expression(now).in_(NEAR_BREACH)),
        band_params(now),
    ) or 0
    return Needs(unclaimed=int(unclaimed), unclaimed_urgent=int(urgent),
                 mine_near_breach=int(near))


def _liaison(now: datetime) -> Needs:
    bands = open_clocks_by_band(now)
    disputed = db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest).where(
        LegalRequest.state == RequestState.DISPUTED)) or 0
    return Needs(breached=bands.get(Band.BREACHED.value, 0),
                 at_risk=bands.get(Band.NINETY.value, 0)
                 + bands.get(Band.THREE_QUARTERS.value, 0),
                 disputed=int(disputed))
