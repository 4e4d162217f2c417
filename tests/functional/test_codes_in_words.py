"""Codes are worded for people in their language: a target's kind ("account", "post") and
an SLA policy ("tr-5651-art8", or its English name) never show as the raw code or the
English of the database on the agency's request page or the liaison's pages."""

from __future__ import annotations

import re

from flask_babel import force_locale

from portal.extensions import db
from portal.wording import POLICY_NAMES, kind_label, policy_label
from tests.conftest import sign_in
from workflows import sla

GOVERNING = "tr-5651-art8"  # the policy of the shared world's Turkish request


def cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", html, flags=re.S)]


def test_the_shipped_policy_names_are_the_ones_translated(app):
    shipped = {p.code: p.name for p in sla.DEFAULT_POLICIES}
    with app.test_request_context(), force_locale("en"):
        assert {code: str(name) for code, name in POLICY_NAMES.items()} == shipped
        assert policy_label(GOVERNING, "Our own wording") == "Our own wording"
        assert policy_label("an-operator-policy", None) == "an-operator-policy"


def test_the_request_page_words_kinds_and_policies_in_turkish(client, world, policies):
    world.official.locale = "tr"
    db.session.commit()
    req = world.file(["@someone", "https://x.com/someone/status/1"])
    sign_in(client, world.official)
    html = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    shown = cells(html)
    with app_locale(client, "tr"):
        account, post = kind_label("account"), kind_label("post")
        name = policy_label(GOVERNING)
    assert (account, post) != ("Account", "Post")
    assert account in shown and post in shown
    assert not {"account", "post", "Account", "Post"} & set(shown)
    english = {p.code: p.name for p in sla.DEFAULT_POLICIES}[GOVERNING]
    assert name != english
    assert any(c.startswith(name) for c in shown), name
    assert english not in html and GOVERNING not in html


def test_the_liaison_pages_name_policies_not_codes_in_turkish(client, world, policies):
    world.liaison.locale = "tr"
    db.session.commit()
    world.file()
    sign_in(client, world.liaison)
    html = client.get("/liaison/").get_data(as_text=True)
    with app_locale(client, "tr"):
        name = policy_label(GOVERNING)
    assert name in html
    assert f">{GOVERNING}<" not in html


def app_locale(client, locale: str):
    """A request context of the client's app in ``locale``, to read the catalogue."""
    from contextlib import ExitStack
    stack = ExitStack()
    stack.enter_context(client.application.test_request_context())
    stack.enter_context(force_locale(locale))
    return stack
