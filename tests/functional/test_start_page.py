"""The start page, with the demo sign-ins in development."""

from __future__ import annotations

import re

import pytest

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
