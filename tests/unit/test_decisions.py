"""Decisions the law can read: the vocabulary, territorial scopes, and what a reviewer's
input is recorded as (defaults and refusals), without Flask or a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows import territory
from workflows.decisions import (
    ACTED_DECISIONS,
    CURRENT,
    DSA_ACCOUNT,
    DSA_VISIBILITY,
    LEGACY,
    Decision,
    Ground,
    ItemTally,
    NoActionReason,
    Order,
    Rejected,
    Terms,
    add_months,
    canonical,
    derive_resolution,
    is_tco_order,
    narrower_than_eea,
    settle,
    settle_notice,
    settle_restoration,
)
from workflows.states import Resolution

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
TR = Order("TR", "Law No. 5651", "Art. 8/A", "disinformation", "withhold_in_country",
           NOW - timedelta(hours=2))
DE_TCO = Order("DE", "Regulation (EU) 2021/784 (TCO)", "Art. 3", "terrorism", "remove",
               NOW - timedelta(hours=2))


# --- the vocabulary ----------------------------------------------------------------------------

def test_the_first_releases_codes_stay_valid_and_mean_a_current_action():
    assert {d.value for d in LEGACY} == {"withheld_in_country", "account_read_only",
                                         "visibility_restricted"}
    assert canonical(Decision.WITHHELD_IN_COUNTRY) is Decision.WITHHELD
    assert canonical(Decision.ACCOUNT_READ_ONLY) is Decision.INTERACTION_RESTRICTED
    assert canonical(Decision.VISIBILITY_RESTRICTED) is Decision.DEMOTED
    assert {"removed", "labelled", "account_suspended", "no_action"} <= {d.value for d in
                                                                         CURRENT}
    assert not set(LEGACY) & set(CURRENT)


def test_every_action_has_its_dsa_value():
    for decision in CURRENT:
        if decision is Decision.NO_ACTION:
            continue
        assert (decision in DSA_VISIBILITY) != (decision in DSA_ACCOUNT), decision
    assert DSA_VISIBILITY[Decision.WITHHELD] == "DECISION_VISIBILITY_CONTENT_DISABLED"


#: (items' decisions) -> the resolution; old and new codes count alike.
RESOLUTIONS = [
    (["withheld_in_country", "removed"], Resolution.COMPLIED),
    (["account_read_only", "disabled", "age_restricted"], Resolution.COMPLIED),
    (["visibility_restricted", "no_action"], Resolution.PARTIALLY_COMPLIED),
    (["account_terminated", "no_action", "no_action"], Resolution.PARTIALLY_COMPLIED),
    (["no_action", "no_action"], Resolution.DECLINED),
]


@pytest.mark.parametrize(("codes", "expected"), RESOLUTIONS)
def test_the_resolution_counts_old_and_new_codes_alike(codes, expected):
    tally = ItemTally.of(Decision(c) for c in codes)
    assert derive_resolution(tally) is expected
    counts: dict[str, int] = {}
    for code in codes:
        counts[code] = counts.get(code, 0) + 1
    assert derive_resolution(ItemTally.of_counts(counts)) is expected
    assert all(Decision(c) in ACTED_DECISIONS for c in codes if c != "no_action")


# --- territorial scopes ------------------------------------------------------------------------

@pytest.mark.parametrize(("given_", "code"), [
    ("TR", "TR"),
    ("de, at", "AT,DE"),
    (["DE", "AT", "DE"], "AT,DE"),
    ("EEA", "EEA"),
    ("eea ch", "EEA,CH"),
    ("EEA, DE, CH", "EEA,CH"),  # a state the EEA covers is not repeated
    (" ".join(territory.EEA_STATES), "EEA"),  # all 30 are the EEA
    (" ".join(territory.EU_MEMBER_STATES), ",".join(sorted(territory.EU_MEMBER_STATES))),
    ("global", "global"),
    ("Worldwide", "global"),
    ("EL", "GR"),
    ("uk", "GB"),
])
def test_a_scope_has_one_canonical_code(given_, code):
    assert territory.parse_scope(given_) == code


@pytest.mark.parametrize(("given_", "words"), [
    ("", "at least one"),
    ("XX", "XX is not an ISO 3166-1 country code"),
    ("TR, EU", "EU is not"),
    ("global, TR", "cannot be combined"),
    ("TUR", "TUR is not"),
])
def test_a_bad_scope_is_refused_naming_the_token(given_, words):
    with pytest.raises(territory.ScopeError, match=words):
        territory.parse_scope(given_)


@given(st.sets(st.sampled_from(sorted(territory.ISO_COUNTRIES)), min_size=1),
       st.booleans())
def test_eea_is_named_exactly_when_the_scope_covers_it(countries, eea):
    code = territory.parse_scope([*countries, *(["EEA"] if eea else [])])
    assert territory.parse_scope(code) == code  # canonical is a fixed point
    covered = eea or territory.EEA_STATES <= countries
    assert territory.covers_eea(code) is covered
    named = territory.countries(code)
    assert named == (frozenset(countries) | (territory.EEA_STATES if eea else frozenset()))


# --- a decision's record: defaults ----------------------------------------------------------

def test_an_action_defaults_to_the_requests_country_law_and_now():
    withheld = settle("withheld", Terms(), TR, NOW)
    assert (withheld.territorial_scope, withheld.ground, withheld.ground_statute,
            withheld.ground_article, withheld.effect_given_at) == (
        "TR", Ground.LOCAL_LAW, "Law No. 5651", "Art. 8/A", NOW)
    assert settle("withheld_in_country", Terms(), TR, NOW).territorial_scope == "TR"
    assert settle("removed", Terms(), TR, NOW).territorial_scope == "global"
    assert settle("labelled", Terms(), TR, NOW).preserved_until is None


def test_a_tco_orders_removed_items_are_preserved_six_months_from_the_effect():
    effect = datetime(2026, 8, 31, 12, 0, tzinfo=UTC)
    order = Order("DE", "TCO", "Art. 3", "terrorism", "remove", effect - timedelta(hours=1))
    removed = settle("removed", Terms(effect_given_at=effect), order, NOW)
    assert removed.preserved_until == datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
    assert settle("disabled", Terms(), order, NOW).preserved_until == add_months(NOW, 6)
    assert settle("labelled", Terms(), order, NOW).preserved_until is None
    assert settle("removed", Terms(), TR, NOW).preserved_until is None


@pytest.mark.parametrize(("order", "tco"), [
    (DE_TCO, True),
    (Order("EU", "TCO", "", "terrorism", None, NOW), True),
    (Order("DE", "TCO", "", "terrorism", "preserve_data", NOW), False),
    (Order("DE", "NetzDG", "", "hate_speech", "remove", NOW), False),
    (Order("TR", "5651", "", "terrorism", "remove", NOW), False),
    (Order("NO", "x", "", "terrorism", "remove", NOW), False),
])
def test_what_a_tco_order_is(order, tco):
    assert is_tco_order(order.jurisdiction, order.category, order.requested_action) is tco


def test_the_platforms_rules_need_the_rules_name():
    ruled = settle("removed", Terms(ground="platform_rules", ground_statute="Violent "
                                    "organisations policy", ground_article="§2"), TR, NOW)
    assert (ruled.ground, ruled.ground_statute, ruled.ground_article) == (
        Ground.PLATFORM_RULES, "Violent organisations policy", "§2")
    with pytest.raises(Rejected) as refused:
        settle("removed", Terms(ground="platform_rules"), TR, NOW)
    assert [(p.field, p.code) for p in refused.value.problems] == [("ground_statute",
                                                                    "required")]


def test_no_action_has_a_reason_from_the_list_and_nothing_else():
    settled = settle("no_action", Terms(no_action_reason="pending_court"), TR, NOW)
    assert settled.no_action_reason is NoActionReason.PENDING_COURT
    assert settled.territorial_scope is settled.ground is settled.effect_given_at is None
    # The first release's clients sent the code as the reason text.
    assert settle("no_action", Terms(), TR, NOW, reason="not_found").no_action_reason \
        is NoActionReason.NOT_FOUND


#: (decision, terms) -> the (field, code) of every problem, all reported at once.
REFUSALS = [
    ("nuke", Terms(), [("decision", "choice")]),
    ("no_action", Terms(), [("no_action_reason", "required")]),
    ("no_action", Terms(no_action_reason="too_busy"), [("no_action_reason", "choice")]),
    ("no_action", Terms(no_action_reason="not_found", territorial_scope="TR", ground="local_law",
                        effect_given_at=NOW), [("territorial_scope", "not_applicable"),
                                               ("ground", "not_applicable"),
                                               ("effect_given_at", "not_applicable")]),
    ("removed", Terms(no_action_reason="not_found"), [("no_action_reason", "not_applicable")]),
    ("withheld", Terms(territorial_scope="TR, XX"), [("territorial_scope", "invalid")]),
    ("removed", Terms(ground="divine"), [("ground", "choice")]),
    ("removed", Terms(effect_given_at=NOW + timedelta(minutes=1)),
     [("effect_given_at", "future")]),
    ("removed", Terms(effect_given_at=NOW - timedelta(hours=3)),
     [("effect_given_at", "before_receipt")]),
    ("removed", Terms(effect_given_at=datetime(2026, 11, 20, 9, 0)),
     [("effect_given_at", "invalid")]),
    ("account_suspended", Terms(), [("suspended_until", "required")]),
    ("account_suspended", Terms(suspended_until=NOW - timedelta(minutes=5)),
     [("suspended_until", "before_effect")]),
    ("removed", Terms(suspended_until=NOW + timedelta(days=1)),
     [("suspended_until", "not_applicable")]),
    ("removed", Terms(ground_statute="x" * 301, scope_reason="y" * 1001),
     [("scope_reason", "too_long"), ("ground_statute", "too_long")]),
    ("withheld", Terms(territorial_scope="XX", ground="divine",
                       effect_given_at=NOW + timedelta(days=1),
                       suspended_until=NOW + timedelta(days=2)),
     [("territorial_scope", "invalid"), ("ground", "choice"), ("effect_given_at", "future"),
      ("suspended_until", "not_applicable")]),
]


@pytest.mark.parametrize(("decision", "terms", "expected"), REFUSALS)
def test_every_problem_is_refused_with_its_field(decision, terms, expected):
    with pytest.raises(Rejected) as refused:
        settle(decision, terms, TR, NOW)
    assert [(p.field, p.code) for p in refused.value.problems] == expected


def test_a_suspension_ends_when_the_reviewer_says():
    until = NOW + timedelta(days=30)
    settled = settle("account_suspended", Terms(suspended_until=until), TR, NOW)
    assert settled.suspended_until == until


@pytest.mark.parametrize(("decision", "scope", "reason", "narrow"), [
    (Decision.WITHHELD, "DE", None, True),
    (Decision.WITHHELD, "DE", "  ", True),
    (Decision.WITHHELD, "DE", "lawful journalism elsewhere", False),
    (Decision.WITHHELD, "EEA", None, False),
    (Decision.REMOVED, "global", None, False),
    (Decision.WITHHELD, "AT,BE,DE", None, True),
    (Decision.NO_ACTION, None, None, False),
    (None, None, None, False),
])
def test_narrower_than_the_eea(decision, scope, reason, narrow):
    assert narrower_than_eea(decision, scope, reason) is narrow


# --- notices and restorations ----------------------------------------------------------------

def test_a_notice_is_told_or_deferred_on_a_basis():
    told = settle_notice(notified=True, notified_at=None, deferred_until=None, basis=None,
                         now=NOW)
    assert told.notified_at == NOW and told.deferred_until is None
    later = NOW + timedelta(weeks=6)
    deferred = settle_notice(notified=False, notified_at=None, deferred_until=later,
                             basis="tco_art_11_3", now=NOW)
    assert (deferred.deferred_until, deferred.basis.value) == (later, "tco_art_11_3")


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"notified": True, "notified_at": NOW + timedelta(hours=1)}, [("notified_at", "future")]),
    ({"notified": True, "deferred_until": NOW + timedelta(days=1)},
     [("deferred_until", "not_applicable")]),
    ({"notified": False}, [("deferred_until", "required"), ("basis", "required")]),
    ({"notified": False, "deferred_until": NOW - timedelta(days=1), "basis": "gag"},
     [("deferred_until", "past"), ("basis", "choice")]),
    ({"notified": False, "notified_at": NOW, "deferred_until": NOW + timedelta(days=1),
      "basis": "dsa_art_9_5"}, [("notified_at", "not_applicable")]),
])
def test_a_bad_notice_is_refused_with_its_fields(kwargs, expected):
    values = {"notified_at": None, "deferred_until": None, "basis": None, **kwargs}
    with pytest.raises(Rejected) as refused:
        settle_notice(now=NOW, **values)
    assert [(p.field, p.code) for p in refused.value.problems] == expected


def test_a_restoration_has_a_reason_and_is_not_in_the_future():
    done = settle_restoration(reason="order_annulled", note=" Court of Cassation ",
                              restored_at=None, now=NOW)
    assert (done.restored_at, done.reason.value, done.note) == (
        NOW, "order_annulled", "Court of Cassation")
    with pytest.raises(Rejected) as refused:
        settle_restoration(reason="because", restored_at=NOW + timedelta(1), now=NOW)
    assert [(p.field, p.code) for p in refused.value.problems] == [
        ("reason", "choice"), ("restored_at", "future")]
