"""The decisions of one request as rows for a download: one row per item, in filing
order, read with one query streamed in batches (never a query per item)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from portal.extensions import db
from portal.intake import ItemKind
from portal.models import RequestItem
from portal.services.access import get_request
from portal.services.actors import Actor
from workflows.decisions import Decision, Ground, NoActionReason, NoticeDeferral

#: Items fetched from the database at a time while the download streams.
BATCH_ROWS = 500


class DecisionRow(NamedTuple):
    """One item's decision as stored: codes and UTC times, not words."""

    position: int
    kind: ItemKind
    target: str
    decision: Decision | None
    territorial_scope: str | None
    ground: Ground | None
    ground_statute: str | None
    ground_article: str | None
    effect_given_at: datetime | None
    restored_at: datetime | None
    user_notified_at: datetime | None
    notice_deferred_until: datetime | None
    notice_deferral_basis: NoticeDeferral | None
    #: The reviewer's reason as written, and the coded reason for no action.
    reason: str | None = None
    no_action_reason: NoActionReason | None = None


@dataclass(frozen=True)
class DecisionExport:
    """A request's reference and its items' decisions, read as they are iterated."""

    reference: str
    rows: Iterator[DecisionRow]


def decision_export(actor: Actor, reference: str, *,
                    batch: int = BATCH_ROWS) -> DecisionExport:
    """The decisions on every item of the request ``reference``, if ``actor`` may see it.

    Whether it may is checked now; the items are read only as ``rows`` is iterated (one
    statement, fetched ``batch`` rows at a time), so a download of ten thousand items
    streams in constant memory.

    Raises:
        NotFound: no such request, or another agency's (never confirmed).
    """
    req = get_request(actor, reference)
    return DecisionExport(req.reference, _rows(req.id, batch))


def _rows(request_id: int, batch: int) -> Iterator[DecisionRow]:
    query = (
        sa.select(RequestItem.position, RequestItem.kind, RequestItem.target,
                  RequestItem.decision, RequestItem.territorial_scope, RequestItem.ground,
                  RequestItem.ground_statute, RequestItem.ground_article,
                  RequestItem.effect_given_at, RequestItem.restored_at,
                  RequestItem.user_notified_at, RequestItem.notice_deferred_until,
                  RequestItem.notice_deferral_basis, RequestItem.reason,
                  RequestItem.no_action_reason)
        .where(RequestItem.request_id == request_id)
        .order_by(RequestItem.position)
        .execution_options(yield_per=batch)
    )
    for row in db.session.execute(query):
        yield DecisionRow._make(row)
