"""The transparency page in a real browser: a liaison opens it from the navigation,
changes the period and the grouping, and downloads the CSV (issue 14, part 1).

The data is tests/functional/test_transparency.py's (four requests in 2026H2, one in
2026H1: a fraud request from Turkey with one item)."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import expect

from tests.browser.conftest import LiveServer, People, Screenshots, Staff, go_to, sign_in
from tests.factories import World
from tests.functional.test_transparency import build_data


def test_period_grouping_and_csv(live_server: LiveServer, staff: Staff, people: People,
                                 shots: Screenshots) -> None:
    with live_server.db():
        build_data(World())
    page = people("liaison")
    sign_in(page, staff.liaison, staff.password)
    go_to(page, "Transparency")
    expect(page.get_by_role("heading", name="Transparency report")).to_be_visible()
    shots.take(page, "the report")

    page.get_by_label("From", exact=True).fill("2026-01-01")
    page.get_by_label("To (inclusive)").fill("2026-06-30")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("to June 30, 2026 inclusive")).to_be_visible()
    table = page.locator("table.transparency")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody th")).to_have_text("TR")

    page.get_by_role("checkbox", name="Country").uncheck()
    page.get_by_role("checkbox", name="Category").check()
    page.get_by_role("button", name="Show").click()
    expect(table.locator("thead th").first).to_have_text("Category")
    expect(table.locator("tbody th")).to_have_text("Fraud (fake aid campaigns, scams)")
    shots.take(page, "first half-year by category")

    with page.expect_download() as info:
        page.locator("#download-csv").click()
    download = info.value
    assert download.suggested_filename == "transparency_2026H1.csv"
    text = download.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["period"], r["category"], r["requests"], r["items"]) for r in rows] == [
        ("2026H1", "fraud", "1", "1"), ("2026H1", "all", "1", "1")]
    people.assert_no_page_problems()
