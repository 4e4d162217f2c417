"""Counts are written the reader's way on every page: "1,166" in English and "1.166" in
Turkish, never a bare "1166" on one page next to a grouped figure on another."""

from __future__ import annotations

import pytest
from flask import render_template_string
from flask_babel import force_locale

from portal.extensions import db
from portal.liaison import views as liaison_views
from portal.services.paging import Page
from tests.conftest import sign_in

GROUPED = {"en": "1,166", "tr": "1.166"}


@pytest.mark.parametrize("locale", sorted(GROUPED))
def test_the_dashboard_counts_requests_awaiting_close_in_the_readers_format(
        client, world, policies, monkeypatch, locale):
    world.actioned()
    real = liaison_views.awaiting_close

    def many(actor, **kwargs):
        rows, _total = real(actor, **kwargs)
        return rows, 1166  # as if 1,166 were waiting: the count is what is tested
    monkeypatch.setattr(liaison_views, "awaiting_close", many)
    world.liaison.locale = locale
    db.session.commit()
    sign_in(client, world.liaison)
    html = client.get("/liaison/").get_data(as_text=True)
    section = html[html.index('id="awaiting-close"'):]
    section = section[:section.index("</p>")]
    # Counted up to 1,000 (the cap): "more than 1,000", the bound in the reader's format.
    assert {"en": "1,000", "tr": "1.000"}[locale] in section
    assert "1166" not in section and "1000" not in section


@pytest.mark.parametrize("locale", sorted(GROUPED))
def test_the_pager_writes_page_numbers_in_the_readers_format(app, locale):
    macro = ('{% from "macros/pager.html" import pager %}'
             '{{ pager(page, "Pages", url=url) }}')
    with app.test_request_context(), force_locale(locale):
        # Page 2 of 1,166; and rows 12,001 to 12,050 of a list not counted.
        counted = render_template_string(
            macro, page=Page([None] * 50, 2, 50, total=58_300), url=str)
        uncounted = render_template_string(
            macro, page=Page([None] * 50, 241, 50, more=True), url=str)
    assert GROUPED[locale] in counted and "1166" not in counted
    assert {"en": "12,001", "tr": "12.001"}[locale] in uncounted
