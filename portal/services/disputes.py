"""Contested items: the items an agency disputes (each with its own reason, or none
beyond the dispute's), the reviewer's answer to each, and what the agency reads of them.

A dispute is the ``dispute`` trigger (``lifecycle.fire``), which opens a new round of
contested items in its own transaction (:func:`open_round`): the items named, or every
item of the request. The reviewer answers items while the request is disputed
(:func:`answer_items`: one transaction and one audit event per answer, whatever the
number of items); upholding or revising answers the items left (:func:`close_round`):
those whose decision changed since the dispute as changed, the others as upheld.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.models import ItemDispute, LegalRequest, RequestItem
from portal.models.columns import utcnow
from portal.services import assignment
from portal.services.access import get_request
from portal.services.actors import Actor
from portal.services.audit import append_event
from portal.services.decisions import ranges
from portal.services.errors import Conflict, FieldError, ValidationFailed
from portal.services.paging import Page, page_of
from portal.services.transaction import transaction
from workflows.codes import DisputeAnswer
from workflows.request_flow import NotPermitted
from workflows.states import RequestState

#: Longest reason of one contested item, and longest answer.
MAX_TEXT = 4000
#: Ids per statement: well under SQLite's bound-parameter limit.
_CHUNK = 5_000


@dataclass(frozen=True)
class Contest:
    """One item the agency contests, by id, with its reason (empty: the dispute's)."""

    item_id: int
    reason: str = ""


def _text_problem(text: str) -> str | None:
    if len(text) > MAX_TEXT or "\x00" in text:
        return f"at most {MAX_TEXT} characters, no NUL"
    return None


def current_round(request_id: int) -> int:
    """The request's newest dispute round (0: never disputed)."""
    return int(db.session.scalar(
        sa.select(sa.func.max(ItemDispute.round)).where(ItemDispute.request_id == request_id)
    ) or 0)


def _positions(req: LegalRequest, item_ids: Sequence[int]) -> dict[int, int]:
    """Position of each listed id that is an item of ``req``."""
    found: dict[int, int] = {}
    ids = sorted(set(item_ids))
    for start in range(0, len(ids), _CHUNK):
        found.update((row.id, row.position) for row in db.session.execute(
            sa.select(RequestItem.id, RequestItem.position).where(
                RequestItem.request_id == req.id,
                RequestItem.id.in_(ids[start:start + _CHUNK]))))
    return found


def open_round(req: LegalRequest, contested: Sequence[Contest] | None,
               now: datetime) -> dict[str, Any]:
    """Record the items of a new dispute of ``req`` (inside the dispute's transaction):
    the ``contested`` ones, or all of them when none are named. Returns what the dispute's
    audit event records of them.

    Raises:
        ValidationFailed: every problem at once: an id listed twice or not an item of this
            request, a reason too long.
    """
    number = current_round(req.id) + 1
    if not contested:
        db.session.execute(sa.insert(ItemDispute).from_select(
            ["request_id", "item_id", "round", "created_at"],
            sa.select(RequestItem.request_id, RequestItem.id, sa.literal(number),
                      sa.literal(now, ItemDispute.__table__.c.created_at.type))
            .where(RequestItem.request_id == req.id)))
        return {"round": number, "contested": req.item_count,
                "positions": [[1, req.item_count]] if req.item_count else []}
    errors: list[FieldError] = []
    seen: set[int] = set()
    for index, contest in enumerate(contested):
        if contest.item_id in seen:
            errors.append(FieldError("items", f"item {contest.item_id} is listed twice",
                                     "duplicate", index))
        seen.add(contest.item_id)
        problem = _text_problem(contest.reason.strip())
        if problem:
            errors.append(FieldError("items", f"item {contest.item_id}: reason {problem}",
                                     "invalid", index))
    positions = _positions(req, list(seen))
    errors += [FieldError("items", f"item {c.item_id} is not part of {req.reference}",
                          "unknown", index)
               for index, c in enumerate(contested) if c.item_id not in positions]
    if errors:
        raise ValidationFailed(errors)
    unique = list({c.item_id: c for c in contested}.values())
    db.session.execute(sa.insert(ItemDispute), [
        {"request_id": req.id, "item_id": c.item_id, "round": number,
         "reason": c.reason.strip() or None, "created_at": now} for c in unique])
    reasons = sorted((positions[c.item_id], c.reason.strip()) for c in unique
                     if c.reason.strip())
    payload: dict[str, Any] = {
        "round": number, "contested": len(unique),
        "positions": ranges(sorted(positions[c.item_id] for c in unique))}
    if reasons:
        payload["item_reasons"] = [{"position": p, "reason": text} for p, text in reasons]
    return payload


def _open_rows(req: LegalRequest, number: int) -> sa.ColumnElement[bool]:
    return sa.and_(ItemDispute.request_id == req.id, ItemDispute.round == number,
                   ItemDispute.answer.is_(None))


def _changed_items(req: LegalRequest) -> sa.Select[Any]:
    """The request's items decided again since it was disputed."""
    return sa.select(RequestItem.id).where(RequestItem.request_id == req.id,
                                           RequestItem.decided_at > req.disputed_at)


def close_round(req: LegalRequest, actor: Actor, now: datetime,
                text: str | None) -> dict[str, int]:
    """Answer the contested items of the current round that have no answer yet (inside
    the transaction of ``uphold`` or ``revise``): changed where the item was decided again
    since the dispute, upheld otherwise, with ``text`` (the uphold's reason). Returns how
    many of each."""
    number = current_round(req.id)
    if number == 0 or req.disputed_at is None:
        return {}
    done: dict[str, int] = {}
    changed = _changed_items(req)
    for answer, which in ((DisputeAnswer.CHANGED, ItemDispute.item_id.in_(changed)),
                          (DisputeAnswer.UPHELD, ItemDispute.item_id.not_in(changed))):
        count = db.session.execute(
            sa.update(ItemDispute).where(_open_rows(req, number), which).values(
                answer=answer, answer_text=text or None, answered_by_id=actor.user_id,
                answered_at=now),
            execution_options={"synchronize_session": False}).rowcount  # type: ignore[attr-defined]
        if count:
            done[answer.value] = count
    return done


def answer_items(
    actor: Actor,
    reference: str,
    *,
    answer: str,
    text: str,
    item_ids: Sequence[int] | None = None,
    all_open: bool = False,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> int:
    """Answer contested items of the current dispute: the listed ones (by item id), or
    every one without an answer yet; return how many. An answer given before is replaced
    (the audit record keeps both).

    ``changed`` says the item's decision was changed (with the decide form or call) since
    the dispute; ``upheld`` that it stands.

    Raises:
        NotFound: no such request visible to the actor.
        NotPermitted: the actor is not a legal reviewer; ``NotAssignee`` when another
            reviewer holds the request (only they or a lead reviewer answer).
        Conflict: the request is not disputed, or changed since ``expected_version``.
        ValidationFailed: every problem at once: an unknown answer, no text, no items
            chosen; an item not contested in this dispute, answered ``changed`` while its
            decision did not change, or ``upheld`` while it did.
    """
    now = now or utcnow()
    errors: list[FieldError] = []
    if answer not in DisputeAnswer._value2member_map_:
        errors.append(FieldError("answer", f"unknown answer {answer!r}", "choice"))
    body = text.strip()
    if not body:
        errors.append(FieldError("text", "say why", "required"))
    elif (problem := _text_problem(body)) is not None:
        errors.append(FieldError("text", problem, "invalid"))
    if (item_ids is None) == (not all_open):
        errors.append(FieldError("item_ids", "give either a list of items or all_open",
                                 "required"))
    elif item_ids is not None and not item_ids:
        errors.append(FieldError("item_ids", "no items selected", "required"))
    with transaction():
        req = get_request(actor, reference, for_update=True)
        refused = assignment.decide_refusal(actor, req)
        if isinstance(refused, NotPermitted):
            raise refused
        if req.state is not RequestState.DISPUTED:
            raise Conflict(f"answers are given while a request is disputed; {reference} "
                           f"is {req.state.value}")
        if refused is not None:
            raise refused
        if expected_version is not None and req.version != expected_version:
            raise Conflict(f"{reference} changed since you loaded it; reload and try again")
        if errors:
            raise ValidationFailed(errors)
        chosen = DisputeAnswer(answer)
        number = current_round(req.id)
        query = sa.select(ItemDispute.id, ItemDispute.item_id, RequestItem.position,
                          RequestItem.decided_at).join(RequestItem).where(
            ItemDispute.request_id == req.id, ItemDispute.round == number)
        if item_ids is None:
            rows = db.session.execute(query.where(ItemDispute.answer.is_(None))).all()
        else:
            rows = []
            ids = sorted(set(item_ids))
            for start in range(0, len(ids), _CHUNK):
                rows += db.session.execute(query.where(
                    ItemDispute.item_id.in_(ids[start:start + _CHUNK]))).all()
            errors += [FieldError("item_ids", f"item {i} is not contested in this dispute",
                                  "not_contested", i)
                       for i in sorted(set(ids) - {r.item_id for r in rows})]
        assert req.disputed_at is not None
        for row in rows:
            changed = row.decided_at is not None and row.decided_at > req.disputed_at
            if chosen is DisputeAnswer.CHANGED and not changed:
                errors.append(FieldError("item_ids", f"item {row.item_id}: its decision did "
                                         "not change since the dispute", "not_changed",
                                         row.item_id))
            elif chosen is DisputeAnswer.UPHELD and changed:
                errors.append(FieldError("item_ids", f"item {row.item_id}: its decision "
                                         "changed since the dispute", "changed",
                                         row.item_id))
        if not rows and not errors:
            errors.append(FieldError("item_ids", "every contested item has an answer",
                                     "required"))
        if errors:
            raise ValidationFailed(errors)
        ids = [r.id for r in rows]
        for start in range(0, len(ids), _CHUNK):
            db.session.execute(
                sa.update(ItemDispute).where(ItemDispute.id.in_(ids[start:start + _CHUNK]))
                .values(answer=chosen, answer_text=body, answered_by_id=actor.user_id,
                        answered_at=now),
                execution_options={"synchronize_session": False})
        append_event(req, "dispute_answered", actor=actor, now=now, payload={
            "round": number, "answer": chosen.value, "text": body, "count": len(rows),
            "positions": ranges(sorted(r.position for r in rows))})
    return len(rows)


@dataclass(frozen=True)
class Summary:
    """The current dispute of a request, counted."""

    round: int
    contested: int
    upheld: int
    changed: int

    @property
    def open(self) -> int:
        return self.contested - self.upheld - self.changed


def summary(request_id: int) -> Summary | None:
    """The newest dispute's counts (``None``: never disputed); one statement."""
    number = current_round(request_id)
    if number == 0:
        return None
    counts: dict[DisputeAnswer | None, int] = {
        row[0]: int(row[1]) for row in db.session.execute(
            sa.select(ItemDispute.answer, sa.func.count()).where(
                ItemDispute.request_id == request_id, ItemDispute.round == number)
            .group_by(ItemDispute.answer))}
    return Summary(number, sum(counts.values()), counts.get(DisputeAnswer.UPHELD, 0),
                   counts.get(DisputeAnswer.CHANGED, 0))


def contested_page(request_id: int, number: int, *, page: int = 1,
                   per_page: int = 50) -> Page[Any]:
    """A page of the items contested in dispute round ``number``, in filing order: id,
    position, kind, target, decision, the agency's reason, the answer and its text."""
    query = (sa.select(RequestItem.id, RequestItem.position, RequestItem.kind,
                       RequestItem.target, RequestItem.decision, ItemDispute.reason,
                       ItemDispute.answer, ItemDispute.answer_text, ItemDispute.answered_at)
             .join(RequestItem, RequestItem.id == ItemDispute.item_id)
             .where(ItemDispute.request_id == request_id, ItemDispute.round == number)
             .order_by(RequestItem.position))
    return page_of(query, page, per_page, count=True)


def contested_after(request_id: int, *, after_position: int | None,
                    limit: int) -> tuple[list[Any], int | None]:
    """The newest dispute's contested items after ``after_position`` (the API's cursor),
    and the position to continue from (``None`` at the end)."""
    number = current_round(request_id)
    if number == 0:
        return [], None
    query = (sa.select(RequestItem.id, RequestItem.position, RequestItem.target,
                       RequestItem.decision, ItemDispute.round, ItemDispute.reason,
                       ItemDispute.answer, ItemDispute.answer_text, ItemDispute.answered_at)
             .join(RequestItem, RequestItem.id == ItemDispute.item_id)
             .where(ItemDispute.request_id == request_id, ItemDispute.round == number)
             .order_by(RequestItem.position).limit(limit + 1))
    if after_position is not None:
        query = query.where(RequestItem.position > after_position)
    rows = list(db.session.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].position if more and rows else None)
