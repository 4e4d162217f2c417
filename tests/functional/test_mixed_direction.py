"""Mixed-direction text on right-to-left pages: each piece an agency typed (an order
reference "W.P.(C) 1234/2026", a statute "s.69A.") and each date is isolated on its own,
so an Arabic page shows "W.P.(C) 1234/2026" then the date, not
"2026/12/W.P.(C) 1234/2026, 01", and "s.69A." not ".s.69A".

In the browser the difference is the Unicode bidi algorithm's; here it is the structure
that decides it: the reference and the date each in a ``<bdi>`` of their own, typed text
in fields with ``dir="auto"``.
"""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale, gettext

from portal.extensions import db
from tests.conftest import sign_in
from tests.markup import Element, parse


def definition(page: Element, term: str) -> Element:
    """The <dd> that follows the <dt> reading ``term``."""
    for dl in page.find_all("dl"):
        items = [c for c in dl.children if isinstance(c, Element)]
        for dt, dd in zip(items, items[1:], strict=False):
            if dt.tag == "dt" and dt.text().strip() == term and dd.tag == "dd":
                return dd
    raise AssertionError(f"no <dt>{term}</dt> on the page")


def test_the_order_line_isolates_the_reference_and_the_date_in_arabic(client, world):
    world.official.locale = "ar"
    db.session.commit()
    req = world.file(order_reference="W.P.(C) 1234/2026", order_date=date(2026, 11, 1),
                     legal_statute="IT Act, 2000", legal_article="s.69A.")
    sign_in(client, world.official)
    html = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    page = parse(html)
    with force_locale("ar"):
        order_term, basis_term = gettext("Order"), gettext("Legal basis")

    order = definition(page, order_term)
    isolated = [b.text() for b in order.find_all("bdi")]
    assert isolated[0] == "W.P.(C) 1234/2026"
    dated = order.find_all("bdi")[1]
    assert [t.attrs["datetime"] for t in dated.find_all("time")] == ["2026-11-01"]
    # Nothing of the date or the reference is left outside its own <bdi>.
    outside = "".join(c for c in order.children if isinstance(c, str))
    assert not any(ch.isdigit() for ch in outside), outside

    basis = definition(page, basis_term)
    assert [b.text() for b in basis.find_all("bdi")] == ["IT Act, 2000, s.69A."]


def test_typed_text_fields_take_their_own_direction(client, world):
    world.official.locale = "ar"
    db.session.commit()
    sign_in(client, world.official)
    page = parse(client.get("/requests/new").get_data(as_text=True))
    for name in ("legal_statute", "legal_article", "issuing_authority", "order_reference"):
        (field,) = page.find_all("input", name=name)
        assert field.attrs.get("dir") == "auto", name
    (description,) = page.find_all("textarea", name="description")
    assert description.attrs.get("dir") == "auto"
