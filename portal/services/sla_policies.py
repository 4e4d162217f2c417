"""The administrator's SLA policies: listing them, and checking, adding and changing
one. A change applies to clocks started from then on; running clocks keep their
deadlines.

Each public function that changes something is one transaction, and one ``portal.admin``
log line names who made it. The final word on a policy is the pure
``workflows.sla.Policy``: whatever it refuses is refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from portal.extensions import db
from portal.models import SlaPolicy
from portal.models.columns import utcnow
from portal.services import clocks
from portal.services.actors import Actor
from portal.services.errors import Conflict, FieldError, NotFound, Problem, ValidationFailed
from portal.services.transaction import lock_for_writing, transaction
from workflows import calendars, sla
from workflows.calendars import ALL_SUBDIVISIONS, HOLIDAY_CATEGORIES
from workflows.codes import Category, Priority

log = logging.getLogger("portal.admin")

_POLICY_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class RuleData:
    """One target's rule as entered: ``seconds`` of wall or working time (whole days for
    ``working_days_after``), or a cut-off; its pause rule, and whether a force majeure
    pauses it."""

    kind: str
    seconds: int = 0
    cutoff: str | None = None
    resume: str = "extend"
    force_majeure: bool = False


@dataclass(frozen=True)
class PolicyData:
    """A policy as entered. Empty match lists mean "any"; ``targets`` omits the targets
    the policy sets no deadline for. ``code`` only counts when the policy is created."""

    name: str
    source: str
    code: str = ""
    jurisdictions: Sequence[str] = ()
    categories: Sequence[str] = ()
    exclude_categories: Sequence[str] = ()
    priorities: Sequence[str] = ()
    targets: dict[str, RuleData] = field(default_factory=dict)
    thresholds: Sequence[float] = sla.DEFAULT_THRESHOLDS
    source_url: str = ""
    active: bool = True
    position: int = 0
    basis: str = sla.Basis.LAW.value
    instrument: str = ""
    article: str = ""
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    holiday_categories: Sequence[str] = ("public",)
    calendar_subdivision: str = ""


def list_policies() -> list[SlaPolicy]:
    """Every policy in match order (a handful: operators write them by hand)."""
    return list(db.session.scalars(
        sa.select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)))


def get_policy(policy_id: int) -> SlaPolicy:
    """Raises: NotFound."""
    row = db.session.get(SlaPolicy, policy_id)
    if row is None:
        raise NotFound(f"no policy {policy_id}")
    return row


def _codes(values: Iterable[str], allowed: type[Category] | type[Priority], name: str,
           errors: list[FieldError]) -> list[str] | None:
    chosen = sorted({v for v in values if v})
    known = {member.value for member in allowed}
    for value in chosen:
        if value not in known:
            errors.append(Problem(name, f"unknown code {value!r}", "choice", value=value))
    return chosen or None


def _jurisdictions(values: Iterable[str], errors: list[FieldError]) -> list[str] | None:
    chosen: list[str] = []
    for raw in values:
        code = raw.strip().upper()
        if not code:
            continue
        if code in sla.JURISDICTION_GROUPS or (
                len(code) == 2 and code.isascii() and code.isalpha()):
            if code not in chosen:
                chosen.append(code)
        else:
            errors.append(Problem("jurisdictions", f"{raw.strip()!r} is not a country code "
                                  "or a known group", "jurisdiction", value=raw.strip()))
    return sorted(chosen) or None


def _thresholds(values: Sequence[float], errors: list[FieldError]) -> list[float]:
    found = [float(v) for v in values]
    if not found:
        errors.append(FieldError("thresholds", "at least the breach (1.0) is needed",
                                 "required"))
        return found
    for value in found:
        if not 0 < value <= 1:
            errors.append(Problem("thresholds", f"{value} is not in (0, 1]",
                                  "threshold_range", value=str(value)))
    if any(a >= b for a, b in zip(found, found[1:], strict=False)):
        errors.append(FieldError("thresholds", "thresholds must increase",
                                 "threshold_order"))
    if found[-1] != 1.0:
        errors.append(FieldError("thresholds", "the last threshold must be 1.0 (the breach)",
                                 "threshold_last"))
    return found


def _rule(target: str, data: RuleData, errors: list[FieldError]) -> dict[str, Any] | None:
    """The stored form of one rule, checked by building the pure rule."""
    before = len(errors)
    try:
        kind = sla.ClockKind(data.kind)
    except ValueError:
        errors.append(FieldError(f"{target}.kind", f"unknown clock kind {data.kind!r}",
                                 "choice"))
        return None
    if data.resume not in {r.value for r in sla.ResumeRule}:
        errors.append(FieldError(f"{target}.resume", f"unknown resume rule {data.resume!r}",
                                 "choice"))
    if kind is sla.ClockKind.END_OF_DAY:
        if not data.cutoff:
            errors.append(FieldError(f"{target}.cutoff", "an end-of-day rule needs a cut-off",
                                     "cutoff_required"))
    elif kind is sla.ClockKind.WORKING_DAYS_AFTER and (
            data.seconds <= 0 or data.seconds % 86_400):
        errors.append(FieldError(f"{target}.duration", "a whole number of working days",
                                 "working_days"))
    elif data.seconds <= 0:
        code = "business_duration" if kind is sla.ClockKind.BUSINESS else "duration"
        errors.append(FieldError(f"{target}.duration", "the duration must be positive", code))
    if len(errors) > before:
        return None
    stored = {
        "kind": kind.value,
        "seconds": 0 if kind is sla.ClockKind.END_OF_DAY else int(data.seconds),
        "cutoff": data.cutoff if kind is sla.ClockKind.END_OF_DAY else None,
        "resume": data.resume,
        "force_majeure": bool(data.force_majeure),
    }
    try:
        clocks.rule_from_json(stored)
    except (ValueError, KeyError) as exc:
        errors.append(FieldError(f"{target}.kind", str(exc), "rule"))
        return None
    return stored


def _url(value: str, errors: list[FieldError]) -> str:
    url = value.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        errors.append(FieldError("source_url", "an http:// or https:// address", "url"))
    return url


def _legal_fields(data: PolicyData, errors: list[FieldError]) -> dict[str, Any]:
    """The policy's basis, citation, validity and calendar, checked."""
    if data.basis not in {b.value for b in sla.Basis}:
        errors.append(FieldError("basis", f"unknown basis {data.basis!r}", "choice"))
    instrument, article = data.instrument.strip(), data.article.strip()
    if len(instrument) > 300:
        errors.append(FieldError("instrument", "at most 300 characters", "too_long"))
    if len(article) > 100:
        errors.append(FieldError("article", "at most 100 characters", "too_long"))
    for name in ("valid_from", "valid_to"):
        when = getattr(data, name)
        if when is not None and (when.tzinfo is None or when.utcoffset() is None):
            errors.append(FieldError(name, "a time with its zone", "invalid"))
    if (data.valid_from is not None and data.valid_to is not None
            and data.valid_from.tzinfo is not None and data.valid_to.tzinfo is not None
            and data.valid_to <= data.valid_from):
        errors.append(FieldError("valid_to", "the policy must end after it begins",
                                 "valid_order"))
    categories = list(dict.fromkeys(["public", *(c for c in data.holiday_categories if c)]))
    for category in categories:
        if category not in HOLIDAY_CATEGORIES:
            errors.append(Problem("holiday_categories", f"unknown category {category!r}",
                                  "choice", value=category))
    region = data.calendar_subdivision.strip().upper()
    if region and region != ALL_SUBDIVISIONS and not (
            region.isascii() and region.replace("-", "").isalnum() and len(region) <= 10):
        errors.append(Problem("calendar_subdivision", f"{region!r} is not a region code",
                              "subdivision", value=region))
    return {
        "basis": data.basis, "instrument": instrument, "article": article,
        "valid_from": data.valid_from, "valid_to": data.valid_to,
        "holiday_categories": categories, "calendar_subdivision": region or None,
    }


def check_policy(data: PolicyData, *, code: str) -> dict[str, Any]:
    """The column values for ``data``, after checking every rule; every problem found is
    reported at once. The final word is the pure ``workflows.sla.Policy``: whatever it
    refuses is refused.

    Raises:
        ValidationFailed: with one error per problem.
    """
    errors: list[FieldError] = []
    name = data.name.strip()
    if not name or len(name) > 200:
        errors.append(FieldError("name", "a name of 1 to 200 characters", "required"
                                 if not name else "too_long"))
    source = data.source.strip()
    if not source:
        errors.append(FieldError("source", "cite the law or commitment", "required"))
    elif len(source) > 500:
        errors.append(FieldError("source", "at most 500 characters", "too_long"))
    values: dict[str, Any] = {
        "name": name,
        "source": source,
        "source_url": _url(data.source_url, errors),
        **_legal_fields(data, errors),
        "jurisdictions": _jurisdictions(data.jurisdictions, errors),
        "categories": _codes(data.categories, Category, "categories", errors),
        "exclude_categories": _codes(data.exclude_categories, Category,
                                     "exclude_categories", errors) or [],
        "priorities": _codes(data.priorities, Priority, "priorities", errors),
        "thresholds": _thresholds(data.thresholds, errors),
        "active": bool(data.active),
        "position": data.position,
    }
    region = values["calendar_subdivision"]
    if region and region != ALL_SUBDIVISIONS:
        countries = values["jurisdictions"] or []
        regions = (calendars.subdivisions_of(countries[0])
                   if len(countries) == 1 and countries[0] not in sla.JURISDICTION_GROUPS
                   else ())
        if region not in {r.upper() for r in regions}:
            errors.append(Problem("calendar_subdivision", f"{region} is not a region of the "
                                  "policy's one country", "subdivision", value=region))
    if not 0 <= data.position <= 10_000:
        errors.append(FieldError("position", "a position from 0 to 10000", "invalid"))
    both = set(values["categories"] or ()) & set(values["exclude_categories"])
    if both:
        errors.append(Problem("exclude_categories", "a category cannot be both included "
                              "and excluded", "overlap", value=", ".join(sorted(both))))
    targets: dict[str, Any] = {}
    known = {t.value for t in sla.Target}
    for target, rule in data.targets.items():
        if target not in known:
            errors.append(FieldError("targets", f"unknown target {target!r}", "choice"))
            continue
        stored = _rule(target, rule, errors)
        if stored is not None:
            targets[target] = stored
    if not data.targets:
        errors.append(FieldError("targets", "the policy sets no deadline", "no_target"))
    values["targets"] = targets
    if not errors:
        row = SlaPolicy(code=code, **values)
        try:
            clocks.to_policy(row)
        except (ValueError, KeyError) as exc:
            errors.append(FieldError("targets", str(exc), "rule"))
    if errors:
        raise ValidationFailed(errors)
    return values


def create_policy(actor: Actor, data: PolicyData, *, now: datetime | None = None
                  ) -> SlaPolicy:
    """Add a policy. It applies to clocks started from now on.

    Raises:
        ValidationFailed: a bad or taken code, or anything :func:`check_policy` refuses.
    """
    now = now or utcnow()
    code = data.code.strip().lower()
    errors: list[FieldError] = []
    if not _POLICY_CODE.match(code):
        errors.append(FieldError("code", "lower-case letters, digits and hyphens",
                                 "policy_code"))
    elif db.session.scalar(sa.select(SlaPolicy.id).where(SlaPolicy.code == code)):
        errors.append(FieldError("code", f"{code} is already used", "taken"))
    try:
        values = check_policy(data, code=code)
    except ValidationFailed as exc:
        raise ValidationFailed(errors + exc.errors) from None
    if errors:
        raise ValidationFailed(errors)
    row = SlaPolicy(code=code, updated_at=now, **values)
    with transaction():
        db.session.add(row)
    log.info("SLA policy %s created by user %s", code, actor.user_id)
    return row


def update_policy(actor: Actor, policy_id: int, data: PolicyData, *,
                  seen: datetime | None = None, now: datetime | None = None) -> SlaPolicy:
    """Change a policy. Running clocks keep the deadlines they were given; the change
    applies to clocks started from now on. ``seen`` is the ``updated_at`` the editor
    loaded: if the policy changed since, nothing is saved.

    Raises:
        NotFound: no such policy.
        ValidationFailed: anything :func:`check_policy` refuses.
        Conflict: someone else saved the policy since ``seen``.
    """
    now = now or utcnow()
    with transaction():
        lock_for_writing()
        row = db.session.scalars(
            sa.select(SlaPolicy).where(SlaPolicy.id == policy_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound(f"no policy {policy_id}")
        if seen is not None and row.updated_at != seen:
            raise Conflict(f"policy {row.code} was changed by someone else")
        values = check_policy(data, code=row.code)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = now
    log.info("SLA policy %s changed by user %s", row.code, actor.user_id)
    return row
