"""Codes used everywhere (forms, API, exports, SLA policies): categories, priorities and
the channels of an out-of-band confirmation."""

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
    # Non-consensual intimate imagery: India's amended IT Rules give it 2 hours.
    INTIMATE_IMAGERY = "intimate_imagery"
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


#: Priorities that ask the platform to hurry: what a hijacked mailbox would file.
URGENT_PRIORITIES = frozenset({Priority.URGENT, Priority.EMERGENCY})


class RequesterType(StrEnum):
    """What kind of authority an agency is, as transparency reports group requesters
    (X's and Google's reports split courts from the rest of government)."""

    COURT = "court"
    EXECUTIVE = "executive"
    POLICE = "police"
    REGULATOR = "regulator"


class ConfirmationChannel(StrEnum):
    """How a reviewer reached the agency to confirm an urgent request out of band: never
    through the account that filed it."""

    PHONE = "phone"
    OFFICIAL_MAIL = "official_mail"
    GOVERNMENT_PORTAL = "government_portal"


class RequestedAction(StrEnum):
    """What the authority asks the platform to do, as stated at filing: act against
    content (DSA Art. 9 orders, TCO removal orders) or give information (DSA Art. 10)."""

    REMOVE = "remove"
    WITHHOLD_IN_COUNTRY = "withhold_in_country"
    PRESERVE_DATA = "preserve_data"
    DISCLOSE_DATA = "disclose_data"


class ReceiptChannel(StrEnum):
    """How an order reached the platform before it was filed on the portal (staff record
    it: the SLA clocks then count from that receipt)."""

    MAIL = "mail"
    EMAIL = "email"
    GOVERNMENT_PORTAL = "government_portal"
    OTHER = "other"


class DocumentKind(StrEnum):
    """What a document on a request is: the order itself, an annexure to it, a
    translation of either, or something else the agency sends."""

    ORDER = "order"
    ANNEXURE = "annexure"
    TRANSLATION = "translation"
    OTHER = "other"


class DocumentContext(StrEnum):
    """When a document came: with the filing, added later on the request page, with the
    answer to a clarification, or as an agency's verification evidence at registration."""

    FILING = "filing"
    LATER = "later"
    ANSWER = "answer"
    EVIDENCE = "evidence"
class DisputeAnswer(StrEnum):
    """The reviewer's answer to one contested item: the decision stands, or it was
    changed (with the new decision on the item)."""

    UPHELD = "upheld"
    CHANGED = "changed"
