"""DSA statements of reasons (Art. 17) as the EU Transparency Database's API reads them.

One statement per acted item whose restriction reaches users in the EEA. This module
turns the facts of one item decision (:class:`ItemFacts`) into the API's JSON object: the
four decision fields, the ground with its legal or contractual reference, the category
and keywords (a fixed mapping from the portal's categories, :data:`CATEGORIES`), the
content type, the territorial scope as EEA country codes, the dates and the ``puid``.
Checking the result against the JSON Schema is the portal's job
(``portal.services.dsa_statements``); here nothing is refused that the schema would
name better, except what cannot be written at all (:class:`Unwritable`).

The vocabularies are the Transparency Database's (``app/Models/Statement.php``), as
copied into ``portal/schemas/dsa_statement.schema.json``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from workflows import territory
from workflows.codes import Category
from workflows.decisions import (
    DSA_ACCOUNT,
    DSA_VISIBILITY,
    Decision,
    Ground,
    canonical,
    default_scope,
)

#: Every statement's territory is a list of these (EU27, Iceland, Liechtenstein, Norway).
EEA_CODES: tuple[str, ...] = tuple(sorted(territory.EEA_STATES))

#: The portal's categories as the Transparency Database files them: its category (one of
#: the 16 ``STATEMENT_CATEGORY_*``) and keywords (``KEYWORD_*``, possibly none). Shown to
#: administrators on a page (publication.dsa_categories).
CATEGORIES: Mapping[Category, tuple[str, tuple[str, ...]]] = {
    Category.TERRORISM: ("STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
                         ("KEYWORD_TERRORIST_CONTENT",)),
    Category.CHILD_SEXUAL_ABUSE: ("STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
                                  ("KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",)),
    Category.HATE_SPEECH: ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
                           ("KEYWORD_HATE_SPEECH",)),
    Category.INCITEMENT_TO_VIOLENCE: ("STATEMENT_CATEGORY_VIOLENCE",
                                      ("KEYWORD_INCITEMENT_VIOLENCE_HATRED",)),
    Category.DISINFORMATION: ("STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
                              ("KEYWORD_MISINFORMATION_DISINFORMATION",)),
    Category.FRAUD: ("STATEMENT_CATEGORY_SCAMS_AND_FRAUD", ()),
    Category.IMPERSONATION: ("STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
                             ("KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",)),
    Category.PRIVACY: ("STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS", ()),
    Category.INTIMATE_IMAGERY: ("STATEMENT_CATEGORY_CYBER_VIOLENCE",
                                ("KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",)),
    Category.DEFAMATION: ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
                          ("KEYWORD_DEFAMATION",)),
    Category.NARCOTICS: ("STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
                         ("KEYWORD_PROHIBITED_PRODUCTS",)),
    # The database's 16 categories have none for adult content as such: it is filed as a
    # type of illegal content the notifier (the authority) did not place in one of them.
    Category.PORNOGRAPHY: ("STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
                           ("KEYWORD_ADULT_SEXUAL_MATERIAL",)),
    Category.PUBLIC_ORDER: ("STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", ()),
    Category.INTELLECTUAL_PROPERTY: ("STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
                                     ()),
    Category.OTHER: ("STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE", ()),
}

#: What each kind of target is, as a content type (an account or a channel is "other",
#: with its name in ``content_type_other``). A post is counted as text: the portal does
#: not know whether it also carries images or video.
CONTENT_TYPES: Mapping[str, tuple[str, str | None]] = {
    "post": ("CONTENT_TYPE_TEXT", None),
    "account": ("CONTENT_TYPE_OTHER", "Account"),
    "channel": ("CONTENT_TYPE_OTHER", "Channel"),
}

SOURCE_TYPES = ("SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER",
                "SOURCE_TYPE_OTHER_NOTIFICATION", "SOURCE_VOLUNTARY")
AUTOMATED_DECISIONS = ("AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY",
                       "AUTOMATED_DECISION_NOT_AUTOMATED")

#: The longest texts the database takes.
MAX_FACTS = 5000
MAX_EXPLANATION = 2000
MAX_GROUND = 500
MAX_PUID = 500

_PUID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Settings:
    """What the platform says once for all its statements (configuration)."""

    source_type: str = "SOURCE_TYPE_OTHER_NOTIFICATION"
    automated_detection: str = "No"
    automated_decision: str = "AUTOMATED_DECISION_NOT_AUTOMATED"
    puid_prefix: str = ""


@dataclass(frozen=True)
class ItemFacts:
    """One acted item and the order it answers: what a statement is written from."""

    reference: str
    position: int
    kind: str
    decision: Decision
    territorial_scope: str | None
    ground: Ground | None
    ground_statute: str | None
    ground_article: str | None
    effect_given_at: datetime | None
    suspended_until: datetime | None
    restored_at: datetime | None
    category: str
    jurisdiction: str
    issuing_authority: str
    order_reference: str
    order_date: date | None
    received_at: datetime


class Unwritable(ValueError):
    """No statement can be written for an item: ``field`` is what is missing."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def puid(reference: str, position: int, prefix: str = "") -> str:
    """The item's platform unique identifier: the request's reference and the item's
    position (stable: neither ever changes), in the characters the database allows."""
    raw = f"{prefix}{reference}-{position}"
    return _PUID_UNSAFE.sub("_", raw)[:MAX_PUID]


def eea_scope(scope: str | None) -> list[str]:
    """The EEA countries a canonical scope reaches, sorted (empty: none)."""
    if not scope:
        return []
    reached = territory.countries(scope)
    if reached is None:  # global
        return list(EEA_CODES)
    return sorted(reached & territory.EEA_STATES)


def affects_eea(facts: ItemFacts) -> bool:
    """Whether the item's restriction reaches users in the EEA (a decision recorded
    without a scope is judged by the scope it would have had by default)."""
    scope = facts.territorial_scope or default_scope(facts.decision, facts.jurisdiction)
    return bool(eea_scope(scope))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _basis(statute: str | None, article: str | None) -> str:
    return ", ".join(part for part in (statute, article) if part)


def _day(moment: datetime | None) -> str | None:
    return moment.date().isoformat() if moment is not None else None


def build(facts: ItemFacts, settings: Settings) -> dict[str, Any]:
    """The statement of reasons for one acted item, as the database's API takes it.

    Raises:
        Unwritable: the decision records no territorial scope, no ground, or no time
            effect was given; or it is no action (no restriction, no statement).
    """
    action = canonical(facts.decision)
    if action is Decision.NO_ACTION:
        raise Unwritable("decision", "no action was taken: there is nothing to state")
    if not facts.territorial_scope:
        raise Unwritable("territorial_scope", "the decision records no territorial scope")
    if facts.ground is None:
        raise Unwritable("decision_ground", "the decision records no ground")
    if facts.effect_given_at is None:
        raise Unwritable("application_date", "the decision records no time effect was given")
    category, keywords = CATEGORIES.get(Category(facts.category),
                                        ("STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE", ()))
    content_type, content_other = CONTENT_TYPES.get(facts.kind, ("CONTENT_TYPE_OTHER",
                                                                 facts.kind.title()))
    order = (f"order {facts.order_reference}" if facts.order_reference else "an order")
    dated = f" dated {facts.order_date.isoformat()}" if facts.order_date else ""
    basis = _basis(facts.ground_statute, facts.ground_article)
    statement: dict[str, Any] = {
        "decision_ground": "",
        "category": category,
        "content_type": [content_type],
        "territorial_scope": eea_scope(facts.territorial_scope),
        # The platform records no upload time: the content existed when the order was
        # made, so that day (else its receipt) is the latest it can have been posted.
        "content_date": (facts.order_date or facts.received_at.date()).isoformat(),
        "application_date": _day(facts.effect_given_at),
        "decision_facts": _clip(
            f"{facts.issuing_authority} ({facts.jurisdiction}) sent {order}{dated}, "
            f"received {facts.received_at.date().isoformat()}, asking the platform to act "
            f"against this content (portal request {facts.reference}, item "
            f"{facts.position}). The platform reviewed the order and restricted the content "
            f"in the scope stated.", MAX_FACTS),
        "source_type": settings.source_type,
        "automated_detection": settings.automated_detection,
        "automated_decision": settings.automated_decision,
        "puid": puid(facts.reference, facts.position, settings.puid_prefix),
    }
    if keywords:
        statement["category_specification"] = list(keywords)
    if content_other:
        statement["content_type_other"] = content_other
    if action in DSA_VISIBILITY:
        statement["decision_visibility"] = [DSA_VISIBILITY[action]]
        if facts.restored_at is not None:
            statement["end_date_visibility_restriction"] = _day(facts.restored_at)
    elif action in DSA_ACCOUNT:
        statement["decision_account"] = DSA_ACCOUNT[action]
        end = facts.suspended_until or facts.restored_at
        if facts.restored_at is not None and facts.suspended_until is not None:
            end = min(facts.restored_at, facts.suspended_until)
        if end is not None:
            statement["end_date_account_restriction"] = _day(end)
    if facts.ground is Ground.LOCAL_LAW:
        statement["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
        statement["illegal_content_legal_ground"] = _clip(basis, MAX_GROUND)
        statement["illegal_content_explanation"] = _clip(
            f"{facts.issuing_authority} found the content unlawful under {basis} and "
            f"ordered the platform to act against it; the platform gave effect to the "
            f"order.", MAX_EXPLANATION)
    else:
        statement["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        statement["incompatible_content_ground"] = _clip(basis, MAX_GROUND)
        statement["incompatible_content_explanation"] = _clip(
            f"Reported by {facts.issuing_authority} in an order; the platform found the "
            f"content incompatible with its rules ({basis}).", MAX_EXPLANATION)
        # The platform acted on its own rules and made no finding of illegality.
        statement["incompatible_content_illegal"] = "No"
    return statement


def batches(statements: Iterable[dict[str, Any]], size: int = 100
            ) -> Iterator[dict[str, Any]]:
    """Call bodies for the database's multiple-statement endpoint: at most ``size`` (its
    limit, 100) statements each, made as the statements come.

    Raises:
        ValueError: ``size`` outside 1..100 (at once, before any statement is read).
    """
    if not 1 <= size <= 100:
        raise ValueError("a call body holds 1 to 100 statements")
    return _bodies(iter(statements), size)


def _bodies(statements: Iterator[dict[str, Any]], size: int) -> Iterator[dict[str, Any]]:
    while batch := list(itertools.islice(statements, size)):
        yield {"statements": batch}
