"""A legal request and what hangs off it: target items, attachments, messages."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.intake import ItemKind
from portal.models.agency import Agency
from portal.models.columns import JSONType, UTCDateTime, code_enum, utcnow
from portal.models.user import User

if TYPE_CHECKING:
    from portal.models.sla import SlaClock
from workflows.codes import (
    Category,
    DocumentContext,
    DocumentKind,
    Priority,
    RequestedAction,
)
from workflows.decisions import (
    Decision,
    Ground,
    NoActionReason,
    NoticeDeferral,
    RestoreReason,
)
from workflows.states import RequestState, Resolution

#: Open requests without a running clock (no policy sets them a deadline): the partial
#: index of the queue's last part, and the condition the queue writes out as it is here
#: so that both engines see the index applies (a bound parameter would hide it). The
#: states are ``OPEN_STATES``; a new open state needs a migration of the index.
OPEN_CLOCKLESS = ("running_clocks = 0 AND state IN "
                  "('received', 'legal_review', 'awaiting_info', 'disputed')")


class LegalRequest(Model):
    """One request from an agency: the order, its legal basis and its list of targets.

    ``version`` is checked on every UPDATE (SQLAlchemy's version counter), so a change
    made from a stale copy fails instead of overwriting a concurrent one.
    """

    __tablename__ = "legal_requests"
    __table_args__ = (
        sa.Index("ix_legal_requests_agency_received", "agency_id", "received_at"),
        # An agency's requests in one state: its "waiting for your answer" count.
        sa.Index("ix_legal_requests_agency_state", "agency_id", "state"),
        sa.Index("ix_legal_requests_state_received", "state", "received_at"),
        # The review queue's tab counts read only these two columns of open requests.
        sa.Index("ix_legal_requests_state_reviewer", "state", "assigned_reviewer_id"),
        # Actioned requests awaiting close, oldest outcome first (the liaison dashboard).
        sa.Index("ix_legal_requests_state_actioned", "state", "actioned_at", "id"),
        # Transparency reports read every request received in a period.
        sa.Index("ix_legal_requests_received", "received_at"),
        # The API's list filtered by state, newest (highest id) first.
        sa.Index("ix_legal_requests_state_id", "state", "id"),
        # Open requests without a running clock (the queue's last part, oldest first):
        # only those rows are in this index. With closed requests in it too (every one
        # has no running clock) PostgreSQL judged it large and read every unassigned
        # request through the reviewer index instead. The reviewer column lets a tab's
        # condition be checked in the index: PostgreSQL cannot know that open requests
        # nearly always run a clock, expects thousands of rows here, and would otherwise
        # still prefer the reviewer index.
        sa.Index("ix_legal_requests_open_clockless", "received_at", "id",
                 "assigned_reviewer_id", sqlite_where=sa.text(OPEN_CLOCKLESS),
                 postgresql_where=sa.text(OPEN_CLOCKLESS)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    filed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    jurisdiction: Mapped[str] = mapped_column(sa.String(2))
    legal_statute: Mapped[str] = mapped_column(sa.String(300))
    legal_article: Mapped[str] = mapped_column(sa.String(100), default="")
    issuing_authority: Mapped[str] = mapped_column(sa.String(300))
    order_reference: Mapped[str] = mapped_column(sa.String(100), default="")
    order_date: Mapped[date | None] = mapped_column(sa.Date)
    category: Mapped[Category] = mapped_column(code_enum(Category, 32))
    priority: Mapped[Priority] = mapped_column(code_enum(Priority, 16))
    # What the authority asks for, as it said at filing (NULL on requests filed before
    # the question was asked).
    requested_action: Mapped[RequestedAction | None] = mapped_column(
        code_enum(RequestedAction, 24))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[RequestState] = mapped_column(code_enum(RequestState, 20))
    resolution: Mapped[Resolution | None] = mapped_column(code_enum(Resolution, 20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the order actually reached the platform, where staff recorded that it came
    # earlier than its filing here (by mail, through a government portal): the SLA
    # clocks count from it (see ``clock_start``).
    order_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_received_via: Mapped[str | None] = mapped_column(sa.String(24))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the platform acknowledged the order to the authority: set when the review
    # begins (DSA Art. 15(1)(a) reports the time from receipt to this).
    receipt_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_reviewer_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id"), index=True
    )
    item_count: Mapped[int] = mapped_column(default=0)
    # When the first of its acted-on items was given effect (NULL while none is), kept
    # with ``decision_counts`` (services/decisions.recount): transparency reports time
    # "receipt to effect" and count requests acted on without reading the items.
    first_effect_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Items by decision ("pending" for undecided), kept by every service that changes a
    # decision, in the same transaction: pages, the API and the guards read it instead of
    # counting up to 10,000 rows each time.
    decision_counts: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    # Why an urgent request may come from a hijacked mailbox (reviewers see these first).
    risk_flags: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default="[]")
    # Where it was filed from (the filer's /24 or /48 network and browser family): counted
    # in the account's history once the platform acts on the request (services/safeguards).
    filed_network: Mapped[str | None] = mapped_column(sa.String(64))
    filed_device: Mapped[str | None] = mapped_column(sa.String(120))
    # How many people besides the filer were mailed when it was filed urgent or emergency
    # (its agency's other officials and its focal point); NULL for a standard filing. Zero
    # means no second channel: actioning it needs an out-of-band confirmation first.
    second_channel_notices: Mapped[int | None]
    out_of_band_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The head of the audit chain, kept on the row so that deleting the newest events is
    # detected too (the chain alone only proves what remains is consistent).
    event_count: Mapped[int] = mapped_column(default=0)
    #: How many of its SLA clocks run (``SlaClock.open_due_at`` set), kept by
    #: ``services.clocks.store`` in the transaction that starts or stops one: the queue
    #: finds open requests without a running clock by it instead of probing every one.
    running_clocks: Mapped[int] = mapped_column(default=0, server_default="0")
    audit_head: Mapped[str] = mapped_column(sa.String(64), default="0" * 64)
    # What the next audit event records of the rows below without reading them all: the
    # items' root and the running digests of messages, notes and documents
    # (services/audit.py keeps them; NULL until first needed on requests from before).
    # A cache only: `audit verify` recomputes every digest from the rows.
    record_digests: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The items' bucket digests (64 hex digits each), read only when decisions change.
    item_buckets: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    agency: Mapped[Agency] = relationship()
    filed_by: Mapped[User] = relationship(foreign_keys=[filed_by_id])
    assigned_reviewer: Mapped[User | None] = relationship(foreign_keys=[assigned_reviewer_id])
    # Read-only: services change clocks through portal.services.clocks; this is for
    # loading a request with its clocks in one query (joinedload).
    clocks: Mapped[list[SlaClock]] = relationship(
        "SlaClock", viewonly=True, order_by="SlaClock.id")

    @property
    def clock_start(self) -> datetime:
        """The time of receipt the deadlines count from: the earlier receipt staff
        recorded, else the filing."""
        return self.order_received_at or self.received_at

    @property
    def legal_basis(self) -> str:
        """Statute and article as one line, e.g. "Law No. 5651, Art. 8/A"."""
        if self.legal_article:
            return f"{self.legal_statute}, {self.legal_article}"
        return self.legal_statute

    def __repr__(self) -> str:
        return f"<LegalRequest {self.reference} {self.state.value}>"


class RequestItem(Model):
    """One target of a request (an account, a post, a channel) and its decision."""

    __tablename__ = "request_items"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "position"),
        sa.UniqueConstraint("request_id", "target"),
        # Items of one request filtered by decision, in filing order.
        sa.Index("ix_request_items_request_decision", "request_id", "decision", "position"),
        # Search by target across requests ("who asked about @this_account?").
        sa.Index("ix_request_items_target", "target"),
        # The sweep's deferred notices that end, walked in order (NULL once alerted).
        sa.Index(
            "ix_request_items_notice_alert", "notice_alert_at",
            sqlite_where=sa.text("notice_alert_at IS NOT NULL"),
            postgresql_where=sa.text("notice_alert_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("legal_requests.id"))
    position: Mapped[int]
    kind: Mapped[ItemKind] = mapped_column(code_enum(ItemKind, 16))
    raw: Mapped[str] = mapped_column(sa.String(512))
    target: Mapped[str] = mapped_column(sa.String(300))
    decision: Mapped[Decision | None] = mapped_column(code_enum(Decision, 32))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The decision's legal record (workflows.decisions): where, on what ground, from when;
    # why not (no action); lifted later; the user's notice; a TCO preservation hold. Every
    # column but notice_alert_at is in the audit record's item digest.
    territorial_scope: Mapped[str | None] = mapped_column(sa.String(800))
    scope_reason: Mapped[str | None] = mapped_column(sa.Text)
    ground: Mapped[Ground | None] = mapped_column(code_enum(Ground, 16))
    ground_statute: Mapped[str | None] = mapped_column(sa.String(300))
    ground_article: Mapped[str | None] = mapped_column(sa.String(100))
    effect_given_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    no_action_reason: Mapped[NoActionReason | None] = mapped_column(
        code_enum(NoActionReason, 32))
    preserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restored_reason: Mapped[RestoreReason | None] = mapped_column(code_enum(RestoreReason, 24))
    restored_note: Mapped[str | None] = mapped_column(sa.Text)
    user_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_deferral_basis: Mapped[NoticeDeferral | None] = mapped_column(
        code_enum(NoticeDeferral, 24))
    # When the sweep says the deferral has ended: NULL once it has (or with none).
    notice_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reviewer's working record of the content (staff only, never the agency's): a
    # short note and where a snapshot of it is kept (a case-system id or a link). Not in
    # the item digest: each change is an `item_noted` event, which the chain holds.
    review_note: Mapped[str | None] = mapped_column(sa.String(1000))
    snapshot_ref: Mapped[str | None] = mapped_column(sa.String(500))

    def __repr__(self) -> str:
        return f"<RequestItem {self.request_id}#{self.position} {self.target}>"


class Attachment(Model):
    """A document: metadata here, the bytes in the document store by sha256.

    A request's documents (the order, annexures, translations) have ``request_id``; an
    agency's verification evidence, sent at registration, has ``agency_id`` and no
    request. ``language`` is an ISO 639-1 code (NULL on documents stored before it was
    asked)."""

    __tablename__ = "attachments"
    __table_args__ = (
        sa.CheckConstraint("request_id IS NOT NULL OR agency_id IS NOT NULL", name="owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("legal_requests.id"),
                                                   index=True)
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(code_enum(DocumentKind, 16),
                                               default=DocumentKind.ORDER)
    language: Mapped[str | None] = mapped_column(sa.String(2))
    context: Mapped[DocumentContext] = mapped_column(code_enum(DocumentContext, 16),
                                                     default=DocumentContext.FILING)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by: Mapped[User] = relationship(lazy="raise")


class Message(Model):
    """A message on a request. ``internal`` messages are staff notes the agency never sees."""

    __tablename__ = "messages"
    __table_args__ = (sa.Index("ix_messages_request_created", "request_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("legal_requests.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    internal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()


class ReferenceCounter(Model):
    """The last number handed out per jurisdiction and year (``TR-2026-000042``)."""

    __tablename__ = "reference_counters"

    jurisdiction: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)
