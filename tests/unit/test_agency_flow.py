"""The agency verification table, without Flask or a database.

The expected answers are written out here, not read from the table: a change to the
table has to change these too.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows import agency_flow
from workflows.agency_flow import (
    AgencyTransitionError,
    Facts,
    GuardFailed,
    IllegalTransition,
    InputRefused,
    Inputs,
    UnknownAction,
    VerificationStatus,
    allowed_actions,
    check,
    checked_inputs,
    expiry,
    filing_block,
)
from workflows.diagram import agency_mermaid

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
#: Inputs every action accepts, and a verification that runs for another month.
GOOD = Inputs(reason="Requests filed with forged orders.", valid_until=date(2027, 6, 30))
CURRENT = Facts(NOW, verified_until=NOW + timedelta(days=30))

# (status, action) -> the new status, or the refusal. Every pair is listed.
ANSWERS = [
    ("pending", "approve", "verified"),
    ("pending", "reject", "rejected"),
    ("pending", "suspend", IllegalTransition),
    ("pending", "reinstate", IllegalTransition),
    ("verified", "approve", "verified"),
    ("verified", "reject", IllegalTransition),
    ("verified", "suspend", "suspended"),
    ("verified", "reinstate", IllegalTransition),
    ("rejected", "approve", "verified"),
    ("rejected", "reject", IllegalTransition),
    ("rejected", "suspend", IllegalTransition),
    ("rejected", "reinstate", IllegalTransition),
    ("suspended", "approve", "verified"),
    ("suspended", "reject", IllegalTransition),
    ("suspended", "suspend", IllegalTransition),
    ("suspended", "reinstate", "verified"),
]


def test_every_status_and_action_is_answered():
    pairs = {(status, action) for status, action, _ in ANSWERS}
    assert pairs == {(s.value, t.action) for s in VerificationStatus
                     for t in agency_flow.TRANSITIONS}


@pytest.mark.parametrize(("status", "action", "answer"), ANSWERS,
                         ids=[f"{a}-from-{s}" for s, a, _ in ANSWERS])
def test_each_action_from_each_status(status, action, answer):
    if isinstance(answer, str):
        assert check(VerificationStatus(status), action, GOOD, CURRENT).dest.value == answer
    else:
        with pytest.raises(answer) as refused:
            check(VerificationStatus(status), action, GOOD, CURRENT)
        assert refused.value.code == "illegal_transition"
        assert f"cannot {action} an agency that is {status}" in refused.value.message


@pytest.mark.parametrize(("status", "buttons"), [
    ("pending", ("approve", "reject")),
    ("verified", ("approve", "suspend")),
    ("rejected", ("approve",)),
    ("suspended", ("approve", "reinstate")),
])
def test_the_buttons_each_status_offers(status, buttons):
    assert allowed_actions(VerificationStatus(status)) == buttons


@pytest.mark.parametrize("verified_until", [NOW, NOW - timedelta(days=1), None],
                         ids=["ends-now", "ended", "no-date"])
def test_an_expired_verification_is_not_reinstated(verified_until):
    with pytest.raises(GuardFailed) as refused:
        check(VerificationStatus.SUSPENDED, "reinstate", Inputs(),
              Facts(NOW, verified_until=verified_until))
    assert (refused.value.guard, refused.value.field, refused.value.code) == (
        "verification_current", "valid_until", "expired")


def test_an_expired_verification_can_be_approved_again():
    expired = Facts(NOW, verified_until=NOW - timedelta(days=1))
    for status in ("verified", "suspended"):
        assert check(VerificationStatus(status), "approve", GOOD, expired).dest.value == (
            "verified")


@pytest.mark.parametrize(("action", "inputs", "field", "code"), [
    ("reject", Inputs(), "reason", "required"),
    ("reject", Inputs(reason="   "), "reason", "required"),
    ("suspend", Inputs(reason=""), "reason", "required"),
    ("suspend", Inputs(reason="x" * 2001), "reason", "too_long"),
    ("approve", Inputs(), "valid_until", "required"),
    ("approve", Inputs(valid_until=date(2026, 11, 23)), "valid_until", "not_future"),
    ("approve", Inputs(valid_until=date(2020, 1, 1)), "valid_until", "not_future"),
])
def test_missing_or_refused_inputs(action, inputs, field, code):
    with pytest.raises(InputRefused) as refused:
        check(VerificationStatus.PENDING if action != "suspend"
              else VerificationStatus.VERIFIED, action, inputs, CURRENT)
    assert (refused.value.field, refused.value.code) == (field, code)


def test_the_inputs_are_checked_before_the_status():
    # As a form is: a blank reason is reported even when the action does not apply.
    with pytest.raises(InputRefused):
        check(VerificationStatus.VERIFIED, "reject", Inputs(reason=" "), CURRENT)


def test_inputs_are_cleaned_and_only_those_needed_kept():
    reject = agency_flow.lookup("reject")
    given_ = Inputs(reason="  The domain is not a government domain. \n",
                    valid_until=date(2027, 1, 1))
    assert checked_inputs(reject, given_, today=TODAY) == Inputs(
        reason="The domain is not a government domain.")
    assert checked_inputs(agency_flow.lookup("reinstate"), given_, today=TODAY) == Inputs()
    assert checked_inputs(reject, Inputs(reason="x" * 2000), today=TODAY).reason == "x" * 2000
    assert checked_inputs(agency_flow.lookup("approve"), given_, today=TODAY) == Inputs(
        valid_until=date(2027, 1, 1))
    assert checked_inputs(agency_flow.lookup("approve"), Inputs(valid_until=date(2026, 11, 24)),
                          today=TODAY).valid_until == date(2026, 11, 24)


def test_an_unknown_action():
    with pytest.raises(UnknownAction):
        check(VerificationStatus.PENDING, "delete", GOOD, CURRENT)


def test_a_verification_lasts_through_its_last_day():
    assert expiry(date(2027, 6, 30)) == datetime(2027, 6, 30, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(("status", "verified_until", "block"), [
    ("pending", None, "the agency has not been verified yet"),
    ("rejected", None, "the agency's verification was rejected"),
    ("suspended", NOW + timedelta(days=1), "the agency is suspended"),
    ("verified", NOW + timedelta(seconds=1), None),
    ("verified", None, None),
    ("verified", NOW, "the agency's verification has expired"),
])
def test_who_may_file(status, verified_until, block):
    assert filing_block(VerificationStatus(status), verified_until, NOW) == block


def test_the_architecture_diagram_matches_the_table():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    found = re.search(r"<!-- agency diagram: begin -->\n```mermaid\n(.*?)```\n"
                      r"<!-- agency diagram: end -->", text, re.S)
    assert found, "the agency diagram markers are missing from docs/ARCHITECTURE.md"
    assert found.group(1) == agency_mermaid(), \
        "regenerate with: python -m workflows.diagram agencies"


# -- properties -------------------------------------------------------------------------

ACTIONS = ("approve", "reject", "suspend", "reinstate")
#: Every status the table names, as sources or destinations, written out.
TABLE_STATUSES = {"pending", "verified", "rejected", "suspended"}

inputs_ = st.builds(
    Inputs,
    reason=st.one_of(st.none(), st.just(""), st.just("  "), st.text(max_size=30),
                     st.just("x" * 2001)),
    valid_until=st.one_of(st.none(), st.dates(min_value=date(2025, 1, 1),
                                              max_value=date(2028, 12, 31))),
)
steps = st.lists(st.tuples(st.sampled_from(ACTIONS), inputs_,
                           st.integers(min_value=0, max_value=400)), max_size=30)


@given(steps)
def test_any_sequence_of_actions_stays_in_the_table(sequence):
    status = VerificationStatus.PENDING
    verified_until: datetime | None = None
    now = NOW
    for action, inputs, days_later in sequence:
        now += timedelta(days=days_later)
        facts = Facts(now, verified_until)
        try:
            transition = check(status, action, inputs, facts)
        except AgencyTransitionError as refused:
            # A refusal says why, in a stable code, and changes nothing.
            assert refused.code in {"illegal_transition", "required", "too_long",
                                    "not_future", "expired"}
            if isinstance(refused, IllegalTransition):
                assert action not in allowed_actions(status)
            continue
        # Only an action a page offers can succeed, and it lands where the table says.
        assert action in allowed_actions(status)
        assert status in transition.sources
        status = transition.dest
        if action == "approve":
            assert inputs.valid_until is not None and inputs.valid_until > now.date()
            verified_until = expiry(inputs.valid_until)
        if action == "reinstate":
            assert verified_until is not None and verified_until > now
        assert status.value in TABLE_STATUSES


@given(st.sampled_from(list(VerificationStatus)), st.sampled_from(ACTIONS), inputs_,
       st.one_of(st.none(), st.datetimes(min_value=datetime(2025, 1, 1),
                                         max_value=datetime(2028, 12, 31),
                                         timezones=st.just(UTC))))
def test_the_buttons_and_the_check_agree(status, action, inputs, verified_until):
    facts = Facts(NOW, verified_until)
    try:
        check(status, action, inputs, facts)
    except IllegalTransition:
        assert action not in allowed_actions(status)
    except (InputRefused, GuardFailed):
        pass  # the button is there; the input or the expiry is what is refused
    else:
        assert action in allowed_actions(status)
