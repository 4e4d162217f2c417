"""The record resists tampering, concurrency and crashes (issue: harden the portal).

- every way of tampering with the events table is caught by `audit verify`;
- 32 conflicting transitions at once on one request: exactly one wins (PostgreSQL);
- a process killed (SIGKILL) while filing 10,000 items leaves nothing behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Event, LegalRequest, RequestItem
from portal.services import audit_verify, lifecycle
from portal.services.errors import Conflict
from tests.factories import World
from workflows.audit import chain_hash
from workflows.request_flow import TransitionError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def story(app):
    """Two requests with a few events each; the chain verifies."""
    w = World()
    first = w.file(["@a", "@b"])
    w.to_review(first.reference)
    w.decide_all(first.reference)
    lifecycle.fire(w.actor("reviewer"), first.reference, "action")
    second = w.file(["@c"])
    assert list(audit_verify.verify_all()) == []
    return w, first.reference, second.reference


def verify(runner) -> tuple[int, str]:
    result = runner.invoke(args=["audit", "verify"])
    return result.exit_code, result.output


def event(reference: str, seq: int) -> Event:
    return db.session.scalar(sa.select(Event).join(LegalRequest).where(
        LegalRequest.reference == reference, Event.seq == seq))


@pytest.mark.parametrize(("column", "value"), [
    ("payload", {"items": 1}), ("actor_role", "admin"), ("to_state", "closed"),
    ("trigger", "decline"), ("actor_id", None),
])
def test_an_edited_event_is_named(story, runner, column, value):
    _, ref, _ = story
    target = event(ref, 2)
    db.session.execute(sa.update(Event).where(Event.id == target.id).values({column: value}))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and f"{ref} event #2" in output and "edited" in output


def test_an_edit_with_a_recomputed_hash_still_breaks_the_next_link(story, runner):
    _, ref, _ = story
    target = event(ref, 2)
    target.actor_role = "admin"
    target.hash = chain_hash(target.prev_hash, target.body(ref))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and f"{ref} event #3" in output


def test_a_deleted_event_is_found(story, runner):
    _, ref, _ = story
    db.session.delete(event(ref, 2))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and ref in output


def test_a_deleted_last_event_is_found(story, runner):
    _, ref, _ = story
    last = db.session.scalar(sa.select(sa.func.max(Event.seq)).join(LegalRequest).where(
        LegalRequest.reference == ref))
    db.session.delete(event(ref, last))
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and ref in output and "records" in output


def test_an_inserted_event_is_found(story, runner):
    _, ref, _ = story
    req = db.session.scalar(sa.select(LegalRequest).where(LegalRequest.reference == ref))
    head = event(ref, req.event_count)
    last = db.session.scalar(sa.select(sa.func.max(Event.gseq)))
    forged = Event(request_id=req.id, seq=req.event_count + 1, kind="transition",
                   trigger="close", from_state="actioned", to_state="closed",
                   actor_id=None, actor_role="system", payload={}, created_at=head.created_at,
                   prev_hash=head.hash, hash="0" * 64, chain_version=head.chain_version,
                   gseq=last + 1,
                   snapshot={**head.snapshot, "state": "closed"})
    forged.hash = chain_hash(forged.prev_hash, forged.body(ref))
    db.session.add(forged)
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and ref in output


def test_an_event_moved_to_another_request_is_found(story, runner):
    _, ref, other = story
    moved = event(ref, 3)
    target_id = db.session.scalar(sa.select(LegalRequest.id).where(
        LegalRequest.reference == other))
    moved.request_id = target_id
    moved.seq = 99
    db.session.commit()
    code, output = verify(runner)
    assert code == 1 and ref in output


@pytest.mark.postgres_only
def test_32_conflicting_transitions_exactly_one_wins(app):
    w = World()
    req = w.file(["@a"])
    reference, seen = req.reference, req.version
    reviewer, official = w.actor("reviewer"), w.actor("official")
    db.session.remove()
    barrier = threading.Barrier(32)
    results: list[str] = []
    lock = threading.Lock()

    def contender(n: int) -> None:
        actor, trigger, inputs = ((reviewer, "begin_review", {}) if n % 2 else
                                  (official, "withdraw", {"reason": f"lifted {n}"}))
        with app.app_context():
            barrier.wait()
            try:
                # Each acts on the page it loaded: the same version for all 32.
                lifecycle.fire(actor, reference, trigger, inputs=inputs,
                               expected_version=seen)
                outcome = "won"
            except (Conflict, TransitionError) as exc:
                outcome = "refused: " + str(exc)
            finally:
                db.session.remove()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 32
    assert results.count("won") == 1, results
    assert all(r == "won" or r.startswith("refused: ") for r in results)
    req = db.session.scalar(sa.select(LegalRequest).where(LegalRequest.reference == reference))
    assert req.event_count == 2 and list(audit_verify.verify_all()) == []


FILER = """
import sys, time
from portal import create_app
from portal.services import accounts
from portal.services.actors import Actor
from portal.services.filing import FilingData, file_request
from portal.extensions import db
from portal.models import User
import sqlalchemy as sa

app = create_app()
with app.app_context():
    official = db.session.scalar(sa.select(User).where(User.email == sys.argv[1]))
    print("ready", flush=True)
    # Slow the insert down so the kill lands inside the transaction.
    from portal.services import filing
    original = filing.insert_items
    def slow(rows):
        original(rows)
        print("inserted", flush=True)
        time.sleep(30)
    filing.insert_items = slow
    file_request(Actor.of(official), FilingData(
        category="terrorism", priority="urgent", legal_statute="TCO",
        issuing_authority="BKA", targets=[f"@h{i}" for i in range(10000)],
        requested_action="remove"))
    print("filed", flush=True)
"""


def test_a_process_killed_while_filing_10000_items_leaves_nothing(app, database_url):
    w = World()
    email = w.official.email
    counts_before = (db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)),
                     db.session.scalar(sa.select(sa.func.count()).select_from(RequestItem)))
    db.session.remove()
    env = dict(os.environ, DATABASE_URL=database_url, PORTAL_ENV="testing")
    child = subprocess.Popen([sys.executable, "-c", FILER, email], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = child.stdout.readline().strip()
        lines.append(line)
        if line == "inserted":
            break
    assert "inserted" in lines, lines
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    counts_after = (db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)),
                    db.session.scalar(sa.select(sa.func.count()).select_from(RequestItem)))
    assert counts_after == counts_before
    assert list(audit_verify.verify_all()) == []
    # And the database is usable at once: the same filing now goes through.
    w = World()
    assert w.file([f"@h{i}" for i in range(10_000)]).item_count == 10_000
