"""In-app notices: what a person was told (the mail of the same notice goes through the
outbox, ``Notification``), with whether they have read it, and the kinds they muted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import Model
from portal.models.columns import JSONType, UTCDateTime, code_enum, utcnow
from workflows.notices import NoticeKind


class UserNotice(Model):
    """One notice to one user. ``payload`` holds what its wording needs (the request's
    reference, the trigger, the threshold …), so the list is worded in the reader's
    language without reading the request. ``dedup_key`` is unique: the event that caused
    it can never notify the same person twice.

    The table is ``user_notices`` because ``notifications`` is the outbox's.
    """

    __tablename__ = "user_notices"
    __table_args__ = (
        # The list: a user's notices, newest first.
        sa.Index("ix_user_notices_user_created", "user_id", "created_at", "id"),
        # The header's unread count on every page, and the start page's unread outcomes:
        # only unread rows are in this index.
        sa.Index("ix_user_notices_unread", "user_id", "kind",
                 sqlite_where=sa.text("read_at IS NULL"),
                 postgresql_where=sa.text("read_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[NoticeKind] = mapped_column(code_enum(NoticeKind, 32))
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("legal_requests.id"),
                                                   index=True)
    reference: Mapped[str | None] = mapped_column(sa.String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NoticeMute(Model):
    """A kind of notice a user does not want (neither mail nor in-app notice)."""

    __tablename__ = "notice_mutes"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    kind: Mapped[NoticeKind] = mapped_column(code_enum(NoticeKind, 32), primary_key=True)
