"""Everything the portal says about its codes, in the reader's language: the labels of
categories, priorities, states, roles, decisions and clock bands, the timeline's words
for each trigger, and why the lifecycle machine refused an action.

Codes stay English identifiers in the database, the API and exports; people see these.
Pages, mails and forms take their wording from here, so a code is worded once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from flask import Flask, g, has_app_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString

from portal.i18n import format_datetime
from portal.i18n import lazy_gettext as _l
from portal.services import clocks
from portal.services.reports import Band
from workflows import request_flow as flow
from workflows import sla

CATEGORIES: dict[str, LazyString] = {
    "terrorism": _l("Terrorism"),
    "child_sexual_abuse": _l("Child sexual abuse"),
    "hate_speech": _l("Hate speech"),
    "incitement_to_violence": _l("Incitement to violence"),
    "disinformation": _l("Disinformation"),
    "fraud": _l("Fraud (fake aid campaigns, scams)"),
    "impersonation": _l("Impersonation (fake accounts)"),
    "privacy": _l("Privacy"),
    "intimate_imagery": _l("Non-consensual intimate imagery"),
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

#: Item decisions: the current vocabulary first (the order forms offer it in), then the
#: first release's codes, which earlier decisions keep.
DECISIONS: dict[str, LazyString] = {
    "removed": _l("Removed"),
    "disabled": _l("Access disabled"),
    "withheld": _l("Withheld"),
    "demoted": _l("Demoted"),
    "age_restricted": _l("Age-restricted"),
    "interaction_restricted": _l("Interaction restricted"),
    "labelled": _l("Labelled"),
    "account_suspended": _l("Account suspended"),
    "account_terminated": _l("Account terminated"),
    "no_action": _l("No action"),
    "withheld_in_country": _l("Withheld in country"),
    "account_read_only": _l("Account read-only"),
    "visibility_restricted": _l("Visibility restricted"),
}

#: Why nothing was done to a target (the fixed list).
NO_ACTION_REASONS: dict[str, LazyString] = {
    "not_found": _l("Target not found"),
    "already_removed": _l("Already removed"),
    "not_enough_information": _l("Not enough information"),
    "invalid_order": _l("Invalid order"),
    "issuer_not_competent": _l("Issuer not competent"),
    "not_unlawful": _l("Not unlawful"),
    "disproportionate": _l("Disproportionate"),
    "pending_court": _l("Pending before a court"),
}

#: What a restriction rests on.
GROUNDS: dict[str, LazyString] = {
    "local_law": _l("Local law"),
    "platform_rules": _l("The platform's own rules"),
}

#: Why a restriction was lifted after effect was given.
RESTORE_REASONS: dict[str, LazyString] = {
    "order_annulled": _l("The order was annulled"),
    "complaint_upheld": _l("A complaint was upheld"),
}

#: The legal bases for not telling the affected user yet.
NOTICE_DEFERRALS: dict[str, LazyString] = {
    "tco_art_11_3": _l("TCO Regulation Art. 11(3): the authority asked for no disclosure"),
    "dsa_art_9_5": _l("DSA Art. 9(5): the order sets when the user is told"),
    "court_gag_order": _l("A court's gag order"),
}

#: What an authority asks the platform to do.
REQUESTED_ACTIONS: dict[str, LazyString] = {
    "remove": _l("Remove the content or account"),
    "withhold_in_country": _l("Withhold it in the country"),
    "preserve_data": _l("Preserve data"),
    "disclose_data": _l("Disclose data"),
}

REQUESTER_TYPES: dict[str, LazyString] = {
    "court": _l("Court"),
    "executive": _l("Executive (ministry, government agency)"),
    "police": _l("Police and law enforcement"),
    "regulator": _l("Regulator"),
}

TOKEN_SCOPES: dict[str, LazyString] = {
    "read": _l("Read"),
    "file": _l("File requests, post messages and manage webhooks"),
    "act": _l("Act on requests: lifecycle actions and, for reviewers, item decisions"),
}

ITEM_KINDS: dict[str, LazyString] = {
    "account": _l("Account"),
    "post": _l("Post"),
    "channel": _l("Channel"),
}

#: The platform profiles' names (``portal.intake.PROFILES``), by code.
PLATFORMS: dict[str, LazyString] = {
    "x": _l("X-like microblog"),
    "telegram": _l("Telegram-like messenger"),
}

#: The shipped SLA policies' names (``workflows.sla.DEFAULT_POLICIES``), by code. The
#: database keeps the English name an operator may edit; ``policy_label`` shows this
#: translation only while the stored name is still the shipped one.
POLICY_NAMES: dict[str, LazyString] = {
    "emergency": _l("Emergency (threat to life)"),
    "eu-tco-terrorism": _l("EU terrorist content removal order"),
    "fr-lcen-6-1": _l("France administrative removal request (terrorism, child abuse "
                      "material)"),
    "eu-dsa-orders": _l("EU order to act against illegal content"),
    "eu-e-evidence": _l("EU production order (electronic evidence)"),
    "eu-e-evidence-emergency": _l("EU production order in an emergency"),
    "id-mr5-urgent": _l("Indonesia urgent takedown (terrorism, child sexual abuse, public "
                        "order)"),
    "id-mr5": _l("Indonesia takedown request"),
    "tr-5651-art8": _l("Turkey access-blocking or removal decision under Law 5651 Arts. 8, "
                       "8/A"),
    "tr-5651-add4": _l("Turkey social network provider answering applications by "
                       "individuals"),
    "in-it-rules-2021": _l("India court order or government notice (received before 20 "
                           "Feb 2026)"),
    "in-it-rules-2021-ncii": _l("India intimate imagery complaint (received before 20 Feb "
                                "2026)"),
    "in-it-rules-2026": _l("India court order or government notice (received from 20 Feb "
                           "2026)"),
    "in-it-rules-2026-ncii": _l("India non-consensual intimate imagery (received from 20 "
                                "Feb 2026)"),
    "au-osa-removal": _l("Australia removal notice (class 1 material)"),
    "gb-ta2006-s3": _l("United Kingdom notice under the Terrorism Act 2006 s.3"),
    "default": _l("Platform default"),
}
_SHIPPED_POLICY_NAMES = {p.code: p.name for p in sla.DEFAULT_POLICIES}


def policy_label(code: str, stored_name: str | None = None) -> str:
    """A policy's name in the reader's language: the translation of a shipped policy's
    name, unless an operator renamed it or added the policy (then the name they gave,
    which is theirs to word); the code only when no name is known at all."""
    if stored_name and stored_name != _SHIPPED_POLICY_NAMES.get(code):
        return stored_name
    text = POLICY_NAMES.get(code)
    return str(text) if text is not None else (stored_name or code)


def policy_namer() -> Callable[[str], str]:
    """A policy's name in the reader's language by its code (the code is for exports and
    the API); the stored names are read once per page, when a row first asks."""
    names: dict[str, str] | None = None

    def name(code: str) -> str:
        nonlocal names
        if names is None:
            names = clocks.policy_names()
        return policy_label(code, names.get(code))
    return name


RISK_FLAGS: dict[str, LazyString] = {
    "new_user": _l("the account that filed it is new"),
    "first_urgent": _l("the platform has never acted on an urgent or emergency request "
                       "from this account"),
    "new_category": _l("the platform has acted on no request of this category from the "
                       "agency recently, or ever"),
    "unusual_hour": _l("it was filed at an hour when the agency rarely files (its local "
                       "time)"),
    "new_network": _l("it was filed from a network this account had not used before"),
    "new_device": _l("it was filed from a browser or device this account had not used "
                     "before"),
    # Flags of requests filed before the history was kept (no longer raised).
    "unusual_category": _l("the agency does not usually file requests of this category"),
}

#: How a reviewer reached the agency to confirm an urgent request out of band.
CONFIRMATION_CHANNELS: dict[str, LazyString] = {
    "phone": _l("Telephone, at a number known from the agency's records"),
    "official_mail": _l("A known official mail address of the agency"),
    "government_portal": _l("A government portal or official platform"),
}

ROLES: dict[str, LazyString] = {
    "agency_official": _l("Agency official"),
    "legal_reviewer": _l("Legal reviewer"),
    "platform_liaison": _l("Platform liaison"),
    "admin": _l("Administrator"),
    "system": _l("System"),
}

SLA_TARGETS: dict[str, LazyString] = {
    "acknowledge": _l("acknowledgement"),
    "resolve": _l("resolution"),
    "dispute": _l("dispute answer"),
}


#: Agency verification statuses as people read them.
AGENCY_STATUSES: dict[str, LazyString] = {
    "pending": _l("Awaiting verification"),
    "verified": _l("Verified"),
    "rejected": _l("Rejected"),
    "suspended": _l("Suspended"),
}

SLA_CLOCK_KINDS: dict[str, LazyString] = {
    "elapsed": _l("Elapsed time (around the clock)"),
    "business": _l("Business days (working hours of the calendar)"),
    "end_of_day": _l("End of the local working day"),
    "working_days_after": _l("Working days, counted from the day after receipt"),
}

SLA_RESUME_RULES: dict[str, LazyString] = {
    "none": _l("No pause: the clock runs on while the agency answers"),
    "extend": _l("Extend: the time left at the pause is granted again"),
    "restart": _l("Restart: the full duration runs again after a clarification"),
}

#: Where a policy's deadline comes from.
POLICY_BASES: dict[str, LazyString] = {
    "law": _l("Law"),
    "platform": _l("Platform commitment"),
}

#: The holidays package's categories a policy's calendars may use.
HOLIDAY_CATEGORIES: dict[str, LazyString] = {
    "public": _l("Public holidays"),
    "half_day": _l("Half days (the day closes early, e.g. at 13:00)"),
    "government": _l("Days off for government offices (e.g. Indonesia's cuti bersama)"),
    "bank": _l("Bank holidays"),
}

#: How an order reached the platform before it was filed on the portal.
RECEIPT_CHANNELS: dict[str, LazyString] = {
    "mail": _l("By post"),
    "email": _l("By e-mail"),
    "government_portal": _l("Through a government portal"),
    "other": _l("Another way (say which in the reason)"),
}

#: Where a reclassified request's deadlines count from.
COUNT_FROM: dict[str, LazyString] = {
    "receipt": _l("From the receipt: the deadlines the request would have had from the "
                  "start (they may already have passed)"),
    "reclassification": _l("From the reclassification: the deadlines start again now"),
}

WEEKDAYS: tuple[LazyString, ...] = (
    _l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
    _l("Saturday"), _l("Sunday"),
)

HOLIDAY_EFFECTS: dict[str, LazyString] = {
    "predicted": _l("Public holiday (predicted)"),
    "added": _l("Added by an override"),
    "confirmed": _l("Predicted, and confirmed by an override"),
    "cancelled": _l("Predicted, cancelled by an override: a working day"),
    "no_effect": _l("Cancelled by an override, but not a predicted holiday: no effect"),
}

def labeller(table: Mapping[str, LazyString]) -> Callable[[object], str]:
    """A function giving the label of a code (an enum member or its value) from
    ``table`` in the request's language, and the code itself when the table has none."""
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


category_label = labeller(CATEGORIES)
priority_label = labeller(PRIORITIES)
state_label = labeller(STATES)
resolution_label = labeller(RESOLUTIONS)
decision_label = labeller(DECISIONS)
no_action_reason_label = labeller(NO_ACTION_REASONS)
ground_label = labeller(GROUNDS)
restore_reason_label = labeller(RESTORE_REASONS)
deferral_label = labeller(NOTICE_DEFERRALS)
requested_action_label = labeller(REQUESTED_ACTIONS)
requester_type_label = labeller(REQUESTER_TYPES)


def territory_text(scope: str | None) -> str:
    """A territorial scope as people read it: "Worldwide", "The EEA", "The EEA, CH",
    "TR"."""
    if not scope:
        return ""
    if scope == "global":
        return str(_("Worldwide"))
    return ", ".join(str(_("The EEA")) if token == "EEA" else token
                     for token in scope.split(","))


def country_names(codes: Iterable[str]) -> str:
    """Jurisdiction codes with their names in the reader's language: "India (IN),
    Türkiye (TR)" (a code the locale does not name stays a code)."""
    locale = get_locale()
    names = locale.territories if locale is not None else {}
    return ", ".join(f"{names[code]} ({code})" if code in names else code for code in codes)
sla_target_label = labeller(SLA_TARGETS)
risk_flag_label = labeller(RISK_FLAGS)
channel_label = labeller(CONFIRMATION_CHANNELS)
kind_label = labeller(ITEM_KINDS)
platform_label = labeller(PLATFORMS)
scope_label = labeller(TOKEN_SCOPES)


def scopes_text(scopes: str) -> str:
    """A token's stored scopes (``"read file"``) as a list in words."""
    return ", ".join(scope_label(code) for code in scopes.split())
agency_status_label = labeller(AGENCY_STATUSES)
clock_kind_label = labeller(SLA_CLOCK_KINDS)
resume_label = labeller(SLA_RESUME_RULES)
holiday_effect_label = labeller(HOLIDAY_EFFECTS)
basis_label = labeller(POLICY_BASES)
receipt_channel_label = labeller(RECEIPT_CHANNELS)


def weekday_label(number: int) -> str:
    """Monday is 0, as Python counts."""
    return str(WEEKDAYS[number])
role_label = labeller(ROLES)


# -- the lifecycle ----------------------------------------------------------------------

#: Each lifecycle trigger as a timeline entry.
TRIGGERS: dict[str, LazyString] = {
    "begin_review": _l("Legal review began"),
    "request_info": _l("The platform asked for information"),
    "provide_info": _l("The agency answered"),
    "action": _l("Actioned"),
    "decline": _l("Declined"),
    "withdraw": _l("Withdrawn by the agency"),
    "dispute": _l("Disputed by the agency"),
    "revise": _l("Decisions revised after the dispute"),
    "uphold": _l("Outcome upheld after the dispute"),
    "close": _l("Closed"),
    "claim": _l("Taken by a reviewer"),
    "unassign": _l("Reviewer unassigned"),
    "reassign": _l("Reassigned to another reviewer"),
}
trigger_label = labeller(TRIGGERS)

#: The reviewer's answer to a contested item.
DISPUTE_ANSWERS: dict[str, LazyString] = {
    "upheld": _l("The decision stands"),
    "changed": _l("The decision was changed"),
}
dispute_answer_label = labeller(DISPUTE_ANSWERS)

#: The free-text inputs of triggers, as the timeline labels them.
TRIGGER_INPUTS: dict[str, LazyString] = {
    "question": _l("Question"),
    "answer": _l("Answer"),
    "reason": _l("Reason"),
}


def decision_lines(payload: Mapping[str, object]) -> list[str]:
    """What an ``items_decided`` event recorded besides the action, a line each: where,
    on what ground, from when, until when, why not (for the timelines)."""
    lines: list[str] = []
    scope = payload.get("territorial_scope")
    if scope:
        lines.append(str(_("Where: %(scope)s", scope=territory_text(str(scope)))))
        if payload.get("scope_reason"):
            lines.append(str(_("Why this scope: %(text)s", text=payload["scope_reason"])))
    if payload.get("ground"):
        cited = ", ".join(str(payload[k]) for k in ("ground_statute", "ground_article")
                          if payload.get(k))
        lines.append(str(_("Ground: %(ground)s", ground=ground_label(payload["ground"])))
                     + (f" ({cited})" if cited else ""))
    for key, text in (("effect_given_at", _l("Effect given: %(when)s")),
                      ("suspended_until", _l("Suspended until %(when)s")),
                      ("preserved_until", _l("Preserved until %(when)s (TCO Art. 6)"))):
        value = payload.get(key)
        if isinstance(value, str) and value:
            lines.append(str(text) % {"when": format_datetime(datetime.fromisoformat(value))})
    if payload.get("no_action_reason"):
        lines.append(str(_("Reason for no action: %(reason)s",
                           reason=no_action_reason_label(payload["no_action_reason"]))))
    return lines


def refusal_text(error: flow.TransitionError) -> str:
    """Why the machine refused an action, in the reader's language (a guard's refusal
    with the counts it looked at, never asking the database again)."""
    if isinstance(error, flow.GuardFailed):
        tally = error.facts.tally
        if error.guard == "all_items_decided":
            return str(_("Every item needs a decision first: %(pending)s of %(total)s items "
                         "are still pending.", pending=tally.pending, total=tally.total))
        if error.guard == "any_item_acted":
            return str(_("At least one item must be acted on. To act on none, decline the "
                         "request instead."))
        if error.guard == "no_item_acted":
            return str(_("%(acted)s of %(total)s items have an action decision. Change them "
                         "to “No action”, or action the request instead.",
                         acted=tally.acted, total=tally.total))
        if error.guard == "decisions_changed":
            return str(_("Revising needs at least one item decision changed since the "
                         "dispute; otherwise uphold the outcome."))
        if error.guard == "disputable_outcome":
            return str(_("Only an actioned or declined request can be disputed."))
        if error.guard == "within_dispute_window":
            return str(_("The dispute window for this request has ended."))
        if error.guard == "tco_scope_explained":
            return str(_("This is a removal order under the EU terrorist-content regulation: "
                         "it must be given effect in every Member State. %(count)s items "
                         "apply in fewer places than the EEA with no reason recorded. Widen "
                         "their scope, or record why.",
                         count=error.facts.narrow_scopes_unexplained))
        if error.guard == "unclaimed":
            return str(_("A reviewer holds this request already. A lead reviewer or a liaison "
                         "can reassign it."))
        if error.guard == "claimed":
            return str(_("Nobody holds this request: there is no reviewer to unassign."))
        if error.guard == "out_of_band_confirmed":
            return str(_("Nobody at the agency but the account that filed it was told of "
                         "this urgent request (no second channel). Confirm it with the "
                         "agency through another channel and record that first."))
    elif isinstance(error, flow.NotAssignee):
        return str(_("Another reviewer holds this request: only they or a lead reviewer "
                     "may decide its items or move it on. Ask a lead reviewer to reassign "
                     "it to you."))
    elif isinstance(error, flow.NotPermitted):
        return str(_("Your account may not take this action on this request."))
    elif isinstance(error, flow.IllegalTransition) and error.state is not None:
        return str(_("This cannot be done while the request is “%(state)s”.",
                     state=state_label(error.state)))
    elif isinstance(error, flow.MissingInput):
        return str(_("Some required text is missing."))
    elif isinstance(error, flow.UnknownTrigger):
        return str(_("This action does not exist."))
    return str(_("This action is not possible now."))


def conflict_text(reference: str) -> str:
    """The answer to a stale page: someone changed the request since it was shown."""
    return str(_("%(reference)s was changed by someone else in the meantime. Nothing was "
                 "changed: the page shows its current state; check it and try again.",
                 reference=reference))


# -- clocks -----------------------------------------------------------------------------

#: How a clock stands, for the agency that waits for the answer (the colour of its badge
#: is never the only signal).
AGENCY_BANDS: dict[str, LazyString] = {
    Band.ON_TRACK: _l("On track"),
    Band.HALF: _l("Half the time used"),
    Band.THREE_QUARTERS: _l("Three quarters of the time used"),
    Band.NINETY: _l("Nine tenths of the time used"),
    Band.BREACHED: _l("Deadline passed"),
    Band.PAUSED: _l("Paused while the platform waits for your answer"),
    Band.MET: _l("Met"),
    Band.MISSED: _l("Missed"),
}

#: How a running clock stands, for the platform's staff who must answer in time.
STAFF_BANDS: dict[str, LazyString] = {
    Band.BREACHED: _l("Breached"),
    Band.NINETY: _l("%(percent)s%% of the time used", percent=90),
    Band.THREE_QUARTERS: _l("%(percent)s%% of the time used", percent=75),
    Band.HALF: _l("%(percent)s%% of the time used", percent=50),
    Band.ON_TRACK: _l("On track"),
    Band.PAUSED: _l("Paused (waiting for the agency)"),
}
agency_band_label = labeller(AGENCY_BANDS)


def init_app(app: Flask) -> None:
    """Make the label functions available in every template (pages and mails)."""
    app.jinja_env.globals.update(
        category_label=category_label,
        priority_label=priority_label,
        state_label=state_label,
        resolution_label=resolution_label,
        decision_label=decision_label,
        no_action_reason_label=no_action_reason_label,
        ground_label=ground_label,
        restore_reason_label=restore_reason_label,
        deferral_label=deferral_label,
        requested_action_label=requested_action_label,
        requester_type_label=requester_type_label,
        territory_text=territory_text,
        country_names=country_names,
        decision_lines=decision_lines,
        sla_target_label=sla_target_label,
        risk_flag_label=risk_flag_label,
        channel_label=channel_label,
        role_label=role_label,
        kind_label=kind_label,
        platform_label=platform_label,
        policy_label=policy_label,
        scopes_text=scopes_text,
        trigger_label=trigger_label,
        dispute_answer_label=dispute_answer_label,
        format_datetime=format_datetime,
        parse_iso=datetime.fromisoformat,
        resume_label=resume_label,
        basis_label=basis_label,
        receipt_channel_label=receipt_channel_label,
    )
