"""The notification matrix as data (workflows/notices.py), without Flask: escalation
never drops anyone as a clock runs on, and nothing about an emergency can be muted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from workflows.codes import Priority
from workflows.notices import (
    AUDIENCES,
    MUTABLE_KINDS,
    TRIGGER_KINDS,
    Audience,
    NoticeKind,
    kinds_for,
    mutable,
    sla_audiences,
    sla_kind,
)
from workflows.request_flow import TRANSITIONS
from workflows.roles import Role

fractions = st.floats(min_value=0.0, max_value=3.0, allow_nan=False)


@given(fractions, fractions, st.booleans(), st.booleans())
def test_a_later_threshold_tells_everyone_an_earlier_one_told(a, b, assigned, emergency):
    low, high = sorted((a, b))
    earlier = sla_audiences(low, assigned=assigned, emergency=emergency)
    later = sla_audiences(high, assigned=assigned, emergency=emergency)
    assert earlier <= later


@given(fractions, st.booleans(), st.booleans())
def test_who_hears_of_a_threshold(threshold, assigned, emergency):
    told = sla_audiences(threshold, assigned=assigned, emergency=emergency)
    assert (Audience.ASSIGNEE in told) == assigned
    assert (Audience.ADMINS in told) == (threshold >= 1.0)
    assert (Audience.LIAISONS in told) == (threshold >= 0.75 or emergency or not assigned)
    assert Audience.AGENCY_OFFICIALS not in told and Audience.REVIEWERS not in told
    assert sla_kind(threshold) is (NoticeKind.SLA_BREACH if threshold >= 1.0
                                   else NoticeKind.SLA_WARNING)


def test_nothing_about_an_emergency_can_be_muted():
    assert NoticeKind.EMERGENCY_FILED not in MUTABLE_KINDS
    for kind in (NoticeKind.SLA_WARNING, NoticeKind.SLA_BREACH):
        assert not mutable(kind, Priority.EMERGENCY)
        assert mutable(kind, Priority.URGENT) and mutable(kind, Priority.STANDARD)


def test_every_trigger_named_exists_and_every_kind_has_someone_to_tell():
    triggers = {row.trigger for row in TRANSITIONS}
    assert set(TRIGGER_KINDS) <= triggers
    for kind in NoticeKind:
        assert kind in AUDIENCES or kind in (NoticeKind.SLA_WARNING, NoticeKind.SLA_BREACH)
    # Officials are only ever told about their own agency's requests, as officials.
    assert kinds_for(Role.AGENCY_OFFICIAL) == (NoticeKind.INFO_REQUESTED, NoticeKind.OUTCOME)
    assert kinds_for(Role.ADMIN) == (NoticeKind.SLA_BREACH,)


def test_a_reassignment_tells_only_the_reviewer_it_is_handed_to():
    assert TRIGGER_KINDS["reassign"] is NoticeKind.ASSIGNED
    assert AUDIENCES[NoticeKind.ASSIGNED] == {Audience.ASSIGNEE}
    assert NoticeKind.ASSIGNED in MUTABLE_KINDS
    assert NoticeKind.ASSIGNED in kinds_for(Role.LEGAL_REVIEWER)
    assert NoticeKind.ASSIGNED not in kinds_for(Role.PLATFORM_LIAISON)
    # Taking a request oneself, or letting it go, tells nobody.
    assert "claim" not in TRIGGER_KINDS and "unassign" not in TRIGGER_KINDS


def test_new_requests_go_by_jurisdiction_but_an_emergency_to_every_reviewer():
    # A reviewer covering only some jurisdictions hears of those; an emergency (15 min
    # to acknowledge) reaches every reviewer whatever they cover, and the liaisons.
    assert AUDIENCES[NoticeKind.REQUEST_FILED] == {Audience.COVERING_REVIEWERS}
    assert AUDIENCES[NoticeKind.URGENT_FILED] == {Audience.COVERING_REVIEWERS,
                                                  Audience.LIAISONS}
    assert AUDIENCES[NoticeKind.EMERGENCY_FILED] == {Audience.REVIEWERS, Audience.LIAISONS}
    for kind in (NoticeKind.REQUEST_FILED, NoticeKind.URGENT_FILED,
                 NoticeKind.EMERGENCY_FILED):
        assert kind in kinds_for(Role.LEGAL_REVIEWER)
    assert NoticeKind.REQUEST_FILED not in kinds_for(Role.PLATFORM_LIAISON)
