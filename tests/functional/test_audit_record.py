"""The audit record's second rule: every event numbered in one global sequence and
recording the request's fields and rows; anchors kept outside the database; chains
written before it still verifying; the rows changed and then recorded by a later event
unawares; and the migration that brings an old database over.

The tamper matrix over the demo data is tests/functional/test_audit_tamper_matrix.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditLedger, Event, LegalRequest, Message, Notification, RequestItem
from portal.services import alerts, audit, clocks, decisions, messages, outbox
from portal.services.attachments import AttachmentInput
from portal.services.audit_verify import verify_all
from portal.services.transaction import transaction
from tests.databases import Scratch, app_for, using
from tests.factories import NOW, World
from tests.pdfs import make_pdf
from workflows.audit import CHAIN_VERSION, DIGESTS, GENESIS, PROTECTED_FIELDS, Anchor, chain_hash

PDF = make_pdf()  # a real one: the upload check reads it with pypdf


def request(reference: str) -> LegalRequest:
    return db.session.scalar(sa.select(LegalRequest).where(LegalRequest.reference == reference))


def events_of(reference: str) -> list[Event]:
    return list(db.session.scalars(sa.select(Event).join(LegalRequest).where(
        LegalRequest.reference == reference).order_by(Event.seq)))


def verify(runner, *extra: str) -> tuple[int, str]:
    result = runner.invoke(args=["audit", "verify", *extra])
    return result.exit_code, result.output


def rewrite(reference: str, change) -> None:
    """What someone with write access and this code can do: change every event of one
    request with ``change(event)`` and recompute the chain and the head consistently."""
    prev = GENESIS
    for event in events_of(reference):
        change(event)
        event.prev_hash = prev
        event.hash = prev = chain_hash(prev, event.body(reference))
    request(reference).audit_head = prev
    db.session.commit()


# --- what every event records ---------------------------------------------------------------

def test_each_items_legal_record_is_hashed_as_its_own_even_through_the_cache():
    """The items of one decision share their legal record, whose text is written once
    (audit._tail is cached by the row's values): a record differing in any one field is
    written as its own values say, before and after the other was cached, and only values
    the record writes alike (one instant in two zones, a code and its text) share a line."""
    from datetime import timezone

    from portal.intake import ItemKind
    from workflows import audit as chain
    from workflows.decisions import Decision, Ground

    at = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC)
    record = ["EEA", None, Ground.LOCAL_LAW, "Regulation (EU) 2021/784", "Art. 3", at, None,
              None, at + timedelta(days=182), None, None, None, None, None, None]
    assert len(record) == len(chain.RECORD_FIELDS)

    def line(values: list[object]) -> str:
        return audit.item_line((1, 2, 3, ItemKind.ACCOUNT, "@a", "@a", Decision.REMOVED,
                                None, 7, at, *values))

    def written(values: list[object]) -> str:
        return chain.item_line(3, "account", "@a", "@a", "removed", None, 7, audit.iso(at),
                               [audit.record_text(v) for v in values])

    def other(value: object) -> object:
        if isinstance(value, datetime):
            return value + timedelta(microseconds=1)
        return "x" if value is None else f"{getattr(value, 'value', value)}!"

    first = line(record)
    assert first == written(record)
    seen = {first}
    for n in range(len(record)):
        changed = [*record[:n], other(record[n]), *record[n + 1:]]
        assert line(changed) == written(changed), chain.RECORD_FIELDS[n]
        assert line(changed) not in seen, chain.RECORD_FIELDS[n]
        seen.add(line(changed))
        assert line(record) == first
    assert line([None] * len(record)) == written([None] * len(record)) not in seen
    zoned = [*record[:5], at.astimezone(timezone(timedelta(hours=3))), *record[6:]]
    assert line(zoned) == first
    assert line([*record[:2], "local_law", *record[3:]]) == first


def test_events_are_numbered_once_across_requests_and_record_the_rows(app):
    w = World()
    a = w.file(["@a", "@b"], attachment=AttachmentInput("order.pdf", "application/pdf", PDF))
    b = w.file(["@c"])
    w.to_review(a.reference)
    w.to_review(b.reference)
    messages.post_message(w.actor("reviewer"), a.reference, "Checked by phone.", internal=True)
    messages.post_message(w.actor("official"), a.reference, "The order is attached.")
    decisions.decide_items(w.actor("reviewer"), a.reference, decision="removed",
                           all_pending=True)
    every = list(db.session.scalars(sa.select(Event).order_by(Event.gseq)))
    assert [e.gseq for e in every] == list(range(1, len(every) + 1))
    assert db.session.get(AuditLedger, 1).last_gseq == len(every)
    assert all(e.chain_version == CHAIN_VERSION and set(e.snapshot) == {*PROTECTED_FIELDS, *DIGESTS}
               for e in every)
    last = events_of(a.reference)[-1].snapshot
    assert (last["notes"][0], last["messages"][0], last["documents"][0]) == (1, 1, 1)
    assert last["decision_counts"] == {"removed": 2} and last["state"] == "legal_review"
    assert list(verify_all()) == []


def test_a_rolled_back_event_gives_its_number_back(app):
    w = World()
    req = w.file(["@a"])
    before = db.session.get(AuditLedger, 1).last_gseq
    with pytest.raises(RuntimeError), transaction():
        audit.append_event(request(req.reference), "note", actor=w.actor("reviewer"), now=NOW)
        raise RuntimeError("the transaction fails after its event")
    assert db.session.get(AuditLedger, 1).last_gseq == before
    w.to_review(req.reference)
    assert events_of(req.reference)[-1].gseq == before + 1
    assert list(verify_all()) == []


def test_one_decision_rehashes_only_its_bucket(app):
    from tests.factories import count_statements, handles

    w = World()
    req = w.file(handles(1000))
    w.to_review(req.reference)
    item = db.session.scalar(sa.select(RequestItem.id).where(
        RequestItem.request_id == req.id, RequestItem.position == 500))
    with count_statements() as statements:
        decisions.decide_items(w.actor("reviewer"), req.reference, decision="removed",
                               item_ids=[item])
    rehash = [s for s in statements if "FROM request_items" in s and "BETWEEN" in s]
    assert len(rehash) == 1  # one bucket (8 items of 1,000), not the whole list
    assert list(verify_all()) == []


# --- rows changed outside the portal, then recorded by a later event as it found them -----

def test_a_field_changed_before_an_event_that_does_not_change_it_is_named(app, runner):
    w = World()
    req = w.file(["@a"])
    request(req.reference).priority = "emergency"
    db.session.commit()
    w.to_review(req.reference)  # records the emergency priority as it finds it
    code, output = verify(runner)
    assert code == 1 and f"{req.reference} event #2: field priority" in output
    assert "changed outside the portal" in output


def test_a_decision_changed_with_its_digests_recomputed_is_still_named(app, runner):
    w = World()
    req = w.file(["@a", "@b"])
    w.to_review(req.reference)
    first, second = db.session.scalars(sa.select(RequestItem).where(
        RequestItem.request_id == req.id).order_by(RequestItem.position)).all()
    decisions.decide_items(w.actor("reviewer"), req.reference, decision="removed",
                           item_ids=[first.id])
    row = db.session.get(RequestItem, first.id)
    row.decision = "no_action"
    row.reason = "not unlawful"
    stored = request(req.reference)
    stored.record_digests, stored.item_buckets = audit.fill_digests(
        {stored.id: stored.item_count})[stored.id]
    db.session.commit()
    decisions.decide_items(w.actor("reviewer"), req.reference, decision="removed",
                           item_ids=[second.id])
    code, output = verify(runner)
    assert code == 1 and "item #1 (@a): decision is 'no_action'" in output


def test_a_message_edited_with_its_digests_recomputed_is_still_named(app, runner):
    w = World()
    req = w.file(["@a"])
    said = messages.post_message(w.actor("official"), req.reference, "Please hurry.")
    db.session.get(Message, said.id).body = "Take your time."
    stored = request(req.reference)
    stored.record_digests, stored.item_buckets = audit.fill_digests(
        {stored.id: stored.item_count})[stored.id]
    db.session.commit()
    messages.post_message(w.actor("official"), req.reference, "Any news?")
    code, output = verify(runner)
    assert code == 1 and f"message {said.id}: text edited" in output


def test_a_note_deleted_and_its_digests_dropped_is_still_named(app, runner):
    w = World()
    req = w.file(["@a"])
    note = messages.post_message(w.actor("reviewer"), req.reference, "Looks forged.",
                                 internal=True)
    db.session.delete(db.session.get(Message, note.id))
    request(req.reference).record_digests = None  # the next event recomputes them
    db.session.commit()
    messages.post_message(w.actor("reviewer"), req.reference, "Looks fine.", internal=True)
    code, output = verify(runner)
    assert code == 1 and f"note {note.id}: missing (deleted)" in output


def test_a_targets_text_changed_with_its_digests_recomputed_is_still_named(app, runner):
    w = World()
    req = w.file(["@a", "@b"])
    w.to_review(req.reference)
    db.session.scalar(sa.select(RequestItem).where(RequestItem.request_id == req.id,
                                                   RequestItem.position == 2)).raw = "@c"
    stored = request(req.reference)
    stored.record_digests, stored.item_buckets = audit.fill_digests(
        {stored.id: stored.item_count})[stored.id]
    db.session.commit()
    w.decide_all(req.reference)
    code, output = verify(runner)
    assert code == 1 and "their text differ from the list this filing recorded" in output


def test_a_cached_digest_changed_alone_is_named(app, runner):
    w = World()
    req = w.file(["@a"])
    stored = request(req.reference)
    stored.record_digests = {**stored.record_digests, "notes": [1, "f" * 64]}
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and "the request row's notes digest does not match its rows" in output


# --- anchors ----------------------------------------------------------------------------------

def test_an_anchor_file_then_verify_against_it(app, runner, tmp_path):
    w = World()
    req = w.actioned(["@a", "@b"])
    out = tmp_path / "anchor-2026-11-20.json"
    result = runner.invoke(args=["audit", "anchor", "--out", str(out)])
    assert result.exit_code == 0 and f"anchor written to {out}" in result.output
    anchor = Anchor.from_json(out.read_text())
    assert anchor.events == db.session.get(AuditLedger, 1).last_gseq
    assert anchor.heads == ((req.id, req.reference, req.event_count, req.audit_head),)
    again = runner.invoke(args=["audit", "anchor", "--out", str(out)])
    assert again.exit_code == 1 and "never overwritten" in again.output
    w.file(["@c"])  # later events are not a rewrite
    code, output = verify(runner, "--anchor", str(out))
    assert code == 0 and "matches the anchor of" in output, output


def test_an_anchor_needs_somewhere_to_go(app, runner):
    result = runner.invoke(args=["audit", "anchor"])
    assert result.exit_code == 1 and "nowhere to keep the anchor" in result.output


def test_a_consistent_rewrite_is_named_by_an_older_anchor(app, runner, tmp_path):
    w = World()
    req = w.actioned(["@a", "@b"])
    w.file(["@c"])
    out = tmp_path / "anchor.json"
    assert runner.invoke(args=["audit", "anchor", "--out", str(out)]).exit_code == 0
    compact = tmp_path / "compact.json"
    assert runner.invoke(args=["audit", "anchor", "--compact", "--out",
                               str(compact)]).exit_code == 0

    def downgrade(event: Event) -> None:
        event.snapshot = {**event.snapshot, "priority": "standard"}
        if "priority" in event.payload:
            event.payload = {**event.payload, "priority": "standard"}

    request(req.reference).priority = "standard"
    rewrite(req.reference, downgrade)
    assert verify(runner)[0] == 0  # consistent again: a chain alone cannot tell
    code, output = verify(runner, "--anchor", str(out))
    assert code == 1 and f"{req.reference} event #4: anchor" in output
    assert "the record before the anchor was rewritten" in output
    code, output = verify(runner, "--anchor", str(compact))
    assert code == 1 and "does not fold to the head of the anchor" in output


def test_deleting_the_newest_events_everywhere_is_caught_by_an_anchor(app, runner, tmp_path):
    w = World()
    req = w.file(["@a"])
    w.to_review(req.reference)
    out = tmp_path / "anchor.json"
    assert runner.invoke(args=["audit", "anchor", "--out", str(out)]).exit_code == 0
    # Undo the review everywhere, consistently: the event, the ledger, the row.
    review = events_of(req.reference)[-1]
    stored = request(req.reference)
    db.session.delete(review)
    stored.state, stored.assigned_reviewer_id = "received", None
    stored.receipt_confirmed_at = None
    stored.event_count, stored.audit_head = 1, review.prev_hash
    db.session.get(AuditLedger, 1).last_gseq -= 1
    db.session.commit()
    assert verify(runner)[0] == 0
    code, output = verify(runner, "--anchor", str(out))
    assert code == 1 and "counts 2 events; the record has 1 (the newest were deleted)" in output


def test_an_altered_anchor_file_is_refused(app, runner, tmp_path):
    w = World()
    w.file(["@a"])
    out = tmp_path / "anchor.json"
    assert runner.invoke(args=["audit", "anchor", "--out", str(out)]).exit_code == 0
    data = json.loads(out.read_text())
    data["heads"][0][2] += 1
    out.write_text(json.dumps(data))
    code, output = verify(runner, "--anchor", str(out))
    assert code == 1 and "not a usable anchor" in output and "altered" in output


def test_an_anchor_is_mailed_through_the_outbox_and_the_mail_verifies(app, runner, smtp,
                                                                      tmp_path):
    app.config["AUDIT_ANCHOR_RECIPIENTS"] = "auditor@court.example, ombud@ngo.example"
    w = World()
    w.actioned(["@a"])
    result = runner.invoke(args=["audit", "anchor"])
    assert result.exit_code == 0 and "mailed to 2 address(es)" in result.output
    assert sorted(m["To"] for m in smtp.messages) == ["auditor@court.example",
                                                      "ombud@ngo.example"]
    mail = smtp.messages[0]
    assert mail["Subject"].startswith("Audit anchor: 4 events, head ")
    line = next(text for text in mail.get_content().splitlines() if text.startswith("{"))
    kept = tmp_path / "from-the-mail.json"
    kept.write_text(line)
    code, output = verify(runner, "--anchor", str(kept))
    assert code == 0 and "matches the anchor" in output
    assert runner.invoke(args=["audit", "anchor"]).exit_code == 0  # same head: not again
    assert len(smtp.messages) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.template == "audit_anchor")) == 2


def test_the_anchor_mail_is_in_the_configured_language(app, smtp):
    app.config["BABEL_DEFAULT_LOCALE"] = "tr"
    from portal.services import audit_anchor

    World().file(["@a"])
    audit_anchor.mail_anchor(audit_anchor.take_anchor(NOW), ["denetci@mahkeme.example"], NOW)
    outbox.deliver_due(NOW + timedelta(minutes=1))
    # (The urgent filing's mail to the agency's focal point went out too.)
    [mail] = [m for m in smtp.messages if m["To"] == "denetci@mahkeme.example"]
    assert mail["Subject"].startswith("Denetim kaydı çapası: 1 olay")


# --- chains written before the second rule ----------------------------------------------------

def to_rule_1(reference: str) -> None:
    """Make a request's record look as the first release wrote it."""

    def old(event: Event) -> None:
        event.chain_version, event.snapshot = 1, None

    rewrite(reference, old)
    stored = request(reference)
    stored.record_digests = stored.item_buckets = None
    db.session.commit()


def test_chains_written_before_snapshots_verify_by_their_own_rule(app, runner):
    w = World()
    req = w.actioned(["@a", "@b"])
    to_rule_1(req.reference)
    code, output = verify(runner)
    assert code == 0 and "1 request(s) whose newest event predates snapshots" in output
    first = events_of(req.reference)[1]
    first.payload = {**first.payload, "assigned_reviewer_id": None}
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and f"{req.reference} event #2: chain" in output and "edited" in output


def test_an_old_decision_changed_is_named_without_snapshots(app, runner):
    w = World()
    req = w.actioned(["@a", "@b"])
    to_rule_1(req.reference)
    db.session.scalar(sa.select(RequestItem).where(
        RequestItem.request_id == req.id, RequestItem.position == 1)).decision = "labelled"
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and "item #1 (@a): decision is 'labelled'" in output


def test_an_old_request_gets_its_digests_at_its_next_event(app, runner):
    w = World()
    req = w.file(["@a", "@b"])
    messages.post_message(w.actor("official"), req.reference, "Before the upgrade.")
    to_rule_1(req.reference)
    messages.post_message(w.actor("reviewer"), req.reference, "After it.", internal=True)
    last = events_of(req.reference)[-1]
    assert last.chain_version == CHAIN_VERSION and last.snapshot["messages"][0] == 1
    assert last.snapshot["notes"][0] == 1 and request(req.reference).record_digests
    assert verify(runner)[0] == 0


def test_the_sweep_alerts_on_an_old_request_under_the_new_rule(app, runner):
    with transaction():
        clocks.load_defaults()
    w = World()
    t10 = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
    req = w.file(["@a"], category="terrorism", priority="emergency", now=t10)
    to_rule_1(req.reference)
    assert alerts.sweep(t10 + timedelta(hours=3)).alerts > 0
    alert = events_of(req.reference)[-1]
    assert alert.kind == "sla_alert" and alert.chain_version == CHAIN_VERSION
    assert request(req.reference).record_digests is not None
    assert verify(runner)[0] == 0


# --- the migration ------------------------------------------------------------------------------

def test_the_upgrade_numbers_old_events_and_keeps_them_verifying(database_url,
                                                                 tmp_path: Path):
    from flask_migrate import downgrade, upgrade

    scratch = Scratch(database_url, tmp_path)
    url = scratch.create("audit_upgrade")
    try:
        with using(app_for(url, tmp_path)):
            upgrade()
            w = World()
            first = w.actioned(["@a", "@b"])
            second = w.file(["@c"])
            messages.post_message(w.actor("reviewer"), second.reference, "Noted.",
                                  internal=True)
            references = [first.reference, second.reference]
            reviewer = w.actor("reviewer")
            db.session.remove()  # the migrations alter tables this session has read
            # The first release's database: no ledger, no numbers, rule-1 hashes.
            downgrade(revision="16d1f39c0e97")
            db.session.remove()
            prevs: dict[int, str] = {}
            rows = db.session.execute(sa.text(
                "SELECT e.id, e.request_id, r.reference, e.seq, e.kind, e.trigger, "
                "e.from_state, e.to_state, e.actor_id, e.actor_role, e.payload, "
                "e.created_at FROM events e JOIN legal_requests r ON r.id = e.request_id "
                "ORDER BY e.id")).all()
            from workflows.audit import event_body

            for row in rows:
                prev = prevs.get(row.request_id, GENESIS)
                created = row.created_at if isinstance(row.created_at, datetime) else \
                    datetime.fromisoformat(row.created_at)
                created = (created.astimezone(UTC) if created.tzinfo
                           else created.replace(tzinfo=UTC))
                payload = row.payload if isinstance(row.payload, dict) else \
                    json.loads(row.payload)
                body = event_body(
                    reference=row.reference, seq=row.seq, kind=row.kind,
                    trigger=row.trigger, from_state=row.from_state, to_state=row.to_state,
                    actor_id=row.actor_id, actor_role=row.actor_role, payload=payload,
                    at=created.isoformat(timespec="microseconds"))
                digest = chain_hash(prev, body)
                db.session.execute(sa.text(
                    "UPDATE events SET prev_hash = :p, hash = :h WHERE id = :i"),
                    {"p": prev, "h": digest, "i": row.id})
                db.session.execute(sa.text(
                    "UPDATE legal_requests SET audit_head = :h WHERE id = :r"),
                    {"h": digest, "r": row.request_id})
                prevs[row.request_id] = digest
            db.session.commit()
            db.session.remove()
            upgrade()
            numbers = db.session.execute(sa.select(Event.gseq, Event.chain_version)
                                         .order_by(Event.id)).all()
            assert [n for n, _ in numbers] == list(range(1, len(rows) + 1))
            assert {v for _, v in numbers} == {1}
            assert db.session.get(AuditLedger, 1).last_gseq == len(rows)
            assert list(verify_all()) == []
            # The next event follows the new rule, and a change to an old one still shows.
            messages.post_message(reviewer, references[0], "After the upgrade.",
                                  internal=True)
            assert list(verify_all()) == []
            old = db.session.scalar(sa.select(Event).where(Event.seq == 2).order_by(Event.id))
            old.actor_role = "admin"
            db.session.commit()
            assert [f.subject for f in verify_all()] == ["chain"]
            db.session.remove()
            downgrade(revision="16d1f39c0e97")
    finally:
        scratch.drop(url)
        scratch.close()


def test_a_forged_item_count_in_the_billions_is_reported_not_walked(app, runner):
    import time

    w = World()
    req = w.file(["@a"])

    def forge(event: Event) -> None:
        if event.kind == "filed":
            event.payload = {**event.payload, "items": 10**9}

    rewrite(req.reference, forge)
    started = time.perf_counter()
    code, output = verify(runner)
    assert code == 1 and "item #2: missing (deleted)" in output
    assert "items: 999999999 of the 1000000000 filed are missing" in output
    assert time.perf_counter() - started < 10
