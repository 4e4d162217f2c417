"""The agency's list: the requests waiting for its answer come first."""

from __future__ import annotations

import html
import re

import pytest

from portal.services import lifecycle, listing
from portal.services.actors import Actor
from portal.services.filing import file_request
from tests.conftest import sign_in
from tests.factories import NOW, World, count_statements, filing

WAITING_URL = "/requests/?state=awaiting_info"


def ask(world: World, reference: str) -> None:
    world.to_review(reference)
    lifecycle.fire(world.actor("reviewer"), reference, "request_info",
                   inputs={"question": "Which court issued the order?"})


def listed(body: str) -> set[str]:
    """The references in the list's table."""
    return set(re.findall(r'<th scope="row"><a href="/requests/([A-Z0-9-]+)">', body))


@pytest.fixture
def mixed(world):
    """Two of the agency's requests waiting for its answer, one under review, one just
    received; and one of another agency's, waiting for that agency."""
    asked = [world.file([f"@asked{n}"], category="defamation") for n in range(2)]
    for req in asked:
        ask(world, req.reference)
    reviewed = world.file(["@reviewed"])
    world.to_review(reviewed.reference)
    received = world.file(["@received"])
    theirs = file_request(Actor.of(world.stranger), filing(["@theirs"], jurisdiction="IN",
                                                          category="defamation"), now=NOW)
    ask(world, theirs.reference)
    return {"asked": {r.reference for r in asked}, "others": {reviewed.reference,
            received.reference}, "theirs": theirs.reference}


def test_the_waiting_view_lists_exactly_the_requests_awaiting_the_agency(client, world,
                                                                          mixed):
    sign_in(client, world.official)
    body = html.unescape(client.get(WAITING_URL).get_data(as_text=True))
    assert listed(body) == mixed["asked"]
    assert "Waiting for your answer (2)" in body
    assert re.search(r'href="/requests/\?state=awaiting_info" aria-current="true"', body)
    # Everything else is still in the whole list, where the notice points to the view.
    everything = html.unescape(client.get("/requests/").get_data(as_text=True))
    assert listed(everything) == mixed["asked"] | mixed["others"]
    assert "2 requests are waiting for your answer" in everything
    assert everything.index("2 requests are waiting") < everything.index('<table')
    assert 'href="/requests/?state=awaiting_info"' in everything


def test_the_count_is_the_agencys_own(client, world, mixed):
    assert listing.count_requests(world.actor("official"), listing.WAITING_FOR_AGENCY) == 2
    assert listing.count_requests(world.actor("stranger"), listing.WAITING_FOR_AGENCY) == 1
    sign_in(client, world.stranger)
    body = html.unescape(client.get("/requests/").get_data(as_text=True))
    assert "1 request is waiting for your answer" in body
    assert listed(html.unescape(client.get(WAITING_URL).get_data(as_text=True))) == {
        mixed["theirs"]}


def test_the_count_follows_the_answer(client, world, mixed):
    first = sorted(mixed["asked"])[0]
    lifecycle.fire(world.actor("official"), first, "provide_info",
                   inputs={"answer": "The Istanbul judgeship."})
    sign_in(client, world.official)
    body = html.unescape(client.get("/requests/").get_data(as_text=True))
    assert "1 request is waiting for your answer" in body
    assert "Waiting for your answer (1)" in body
    assert listed(html.unescape(client.get(WAITING_URL).get_data(as_text=True))) == (
        mixed["asked"] - {first})


def test_no_notice_when_nothing_waits(client, world):
    world.file(["@received"])
    sign_in(client, world.official)
    body = html.unescape(client.get("/requests/").get_data(as_text=True))
    assert "waiting for your answer:" not in body
    assert "Waiting for your answer (0)" in body
    empty = html.unescape(client.get(WAITING_URL).get_data(as_text=True))
    assert "No request is waiting for your answer." in empty and listed(empty) == set()


def test_the_count_costs_one_statement_whatever_the_number_waiting(client, world):
    sign_in(client, world.official)

    def statements() -> int:
        client.get("/requests/")  # warm caches
        with count_statements() as found:
            assert client.get("/requests/").status_code == 200
        return len(found)

    ask(world, world.file(["@a0"], category="defamation").reference)
    with_one = statements()
    for n in range(1, 6):
        ask(world, world.file([f"@a{n}"], category="defamation").reference)
    assert statements() == with_one
