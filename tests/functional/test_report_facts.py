"""The reports read maintained facts (``request_facts``, ``report_days``): after any
sequence of filings, decisions, transitions, reclassifications, earlier receipts and
disputes they hold what a recount from the requests, their items, resolve clocks and
events gives, and the migration's backfill gives the same rows (issues 14 and 15)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import (
    Event,
    LegalRequest,
    ReportDay,
    RequestFacts,
    RequestItem,
    SlaClock,
)
from portal.services import decisions, earlier_receipt, lifecycle, reclassify
from portal.services.errors import ServiceError
from portal.services.filing import file_request
from tests.factories import NOW, World, filing
from workflows.decisions import Terms
from workflows.request_flow import TransitionError

MIGRATION = next((Path(__file__).parents[2] / "migrations" / "versions")
                 .glob("*_e14f0a1b2c01_*.py"))

#: A decision, its scope or reason, as a step gives it.
DECISIONS = (("removed", {"territorial_scope": "global"}), ("withheld_in_country", {}),
             ("account_read_only", {}), ("no_action", {"no_action_reason": "not_found"}),
             ("no_action", {"no_action_reason": "not_unlawful"}))
TRIGGERS = ("begin_review", "action", "decline", "withdraw", "dispute", "revise", "uphold",
            "close", "request_info", "provide_info")
INPUTS = {"decline": {"reason": "lawful", "no_action_reason": "not_unlawful"},
          "withdraw": {"reason": "done"}, "dispute": {"reason": "please"},
          "uphold": {"reason": "as decided"}, "request_info": {"question": "which?"},
          "provide_info": {"answer": "these"}}
AGENCY_TRIGGERS = {"withdraw", "dispute", "provide_info"}

steps = st.lists(st.one_of(
    st.tuples(st.just("file"), st.sampled_from(("fraud", "terrorism", "privacy")),
              st.sampled_from(("standard", "urgent")), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("decide"), st.integers(0, 3), st.integers(0, len(DECISIONS) - 1),
              st.integers(1, 3)),
    st.tuples(st.just("fire"), st.integers(0, 3), st.sampled_from(TRIGGERS)),
    st.tuples(st.just("reclassify"), st.integers(0, 3),
              st.sampled_from(("fraud", "hate_speech", "privacy"))),
    st.tuples(st.just("earlier"), st.integers(0, 3)),
), max_size=14)


def _play(world: World, plan: list[tuple[Any, ...]]) -> list[int]:
    """Run the steps (each an hour after the last), skipping those the portal refuses;
    return the ids of the requests filed."""
    filed: list[LegalRequest] = []
    reviewer = world.actor("reviewer")
    for n, step in enumerate(plan):
        now = NOW + timedelta(hours=n)
        kind = step[0]
        if kind != "file" and not filed:
            continue
        try:
            if kind == "file":
                _, category, priority, count, abroad = step
                official = world.actor("stranger" if abroad else "official")
                filed.append(file_request(official, filing(
                    [f"@s{n}_{i}" for i in range(count)], category=category,
                    priority=priority), now=now))
                continue
            req = filed[step[1] % len(filed)]
            ref = req.reference
            if kind == "decide":
                code, terms = DECISIONS[step[2]]
                ids = db.session.scalars(sa.select(RequestItem.id).where(
                    RequestItem.request_id == req.id).order_by(RequestItem.position)
                    .limit(step[3])).all()
                decisions.decide_items(reviewer, ref, decision=code, reason="per order",
                                       terms=Terms(**terms), item_ids=list(ids), now=now)
            elif kind == "fire":
                trigger = step[2]
                owner = world.actor("stranger" if req.jurisdiction == "IN" else "official")
                lifecycle.fire(owner if trigger in AGENCY_TRIGGERS else
                               world.actor("liaison") if trigger == "close" else reviewer,
                               ref, trigger, inputs=INPUTS.get(trigger, {}), now=now)
            elif kind == "reclassify":
                reclassify.reclassify(reviewer, ref, category=step[2], reason="re-read",
                                      count_from="receipt", now=now)
            else:
                earlier_receipt.record_earlier_receipt(
                    reviewer, ref, earlier_receipt.EarlierReceipt(
                        req.received_at - timedelta(hours=2), "email", "came by mail"),
                    now=now)
        except (ServiceError, TransitionError):
            db.session.rollback()
    return [r.id for r in filed]


def _seconds(start: Any, end: Any) -> float | None:
    return None if end is None else round((end - start).total_seconds(), 3)


def _recount(req: LegalRequest) -> dict[str, Any]:
    """A request's facts worked out from its rows, as the reports define them."""
    older = {"withheld_in_country": "withheld", "account_read_only": "interaction_restricted",
             "visibility_restricted": "demoted"}
    counts: Counter[str] = Counter()
    first = None
    for item in db.session.scalars(sa.select(RequestItem).where(
            RequestItem.request_id == req.id)):
        decision = item.decision.value if item.decision is not None else None
        if decision is None:
            counts["pending"] += 1
        elif decision == "no_action":
            reason = item.no_action_reason.value if item.no_action_reason else "unspecified"
            counts[f"no_action_{reason}"] += 1
        else:
            counts[f"actioned_{older.get(decision, decision)}"] += 1
            if item.territorial_scope == "global":
                counts["actioned_global"] += 1
            if item.effect_given_at is not None:
                first = min(first or item.effect_given_at, item.effect_given_at)
    clock = db.session.scalar(sa.select(SlaClock).where(SlaClock.request_id == req.id,
                                                        SlaClock.target == "resolve"))
    resolution = req.resolution.value if req.resolution else None
    if resolution in ("declined", "withdrawn"):
        outcome = resolution
    elif clock is None or clock.stopped_at is None:
        outcome = None
    else:
        outcome = "met" if (clock.paused_at or clock.stopped_at) <= clock.due_at else "breached"
    triggers = Counter(db.session.scalars(sa.select(Event.trigger).where(
        Event.request_id == req.id)))
    start = req.order_received_at or req.received_at
    found = {
        "agency_id": req.agency_id, "jurisdiction": req.jurisdiction,
        "category": req.category.value, "priority": req.priority.value,
        "instrument": req.legal_statute, "received_at": req.received_at,
        "act_seconds": _seconds(start, first),
        "confirm_seconds": _seconds(start, req.receipt_confirmed_at),
        "sla_outcome": outcome,
        "sla_running_due_at": clock.open_due_at if clock and clock.paused_at is None else None,
        "resolve_stopped_at": clock.stopped_at if clock else None,
        "resolve_policy": clock.policy_code if clock else None,
        "resolve_seconds": _seconds(req.received_at, clock.stopped_at) if clock else None,
        "requests": 1, "items": req.item_count, "acted": int(first is not None),
        "sla_met": int(outcome == "met"), "sla_breached": int(outcome == "breached"),
        "sla_declined": int(outcome == "declined"),
        "disputes": triggers["dispute"], "disputes_revised": triggers["revise"],
        "disputes_upheld": triggers["uphold"],
        "disputes_pending": int(req.state.value == "disputed"),
    }
    return _nonzero(found | counts)


def _nonzero(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v != 0}


def _stored(request_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The facts rows of the requests, their zero counts and exact floats left out."""
    found = {}
    for row in db.session.scalars(sa.select(RequestFacts).where(
            RequestFacts.request_id.in_(request_ids))):
        values = {c.key: getattr(row, c.key) for c in sa.inspect(RequestFacts).column_attrs
                  if c.key not in ("request_id", "order_type", "resolve_source")}
        for name in ("act_seconds", "confirm_seconds", "resolve_seconds"):
            if values[name] is not None:
                values[name] = round(values[name], 3)
        found[row.request_id] = _nonzero(values)
    return found


def _days(agency_ids: set[int]) -> dict[tuple[Any, ...], dict[str, int]]:
    found = {}
    for row in db.session.scalars(sa.select(ReportDay).where(
            ReportDay.agency_id.in_(agency_ids))):
        counts = {c: getattr(row, c) for c in ("requests", "items", "pending", "acted",
                                               "sla_met", "sla_breached", "sla_declined",
                                               "disputes", "actioned_withheld",
                                               "actioned_global", "no_action_not_found")}
        if any(counts.values()):
            found[(row.day, row.agency_id, row.jurisdiction, row.category, row.priority,
                   row.instrument)] = counts
    return found


def _summed(facts: dict[int, dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, int]]:
    found: dict[tuple[Any, ...], dict[str, int]] = {}
    for f in facts.values():
        key = (f["received_at"].date(), f["agency_id"], f["jurisdiction"], f["category"],
               f["priority"], f["instrument"])
        into = found.setdefault(key, dict.fromkeys(
            ("requests", "items", "pending", "acted", "sla_met", "sla_breached",
             "sla_declined", "disputes", "actioned_withheld", "actioned_global",
             "no_action_not_found"), 0))
        for name in into:
            into[name] += f.get(name, 0)
    return found


def _backfill() -> None:
    spec = importlib.util.spec_from_file_location("report_facts_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    db.session.execute(sa.delete(ReportDay))
    db.session.execute(sa.delete(RequestFacts))
    module.backfill(db.session.connection())
    db.session.commit()


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(plan=steps)
def test_the_facts_are_the_recount_and_the_backfill_agrees(app, policies, plan):
    world = World()
    ids = _play(world, plan)
    db.session.expire_all()
    expected = {rid: _recount(db.session.get(LegalRequest, rid)) for rid in ids}
    assert _stored(ids) == expected
    agencies = {world.agency.id, world.other_agency.id}
    assert _days(agencies) == _summed(expected)

    _backfill()
    db.session.expire_all()
    assert _stored(ids) == expected
    assert _days(agencies) == _summed(expected)


def test_refresh_facts_counts_what_the_previous_release_changed(app, policies, runner):
    """During a release the old processes serve on while the migration fills the facts:
    their changes are counted by ``report refresh-facts`` after the restart."""
    world = World()
    req = world.file(["@a", "@b"], now=NOW)
    world.to_review(req.reference, NOW)
    world.decide_all(req.reference, now=NOW + timedelta(hours=1))
    kept = _stored([req.id])
    assert kept[req.id]["actioned_withheld"] == 2
    # The previous release decides again: the rows change, the facts do not.
    db.session.execute(sa.update(RequestItem).where(RequestItem.request_id == req.id)
                       .values(decision="removed", territorial_scope="global"))
    db.session.execute(sa.update(LegalRequest).where(LegalRequest.id == req.id)
                       .values(updated_at=NOW + timedelta(hours=2)))
    db.session.commit()
    assert _stored([req.id]) == kept

    result = runner.invoke(args=["report", "refresh-facts", "--since", "2026-11-20T11:30"])
    assert result.exit_code == 0, result.output
    assert "1 requests changed since 2026-11-20T11:30:00+00:00; 1 had facts to correct" \
        in result.output
    db.session.expire_all()
    facts = _stored([req.id])[req.id]
    assert (facts["actioned_removed"], facts["actioned_global"]) == (2, 2)
    assert "actioned_withheld" not in facts
    assert _days({world.agency.id}) == _summed(_stored([req.id]))

    again = runner.invoke(args=["report", "refresh-facts", "--since", "2026-11-20"])
    assert "0 had facts to correct" in again.output
    assert runner.invoke(args=["report", "refresh-facts", "--since", "soon"]).exit_code == 2
