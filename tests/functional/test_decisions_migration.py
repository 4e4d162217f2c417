"""Migration b7e4d2a91c08 moves existing decisions forward: their codes stay, acted-on
items get the request's country as scope and its law as ground, receipts are confirmed
when the review began; the audit record keeps verifying, guards the values the upgrade
wrote, and moves to rule 3 with the next event. A downgrade maps the new codes back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, LegalRequest, RequestItem
from portal.models.columns import JSONType, UTCDateTime, utcnow
from portal.services import decisions, lifecycle, messages
from portal.services.audit import iso
from portal.services.audit_verify import verify_all
from tests.databases import Scratch, app_for, using
from tests.factories import World
from workflows import audit as chain
from workflows.decisions import Terms

BEFORE = "4c2a9e1f7b3d"

_events = sa.table(
    "events", sa.column("id", sa.Integer), sa.column("request_id", sa.Integer),
    sa.column("seq", sa.Integer), sa.column("kind", sa.String),
    sa.column("trigger", sa.String), sa.column("from_state", sa.String),
    sa.column("to_state", sa.String), sa.column("actor_id", sa.Integer),
    sa.column("actor_role", sa.String), sa.column("payload", JSONType),
    sa.column("created_at", UTCDateTime), sa.column("gseq", sa.BigInteger),
    sa.column("snapshot", JSONType), sa.column("chain_version", sa.SmallInteger),
    sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
_requests = sa.table(
    "legal_requests", sa.column("id", sa.Integer), sa.column("reference", sa.String),
    sa.column("item_count", sa.Integer), sa.column("record_digests", JSONType),
    sa.column("item_buckets", sa.Text), sa.column("audit_head", sa.String),
    sa.column("decision_counts", JSONType))
_items = sa.table(
    "request_items", sa.column("request_id", sa.Integer), sa.column("position", sa.Integer),
    sa.column("kind", sa.String), sa.column("target", sa.String), sa.column("raw", sa.String),
    sa.column("decision", sa.String))

#: What the first release's events recorded of each kind (rule 2 wrote no more).
_OLD_PAYLOAD = {"items_decided": ("decision", "reason", "count", "positions")}
_NEW_KEYS = ("receipt_confirmed_at", "no_action_reason", "requested_action")


def as_written_before(conn: sa.Connection) -> None:
    """Rewrite the record as the release before rule 3 wrote it: rule-2 events whose
    item digests leave the legal record out, payloads without the new fields, and the
    request rows' digests as that release kept them (no rule marker)."""
    for req in conn.execute(sa.select(_requests).order_by(_requests.c.id)).all():
        rows = conn.execute(sa.select(_items).where(_items.c.request_id == req.id)
                            .order_by(_items.c.position)).all()
        count = req.item_count
        prev, bodies, buckets = chain.GENESIS, [], ""
        for e in conn.execute(sa.select(_events).where(_events.c.request_id == req.id)
                              .order_by(_events.c.seq)).all():
            payload = dict(e.payload)
            if e.kind in _OLD_PAYLOAD:
                payload = {k: payload[k] for k in _OLD_PAYLOAD[e.kind]}
            for key in _NEW_KEYS:
                payload.pop(key, None)
            at = iso(e.created_at)
            bodies.append({"seq": e.seq, "kind": e.kind, "trigger": e.trigger,
                           "actor_id": e.actor_id, "at": at, "payload": payload})
            decided = chain.replay_decisions(bodies, range(1, count + 1))
            lines = []
            for r in rows:
                d = decided.get(r.position)
                lines.append((r.position, chain.item_line_v2(
                    r.position, r.kind, r.target, r.raw, d and d.decision, d and d.reason,
                    d and d.decided_by, d and d.decided_at)))
            layout = chain.item_buckets(count, lines)
            buckets = "".join(layout)
            snapshot = {k: v for k, v in e.snapshot.items() if k not in chain.RULE_3_FIELDS}
            snapshot["items"] = chain.items_root(count, layout)
            body = chain.event_body(
                reference=req.reference, seq=e.seq, kind=e.kind, trigger=e.trigger,
                from_state=e.from_state, to_state=e.to_state, actor_id=e.actor_id,
                actor_role=e.actor_role, payload=payload, at=at, version=2, gseq=e.gseq,
                snapshot=snapshot)
            digest = chain.chain_hash(prev, body)
            conn.execute(_events.update().where(_events.c.id == e.id).values(
                payload=payload, snapshot=snapshot, chain_version=2, prev_hash=prev,
                hash=digest))
            prev = digest
        record: dict[str, Any] = {k: v for k, v in req.record_digests.items() if k != "v"}
        record["items"] = snapshot["items"]
        conn.execute(_requests.update().where(_requests.c.id == req.id).values(
            audit_head=prev, record_digests=record, item_buckets=buckets))


def item(reference: str, position: int) -> RequestItem:
    db.session.expire_all()
    return db.session.scalar(sa.select(RequestItem).join(LegalRequest).where(
        LegalRequest.reference == reference, RequestItem.position == position))


def request(reference: str) -> LegalRequest:
    db.session.expire_all()
    return db.session.scalar(sa.select(LegalRequest).where(LegalRequest.reference == reference))


def test_decisions_move_forward_and_keep_verifying(database_url, tmp_path: Path):
    from flask_migrate import downgrade, upgrade

    scratch = Scratch(database_url, tmp_path)
    url = scratch.create("decisions_upgrade")
    try:
        with using(app_for(url, tmp_path)):
            upgrade()
            w = World()
            reviewer = w.actor("reviewer")
            t0 = utcnow() - timedelta(days=2)
            acted = w.file(["@a", "@b", "@c"], now=t0)
            w.to_review(acted.reference, t0 + timedelta(minutes=1))
            decisions.decide_items(reviewer, acted.reference, decision="withheld_in_country",
                                   reason="per order", item_ids=[
                                       item(acted.reference, 1).id, item(acted.reference, 2).id],
                                   now=t0 + timedelta(minutes=2))
            decisions.decide_items(reviewer, acted.reference, decision="no_action",
                                   reason="not_found", all_pending=True,
                                   now=t0 + timedelta(minutes=3))
            lifecycle.fire(reviewer, acted.reference, "action", now=t0 + timedelta(minutes=4))
            messages.post_message(reviewer, acted.reference, "Done.", internal=True,
                                  now=t0 + timedelta(minutes=5))
            waiting = w.file(["@d"], now=t0 + timedelta(minutes=6))
            other = w.file(["@e"], now=t0 + timedelta(minutes=7))
            w.to_review(other.reference, t0 + timedelta(minutes=8))
            w.decide_all(other.reference, "removed", now=t0 + timedelta(minutes=9))
            refs = (acted.reference, waiting.reference, other.reference)
            db.session.remove()  # the migrations alter tables this session has read

            downgrade(revision=BEFORE)
            with db.engine.begin() as conn:
                as_written_before(conn)
            upgrade()

            # The decisions moved forward, codes kept.
            a, c = item(refs[0], 1), item(refs[0], 3)
            assert (a.decision.value, a.territorial_scope, a.ground.value, a.ground_statute,
                    a.ground_article, a.effect_given_at) == (
                "withheld_in_country", "TR", "local_law", "Law No. 5651", "Art. 8/A",
                t0 + timedelta(minutes=2))
            assert (c.decision.value, c.no_action_reason, c.territorial_scope, c.ground) == (
                "no_action", None, None, None)
            assert item(refs[1], 1).territorial_scope is None
            first = request(refs[0])
            assert first.receipt_confirmed_at == t0 + timedelta(minutes=1)
            assert first.requested_action is None and request(refs[1]).receipt_confirmed_at \
                is None
            assert db.session.scalar(sa.select(sa.func.max(Event.chain_version))) == 2
            assert list(verify_all()) == []

            # What the upgrade wrote is guarded before any new event: rows changed since
            # are named.
            stored = item(refs[2], 1)
            stored.territorial_scope, stored.ground_statute = "global", "Platform rules"
            db.session.commit()
            found = [str(f) for f in verify_all()]
            assert len(found) == 1 and "item #1 (@e): territorial_scope is 'global'; the " \
                "record has 'TR'" in found[0], found
            stored = item(refs[2], 1)
            stored.territorial_scope, stored.ground_statute = "TR", "Law No. 5651"
            db.session.commit()
            assert list(verify_all()) == []

            # The next event follows rule 3: its item digest covers the legal record.
            messages.post_message(reviewer, refs[0], "After the upgrade.", internal=True)
            newest = db.session.scalar(sa.select(Event).order_by(Event.gseq.desc()).limit(1))
            assert newest.chain_version == chain.CHAIN_VERSION
            assert request(refs[0]).record_digests["v"] == chain.CHAIN_VERSION
            assert list(verify_all()) == []
            stored = item(refs[0], 2)
            stored.effect_given_at = stored.effect_given_at + timedelta(hours=5)
            db.session.commit()
            found = [str(f) for f in verify_all()]
            assert found and all(refs[0] in f for f in found)
            assert any("item #2 (@b): effect_given_at is" in f for f in found), found
            stored = item(refs[0], 2)
            stored.effect_given_at = stored.effect_given_at - timedelta(hours=5)
            db.session.commit()

            # A decision in the new vocabulary; a downgrade gives the old code a code it
            # knows, and counts again.
            lifecycle.fire(reviewer, refs[1], "begin_review")
            decisions.decide_items(reviewer, refs[1], decision="disabled",
                                   terms=Terms(territorial_scope="TR"), all_pending=True)
            assert list(verify_all()) == []
            db.session.remove()
            downgrade(revision=BEFORE)
            with db.engine.connect() as conn:
                code = conn.execute(sa.select(_items.c.decision).join(
                    _requests, _requests.c.id == _items.c.request_id).where(
                    _requests.c.reference == refs[1])).scalar_one()
                counts = conn.execute(sa.select(_requests.c.decision_counts).where(
                    _requests.c.reference == refs[1])).scalar_one()
            assert (code, counts) == ("withheld_in_country", {"withheld_in_country": 1})
            upgrade()  # and up again
            assert item(refs[1], 1).territorial_scope == "TR"
            db.session.remove()
            downgrade(revision=BEFORE)
    finally:
        scratch.drop(url)
        scratch.close()
