"""Telling people what needs them: an in-app notice and a mail (through the outbox) for
each recipient of an event, in the transaction that records the event.

Who hears of what is ``workflows/notices.py``'s table. This module turns its audiences
into people (active users only; officials of the request's own agency only; the
reviewers of a new request by the jurisdictions they cover, ``services/coverage.py``),
leaves out those who muted the kind (a mute silences the mail and the in-app notice
alike; nobody can mute an emergency) and the person who caused the event, and writes
both rows with one dedup key per event and person, so an event can never notify anyone
twice.

Other services call :func:`notify` where they record an event (filing, each lifecycle
trigger); the SLA sweep builds its rows in bulk with :func:`sla_rows`.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa

from portal.extensions import db
from portal.links import external_url
from portal.models import LegalRequest, NoticeMute, Notification, User, UserNotice, outbox_row
from portal.models.columns import utcnow
from portal.services import coverage
from portal.services.actors import Actor
from portal.services.errors import FieldError, ValidationFailed
from portal.services.paging import Page, page_of
from portal.services.transaction import transaction
from workflows.codes import Priority
from workflows.notices import (
    AUDIENCES,
    MUTABLE_KINDS,
    TRIGGER_KINDS,
    Audience,
    NoticeKind,
    filed_kind,
    kinds_for,
    mutable,
    sla_audiences,
    sla_kind,
)
from workflows.roles import STAFF_ROLES, Role

#: The header shows "99+" past this many unread notices: counting stops there.
UNREAD_CAP = 99
NOTICES_PER_PAGE = 50

#: The mail template of each kind (templates/emails/<name>.txt).
MAIL_TEMPLATES: dict[NoticeKind, str] = {
    NoticeKind.REQUEST_FILED: "notice_request_filed",
    NoticeKind.URGENT_FILED: "notice_request_filed",
    NoticeKind.EMERGENCY_FILED: "notice_request_filed",
    NoticeKind.INFO_REQUESTED: "notice_info_requested",
    NoticeKind.INFO_PROVIDED: "notice_info_provided",
    NoticeKind.OUTCOME: "notice_outcome",
    NoticeKind.DISPUTED: "notice_disputed",
    NoticeKind.WITHDRAWN: "notice_withdrawn",
    NoticeKind.ASSIGNED: "notice_assigned",
    NoticeKind.SLA_WARNING: "sla_alert",
    NoticeKind.SLA_BREACH: "sla_breach",
}


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str
    locale: str
    role: Role


def audience_filter(audiences: Collection[Audience], *,
                    agency_id: int | sa.BindParameter[int] | None,
                    assignee_id: int | sa.BindParameter[int] | None,
                    jurisdiction: str | sa.BindParameter[str] | None = None,
                    ) -> sa.ColumnElement[bool]:
    """The users of ``audiences``, as a condition on ``users`` (active ones only). The
    reviewers covering ``jurisdiction`` are every reviewer when it is not given. Each
    value may be a bound parameter (see :func:`recipients`)."""
    parts: list[sa.ColumnElement[bool]] = []
    if Audience.COVERING_REVIEWERS in audiences and Audience.REVIEWERS not in audiences:
        parts.append(coverage.covering_reviewers(jurisdiction) if jurisdiction is not None
                     else User.role == Role.LEGAL_REVIEWER)
    roles = {Audience.REVIEWERS: Role.LEGAL_REVIEWER, Audience.LIAISONS: Role.PLATFORM_LIAISON,
             Audience.ADMINS: Role.ADMIN}
    parts += [User.role == role for audience, role in roles.items() if audience in audiences]
    if Audience.AGENCY_OFFICIALS in audiences and agency_id is not None:
        parts.append(sa.and_(User.role == Role.AGENCY_OFFICIAL, User.agency_id == agency_id))
    if Audience.ASSIGNEE in audiences and assignee_id is not None:
        # The assignee is a reviewer; a reviewer made something else since is not told.
        parts.append(sa.and_(User.id == assignee_id, User.role == Role.LEGAL_REVIEWER))
    if not parts:
        return sa.false()
    return sa.and_(User.active.is_(True), sa.or_(*parts))


def recipients(kind: NoticeKind, audiences: Collection[Audience], *, agency_id: int | None,
               assignee_id: int | None, priority: Priority | None,
               exclude: int | None = None, jurisdiction: str | None = None,
               ) -> list[Recipient]:
    """The people ``kind`` goes to, in one statement: the audiences' active users but
    ``exclude`` (who caused it) and those who muted the kind, unless it cannot be muted.
    Whether anyone covers ``jurisdiction`` does not depend on mutes: a reviewer who
    covers it and muted new requests chose not to hear, and nobody else is told instead."""
    query = _recipients_query(kind, frozenset(audiences), agency_id is not None,
                              assignee_id is not None, jurisdiction is not None,
                              exclude is not None, mutable(kind, priority))
    values = {"agency_id": agency_id, "assignee_id": assignee_id, "exclude": exclude,
              "jurisdiction": jurisdiction.upper() if jurisdiction is not None else None}
    return [Recipient(r.id, r.email, r.locale, r.role)
            for r in db.session.execute(query, values)]


@functools.lru_cache(maxsize=512)
def _recipients_query(kind: NoticeKind, audiences: frozenset[Audience], agency: bool,
                      assignee: bool, jurisdiction: bool, exclude: bool, muted: bool
                      ) -> sa.Select[int, str, str, Role]:
    """:func:`recipients`' statement, with the values as bound parameters: built once per
    shape (building it cost more than running it: every filing and transition asks)."""
    query = sa.select(User.id, User.email, User.locale, User.role).where(
        audience_filter(audiences,
                        agency_id=sa.bindparam("agency_id") if agency else None,
                        assignee_id=sa.bindparam("assignee_id") if assignee else None,
                        jurisdiction=sa.bindparam("jurisdiction") if jurisdiction else None))
    if exclude:
        query = query.where(User.id != sa.bindparam("exclude"))
    if muted:
        query = query.where(~sa.exists().where(NoticeMute.user_id == User.id,
                                               NoticeMute.kind == kind))
    return query.order_by(User.id)


def request_link(role: Role, reference: str) -> str:
    """The request's page for a person of ``role``, as a mail links to it."""
    if role in STAFF_ROLES:
        return external_url("review.request", reference=reference)
    return external_url("requests.view", reference=reference)


def rows_for(kind: NoticeKind, people: Iterable[Recipient], *, request_id: int | None,
             reference: str | None, key: str, payload: dict[str, Any], now: datetime,
             template: str | None = None, mail_prefix: str = "mail:",
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The in-app notices and outbox mails of ``kind`` for ``people``, as rows to insert.
    ``key`` names the event; each row's dedup key adds the person to it."""
    notices: list[dict[str, Any]] = []
    mails: list[dict[str, Any]] = []
    template = template or MAIL_TEMPLATES[kind]
    links: dict[bool, str] = {}
    for person in people:
        dedup = f"{key}:{person.user_id}"
        notices.append({"dedup_key": f"notice:{dedup}", "user_id": person.user_id,
                        "kind": kind, "request_id": request_id, "reference": reference,
                        "payload": payload, "created_at": now, "read_at": None})
        params = dict(payload, kind=kind.value)
        if reference is not None:
            staff = person.role in STAFF_ROLES
            if staff not in links:
                links[staff] = request_link(person.role, reference)
            params["link"] = links[staff]
        mails.append(outbox_row(template, dedup_key=f"{mail_prefix}{dedup}",
                                recipient=person.email, params=params, now=now,
                                locale=person.locale, user_id=person.user_id,
                                request_id=request_id))
    return notices, mails


def insert(notices: Sequence[dict[str, Any]], mails: Sequence[dict[str, Any]]) -> None:
    """Add the rows to the caller's transaction."""
    # On the tables, not the ORM entities: the rows are plain data and the ORM's bulk
    # insert took longer to prepare them than the database took to write them.
    if notices:
        db.session.execute(sa.insert(cast(sa.Table, UserNotice.__table__)), list(notices))
    if mails:
        db.session.execute(sa.insert(cast(sa.Table, Notification.__table__)), list(mails))


def notify(kind: NoticeKind, req: LegalRequest, *, key: str, now: datetime,
           actor: Actor | None = None, payload: dict[str, Any] | None = None,
           audiences: Collection[Audience] | None = None) -> int:
    """Tell everyone ``kind`` goes to about ``req`` (in the caller's transaction); return
    how many people. ``key`` names the event uniquely (the request's reference and the
    event's number): the same key never notifies the same person twice.

    The hook for any service that records an event: ``audiences`` overrides the matrix.
    """
    people = recipients(kind, AUDIENCES[kind] if audiences is None else audiences,
                        agency_id=req.agency_id, assignee_id=req.assigned_reviewer_id,
                        priority=req.priority, jurisdiction=req.jurisdiction,
                        exclude=actor.user_id if actor is not None else None)
    if not people:
        return 0
    body = {"reference": req.reference, "jurisdiction": req.jurisdiction,
            "category": req.category.value, "priority": req.priority.value,
            **(payload or {})}
    notices, mails = rows_for(kind, people, request_id=req.id, reference=req.reference,
                              key=key, payload=body, now=now)
    insert(notices, mails)
    return len(people)


def on_filing(req: LegalRequest, agency_name: str, actor: Actor, now: datetime) -> int:
    """The notice of a new request (the reviewers who cover its jurisdiction, every
    reviewer for an emergency; urgent and emergency ones the liaisons too)."""
    return notify(filed_kind(req.priority), req, key=f"{req.reference}:1", now=now,
                  actor=actor, payload={"agency": agency_name, "items": req.item_count})


def on_transition(req: LegalRequest, trigger: str, seq: int, actor: Actor,
                  now: datetime) -> int:
    """The notice a lifecycle trigger sends, if any (``TRIGGER_KINDS``). Called after the
    trigger's effects, so a reassignment's notice goes to the reviewer it was handed to."""
    kind = TRIGGER_KINDS.get(trigger)
    if kind is None:
        return 0
    payload: dict[str, Any] = {"trigger": trigger}
    if req.resolution is not None:
        payload["resolution"] = req.resolution.value
    return notify(kind, req, key=f"{req.reference}:{seq}", now=now, actor=actor,
                  payload=payload)


# -- SLA thresholds (the sweep, in bulk) ------------------------------------------------

@dataclass(frozen=True)
class SlaPeople:
    """Everyone an SLA notice of one sweep batch can go to, read once per batch."""

    liaisons: list[Recipient]
    leads: frozenset[int]
    admins: list[Recipient]
    reviewers: dict[int, Recipient]
    muted: dict[int, set[NoticeKind]]


def sla_people(reviewer_ids: Collection[int]) -> SlaPeople:
    """The liaisons (and which lead them), the administrators and the batch's claimed
    reviewers, with their SLA mutes: two statements."""
    rows = db.session.execute(
        sa.select(User.id, User.email, User.locale, User.role, User.liaison_lead)
        .where(User.active.is_(True),
               sa.or_(User.role.in_((Role.PLATFORM_LIAISON, Role.ADMIN)),
                      sa.and_(User.role == Role.LEGAL_REVIEWER,
                              User.id.in_(list(reviewer_ids)))))
        .order_by(User.id)
    ).all()
    muted: dict[int, set[NoticeKind]] = {}
    for user_id, kind in db.session.execute(
        sa.select(NoticeMute.user_id, NoticeMute.kind).where(
            NoticeMute.user_id.in_([r.id for r in rows]),
            NoticeMute.kind.in_((NoticeKind.SLA_WARNING, NoticeKind.SLA_BREACH)))
    ):
        muted.setdefault(user_id, set()).add(kind)

    def person(r: Any) -> Recipient:
        return Recipient(r.id, r.email, r.locale, r.role)

    return SlaPeople(
        liaisons=[person(r) for r in rows if r.role is Role.PLATFORM_LIAISON],
        leads=frozenset(r.id for r in rows if r.role is Role.PLATFORM_LIAISON
                        and r.liaison_lead),
        admins=[person(r) for r in rows if r.role is Role.ADMIN],
        reviewers={r.id: person(r) for r in rows if r.role is Role.LEGAL_REVIEWER},
        muted=muted,
    )


def sla_rows(people: SlaPeople, *, clock_id: int, run: int, threshold: float,
             request_id: int, reference: str, assignee_id: int | None, priority: Priority,
             params: dict[str, Any], now: datetime
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The notices and mails for a clock that crossed ``threshold`` (the highest this
    sweep crossed), escalating as ``workflows.notices.sla_audiences`` says. At the breach
    the liaison leads and the administrators get the breach mail, everyone else the
    alert."""
    kind = sla_kind(threshold)
    assignee = people.reviewers.get(assignee_id) if assignee_id is not None else None
    audiences = sla_audiences(threshold, assigned=assignee is not None,
                              emergency=priority is Priority.EMERGENCY)
    chosen: dict[int, Recipient] = {}
    if Audience.ASSIGNEE in audiences and assignee is not None:
        chosen[assignee.user_id] = assignee
    if Audience.LIAISONS in audiences:
        chosen.update((p.user_id, p) for p in people.liaisons)
    if Audience.ADMINS in audiences:
        chosen.update((p.user_id, p) for p in people.admins)
    if mutable(kind, priority):
        chosen = {uid: p for uid, p in chosen.items() if kind not in people.muted.get(uid, ())}
    key = f"sla:{clock_id}:{run}:{threshold}"
    notices: list[dict[str, Any]] = []
    mails: list[dict[str, Any]] = []
    breach_audience = {uid: "lead" for uid in people.leads}
    breach_audience.update((p.user_id, "admin") for p in people.admins)
    for person in chosen.values():
        audience = breach_audience.get(person.user_id) if kind is NoticeKind.SLA_BREACH else None
        more_notices, more_mails = rows_for(
            kind, [person], request_id=request_id, reference=reference, key=key,
            payload=dict(params, audience=audience) if audience else params, now=now,
            template="sla_breach" if audience else "sla_alert", mail_prefix="")
        notices += more_notices
        mails += more_mails
    return notices, mails


# -- reading and muting -----------------------------------------------------------------

def unread_count(user_id: int) -> int:
    """How many unread notices the user has, counted up to ``UNREAD_CAP + 1`` (the
    header shows "99+"), from the partial index of unread rows."""
    unread = (sa.select(UserNotice.id)
              .where(UserNotice.user_id == user_id, UserNotice.read_at.is_(None))
              .limit(UNREAD_CAP + 1).subquery())
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(unread)) or 0)


def notices_page(actor: Actor, *, page: int = 1, unread_only: bool = False,
                 per_page: int = NOTICES_PER_PAGE) -> Page[UserNotice]:
    """The actor's notices, newest first."""
    query = sa.select(UserNotice).where(UserNotice.user_id == (actor.user_id or -1))
    if unread_only:
        query = query.where(UserNotice.read_at.is_(None))
    return page_of(query.order_by(UserNotice.created_at.desc(), UserNotice.id.desc()),
                   page, per_page)


def mark_read(actor: Actor, notice_ids: Sequence[int] | None = None, *,
              now: datetime | None = None) -> int:
    """Mark the actor's notices read (all of them when ``notice_ids`` is None); return
    how many changed. Another user's notice ids are ignored."""
    now = now or utcnow()
    with transaction():
        statement = sa.update(UserNotice).where(
            UserNotice.user_id == (actor.user_id or -1), UserNotice.read_at.is_(None))
        if notice_ids is not None:
            statement = statement.where(UserNotice.id.in_(list(notice_ids)))
        result = db.session.execute(statement.values(read_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def open_notice(actor: Actor, notice_id: int, *, now: datetime | None = None) -> str | None:
    """Mark the actor's notice ``notice_id`` read; return the reference of its request
    (None for a notice without one, or one that is not the actor's)."""
    with transaction():
        notice = db.session.scalar(sa.select(UserNotice).where(
            UserNotice.id == notice_id, UserNotice.user_id == (actor.user_id or -1)))
        if notice is None:
            return None
        if notice.read_at is None:
            notice.read_at = now or utcnow()
        return notice.reference


def muted_kinds(user_id: int) -> set[NoticeKind]:
    return set(db.session.scalars(sa.select(NoticeMute.kind).where(NoticeMute.user_id == user_id)))


def mutable_kinds_for(role: Role) -> list[NoticeKind]:
    """The kinds a person of ``role`` receives and may mute."""
    return [k for k in kinds_for(role) if k in MUTABLE_KINDS]


def set_mutes(actor: Actor, kinds: Collection[str]) -> set[NoticeKind]:
    """Replace the actor's mutes by ``kinds`` (one transaction); return them.

    Raises:
        ValidationFailed: a kind is unknown, cannot be muted, or is not one the actor's
            role receives; nothing is changed.
    """
    if actor.user_id is None:
        raise ValidationFailed([FieldError("kinds", "no user", "invalid")])
    allowed = {k.value for k in mutable_kinds_for(actor.role)}
    wrong = sorted(set(kinds) - allowed)
    if wrong:
        raise ValidationFailed([FieldError("kinds", f"cannot mute {', '.join(wrong)}",
                                           "choice")])
    chosen = {NoticeKind(k) for k in kinds}
    with transaction():
        db.session.execute(sa.delete(NoticeMute).where(NoticeMute.user_id == actor.user_id))
        if chosen:
            db.session.execute(sa.insert(NoticeMute), [
                {"user_id": actor.user_id, "kind": k} for k in sorted(chosen)])
    return chosen
