"""`audit verify` reads the items without SQLAlchemy's conversions and compares each
item's decision with the events' as one string (issue 15): both must say exactly what
the converted rows and the field-by-field comparison say.

- every item of the demo data (TCO removals with preservation holds, deferred notices,
  declines, pending items) read both ways: the same values once converted, and the same
  line, on this run's engine;
- the replay shares one decision among the items it covers, and a later change to some
  of them (a notice, a restoration) leaves the others as they were;
- an item changed by hand inside a bulk decision, then recorded by a later decision of
  the same bucket (its digests recomputed first), is still named with its field;
- `--workers 2` on PostgreSQL finds the same, in the same order, as one process (with an
  anchor, over several batches); elsewhere it is refused.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from portal import demo
from portal.extensions import db
from portal.models import Event, LegalRequest, RequestItem
from portal.services import audit, audit_anchor, decisions
from portal.services.audit_items import UNCONVERTED_ITEM_COLUMNS, item_values
from portal.services.audit_verify import verify_all
from tests.factories import World
from workflows import audit as chain
from workflows.audit import Anchor


def test_items_read_unconverted_give_the_same_values_and_lines(app):
    demo.seed(now=datetime(2026, 11, 22, 12, tzinfo=UTC))
    order = (RequestItem.request_id, RequestItem.position)
    converted = db.session.execute(sa.select(*audit.ITEM_COLUMNS).order_by(*order)).all()
    read = db.session.execute(sa.select(*UNCONVERTED_ITEM_COLUMNS).order_by(*order)).all()
    values = item_values(db.session.get_bind().dialect)
    assert len(read) == len(converted) > 1000
    for raw, row in zip(read, converted, strict=True):
        assert values.typed(raw) == tuple(row)
        assert values.decided_part(tuple(raw[6:])) == audit.decided_part_of(tuple(row[6:]))
    # The demo's items hold codes, times and text in their legal record.
    held = {name for n, name in enumerate(chain.RECORD_FIELDS, start=10)
            if any(row[n] is not None for row in converted)}
    assert held >= {"territorial_scope", "ground", "ground_statute", "effect_given_at",
                    "no_action_reason", "preserved_until", "notice_deferred_until",
                    "notice_deferral_basis"}, held
    assert list(verify_all()) == []


def _bodies() -> list[dict[str, object]]:
    decided = {"seq": 2, "kind": "items_decided", "actor_id": 7, "at": "2026-11-02T08:00:00",
               "payload": {"decision": "removed", "positions": [[1, 4]],
                           "territorial_scope": "EEA", "ground": "local_law"}}
    notice = {"seq": 3, "kind": "notice_recorded", "actor_id": 7, "at": "2026-11-02T09:00:00",
              "payload": {"positions": [[2, 3]], "user_notified_at": "2026-11-02T09:00:00"}}
    again = {"seq": 4, "kind": "items_decided", "actor_id": 8, "at": "2026-11-03T08:00:00",
             "payload": {"decision": "labelled", "positions": [[3, 4]],
                         "territorial_scope": "EEA", "ground": "local_law"}}
    return [decided, notice, again]


def test_the_replay_shares_a_decision_and_never_changes_it_for_the_others():
    decided = chain.replay_decisions(_bodies(), range(1, 6))
    assert decided.keys() == {1, 2, 3, 4}
    assert decided[1].decision == "removed" and decided[1].record["user_notified_at"] is None
    assert decided[2].decision == "removed" and decided[2].seq == 3
    assert decided[2].record["user_notified_at"] == "2026-11-02T09:00:00"
    # A new decision keeps the notice recorded before it, only on the item that had one.
    assert decided[3].decision == "labelled"
    assert decided[3].record["user_notified_at"] == "2026-11-02T09:00:00"
    assert decided[4].decision == "labelled" and decided[4].record["user_notified_at"] is None
    assert decided[4].record["territorial_scope"] == "EEA" and decided[4].decided_by == 8
    # Only the first two events' results are shared objects.
    first = chain.replay_decisions(_bodies()[:1], range(1, 6))
    assert len({id(d) for d in first.values()}) == 1


def test_a_bulk_decided_item_changed_then_recorded_by_a_later_decision_is_named(app, runner):
    w = World()
    req = w.file([f"@h{n}" for n in range(300)])  # three items a bucket
    w.to_review(req.reference)
    items = db.session.scalars(sa.select(RequestItem).where(
        RequestItem.request_id == req.id).order_by(RequestItem.position)).all()
    ids = [item.id for item in items]
    decisions.decide_items(w.actor("reviewer"), req.reference, decision="removed",
                           item_ids=ids[:150])
    # Item #4 is given a narrower scope by hand, its digests recomputed to match; then
    # the reviewer decides item #5, of the same bucket, which the next event records.
    db.session.get(RequestItem, ids[3]).territorial_scope = "DE"
    stored = db.session.get(LegalRequest, req.id)
    stored.record_digests, stored.item_buckets = audit.fill_digests(
        {stored.id: stored.item_count})[stored.id]
    db.session.commit()
    decisions.decide_items(w.actor("reviewer"), req.reference, decision="labelled",
                           item_ids=[ids[4]])
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "item #4 (@h3): territorial_scope is 'DE'" in result.output, result.output
    assert "item #5" not in result.output and "item #6" not in result.output


# --- several processes on one snapshot (PostgreSQL) -------------------------------------------

def _record_then_tampered(w: World) -> tuple[list[str], Anchor]:
    """Six requests; an anchor; then one request's newest event erased with its row made
    to agree (which the anchor names) and three others changed by hand in three ways."""
    references = [w.actioned([f"@p{n}_{i}" for i in range(3)]).reference for n in range(6)]
    anchor = audit_anchor.take_anchor(datetime(2026, 12, 1, tzinfo=UTC))
    first = db.session.scalar(sa.select(RequestItem).join(LegalRequest).where(
        LegalRequest.reference == references[1], RequestItem.position == 1))
    first.decision = "labelled"
    db.session.execute(sa.update(LegalRequest).where(
        LegalRequest.reference == references[3]).values(priority="emergency"))
    last = db.session.scalar(sa.select(RequestItem).join(LegalRequest).where(
        LegalRequest.reference == references[5], RequestItem.position == 3))
    db.session.delete(last)
    erased = db.session.scalar(sa.select(LegalRequest).where(
        LegalRequest.reference == references[4]))
    newest, before = db.session.scalars(sa.select(Event).where(
        Event.request_id == erased.id).order_by(Event.seq.desc()).limit(2)).all()
    erased.event_count, erased.audit_head = before.seq, before.hash
    db.session.delete(newest)
    db.session.commit()
    return references, anchor


@pytest.mark.postgres_only
def test_two_workers_find_the_same_in_the_same_order(app, monkeypatch):
    from portal.services import audit_verify

    references, anchor = _record_then_tampered(World())
    monkeypatch.setattr(audit_verify, "BATCH_REQUESTS", 2)  # four batches
    alone, shared = audit_verify.Tally(), audit_verify.Tally()
    found = [str(f) for f in audit_verify.verify_all(anchor, alone)]
    for reference, what in ((references[1], "item #1"), (references[3], "field priority"),
                            (references[4], "anchor"), (references[5], "item #3")):
        assert any(f.startswith(reference) and what in f for f in found), (what, found)
    assert [str(f) for f in audit_verify.verify_all(anchor, shared, workers=2)] == found
    assert (shared.requests, shared.events, shared.items, shared.fold.hexdigest()) == (
        alone.requests, alone.events, alone.items, alone.fold.hexdigest())
    assert shared.requests == len(references) == 6


def test_verify_in_two_processes_on_postgresql_only(app, runner, monkeypatch):
    from portal.services import audit_verify

    w = World()
    for n in range(3):
        w.actioned([f"@c{n}"])
    monkeypatch.setattr(audit_verify, "BATCH_REQUESTS", 1)
    result = runner.invoke(args=["audit", "verify", "--workers", "2"])
    if db.session.get_bind().dialect.name == "postgresql":
        assert result.exit_code == 0 and "intact" in result.output, result.output
    else:
        assert result.exit_code == 2, result.output
        assert "--workers needs PostgreSQL" in result.output, result.output
