"""DSA statements of reasons: what one item's decision is written as, and the JSON Schema
(from the Transparency Database's own rules) that refuses a bad statement by field."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest

from portal.services.dsa_statements import check, schema
from workflows import dsa
from workflows.decisions import Decision, Ground

#: A statement written by hand from the database's API documentation (not by the code).
VALID = {
    "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"],
    "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
    "illegal_content_legal_ground": "Law No. 5651, Art. 8/A",
    "illegal_content_explanation": "Ordered by a court.",
    "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "content_type": ["CONTENT_TYPE_TEXT"],
    "territorial_scope": ["DE", "GR"],
    "content_date": "2026-11-18",
    "application_date": "2026-11-20",
    "decision_facts": "An authority's order.",
    "source_type": "SOURCE_TYPE_OTHER_NOTIFICATION",
    "automated_detection": "No",
    "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    "puid": "DE-2026-000001-1",
}


def changed(**fields: object) -> dict[str, object]:
    statement = copy.deepcopy(VALID)
    for name, value in fields.items():
        if value is None:
            statement.pop(name, None)
        else:
            statement[name] = value
    return statement


def fields(problems: list[tuple[str, str]]) -> set[str]:
    return {name for name, _message in problems}


def test_the_hand_written_statement_is_valid():
    assert check(VALID) == []


def test_the_schema_is_draft_2020_12_with_the_databases_sixteen_categories():
    loaded = schema()
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert len(loaded["properties"]["category"]["enum"]) == 16
    assert loaded["properties"]["territorial_scope"]["items"]["enum"] == [
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE",
        "SI", "SK"]


def test_a_missing_ground_is_refused_with_the_field_named():
    assert check(changed(decision_ground=None)) == [
        ("decision_ground", "'decision_ground' is required")]


def test_an_out_of_list_territory_is_refused_with_the_field_named():
    problems = check(changed(territorial_scope=["DE", "CH"]))
    assert problems == [("territorial_scope",
                         "'CH' is not one of the values the database accepts")]
    # Greece is GR in the database, never the EU's own "EL".
    assert fields(check(changed(territorial_scope=["EL"]))) == {"territorial_scope"}


@pytest.mark.parametrize(("change", "field"), [
    # required_if: the illegal-content ground needs its legal ground and explanation.
    ({"illegal_content_legal_ground": None}, "illegal_content_legal_ground"),
    ({"illegal_content_explanation": None}, "illegal_content_explanation"),
    # ... and the incompatible-content ground its own two fields.
    ({"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT"}, "incompatible_content_ground"),
    ({"decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT"},
     "incompatible_content_explanation"),
    ({"content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other"),
    ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, "decision_visibility_other"),
    ({"decision_visibility": None, "decision_monetary": "DECISION_MONETARY_OTHER"},
     "decision_monetary_other"),
    # required_without_all: one of the four decision fields.
    ({"decision_visibility": None}, "decision_visibility"),
    ({"decision_visibility": []}, "decision_visibility"),
    # Lengths.
    ({"decision_facts": "x" * 5001}, "decision_facts"),
    ({"illegal_content_explanation": "x" * 2001}, "illegal_content_explanation"),
    ({"illegal_content_legal_ground": "x" * 501}, "illegal_content_legal_ground"),
    ({"puid": "p" * 501}, "puid"),
    ({"puid": "DE 2026/1"}, "puid"),
    ({"puid": ""}, "puid"),
    # Dates: the format and the database's bounds.
    ({"application_date": "20-11-2026"}, "application_date"),
    ({"application_date": "2019-12-31"}, "application_date"),
    ({"content_date": "2038-01-02"}, "content_date"),
    ({"end_date_visibility_restriction": "2040-01-01"}, "end_date_visibility_restriction"),
    # Enumerations.
    ({"category": "STATEMENT_CATEGORY_TERRORISM"}, "category"),
    ({"category_specification": ["KEYWORD_NOT_A_KEYWORD"]}, "category_specification"),
    ({"automated_detection": "no"}, "automated_detection"),
    ({"source_type": "SOURCE_GOVERNMENT"}, "source_type"),
    ({"decision_account": "DECISION_ACCOUNT_BLOCKED"}, "decision_account"),
    # Nothing the API does not know.
    ({"platform_name": "X"}, "statement"),
])
def test_each_rule_names_its_field(change, field):
    assert field in fields(check(changed(**change)))


def test_other_decision_fields_make_the_visibility_optional():
    assert check(changed(decision_visibility=None,
                         decision_account="DECISION_ACCOUNT_SUSPENDED")) == []


def facts(**fields: object) -> dsa.ItemFacts:
    values: dict[str, object] = dict(
        reference="DE-2026-000007", position=2, kind="post", decision=Decision.REMOVED,
        territorial_scope="global", ground=Ground.LOCAL_LAW,
        ground_statute="Regulation (EU) 2021/784 (TCO)", ground_article="Art. 3",
        effect_given_at=datetime(2026, 11, 20, 10, 30, tzinfo=UTC), suspended_until=None,
        restored_at=None, category="terrorism", jurisdiction="DE",
        issuing_authority="Bundeskriminalamt", order_reference="TCO-DE-2026-0311",
        order_date=date(2026, 11, 18), received_at=datetime(2026, 11, 19, 8, tzinfo=UTC))
    values.update(fields)
    return dsa.ItemFacts(**values)  # type: ignore[arg-type]


def test_an_item_removed_under_a_tco_order_is_this_statement():
    statement = dsa.build(facts(), dsa.Settings())
    assert statement == {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": "Regulation (EU) 2021/784 (TCO), Art. 3",
        "illegal_content_explanation": (
            "Bundeskriminalamt found the content unlawful under Regulation (EU) 2021/784 "
            "(TCO), Art. 3 and ordered the platform to act against it; the platform gave "
            "effect to the order."),
        "category": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "category_specification": ["KEYWORD_TERRORIST_CONTENT"],
        "content_type": ["CONTENT_TYPE_TEXT"],
        "territorial_scope": [
            "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
            "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO",
            "SE", "SI", "SK"],
        "content_date": "2026-11-18",
        "application_date": "2026-11-20",
        "decision_facts": (
            "Bundeskriminalamt (DE) sent order TCO-DE-2026-0311 dated 2026-11-18, received "
            "2026-11-19, asking the platform to act against this content (portal request "
            "DE-2026-000007, item 2). The platform reviewed the order and restricted the "
            "content in the scope stated."),
        "source_type": "SOURCE_TYPE_OTHER_NOTIFICATION",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "puid": "DE-2026-000007-2",
    }
    assert check(statement) == []


def test_a_suspended_account_on_the_platforms_rules_withheld_in_two_states():
    statement = dsa.build(facts(
        kind="account", decision=Decision.ACCOUNT_SUSPENDED, territorial_scope="AT,CH,DE",
        ground=Ground.PLATFORM_RULES, ground_statute="Rules: violent organisations",
        ground_article="", suspended_until=datetime(2027, 2, 1, tzinfo=UTC),
        category="impersonation"), dsa.Settings(source_type="SOURCE_TRUSTED_FLAGGER",
                                                puid_prefix="x:"))
    assert statement["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert "decision_visibility" not in statement
    assert statement["end_date_account_restriction"] == "2027-02-01"
    assert statement["territorial_scope"] == ["AT", "DE"]  # CH is not in the EEA
    assert statement["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert statement["incompatible_content_ground"] == "Rules: violent organisations"
    assert statement["incompatible_content_illegal"] == "No"
    assert "illegal_content_legal_ground" not in statement
    assert statement["content_type"] == ["CONTENT_TYPE_OTHER"]
    assert statement["content_type_other"] == "Account"
    assert statement["category"] == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    assert statement["source_type"] == "SOURCE_TRUSTED_FLAGGER"
    assert statement["puid"] == "x_DE-2026-000007-2"
    assert check(statement) == []


def test_a_restored_item_states_when_the_restriction_ended():
    statement = dsa.build(facts(decision=Decision.WITHHELD_IN_COUNTRY, territorial_scope="DE",
                                restored_at=datetime(2026, 12, 1, 9, tzinfo=UTC)),
                          dsa.Settings())
    assert statement["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert statement["end_date_visibility_restriction"] == "2026-12-01"
    assert statement["territorial_scope"] == ["DE"]


@pytest.mark.parametrize(("change", "field"), [
    ({"ground": None}, "decision_ground"),
    ({"territorial_scope": None}, "territorial_scope"),
    ({"effect_given_at": None}, "application_date"),
])
def test_a_decision_recorded_without_its_legal_facts_cannot_be_written(change, field):
    with pytest.raises(dsa.Unwritable) as refused:
        dsa.build(facts(**change), dsa.Settings())
    assert refused.value.field == field


@pytest.mark.parametrize(("scope", "jurisdiction", "reaches"), [
    ("global", "TR", True), ("IN", "IN", False), ("EEA,CH", "CH", True), ("NO", "NO", True),
    ("CH,TR", "TR", False), (None, "IN", False),  # withheld by default in the country
    (None, "DE", True),
])
def test_only_restrictions_reaching_the_eea_get_a_statement(scope, jurisdiction, reaches):
    item = facts(decision=Decision.WITHHELD, territorial_scope=scope, jurisdiction=jurisdiction)
    assert dsa.affects_eea(item) is reaches


def test_call_bodies_hold_at_most_one_hundred_statements():
    bodies = list(dsa.batches({"puid": str(n)} for n in range(250)))
    assert [len(b["statements"]) for b in bodies] == [100, 100, 50]
    assert bodies[2]["statements"][0] == {"puid": "200"}
    with pytest.raises(ValueError):
        dsa.batches([], 101)


def test_the_puid_is_stable_and_safe():
    assert dsa.puid("TR-2026-000042", 17) == "TR-2026-000042-17"
    assert dsa.puid("TR 2026/42", 1, "plat.form:") == "plat_form_TR_2026_42-1"
    assert len(dsa.puid("R" * 600, 1)) == 500
