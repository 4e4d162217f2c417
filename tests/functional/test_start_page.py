"""The start page, with the demo sign-ins in development."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from tests.conftest import sign_in


def test_start_page_lists_the_demo_logins_once_seeded(client, runner):
    empty = client.get("/")
    assert empty.status_code == 200
    assert b"Demo sign-ins" not in empty.data
    runner.invoke(args=["demo", "seed"])
    page = client.get("/").get_data(as_text=True)
    assert "Demo sign-ins" in page
    for email in ("pengaduan@kominfo.go.id", "reviewer@platform.example",
                  "liaison@platform.example", "admin@platform.example"):
        assert email in page
    assert "demo-password-2026" in page


def test_demo_logins_are_not_shown_outside_development(app, client, runner):
    runner.invoke(args=["demo", "seed"])
    app.config["DEMO_LOGINS_ON_START_PAGE"] = False
    assert b"reviewer@platform.example" not in client.get("/").data


@pytest.mark.parametrize(("role", "path", "current"), [
    ("official", "/requests/", "/requests/"),
    ("official", "/requests/new", "/requests/new"),
    ("liaison", "/liaison/", "/liaison/"),
    ("admin", "/admin/users", "/admin/users"),
    ("admin", "/admin/agencies", "/admin/agencies"),
])
def test_only_the_current_header_link_is_marked_current(world, client, role, path, current):
    sign_in(client, getattr(world, role))
    page = client.get(path)
    assert page.status_code == 200
    nav = page.get_data(as_text=True).split('<nav aria-label="Main">', 1)[1].split("</nav>")[0]
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', nav) == [current]
    assert nav.count("<a ") >= 2


def test_a_page_under_a_header_link_marks_its_section_once(world, client):
    req = world.file()
    sign_in(client, world.official)
    page = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    nav = page.split('<nav aria-label="Main">', 1)[1].split("</nav>")[0]
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', nav) == ["/requests/"]


def test_the_demo_reviewer_opens_the_orders_documents(client, runner):
    """``make run``: the MeitY request under review shows its order and annexure on the
    reviewer's page, and each opens as the PDF with the order's text (issue 13)."""
    runner.invoke(args=["demo", "seed"])
    sign_in(client, "reviewer@platform.example", "demo-password-2026")
    page = client.get("/review/requests/IN-2026-000001").get_data(as_text=True)
    section = page.split('id="documents-heading"', 1)[1].split("</table>", 1)[0]
    links = re.findall(r'href="([^"]+/attachments/\d+)"', section)
    assert "meity-order-16-4-2026-cles-2.pdf" in section
    assert "annexure-a-accounts.pdf" in section
    assert len(links) == 2, section
    texts = []
    for link in links:
        response = client.get(link.replace("&amp;", "&"))
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"].startswith("attachment")
        texts.append(PdfReader(io.BytesIO(response.data)).pages[0].extract_text())
    assert "Section 69A of the Information Technology Act, 2000" in texts[0]
    assert "Annexure A to Order No. 16(4)/2026-CLES (2)" in texts[1]
