"""Test data builders, built through the services so that the records are real."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Agency, User
from portal.services import accounts, agencies, decisions, lifecycle
from portal.services.actors import Actor
from portal.services.filing import FilingData, file_request
from workflows.decisions import Terms

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


def make_agency(country: str = "TR", *, verified: bool = True, domain: str | None = None,
                now: datetime = NOW) -> Agency:
    n = next(_numbers)
    return accounts.create_agency(
        f"Agency {n}", country=country, domain=domain or f"agency{n}.gov.example",
        verified=verified, verified_until=now + timedelta(days=365) if verified else None,
        now=now - timedelta(days=30),
    )


def make_user(role: str, agency: Agency | None = None, *, email: str | None = None) -> User:
    n = next(_numbers)
    if email is None:
        domain = agency.official_domain if agency else "platform.example"
        email = f"{role}{n}@{domain}"
    return accounts.create_user(email, role=role, agency_id=agency.id if agency else None,
                                password=PASSWORD, name=f"{role} {n}")


def handles(count: int, prefix: str = "target") -> list[str]:
    return [f"@{prefix}{n}" for n in range(1, count + 1)]


def filing(targets: list[str] | None = None, **fields: object) -> FilingData:
    values: dict[str, object] = {
        "category": "disinformation",
        "priority": "urgent",
        "requested_action": "remove",
        "legal_statute": "Law No. 5651",
        "legal_article": "Art. 8/A",
        "issuing_authority": "Criminal Judgeship of Peace",
        "order_reference": "2026/123",
        "description": "Fake aid campaigns after the earthquake.",
        "targets": targets if targets is not None else handles(3),
    }
    values.update(fields)
    return FilingData(**values)  # type: ignore[arg-type]


class World:
    """An agency with an official and a focal point for urgent requests, a second agency,
    a reviewer and a liaison."""

    def __init__(self) -> None:
        self.agency = make_agency("TR")
        self.official = make_user("agency_official", self.agency)
        self.other_agency = make_agency("IN")
        self.stranger = make_user("agency_official", self.other_agency)
        self.reviewer = make_user("legal_reviewer")
        self.liaison = make_user("platform_liaison")
        self.admin = make_user("admin")
        # A second channel: its urgent requests are told to someone besides the filer.
        agencies.set_focal_contact(self.actor("admin"), self.agency.id, name="Legal affairs",
                                   email=f"focal@{self.agency.official_domain}", locale="tr")

    def actor(self, name: str) -> Actor:
        return Actor.of(getattr(self, name))

    def file(self, targets: list[str] | None = None, *, now: datetime = NOW, **fields: object):
        return file_request(self.actor("official"), filing(targets, **fields), now=now)

    def to_review(self, reference: str, now: datetime = NOW):
        return lifecycle.fire(self.actor("reviewer"), reference, "begin_review", now=now)

    def decide_all(self, reference: str, decision: str = "withheld_in_country",
                   now: datetime = NOW, **terms: object) -> int:
        if decision == "no_action":
            terms.setdefault("no_action_reason", "not_found")
        if decision == "account_suspended":
            terms.setdefault("suspended_until", now + timedelta(days=30))
        return decisions.decide_items(self.actor("reviewer"), reference, decision=decision,
                                      reason="per order", terms=Terms(**terms),  # type: ignore[arg-type]
                                      all_pending=True, now=now)

    def actioned(self, targets: list[str] | None = None, now: datetime = NOW):
        req = self.file(targets, now=now)
        self.to_review(req.reference, now)
        self.decide_all(req.reference, now=now)
        return lifecycle.fire(self.actor("reviewer"), req.reference, "action", now=now)


def fuzz_examples(default: int) -> int:
    """Examples per fuzz test: ``FUZZ_EXAMPLES`` raises it for a long hunt, else ``default``."""
    return int(os.environ.get("FUZZ_EXAMPLES", default))


@contextmanager
def count_statements() -> Iterator[list[str]]:
    """The SQL statements run inside the block, in order (forgetting loaded rows first,
    so the signed-in user is reloaded by a query on both sides of a comparison)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ARG001
        statements.append(statement)

    db.session.expire_all()
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
