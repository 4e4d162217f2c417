"""The transparency report's figures on a small hand-made data set, the expected numbers
worked out by hand below (issue 14, part 1).

The data (2026H2 unless said; standard priority; default SLA policies):

- R1  TR police, disinformation, 3 items, received 1 Oct 10:00; all withheld in TR
      (local) at 12:00 and actioned: 2 h to act; Law 5651's 4 h deadline met.
- R2  TR police, hate_speech, 2 items, received 2 Oct 00:00; item 1 removed worldwide
      (global) at 10:00, item 2 no action (not found); actioned at 10:00: 10 h to act,
      4 h deadline breached.
- R3  TR police, disinformation, 2 items, received 3 Oct 00:00; declined at 01:00
      (both no action, not unlawful); disputed at 02:00, upheld at 03:00.
- R4  IN court, privacy, 1 item, received 5 Oct 00:00, still unopened: its 3 h
      deadline passed long ago (breached, open).
- R0  TR, received 1 May 2026 (2026H1): outside the period, only in the half-year chart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import RequestItem
from portal.services import agencies, decisions, lifecycle, transparency
from portal.services.errors import Forbidden
from portal.services.filing import file_request
from portal.services.periods import PeriodError, days, parse_half_year, parse_period
from tests.factories import World, filing
from workflows.decisions import Terms

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
H2 = parse_half_year("2026H2")


def _at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def build_data(world: World) -> dict[str, str]:
    """The requests of the module docstring; their references by name."""
    admin = world.actor("admin")
    agencies.set_requester_type(admin, world.agency.id, "police")
    agencies.set_requester_type(admin, world.other_agency.id, "court")
    reviewer = world.actor("reviewer")
    refs: dict[str, str] = {}

    t = _at(10, 1, 10)
    r1 = world.file(["@a1", "@a2", "@a3"], now=t, category="disinformation",
                    priority="standard")
    world.to_review(r1.reference, t)
    world.decide_all(r1.reference, "withheld_in_country", now=t + 2 * H)
    lifecycle.fire(reviewer, r1.reference, "action", now=t + 2 * H)
    refs["r1"] = r1.reference

    t = _at(10, 2)
    r2 = world.file(["@b1", "@b2"], now=t, category="hate_speech", priority="standard")
    world.to_review(r2.reference, t)
    ids = db.session.scalars(sa.select(RequestItem.id).where(RequestItem.request_id == r2.id)
                             .order_by(RequestItem.position)).all()
    decisions.decide_items(reviewer, r2.reference, decision="removed", reason="per order",
                           terms=Terms(territorial_scope="global"), item_ids=[ids[0]],
                           now=t + 10 * H)
    decisions.decide_items(reviewer, r2.reference, decision="no_action", reason="gone",
                           terms=Terms(no_action_reason="not_found"), item_ids=[ids[1]],
                           now=t + 10 * H)
    lifecycle.fire(reviewer, r2.reference, "action", now=t + 10 * H)
    refs["r2"] = r2.reference

    t = _at(10, 3)
    r3 = world.file(["@c1", "@c2"], now=t, category="disinformation", priority="standard")
    world.to_review(r3.reference, t)
    lifecycle.fire(reviewer, r3.reference, "decline",
                   inputs={"reason": "lawful speech", "no_action_reason": "not_unlawful"},
                   now=t + H)
    lifecycle.fire(world.actor("official"), r3.reference, "dispute",
                   inputs={"reason": "it is unlawful"}, now=t + 2 * H)
    lifecycle.fire(reviewer, r3.reference, "uphold", inputs={"reason": "still lawful"},
                   now=t + 3 * H)
    refs["r3"] = r3.reference

    r4 = file_request(world.actor("stranger"),
                      filing(["@d1"], category="privacy", priority="standard"),
                      now=_at(10, 5))
    refs["r4"] = r4.reference

    r0 = world.file(["@z1"], now=_at(5, 1), category="fraud", priority="standard")
    refs["r0"] = r0.reference
    return refs


@pytest.fixture
def data(world: World) -> World:
    build_data(world)
    return world


def _row(report: transparency.Report, *key: str) -> transparency.Figures:
    return next(r for r in report.rows if r.key == key)


def test_by_country(data: World) -> None:
    report = transparency.transparency_report(data.actor("liaison"), H2, ["country"],
                                              charts=True, now=NOW)
    assert [r.key for r in report.rows] == [("IN",), ("TR",)]
    tr = _row(report, "TR")
    assert (tr.requests, tr.items, tr.items_actioned) == (3, 7, 4)
    assert tr.actioned == {"withheld": 3, "removed": 1}
    assert (tr.actioned_local, tr.actioned_global) == (3, 1)
    assert tr.no_action == {"not_found": 1, "not_unlawful": 2}
    assert tr.pending_items == 0
    assert tr.requests_actioned == 2
    assert tr.compliance_rate == pytest.approx(2 / 3)
    assert (tr.time_to_act_p50_hours, tr.time_to_act_p90_hours) == (6.0, 9.2)
    assert (tr.sla_met, tr.sla_breached, tr.sla_declined) == (1, 1, 1)
    assert (tr.disputes, tr.disputes_revised, tr.disputes_upheld,
            tr.disputes_pending) == (1, 0, 1, 0)
    india = _row(report, "IN")
    assert (india.requests, india.items, india.pending_items, india.requests_actioned) == (
        1, 1, 1, 0)
    assert india.compliance_rate == 0.0
    assert india.time_to_act_p50_hours is None
    assert (india.sla_met, india.sla_breached, india.sla_declined) == (0, 1, 0)
    total = report.total
    assert (total.requests, total.items, total.items_actioned, total.items_no_action,
            total.pending_items, total.requests_actioned) == (4, 8, 4, 3, 1, 2)
    assert total.compliance_rate == 0.5
    assert (total.time_to_act_p50_hours, total.time_to_act_p90_hours) == (6.0, 9.2)
    assert (total.sla_met, total.sla_breached, total.sla_declined) == (1, 2, 1)
    assert report.by_country == [("TR", 3), ("IN", 1)]
    assert report.by_half_year == [("2024H1", 0), ("2024H2", 0), ("2025H1", 0),
                                   ("2025H2", 0), ("2026H1", 1), ("2026H2", 4)]


def test_by_country_and_category_and_requester_type(data: World) -> None:
    liaison = data.actor("liaison")
    report = transparency.transparency_report(liaison, H2, "country, category", now=NOW)
    assert [r.key for r in report.rows] == [("IN", "privacy"), ("TR", "disinformation"),
                                            ("TR", "hate_speech")]
    dis = _row(report, "TR", "disinformation")
    assert (dis.requests, dis.items, dis.actioned_local, dis.actioned_global) == (2, 5, 3, 0)
    assert dis.no_action == {"not_unlawful": 2}
    assert (dis.time_to_act_p50_hours, dis.time_to_act_p90_hours) == (2.0, 2.0)
    assert (dis.sla_met, dis.sla_declined, dis.disputes, dis.disputes_upheld) == (1, 1, 1, 1)
    hate = _row(report, "TR", "hate_speech")
    assert (hate.actioned_global, hate.no_action, hate.sla_breached) == (
        1, {"not_found": 1}, 1)
    assert hate.time_to_act_p50_hours == 10.0
    # The whole period's percentiles are its own, not an average of the groups'.
    assert (report.total.time_to_act_p50_hours, report.total.time_to_act_p90_hours) == (
        6.0, 9.2)

    by_type = transparency.transparency_report(liaison, H2, ["requester_type"], now=NOW)
    assert [(r.key, r.requests) for r in by_type.rows] == [(("court",), 1), (("police",), 3)]


def test_json_and_csv(data: World) -> None:
    report = transparency.transparency_report(data.actor("admin"), H2, ["priority"], now=NOW)
    body = report.as_dict()
    assert body["period"] == {"label": "2026H2", "from": "2026-07-01", "to": "2026-12-31"}
    (row,) = body["rows"]
    assert row["group"] == {"priority": "standard"}
    assert row["items_actioned_by_scope"] == {"local": 3, "global": 1}
    assert row["time_to_act_hours"] == {"p50": 6.0, "p90": 9.2}
    assert row["disputes"] == {"total": 1, "revised": 0, "upheld": 1, "pending": 0}
    header = transparency.csv_header(report)
    lines = transparency.csv_rows(report)
    assert header[:4] == ("period", "priority", "requests", "items")
    assert [dict(zip(header, line, strict=True))["compliance_rate"] for line in lines] == [
        "0.5", "0.5"]
    assert lines[-1][1] == "all"


def test_only_staff_and_each_agency_its_own(data: World) -> None:
    with pytest.raises(Forbidden):
        transparency.transparency_report(data.actor("official"), H2, ["country"], now=NOW)
    own = transparency.agency_figures(data.actor("official"), H2, now=NOW)
    assert [(r.key, r.requests, r.items) for r in own.rows] == [
        (("disinformation",), 2, 5), (("hate_speech",), 1, 2)]
    theirs = transparency.agency_figures(data.actor("stranger"), H2, now=NOW)
    assert [(r.key, r.requests) for r in theirs.rows] == [(("privacy",), 1)]
    with pytest.raises(Forbidden):
        transparency.agency_figures(data.actor("liaison"), H2, now=NOW)


def test_bad_groups_and_periods_are_named() -> None:
    with pytest.raises(transparency.GroupError, match="'colour'.*country, agency"):
        transparency.parse_groups("country,colour")
    with pytest.raises(PeriodError, match="2026H3"):
        parse_half_year("2026H3")
    with pytest.raises(PeriodError, match="ends"):
        parse_period("2026-06-30..2026-01-01")
    with pytest.raises(PeriodError, match="start '2026-13-01'"):
        parse_period("2026-13-01..2026-12-31")
    assert days(H2.first_day, H2.last_day) == H2
    assert parse_period("2026-07-01..2026-12-31").label == "2026H2"
