"""The flask commands, run through Flask's CLI runner against the test database."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import (
    Agency,
    Attachment,
    Event,
    LegalRequest,
    ReviewerJurisdiction,
    User,
    UserNotice,
)
from workflows.codes import DocumentKind
from workflows.notices import NoticeKind
from workflows.states import RequestState


def test_agencies_create(runner):
    result = runner.invoke(args=["agencies", "create", "Kominfo", "--country", "id",
                                 "--domain", "Kominfo.go.id", "--verified"])
    assert result.exit_code == 0, result.output
    assert "Kominfo (ID, kominfo.go.id) verified" in result.output
    agency = db.session.scalar(sa.select(Agency))
    assert agency.verified_until is not None


def test_agencies_create_refuses_bad_input_clearly(runner):
    result = runner.invoke(args=["agencies", "create", "X", "--country", "Turkey",
                                 "--domain", "not a domain"])
    assert result.exit_code == 1
    assert "country: a two-letter ISO 3166-1 country code" in result.output
    assert "domain: 'not a domain' is not a domain name" in result.output


def test_users_create_with_password_from_stdin(runner):
    runner.invoke(args=["agencies", "create", "BTK", "--country", "TR",
                        "--domain", "btk.gov.tr", "--verified"])
    agency_id = db.session.scalar(sa.select(Agency.id))
    result = runner.invoke(
        args=["users", "create", "Ayse@BTK.gov.tr", "--role", "agency_official",
              "--agency", str(agency_id), "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User))
    assert user.email == "ayse@btk.gov.tr" and user.check_password("a long enough password")


def test_users_create_refusals(runner):
    runner.invoke(args=["agencies", "create", "BTK", "--country", "TR",
                        "--domain", "btk.gov.tr"])
    agency_id = str(db.session.scalar(sa.select(Agency.id)))
    off_domain = runner.invoke(args=["users", "create", "a@gmail.com", "--role",
                                     "agency_official", "--agency", agency_id])
    assert off_domain.exit_code == 1 and "must be on btk.gov.tr" in off_domain.output
    no_agency = runner.invoke(args=["users", "create", "a@btk.gov.tr", "--role",
                                    "agency_official"])
    assert "needs an existing agency" in no_agency.output
    bad_role = runner.invoke(args=["users", "create", "a@x.org", "--role", "god"])
    assert bad_role.exit_code == 2 and "god" in bad_role.output
    short = runner.invoke(args=["users", "create", "r@platform.example", "--role",
                                "legal_reviewer", "--password-stdin"], input="short\n")
    assert "at least 12 characters" in short.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_demo_seed_is_idempotent_and_covers_every_state(runner):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "created request IN-2026-000001 (legal_review, 1178 items)" in first.output
    counts = (
        db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Event)),
    )
    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0 and "nothing to do" in second.output
    assert counts == (
        db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Event)),
    )
    states = set(db.session.scalars(sa.select(LegalRequest.state)))
    assert states == set(RequestState)
    # One lead reviewer, so the demo can show requests handed between reviewers.
    assert "lead reviewer reviewer@platform.example" in first.output
    leads = db.session.scalars(sa.select(User.email).where(User.lead_reviewer.is_(True)))
    assert list(leads) == ["reviewer@platform.example"]
    # The other reviewer covers India and Türkiye; the lead covers every jurisdiction, so
    # Indonesia's new request was told to the lead alone of the two.
    assert "reviewer2@platform.example covers IN, TR" in first.output
    covered = db.session.execute(sa.select(User.email, ReviewerJurisdiction.country).join(
        ReviewerJurisdiction, ReviewerJurisdiction.user_id == User.id)
        .order_by(ReviewerJurisdiction.country)).all()
    assert [tuple(row) for row in covered] == [("reviewer2@platform.example", "IN"),
                                               ("reviewer2@platform.example", "TR")]
    told = set(db.session.execute(sa.select(User.email, UserNotice.reference).join(
        UserNotice, UserNotice.user_id == User.id).where(
        UserNotice.kind == NoticeKind.URGENT_FILED)).all())
    assert ("reviewer@platform.example", "ID-2026-000001") in told
    assert ("reviewer2@platform.example", "ID-2026-000001") not in told
    assert ("reviewer2@platform.example", "IN-2026-000001") in told
    # The MeitY order under review carries its order and an annexure (real PDFs).
    documents = db.session.execute(sa.select(Attachment.kind, Attachment.language,
                                             Attachment.filename).join(LegalRequest).where(
        LegalRequest.reference == "IN-2026-000001").order_by(Attachment.id)).all()
    assert [tuple(d) for d in documents] == [
        (DocumentKind.ORDER, "en", "meity-order-16-4-2026-cles-2.pdf"),
        (DocumentKind.ANNEXURE, "en", "annexure-a-accounts.pdf")]


def test_audit_verify_passes_then_names_the_tampered_event(runner):
    runner.invoke(args=["demo", "seed"])
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    target = db.session.scalar(
        sa.select(Event).join(LegalRequest).where(Event.seq == 2)
        .order_by(LegalRequest.reference)
    )
    reference = db.session.get(LegalRequest, target.request_id).reference
    db.session.execute(sa.update(Event).where(Event.id == target.id)
                       .values(actor_role="admin"))
    db.session.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"{reference} event #2" in broken.output
    assert "edited" in broken.output


def test_worker_once_runs_one_pass(runner):
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "worker: started, a pass every 30 s",
        "worker: 0 alerts, 0 closed, 0 sent, 0 to retry, 0 failed, 0 deferred notices ended",
        "worker: stopped",
    ]
