"""Browser tests: the real app served over HTTP (CSRF on, real forms) and driven by a
headless Chromium through Playwright's sync API.

Chromium is Debian's (``/usr/bin/chromium``; ``.ci/test-suite`` installs it when
missing); Playwright never downloads a browser here. Each person in a story gets a
browser context of their own (their own cookies), screenshots are saved per step under
``test-artifacts/screenshots/<test>/`` (or ``$TEST_SCREENSHOTS_DIR/<test>/``: the two
passes of ``.ci/test-suite`` run at once and keep theirs apart) and one per open page
when a test fails.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from flask_sqlalchemy.session import Session
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
    Playwright,
    Response,
    ViewportSize,
    expect,
    sync_playwright,
)
from sqlalchemy.orm import scoped_session
from werkzeug.serving import BaseWSGIServer, make_server

from portal import create_app
from portal.extensions import db
from portal.models import Notification
from portal.services import accounts, clocks
from portal.services.transaction import transaction
from tests.conftest import empty_tables
from tests.smtp import Inbox, smtp_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("TEST_SCREENSHOTS_DIR")
                   or ROOT / "test-artifacts" / "screenshots")
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
#: How long one Playwright action or expectation may wait before the test fails.
TIMEOUT_MS = 15_000
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
_URL = re.compile(r"https?://\S+")
#: Resources a page needs to look and work right.
_ASSETS = frozenset({"stylesheet", "script", "image", "font"})

#: axe-core, shipped inside the axe-playwright-python package (not fetched at run time).
AXE = Axe()
#: Widths every page of the story is checked at: a desktop and a 390 px phone.
AXE_WIDTHS = (1280, 390)
#: What axe reads: the whole page but rows past the tenth of a table (the same template
#: row again, a thousand times on a review page: they only made the audit slower).
AXE_CONTEXT = {"exclude": [["tbody tr:nth-child(n+11)"]]}
#: The violations that fail a test; moderate and minor ones are reported by axe only.
AXE_FAILING = frozenset({"serious", "critical"})
# Paths that differ only by a reference or an id are the same page for the audit.
_SAME_PAGE = re.compile(r"[A-Z]{2}-\d{4}-\d{6}|\d+")

# Pages render on a shared, busy machine: give expectations the same patience as actions.
expect.set_options(timeout=TIMEOUT_MS)


# -- reports on the item, for the failure screenshots --------------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


def _failed(node: pytest.Item) -> bool:
    return any(getattr(getattr(node, f"report_{when}", None), "failed", False)
               for when in ("setup", "call"))


# -- the browser -----------------------------------------------------------------------

# Package scope: the driver and Chromium end with the browser tests, before the rest of
# the suite runs.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(.ci/test-suite does)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                         args=LAUNCH_ARGS)
    try:
        yield browser
    finally:
        browser.close()


# -- the live server -------------------------------------------------------------------

@dataclass
class LiveServer:
    """The portal served on a free loopback port, and its database from the test."""

    app: Flask
    url: str
    inbox: Inbox

    @contextmanager
    def db(self) -> Iterator[scoped_session[Session]]:
        """The app's database session in this (the test's) thread."""
        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.remove()

    def mailed_link(self, recipient: str, template: str) -> str:
        """The link in the newest mail ``template`` sent to ``recipient``, as the SMTP
        server received it (links are absolute, built for the live server's host)."""
        with self.db() as session:
            ids = set(session.scalars(
                sa.select(Notification.id)
                .where(Notification.recipient == recipient, Notification.template == template)
            ))
        assert ids, f"no {template} mail to {recipient}"
        sent = self.inbox.sent(ids)
        assert sent, f"the {template} mail to {recipient} was not sent"
        body = sent[-1].body
        links = _URL.findall(body)
        assert links, f"the {template} mail has no link:\n{body}"
        return str(links[0])


def _settings(url: str, instance: Path) -> dict[str, Any]:
    # tests/conftest.py's _make_app settings, with CSRF on (real forms, real tokens).
    return {
        "TESTING": True,
        "ENVIRONMENT": "testing",
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": True,
        "ATTACHMENT_DIR": str(instance / "attachments"),
        "DEMO_LOGINS_ON_START_PAGE": True,
    }


@pytest.fixture
def live_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The app on the suite's test database, served by a threaded werkzeug server in the
    background, with the default SLA policies and a real SMTP server for its mails;
    tables are emptied afterwards."""
    app = create_app(_settings(database_url, tmp_path))
    with app.app_context():
        with transaction():
            clocks.load_defaults()
        db.session.remove()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # Mailed links are built on the configured address, as in production.
    app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    with smtp_server(app.config) as inbox:
        thread.start()
        try:
            yield LiveServer(app, url, inbox)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            with app.app_context():
                db.session.remove()
                empty_tables()
                db.engine.dispose()


# -- people and screenshots ------------------------------------------------------------

@dataclass
class Screenshots:
    """Numbered screenshots of one test: ``<nn>-<step>.png``."""

    folder: Path
    count: int = 0

    def take(self, page: Page, step: str) -> Path:
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", step.lower()).strip("-")
        path = self.folder / f"{self.count:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Screenshots:
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Screenshots(folder)


@dataclass
class People:
    """One browser context (own cookies) and page per person, on the live server.

    Every page is watched for what a person would not notice but must not happen: a
    script error, a Content-Security-Policy refusal (inline script or style), or a
    stylesheet, script, image or font that fails to load.
    """

    browser: Browser
    base_url: str
    pages: dict[str, Page] = field(default_factory=dict)
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: What each confirm dialog asked (every one is accepted, as a person who means it).
    dialogs: list[str] = field(default_factory=list)
    #: Serious and critical accessibility violations axe found, one line each.
    violations: list[str] = field(default_factory=list)
    audited: set[str] = field(default_factory=set)
    audit_seconds: float = 0.0

    def __call__(self, name: str, *, locale: str = "en-GB") -> Page:
        if name not in self.pages:
            context = self.browser.new_context(base_url=self.base_url, locale=locale,
                                               timezone_id="UTC", viewport=VIEWPORT)
            context.set_default_timeout(TIMEOUT_MS)
            self.contexts.append(context)
            page = context.new_page()
            self._watch(name, page)
            self.pages[name] = page
        return self.pages[name]

    def _watch(self, name: str, page: Page) -> None:
        def console(message: ConsoleMessage) -> None:
            if message.type == "error" and "Content Security Policy" in message.text:
                self.problems.append(f"{name} on {page.url}: {message.text}")

        def page_error(error: Error) -> None:
            self.problems.append(f"{name} on {page.url}: script error {error}")

        def response(answer: Response) -> None:
            if (answer.status >= 400 and answer.request.resource_type in _ASSETS
                    and not answer.url.endswith("/favicon.ico")):
                self.problems.append(f"{name} on {page.url}: {answer.status} for {answer.url}")

        def dialog(asked: Dialog) -> None:
            self.dialogs.append(asked.message)
            asked.accept()

        page.on("console", console)
        page.on("pageerror", page_error)
        page.on("response", response)
        page.on("dialog", dialog)

    def audit(self, page: Page, what: str) -> None:
        """Run axe-core on the page as it is now, at a desktop's and a phone's width; a
        page already audited (the same path and main heading, whatever the reference or
        ids in them) is not audited again."""
        headings = page.locator("h1")
        title = headings.first.inner_text() if headings.count() else ""
        key = _SAME_PAGE.sub("#", f"{page.url.split('?')[0]} {title}")
        if key in self.audited:
            return
        self.audited.add(key)
        started = time.perf_counter()
        for width in AXE_WIDTHS:
            page.set_viewport_size({"width": width, "height": VIEWPORT["height"]})
            found = AXE.run(page, context=AXE_CONTEXT).response["violations"]
            for violation in found:
                if violation["impact"] not in AXE_FAILING:
                    continue
                nodes = ", ".join(" ".join(map(str, node["target"]))
                                  for node in violation["nodes"][:3])
                self.violations.append(
                    f"{what} ({page.url}) at {width} px: {violation['id']} "
                    f"({violation['impact']}, {len(violation['nodes'])} elements: {nodes}): "
                    f"{violation['help']}")
        page.set_viewport_size(VIEWPORT)
        self.audit_seconds += time.perf_counter() - started
        if os.environ.get("AXE_TIMES"):
            with open(os.environ["AXE_TIMES"], "a") as log:
                log.write(f"{time.perf_counter() - started:6.1f} s {what}\n")

    def assert_no_page_problems(self) -> None:
        # What the audits cost the suite (shown with -s or -rA; docs/BENCHMARKS.md).
        print(f"axe-core: {len(self.audited)} pages at {len(AXE_WIDTHS)} widths in "
              f"{self.audit_seconds:.1f} s")
        assert not self.problems, "\n".join(self.problems)
        assert not self.violations, "\n".join(self.violations)


@pytest.fixture
def people(browser: Browser, live_server: LiveServer, shots: Screenshots,
           request: pytest.FixtureRequest) -> Iterator[People]:
    found = People(browser, live_server.url)
    try:
        yield found
    finally:
        if _failed(request.node):
            for name, page in found.pages.items():
                if page.url == "about:blank":
                    continue
                try:
                    page.screenshot(path=str(shots.folder / f"failure-{name}.png"),
                                    full_page=True)
                except Exception:  # noqa: BLE001 - a dead page must not hide the failure
                    pass
        for context in found.contexts:
            context.close()


# -- the platform's staff --------------------------------------------------------------

STAFF_PASSWORD = "staff password for browser tests"


@dataclass(frozen=True)
class Staff:
    admin: str = "ada.admin@platform.example"
    reviewer: str = "rahul.reviewer@platform.example"
    liaison: str = "lina.liaison@platform.example"
    password: str = STAFF_PASSWORD


@pytest.fixture
def staff(live_server: LiveServer) -> Staff:
    """An administrator, a legal reviewer and a platform liaison, with known passwords."""
    found = Staff()
    with live_server.db():
        for email, role, name in ((found.admin, "admin", "Ada Admin"),
                                  (found.reviewer, "legal_reviewer", "Rahul Reviewer"),
                                  (found.liaison, "platform_liaison", "Lina Liaison")):
            accounts.create_user(email, role=role, password=found.password, name=name)
    return found


def sign_in(page: Page, email: str, password: str) -> None:
    """Sign in through the sign-in page, as a person would."""
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.wait_for_load_state("load")


def go_to(page: Page, label: str) -> None:
    """Follow a link of the header's main navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=label).click()
