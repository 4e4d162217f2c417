"""The portal's story, told in a real browser: an agency registers and is verified, files
1,178 targets (after correcting the lines the preview rejects), a reviewer asks, decides
in bulk, actions, and revises after a dispute, while a liaison watches every SLA change.

Each person has a browser context of their own, and every step asserts what that person
sees on the page. Fields are found by their labels and buttons by their names, which
doubles as a check that the pages label them.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

from portal.models import LegalRequest, SlaClock
from portal.models.columns import utcnow
from tests.browser.conftest import LiveServer, People, Screenshots, Staff, go_to, sign_in

AGENCY = "Information and Communication Technologies Authority"
DOMAIN = "btk.gov.tr"
OFFICIAL = "ayse@btk.gov.tr"
OFFICIAL_NAME = "Ayşe Yılmaz"
OFFICIAL_PASSWORD = "deprem sonrası güvenli parola"
REFERENCE = re.compile(r"[A-Z]{2}-\d{4}-\d{6}")

VALID = 1_178
QUESTION = "Which court order covers the accounts from line 900 onwards?"
ANSWER = "All of them: order 2023/1178 of the Ankara 1st Criminal Judgeship of Peace."


# -- the target list -------------------------------------------------------------------

def target_file(folder: Path) -> tuple[Path, dict[int, str]]:
    """A CSV of 1,177 good handles, one handle that only needs correcting, a link to
    another platform and a duplicate; and the reason the preview should give for each
    bad line, by its line in the list (the header is not a line of the list)."""
    rows = [f"@kisan_bot_{n:04d}" for n in range(1, VALID)]  # 1,177 handles
    bad = {
        200: "https://www.facebook.com/kisan.ekta.morcha",   # another platform
        600: "@kisan-ekta",                                 # a hyphen: malformed
        1000: rows[9],                                      # the handle of line 10 again
    }
    for line, raw in sorted(bad.items()):
        rows.insert(line - 1, raw)
    path = folder / "targets.csv"
    path.write_text("handle\n" + "\n".join(rows) + "\n", encoding="utf-8")
    reasons = {
        200: "not a link to this platform",
        600: "not a valid handle",
        1000: "a duplicate of line 10",
    }
    return path, reasons


def correct(text: str, rejected: dict[int, str]) -> str:
    """What the official does with the rejected lines: the malformed handle is corrected,
    the other lines are deleted."""
    lines = text.splitlines()
    for number, reason in sorted(rejected.items(), reverse=True):
        if reason.startswith("not a valid handle"):
            lines[number - 1] = lines[number - 1].replace("-", "_")
        else:
            del lines[number - 1]
    return "\n".join(lines) + "\n"


def rejected_lines(page: Page) -> dict[int, str]:
    """The rejected lines the preview lists: line number → reason."""
    found = {}
    region = page.get_by_role("region", name="Rejected lines")
    for text in region.locator(".why").all_inner_texts():
        match = re.fullmatch(r"Line ([\d,]+): (.+)", text.strip())
        assert match, f"a rejected line without its number: {text!r}"
        found[int(match.group(1).replace(",", ""))] = match.group(2)
    return found


# -- what people see -------------------------------------------------------------------

def flash(page: Page, text: str) -> None:
    """A confirmation at the top of the page, announced politely (role status)."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def heading(page: Page) -> Locator:
    return page.get_by_role("heading", level=1)


def clock_row(page: Page, reference: str, deadline: str) -> Locator:
    """The liaison dashboard's row of ``reference``'s ``deadline`` clock."""
    return (page.get_by_role("region", name="Running clocks").get_by_role("row")
            .filter(has=page.get_by_role("link", name=reference, exact=True))
            .filter(has_text=deadline))


def band_count(page: Page, band: str) -> Locator:
    return (page.get_by_role("list", name="Running clocks by standing")
            .get_by_role("link", name=re.compile(rf"^{re.escape(band)}: ")))


def deadline_row(page: Page, deadline: str) -> Locator:
    """A row of the request page's deadlines table."""
    return page.get_by_role("region", name="Deadlines").get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=deadline, exact=True))


def age_clock(live: LiveServer, reference: str, target: str, fraction: float) -> None:
    """Move a running clock back in time so that ``fraction`` of its time is used now.

    Waiting hours for a 4-hour deadline is not possible in a test, and the sweep that
    fires alerts is not what this story checks: the pages read the stored clock (its due
    time, its threshold times and the index column of open clocks), so shifting all of
    them by the same amount is exactly what the clock looks like later in its life.
    """
    now = utcnow()
    with live.db() as session:
        clock = session.scalars(
            sa.select(SlaClock).join(LegalRequest, LegalRequest.id == SlaClock.request_id)
            .where(LegalRequest.reference == reference, SlaClock.target == target)
        ).one()
        assert clock.stopped_at is None and clock.paused_at is None
        allowance = timedelta(seconds=clock.allowance_seconds or clock.seconds)
        shift = clock.due_at - (now + (1 - fraction) * allowance)
        clock.started_at -= shift
        clock.due_at -= shift
        if clock.open_due_at is not None:
            clock.open_due_at -= shift
        if clock.next_alert_at is not None:
            clock.next_alert_at -= shift
        clock.alert_times = [(datetime.fromisoformat(t) - shift).isoformat()
                             for t in clock.alert_times]
        session.commit()


# -- registering -----------------------------------------------------------------------

def register_agency(page: Page, seen: Callable[[Page, str], None] | None = None) -> None:
    """The first official registers the agency from the start page."""
    page.goto("/")
    if seen:
        seen(page, "start page")
    page.get_by_role("link", name="Register your agency").first.click()
    expect(heading(page)).to_have_text("Register your agency")
    page.get_by_label("Name of the agency").fill(AGENCY)
    page.get_by_label("Country").select_option("TR")
    page.get_by_label("Official domain").fill(DOMAIN)
    page.get_by_label("Your name").fill(OFFICIAL_NAME)
    page.get_by_label("Your official e-mail address").fill(OFFICIAL)
    if seen:
        seen(page, "official registers the agency")
    page.get_by_role("button", name="Register the agency").click()
    expect(heading(page)).to_have_text("Registration received")
    expect(page.get_by_text("Your agency awaits verification")).to_be_visible()
    if seen:
        seen(page, "registration received")


def confirm_registration(page: Page, live: LiveServer,
                         seen: Callable[[Page, str], None] | None = None) -> None:
    """The official follows the mailed link and chooses a password."""
    link = live.mailed_link(OFFICIAL, "confirm_registration")
    assert link.startswith(f"{live.url}/confirm/"), link
    page.goto(link)
    expect(heading(page)).to_have_text("Confirm your registration")
    if seen:
        seen(page, "confirm the registration")
    expect(page.get_by_text(f"Choose the password for {OFFICIAL}")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(OFFICIAL_PASSWORD)
    page.get_by_label("New password again").fill(OFFICIAL_PASSWORD)
    page.get_by_role("button", name="Confirm and set the password").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_confirming_the_registration_says_so(live_server: LiveServer, people: People,
                                             shots: Screenshots) -> None:
    """After the mailed link, the official is signed in and told that it worked."""
    official = people("official")
    register_agency(official)
    confirm_registration(official, live_server)
    shots.take(official, "registration confirmed")
    flash(official, "Your e-mail address is confirmed and your password is set.")
    people.assert_no_page_problems()


# -- the story -------------------------------------------------------------------------

def test_agency_files_and_the_platform_answers(live_server: LiveServer, staff: Staff,
                                               people: People, shots: Screenshots,
                                               tmp_path: Path) -> None:
    official, admin = people("official"), people("admin")
    reviewer, liaison = people("reviewer"), people("liaison")

    def seen(page: Page, step: str) -> None:
        """A screenshot of the step, and axe-core's audit of the page (once per page)."""
        shots.take(page, step)
        people.audit(page, step)

    # 1. The agency registers itself; the official confirms from the mailed link.
    register_agency(official, seen)
    # The administrators were told too, with a link to the verification queue.
    admin_link = live_server.mailed_link(staff.admin, "agency_awaiting_verification")
    assert admin_link == f"{live_server.url}/admin/agencies"
    confirm_registration(official, live_server, seen)
    expect(official.get_by_text(f"{OFFICIAL_NAME} · Agency official")).to_be_visible()
    official.goto("/requests/new")
    expect(heading(official)).to_have_text("You cannot file requests at the moment")
    expect(official.get_by_role("alert")).to_contain_text("has not been verified yet")
    seen(official, "official cannot file before verification")
    official.get_by_role("button", name="Sign out").click()
    flash(official, "You are signed out.")

    # 2. The administrator verifies the agency, with an expiry date.
    admin.goto("/login")
    seen(admin, "sign-in page")
    sign_in(admin, staff.admin, staff.password)
    go_to(admin, "Agencies")
    queue = admin.get_by_role("region", name=re.compile(r"^Verification queue"))
    expect(queue).to_contain_text("(1 waiting)")
    expect(queue.get_by_role("row").filter(has_text=DOMAIN)).to_contain_text("TR")
    seen(admin, "verification queue")
    queue.get_by_role("link", name=AGENCY).click()
    expect(heading(admin)).to_have_text(AGENCY)
    expect(admin.get_by_text("Awaiting verification").first).to_be_visible()
    until = utcnow().date() + timedelta(days=180)
    admin.get_by_label("Verified until").fill(until.isoformat())
    admin.get_by_role("button", name="Approve until this date").click()
    flash(admin, "The agency is verified until")
    expect(admin.locator("dt:text-is('Status') + dd")).to_have_text("Verified")
    seen(admin, "agency verified")
    go_to(admin, "Agencies")
    expect(admin.get_by_text("No agency is waiting for verification.")).to_be_visible()

    # 3. The official signs in and files 1,178 targets, correcting the rejected lines.
    sign_in(official, OFFICIAL, OFFICIAL_PASSWORD)
    go_to(official, "File a request")
    expect(heading(official)).to_have_text("File a request")
    # A preview of an empty form: the page starts at the summary of what is missing.
    official.get_by_role("button", name="Preview the targets").click()
    expect(official.locator(".error-summary")).to_be_focused()
    seen(official, "preview of an empty form")
    official.get_by_label("Statute", exact=True).fill("Law No. 5651")
    official.get_by_label("Article", exact=True).fill("Art. 8/A")
    official.get_by_label("Issuing authority").fill("Ankara 1st Criminal Judgeship of Peace")
    official.get_by_label("Order reference").fill("2023/1178 D.İş")
    official.get_by_label("Order date").fill("2023-02-08")
    expect(official.get_by_label("Jurisdiction")).to_have_value("TR")
    official.get_by_label("Category").select_option(label="Disinformation")
    official.get_by_label("What the order asks for").select_option(
        label="Withhold it in the country")
    official.get_by_role("radio", name="Urgent").check()
    official.get_by_label("Description").fill(
        "Automated accounts spreading false emergency reports and fake aid campaigns "
        "after the earthquake.")
    csv_path, reasons = target_file(tmp_path)
    official.get_by_label("Or add targets from a CSV file").set_input_files(csv_path)
    seen(official, "filing form filled")
    official.get_by_role("button", name="Preview the targets").click()

    expect(official.get_by_role("heading", name="Preview of the targets")).to_be_visible()
    expect(official.get_by_text("1,180 rows of targets.csv were added to the list as "
                                "lines 1 to 1,180.")).to_be_visible()
    expect(official.get_by_text("3 lines rejected.")).to_be_visible()
    # The page starts at the rejected lines, not at its top.
    expect(official.get_by_role("region", name="Rejected lines")).to_be_focused()
    rejected = rejected_lines(official)
    assert sorted(rejected) == sorted(reasons), rejected
    for line, reason in reasons.items():
        assert rejected[line].startswith(reason), (line, rejected[line])
    expect(official.get_by_role("button", name="File without the rejected lines")).to_be_visible()
    seen(official, "preview lists the rejected lines")

    targets = official.get_by_label("Targets, one per line")
    targets.fill(correct(targets.input_value(), rejected))
    official.get_by_role("button", name="Preview again").click()
    expect(official.get_by_text("No line was rejected.")).to_be_visible()
    expect(official.get_by_role("region", name="Rejected lines")).to_have_count(0)
    file_button = official.get_by_role("button", name="File the request with 1,178 targets")
    seen(official, "preview without rejections")
    file_button.click()

    flash(official, "was filed with 1,178 targets.")
    reference_match = REFERENCE.search(heading(official).inner_text())
    assert reference_match, heading(official).inner_text()
    reference = reference_match.group(0)
    assert reference.startswith(f"TR-{utcnow().year}-")
    facts = official.get_by_role("region", name="The request")
    expect(facts).to_contain_text("1,178")
    expect(facts).to_contain_text("Law No. 5651")
    expect(facts).to_contain_text("2023/1178 D.İş")
    expect(facts).to_contain_text("Disinformation")
    expect(facts).to_contain_text("Urgent")
    expect(facts).to_contain_text("Withhold it in the country")
    expect(facts).to_contain_text("not yet: when the review begins")
    expect(official.locator(".status-line")).to_contain_text("Received")
    expect(deadline_row(official, "Resolution")).to_contain_text("On track")
    expect(deadline_row(official, "Resolution")).to_contain_text("Law No. 5651")
    seen(official, "request filed")

    # 9a. The liaison sees the new request's clocks running, on track.
    sign_in(liaison, staff.liaison, staff.password)
    go_to(liaison, "SLA dashboard")
    expect(clock_row(liaison, reference, "Resolution")).to_contain_text("On track")
    expect(clock_row(liaison, reference, "Resolution")).to_contain_text("Received")
    expect(clock_row(liaison, reference, "Acknowledgement")).to_contain_text("On track")
    expect(band_count(liaison, "On track")).to_have_text("On track: 2")
    seen(liaison, "dashboard after filing")

    # 4. The reviewer claims the request from the queue and asks a question.
    sign_in(reviewer, staff.reviewer, staff.password)
    go_to(reviewer, "Review queue")
    row = reviewer.get_by_role("row").filter(
        has=reviewer.get_by_role("link", name=reference, exact=True))
    expect(row).to_contain_text(AGENCY)
    expect(row).to_contain_text("Received")
    expect(row).to_contain_text("Nobody yet")
    # The agency has one official and no focal point: nobody else heard of this urgent
    # request, so it cannot be actioned before the agency confirms it another way.
    expect(row).to_contain_text("No second channel")
    seen(reviewer, "review queue")
    reviewer.get_by_role("button", name=f"Claim {reference}").click()
    flash(reviewer, f"You are now the reviewer of {reference}.")
    expect(heading(reviewer)).to_contain_text(f"Request {reference}")
    expect(heading(reviewer)).to_contain_text("In legal review")
    reviewer.get_by_label("Question to the agency").fill(QUESTION)
    reviewer.get_by_role("button", name="Ask the agency for information").click()
    # Law 5651 Arts. 8 and 8/A allow no pause ("derhal ve en geç dört saat"): the
    # question does not stop the four hours.
    flash(reviewer, "Your question was sent to the agency. The law that sets the deadline "
                    "allows no pause: the deadline keeps running.")
    expect(heading(reviewer)).to_contain_text("Awaiting information")
    seen(reviewer, "reviewer asked a question")

    # 9b. The liaison sees the resolution clock still running (and acknowledgement met).
    liaison.reload()
    expect(clock_row(liaison, reference, "Resolution")).to_contain_text("On track")
    expect(clock_row(liaison, reference, "Resolution")).to_contain_text("Awaiting information")
    expect(clock_row(liaison, reference, "Acknowledgement")).to_have_count(0)
    expect(band_count(liaison, "Paused (waiting for the agency)")).to_have_text(
        "Paused (waiting for the agency): 0")
    expect(band_count(liaison, "On track")).to_have_text("On track: 1")
    seen(liaison, "dashboard while awaiting information")

    # 5. The official sees the question on the request page and answers it.
    go_to(official, "Our requests")
    official.get_by_role("link", name=reference, exact=True).click()
    question = official.get_by_role("region", name="The platform asked for more information")
    expect(question).to_contain_text(QUESTION)
    expect(question).to_contain_text(
        "The law that sets the deadline allows no pause: it keeps running while you answer.")
    expect(deadline_row(official, "Resolution")).to_contain_text("On track")
    expect(deadline_row(official, "Acknowledgement")).to_contain_text("Met")
    seen(official, "official sees the question")
    question.get_by_label("Your answer").fill(ANSWER)
    question.get_by_role("button", name="Send the answer").click()
    flash(official, "Your answer was sent. The review continues.")
    expect(official.locator(".status-line")).to_contain_text("In legal review")
    expect(official.get_by_role("region", name="Messages")).to_contain_text(QUESTION)

    # 9c. The clock runs again; then, aged in the database, crosses 75 %, 90 %, breach.
    liaison.reload()
    expect(clock_row(liaison, reference, "Resolution")).to_contain_text("On track")
    expect(clock_row(liaison, reference, "Resolution")).to_contain_text("In legal review")
    seen(liaison, "dashboard after the answer")
    for fraction, band in ((0.8, "75% of the time used"), (0.93, "90% of the time used"),
                           (1.05, "Breached")):
        age_clock(live_server, reference, "resolve", fraction)
        liaison.reload()
        expect(clock_row(liaison, reference, "Resolution")).to_contain_text(band)
        expect(band_count(liaison, band)).to_have_text(f"{band}: 1")
        seen(liaison, f"dashboard {band}")
    official.reload()
    expect(deadline_row(official, "Resolution")).to_contain_text("Deadline passed")

    # 6. The reviewer withholds every pending item in Türkiye, then actions the request.
    reviewer.reload()
    expect(heading(reviewer)).to_contain_text("In legal review")
    expect(reviewer.get_by_role("region", name="Messages")).to_contain_text(ANSWER)
    reviewer.get_by_label("Show", exact=True).select_option(label="Pending (no decision yet)")
    reviewer.get_by_role("button", name="Show", exact=True).click()
    reviewer.get_by_label("Decision", exact=True).select_option(label="Withheld")
    # Where and on what ground: the request's country and law unless said otherwise.
    expect(reviewer.get_by_label("Where it applies")).to_have_value("")
    reviewer.get_by_label("Explanation", exact=True).fill(
        "Withheld in Türkiye under Law No. 5651 Art. 8/A, order 2023/1178.")
    seen(reviewer, "bulk decision on every pending item")
    reviewer.get_by_role(
        "button", name=re.compile(r"^Apply to all 1,?178 items matching this filter$")).click()
    flash(reviewer, "items decided: Withheld.")
    # A decision on every item is asked about first, as a withdrawal is.
    assert people.dialogs[-1] == "Apply this decision to all 1,178 items?", people.dialogs
    items = reviewer.get_by_role("region", name="Items")
    items.get_by_role("link", name="Show all items").first.click()
    expect(items.get_by_role("row").nth(1)).to_contain_text("TR")
    expect(items.get_by_role("row").nth(1)).to_contain_text("Local law")
    expect(items.get_by_role("row").nth(1)).to_contain_text("Law No. 5651, Art. 8/A")
    expect(reviewer.get_by_role("region", name="Items")).to_contain_text("Pending: 0")
    # The reviewer opens the first target on the platform (a new tab, no referrer) and
    # records what was seen and where the snapshot is kept.
    first = items.get_by_role("row").nth(1)
    link = first.get_by_role("link", name=re.compile(r"^@kisan_bot_0001"))
    expect(link).to_have_attribute("href", "https://x.com/kisan_bot_0001")
    expect(link).to_have_attribute("rel", "noreferrer noopener")
    expect(link).to_have_attribute("target", "_blank")
    expect(first).to_contain_text("Account")
    first.get_by_role("link", name="Note on item 1").click()
    expect(heading(reviewer)).to_contain_text("Item 1 of")
    reviewer.get_by_label("Note on the content").fill(
        "Posts a fake AFAD donation account number; 40 reposts an hour.")
    reviewer.get_by_label("Snapshot reference").fill("EVID-2026-11781")
    seen(reviewer, "reviewer notes an item")
    reviewer.get_by_role("button", name="Save the note").click()
    flash(reviewer, "The note on item 1 is saved.")
    expect(reviewer.get_by_role("region", name="Items")).to_contain_text("EVID-2026-11781")
    reviewer.get_by_role("button", name="Action the request").click()
    expect(reviewer.get_by_role("alert").filter(has_text="(no second channel)")).to_be_visible()
    expect(heading(reviewer)).to_contain_text("In legal review")
    channel = reviewer.get_by_role("region", name="No second channel")
    channel.get_by_label("Who at the agency confirmed it").fill(
        "Selin Aksoy, head of legal affairs")
    channel.get_by_label("How you reached them").select_option(
        label="Telephone, at a number known from the agency's records")
    channel.get_by_label("Note", exact=True).fill(
        "Called the ministry's switchboard, number from its official website; she confirmed "
        "order 2023/1178 and its 1,178 targets.")
    seen(reviewer, "out-of-band confirmation")
    channel.get_by_role("button", name="Record the confirmation").click()
    flash(reviewer, "The agency's confirmation is on the record.")
    expect(reviewer.get_by_role("region", name="No second channel")).to_contain_text(
        "Selin Aksoy")
    reviewer.get_by_role("button", name="Action the request").click()
    flash(reviewer, "The request is actioned.")
    assert people.dialogs[-1].startswith("Action this request?"), people.dialogs
    expect(heading(reviewer)).to_contain_text("Actioned")
    seen(reviewer, "request actioned")

    # 9d. Actioned: the request leaves the running clocks and awaits closing.
    liaison.reload()
    expect(liaison.get_by_role("region", name="Running clocks")
           .get_by_role("link", name=reference, exact=True)).to_have_count(0)
    expect(liaison.get_by_text("No clock is running: every request has been answered.")
           ).to_be_visible()
    expect(liaison.get_by_role("region", name="Actioned, awaiting close")
           .get_by_role("row").filter(has_text=reference)).to_contain_text("Complied")
    seen(liaison, "dashboard after actioning")

    # 7. The official sees the outcome and disputes it.
    official.reload()
    expect(official.locator(".status-line")).to_contain_text("Actioned")
    expect(official.locator(".status-line")).to_contain_text("Complied")
    expect(deadline_row(official, "Resolution")).to_contain_text("Missed")
    expect(official.get_by_role("link", name="Withheld (1,178)")).to_be_visible()
    expect(official.get_by_role("region", name="Targets and decisions")
           .get_by_role("row").nth(1)).to_contain_text("TR")
    expect(official.get_by_role("region", name="The request")).not_to_contain_text(
        "not yet: when the review begins")
    official.locator("summary", has_text="Dispute the outcome").click()
    official.get_by_label("What you contest, and why").fill(
        "The first hundred accounts are the organisers' own: suspend them, do not only "
        "withhold them.")
    seen(official, "official disputes the outcome")
    official.get_by_role("button", name="Dispute the outcome").click()
    flash(official, "Your dispute was recorded. A reviewer will answer.")
    expect(official.locator(".status-line")).to_contain_text("Disputed")

    # 9e. The dispute answer's clock starts running.
    liaison.reload()
    expect(clock_row(liaison, reference, "Dispute answer")).to_contain_text("On track")
    expect(clock_row(liaison, reference, "Dispute answer")).to_contain_text("Disputed")
    expect(liaison.get_by_role("region", name="Actioned, awaiting close")
           .get_by_role("link", name=reference, exact=True)).to_have_count(0)
    seen(liaison, "dashboard during the dispute")

    # 8. The reviewer suspends a page of accounts and revises the outcome.
    go_to(reviewer, "Review queue")
    reviewer.get_by_role("link", name=re.compile(r"^Mine")).click()
    reviewer.get_by_role("link", name=reference, exact=True).click()
    expect(heading(reviewer)).to_contain_text("Disputed")
    reviewer.wait_for_load_state("load")  # portal.js (deferred) ticks the boxes
    reviewer.get_by_label("Select every item on this page").check()
    expect(reviewer.locator('input[name="item"]:checked')).to_have_count(100)
    reviewer.get_by_label("Decision", exact=True).select_option(label="Account suspended")
    reviewer.get_by_label("Suspended until").fill("2030-01-01T00:00")
    reviewer.get_by_label("Explanation", exact=True).fill(
        "Organisers' accounts, per the dispute.")
    reviewer.get_by_role("button", name="Apply to the selected items").click()
    flash(reviewer, "100 items decided: Account suspended.")
    expect(reviewer.get_by_role("region", name="Items")).to_contain_text("Account suspended: 100")
    reviewer.get_by_role("button", name="Revise the outcome").click()
    flash(reviewer, "The outcome is revised.")
    expect(heading(reviewer)).to_contain_text("Actioned")
    seen(reviewer, "outcome revised")

    # 9f. The dispute is answered: its clock stops and the request awaits closing again.
    liaison.reload()
    expect(liaison.get_by_role("region", name="Running clocks")
           .get_by_role("link", name=reference, exact=True)).to_have_count(0)
    expect(liaison.get_by_role("region", name="Actioned, awaiting close")
           .get_by_role("link", name=reference, exact=True)).to_be_visible()
    seen(liaison, "dashboard after the revision")

    # The official sees the revised decisions and the whole story on the record.
    official.reload()
    expect(official.locator(".status-line")).to_contain_text("Actioned")
    expect(official.get_by_role("link", name="Account suspended (100)")).to_be_visible()
    expect(official.get_by_role("link", name="Withheld (1,078)")).to_be_visible()
    timeline = official.get_by_role("region", name="What happened")
    for entry in ("Legal review began", "The platform asked for information",
                  "The agency answered", "Actioned", "Disputed by the agency",
                  "Decisions revised after the dispute"):
        expect(timeline.get_by_text(entry, exact=True).first).to_be_visible()
    seen(official, "official sees the revised outcome")

    # The official was told of the question, the outcome and the revision (the header's
    # unread count), and downloads the decisions: one row per target, the revised ones too.
    expect(official.locator("header .notices-link")).to_have_text("Notifications 3 unread")
    with official.expect_download() as download:
        official.get_by_role("link", name="Download the decisions (CSV)").click()
    rows = list(csv.reader(io.StringIO(
        Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1 + 1178
    decided = Counter(row[4] for row in rows[1:])
    assert decided == {"withheld": 1078, "account_suspended": 100}
    people.assert_no_page_problems()
