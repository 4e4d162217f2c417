"""The one wording module: every code of the lifecycle is worded, in every language."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from portal import wording
from portal.i18n import LANGUAGES
from workflows import machine
from workflows.decisions import ItemTally
from workflows.request_flow import (
    TRANSITIONS,
    Facts,
    GuardFailed,
    IllegalTransition,
    MissingInput,
    NotPermitted,
    UnknownTrigger,
)
from workflows.roles import Role
from workflows.states import RequestState, Resolution

GUARDS = sorted({g for t in TRANSITIONS for g in t.guards}, key=lambda g: g.name)
FACTS = Facts(tally=ItemTally(10, 3, 4, 3), resolution=Resolution.WITHDRAWN)
FALLBACK = "This action is not possible now."


@pytest.mark.parametrize("guard", GUARDS, ids=[g.name for g in GUARDS])
@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_every_guard_has_its_own_sentence_in_every_language(app, guard, locale):
    refusal = GuardFailed("action", RequestState.LEGAL_REVIEW, guard, FACTS)
    with app.test_request_context(), force_locale("en"):
        english = wording.refusal_text(refusal)
    with app.test_request_context(), force_locale(locale):
        text = wording.refusal_text(refusal)
    assert english != FALLBACK
    if locale != "en":
        assert text != english, f"{guard.name} is not translated into {locale}"


def test_a_guard_refusal_is_worded_with_the_counts_the_machine_looked_at(app):
    with pytest.raises(GuardFailed) as refused:
        machine.fire(RequestState.LEGAL_REVIEW, "action", role=Role.LEGAL_REVIEWER,
                     is_owner=False, facts=FACTS)
    with app.test_request_context():
        assert wording.refusal_text(refused.value) == (
            "Every item needs a decision first: 3 of 10 items are still pending.")


@pytest.mark.parametrize(("error", "expected"), [
    (NotPermitted("action", RequestState.LEGAL_REVIEW, "x"),
     "Your account may not take this action on this request."),
    (IllegalTransition("dispute", RequestState.RECEIVED, "x"),
     "This cannot be done while the request is “Received”."),
    (MissingInput("withdraw", RequestState.RECEIVED, "reason"), "Some required text is missing."),
    (UnknownTrigger("explode", None, "x"), "This action does not exist."),
])
def test_each_kind_of_refusal_has_its_sentence(app, error, expected):
    with app.test_request_context():
        assert wording.refusal_text(error) == expected


@pytest.mark.parametrize("table", [wording.TRIGGERS, wording.STATES, wording.ROLES])
def test_every_code_is_worded(table):
    codes = {
        id(wording.TRIGGERS): {t.trigger for t in TRANSITIONS},
        id(wording.STATES): {s.value for s in RequestState},
        id(wording.ROLES): {r.value for r in Role},
    }[id(table)]
    assert set(table) == codes
