"""The reviewer's pages in the reader's language: the order line as the agency's page
writes it (the reference and the date each isolated, the date as the reader's language
writes it), kinds and SLA policies in words, counts in the reader's number format."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from flask_babel import force_locale, format_date, gettext

from portal.extensions import db
from portal.services import clocks
from portal.wording import kind_label, policy_label
from tests.conftest import sign_in
from tests.functional.test_codes_in_words import cells
from tests.functional.test_mixed_direction import definition
from tests.markup import parse
from workflows import sla

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


GOVERNING = "tr-5651-art8"  # the policy of the shared world's Turkish request


def test_the_review_pages_word_kinds_and_policies_in_turkish(client, world):
    world.reviewer.locale = "tr"
    db.session.commit()
    req = world.file(["@someone", "https://x.com/someone/status/1"])
    sign_in(client, world.reviewer)
    html = client.get(f"/review/requests/{req.reference}").get_data(as_text=True)
    shown = cells(html)
    with client.application.test_request_context(), force_locale("tr"):
        account, post = kind_label("account"), kind_label("post")
        name, default = policy_label(GOVERNING), policy_label("default")
    assert (account, post) != ("Account", "Post")
    assert account in shown and post in shown
    assert not {"account", "post", "Account", "Post"} & set(shown)
    english = {p.code: p.name for p in sla.DEFAULT_POLICIES}
    assert name != english[GOVERNING] and default != english["default"]
    assert name in html and default in html
    assert GOVERNING not in html and english[GOVERNING] not in html
    # (The default policy's source text, "Platform default", is a citation and stays.)


def test_policies_are_read_once_per_review_page(client, world, monkeypatch):
    req = world.file()
    calls = []
    real = clocks.policy_names
    monkeypatch.setattr(clocks, "policy_names", lambda: calls.append(1) or real())
    sign_in(client, world.reviewer)
    assert client.get(f"/review/requests/{req.reference}").status_code == 200
    assert len(calls) == 1


GROUPED = {"en": "1,166", "tr": "1.166"}


@pytest.mark.parametrize("locale", sorted(GROUPED))
def test_the_review_pages_write_counts_in_the_readers_format(
        client, world, monkeypatch, locale):
    from portal.review import views as review_views
    from portal.services import workspace as workspace_service
    from portal.services.queue import QueueCounts
    from workflows.decisions import ItemTally

    req = world.file(["@a", "@b"])
    real_workspace, real_queue = workspace_service.workspace, review_views.review_queue

    def many_items(*args, **kwargs):  # as if 1,166 items: the counts are what is tested
        ws = real_workspace(*args, **kwargs)
        return dataclasses.replace(ws, tally=ItemTally(total=1166, pending=1166),
                                   counts={"pending": 1166}, matching=1166,
                                   earlier_events=1166)

    def many_requests(*args, **kwargs):
        page, _counts = real_queue(*args, **kwargs)
        return page, QueueCounts(unassigned=1166, mine=1166, open=1166)

    monkeypatch.setattr(workspace_service, "workspace", many_items)
    monkeypatch.setattr(review_views, "review_queue", many_requests)
    world.reviewer.locale = locale
    db.session.commit()
    sign_in(client, world.reviewer)
    queue = client.get("/review/?tab=open").get_data(as_text=True)
    # Tab counts stop at 500 (services.queue.COUNT_CAP): past it, "500+".
    assert "(500+)" in queue and "1166" not in queue
    html = client.get(f"/review/requests/{req.reference}").get_data(as_text=True)
    assert "1166" not in html
    items = html[html.index('id="items"'):]
    assert f": {GROUPED[locale]}</a>" in items  # the tally's "All" and "Pending"
    with client.application.test_request_context(), force_locale(locale):
        summary = gettext("%(total)s in all, %(pending)s pending",
                          total=GROUPED[locale], pending=GROUPED[locale])
    assert summary in html
