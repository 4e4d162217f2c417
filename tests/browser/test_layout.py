"""Layout defects a person sees in a real browser: mixed-direction text in Arabic read in
the order it is displayed, the SLA dashboard within its container at 1280 px, and tables
on a 390 px phone that neither wrap a letter per line nor scroll without a keyboard."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from playwright.sync_api import Browser, Page

from portal import demo
from portal.extensions import db
from portal.models import User
from portal.models.columns import utcnow
from portal.services import accounts
from portal.services.actors import Actor
from portal.services.filing import file_request
from tests.browser.conftest import LiveServer, Staff, sign_in
from tests.factories import filing, handles

OFFICIAL = "arjun@meity.gov.in"
PASSWORD = "a long password for the official"

#: The characters of an element's text from the rightmost on screen to the leftmost: what
#: a reader of a right-to-left page reads, whatever the order in the source.
READ_RIGHT_TO_LEFT = """el => {
  const found = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      const box = range.getBoundingClientRect();
      if (box.width > 0) found.push([box.left, node.data[i]]);
    }
  }
  found.sort((a, b) => b[0] - a[0]);
  return found.map(x => x[1]).join("");
}"""


def seed(live: LiveServer, locale: str) -> str:
    with live.db():
        agency = accounts.create_agency(
            "Ministry of Electronics", country="IN", domain="meity.gov.in", verified=True,
            verified_until=utcnow() + timedelta(days=365))
        official = accounts.create_user(OFFICIAL, role="agency_official", agency_id=agency.id,
                                        password=PASSWORD, name="Arjun", locale=locale)
        for n in range(3):
            req = file_request(Actor.of(official), filing(
                handles(4, prefix=f"t{n}_"), category="disinformation", priority="standard",
                legal_statute="IT Act, 2000", legal_article="s.69A.",
                order_reference="W.P.(C) 1234/2026", order_date=date(2026, 11, 1)))
        return req.reference


def new_page(browser: Browser, live: LiveServer, width: int) -> Page:
    context = browser.new_context(base_url=live.url, viewport={"width": width, "height": 900},
                                  timezone_id="UTC")
    return context.new_page()


def definition(page: Page, position: int) -> str:
    return page.locator("dl.facts dd").nth(position).evaluate(READ_RIGHT_TO_LEFT)


def test_the_order_line_and_the_legal_basis_read_in_order_in_arabic(
        browser: Browser, live_server: LiveServer) -> None:
    reference = seed(live_server, "ar")
    page = new_page(browser, live_server, 1280)
    page.goto("/login")
    page.locator("input[name=email]").fill(OFFICIAL)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("main").locator("button[type=submit]").click()
    page.wait_for_load_state("load")
    page.goto(f"/requests/{reference}")
    # Read right to left, a left-to-right fragment shows reversed: each must be whole.
    basis, order = definition(page, 0), definition(page, 2)
    assert basis == ".A96.s ,0002 ,tcA TI"  # "IT Act, 2000, s.69A." and its full stop
    assert order.startswith("6202/4321 )C(.P.W"), order  # the reference first
    assert "6202/4321 )C(.P.W" in order and order.endswith("10/11/6202"), order
    page.context.close()


def overflowing(page: Page) -> list[str]:
    """Elements wider than the main area (their own scroll regions excepted)."""
    return page.evaluate("""() => {
      const main = document.querySelector('main');
      const limit = main.getBoundingClientRect().right + 1;
      const out = [];
      for (const el of main.querySelectorAll('*')) {
        if (el.closest('.table-scroll') && !el.classList.contains('table-scroll')) continue;
        const box = el.getBoundingClientRect();
        if (box.right > limit) out.push(`${el.tagName}.${el.className} ${Math.round(box.right)}`);
      }
      return out.concat(document.documentElement.scrollWidth > innerWidth
                        ? [`page ${document.documentElement.scrollWidth}`] : []);
    }""")


def scroll_regions(page: Page) -> list[dict[str, object]]:
    """Each scroll region that scrolls: can a keyboard reach it, and what is it called."""
    return page.evaluate("""() => [...document.querySelectorAll('.table-scroll')]
      .filter(el => el.scrollWidth > el.clientWidth)
      .map(el => ({tabindex: el.getAttribute('tabindex'), role: el.getAttribute('role'),
                   name: el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')}))""")


def squeezed_cells(page: Page) -> list[str]:
    """Table cells squeezed narrower than three characters (a letter per line)."""
    return page.evaluate("""() => [...document.querySelectorAll('main th, main td')]
      .map(c => { const copy = c.cloneNode(true);
                  copy.querySelectorAll('.visually-hidden').forEach(h => h.remove());
                  c.visibleText = copy.textContent; return c; })
      .filter(c => c.visibleText.trim().length > 3)
      .filter(c => c.getBoundingClientRect().width < 3 * parseFloat(getComputedStyle(c).fontSize))
      .map(c => c.visibleText.trim().slice(0, 30))""")


def demo_data(live: LiveServer) -> None:
    """The demo's agencies and requests: real names, policies and reviewers."""
    with live.db():
        demo.seed()


def test_the_sla_dashboard_fits_its_container_at_1280(
        browser: Browser, live_server: LiveServer, staff: Staff) -> None:
    demo_data(live_server)
    page = new_page(browser, live_server, 1280)
    sign_in(page, staff.liaison, staff.password)
    page.goto("/liaison/")
    assert page.locator("table.sla tbody tr").count() >= 3
    assert overflowing(page) == []
    # The table itself fits: at a desktop width nothing should need a sideways scroll.
    widths = page.locator("table.sla").evaluate(
        "t => [t.getBoundingClientRect().width, t.parentElement.clientWidth]")
    assert widths[0] <= widths[1], widths
    # The language choice is as wide as its longest name, not a form field's 640 px.
    language = page.get_by_label("Language").evaluate("e => e.getBoundingClientRect().width")
    assert language < 240, language
    page.context.close()


def test_tables_on_a_phone_scroll_by_keyboard_and_keep_their_words(
        browser: Browser, live_server: LiveServer, staff: Staff) -> None:
    reference = seed(live_server, "en")
    demo_data(live_server)
    page = new_page(browser, live_server, 390)
    sign_in(page, staff.liaison, staff.password)
    for path in ("/liaison/", f"/requests/{reference}"):
        page.goto(path)
        assert squeezed_cells(page) == [], path
        regions = scroll_regions(page)
        assert regions, path
        for region in regions:
            # A named group, not a landmark: it is inside its section's own region.
            assert region["tabindex"] == "0" and region["name"], (path, region)
            assert region["role"] == "group", (path, region)
    page.context.close()


def test_the_review_pages_on_a_phone_scroll_by_keyboard_and_keep_their_words(
        browser: Browser, live_server: LiveServer, staff: Staff) -> None:
    seed(live_server, "en")
    with live_server.db():
        official = db.session.scalars(sa.select(User).where(User.email == OFFICIAL)).one()
        reference = file_request(Actor.of(official), filing(
            [f"https://x.com/someone/status/{n}1234567890123456789" for n in range(3)]
            + ["@someone"], category="disinformation", priority="standard",
            order_reference="W.P.(C) 1234/2026", order_date=date(2026, 11, 1))).reference
    page = new_page(browser, live_server, 390)
    sign_in(page, staff.reviewer, staff.password)
    page.goto(f"/review/requests/{reference}")
    page.get_by_role("button", name="Claim this request and begin the review").click()
    page.wait_for_load_state("load")
    assert page.locator("table.items input[name=item]").count() == 4  # the decision form
    for path in ("/review/?tab=open", f"/review/requests/{reference}"):
        page.goto(path)
        assert squeezed_cells(page) == [], path
        assert overflowing(page) == [], path
        regions = scroll_regions(page)
        assert regions, path
        for region in regions:
            # A named group, not a landmark: it is inside its section's own region.
            assert region["tabindex"] == "0" and region["name"], (path, region)
            assert region["role"] == "group", (path, region)
    # On a phone the decision's fieldset is in the flow, as it was (sticky when wider).
    assert page.locator("fieldset.bulk#decide").evaluate(
        "f => getComputedStyle(f).position") == "static"
    page.context.close()
