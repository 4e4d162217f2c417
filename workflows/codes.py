"""Codes used everywhere (forms, API, exports, SLA policies): categories and priorities."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """What the requested content is said to be (DESIGN.md §3)."""

    TERRORISM = "terrorism"
    CHILD_SEXUAL_ABUSE = "child_sexual_abuse"
    HATE_SPEECH = "hate_speech"
    INCITEMENT_TO_VIOLENCE = "incitement_to_violence"
    DISINFORMATION = "disinformation"
    FRAUD = "fraud"
    IMPERSONATION = "impersonation"
    PRIVACY = "privacy"
    DEFAMATION = "defamation"
    NARCOTICS = "narcotics"
    PORNOGRAPHY = "pornography"
    PUBLIC_ORDER = "public_order"
    INTELLECTUAL_PROPERTY = "intellectual_property"
    OTHER = "other"


class Priority(StrEnum):
    """How fast the agency says it needs an answer; ``emergency`` means a threat to life."""

    STANDARD = "standard"
    URGENT = "urgent"
    EMERGENCY = "emergency"
