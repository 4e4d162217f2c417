"""Every page any visitor can open has unique element ids, and each label names a field
of its own form: a label's ``for`` (and so a click on it, and what a screen reader reads
for the field) never lands in another form of the page.

The defect reproduced: the holidays page's filter (country, subdivision, year) and its
form to add an override (country, subdivision, …) shared the ids ``country`` and
``subdivision``; the add form's labels focused the filter's fields.
"""

from __future__ import annotations

from collections import Counter

from flask import Flask

from tests.conftest import sign_in
from tests.functional import test_route_isolation as walk
from tests.markup import parse

# The route walk's world: a request under review with a document, a webhook, an override.
walked = walk.fixtures


def id_problems(html: str) -> list[str]:
    page = parse(html)
    elements = [e for e in page.iter() if "id" in e.attrs]
    counts = Counter(e.attrs["id"] for e in elements)
    problems = [f"id {name!r} {n} times" for name, n in counts.items() if n > 1]
    for label in page.find_all("label"):
        target = label.attrs.get("for")
        if not target:
            continue
        matches = [e for e in elements if e.attrs["id"] == target]
        if not matches:
            problems.append(f"label for {target!r}: no such element")
            continue
        own_form = label.ancestor("form")
        if own_form is not None and all(m.ancestor("form") is not own_form for m in matches):
            problems.append(f"label for {target!r} names a field of another form")
    return problems


def test_no_page_has_duplicate_ids_or_labels_for_another_form(app: Flask,
                                                              walked: walk.Fixtures):
    fixtures = walked
    w = fixtures.world
    people = {"anonymous": None, "owner": w.official, "reviewer": w.reviewer,
              "liaison": w.liaison, "admin": w.admin}
    rules = [r for r in app.url_map.iter_rules()
             if "GET" in r.methods and r.endpoint not in ("static", "auth.logout")
             and not r.rule.startswith("/api/")]
    problems, pages = [], 0
    for name, user in people.items():
        client = app.test_client()
        if user is not None:
            sign_in(client, user)
        for rule in rules:
            path = rule.build({k: fixtures.values[k] for k in rule.arguments},
                              append_unknown=False)[1]
            response = client.get(path)
            if response.status_code != 200 or response.mimetype != "text/html":
                # A streamed download holds its request context until it is closed.
                response.close()
                continue
            pages += 1
            problems += [f"{name} {path}: {p}"
                         for p in id_problems(response.get_data(as_text=True))]
    assert pages > 30
    assert problems == []


def test_the_holiday_forms_label_their_own_fields(client, world):
    sign_in(client, world.admin)
    html = client.get("/admin/holidays", query_string={"country": "TR", "year": 2026})
    assert id_problems(html.get_data(as_text=True)) == []
