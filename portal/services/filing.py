"""Filing a request: validated whole, stored whole or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from portal import intake, platforms
from portal.extensions import db
from portal.models import (
    Agency,
    IdempotencyRecord,
    LegalRequest,
    ReferenceCounter,
    RequestItem,
    SlaClock,
)
from portal.models.columns import utcnow
from portal.services import attachments, audit, clocks, documents, notices, safeguards, webhooks
from portal.services.actors import Actor
from portal.services.audit import append_event
from portal.services.errors import Conflict, FieldError, Forbidden, Problem, ValidationFailed
from portal.services.transaction import transaction
from workflows import audit as chain
from workflows import sla
from workflows.codes import (
    URGENT_PRIORITIES,
    Category,
    DocumentContext,
    DocumentKind,
    Priority,
    RequestedAction,
)
from workflows.roles import Role
from workflows.states import RequestState


@dataclass(frozen=True)
class TargetInput:
    """One target as given: its text and, optionally, the kind the filer says it is."""

    text: str
    kind: intake.ItemKind | None = None


@dataclass
class FilingData:
    """What an agency files. Targets are raw text; the one intake parser reads them."""

    category: str
    priority: str
    legal_statute: str
    issuing_authority: str
    targets: Sequence[str | TargetInput]
    legal_article: str = ""
    order_reference: str = ""
    order_date: date | None = None
    description: str = ""
    jurisdiction: str | None = None
    attachment: attachments.AttachmentInput | None = None
    #: What the authority asks for (workflows.codes.RequestedAction); required.
    requested_action: str = ""
    #: The order document's language (ISO 639-1), when it is given.
    order_language: str | None = None
    #: Documents besides the order (annexures, translations, …), each with its kind
    #: and language.
    documents: Sequence[documents.DocumentInput] = ()
    #: The platform (an enabled profile's code) a bare ``@name`` belongs to; ``None``:
    #: the portal's default. Links name their platform by their host.
    service: str | None = None


#: Field lengths, mirrored from the model so errors name the field, not a DB failure.
_LIMITS = {
    "legal_statute": 300,
    "legal_article": 100,
    "issuing_authority": 300,
    "order_reference": 100,
    "description": 20_000,
}


def jurisdictions_for(agency: Agency) -> list[str]:
    """The jurisdictions an agency may file under: its own country's; an authority of an
    EU member state the EU's as well (the TCO and e-Evidence orders are EU regimes its
    national authorities issue); an EU body ("EU") the EU's only
    (``workflows.sla.filing_jurisdictions``).

    Nothing else: an official filing under another country's law would start that
    country's clocks and take (and so learn) its next reference number.
    """
    return list(sla.filing_jurisdictions(agency.country))


def validate_fields(data: FilingData, today: date,
                    jurisdictions: Sequence[str] | None = None) -> list[FieldError]:
    """Every problem with the request's own fields (not its targets); with
    ``jurisdictions`` (see :func:`jurisdictions_for`), a jurisdiction outside them too."""
    errors: list[FieldError] = []
    if data.category not in Category._value2member_map_:
        errors.append(FieldError("category", f"unknown category {data.category!r}", "choice"))
    if data.priority not in Priority._value2member_map_:
        errors.append(FieldError("priority", f"unknown priority {data.priority!r}", "choice"))
    if not data.requested_action:
        errors.append(FieldError("requested_action", "say what the order asks for: "
                                 + ", ".join(RequestedAction), "required"))
    elif data.requested_action not in RequestedAction._value2member_map_:
        errors.append(FieldError("requested_action", "unknown requested action "
                                 f"{data.requested_action!r}", "choice"))
    if not data.legal_statute.strip():
        errors.append(FieldError("legal_statute", "the statute is required", "required"))
    if not data.issuing_authority.strip():
        errors.append(
            FieldError("issuing_authority", "the issuing authority is required", "required")
        )
    for name, limit in _LIMITS.items():
        value = getattr(data, name) or ""
        if len(value) > limit:
            errors.append(FieldError(name, f"at most {limit} characters", "too_long"))
        if "\x00" in value:
            errors.append(FieldError(name, "contains a NUL character", "control_characters"))
    if data.jurisdiction is not None and not (
        len(data.jurisdiction) == 2 and data.jurisdiction.isascii() and data.jurisdiction.isalpha()
    ):
        errors.append(
            FieldError("jurisdiction", "a two-letter ISO 3166-1 country code", "invalid")
        )
    elif (data.jurisdiction is not None and jurisdictions is not None
          and data.jurisdiction.upper() not in jurisdictions):
        errors.append(Problem(
            "jurisdiction", f"the agency may file only under {' or '.join(jurisdictions)}, "
                            f"not {data.jurisdiction.upper()}", "foreign_jurisdiction",
            value=", ".join(jurisdictions)))
    if data.order_date is not None and data.order_date > today:
        errors.append(FieldError("order_date", "the order date is in the future", "invalid"))
    return errors


def coverage_errors(data: FilingData, agency: Agency, now: datetime,
                    policies: clocks.Policies | None = None,
                    found: Sequence[FieldError] = ()) -> list[FieldError]:
    """A refusal when no active SLA policy in force sets a resolution deadline for this
    request: it would run without a clock (an operator has switched the defaults off).
    Nothing when the fields it depends on already have errors (``found``).
    """
    if any(e.field in ("jurisdiction", "category", "priority", "requested_action")
           for e in found):
        return []
    jurisdiction = (data.jurisdiction or agency.country).upper()
    if clocks.covers(policies if policies is not None else clocks.active_policies(),
                     jurisdiction=jurisdiction, category=data.category,
                     priority=data.priority, received_at=now,
                     action=data.requested_action or None):
        return []
    return [Problem("category", f"no SLA policy sets a deadline for {jurisdiction} "
                    f"{data.category} requests at {data.priority} priority; the platform "
                    "cannot take it until an administrator adds one", "no_sla_policy",
                    value=jurisdiction)]


def parse_targets(
    targets: Sequence[str | TargetInput], profile: intake.Platforms, max_items: int
) -> tuple[list[intake.Target], list[FieldError]]:
    """Run the intake parser over ``targets`` (numbered from 1) and turn rejections into
    field errors."""
    if not targets:
        return [], [FieldError("targets", "at least one target is required", "required")]
    if len(targets) > max_items:
        return [], [
            FieldError(
                "targets",
                f"{len(targets)} targets given; at most {max_items} per request",
                "too_many",
            )
        ]
    entries = [
        (n, t, None) if isinstance(t, str) else (n, t.text, t.kind)
        for n, t in enumerate(targets, start=1)
    ]
    result = intake.parse_entries(entries, profile)
    errors = [
        FieldError("targets", r.message, r.reason.value, index=r.line) for r in result.rejected
    ]
    return result.accepted, errors


def _take_reference(dialect: str) -> sa.Executable:
    table = cast(sa.Table, ReferenceCounter.__table__)
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        insert(table)
        .values(jurisdiction=sa.bindparam("jurisdiction"), year=sa.bindparam("year"), last=1)
        .on_conflict_do_update(index_elements=["jurisdiction", "year"],
                               set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )


#: Built once per dialect (as ``audit.allocate``'s): building it cost more than running it.
_TAKE_REFERENCE = {name: _take_reference(name) for name in ("postgresql", "sqlite")}


def next_reference(jurisdiction: str, year: int) -> str:
    """Take the next number for (jurisdiction, year) inside the caller's transaction."""
    connection = db.session.connection()
    number = connection.execute(_TAKE_REFERENCE[connection.dialect.name],
                                {"jurisdiction": jurisdiction, "year": year}).scalar_one()
    return f"{jurisdiction}-{year}-{number:06d}"


#: Enum ``.value`` goes through a descriptor; a dict lookup is several times cheaper and
#: this runs for every one of up to 10,000 items.
_KIND_VALUES = {kind: kind.value for kind in intake.ItemKind}


def items_digest(targets: Sequence[intake.Target]) -> str:
    """SHA-256 over the normalised targets in order: the audit record's proof of the list
    (``audit verify`` recomputes it from the item rows)."""
    return chain.targets_digest((_KIND_VALUES[t.kind], t.target) for t in targets)


_ITEM_COLUMNS = ("request_id", "position", "kind", "raw", "target")
#: Up to this many items, PostgreSQL gets an ``INSERT`` like SQLite: ``COPY`` costs
#: more round trips than it saves for a handful of rows (docs/BENCHMARKS.md).
_FEW_ITEMS = 20


def insert_items(rows: Sequence[tuple[int, int, str, str, str]]) -> None:
    """Insert item rows in the session's transaction, the fastest way each driver has.

    The rows are plain, already validated data and nothing reads them back here, so they
    go to the driver as they are: SQLAlchemy's per-row parameter processing cost more than
    the insert itself for 10,000 rows. PostgreSQL gets ``COPY`` (4x faster here than
    multi-row VALUES through psycopg) unless there are only a few, SQLite (and
    PostgreSQL for a few) the driver's ``executemany`` (docs/BENCHMARKS.md).
    """
    connection = db.session.connection()
    table = RequestItem.__tablename__
    columns = ", ".join(_ITEM_COLUMNS)
    if connection.dialect.name == "postgresql" and len(rows) > _FEW_ITEMS:
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    mark = "%s" if connection.dialect.name == "postgresql" else "?"
    marks = ", ".join([mark] * len(_ITEM_COLUMNS))
    # Identifiers are this module's constants and every value is a bound parameter.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # nosec
    connection.exec_driver_sql(sql, list(rows))


def file_request(actor: Actor, data: FilingData, *, now: datetime | None = None
                 ) -> LegalRequest:
    """File a request for the actor's agency, with all its items, in one transaction.

    Raises:
        Forbidden: the actor is not an agency official, or the agency may not file now.
        ValidationFailed: any field (a jurisdiction the agency may not file under
            included), target, the order document (field ``attachment``) or another
            document (field ``documents``, by position) is invalid, or no SLA policy
            sets a deadline for such a request (every problem is listed, each target by
            its 1-based line); nothing is stored, no file is left behind.
    """
    now = now or utcnow()
    with attachments.staged() as staging, transaction():
        return _store(actor, data, now, staging)


@dataclass(frozen=True)
class Receipt:
    """What a filing answered: the same document for the first call and every replay.

    ``document`` is JSON-ready (times as ISO 8601 strings): the reference, state, time of
    receipt, items accepted and the SLA clocks as they stood.
    """

    document: dict[str, Any]
    replayed: bool = False

    @property
    def reference(self) -> str:
        return str(self.document["reference"])


class KeyReused(Conflict):
    """An idempotency key was used before with a different body."""

    code = "idempotency_key_reused"


def file_once(actor: Actor, data: FilingData, *, key: str = "", fingerprint: str = "",
              now: datetime | None = None) -> Receipt:
    """File a request and return its receipt; with an idempotency ``key``, file it at
    most once: a retry with the same key and ``fingerprint`` (a digest of what was sent)
    gets the first filing's receipt back, however often and however concurrently it
    comes. The key is remembered per user, in the filing's own transaction.

    Raises:
        KeyReused: the key was used before with another fingerprint; nothing is filed.
        Forbidden, ValidationFailed: as :func:`file_request`.
    """
    now = now or utcnow()
    if key:
        found = _earlier_receipt(actor, key, fingerprint)
        if found is not None:
            return found
    try:
        with attachments.staged() as staging, transaction():
            req = _store(actor, data, now, staging)
            document = receipt_of(req, now)
            if key:
                db.session.add(IdempotencyRecord(
                    user_id=actor.user_id, key=key, body_sha256=fingerprint, status_code=201,
                    response=document))
    except IntegrityError:
        # The same key was used by a concurrent call that committed first.
        found = _earlier_receipt(actor, key, fingerprint) if key else None
        if found is None:
            raise
        return found
    return Receipt(document)


def receipt_of(req: LegalRequest, now: datetime) -> dict[str, Any]:
    """The receipt of a request just filed, JSON-ready."""
    rows = db.session.scalars(
        sa.select(SlaClock).where(SlaClock.request_id == req.id).order_by(SlaClock.id)).all()
    sla = [{**reading, "due_at": reading["due_at"].isoformat()}
           for reading in clocks.readings(rows, now)]
    return {"reference": req.reference, "state": req.state.value,
            "received_at": req.received_at.isoformat(), "items_accepted": req.item_count,
            "sla": sla}


def _earlier_receipt(actor: Actor, key: str, fingerprint: str) -> Receipt | None:
    record = db.session.scalar(sa.select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == actor.user_id, IdempotencyRecord.key == key))
    if record is None:
        return None
    if record.body_sha256 != fingerprint:
        raise KeyReused("this idempotency key was already used with a different body")
    return Receipt(record.response, replayed=True)


def _store(actor: Actor, data: FilingData, now: datetime,
           staging: attachments.Staging) -> LegalRequest:
    """Everything :func:`file_request` does, inside the caller's transaction."""
    if actor.role is not Role.AGENCY_OFFICIAL or actor.agency_id is None:
        raise Forbidden("only an agency official can file a request")
    config = current_app.config
    agency = db.session.get(Agency, actor.agency_id)
    if agency is None:
        raise Forbidden("the official's agency does not exist")
    block = agency.filing_block(now)
    if block is not None:
        raise Forbidden(f"cannot file: {block}")
    errors = validate_fields(data, now.date(), jurisdictions_for(agency))
    policies = clocks.active_policies()
    errors += coverage_errors(data, agency, now, policies, errors)
    accepted: list[intake.Target] = []
    try:
        profile = platforms.enabled(data.service)
    except ValueError:
        errors.append(FieldError(
            "service", f"unknown service {data.service!r}: one of "
            f"{', '.join(code for code, _ in platforms.choices())}", "choice"))
    else:
        accepted, target_errors = parse_targets(
            data.targets, profile, config["MAX_ITEMS_PER_REQUEST"]
        )
        errors += target_errors
    if data.attachment is not None:
        errors += attachments.check(data.attachment)
    if data.order_language is not None \
            and data.order_language not in documents.language_codes():
        errors.append(FieldError("order_language", f"{data.order_language!r} is not an "
                                 "ISO 639-1 language code", "language"))
    errors += documents.check_documents(data.documents)
    if errors:
        raise ValidationFailed(errors)
    jurisdiction = (data.jurisdiction or agency.country).upper()
    category, priority = Category(data.category), Priority(data.priority)
    source = safeguards.source_of(actor)
    flags = safeguards.assess(actor, agency, category=category, priority=priority,
                              source=source, now=now)
    req = LegalRequest(
        reference=next_reference(jurisdiction, now.year),
        agency_id=agency.id,
        filed_by_id=actor.user_id,
        jurisdiction=jurisdiction,
        legal_statute=data.legal_statute.strip(),
        legal_article=data.legal_article.strip(),
        issuing_authority=data.issuing_authority.strip(),
        order_reference=data.order_reference.strip(),
        order_date=data.order_date,
        category=category,
        priority=priority,
        requested_action=RequestedAction(data.requested_action),
        description=data.description.strip(),
        state=RequestState.RECEIVED,
        received_at=now,
        updated_at=now,
        item_count=len(accepted),
        decision_counts={"pending": len(accepted)},
        risk_flags=flags,
        filed_network=source.network,
        filed_device=source.device,
    )
    try:
        opening = clocks.open_for_filing(req, now, policies, agency)
    except clocks.NoPolicy as exc:  # checked above; a policy changed in between
        raise ValidationFailed([Problem("category", str(exc), "no_sla_policy",
                                        value=jurisdiction)]) from None
    # Known before the insert, so the row goes in with them: the update at the commit
    # then changes no indexed column (``running_clocks`` is in a partial index).
    req.running_clocks = opening.running
    audit.start_record(req, [(_KIND_VALUES[t.kind], t.target, t.raw) for t in accepted])
    db.session.add(req)
    db.session.flush()
    # Everything below only adds new rows (or sets the new request's own columns) and
    # reads nothing the filing wrote: without autoflush the session writes it all at
    # the commit, the request row in one UPDATE instead of one per step.
    with db.session.no_autoflush:
        if priority in URGENT_PRIORITIES:
            # Every urgent filing, flagged or not: the second channel must not depend on a
            # flag the attacker may have learnt to avoid.
            req.second_channel_notices = safeguards.tell_second_channel(req, agency, actor, now)
        insert_items(
            [
                (req.id, position, _KIND_VALUES[t.kind], t.raw, t.target)
                for position, t in enumerate(accepted, start=1)
            ]
        )
        document = None
        assert actor.user_id is not None
        if data.attachment is not None:
            # Stored before the commit (staged: a failed filing removes the files it wrote),
            # so a request never points at nothing.
            document = documents.record(
                req, actor.user_id, documents.DocumentInput(
                    data.attachment, DocumentKind.ORDER.value, data.order_language),
                DocumentContext.FILING, now, staging)
        others = [documents.record(req, actor.user_id, d, DocumentContext.FILING, now, staging)
                  for d in data.documents]
        sla_started, sla_clamped, resolve_clock = clocks.start_for_filing(req, opening)
        append_event(
            req,
            "filed",
            actor=actor,
            now=now,
            to_state=RequestState.RECEIVED.value,
            payload={
                "items": len(accepted),
                "items_sha256": items_digest(accepted),
                "raw_sha256": chain.raw_digest(t.raw for t in accepted),
                "category": req.category.value,
                "priority": req.priority.value,
                "requested_action": data.requested_action,
                "jurisdiction": jurisdiction,
                "legal_basis": req.legal_basis,
                "sla": sla_started,
                # An acknowledgement due after the resolution is brought forward to it.
                **({"sla_clamped": sla_clamped} if sla_clamped else {}),
                "attachment_sha256": document.sha256 if document else None,
                # Every document with its kind and language, as the filer said (the order
                # first); only on filings with more than the order, like the older record.
                **({"documents": documents.event_payload(
                    [document, *others] if document else others, DocumentContext.FILING
                )["documents"]} if others else {}),
                "risk_flags": flags,
                "second_channel": req.second_channel_notices,
            },
            filed_clock=resolve_clock,
        )
        # Reviewers (and for an urgent request the liaisons) hear of it in this transaction.
        notices.on_filing(req, agency.name, actor, now)
        webhooks.enqueue(
            agency.id, event="request.state_changed", request_id=req.id, now=now,
            dedup=f"{req.reference}:1",
            payload={"reference": req.reference, "trigger": "file", "from_state": None,
                     "to_state": RequestState.RECEIVED.value, "resolution": None,
                     "at": now.isoformat()},
        )
        return req
