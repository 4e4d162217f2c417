"""The start page, with the demo sign-ins in development."""

from __future__ import annotations


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
