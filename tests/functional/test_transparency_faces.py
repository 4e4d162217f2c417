"""The transparency report's faces: the staff page and its downloads, the public summary
(off by default, banded), an agency's own figures, the decisions as JSON, the requester
type an administrator sets, and the ``report`` commands (issue 14, parts 1, 3, 5, 6).

The data set is tests/functional/test_transparency.py's; its expected figures are
repeated here where a face shows them.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from portal.extensions import db
from portal.models import Agency
from tests.conftest import sign_in
from tests.factories import World
from tests.functional.test_transparency import build_data

H2 = {"start": "2026-07-01", "end": "2026-12-31"}


@pytest.fixture
def data(world: World) -> tuple[World, dict[str, str]]:
    return world, build_data(world)


def _csv(response) -> list[dict[str, str]]:
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def test_staff_page_charts_and_downloads(client: FlaskClient, data) -> None:
    world, refs = data
    sign_in(client, world.liaison)
    page = client.get("/transparency/", query_string={**H2, "group": ["country", "category"]})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="hbars"' in html and 'class="vbars"' in html
    assert "2026H1: 1" in html and "2026H2: 4" in html  # the half-year bars' titles
    assert "TR: 3" in html and "IN: 1" in html  # the country bars' titles
    assert refs["r1"] not in html  # figures, never references

    lines = _csv(client.get("/transparency/report.csv",
                            query_string={**H2, "group": "country"}))
    assert [(r["country"], r["requests"], r["items"], r["items_actioned_local"],
             r["items_actioned_global"], r["no_action_not_unlawful"], r["sla_breached"],
             r["time_to_act_p90_hours"]) for r in lines] == [
        ("IN", "1", "1", "0", "0", "0", "1", ""),
        ("TR", "3", "7", "3", "1", "2", "1", "9.2"),
        ("all", "4", "8", "3", "1", "2", "2", "9.2"),
    ]
    body = client.get("/transparency/report.json", query_string={**H2, "group": "priority"})
    assert body.headers["Content-Type"] == "application/json"
    report = json.loads(body.get_data(as_text=True))
    assert report["total"]["requests"] == 4
    assert report["total"]["compliance_rate"] == 0.5


def test_bad_choices_are_refused_or_explained(client: FlaskClient, data) -> None:
    world, _ = data
    sign_in(client, world.admin)
    assert client.get("/transparency/report.csv",
                      query_string={"start": "2026-07-01"}).status_code == 400
    assert client.get("/transparency/report.csv",
                      query_string={**H2, "group": "colour"}).status_code == 400
    page = client.get("/transparency/", query_string={"start": "2026-12-31",
                                                      "end": "2026-01-01"})
    assert page.status_code == 200
    assert "The end date is before the start date." in page.get_data(as_text=True)
    assert client.get("/transparency/dsa-orders.csv",
                      query_string={"period": "2026H3"}).status_code == 400


def test_public_summary_is_off_by_default_and_banded(app: Flask, client: FlaskClient,
                                                     data) -> None:
    world, refs = data
    assert client.get("/transparency/public").status_code == 404
    app.config["TRANSPARENCY_PUBLIC"] = True
    html = client.get("/transparency/public", query_string={"period": "2026H2"}).get_data(
        as_text=True)
    assert "1–9" in html
    for secret in (*refs.values(), world.agency.name, "@a1"):
        assert secret not in html


def test_agency_figures_and_decisions_json(client: FlaskClient, data) -> None:
    world, refs = data
    sign_in(client, world.official)
    page = client.get("/transparency/ours", query_string=H2)
    assert page.status_code == 200
    lines = _csv(client.get("/transparency/ours.csv", query_string=H2))
    assert [(r["category"], r["requests"], r["items"]) for r in lines] == [
        ("disinformation", "2", "5"), ("hate_speech", "1", "2"), ("all", "3", "7")]

    download = client.get(f"/requests/{refs['r2']}/decisions.json")
    assert download.status_code == 200
    body = json.loads(download.get_data(as_text=True))
    assert body["reference"] == refs["r2"]
    assert [(i["target"], i["decision"], i["territorial_scope"], i["reason"],
             i["no_action_reason"], i["effect_given_at"]) for i in body["items"]] == [
        ("@b1", "removed", "global", "per order", None, "2026-10-02T10:00:00+00:00"),
        ("@b2", "no_action", None, "gone", "not_found", None),
    ]
    other = client.application.test_client()
    sign_in(other, world.stranger)
    assert other.get(f"/requests/{refs['r2']}/decisions.json").status_code == 404


def test_admin_sets_the_requester_type(client: FlaskClient, world: World) -> None:
    sign_in(client, world.admin)
    url = f"/admin/agencies/{world.agency.id}/requester-type"
    done = client.post(url, data={"requester-requester_type": "regulator"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Agency, world.agency.id).requester_type.value == "regulator"
    refused = client.post(url, data={"requester-requester_type": "army"})
    assert refused.status_code == 200
    db.session.expire_all()
    assert db.session.get(Agency, world.agency.id).requester_type.value == "regulator"
    page = client.get(f"/admin/agencies/{world.agency.id}", headers={"Accept-Language": "tr"})
    assert "Regulator" in page.get_data(as_text=True) or "Düzenleyici" in page.get_data(
        as_text=True)


def test_cli_transparency_and_orders(runner: FlaskCliRunner, data) -> None:
    done = runner.invoke(args=["report", "transparency", "--from", "2026-07-01", "--to",
                               "2026-12-31", "--group", "country,category"])
    assert done.exit_code == 0, done.output
    lines = list(csv.DictReader(io.StringIO(done.output)))
    assert [(r["country"], r["category"], r["requests"]) for r in lines] == [
        ("IN", "privacy", "1"), ("TR", "disinformation", "2"), ("TR", "hate_speech", "1"),
        ("all", "all", "4")]
    as_json = runner.invoke(args=["report", "transparency", "--period", "2026H2",
                                  "--group", "", "--format", "json"])
    assert json.loads(as_json.output)["total"]["items"] == 8

    bad_date = runner.invoke(args=["report", "transparency", "--from", "2026-02-30",
                                   "--to", "2026-06-30"])
    assert bad_date.exit_code == 2
    assert "--from '2026-02-30' is not a date" in bad_date.output
    bad_group = runner.invoke(args=["report", "transparency", "--group", "country,colour"])
    assert bad_group.exit_code == 2 and "cannot group by 'colour'" in bad_group.output
    half = runner.invoke(args=["report", "transparency", "--from", "2026-07-01"])
    assert half.exit_code == 2 and "give both --from and --to" in half.output

    orders = runner.invoke(args=["report", "dsa-orders", "--period", "2026H2"])
    assert orders.exit_code == 0, orders.output
    assert orders.output.splitlines()[0] == (
        "period,order_type,member_state,category,orders,items,"
        "median_hours_to_confirm_receipt,median_hours_to_give_effect")
    bad_period = runner.invoke(args=["report", "dsa-orders", "--period", "2026Q1"])
    assert bad_period.exit_code == 2 and "2026H1 or 2026H2" in bad_period.output


def test_api_report_for_staff_tokens(client: FlaskClient, data) -> None:
    from portal.services import tokens

    world, _ = data
    _, token = tokens.create_token(world.liaison, "reports")
    auth = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/v1/reports/transparency", headers=auth,
                        query_string={**H2, "group": ["country", "category"]})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["period"]["label"] == "2026H2"
    assert [(r["group"], r["requests"]) for r in body["rows"]] == [
        ({"country": "IN", "category": "privacy"}, 1),
        ({"country": "TR", "category": "disinformation"}, 2),
        ({"country": "TR", "category": "hate_speech"}, 1)]
    assert body["total"]["time_to_act_hours"] == {"p50": 6.0, "p90": 9.2}
    bad = client.get("/api/v1/reports/transparency", headers=auth,
                     query_string={"start": "2026-07-01", "group": "colour"})
    assert bad.status_code == 422
    _, theirs = tokens.create_token(world.official, "mine")
    assert client.get("/api/v1/reports/transparency",
                      headers={"Authorization": f"Bearer {theirs}"}).status_code == 403


@pytest.mark.parametrize(("lang", "title"), [
    ("tr", "Şeffaflık raporu"), ("hi", "पारदर्शिता रिपोर्ट"), ("id", "Laporan transparansi"),
    ("ar", "تقرير الشفافية")])
def test_the_pages_in_every_language(client: FlaskClient, data, lang: str, title: str) -> None:
    world, _ = data
    sign_in(client, world.admin)
    client.post("/language", data={"lang": lang, "next": "/"})
    page = client.get("/transparency/", query_string={**H2, "group": ["requester_type",
                                                                      "priority"]})
    assert page.status_code == 200
    assert title in page.get_data(as_text=True)
    assert client.get("/transparency/dsa-orders",
                      query_string={"period": "2026H2"}).status_code == 200
