"""The reviewer's working record of one target: a short note on the content and the
reference of a snapshot of it (where the platform keeps a copy: a case id or a link).

Staff only: the agency never reads a note or learns that one was written (the event is
staff-only, see ``services/access.STAFF_ONLY_EVENTS``; the API leaves both fields out for
agencies).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from portal.extensions import db
from portal.models import RequestItem
from portal.models.columns import utcnow
from portal.services.access import get_request
from portal.services.actors import Actor
from portal.services.audit import append_event
from portal.services.errors import FieldError, Forbidden, NotFound, ValidationFailed
from portal.services.transaction import transaction
from workflows.roles import Role

#: The longest note and snapshot reference kept, in characters (the columns' sizes).
MAX_NOTE_LENGTH = 1000
MAX_SNAPSHOT_REF_LENGTH = 500


def _problems(note: str, snapshot_ref: str) -> list[FieldError]:
    errors = []
    if len(note) > MAX_NOTE_LENGTH:
        errors.append(FieldError("note", f"the note is {len(note)} characters long; at most "
                                 f"{MAX_NOTE_LENGTH} are kept", "too_long"))
    if len(snapshot_ref) > MAX_SNAPSHOT_REF_LENGTH:
        errors.append(FieldError(
            "snapshot_ref", f"the snapshot reference is {len(snapshot_ref)} characters "
            f"long; at most {MAX_SNAPSHOT_REF_LENGTH} are kept", "too_long"))
    elif any(not c.isprintable() for c in snapshot_ref):
        errors.append(FieldError("snapshot_ref", "the snapshot reference is one line, "
                                 "without control or invisible characters",
                                 "control_characters"))
    return errors


def note_item(actor: Actor, reference: str, item_id: int, *, note: str, snapshot_ref: str,
              now: datetime | None = None) -> RequestItem:
    """Record the reviewer's note and snapshot reference on one item (empty text clears
    it), with an ``item_noted`` event; return the item.

    Raises:
        NotFound: no such request visible to the actor, or no such item on it.
        Forbidden: the actor is not a legal reviewer.
        ValidationFailed: a text too long, a snapshot reference over several lines, or
            nothing changed (``unchanged``).
    """
    now = now or utcnow()
    # Open to every reviewer, whoever holds the request: a note is the reviewers' working
    # record, not a decision (the agency never reads it, no outcome, clock or user notice
    # depends on it, and each change is on the record), and a colleague adding what they
    # know of a target is help, not a second decision.
    note, snapshot_ref = note.strip(), snapshot_ref.strip()
    if actor.role is not Role.LEGAL_REVIEWER:
        get_request(actor, reference)  # another agency's request is not found, even here
        raise Forbidden("only a legal reviewer can note an item")
    errors = _problems(note, snapshot_ref)
    with transaction():
        req = get_request(actor, reference, for_update=True)
        item = db.session.scalar(sa.select(RequestItem).where(
            RequestItem.request_id == req.id, RequestItem.id == item_id))
        if item is None:
            raise NotFound(f"{reference} has no item {item_id}")
        if errors:
            raise ValidationFailed(errors)
        if (item.review_note or "", item.snapshot_ref or "") == (note, snapshot_ref):
            raise ValidationFailed([FieldError("note", "nothing changed", "unchanged")])
        item.review_note = note or None
        item.snapshot_ref = snapshot_ref or None
        append_event(req, "item_noted", actor=actor, now=now, payload={
            "position": item.position, "target": item.target,
            "note": note, "snapshot_ref": snapshot_ref,
        })
    return item


def get_item(actor: Actor, reference: str, item_id: int) -> RequestItem:
    """One item of a request the actor may see.

    Raises:
        NotFound: no such request visible to the actor, or no such item on it.
    """
    req = get_request(actor, reference)
    item = db.session.scalar(sa.select(RequestItem).where(
        RequestItem.request_id == req.id, RequestItem.id == item_id))
    if item is None:
        raise NotFound(f"{reference} has no item {item_id}")
    return item
