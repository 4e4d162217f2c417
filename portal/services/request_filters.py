"""What a list of requests is narrowed to: one set of filters for every list (the
agency's requests, the review queue, the SLA dashboard), turned into SQL in one place."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from portal import intake, platforms
from portal.models import LegalRequest, RequestItem
from workflows.codes import Category, Priority
from workflows.states import RequestState


@dataclass(frozen=True)
class RequestFilters:
    """What a list is narrowed to. A blank (``None`` or ``""``) means any, and a code
    that is not one (an unknown state, category or priority) is ignored rather than
    refused: filters come from query strings, and a stale link should still show a list.
    """

    state: str | None = None
    category: str | None = None
    priority: str | None = None
    jurisdiction: str | None = None
    agency_id: int | None = None
    reviewer_id: int | None = None
    search: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The conditions on ``legal_requests`` rows, one per filter set."""
        found: list[ColumnElement[bool]] = []
        # Compared as their codes: the columns' enum type takes a known value as is.
        if self.state in RequestState._value2member_map_:
            found.append(LegalRequest.state == self.state)
        if self.category in Category._value2member_map_:
            found.append(LegalRequest.category == self.category)
        if self.priority in Priority._value2member_map_:
            found.append(LegalRequest.priority == self.priority)
        if self.jurisdiction:
            found.append(LegalRequest.jurisdiction == self.jurisdiction.upper())
        if self.agency_id is not None:
            found.append(LegalRequest.agency_id == self.agency_id)
        if self.reviewer_id is not None:
            found.append(LegalRequest.assigned_reviewer_id == self.reviewer_id)
        searched = search_condition(self.search or "")
        if searched is not None:
            found.append(searched)
        return found


def search_condition(search: str) -> ColumnElement[bool] | None:
    """Requests whose reference starts with ``search``, or that name ``search`` (after
    normalising it as a target: ``@Jack`` and ``https://twitter.com/jack`` are the same
    account) among their items. ``None`` when there is nothing to search for."""
    text = search.strip()
    if not text:
        return None
    conditions: list[ColumnElement[bool]] = [
        LegalRequest.reference.startswith(text.upper(), autoescape=True)
    ]
    enabled = platforms.enabled()
    # A bare @name may be any enabled platform's (their names differ in length).
    targets = set()
    for profile in enabled.profiles:
        try:
            targets.add(intake.normalise(text, enabled.with_default(profile.code))[1])
        except intake.TargetError:
            pass  # not a target (e.g. a partial reference): the reference condition alone
    for target in sorted(targets):
        conditions.append(LegalRequest.id.in_(
            sa.select(RequestItem.request_id).where(RequestItem.target == target)
        ))
    return sa.or_(*conditions)
