"""User-written text is isolated with <bdi>: a bidi override (U+202E RIGHT-TO-LEFT
OVERRIDE) in an agency's name, a statute, a message or a reason cannot reorder the page
around it.

The attack reproduced: an agency named "\u202eycnegA" made the rest of each line it
appeared on (the jurisdiction, the category, the deadline) read right to left.
"""

from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.services import messages
from tests.conftest import sign_in
from tests.factories import World

RLO = "\u202e"


@pytest.fixture
def world(policies: None, world: World) -> World:
    """The shared world, its names written right to left behind an override (U+202E)."""
    w = world
    w.agency.name = f"{RLO}ycnegA"
    w.official.name = f"{RLO}laiciffo"
    w.reviewer.name = f"{RLO}reweiver"
    db.session.commit()
    return w


def not_isolated(html: str) -> list[str]:
    """The snippets around each U+202E on the page that is not inside a <bdi>. Left out:
    the <title> and <option>s (text only, each on a line of its own) and attribute values
    (a form field's value is a control of its own)."""
    html = re.sub(r"<(title|option)\b[^>]*>.*?</\1>", "", html, flags=re.S)
    found = []
    for match in re.finditer(RLO, html):
        before = html[:match.start()]
        if before.rfind("<") > before.rfind(">"):
            continue  # inside a tag: an attribute's value
        opened, closed = before.rfind("<bdi>"), before.rfind("</bdi>")
        if opened == -1 or closed > opened:
            found.append(html[max(0, match.start() - 60):match.start() + 30])
    return found


def test_bidi_overrides_in_user_text_are_isolated_on_every_page(app, world):
    req = world.file(["@a"], legal_statute=f"{RLO}5651", issuing_authority=f"{RLO}BTK",
                     order_reference=f"{RLO}77", description=f"{RLO}evil")
    world.to_review(req.reference)
    messages.post_message(world.actor("official"), req.reference, f"{RLO}hello")
    messages.post_message(world.actor("reviewer"), req.reference, f"{RLO}answer")
    pages = {
        world.reviewer: ["/review/", f"/review/requests/{req.reference}", "/"],
        world.official: [f"/requests/{req.reference}", "/account", "/invite", "/"],
        world.liaison: ["/liaison/"],
        world.admin: ["/admin/agencies", f"/admin/agencies/{world.agency.id}",
                      "/admin/users", f"/admin/users/{world.official.id}"],
    }
    problems = []
    checked = 0
    for user, paths in pages.items():
        client = app.test_client()
        sign_in(client, user)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            html = response.get_data(as_text=True)
            checked += html.count(RLO)
            problems += [f"{path}: …{snippet}…" for snippet in not_isolated(html)]
    assert checked > 20
    assert problems == []
