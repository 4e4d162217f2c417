"""The agency's download of the decisions on its request's items (CSV)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import RequestItem
from portal.services import decisions, tokens
from portal.services.decision_export import decision_export
from tests.conftest import sign_in
from tests.factories import NOW, World, count_statements, handles
from workflows.decisions import Terms

HEADER = ["position", "kind", "target", "decision", "decision_code", "territorial_scope",
          "ground", "effect_given_at", "restored_at", "notice"]


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))


def item_ids(reference_id: int) -> list[int]:
    return list(db.session.scalars(sa.select(RequestItem.id)
                                   .where(RequestItem.request_id == reference_id)
                                   .order_by(RequestItem.position)))


def decided(world: World, *, statute: str = "Law No. 5651"):
    """A request of three targets: the first two withheld in Türkiye on local law (the
    first user told), the third still pending."""
    req = world.file(["@first", "https://x.com/jack/status/20", "@third"])
    world.to_review(req.reference)
    ids = item_ids(req.id)
    decisions.decide_items(world.actor("reviewer"), req.reference,
                           decision="withheld_in_country", reason="per order",
                           terms=Terms(territorial_scope="TR", ground="local_law",
                                       ground_statute=statute, ground_article="Art. 8/A",
                                       effect_given_at=NOW + timedelta(hours=1)),
                           item_ids=ids[:2], now=NOW + timedelta(hours=1))
    decisions.record_notice(world.actor("reviewer"), req.reference, notified=True,
                            notified_at=NOW + timedelta(hours=2), item_ids=ids[:1],
                            now=NOW + timedelta(hours=2))
    return req


def test_the_download_has_one_row_per_item_in_words_and_codes(client, world):
    req = decided(world)
    sign_in(client, world.official)
    response = client.get(f"/requests/{req.reference}/decisions.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="decisions_{req.reference}.csv"')
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    rows = rows_of(response)
    assert rows[0] == HEADER
    # A handle's "@" starts a formula in some spreadsheets: it is marked as text too.
    assert [r[:3] for r in rows[1:]] == [["1", "Account", "'@first"],
                                         ["2", "Post", "https://x.com/jack/status/20"],
                                         ["3", "Account", "'@third"]]
    first, second, third = (dict(zip(HEADER, r, strict=True)) for r in rows[1:])
    assert first["decision_code"] == second["decision_code"] == "withheld_in_country"
    assert first["decision"] and first["decision"] != "withheld_in_country"  # in words
    assert first["territorial_scope"] == "TR"
    assert first["ground"].endswith("(Law No. 5651, Art. 8/A)")
    assert first["effect_given_at"] == (NOW + timedelta(hours=1)).isoformat()
    assert first["restored_at"] == ""
    assert first["notice"] == f"Told {(NOW + timedelta(hours=2)).isoformat()}"
    assert second["notice"] == ""
    assert third["decision_code"] == "pending" and third["decision"] == "Pending"
    assert third["ground"] == third["territorial_scope"] == third["effect_given_at"] == ""


def test_the_request_page_links_to_the_download(client, world):
    req = decided(world)
    sign_in(client, world.official)
    body = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    assert f'href="/requests/{req.reference}/decisions.csv"' in body
    assert "Download the decisions (CSV)" in body


def test_the_words_follow_the_readers_language(client, world):
    req = decided(world)
    sign_in(client, world.official)
    english = rows_of(client.get(f"/requests/{req.reference}/decisions.csv"))
    world.official.locale = "tr"
    db.session.commit()
    turkish = rows_of(client.get(f"/requests/{req.reference}/decisions.csv"))
    assert turkish[0] == english[0] == HEADER  # the columns are codes in every language
    assert turkish[1][4] == english[1][4] == "withheld_in_country"
    assert turkish[1][3] != english[1][3]


@pytest.mark.parametrize("separator", [",", ";"])
def test_no_cell_runs_as_a_formula(client, world, separator):
    hostile = 'Law; =HYPERLINK("http://evil")'
    req = decided(world, statute=hostile)
    sign_in(client, world.official)
    data = client.get(f"/requests/{req.reference}/decisions.csv").get_data().decode(
        "utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(data, newline=""), delimiter=separator)
             for cell in row]
    runs = [cell for cell in cells if cell.lstrip(' "').startswith(tuple("=+-@\t\r"))]
    assert runs == []
    assert "'=HYPERLINK" in data


@pytest.mark.parametrize("who", ["stranger"])
def test_another_agencys_official_gets_404(client, world, who):
    req = decided(world)
    sign_in(client, getattr(world, who))
    response = client.get(f"/requests/{req.reference}/decisions.csv")
    assert response.status_code == 404
    assert "first" not in response.get_data(as_text=True)


def test_an_unknown_request_is_404_and_staff_may_download(client, world):
    req = decided(world)
    sign_in(client, world.reviewer)
    assert client.get("/requests/XX-0000-0000/decisions.csv").status_code == 404
    assert len(rows_of(client.get(f"/requests/{req.reference}/decisions.csv"))) == 4


def test_signed_out_visitors_are_sent_to_sign_in(client, world):
    req = decided(world)
    response = client.get(f"/requests/{req.reference}/decisions.csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_statements_do_not_grow_with_the_items(client, world):
    small = world.file(handles(3, "small"))
    large = world.file(handles(300, "large"))
    sign_in(client, world.official)

    def statements_for(reference: str) -> int:
        client.get(f"/requests/{reference}/decisions.csv")  # warm caches
        with count_statements() as statements:
            response = client.get(f"/requests/{reference}/decisions.csv")
            lines = len(rows_of(response))
        return len(statements), lines

    assert statements_for(large.reference) == (statements_for(small.reference)[0], 301)


def test_the_service_reads_the_items_in_one_statement_whatever_the_batch(app, world):
    req = world.file(handles(25, "t"))
    export = decision_export(world.actor("official"), req.reference, batch=4)
    with count_statements() as statements:
        rows = list(export.rows)
    assert [r.position for r in rows] == list(range(1, 26))
    assert len([s for s in statements if "request_items" in s]) == 1


# -- the API ----------------------------------------------------------------------------

def bearer(user) -> dict[str, str]:
    _, token = tokens.create_token(user, "test", scopes=["read"])
    return {"Authorization": f"Bearer {token}"}


def test_the_api_serves_the_same_download(client, world):
    req = decided(world)
    response = client.get(f"/api/v1/requests/{req.reference}/decisions.csv",
                          headers=bearer(world.official))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="decisions_{req.reference}.csv"')
    rows = rows_of(response)
    assert rows[0] == HEADER and [r[4] for r in rows[1:]] == [
        "withheld_in_country", "withheld_in_country", "pending"]


def test_the_api_answers_another_agency_404(client, world):
    req = decided(world)
    response = client.get(f"/api/v1/requests/{req.reference}/decisions.csv",
                          headers=bearer(world.stranger))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
