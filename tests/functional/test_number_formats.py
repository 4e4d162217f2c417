"""Counts are written the reader's way on every page: "1,166" in English and "1.166" in
Turkish, never a bare "1166" on one page next to a grouped figure on another."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import render_template_string
from flask_babel import force_locale

from portal.extensions import db
from portal.liaison import views as liaison_views
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
    assert GROUPED[locale] in section
    assert "1166" not in section


@dataclass
class CountedPage:
    number: int = 2
    pages: int = 1166
    total: int | None = 58_300
    first: int = 51
    last: int = 100
    paginated: bool = True
    has_previous: bool = True
    has_next: bool = True


@pytest.mark.parametrize("locale", sorted(GROUPED))
def test_the_pager_writes_page_numbers_in_the_readers_format(app, locale):
    macro = ('{% from "macros/pager.html" import pager %}'
             '{{ pager(page, "Pages", url=url) }}')
    with app.test_request_context(), force_locale(locale):
        counted = render_template_string(macro, page=CountedPage(), url=str)
        uncounted = render_template_string(macro, page=CountedPage(total=None, first=12_001,
                                                                   last=12_050), url=str)
    assert GROUPED[locale] in counted and "1166" not in counted
    assert {"en": "12,001", "tr": "12.001"}[locale] in uncounted
