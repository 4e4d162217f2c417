"""Urgent-request safeguards against a hijacked official mailbox.

An urgent or emergency request is flagged for the reviewer, with the reasons, when it
comes from an account that is new, from a network the account had not used before, or in
a category the agency does not usually file; the agency's other officials are told by
mail (a second channel the attacker does not hold).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import LegalRequest, User, UserNetwork
from portal.services import notify
from portal.services.actors import Actor
from portal.services.signin import network_of
from workflows.codes import Priority
from workflows.roles import Role

URGENT = frozenset({Priority.URGENT, Priority.EMERGENCY})
#: A network first seen this recently counts as new.
NEW_NETWORK_WINDOW = timedelta(hours=24)

FLAGS = ("new_user", "new_network", "unusual_category")


def assess(actor: Actor, *, agency_id: int, category: str, priority: Priority,
           now: datetime) -> list[str]:
    """The reasons to double-check this filing (empty for standard priority)."""
    if priority not in URGENT or actor.user_id is None:
        return []
    flags: list[str] = []
    user = db.session.get(User, actor.user_id)
    days = int(current_app.config["SAFEGUARD_NEW_USER_DAYS"])
    if user is not None and user.created_at > now - timedelta(days=days):
        flags.append("new_user")
    network = network_of(actor.ip_address)
    if network is not None:
        networks = db.session.execute(sa.select(UserNetwork.network, UserNetwork.first_seen)
                                      .where(UserNetwork.user_id == actor.user_id)).all()
        first_seen = {n: seen for n, seen in networks}
        older = [n for n, seen in first_seen.items()
                 if n != network and seen <= now - NEW_NETWORK_WINDOW]
        this = first_seen.get(network)
        if older and (this is None or this > now - NEW_NETWORK_WINDOW):
            flags.append("new_network")
    history = db.session.execute(
        sa.select(LegalRequest.category, sa.func.count())
        .where(LegalRequest.agency_id == agency_id).group_by(LegalRequest.category)
    ).all()
    if (sum(n for _, n in history) >= int(current_app.config["SAFEGUARD_MIN_HISTORY"])
            and category not in {c.value for c, _ in history}):
        flags.append("unusual_category")
    return flags


def warn_colleagues(req: LegalRequest, actor: Actor, flags: list[str], now: datetime) -> int:
    """Queue a mail to every other active official of the agency (caller's transaction);
    return how many."""
    colleagues = db.session.execute(
        sa.select(User.id, User.email, User.locale).where(
            User.agency_id == req.agency_id, User.role == Role.AGENCY_OFFICIAL,
            User.active.is_(True), User.id != actor.user_id)
    ).all()
    filer = db.session.scalar(sa.select(User.email).where(User.id == actor.user_id))
    for user_id, email, locale in colleagues:
        notify.enqueue_mail(
            "urgent_request_flagged", recipient=email, locale=locale, user_id=user_id,
            request_id=req.id, dedup_key=f"flagged:{req.reference}:{user_id}", now=now,
            params={"reference": req.reference, "filer": filer or "", "flags": flags,
                    "priority": req.priority.value, "category": req.category.value,
                    "at": now.isoformat()},
        )
    return len(colleagues)
