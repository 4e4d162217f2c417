"""The reviewer's pages in the reader's language: the order line as the agency's page
writes it (the reference and the date each isolated, the date as the reader's language
writes it), kinds and SLA policies in words, counts in the reader's number format."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale, format_date, gettext

from portal.extensions import db
from tests.conftest import sign_in
from tests.functional.test_mixed_direction import definition
from tests.markup import parse

pytestmark = pytest.mark.usefixtures("policies")


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_the_review_page_writes_the_order_line_in_the_readers_language(
        client, world, locale):
    world.reviewer.locale = locale
    db.session.commit()
    req = world.file(order_reference="W.P.(C) 1234/2026", order_date=date(2026, 11, 1))
    sign_in(client, world.reviewer)
    html = client.get(f"/review/requests/{req.reference}").get_data(as_text=True)
    page = parse(html)
    with client.application.test_request_context(), force_locale(locale):
        order_term = gettext("Order")
        written = format_date(date(2026, 11, 1))
        sentence = gettext("%(reference)s, dated %(date)s",
                           reference="W.P.(C) 1234/2026", date=written)
    order = definition(page, order_term)
    isolated = order.find_all("bdi")
    assert [b.text() for b in isolated] == ["W.P.(C) 1234/2026", written]
    assert [t.attrs["datetime"] for t in isolated[1].find_all("time")] == ["2026-11-01"]
    assert order.text().strip() == sentence
    # Nothing of the date or the reference is left outside its own <bdi>.
    outside = "".join(c for c in order.children if isinstance(c, str))
    assert not any(ch.isdigit() for ch in outside), outside
    assert ">2026-11-01<" not in html
