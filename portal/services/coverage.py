"""The jurisdictions each legal reviewer covers: who is told of a new request.

A reviewer (lead reviewers too) covers a set of jurisdictions, the ISO 3166-1 codes a
request's ``jurisdiction`` holds ("EU" for a request under the EU's own regimes); a
reviewer who covers none covers all. A new request's notice goes to the active reviewers
who cover its jurisdiction and to those who cover all; when no active reviewer does,
to every reviewer, so a request never goes untold (``workflows/notices.py``, audience
``COVERING_REVIEWERS``). A code matches exactly: a reviewer who covers "DE" is not told
of a German authority's order filed under "EU", nor the reverse.

An administrator sets the coverage (one transaction, one ``portal.admin`` log line); the
reviewer's start page says what they cover.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.selectable import NamedFromClause

from portal.extensions import db
from portal.models import ReviewerJurisdiction, User
from portal.services.actors import Actor
from portal.services.errors import FieldError, NotFound, Problem, ValidationFailed
from portal.services.registration import country_codes
from portal.services.transaction import lock_for_writing, transaction
from workflows.roles import Role

log = logging.getLogger("portal.admin")

#: Jurisdictions a request can hold besides a country's: the EU's own regimes (an EU
#: body files under "EU"; ``workflows.sla.filing_jurisdictions``).
NON_COUNTRY_JURISDICTIONS = frozenset({"EU"})

_SEPARATORS = re.compile(r"[\s,;]+")


def coverable() -> frozenset[str]:
    """Every code a reviewer may cover."""
    return country_codes() | NON_COUNTRY_JURISDICTIONS


def parse_codes(text: str) -> list[str]:
    """The codes in ``text`` (separated by commas, semicolons or spaces; any case),
    sorted and without repeats; an empty text is an empty list (covers all).

    Raises:
        ValidationFailed: a code that is not one a request can hold, one error each
            (field ``jurisdictions``, code ``unknown_jurisdiction``, naming the code).
    """
    known = coverable()
    codes: list[str] = []
    errors: list[FieldError] = []
    for raw in _SEPARATORS.split(text.strip()):
        if not raw:
            continue
        code = raw.upper()
        if code not in known:
            errors.append(Problem("jurisdictions", f"{raw!r} is not a country code",
                                  "unknown_jurisdiction", value=raw))
        elif code not in codes:
            codes.append(code)
    if errors:
        raise ValidationFailed(errors)
    return sorted(codes)


def covered(user_id: int) -> list[str]:
    """The codes the user covers, sorted (empty: every jurisdiction)."""
    return list(db.session.scalars(
        sa.select(ReviewerJurisdiction.country)
        .where(ReviewerJurisdiction.user_id == user_id)
        .order_by(ReviewerJurisdiction.country)))


def set_coverage(actor: Actor, user_id: int, codes: Iterable[str]) -> list[str]:
    """Replace the jurisdictions the legal reviewer ``user_id`` covers by ``codes``
    (none: every jurisdiction); return them, sorted. One transaction.

    Raises:
        NotFound: no such user.
        ValidationFailed: an unknown code (see :func:`parse_codes`), or codes for someone
            who is not a legal reviewer; nothing is changed.
    """
    chosen = parse_codes(" ".join(codes))
    with transaction():
        lock_for_writing()
        user = db.session.scalars(sa.select(User).where(User.id == user_id)
                                  .with_for_update()).first()
        if user is None:
            raise NotFound(f"no user {user_id}")
        if chosen and user.role is not Role.LEGAL_REVIEWER:
            raise ValidationFailed([FieldError(
                "jurisdictions", "only legal reviewers cover jurisdictions",
                "coverage_not_reviewer")])
        clear(user_id)
        if chosen:
            db.session.execute(sa.insert(ReviewerJurisdiction), [
                {"user_id": user_id, "country": code} for code in chosen])
    log.info("user %s covers %s, by user %s", user_id, ",".join(chosen) or "all",
             actor.user_id)
    return chosen


def clear(user_id: int) -> None:
    """Forget the user's coverage (in the caller's transaction): someone who stops being
    a reviewer, and who may be one again later, starts again covering all."""
    db.session.execute(sa.delete(ReviewerJurisdiction)
                       .where(ReviewerJurisdiction.user_id == user_id))


def covers(user_id: Any, jurisdiction: str | sa.BindParameter[str]) -> sa.ColumnElement[bool]:
    """Whether the user whose id is the column ``user_id`` covers ``jurisdiction``: they
    name it, or name none and so cover all. ``jurisdiction`` may be a bound parameter
    (for a statement built once), whose value must then be upper case.

    ``IN`` / ``NOT IN`` over uncorrelated subqueries, which each engine reads once per
    statement (a list subquery, a hashed subplan) rather than once per user as
    correlated ``EXISTS`` would (``bench/coverage.py``)."""
    rows = ReviewerJurisdiction.__table__.c
    code = jurisdiction.upper() if isinstance(jurisdiction, str) else jurisdiction
    named = sa.select(rows.user_id).where(rows.country == code)
    return sa.or_(user_id.in_(named), user_id.not_in(sa.select(rows.user_id)))


@lru_cache(maxsize=1)
def _other_reviewers() -> NamedFromClause:
    """``users`` under another name, for the fallback's subquery (built once: its column
    collection costs more to set up than the statement takes to run)."""
    return User.__table__.alias("covering")


def covering_reviewers(jurisdiction: str | sa.BindParameter[str]) -> sa.ColumnElement[bool]:
    """The legal reviewers told of a new request of ``jurisdiction``, as a condition on
    ``users``: those who cover it (or all), or every one when no active reviewer does.
    The caller adds ``active``. The fallback's ``EXISTS`` is uncorrelated (read once);
    it is written on a table alias, not an ORM one, which cost several times more to
    build than the statement takes to run."""
    others = _other_reviewers().c
    anyone_covers = sa.exists().where(others.role == Role.LEGAL_REVIEWER,
                                      others.active.is_(True),
                                      covers(others.id, jurisdiction))
    return sa.and_(User.role == Role.LEGAL_REVIEWER,
                   sa.or_(covers(User.id, jurisdiction), ~anyone_covers))
