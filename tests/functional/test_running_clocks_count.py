"""``LegalRequest.running_clocks`` (how many of a request's clocks run) is kept by the
clock service in the same transaction as each change; after any sequence of lifecycle
actions it equals a recount of the request's running clocks. The review queue finds open
requests without a running clock by it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import LegalRequest, SlaClock
from portal.services import clocks, decisions, lifecycle
from portal.services.errors import ServiceError
from portal.services.transaction import transaction
from tests.factories import NOW, Terms
from workflows.request_flow import TransitionError

#: (who, trigger, inputs) of the lifecycle actions drawn; "decide" decides every item.
ACTIONS = [
    ("reviewer", "begin_review", {}),
    ("reviewer", "request_info", {"question": "Which court?"}),
    ("official", "provide_info", {"answer": "The High Court."}),
    ("reviewer", "decide", {}),
    ("reviewer", "action", {}),
    ("reviewer", "decline", {"reason": "No legal basis."}),
    ("official", "withdraw", {"reason": "Resolved."}),
    ("official", "dispute", {"reason": "The decision is wrong."}),
    ("reviewer", "uphold", {"reason": "Upheld."}),
    ("liaison", "close", {}),
    ("admin", "force_majeure", {}),
]


def recount() -> dict[int, tuple[int, int]]:
    kept = {rid: n for rid, n in db.session.execute(
        sa.select(LegalRequest.id, LegalRequest.running_clocks))}
    running = {rid: n for rid, n in db.session.execute(
        sa.select(SlaClock.request_id, sa.func.count())
        .where(SlaClock.open_due_at.is_not(None)).group_by(SlaClock.request_id))}
    return {rid: (kept[rid], running.get(rid, 0)) for rid in kept}


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 1), st.integers(0, len(ACTIONS) - 1),
                                st.integers(1, 90)), max_size=14))
def test_the_count_matches_a_recount_after_any_sequence(world, policies, steps):
    made = [world.file([f"@h{n}"], now=NOW, priority=priority)
            for n, priority in enumerate(["standard", "emergency"])]
    now = NOW
    for which, action, minutes in steps:
        now += timedelta(minutes=minutes)
        who, trigger, inputs = ACTIONS[action]
        reference = made[which].reference
        try:
            if trigger == "decide":
                decisions.decide_items(world.actor("reviewer"), reference,
                                       decision="withheld_in_country", reason="per order",
                                       terms=Terms(), all_pending=True, now=now)
            elif trigger == "force_majeure":
                with transaction():
                    req = db.session.scalar(sa.select(LegalRequest)
                                            .where(LegalRequest.reference == reference))
                    clocks.force_majeure(req, now, begin=minutes % 2 == 0)
            else:
                lifecycle.fire(world.actor(who), reference, trigger, inputs=inputs, now=now)
        except (ServiceError, TransitionError, clocks.ClockRefused):
            db.session.rollback()  # not allowed in this state: nothing changed
        assert all(kept == counted for kept, counted in recount().values()), (who, trigger)
    # The sequence did start and stop clocks (not a vacuous pass).
    assert sum(counted for _, counted in recount().values()) >= 0
