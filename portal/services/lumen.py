"""Lumen-style notices: a request the platform chose to publish, in the field names of
the Lumen database's notice API (``POST /notices`` with ``{"notice": {...}}``), after a
reviewer's redaction.

Publication is a legal reviewer's decision. The targets the reviewer chose and the
passages they wrote down are replaced by ``[REDACTED]`` in every text of the notice
before it is stored or shown (the preview is the notice as it would leave). A request
whose affected users' notice is deferred (a TCO Art. 11(3) or DSA Art. 9(5) deferral, a
court's gag order) cannot be published until every deferral has ended.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.intake import PROFILES, ItemKind, TargetError, normalise
from portal.models import LegalRequest, NoticePublication, RequestItem
from portal.services.access import get_request, require_staff
from portal.services.actors import Actor
from portal.services.audit import append_event
from portal.services.errors import FieldError, Forbidden, NotFound, ValidationFailed
from portal.services.transaction import transaction
from workflows.decisions import Decision, ItemTally, canonical
from workflows.roles import Role

MASK = "[REDACTED]"

#: Lumen's notice types that a government's order can be.
NOTICE_TYPES = ("GovernmentRequest", "CourtOrder", "LawEnforcementRequest", "LocalLaw",
                "Other")
#: A shorter passage would blank out ordinary words all over the notice.
MIN_PASSAGE = 3
MAX_PASSAGES = 200
MAX_TITLE = 300


class Deferred(Forbidden):
    """The request cannot be published yet: its users' notice is deferred."""

    code = "notice_deferred"

    def __init__(self, until: datetime, basis: str | None) -> None:
        super().__init__(
            f"the affected users' notice is deferred until {until.isoformat()} "
            f"({basis or 'no basis recorded'}): the request cannot be published before then")
        self.until = until
        self.basis = basis


@dataclass(frozen=True)
class Choices:
    """What the reviewer chose: the notice type and title, the targets to redact (one
    per line, as filed) and the passages to redact (one per line)."""

    notice_type: str = "GovernmentRequest"
    title: str = ""
    redact_targets: str = ""
    redact_passages: str = ""


@dataclass
class Prepared:
    """A notice ready to leave, and what was redacted in it."""

    notice: dict[str, Any]
    redacted_item_ids: list[int] = field(default_factory=list)
    redacted_passages: list[str] = field(default_factory=list)


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)
            if line.strip()]


def deferral(req: LegalRequest, now: datetime) -> tuple[datetime, str | None] | None:
    """The latest running deferral of the users' notice on any item of ``req`` (until,
    basis), or ``None`` when no notice is deferred now."""
    row = db.session.execute(
        sa.select(RequestItem.notice_deferred_until, RequestItem.notice_deferral_basis)
        .where(RequestItem.request_id == req.id, RequestItem.notice_deferred_until > now)
        .order_by(RequestItem.notice_deferred_until.desc()).limit(1)
    ).first()
    if row is None:
        return None
    basis = row.notice_deferral_basis.value if row.notice_deferral_basis else None
    return row.notice_deferred_until, basis


def _check_publishable(req: LegalRequest, now: datetime) -> None:
    found = deferral(req, now)
    if found is not None:
        raise Deferred(*found)


def _work_url(target: str, kind: ItemKind, host: str) -> str:
    if target.startswith(("http://", "https://")):
        return target
    if kind is ItemKind.ACCOUNT and target.startswith("@"):
        return f"https://{host}/{target[1:]}"
    return target


def _action_taken(req: LegalRequest) -> str:
    tally = ItemTally.of_counts(req.decision_counts or {})
    if tally.acted == 0:
        return "No"
    return "Yes" if tally.acted == tally.total else "Partial"


def _action_words(decision: Decision, scope: str | None) -> str:
    words = canonical(decision).value.replace("_", " ")
    if decision is Decision.NO_ACTION:
        return "No action"
    return f"{words.capitalize()} ({scope or 'scope not recorded'})"


def _redact(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """Every string in ``value`` with each match of ``pattern`` masked."""
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(MASK, value)
    if isinstance(value, list):
        return [_redact(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _redact(v, pattern) for k, v in value.items()}
    return value


def _trie(texts: Iterable[str]) -> str:
    """One regular expression matching any of ``texts``, as a trie of their characters.

    A plain alternation of a few hundred texts (a hundred redacted targets, each as
    typed, as a handle and as a URL) made ``re`` try every one at every position: a
    second for a 10,000-item notice. The trie tries one branch per character; its
    optional groups are greedy, so the longest text at a position is masked whole.
    """
    root: dict[str, Any] = {}
    for text in texts:
        node = root
        for char in text:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + build(child)
                    for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


def _pattern(texts: Iterable[str]) -> re.Pattern[str] | None:
    unique = {t.lower() for t in texts if t}
    if not unique:
        return None
    return re.compile(_trie(unique), re.IGNORECASE)


def prepare(actor: Actor, reference: str, choices: Choices, *, now: datetime,
            platform: tuple[str, str], profile: str = "x") -> Prepared:
    """The redacted notice of ``reference`` as it would be published now.

    ``platform`` is the recipient (name, country code); ``profile`` the platform profile
    whose host builds the accounts' URLs.

    Raises:
        NotFound: no such request (or not one ``actor`` may see).
        Forbidden: ``actor`` is not platform staff.
        Deferred: an item's users' notice is deferred until after ``now``.
        ValidationFailed: an unknown type; a title too long; items still undecided; a
            redacted target that is not one of the request's (with its line); a passage
            shorter than three characters (with its line); too many passages.
    """
    require_staff(actor)
    req = get_request(actor, reference)
    _check_publishable(req, now)
    errors: list[FieldError] = []
    if choices.notice_type not in NOTICE_TYPES:
        errors.append(FieldError("notice_type", f"unknown notice type {choices.notice_type!r}",
                                 "choice"))
    title = choices.title.strip() or (
        f"{req.category.value.replace('_', ' ').capitalize()} order from "
        f"{req.issuing_authority} ({req.jurisdiction})")
    if len(title) > MAX_TITLE:
        errors.append(FieldError("title", f"at most {MAX_TITLE} characters", "too_long"))
    if (req.decision_counts or {}).get("pending", 0) or not req.decision_counts:
        errors.append(FieldError("request", "every item must be decided before the request "
                                 "is published", "undecided"))
    host = PROFILES.get(profile, PROFILES["x"]).canonical_host
    items = db.session.execute(
        sa.select(RequestItem.id, RequestItem.position, RequestItem.kind, RequestItem.raw,
                  RequestItem.target, RequestItem.decision, RequestItem.territorial_scope)
        .where(RequestItem.request_id == req.id).order_by(RequestItem.position)
    ).all()
    by_target = {row.target.lower(): row for row in items}
    redacted_ids: list[int] = []
    secrets: list[str] = []
    for number, line in _lines(choices.redact_targets):
        try:
            key = normalise(line, PROFILES.get(profile, PROFILES["x"]))[1].lower()
        except TargetError:
            key = line.lower()
        row = by_target.get(key) or by_target.get(line.lower())
        if row is None:
            errors.append(FieldError("redact_targets",
                                     f"line {number}: {line} is not a target of this request",
                                     "unknown_target", index=number))
            continue
        if row.id not in redacted_ids:
            redacted_ids.append(row.id)
        url = _work_url(row.target, row.kind, host)
        secrets += [row.target, row.raw, url]
        if row.target.startswith("@"):
            secrets.append(row.target[1:])
    passages: list[str] = []
    for number, line in _lines(choices.redact_passages):
        if len(line) < MIN_PASSAGE:
            errors.append(FieldError("redact_passages",
                                     f"line {number}: a passage needs at least {MIN_PASSAGE} "
                                     "characters", "too_short", index=number))
        elif line not in passages:
            passages.append(line)
    if len(passages) > MAX_PASSAGES:
        errors.append(FieldError("redact_passages", f"at most {MAX_PASSAGES} passages",
                                 "too_many"))
    if errors:
        raise ValidationFailed(errors)
    chosen = set(redacted_ids)
    groups: dict[str, list[dict[str, str]]] = {}
    for row in items:
        if row.decision is None:
            continue
        url = MASK if row.id in chosen else _work_url(row.target, row.kind, host)
        groups.setdefault(_action_words(row.decision, row.territorial_scope), []).append(
            {"url": url})
    regulations = [part for part in (req.legal_statute, req.legal_article) if part]
    name, country = platform
    notice: dict[str, Any] = {
        "type": choices.notice_type,
        "title": title,
        "body": req.description,
        "date_sent": req.order_date.isoformat() if req.order_date else None,
        "date_received": req.clock_start.date().isoformat(),
        "jurisdiction_list": [req.jurisdiction],
        "regulation_list": regulations,
        "action_taken": _action_taken(req),
        "case_id_number": req.order_reference or None,
        "entity_notice_roles_attributes": [
            {"name": "sender", "entity_attributes": {
                "name": req.issuing_authority, "kind": "organization",
                "country_code": req.jurisdiction}},
            {"name": "principal", "entity_attributes": {
                "name": req.agency.name, "kind": "organization",
                "country_code": req.agency.country}},
            {"name": "recipient", "entity_attributes": {
                "name": name, "kind": "organization", "country_code": country}},
        ],
        "works_attributes": [
            {"description": description, "infringing_urls_attributes": urls}
            for description, urls in groups.items()
        ],
    }
    # Masking runs over every text of the notice: a target also named in the description
    # or in another target's URL is masked there too.
    notice = _redact(notice, _pattern([*secrets, *passages]))
    return Prepared({"notice": notice}, redacted_ids, passages)


def publish(actor: Actor, reference: str, choices: Choices, *, now: datetime,
            platform: tuple[str, str], profile: str = "x") -> NoticePublication:
    """Record a reviewer's decision to publish ``reference`` with ``choices``; one audit
    event. Returns the publication (its ``notice`` is what leaves).

    Raises:
        Forbidden: ``actor`` is not a legal reviewer; or the users' notice is deferred
            (:class:`Deferred`).
        NotFound, ValidationFailed: as :func:`prepare`.
    """
    if actor.role is not Role.LEGAL_REVIEWER:
        raise Forbidden("only a legal reviewer decides to publish a request")
    with transaction():
        prepared = prepare(actor, reference, choices, now=now, platform=platform,
                           profile=profile)
        req = get_request(actor, reference)
        assert actor.user_id is not None
        publication = NoticePublication(
            request_id=req.id, decided_by_id=actor.user_id, decided_at=now,
            notice_type=choices.notice_type, redacted_item_ids=prepared.redacted_item_ids,
            redacted_passages=prepared.redacted_passages, notice=prepared.notice)
        db.session.add(publication)
        append_event(req, "notice_published", actor=actor, now=now, payload={
            "notice_type": choices.notice_type,
            "redacted_items": len(prepared.redacted_item_ids),
            "redacted_passages": len(prepared.redacted_passages),
        })
    return publication


def latest(actor: Actor, reference: str, *, now: datetime) -> NoticePublication:
    """The last notice published for ``reference``, if it may leave now.

    Raises:
        NotFound: no such request, or it was never published.
        Forbidden: ``actor`` is not platform staff; the users' notice is deferred now
            (:class:`Deferred`, e.g. a gag order recorded after publication).
    """
    require_staff(actor)
    req = get_request(actor, reference)
    _check_publishable(req, now)
    found = db.session.scalars(
        sa.select(NoticePublication).where(NoticePublication.request_id == req.id)
        .order_by(NoticePublication.decided_at.desc(), NoticePublication.id.desc()).limit(1)
    ).first()
    if found is None:
        raise NotFound(f"{reference} has not been published: a legal reviewer publishes it "
                       "from its review page")
    return found


def publications(actor: Actor, reference: str) -> Sequence[NoticePublication]:
    """Every publication of ``reference``, newest first.

    Raises:
        NotFound: no such request. Forbidden: ``actor`` is not platform staff.
    """
    require_staff(actor)
    req = get_request(actor, reference)
    return db.session.scalars(
        sa.select(NoticePublication).where(NoticePublication.request_id == req.id)
        .order_by(NoticePublication.decided_at.desc(), NoticePublication.id.desc())
    ).all()
