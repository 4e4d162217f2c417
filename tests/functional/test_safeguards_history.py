"""The safeguards read maintained summary rows (``account_history``, ``agency_history``):
after any mix of filings and outcomes they hold what a recount of the requests the
platform acted on gives, and the flags are those the recount gives (issue 15, part 2)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import (
    AccountHistory,
    Agency,
    AgencyHistory,
    Event,
    LegalRequest,
    RequestItem,
    User,
)
from portal.services import decisions, lifecycle, safeguards
from portal.services.actors import Actor
from tests.factories import NOW
from tests.functional.test_safeguards import CHROME_WINDOWS, FIREFOX
from tests.functional.test_safeguards import Agency as History
from workflows.codes import Category, Priority

NETWORKS = ("198.51.100.7", "203.0.113.9", "192.0.2.44")
AGENTS = (FIREFOX, CHROME_WINDOWS, None)
CATEGORIES = ("fraud", "terrorism", "disinformation")
FATES = ("open", "withdraw", "action", "decline", "decline_then_revise")

filings = st.lists(st.tuples(
    st.sampled_from(CATEGORIES), st.sampled_from(("standard", "urgent")),
    st.integers(0, len(NETWORKS) - 1), st.integers(0, len(AGENTS) - 1),
    st.integers(1, 200), st.integers(0, 23), st.sampled_from(FATES)), max_size=6)
probes = st.tuples(st.sampled_from(CATEGORIES), st.integers(0, len(NETWORKS) - 1),
                   st.integers(0, len(AGENTS) - 1), st.integers(0, 23))


def _play(world: History, step: tuple) -> None:
    category, priority, network, agent, days_ago, hour, fate = step
    at = (NOW - timedelta(days=days_ago)).replace(hour=hour)
    official = world.actor(ip=NETWORKS[network], agent=AGENTS[agent])
    req = world.file(f"@p{days_ago}_{hour}", by=official, at=at, category=category,
                     priority=priority)
    staff = Actor.of(world.reviewer)
    if fate == "open":
        return
    if fate == "withdraw":
        lifecycle.fire(official, req.reference, "withdraw", inputs={"reason": "x"}, now=at)
        return
    if fate == "action":
        world.act_on(req, at=at)
        return
    lifecycle.fire(staff, req.reference, "begin_review", now=at)
    lifecycle.fire(staff, req.reference, "decline", inputs={
        "reason": "no", "no_action_reason": "not_unlawful"}, now=at)
    if fate == "decline_then_revise":
        later = at + timedelta(minutes=5)
        lifecycle.fire(official, req.reference, "dispute", inputs={"reason": "please"},
                       now=at)
        items = db.session.scalars(sa.select(RequestItem.id).where(
            RequestItem.request_id == req.id)).all()
        decisions.decide_items(staff, req.reference, decision="removed", all_pending=False,
                               item_ids=list(items), now=later)
        lifecycle.fire(staff, req.reference, "revise", now=later)


def _acted_on(world: History) -> list[LegalRequest]:
    """The recount's input: the agency's requests with an ``action`` or ``revise`` event,
    read from the requests and their events (what the safeguards once counted)."""
    acted = sa.select(Event.request_id).where(Event.trigger.in_(("action", "revise")))
    return list(db.session.scalars(sa.select(LegalRequest).where(
        LegalRequest.agency_id == world.agency.id, LegalRequest.id.in_(acted))))


def _recount(requests: list[LegalRequest], user_id: int, agency_id: int):
    account: dict[tuple[str, str], list] = {}
    agency: dict[tuple[str, str], list] = {}

    def add(into, key, at):
        entry = into.setdefault(key, [0, at, at])
        entry[0] += 1
        entry[1], entry[2] = min(entry[1], at), max(entry[2], at)

    zone = ZoneInfo("Europe/Istanbul")
    for r in requests:
        at = r.received_at
        if r.filed_by_id == user_id:
            add(account, ("filings", ""), at)
            add(account, ("priority", r.priority.value), at)
            add(account, ("device", r.filed_device or "none"), at)
            if r.filed_network:
                add(account, ("network", r.filed_network), at)
        if r.agency_id == agency_id:
            add(agency, ("category", r.category.value), at)
            add(agency, ("hour", f"{at.astimezone(zone).hour:02d}"), at)
    return ({k: tuple(v) for k, v in account.items()},
            {k: tuple(v) for k, v in agency.items()})


def _rows(model, owner, owner_id):
    return {(r.kind, r.value): (r.filings, r.first_at, r.last_at) for r in db.session.scalars(
        sa.select(model).where(owner == owner_id))}


def _expected_flags(requests: list[LegalRequest], user: User, category: str, network: str,
                    device: str, now, config) -> list[str]:
    """The flags as the rules state them, from the acted-on requests themselves."""
    mine = [r for r in requests if r.filed_by_id == user.id]
    flags = []
    if user.created_at > now - timedelta(days=config["SAFEGUARD_NEW_USER_DAYS"]):
        flags.append("new_user")
    if not any(r.priority.value in ("urgent", "emergency") for r in mine):
        flags.append("first_urgent")
    window = now - timedelta(days=config["SAFEGUARD_CATEGORY_DAYS"])
    if not any(r.category.value == category and r.received_at >= window for r in requests):
        flags.append("new_category")
    zone = ZoneInfo("Europe/Istanbul")
    hours = Counter(r.received_at.astimezone(zone).hour for r in requests)
    total = sum(hours.values())
    hour = now.astimezone(zone).hour
    near = sum(hours[(hour + step) % 24] for step in (-1, 0, 1))
    if total >= config["SAFEGUARD_HOURS_MIN_HISTORY"] and \
            near < config["SAFEGUARD_USUAL_HOUR_SHARE"] * total:
        flags.append("unusual_hour")
    if mine:
        if not any(r.filed_network == network for r in mine):
            flags.append("new_network")
        if not any((r.filed_device or "none") == device for r in mine):
            flags.append("new_device")
    return flags


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(steps=filings, probe=probes)
def test_the_summary_rows_are_the_recount_and_give_its_flags(app, steps, probe):
    world = History()
    for step in steps:
        _play(world, step)
    db.session.expire_all()
    acted = _acted_on(world)
    account, agency = _recount(acted, world.veteran.id, world.agency.id)
    assert _rows(AccountHistory, AccountHistory.user_id, world.veteran.id) == account
    assert _rows(AgencyHistory, AgencyHistory.agency_id, world.agency.id) == agency

    category, network, agent, hour = probe
    now = NOW.replace(hour=hour)
    actor = world.actor(ip=NETWORKS[network], agent=AGENTS[agent])
    source = safeguards.source_of(actor)
    flags = safeguards.assess(actor, db.session.get(Agency, world.agency.id),
                              category=Category(category), priority=Priority.URGENT,
                              source=source, now=now)
    veteran = db.session.get(User, world.veteran.id)
    assert flags == _expected_flags(acted, veteran, category, source.network or "",
                                    source.device, now, app.config)
