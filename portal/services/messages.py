"""Messages on a request, and staff-only internal notes."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Message
from portal.models.columns import utcnow
from portal.services import audit
from portal.services.access import get_request, visible_messages
from portal.services.actors import Actor
from portal.services.audit import append_event
from portal.services.errors import FieldError, Forbidden, ValidationFailed
from portal.services.transaction import transaction

MAX_MESSAGE_LENGTH = 10_000


def post_message(
    actor: Actor,
    reference: str,
    body: str,
    *,
    internal: bool = False,
    now: datetime | None = None,
) -> Message:
    """Post a message (or, for staff, an internal note) on a request.

    Raises:
        NotFound: no such request visible to the actor.
        Forbidden: an agency official tried to post an internal note.
        ValidationFailed: the body is empty or too long.
    """
    now = now or utcnow()
    text = body.strip()
    if not text:
        raise ValidationFailed([FieldError("body", "the message is empty", "required")])
    if len(text) > MAX_MESSAGE_LENGTH or "\x00" in text:
        raise ValidationFailed(
            [FieldError("body", f"at most {MAX_MESSAGE_LENGTH} characters, no NUL", "invalid")]
        )
    if internal and not actor.is_staff:
        raise Forbidden("only platform staff can write internal notes")
    if actor.user_id is None:
        raise Forbidden("messages need an author")
    with transaction():
        req = get_request(actor, reference, for_update=True)
        message = Message(
            request_id=req.id, author_id=actor.user_id, body=text, internal=internal,
            created_at=now,
        )
        audit.add_message(req, message)
        db.session.flush()
        append_event(
            req, "note" if internal else "message", actor=actor, now=now,
            payload={
                "message_id": message.id,
                "internal": internal,
                "body_sha256": hashlib.sha256(text.encode()).hexdigest(),
            },
        )
    return message


def messages_for(actor: Actor, reference: str) -> list[Message]:
    """The request's messages the actor may read, oldest first (no internal notes for
    agencies).

    Raises:
        NotFound: no such request visible to the actor.
    """
    req = get_request(actor, reference)
    query = (sa.select(Message).options(joinedload(Message.author))
             .where(Message.request_id == req.id, visible_messages(actor)))
    return list(db.session.scalars(query.order_by(Message.created_at, Message.id)))
