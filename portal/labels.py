"""Translated labels for the codes used everywhere (categories, priorities, states, …).

Codes stay English identifiers in the database, the API and exports; people see these.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask, g, has_app_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from portal.i18n import format_datetime

CATEGORIES: dict[str, LazyString] = {
    "terrorism": _l("Terrorism"),
    "child_sexual_abuse": _l("Child sexual abuse"),
    "hate_speech": _l("Hate speech"),
    "incitement_to_violence": _l("Incitement to violence"),
    "disinformation": _l("Disinformation"),
    "fraud": _l("Fraud (fake aid campaigns, scams)"),
    "impersonation": _l("Impersonation (fake accounts)"),
    "privacy": _l("Privacy"),
    "defamation": _l("Defamation"),
    "narcotics": _l("Narcotics"),
    "pornography": _l("Pornography"),
    "public_order": _l("Public order"),
    "intellectual_property": _l("Intellectual property"),
    "other": _l("Other"),
}

PRIORITIES: dict[str, LazyString] = {
    "standard": _l("Standard"),
    "urgent": _l("Urgent"),
    "emergency": _l("Emergency (threat to life)"),
}

STATES: dict[str, LazyString] = {
    "received": _l("Received"),
    "legal_review": _l("In legal review"),
    "awaiting_info": _l("Awaiting information"),
    "actioned": _l("Actioned"),
    "disputed": _l("Disputed"),
    "closed": _l("Closed"),
}

RESOLUTIONS: dict[str, LazyString] = {
    "complied": _l("Complied"),
    "partially_complied": _l("Partially complied"),
    "declined": _l("Declined"),
    "withdrawn": _l("Withdrawn"),
}

DECISIONS: dict[str, LazyString] = {
    "withheld_in_country": _l("Withheld in country"),
    "removed": _l("Removed"),
    "account_suspended": _l("Account suspended"),
    "account_read_only": _l("Account read-only"),
    "visibility_restricted": _l("Visibility restricted"),
    "labelled": _l("Labelled"),
    "no_action": _l("No action"),
}

RISK_FLAGS: dict[str, LazyString] = {
    "new_user": _l("the account that filed it is new"),
    "new_network": _l("it was filed from a network this account had not used before"),
    "unusual_category": _l("the agency does not usually file requests of this category"),
}

SLA_TARGETS: dict[str, LazyString] = {
    "acknowledge": _l("acknowledgement"),
    "resolve": _l("resolution"),
    "dispute": _l("dispute answer"),
}


def _label(table: dict[str, LazyString]):  # type: ignore[no-untyped-def]
    def label(code: object) -> str:
        key = str(getattr(code, "value", code))
        # A list page asks for the same few labels hundreds of times; each gettext walks
        # Flask-Babel's context lookups, so remember them for the rest of the request.
        # Keyed by locale too: mails are rendered for several languages in one context.
        if not has_app_context():
            text = table.get(key)
            return str(text) if text is not None else key
        cache: dict[tuple[int, str, str], str] = g.setdefault("_labels", {})
        slot = (id(table), key, str(get_locale()))
        found = cache.get(slot)
        if found is None:
            text = table.get(key)
            found = cache[slot] = str(text) if text is not None else key
        return found

    return label


category_label = _label(CATEGORIES)
priority_label = _label(PRIORITIES)
state_label = _label(STATES)
resolution_label = _label(RESOLUTIONS)
decision_label = _label(DECISIONS)
sla_target_label = _label(SLA_TARGETS)
risk_flag_label = _label(RISK_FLAGS)


def init_app(app: Flask) -> None:
    """Make the label functions available in every template (pages and mails)."""
    app.jinja_env.globals.update(
        category_label=category_label,
        priority_label=priority_label,
        state_label=state_label,
        resolution_label=resolution_label,
        decision_label=decision_label,
        sla_target_label=sla_target_label,
        risk_flag_label=risk_flag_label,
        format_datetime=format_datetime,
        parse_iso=datetime.fromisoformat,
    )
