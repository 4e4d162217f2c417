"""Every way of tampering with the record that `audit verify` used to miss, applied to a
copy of a seeded database (the demo data plus a message, an internal note and an order
document), on this run's engine: verify must exit 1 and name what changed.

The seeded database is built once per module (migrated, `demo seed`, extras, an anchor
file); each case edits a fresh copy of it with plain SQL, as someone with write access to
the database would, and runs `flask audit verify` against the copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from portal import demo
from portal.extensions import db
from portal.models import (
    Attachment,
    Event,
    ItemDispute,
    LegalRequest,
    Message,
    RequestItem,
    User,
)
from portal.services import messages
from portal.services.actors import Actor
from portal.services.attachments import AttachmentInput
from portal.services.filing import file_request
from tests.databases import Scratch, app_for, using
from tests.factories import filing
from tests.pdfs import make_pdf
from workflows.audit import chain_hash

DISPUTED = "No. 16(4)/2026-CLES (1)"     # IN, disputed after being actioned
ACTIONED = "TCO-DE-2026-0311"            # DE, 3 items removed, actioned
AWAITING = "2026/5651-0217"              # TR, awaiting info; gets a message and a note
RECEIVED = "B-1043/M.KOMINFO/HK.02/08/2026"  # ID, just received
WITH_DOCUMENT = "TCO-DE-2026-0400"       # DE, filed here with a PDF order document
WITH_ANNEXURE = "No. 16(4)/2026-CLES (2)"  # IN, seeded with its order and an annexure
PDF = make_pdf(pages=2)  # a real one: the upload check reads it with pypdf


@dataclass
class Template:
    """The seeded database, where to copy it from, and the anchor taken of it."""

    scratch: Scratch
    url: str
    anchor: Path
    instance: Path


def _extras() -> None:
    """A message, an internal note and an order document: rows demo seed does not make."""
    reviewer = db.session.scalar(sa.select(User).where(
        User.email == "reviewer2@platform.example"))
    official_tr = db.session.scalar(sa.select(User).where(User.email == "siber@uab.gov.tr"))
    official_de = db.session.scalar(sa.select(User).where(User.email == "tco@bka.de"))
    ref = reference_of(AWAITING)
    messages.post_message(Actor.of(reviewer), ref, "Checked with BTK by phone: the decision "
                          "exists but is not yet signed.", internal=True)
    messages.post_message(Actor.of(official_tr), ref, "The BTK decision follows by mail.")
    file_request(Actor.of(official_de), filing(
        ["https://x.com/sahel_media9/status/18100000009"], category="terrorism",
        order_reference=WITH_DOCUMENT,
        attachment=AttachmentInput("Entfernungsanordnung.pdf", "application/pdf", PDF)))


@pytest.fixture(scope="module")
def template(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    from flask_migrate import upgrade

    base = tmp_path_factory.mktemp("tamper")
    scratch = Scratch(database_url, base)
    url = scratch.create("tamper_template")
    anchor = base / "anchor.json"
    with using(app_for(url, base)) as app:
        upgrade()
        demo.seed(now=demo_now())
        _extras()
        runner = app.test_cli_runner()
        result = runner.invoke(args=["audit", "anchor", "--out", str(anchor)])
        assert result.exit_code == 0, result.output
        # Events after the anchor are not a rewrite: the anchor keeps verifying.
        reviewer = Actor.of(db.session.scalar(sa.select(User).where(
            User.email == "reviewer@platform.example")))
        messages.post_message(reviewer, reference_of(RECEIVED), "Queued for the night shift.",
                              internal=True)
        clean = runner.invoke(args=["audit", "verify", "--anchor", str(anchor)])
        assert clean.exit_code == 0 and "intact" in clean.output, clean.output
    yield Template(scratch, url, anchor, base)
    scratch.drop(url)
    scratch.close()


def demo_now():
    from portal.models.columns import utcnow

    # Fixed to the minute, so the demo's clocks and dispute window are the same each run.
    return utcnow().replace(second=0, microsecond=0) - timedelta(minutes=1)


def reference_of(order_reference: str) -> str:
    return db.session.scalar(sa.select(LegalRequest.reference).where(
        LegalRequest.order_reference == order_reference))


def request_of(order_reference: str) -> LegalRequest:
    return db.session.scalar(sa.select(LegalRequest).where(
        LegalRequest.order_reference == order_reference))


def set_request(order_reference: str, **values: object) -> str:
    req = request_of(order_reference)
    db.session.execute(sa.update(LegalRequest.__table__)
                       .where(LegalRequest.__table__.c.id == req.id).values(**values))
    return req.reference


# --- the edits: each returns the strings verify must print ---------------------------------

def erase_dispute() -> list[str]:
    """1: delete the dispute (the request's last event) and fix three columns so that the
    request's own chain, head and state agree again."""
    req = request_of(DISPUTED)
    last, before = db.session.execute(
        sa.select(Event.id, Event.seq).where(Event.request_id == req.id)
        .order_by(Event.seq.desc()).limit(2)).all()
    previous_hash = db.session.scalar(sa.select(Event.hash).where(Event.id == before.id))
    db.session.execute(sa.delete(Event.__table__).where(Event.__table__.c.id == last.id))
    set_request(DISPUTED, state="actioned", event_count=before.seq, audit_head=previous_hash)
    return [req.reference, "disputed_at", "global sequence"]


def change_agency() -> list[str]:
    other = request_of(AWAITING).agency_id
    return [set_request(DISPUTED, agency_id=other), "field agency_id"]


def change_priority() -> list[str]:
    return [set_request(ACTIONED, priority="standard"), "field priority"]


def change_category() -> list[str]:
    return [set_request(ACTIONED, category="other"), "field category"]


def change_risk_flags() -> list[str]:
    return [set_request(RECEIVED, risk_flags=["new_account"]), "field risk_flags"]


def _item(order_reference: str, position: int) -> RequestItem:
    req = request_of(order_reference)
    return db.session.scalar(sa.select(RequestItem).where(
        RequestItem.request_id == req.id, RequestItem.position == position))


def change_item() -> list[str]:
    item = _item(ACTIONED, 2)
    item.decision = "no_action"
    item.reason = "not unlawful"
    return [reference_of(ACTIONED), "item #2", "no_action"]


def retarget_item() -> list[str]:
    item = _item(ACTIONED, 3)
    item.target = "x.com/an_innocent_journalist"
    item.raw = "https://x.com/an_innocent_journalist"
    return [reference_of(ACTIONED), "item #3"]


def delete_item() -> list[str]:
    item = _item(DISPUTED, 200)
    # The request is disputed: whoever deletes the item deletes what refers to it first.
    db.session.execute(sa.delete(ItemDispute).where(ItemDispute.item_id == item.id))
    db.session.delete(item)
    return [reference_of(DISPUTED), "item #200", "missing"]


def _message(internal: bool) -> Message:
    req = request_of(AWAITING)
    return db.session.scalar(sa.select(Message).where(
        Message.request_id == req.id, Message.internal.is_(internal)).order_by(Message.id.desc()))


def edit_message() -> list[str]:
    message = _message(False)
    message.body = "The BTK decision is withdrawn."
    return [reference_of(AWAITING), f"message {message.id}", "edited"]


def delete_message() -> list[str]:
    message = _message(False)
    db.session.delete(message)
    return [reference_of(AWAITING), f"message {message.id}", "missing"]


def edit_note() -> list[str]:
    note = _message(True)
    note.body = "Nothing to see here."
    return [reference_of(AWAITING), f"note {note.id}", "edited"]


def delete_note() -> list[str]:
    note = _message(True)
    db.session.delete(note)
    return [reference_of(AWAITING), f"note {note.id}", "missing"]


def delete_request() -> list[str]:
    """13: a whole request goes, with everything that hangs off it."""
    from portal.models import Notification, SlaClock, UserNotice

    req = request_of(ACTIONED)
    for model in (Event, RequestItem, Message, Attachment, SlaClock, Notification,
                  UserNotice):
        table = model.__table__
        db.session.execute(sa.delete(table).where(table.c.request_id == req.id))
    db.session.execute(sa.delete(LegalRequest.__table__)
                       .where(LegalRequest.__table__.c.id == req.id))
    return [req.reference, "missing"]


def swap_attachment() -> list[str]:
    # The German order (the demo's MeitY request carries documents of its own).
    doc = db.session.scalar(sa.select(Attachment).join(LegalRequest).where(
        LegalRequest.order_reference == WITH_DOCUMENT))
    doc.sha256 = "ab" * 32
    return [reference_of(WITH_DOCUMENT), f"document {doc.id}", "sha256"]


def swap_the_order_before_its_annexure() -> list[str]:
    """The first of a filing's two documents: named itself, not the annexure after it
    (whose hash is unchanged)."""
    order, annexure = db.session.scalars(sa.select(Attachment).join(LegalRequest).where(
        LegalRequest.order_reference == WITH_ANNEXURE).order_by(Attachment.id)).all()
    order.sha256 = "ab" * 32
    return [reference_of(WITH_ANNEXURE), f"document {order.id} ({order.filename}): "
            "sha256 is abababababab…"]


def change_state() -> list[str]:
    return [set_request(AWAITING, state="legal_review"), "field state"]


def change_received_at() -> list[str]:
    req = request_of(RECEIVED)
    return [set_request(RECEIVED, received_at=req.received_at + timedelta(hours=3)),
            "field received_at"]


def narrow_scope() -> list[str]:
    """17: give a TCO removal effect in one Member State only, after the fact."""
    item = _item(ACTIONED, 1)
    item.territorial_scope = "DE"
    return [reference_of(ACTIONED), "item #1", "territorial_scope is 'DE'"]


def end_preservation() -> list[str]:
    item = _item(ACTIONED, 2)
    item.preserved_until = item.effect_given_at
    return [reference_of(ACTIONED), "item #2", "preserved_until"]


def claim_the_users_were_told() -> list[str]:
    item = _item(ACTIONED, 3)
    item.user_notified_at = item.effect_given_at
    item.notice_deferred_until = item.notice_deferral_basis = None
    return [reference_of(ACTIONED), "item #3", "user_notified_at"]


def change_receipt_confirmation() -> list[str]:
    req = request_of(ACTIONED)
    earlier = req.receipt_confirmed_at - timedelta(hours=1)
    return [set_request(ACTIONED, receipt_confirmed_at=earlier), "field receipt_confirmed_at"]


def change_requested_action() -> list[str]:
    return [set_request(RECEIVED, requested_action="disclose_data"), "field requested_action"]


CASES: dict[str, Callable[[], list[str]]] = {
    "01 delete the last event, fix 3 columns: erase a dispute": erase_dispute,
    "02 change agency": change_agency,
    "03 change priority": change_priority,
    "04 change category": change_category,
    "05 change risk flags": change_risk_flags,
    "06 change an item's decision": change_item,
    "07 retarget an item": retarget_item,
    "08 delete an item": delete_item,
    "09 edit a message": edit_message,
    "10 delete a message": delete_message,
    "11 edit an internal note": edit_note,
    "12 delete an internal note": delete_note,
    "13 delete a whole request with its events": delete_request,
    "14 swap an attachment's hash": swap_attachment,
    "14b swap the first of a filing's two documents": swap_the_order_before_its_annexure,
    "15a change a request's state": change_state,
    "15b change a request's received time": change_received_at,
    "17a narrow an item's territorial scope": narrow_scope,
    "17b end a TCO preservation hold early": end_preservation,
    "17c record users as told while notice is deferred": claim_the_users_were_told,
    "17d move the receipt confirmation": change_receipt_confirmation,
    "17e change what the order asks for": change_requested_action,
}


@pytest.fixture
def copy(template: Template) -> Iterator[Flask]:
    url = template.scratch.create("tamper_case", template="tamper_template")
    with using(app_for(url, template.instance)) as app:
        yield app
    template.scratch.drop(url)


def run_verify(app: Flask, *extra: str) -> tuple[int, str, float]:
    db.session.remove()
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["audit", "verify", *extra])
    output = result.output + (repr(result.exception) if result.exit_code else "")
    return result.exit_code, output, time.perf_counter() - started


def test_the_seeded_copy_verifies(copy):
    code, output, _ = run_verify(copy)
    assert code == 0 and "intact" in output, output


@pytest.mark.parametrize("edit", list(CASES.values()), ids=list(CASES))
def test_each_edit_is_found_and_named(copy, edit):
    expected = edit()
    db.session.commit()
    code, output, _ = run_verify(copy)
    assert code == 1, output
    missed = [text for text in expected if text not in output]
    assert not missed, f"not named: {missed}\n{output}"


def test_a_consistent_rewrite_is_caught_by_an_older_anchor(copy, template):
    """16: rewrite the disputed request's history as if it had always been "standard":
    every event's record and hash recomputed in order, the head moved along. The record
    is consistent again, so verify alone cannot tell; the anchor taken before can."""
    reference = rewrite_as_standard()
    code, output, _ = run_verify(copy)
    assert code == 0, output  # consistent: the limit of a hash chain on its own
    code, output, _ = run_verify(copy, "--anchor", str(template.anchor))
    assert code == 1, output
    assert reference in output and "anchor" in output, output


def rewrite_as_standard() -> str:
    req = request_of(DISPUTED)
    reference = req.reference
    prev = "0" * 64
    for event in db.session.scalars(sa.select(Event).where(Event.request_id == req.id)
                                    .order_by(Event.seq)):
        if event.payload.get("priority"):
            event.payload = {**event.payload, "priority": "standard"}
        if event.snapshot is not None:
            event.snapshot = {**event.snapshot, "priority": "standard"}
        event.prev_hash = prev
        event.hash = prev = chain_hash(prev, event.body(reference))
    set_request(DISPUTED, priority="standard", audit_head=prev)
    db.session.commit()
    return reference


# --- from a checkpoint (`audit verify --since`) ------------------------------------------------

#: The edits `--since` does not find: rows (items, messages, notes, documents) of a request
#: with no event since the checkpoint, which only a full verify (the default) reads.
SINCE_MISSES = {
    "06 change an item's decision", "07 retarget an item", "08 delete an item",
    "09 edit a message", "10 delete a message", "11 edit an internal note",
    "12 delete an internal note", "14 swap an attachment's hash",
    "14b swap the first of a filing's two documents",
    "17a narrow an item's territorial scope", "17b end a TCO preservation hold early",
    "17c record users as told while notice is deferred",
}


def test_since_the_checkpoint_an_intact_record_verifies_and_moves_it_on(copy):
    code, output, _ = run_verify(copy, "--since")
    assert code == 0 and "0 changed request(s) checked in full" in output, output
    assert "checkpoint 2:" in output, output
    messages.post_message(Actor.of(db.session.scalar(sa.select(User).where(
        User.email == "reviewer@platform.example"))), reference_of(ACTIONED), "Done.",
        internal=True)
    code, output, _ = run_verify(copy, "--since")
    assert code == 0 and "1 changed request(s) checked in full" in output, output


@pytest.mark.parametrize("name", list(CASES))
def test_each_edit_since_the_checkpoint(copy, name):
    expected = CASES[name]()
    db.session.commit()
    code, output, _ = run_verify(copy, "--since", "--no-checkpoint")
    if name in SINCE_MISSES:
        assert code == 0, output  # the boundary docs/OPERATIONS.md states
        return
    assert code == 1, output
    missed = [text for text in expected if text not in output]
    assert not missed, f"not named: {missed}\n{output}"


def test_since_reads_every_row_of_a_request_changed_after_the_checkpoint(copy):
    reviewer = db.session.scalar(sa.select(User).where(
        User.email == "reviewer@platform.example"))
    messages.post_message(Actor.of(reviewer), reference_of(ACTIONED), "Checked.",
                          internal=True)
    reference = reference_of(ACTIONED)
    change_item()
    db.session.commit()
    code, output, _ = run_verify(copy, "--since", "--no-checkpoint")
    assert code == 1 and reference in output and "item #" in output, output


def test_since_catches_a_consistent_rewrite_before_the_checkpoint(copy):
    """16 without an anchor: the checkpoint's fold of every request's head no longer
    matches, so the checkpoint cannot hide a history rewritten before it."""
    rewrite_as_standard()
    code, output, _ = run_verify(copy, "--no-checkpoint")
    assert code == 0, output  # consistent: a full verify without an anchor cannot tell
    code, output, _ = run_verify(copy, "--since", "--no-checkpoint")
    assert code == 1 and "checkpoint" in output and "rewritten" in output, output
    assert "field priority" not in output  # an anchor names what was rewritten


def test_a_checkpoint_written_by_hand_is_refused(copy):
    db.session.execute(sa.text("UPDATE audit_checkpoints SET last_gseq = last_gseq + 100"))
    db.session.commit()
    code, output, _ = run_verify(copy, "--since")
    assert code == 1 and "does not carry the portal's signature" in output, output


def test_since_needs_a_checkpoint(copy):
    db.session.execute(sa.text("DELETE FROM audit_checkpoints"))
    db.session.commit()
    code, output, _ = run_verify(copy, "--since")
    assert code == 1 and "no checkpoint yet" in output, output


# --- seals: `--since` on PostgreSQL passes an unchanged request by one digest -----------

def _requests() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest))


@pytest.mark.postgres_only
def test_since_passes_every_unchanged_request_by_its_seal(copy):
    requests = _requests()
    code, output, _ = run_verify(copy, "--since")
    assert code == 0, output
    assert f"{requests} unchanged by their head ({requests} of them by their seal)" in output
    # The checkpoint it wrote seals the same requests: the next one passes them again.
    code, output, _ = run_verify(copy, "--since", "--no-checkpoint")
    assert code == 0 and f"({requests} of them by their seal)" in output, output


@pytest.mark.postgres_only
def test_a_field_changed_by_hand_unseals_its_request_alone(copy):
    requests = _requests()
    expected = change_priority()
    db.session.commit()
    code, output, _ = run_verify(copy, "--since", "--no-checkpoint")
    assert code == 1 and all(text in output for text in expected), output
    assert f"{requests} unchanged by their head ({requests - 1} of them by their seal)" \
        in output, output


@pytest.mark.postgres_only
def test_seals_rewritten_to_match_an_edit_are_not_trusted(copy):
    """Someone who changes a row and writes its seal again: the seals no longer match
    the digest the signed checkpoint holds, so every unchanged head is read again."""
    from portal.services import audit_checkpoint

    requests = _requests()
    expected = change_priority()
    db.session.commit()
    resealed = audit_checkpoint.take_seals()
    db.session.execute(sa.text("UPDATE audit_seals SET seal = :seal WHERE request_id = :id"),
                       [{"id": i, "seal": s} for i, s in resealed])
    db.session.commit()
    code, output, _ = run_verify(copy, "--since", "--no-checkpoint")
    assert code == 1 and all(text in output for text in expected), output
    assert f"{requests} unchanged by their head" in output and "by their seal" not in output


@pytest.mark.postgres_only
def test_untrusted_seals_read_every_head_again_past_one_read_of_them(copy, monkeypatch):
    """With the seals untrusted, every unchanged head of a page of seals is read again,
    in reads of STREAM heads: a page holds many (SEALED_STREAM), and the heads past the
    first read were once passed by their seal unchecked, the edited one among them."""
    from portal.services import audit_checkpoint

    requests = _requests()
    expected = change_priority()
    db.session.commit()
    edited = db.session.scalar(sa.select(LegalRequest.id).where(
        LegalRequest.reference == expected[0]))
    assert edited is not None and edited != db.session.scalar(
        sa.select(sa.func.min(LegalRequest.id))), "the edit must not be on the first head"
    db.session.execute(sa.text("UPDATE audit_seals SET seal = repeat('0', 64)"))
    db.session.commit()
    monkeypatch.setattr(audit_checkpoint, "STREAM", 1)
    code, output, _ = run_verify(copy, "--since", "--no-checkpoint")
    assert code == 1 and all(text in output for text in expected), output
    assert f"{requests} unchanged by their head" in output and "by their seal" not in output


@pytest.mark.postgres_only
def test_seals_do_not_follow_the_sessions_time_zone(copy):
    """The seals hash rows as text, and PostgreSQL writes a time in the session's zone: a
    verify run where the zone differs from the checkpoint's must still find the same
    seals."""
    requests = _requests()
    name = db.session.scalar(sa.text("SELECT current_database()"))
    db.session.execute(sa.text(f'ALTER DATABASE "{name}" SET TimeZone = \'Asia/Kolkata\''))
    db.session.commit()
    db.session.remove()
    db.engine.dispose()
    assert db.session.scalar(sa.text("SHOW TimeZone")) == "Asia/Kolkata"
    code, output, _ = run_verify(copy, "--since", "--no-checkpoint")
    assert code == 0, output
    assert f"{requests} unchanged by their head ({requests} of them by their seal)" in output


@pytest.mark.postgres_only
def test_a_checkpoints_seals_digest_changed_by_hand_is_refused(copy):
    db.session.execute(sa.text("UPDATE audit_checkpoints SET seals = repeat('0', 64)"))
    db.session.commit()
    code, output, _ = run_verify(copy, "--since")
    assert code == 1 and "does not carry the portal's signature" in output, output


@pytest.mark.sqlite_only
def test_on_sqlite_since_reads_every_unchanged_head(copy):
    assert db.session.get_bind().dialect.name == "sqlite"
    code, output, _ = run_verify(copy, "--since")
    assert code == 0 and "unchanged by their head" in output, output
    assert "by their seal" not in output
    assert db.session.scalar(sa.text("SELECT count(*) FROM audit_seals")) == 0
