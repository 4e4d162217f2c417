"""The platform liaison's pages: the SLA dashboard and its bands, closing actioned
requests, compliance per jurisdiction and policy, the CSV export, and who may see them."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import LegalRequest, SlaClock
from portal.models.columns import utcnow
from portal.services import accounts, alerts, dashboard, lifecycle, reports
from portal.services.actors import Actor
from portal.services.filing import file_request
from portal.services.request_filters import RequestFilters
from tests.conftest import sign_in
from tests.factories import NOW, World, count_statements, filing, make_agency, make_user

ROW = re.compile(r'<tr class="row-(\w+)">\s*<th scope="row"><a href="/review/requests/'
                 r'([A-Z]{2}-\d{4}-\d{6})"')
COUNT = re.compile(r'class="badge band-(\w+)" href="[^"]*"[^>]*>[^<]*: <strong>(\d+)</strong>')


# Every test here runs with the default SLA policies (the shared ``world`` has none).
pytestmark = pytest.mark.usefixtures("policies")


def text(response) -> str:
    return response.get_data(as_text=True)


def fresh(reference: str) -> LegalRequest:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(LegalRequest).where(LegalRequest.reference == reference)).one()


def rows(html: str) -> list[tuple[str, str]]:
    """(band, reference) of each dashboard row, in order."""
    return ROW.findall(html)


def counts(html: str) -> dict[str, int]:
    return {band: int(n) for band, n in COUNT.findall(html)}


def reviewed(world: World, *, hours_ago: float, **fields: object) -> LegalRequest:
    """A request under review since it arrived ``hours_ago`` (its acknowledge clock is
    stopped, so only the resolve clock runs)."""
    when = utcnow() - timedelta(hours=hours_ago)
    req = world.file(now=when, **fields)
    world.to_review(req.reference, when)
    return req


# -- the SLA dashboard ------------------------------------------------------------------

def test_dashboard_bands_at_different_times(world, client):
    # Turkish requests under Law 5651: four hours to resolve, wall clock.
    on_track = reviewed(world, hours_ago=0.5)  # 12 % used
    half = reviewed(world, hours_ago=2.2)  # 55 %
    three_quarters = reviewed(world, hours_ago=3.1)  # 78 %
    ninety = reviewed(world, hours_ago=3.7)  # 93 %
    breached = reviewed(world, hours_ago=5)  # 125 %
    # Personal rights (Add. Art. 4, 48 h): a clock that pauses for a question, which
    # Arts. 8 and 8/A never do.
    paused = reviewed(world, hours_ago=1, category="defamation")
    lifecycle.fire(world.actor("reviewer"), paused.reference, "request_info",
                   inputs={"question": "Which court?"},
                   now=utcnow() - timedelta(minutes=30))
    world.actioned(now=utcnow() - timedelta(hours=1))  # answered: no running clock
    sign_in(client, world.liaison)
    page = text(client.get("/liaison/"))
    assert rows(page) == [
        ("breached", breached.reference), ("90", ninety.reference),
        ("75", three_quarters.reference), ("50", half.reference),
        ("on_track", on_track.reference), ("paused", paused.reference),
    ]
    assert counts(page) == {"breached": 1, "90": 1, "75": 1, "50": 1, "on_track": 1,
                            "paused": 1}
    for words in ("Breached", "90% of the time used", "75% of the time used",
                  "50% of the time used", "On track", "Paused (waiting for the agency)"):
        assert f">{words}</span>" in page  # every band says it in words, not only colour
    assert page.count("data-due=") == 6
    only = text(client.get("/liaison/", query_string={"band": "75"}))
    assert rows(only) == [("75", three_quarters.reference)]
    assert counts(only)["breached"] == 1  # the counts stay, whatever band is shown


def test_band_counts_agree_with_each_rows_standing(world, client):
    # Received requests also run a business-hours acknowledgement clock (platform
    # default, Turkish calendar): the counts must read it as the rows do.
    now = utcnow()
    for n, hours in enumerate((0.2, 2, 7, 20, 30, 50, 80, 130)):
        world.file([f"@h{n}"], now=now - timedelta(hours=hours))
    file_request(world.actor("stranger"), filing(["@in"]), now=now - timedelta(hours=20))
    sign_in(client, world.liaison)
    page = text(client.get("/liaison/"))
    shown = Counter(band for band, _ in rows(page))
    assert sum(shown.values()) == 18
    assert {band: n for band, n in counts(page).items() if n} == dict(shown)


def test_band_counts_match_the_clock_readings_hour_by_hour(world):
    """The counts come from the database (threshold times), the rows from
    reports.clock_statuses: they must agree at every moment, for wall-clock and
    business-hours clocks, running, paused and breached."""
    saudi = make_agency("SA")  # Friday-Saturday weekend, platform default: business days
    saudi_official = Actor.of(make_user("agency_official", saudi))
    for n, (hours, fields) in enumerate([
        (0, {}), (3, {"priority": "emergency"}), (20, {"priority": "standard"}),
        (50, {"category": "fraud"}),
    ]):
        world.file([f"@tr{n}"], now=NOW + timedelta(hours=hours), **fields)
        file_request(saudi_official, filing([f"@sa{n}"], **fields),
                     now=NOW + timedelta(hours=hours))
    paused = world.file(["@p"], now=NOW + timedelta(hours=1), category="privacy")
    world.to_review(paused.reference, NOW + timedelta(hours=1))
    lifecycle.fire(world.actor("reviewer"), paused.reference, "request_info",
                   inputs={"question": "?"}, now=NOW + timedelta(hours=2))
    seen: set[str] = set()
    for step in range(0, 24 * 8, 3):
        at = NOW + timedelta(hours=step, minutes=17)
        if step % 2:  # the sweep runs now and then: clocks with thresholds fired, or not
            alerts.sweep(at)
        page, counted = dashboard.sla_dashboard(world.actor("liaison"),
                                                filters=RequestFilters(), page=1,
                                                now=at, size=100)
        read = Counter(row.clock.band.value for row in page.rows)
        assert {b: n for b, n in counted.items() if n} == dict(read), at
        seen |= set(read)
    assert seen == {"on_track", "50", "75", "90", "breached", "paused"}


def test_dashboard_pages_walk_running_then_paused_clocks(world):
    for n in range(3):
        reviewed(world, hours_ago=0.3 * (n + 1))
    for n in range(2):
        req = reviewed(world, hours_ago=0.3 * (n + 1), category="defamation")
        lifecycle.fire(world.actor("reviewer"), req.reference, "request_info",
                       inputs={"question": "?"})
    actor, now = world.actor("liaison"), utcnow()

    def listing(size: int, page: int, band: str | None = None) -> list[tuple[str, str]]:
        found, _ = dashboard.sla_dashboard(actor, filters=RequestFilters(), band=band,
                                           page=page, now=now, size=size)
        return [(row.request.reference, row.clock.band.value) for row in found.rows]

    whole = listing(50, 1)
    assert [band for _, band in whole] == ["on_track"] * 3 + ["paused"] * 2
    for size in (1, 2, 3):
        assert [r for p in range(1, 7) for r in listing(size, p)] == whole, size
    assert [r for p in range(1, 4) for r in listing(1, p, "paused")] == whole[3:]


def test_dashboard_filters(world, client):
    fraud = reviewed(world, hours_ago=1, category="fraud", priority="standard")
    mine = reviewed(world, hours_ago=1)
    indian = file_request(world.actor("stranger"), filing(["@x"]),
                          now=utcnow() - timedelta(hours=1))
    other_reviewer = make_user("legal_reviewer")
    lifecycle.fire(Actor.of(other_reviewer), indian.reference, "begin_review")
    sign_in(client, world.liaison)

    def refs(**args: object) -> set[str]:
        return {ref for _, ref in rows(text(client.get("/liaison/", query_string=args)))}

    assert refs(category="fraud") == {fraud.reference}
    assert refs(priority="urgent") == {mine.reference, indian.reference}
    assert refs(jurisdiction="in") == {indian.reference}
    assert refs(agency=world.other_agency.id) == {indian.reference}
    assert refs(reviewer=world.reviewer.id) == {fraud.reference, mine.reference}
    assert refs(reviewer=other_reviewer.id) == {indian.reference}
    assert "No running clock matches these filters." in text(
        client.get("/liaison/", query_string={"category": "terrorism"}))
    wrong = text(client.get("/liaison/", query_string={"agency": "999", "band": "nope"}))
    assert "Not a valid choice" in wrong and len(rows(wrong)) == 3


def test_dashboard_fragment_for_the_refresh(world, client):
    req = reviewed(world, hours_ago=1)
    sign_in(client, world.liaison)
    full = text(client.get("/liaison/", query_string={"category": "disinformation"}))
    assert 'data-refresh-url="/liaison/?category=disinformation&amp;fragment=1"' in full
    assert "js/liaison.js" in full and "<script>" not in full
    fragment = client.get("/liaison/", query_string={"category": "disinformation",
                                                     "fragment": 1})
    assert fragment.headers["X-Fragment"] == "sla-dashboard"
    body = text(fragment)
    assert "<html" not in body and req.reference in body
    assert "fragment" not in re.sub(r'data-refresh-url="[^"]*"', "", body)


def test_empty_dashboard_says_so(world, client):
    sign_in(client, world.liaison)
    page = text(client.get("/liaison/"))
    assert "No clock is running: every request has been answered." in page
    assert "No actioned request is waiting to be closed." in page


def test_dashboard_pages(world, client):
    for n in range(26):  # 26 received requests: 52 running clocks
        world.file([f"@p{n}"], now=utcnow() - timedelta(minutes=n + 1))
    sign_in(client, world.liaison)
    first = text(client.get("/liaison/"))
    second = text(client.get("/liaison/", query_string={"page": 2}))
    assert len(rows(first)) == 50 and len(rows(second)) == 2
    assert "Running clocks: 52, the most urgent first" in first
    assert 'rel="next"' in first and "Last page" in first and 'rel="prev"' not in first
    # The last page, read backwards from the end, ends with page 2's rows; its "previous"
    # link starts the page before its first row.
    last = text(client.get("/liaison/", query_string={"page": "last"}))
    assert len(rows(last)) == 50 and rows(last)[-2:] == rows(second)
    assert rows(last)[:48] == rows(first)[2:]
    assert 'rel="prev"' in last and 'rel="next"' not in last


# -- closing actioned requests ----------------------------------------------------------

def test_actioned_requests_awaiting_close_can_be_closed(world, client):
    req = world.actioned(now=utcnow() - timedelta(hours=3))
    sign_in(client, world.liaison)
    page = text(client.get("/liaison/"))
    assert "1 actioned request can be closed" in page and req.reference in page
    version = fresh(req.reference).version
    response = client.post(f"/liaison/requests/{req.reference}/close",
                           data={"version": version})
    assert response.headers["Location"].endswith("#awaiting-close")
    after = fresh(req.reference)
    assert (after.state.value, after.resolution.value) == ("closed", "complied")
    assert f"{req.reference} is closed." in text(client.get("/liaison/"))
    again = client.post(f"/liaison/requests/{req.reference}/close",
                        data={"version": after.version}, follow_redirects=True)
    assert "This cannot be done while the request is “Closed”." in text(again)


def test_closing_from_a_stale_page_is_a_conflict(world, client):
    req = world.actioned(now=utcnow() - timedelta(hours=3))
    stale = fresh(req.reference).version
    lifecycle.fire(world.actor("official"), req.reference, "dispute",
                   inputs={"reason": "wrong account"})
    sign_in(client, world.liaison)
    response = client.post(f"/liaison/requests/{req.reference}/close",
                           data={"version": stale}, follow_redirects=True)
    assert "changed by someone else in the meantime" in text(response)
    assert fresh(req.reference).state.value == "disputed"


def test_close_needs_a_version_and_a_request(world, client):
    req = world.actioned()
    sign_in(client, world.liaison)
    assert client.post(f"/liaison/requests/{req.reference}/close").status_code == 400
    assert client.post("/liaison/requests/TR-2026-999999/close",
                       data={"version": 1}).status_code == 404


def test_liaison_sees_close_on_the_review_page_too(world, client):
    req = world.actioned()
    sign_in(client, world.liaison)
    page = text(client.get(f"/review/requests/{req.reference}"))
    assert f'action="/liaison/requests/{req.reference}/close"' in page


# -- compliance -------------------------------------------------------------------------

def compliance_world(world: World) -> dict[str, str]:
    """A met, a late and an overdue-open resolve deadline (4 h each), plus others that do
    not count: one still within its deadline and one paused."""
    now = utcnow()

    def answered(received_hours_ago: float, actioned_hours_ago: float) -> str:
        received = now - timedelta(hours=received_hours_ago)
        req = world.file(now=received)
        world.to_review(req.reference, received)
        world.decide_all(req.reference, now=received)
        lifecycle.fire(world.actor("reviewer"), req.reference, "action",
                       now=now - timedelta(hours=actioned_hours_ago))
        return req.reference

    met = answered(10, 9)  # 1 h to action
    late = answered(10, 2)  # 8 h to action
    overdue = world.file(now=now - timedelta(hours=6)).reference
    world.file(now=now - timedelta(hours=1))
    paused = reviewed(world, hours_ago=5, category="defamation")
    lifecycle.fire(world.actor("reviewer"), paused.reference, "request_info",
                   inputs={"question": "?"}, now=now - timedelta(hours=4))
    return {"met": met, "late": late, "overdue": overdue}


def test_compliance_numbers_per_jurisdiction_and_policy(world, client):
    compliance_world(world)
    sign_in(client, world.liaison)
    page = text(client.get("/liaison/compliance"))
    row = page[page.index('<th scope="row">TR</th>'):]
    row = row[:row.index("</tr>")]
    # The policy by its name (its code is for the CSV and the API), then its source.
    assert "Turkey access-blocking or removal decision under Law 5651 Arts. 8, 8/A" in row
    assert "tr-5651-art8" not in row and "Law No. 5651 Arts. 8, 8/A" in row
    figures = re.findall(r'<td class="numeric">([^<]*)</td>', row)
    # met, breached, open past due, declined, withdrawn, met %, p50, p90 (of 1 h and 8 h)
    assert figures[:8] == ["1", "1", "1", "0", "0", "33%", "4.5", "7.3"]
    assert figures[8] in {"7.6", "7.7"}
    assert '<rect class="met" x="0" y="0" width="33.33"' in row
    assert 'style=' not in page
    assert "of 3 deadlines met" in page


def test_compliance_period_defaults_and_errors(world, client):
    compliance_world(world)
    sign_in(client, world.liaison)
    today = utcnow().date()
    page = text(client.get("/liaison/compliance"))
    assert f'value="{(today - timedelta(days=29)).isoformat()}"' in page
    assert f'value="{today.isoformat()}"' in page
    old = text(client.get("/liaison/compliance",
                          query_string={"start": "2020-01-01", "end": "2020-01-31"}))
    assert "No resolution deadline ended in this period" in old
    wrong = text(client.get("/liaison/compliance",
                            query_string={"start": "2026-02-01", "end": "2026-01-01"}))
    assert "The end date is before the start date." in wrong
    too_long = text(client.get("/liaison/compliance",
                               query_string={"start": "2024-01-01", "end": "2026-01-01"}))
    assert "Choose at most one year at a time." in too_long


def test_csv_export_reads_every_row_whatever_the_batch(world):
    # The export streams through a cursor read a batch at a time: a batch of one row
    # must give the same rows, in the same order, as one batch for all (a cursor that
    # someone else read ahead would lose rows here).
    refs = compliance_world(world)
    start, end = utcnow() - timedelta(days=30), utcnow() + timedelta(minutes=1)
    whole = list(reports.export_rows(world.actor("liaison"), start, end))
    assert sorted(row[0] for row in whole) == sorted(
        refs[k] for k in ("met", "late", "overdue"))
    for batch in (1, 2):
        assert list(reports.export_rows(world.actor("liaison"), start, end,
                                        batch=batch)) == whole


@pytest.mark.parametrize("most", [True, False])
def test_csv_export_gives_the_same_rows_by_either_plan(world, monkeypatch, most):
    # On SQLite the export scans the clocks when the period holds most of them and walks
    # the period's indexes otherwise: the rows and their order must not depend on it.
    refs = compliance_world(world)
    start, end = utcnow() - timedelta(days=30), utcnow() + timedelta(minutes=1)
    monkeypatch.setattr(reports, "_period_holds_most_clocks", lambda *_: most)
    rows = list(reports.export_rows(world.actor("liaison"), start, end))
    assert [row[0] for row in rows] == [refs[k] for k in ("met", "late", "overdue")]


def test_csv_export_scans_only_when_the_period_holds_most_clocks(world):
    compliance_world(world)
    now = utcnow()
    assert reports._period_holds_most_clocks(now - timedelta(days=30), now)
    assert not reports._period_holds_most_clocks(now - timedelta(days=400),
                                                 now - timedelta(days=370))



def test_csv_export_times_are_written_as_isoformat_writes_them(world):
    # The database writes the export's times (the Python formatting was a sixth of a
    # large export): each must read as ``datetime.isoformat`` of the stored UTC time,
    # with microseconds when there are some and without when there are none, and an
    # empty cell for a clock still running.
    whole_second = utcnow().replace(microsecond=0) - timedelta(hours=7)
    fractional = whole_second.replace(microsecond=120034) - timedelta(hours=1)
    refs = [world.file(now=received).reference for received in (whole_second, fractional)]
    start, end = utcnow() - timedelta(days=30), utcnow() + timedelta(minutes=1)
    by_ref = {row[0]: row for row in reports.export_rows(world.actor("liaison"), start, end)}
    for ref, received in zip(refs, (whole_second, fractional), strict=True):
        row = dict(zip(reports.EXPORT_COLUMNS, by_ref[ref], strict=True))
        clock = db.session.scalar(sa.select(SlaClock).where(
            SlaClock.request_id == fresh(ref).id, SlaClock.target == "resolve"))
        assert row["received_at"] == received.isoformat()
        assert row["resolve_due_at"] == clock.due_at.isoformat()
        assert row["stopped_at"] == "" and row["resolution"] == ""
    assert "." not in by_ref[refs[0]][5] and by_ref[refs[0]][5].endswith("+00:00")
    assert by_ref[refs[1]][5].endswith(".120034+00:00")

def test_csv_export_one_row_per_request(world, client):
    refs = compliance_world(world)
    hostile = accounts.create_agency("=HYPERLINK(\"http://evil\")", country="TR",
                                     domain="hostile.gov.example", verified=True,
                                     verified_until=utcnow() + timedelta(days=30))
    official = make_user("agency_official", hostile)
    file_request(Actor.of(official), filing(["@z"]), now=utcnow() - timedelta(hours=7))
    sign_in(client, world.liaison)
    response = client.get("/liaison/compliance.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    by_ref = {r["reference"]: r for r in table}
    assert len(table) == 4
    assert by_ref[refs["met"]]["outcome"] == "met"
    assert by_ref[refs["late"]]["outcome"] == "breached"
    assert by_ref[refs["overdue"]]["outcome"] == "breached"
    assert by_ref[refs["overdue"]]["stopped_at"] == ""
    assert by_ref[refs["met"]]["state"] == "actioned"
    assert by_ref[refs["met"]]["resolution"] == "complied"
    assert by_ref[refs["met"]]["policy"] == "tr-5651-art8"
    assert by_ref[refs["met"]]["category"] == "disinformation"
    hostile_row = next(r for r in table if r["agency"].startswith("'"))
    assert hostile_row["agency"] == "'=HYPERLINK(\"http://evil\")"
    assert list(table[0]) == ["reference", "jurisdiction", "agency", "category", "priority",
                              "received_at", "state", "resolution", "resolve_due_at",
                              "stopped_at", "outcome", "policy", "source"]
    old = client.get("/liaison/compliance.csv",
                     query_string={"start": "2020-01-01", "end": "2020-01-31"})
    assert old.get_data().decode("utf-8-sig").strip() == (
        "reference,jurisdiction,agency,category,priority,received_at,state,resolution,"
        "resolve_due_at,stopped_at,outcome,policy,source")
    assert client.get("/liaison/compliance.csv",
                      query_string={"start": "2026-02-01", "end": "2026-01-01"}
                      ).status_code == 400


#: Agency names (anyone can register one) that hide a formula from one kind of reader or
#: another: at the start, after the other separator, after a line break or a tab.
HOSTILE_NAMES = [
    "=1+1", "+1", "-1", "@SUM(A1)", "\t=2+2", "\r=3+3",
    "Ministry; =HYPERLINK(\"http://evil\")", "Ministry;=cmd|' /C calc'!A0",
    "Ministry, -2+3", "Ministry,@SUM(1)", 'Ministry; "=4+4"', "Ministry\n=5+5",
    "Ministry\r\n+6", "Ministry\t-7", "Ministry ;  =8",
]
FORMULA_STARTS = tuple("=+-@\t\r")


@pytest.mark.parametrize("separator", [",", ";"])
def test_csv_export_runs_no_formula_in_any_cell_for_either_separator(world, client,
                                                                      separator):
    """The export checked only a cell's first character: ``Ministry; =HYPERLINK(…)`` was
    a formula in the second cell for every spreadsheet that splits on semicolons."""
    until = utcnow() + timedelta(days=30)
    for n, name in enumerate(HOSTILE_NAMES):
        agency = accounts.create_agency(name, country="TR", domain=f"h{n}.gov.example",
                                        verified=True, verified_until=until)
        official = make_user("agency_official", agency)
        file_request(Actor.of(official), filing(["@z"]), now=utcnow() - timedelta(hours=7))
    sign_in(client, world.liaison)
    data = client.get("/liaison/compliance.csv").get_data().decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(data, newline=""), delimiter=separator)
             for cell in row]
    assert len(cells) > len(HOSTILE_NAMES)
    runs = [cell for cell in cells if cell.lstrip(' "').startswith(FORMULA_STARTS)]
    assert runs == [], f"cells a {separator!r} reader runs as formulas: {runs}"
    if separator == ",":
        # Our own separator: every name comes back whole, each formula start marked.
        agencies = {row["agency"] for row in csv.DictReader(io.StringIO(data, newline=""))}
        assert "'=1+1" in agencies and "Ministry; '=HYPERLINK(\"http://evil\")" in agencies
        assert "Ministry\n'=5+5" in agencies and "Ministry, '-2+3" in agencies


def test_csv_export_streams_in_batches(world, client, monkeypatch):
    from portal.liaison import views

    monkeypatch.setattr(views, "CSV_CHUNK_ROWS", 2)
    refs = compliance_world(world)
    sign_in(client, world.liaison)
    response = client.get("/liaison/compliance.csv")
    chunks = [chunk for chunk in response.response if chunk]
    assert len(chunks) >= 2
    assert len(b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
               .decode("utf-8-sig").strip().splitlines()) == 1 + len(refs)


# -- who may see what -------------------------------------------------------------------

def liaison_routes(reference: str) -> list[tuple[str, str]]:
    return [("GET", "/liaison/"), ("GET", "/liaison/?fragment=1"),
            ("GET", "/liaison/compliance"), ("GET", "/liaison/compliance.csv"),
            ("POST", f"/liaison/requests/{reference}/close")]


@pytest.mark.parametrize("who", ["official", "stranger", "reviewer"])
def test_only_liaisons_and_admins_see_liaison_pages(world, client, who):
    req = world.actioned()
    sign_in(client, getattr(world, who))
    for method, url in liaison_routes(req.reference):
        assert client.open(url, method=method, data={"version": 1}).status_code == 403, url
    assert fresh(req.reference).state.value == "actioned"


def test_admins_view_but_do_not_close(world, client):
    req = world.actioned()
    sign_in(client, world.admin)
    for _method, url in liaison_routes(req.reference)[:4]:
        assert client.get(url).status_code == 200, url
    assert 'action="/liaison/requests/' not in text(client.get("/liaison/"))
    assert client.post(f"/liaison/requests/{req.reference}/close",
                       data={"version": 1}).status_code == 403


# -- query counts -----------------------------------------------------------------------

def test_dashboard_queries_do_not_grow_with_rows(world, client):
    def file(n: int) -> None:
        for i in range(n):  # received: an acknowledge and a resolve clock each
            world.file([f"@d{i}"], now=utcnow() - timedelta(minutes=i + 1))
        world.actioned([f"@a{n}"])

    sign_in(client, world.liaison)
    file(3)  # 6 clock rows
    with count_statements() as few:
        assert len(rows(text(client.get("/liaison/")))) == 6
    file(22)  # 50 clock rows
    with count_statements() as many:
        assert len(rows(text(client.get("/liaison/")))) == 50
    assert len(few) == len(many)
    # The page's own statements and the header's unread-notice count (every page has it).
    assert len(many) <= 11, many


def test_csv_export_writes_each_time_as_isoformat_in_utc(world, client):
    """The export writes times the database formats (no datetime per cell): they must
    read as ``datetime.isoformat`` writes them, with microseconds only when there are."""
    from portal.models import SlaClock

    refs = compliance_world(world)
    exact = world.file(now=NOW.replace(microsecond=0) - timedelta(days=400))
    sign_in(client, world.liaison)
    data = client.get("/liaison/compliance.csv").get_data().decode("utf-8-sig")
    rows = {row["reference"]: row for row in csv.DictReader(io.StringIO(data, newline=""))}
    assert set(refs.values()) <= set(rows) and exact.reference in rows
    for reference, row in rows.items():
        req = db.session.scalar(sa.select(LegalRequest).where(LegalRequest.reference == reference))
        clock = db.session.scalar(sa.select(SlaClock).where(
            SlaClock.request_id == req.id, SlaClock.target == "resolve"))
        assert row["received_at"] == req.received_at.isoformat()
        assert row["resolve_due_at"] == clock.due_at.isoformat()
        assert row["stopped_at"] == (clock.stopped_at.isoformat() if clock.stopped_at else "")
    assert rows[exact.reference]["received_at"].endswith(":00+00:00")
    assert "." in rows[refs["met"]]["received_at"]
