"""Urgent requests that may come from a hijacked mailbox: flags from the account's and the
agency's history, a second channel told of every urgent request, and an out-of-band
confirmation where there is none."""

from __future__ import annotations

import email
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from portal.extensions import db
from portal.models import (
    AccountHistory,
    AgencyHistory,
    Event,
    LegalRequest,
    Notification,
    OutOfBandConfirmation,
    UserNetwork,
)
from portal.services import (
    agencies,
    audit_verify,
    decisions,
    lifecycle,
    outbox,
    safeguards,
    signin,
    tokens,
)
from portal.services.actors import Actor
from portal.services.errors import Conflict, Forbidden, ValidationFailed
from portal.services.filing import file_request
from tests.conftest import sign_in
from tests.factories import NOW, count_statements, filing, make_agency, make_user
from workflows.request_flow import GuardFailed

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
FIREFOX_NEXT = "Mozilla/5.0 (X11; Linux x86_64; rv:134.0) Gecko/20100101 Firefox/134.0"
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Chrome/131.0.0.0 Safari/537.36")
HOME_IP, AWAY_IP = "198.51.100.7", "203.0.113.9"


class Agency:
    """A Turkish agency with a veteran official, a colleague and a record of three
    disinformation requests (one urgent) the platform acted on a month ago, filed from the
    veteran's office network with Firefox at 13:00 Istanbul time."""

    def __init__(self) -> None:
        self.agency = make_agency("TR")
        self.veteran = make_user("agency_official", self.agency)
        self.colleague = make_user("agency_official", self.agency)
        self.reviewer = make_user("legal_reviewer")
        self.veteran.created_at = self.colleague.created_at = NOW - timedelta(days=400)
        db.session.commit()
        for n, priority in enumerate(["urgent", "standard", "standard"]):
            self.act_on(self.file(f"@old{n}", priority=priority, at=NOW - timedelta(days=30)))
        # Only what the filings below queue is looked at.
        db.session.execute(sa.delete(Notification))
        db.session.commit()

    def actor(self, user=None, *, ip: str = HOME_IP, agent: str | None = FIREFOX) -> Actor:
        return Actor.of(user or self.veteran, ip_address=ip, user_agent=agent)

    def file(self, target: str = "@x", *, by: Actor | None = None, at=NOW,
             **fields: object) -> LegalRequest:
        req = file_request(by or self.actor(), filing([target], **fields), now=at)
        return db.session.get(LegalRequest, req.id)

    def act_on(self, req: LegalRequest, *, at=None) -> LegalRequest:
        at = at or req.received_at
        staff = Actor.of(self.reviewer)
        lifecycle.fire(staff, req.reference, "begin_review", now=at)
        decisions.decide_items(staff, req.reference, decision="removed", all_pending=True,
                               now=at)
        return lifecycle.fire(staff, req.reference, "action", now=at)


@pytest.fixture
def world(app) -> Agency:
    return Agency()


def mails_for(req: LegalRequest) -> list[Notification]:
    """The second channel's mails about ``req`` (staff are told of every request too, by
    the notifications: tests/functional/test_notifications.py)."""
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.request_id == req.id, Notification.channel == "email",
        Notification.template.like("urgent_request_%"))
        .order_by(Notification.id)))


# -- the attack -------------------------------------------------------------------------

def test_standard_withdrawn_then_emergency_a_day_later_from_the_new_network(world, client):
    """The reported attack: sign in from a new network, file a standard request in the
    category wanted and withdraw it, wait a day, then file the emergency. Before the fix
    it carried no flag, mailed nobody and showed no badge."""
    away = world.actor(ip=AWAY_IP)
    warm_up = NOW - timedelta(days=1, hours=1)
    signin.record_network(world.veteran, AWAY_IP, now=warm_up)
    first = world.file("@warm", by=away, at=warm_up, priority="standard",
                       category="terrorism")
    lifecycle.fire(away, first.reference, "withdraw", inputs={"reason": "typo"}, now=warm_up)

    req = world.file("@target", by=away, priority="emergency", category="terrorism")

    assert req.risk_flags == ["new_category", "new_network"]
    assert [m.recipient for m in mails_for(req)] == [world.colleague.email]
    sign_in(client, world.reviewer)
    queue = client.get("/review/?tab=open").get_data(as_text=True)
    row = queue[queue.index(req.reference):].split("</tr>")[0]
    assert "Check first" in row


def test_the_attack_through_the_api_carries_the_network_and_browser_it_came_from(
        world, client):
    token = tokens.create_token(world.veteran, "t", scopes=["file", "act"])[1]
    away = {"REMOTE_ADDR": AWAY_IP}
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "curl/8.5.0"}
    body = {"category": "terrorism", "priority": "standard", "issuing_authority": "BTK",
            "requested_action": "remove", "legal_basis": {"statute": "Law No. 5651"},
            "items": [{"target": "@warm"}]}
    first = client.post("/api/v1/requests", json=body, headers=headers, environ_base=away)
    client.post(f"/api/v1/requests/{first.json['reference']}/actions/withdraw",
                json={"reason": "typo"}, headers=headers, environ_base=away)
    second = client.post("/api/v1/requests", json={**body, "priority": "emergency",
                                                   "items": [{"target": "@target"}]},
                         headers=headers, environ_base=away)
    req = db.session.scalar(sa.select(LegalRequest).where(
        LegalRequest.reference == second.json["reference"]))
    assert req.risk_flags == ["new_category", "new_network", "new_device"]
    assert (req.filed_network, req.filed_device) == ("203.0.113.0/24", "curl")
    assert [m.recipient for m in mails_for(req)] == [world.colleague.email]


def test_a_withdrawn_request_warms_up_nothing_even_in_the_usual_category(world):
    away = world.actor(ip=AWAY_IP, agent=CHROME_WINDOWS)
    warm_up = NOW - timedelta(days=1)
    for priority in ("standard", "urgent"):
        first = world.file(f"@warm_{priority}", by=away, at=warm_up, priority=priority)
        lifecycle.fire(away, first.reference, "withdraw", inputs={"reason": "x"}, now=warm_up)
    req = world.file(by=away, priority="urgent")
    assert req.risk_flags == ["new_network", "new_device"]


def test_an_open_or_declined_request_is_not_history_either(world):
    away = world.actor(ip=AWAY_IP)
    pending = world.file("@open", by=away, at=NOW - timedelta(days=2), priority="standard")
    declined = world.file("@declined", by=away, at=NOW - timedelta(days=2),
                          priority="standard")
    staff = Actor.of(world.reviewer)
    lifecycle.fire(staff, declined.reference, "begin_review", now=NOW - timedelta(days=2))
    lifecycle.fire(staff, declined.reference, "decline", inputs={"reason": "not unlawful",
                                                              "no_action_reason": "not_unlawful"},
                   now=NOW - timedelta(days=2))
    assert pending.state.value == "received"
    assert world.file(by=away, priority="urgent").risk_flags == ["new_network"]


def test_a_request_the_platform_acted_on_makes_its_network_familiar(world):
    away = world.actor(ip=AWAY_IP)
    world.act_on(world.file("@ok", by=away, at=NOW - timedelta(days=2), priority="standard"))
    assert world.file(by=away, priority="urgent").risk_flags == []


# -- each flag --------------------------------------------------------------------------

def test_a_usual_urgent_request_is_not_flagged_but_still_told(world):
    req = world.file(priority="urgent")
    assert req.risk_flags == []
    assert [m.recipient for m in mails_for(req)] == [world.colleague.email]
    assert req.second_channel_notices == 1


def test_standard_priority_is_never_flagged_nor_mailed(world):
    newcomer = make_user("agency_official", world.agency)
    req = world.file(by=world.actor(newcomer, ip=AWAY_IP), priority="standard",
                     category="terrorism")
    assert req.risk_flags == [] and req.second_channel_notices is None
    assert mails_for(req) == []


def test_a_new_account_filing_its_first_urgent_request(world):
    newcomer = make_user("agency_official", world.agency)
    newcomer.created_at = NOW - timedelta(days=2)
    db.session.commit()
    req = world.file(by=world.actor(newcomer), priority="emergency")
    assert req.risk_flags == ["new_user", "first_urgent"]


def test_an_old_account_that_never_had_an_urgent_request_acted_on(world):
    # The colleague filed standard requests only; none of its urgent ones was acted on.
    colleague = world.actor(world.colleague)
    world.act_on(world.file("@std", by=colleague, at=NOW - timedelta(days=5),
                            priority="standard"))
    world.file("@open_urgent", by=colleague, at=NOW - timedelta(days=4), priority="urgent")
    assert world.file(by=colleague, priority="urgent").risk_flags == ["first_urgent"]


@pytest.mark.parametrize(("days_ago", "flagged"), [(30, False), (89, False), (91, True)])
def test_the_first_request_of_its_category_in_90_days(app, days_ago, flagged):
    world = Agency()
    world.act_on(world.file("@fraud", at=NOW - timedelta(days=days_ago), category="fraud",
                            priority="standard"))
    req = world.file(priority="urgent", category="fraud")
    assert ("new_category" in req.risk_flags) is flagged


def test_a_new_device_family_is_flagged_and_a_new_version_is_not(world):
    assert world.file("@a", by=world.actor(agent=FIREFOX_NEXT),
                      priority="urgent").risk_flags == []
    assert world.file("@b", by=world.actor(agent=CHROME_WINDOWS),
                      priority="urgent").risk_flags == ["new_device"]
    # Leaving the header out is a device of its own, not a way around the check.
    assert world.file("@c", by=world.actor(agent=None),
                      priority="urgent").risk_flags == ["new_device"]


def test_signing_in_from_a_network_does_not_make_it_familiar(world):
    db.session.add(UserNetwork(user_id=world.veteran.id, network="203.0.113.0/24",
                               first_seen=NOW - timedelta(days=300), last_seen=NOW))
    db.session.commit()
    assert world.file(by=world.actor(ip=AWAY_IP), priority="urgent").risk_flags == [
        "new_network"]


def _history_of_office_hours(world: Agency, count: int) -> None:
    """``count`` acted-on filings at 13:00 Istanbul time (10:00 UTC) on past days."""
    for n in range(count):
        world.act_on(world.file(f"@day{n}", at=NOW - timedelta(days=n + 1),
                                priority="standard"))


@pytest.mark.parametrize(("hour_utc", "history", "flagged"), [
    (0, 20, True),     # 03:00 in Istanbul, 20 filings all at 13:00
    (10, 20, False),   # 13:00, the usual hour
    (11, 20, False),   # 14:00, within an hour of it
    (12, 20, True),    # 15:00, two hours off
    (0, 16, False),    # too little history: 16 + the fixture's 3 is under 20
])
def test_filing_outside_the_agencys_usual_hours(app, hour_utc, history, flagged):
    world = Agency()
    _history_of_office_hours(world, history)
    at = NOW.replace(hour=hour_utc)
    req = world.file(at=at, priority="urgent")
    assert ("unusual_hour" in req.risk_flags) is flagged
    hours = dict(db.session.execute(sa.select(AgencyHistory.value, AgencyHistory.filings)
                                    .where(AgencyHistory.kind == "hour")).all())
    assert hours == {"13": history + 3}


@pytest.mark.parametrize(("agent", "family"), [
    (FIREFOX, "Firefox / Linux"),
    (FIREFOX_NEXT, "Firefox / Linux"),
    (CHROME_WINDOWS, "Chrome / Windows"),
    (CHROME_WINDOWS + " Edg/131.0.2903.86", "Edge / Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Mobile Safari / iOS / iPhone"),
    ("python-requests/2.32.3", "Python Requests"),
    (None, "none"),
    ("   ", "none"),
])
def test_device_families(agent, family):
    assert safeguards.device_of(agent) == family


def test_an_unknown_agent_is_fingerprinted_without_its_version_numbers():
    one = safeguards.device_of("Ministry-Filer 1.2 (build 77)")
    assert one.startswith("unknown agent ")
    assert safeguards.device_of("Ministry-Filer 1.3 (build 80)") == one
    assert safeguards.device_of("Other-Tool 1.2 (build 77)") != one


def test_history_counts_a_request_once_when_first_acted_on(world):
    req = world.file(priority="urgent", category="fraud")
    staff = Actor.of(world.reviewer)
    lifecycle.fire(staff, req.reference, "begin_review", now=NOW)
    lifecycle.fire(staff, req.reference, "decline",
                   inputs={"reason": "no", "no_action_reason": "not_unlawful"}, now=NOW)
    fraud = sa.select(AgencyHistory.filings).where(AgencyHistory.value == "fraud")
    assert db.session.scalar(fraud) is None  # declined: not history
    official = world.actor()
    later = NOW + timedelta(minutes=5)
    lifecycle.fire(official, req.reference, "dispute", inputs={"reason": "please"}, now=NOW)
    decisions.decide_items(staff, req.reference, decision="removed", all_pending=False,
                           item_ids=[i.id for i in _items(req)], now=later)
    lifecycle.fire(staff, req.reference, "revise", now=later)
    assert db.session.scalar(fraud) == 1  # acted on after the dispute
    lifecycle.fire(official, req.reference, "dispute", inputs={"reason": "again"}, now=later)
    decisions.decide_items(staff, req.reference, decision="labelled", all_pending=False,
                           item_ids=[i.id for i in _items(req)], now=NOW + timedelta(minutes=10))
    lifecycle.fire(staff, req.reference, "revise", now=NOW + timedelta(minutes=10))
    assert db.session.scalar(fraud) == 1  # once only
    filings = db.session.scalar(sa.select(AccountHistory.filings).where(
        AccountHistory.user_id == world.veteran.id, AccountHistory.kind == "filings"))
    assert filings == 4


@pytest.mark.postgres_only
def test_requests_acted_on_at_the_same_moment_all_count(app):
    world = Agency()
    staff = Actor.of(world.reviewer)
    references = []
    for n in range(8):
        req = world.file(f"@c{n}", priority="standard", category="fraud")
        lifecycle.fire(staff, req.reference, "begin_review", now=NOW)
        decisions.decide_items(staff, req.reference, decision="removed", all_pending=True,
                               now=NOW)
        references.append(req.reference)
    veteran_id = world.veteran.id
    db.session.remove()
    barrier = threading.Barrier(len(references))
    failures: list[BaseException] = []

    def act(reference: str) -> None:
        with app.app_context():
            barrier.wait()
            try:
                lifecycle.fire(staff, reference, "action", now=NOW)
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=act, args=(r,)) for r in references]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    fraud = db.session.scalar(sa.select(AgencyHistory.filings).where(
        AgencyHistory.kind == "category", AgencyHistory.value == "fraud"))
    filings = db.session.scalar(sa.select(AccountHistory.filings).where(
        AccountHistory.user_id == veteran_id, AccountHistory.kind == "filings"))
    assert (fraud, filings) == (8, 3 + 8)


def _items(req: LegalRequest):
    from portal.models import RequestItem

    return db.session.scalars(sa.select(RequestItem).where(RequestItem.request_id == req.id))


def test_checking_a_filing_reads_summary_rows_not_the_agencys_requests(world):
    with count_statements() as statements:
        file_request(world.actor(ip=AWAY_IP), filing(["@x"], priority="urgent"), now=NOW)
    history = [s for s in statements if "_history" in s]
    # The filer's creation date, the account's rows and the agency's in one statement.
    assert len(history) == 1
    assert all(table in history[0] for table in ("FROM users", "FROM account_history",
                                                 "FROM agency_history"))
    scans = [s for s in statements
             if s.lstrip().upper().startswith("SELECT") and "FROM legal_requests" in s]
    assert scans == []



def test_a_filing_reads_the_holiday_overrides_once_and_looks_up_no_clock(world):
    # A filing read the overrides once per calendar (three for a Turkish request) and
    # looked up each new clock's row, which cannot exist yet, flushing each time
    # (3 and 3 such statements before).
    with count_statements() as statements:
        file_request(world.actor(ip=AWAY_IP), filing(["@x"], priority="urgent"), now=NOW)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len([s for s in selects if "FROM holiday_overrides" in s]) == 1
    # The report facts of a request being filed are new and its resolve clock is the one
    # just started: nothing is read back (one clock and one facts read before).
    assert [s for s in selects if "FROM sla_clocks" in s or "FROM request_facts" in s] == []


def test_a_filing_updates_its_request_row_once(world):
    # The request row is inserted, then its digests, second channel, running clocks and
    # audit head are written in one UPDATE at the commit (three UPDATEs before, each
    # forced by an autoflush between two steps).
    with count_statements() as statements:
        file_request(world.actor(ip=AWAY_IP), filing(["@x"], priority="urgent"), now=NOW)
    writes = [s for s in statements if s.lstrip().upper().startswith((
        "INSERT INTO LEGAL_REQUESTS", "UPDATE LEGAL_REQUESTS"))]
    assert [s.split("SET")[0].split()[:3] for s in writes] == [
        ["INSERT", "INTO", "legal_requests"], ["UPDATE", "legal_requests"]]
    # The running clocks are counted before the insert: the update changes no column of
    # an index (on PostgreSQL it can stay a heap-only update).
    assert "running_clocks" not in writes[1]
    req = db.session.scalars(sa.select(LegalRequest).order_by(LegalRequest.id.desc())).first()
    assert req is not None and req.running_clocks == 2


# -- the second channel -----------------------------------------------------------------

def test_colleagues_and_the_focal_point_get_every_urgent_request_in_their_language(
        world, smtp):
    world.colleague.locale = "tr"
    gone = make_user("agency_official", world.agency)
    gone.active = False
    db.session.commit()
    agencies.set_focal_contact(Actor.of(make_user("admin")), world.agency.id,
                               name="Ayşe Demir, Legal Affairs", email="legal@ministry.example",
                               locale="id")
    req = world.file(priority="emergency")  # usual in every way: no flag
    assert req.risk_flags == [] and req.second_channel_notices == 2
    assert outbox.deliver_due(NOW, only=[n.id for n in mails_for(req)]).sent == 2
    by_to = {m["To"]: m for m in smtp.messages}
    assert set(by_to) == {world.colleague.email, "legal@ministry.example"}
    with force_locale("en"):
        english = _("An urgent request was filed in your agency's name — please check it")
    for address, locale in ((world.colleague.email, "tr"), ("legal@ministry.example", "id")):
        message = by_to[address]
        subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
        body = message.get_payload(decode=True).decode()
        with force_locale(locale):
            translated = _("An urgent request was filed in your agency's name — please "
                           "check it")
        assert translated != english and subject == f"[{req.reference}] {translated}"
        assert req.reference in body and world.veteran.email in body
    with force_locale("id"):
        focal_line = _("Dear %(name)s,", name="Ayşe Demir, Legal Affairs")
    assert focal_line in by_to["legal@ministry.example"].get_payload(decode=True).decode()
    # Nothing about the safeguards' reading reaches the agency's mailboxes.
    assert "network" not in by_to[world.colleague.email].get_payload(decode=True).decode()


@pytest.mark.parametrize("locale", ["en", "tr", "hi", "id", "ar"])
@pytest.mark.parametrize("audience", ["colleague", "focal_point"])
def test_the_mail_renders_in_every_language(app, locale, audience):
    note = Notification(
        dedup_key="k", template="urgent_request_filed", recipient="a@b.example", locale=locale,
        next_attempt_at=NOW,
        params={"reference": "TR-2026-000042", "agency": "BTK", "filer": "x@btk.gov.tr",
                "category": "terrorism", "priority": "emergency", "items": 3,
                "at": NOW.isoformat(), "audience": audience, "focal_name": "Ayşe"})
    rendered = outbox.render(note)
    assert rendered.subject.startswith("[TR-2026-000042] ")
    assert "TR-2026-000042" in rendered.body and "%(" not in rendered.body


def test_the_focal_point_is_not_a_second_channel_when_it_is_the_filers_own_mailbox(app):
    agency = make_agency("TR")
    official = make_user("agency_official", agency)
    agencies.set_focal_contact(Actor.of(make_user("admin")), agency.id, name="",
                               email=official.email.upper(), locale="en")
    req = file_request(Actor.of(official), filing(["@x"], priority="urgent"), now=NOW)
    assert db.session.get(LegalRequest, req.id).second_channel_notices == 0


def test_the_focal_contact_is_validated_and_can_be_removed(app):
    agency = make_agency("TR")
    admin = Actor.of(make_user("admin"))
    with pytest.raises(ValidationFailed) as refused:
        agencies.set_focal_contact(admin, agency.id, name="x" * 201, email="not an address",
                                   locale="xx")
    assert {(e.field, e.code) for e in refused.value.errors} == {
        ("email", "invalid"), ("name", "too_long"), ("locale", "choice")}
    db.session.refresh(agency)
    assert agency.focal_contact_email is None
    agencies.set_focal_contact(admin, agency.id, name="Legal", email="Legal@Ministry.example",
                               locale="tr")
    assert (agency.focal_contact_email, agency.focal_contact_locale) == (
        "legal@ministry.example", "tr")
    agencies.set_focal_contact(admin, agency.id, name="Legal", email="", locale="tr")
    assert (agency.focal_contact_email, agency.focal_contact_name) == (None, "")


def test_an_administrator_sets_the_focal_point_on_the_agency_page(app, client):
    agency = make_agency("TR")
    sign_in(client, make_user("admin"))
    page = client.post(f"/admin/agencies/{agency.id}/focal-contact",
                       data={"contact-name": "Legal", "contact-email": "nope",
                             "contact-locale": "tr"})
    assert page.status_code == 200 and "valid e-mail address" in page.get_data(as_text=True)
    done = client.post(f"/admin/agencies/{agency.id}/focal-contact",
                       data={"contact-name": "Legal", "contact-email": "legal@m.example",
                             "contact-locale": "tr"}, follow_redirects=True)
    assert "legal@m.example" in done.get_data(as_text=True)
    db.session.refresh(agency)
    assert agency.focal_contact_email == "legal@m.example"


# -- no second channel: out-of-band confirmation ----------------------------------------

@pytest.fixture
def lonely(app):
    """An agency with one official and no focal point, and an urgent request of it in
    review with every item decided."""
    agency = make_agency("TR")
    official = make_user("agency_official", agency)
    reviewer = make_user("legal_reviewer")
    req = file_request(Actor.of(official), filing(["@a", "@b"], priority="urgent"),
                       now=NOW - timedelta(hours=1))
    staff = Actor.of(reviewer)
    lifecycle.fire(staff, req.reference, "begin_review", now=NOW - timedelta(hours=1))
    decisions.decide_items(staff, req.reference, decision="removed", all_pending=True,
                           now=NOW - timedelta(hours=1))
    return db.session.get(LegalRequest, req.id), official, reviewer


def confirmation(**fields: object) -> safeguards.Confirmation:
    values: dict[str, object] = {
        "confirmed_by": "Mehmet Yılmaz, head of legal affairs", "channel": "phone",
        "confirmed_at": NOW - timedelta(minutes=10),
        "note": "Called the ministry switchboard (number from its official site)."}
    values.update(fields)
    return safeguards.Confirmation(**values)  # type: ignore[arg-type]


def test_no_second_channel_refuses_action_until_confirmed_out_of_band(lonely):
    req, _official, reviewer = lonely
    assert req.second_channel_notices == 0 and mails_for(req) == []
    staff = Actor.of(reviewer)
    with pytest.raises(GuardFailed) as refused:
        lifecycle.fire(staff, req.reference, "action", now=NOW)
    assert refused.value.guard == "out_of_band_confirmed"
    blocked = {o.trigger: o.refusal for o in lifecycle.options(staff, req, NOW)}
    assert blocked["action"].guard == "out_of_band_confirmed"

    record = safeguards.confirm_out_of_band(staff, req.reference, confirmation(), now=NOW)
    assert record.recorded_by_id == reviewer.id
    event = db.session.scalars(sa.select(Event).where(Event.request_id == req.id)
                               .order_by(Event.seq.desc())).first()
    assert event.kind == "out_of_band_confirmed" and event.payload["channel"] == "phone"
    assert list(audit_verify.verify_all()) == []

    assert lifecycle.fire(staff, req.reference, "action", now=NOW).state.value == "actioned"


def test_revise_needs_the_confirmation_too(lonely):
    req, official, reviewer = lonely
    staff = Actor.of(reviewer)
    decisions.decide_items(staff, req.reference, decision="no_action", reason="not_found",
                           all_pending=False, item_ids=[i.id for i in _items(req)], now=NOW)
    lifecycle.fire(staff, req.reference, "decline",
                   inputs={"reason": "not found", "no_action_reason": "not_found"}, now=NOW)
    lifecycle.fire(Actor.of(official), req.reference, "dispute", inputs={"reason": "look"},
                   now=NOW)
    later = NOW + timedelta(minutes=5)
    decisions.decide_items(staff, req.reference, decision="removed", all_pending=False,
                           item_ids=[i.id for i in _items(req)], now=later)
    with pytest.raises(GuardFailed, match="out-of-band"):
        lifecycle.fire(staff, req.reference, "revise", now=later)
    safeguards.confirm_out_of_band(staff, req.reference, confirmation(), now=later)
    assert lifecycle.fire(staff, req.reference, "revise", now=later).state.value == "actioned"


@pytest.mark.parametrize(("fields", "problem"), [
    ({"confirmed_by": "  "}, ("confirmed_by", "required")),
    ({"note": ""}, ("note", "required")),
    ({"channel": "carrier_pigeon"}, ("channel", "choice")),
    ({"confirmed_at": None}, ("confirmed_at", "required")),
    ({"confirmed_at": NOW.replace(tzinfo=None)}, ("confirmed_at", "invalid")),
    ({"confirmed_at": NOW + timedelta(hours=1)}, ("confirmed_at", "future")),
    ({"confirmed_at": NOW - timedelta(days=2)}, ("confirmed_at", "before_receipt")),
    ({"confirmed_by": "x" * 201}, ("confirmed_by", "too_long")),
])
def test_a_confirmation_is_checked_and_nothing_is_half_saved(lonely, fields, problem):
    req, _official, reviewer = lonely
    with pytest.raises(ValidationFailed) as refused:
        safeguards.confirm_out_of_band(Actor.of(reviewer), req.reference,
                                       confirmation(**fields), now=NOW)
    assert problem in {(e.field, e.code) for e in refused.value.errors}
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutOfBandConfirmation)) == 0
    assert db.session.get(LegalRequest, req.id).out_of_band_confirmed_at is None


def test_who_may_confirm_and_when(lonely, world):
    req, official, reviewer = lonely
    with pytest.raises(Forbidden):
        safeguards.confirm_out_of_band(Actor.of(official), req.reference, confirmation(),
                                       now=NOW)
    with pytest.raises(Forbidden):
        safeguards.confirm_out_of_band(Actor.of(make_user("platform_liaison")),
                                       req.reference, confirmation(), now=NOW)
    staff = Actor.of(reviewer)
    told = world.file(priority="urgent")
    with pytest.raises(Conflict, match="needs no out-of-band"):
        safeguards.confirm_out_of_band(staff, told.reference, confirmation(), now=NOW)
    safeguards.confirm_out_of_band(staff, req.reference, confirmation(), now=NOW)
    with pytest.raises(Conflict, match="already confirmed"):
        safeguards.confirm_out_of_band(staff, req.reference, confirmation(), now=NOW)


def test_the_reviewer_sees_no_second_channel_and_records_the_confirmation(lonely, client):
    req, _official, reviewer = lonely
    sign_in(client, reviewer)
    queue = client.get("/review/?tab=open").get_data(as_text=True)
    assert "No second channel" in queue[queue.index(req.reference):].split("</tr>")[0]
    page = client.get(f"/review/requests/{req.reference}").get_data(as_text=True)
    assert "No second channel" in page and "Record the confirmation" in page

    refused = client.post(f"/review/requests/{req.reference}/actions/action",
                          data={"action-version": req.version}, follow_redirects=True)
    assert "no second channel" in refused.get_data(as_text=True)
    assert db.session.get(LegalRequest, req.id).state.value == "legal_review"

    form = {"oob-version": req.version, "oob-confirmed_by": "Mehmet Yılmaz",
            "oob-channel": "official_mail", "oob-confirmed_at": "2026-11-20T12:50",
            "oob-note": "Wrote to the address on the ministry's website; answered."}
    future = client.post(f"/review/requests/{req.reference}/out-of-band",
                         data={**form, "oob-confirmed_at": "2099-01-01T12:50"})
    assert future.status_code == 422 and "in the future" in future.get_data(as_text=True)
    done = client.post(f"/review/requests/{req.reference}/out-of-band", data=form,
                       follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "confirmation is on the record" in text and "Mehmet Yılmaz" in text
    record = db.session.scalar(sa.select(OutOfBandConfirmation))
    # Read in the reviewer's own time zone (UTC here; see the Istanbul case below).
    assert record.confirmed_at.isoformat() == "2026-11-20T12:50:00+00:00"
    queue = client.get("/review/?tab=open").get_data(as_text=True)
    assert "No second channel" not in queue[queue.index(req.reference):].split("</tr>")[0]
    fresh = db.session.get(LegalRequest, req.id)
    db.session.refresh(fresh)
    acted = client.post(f"/review/requests/{req.reference}/actions/action",
                        data={"action-version": fresh.version}, follow_redirects=True)
    assert acted.status_code == 200
    db.session.refresh(fresh)
    assert fresh.state.value == "actioned"


def test_the_time_of_a_confirmation_is_read_in_the_reviewers_time_zone(lonely, client):
    req, _official, reviewer = lonely
    reviewer.timezone = "Europe/Istanbul"
    db.session.commit()
    sign_in(client, reviewer)
    page = client.post(f"/review/requests/{req.reference}/out-of-band", data={
        "oob-version": req.version, "oob-confirmed_by": "M. Yılmaz", "oob-channel": "phone",
        "oob-confirmed_at": "2026-11-20T12:50", "oob-note": "Switchboard."})
    assert page.status_code == 302
    record = db.session.scalar(sa.select(OutOfBandConfirmation))
    assert record.confirmed_at.isoformat() == "2026-11-20T09:50:00+00:00"


@pytest.mark.parametrize("value", ["", "yesterday", "2026-13-45T10:00", "\u202e2026"])
def test_a_confirmation_time_that_is_not_a_time_is_refused_on_the_form(lonely, client, value):
    req, _official, reviewer = lonely
    sign_in(client, reviewer)
    page = client.post(f"/review/requests/{req.reference}/out-of-band", data={
        "oob-version": req.version, "oob-confirmed_by": "M. Yılmaz", "oob-channel": "phone",
        "oob-confirmed_at": value, "oob-note": "Switchboard."})
    assert page.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutOfBandConfirmation)) == 0


# -- what officials see -----------------------------------------------------------------

def test_officials_see_no_flags_no_reviewer_and_no_confirmation(lonely, client):
    req, official, reviewer = lonely
    reviewer.name = "Reviewer Rhea"
    db.session.commit()
    safeguards.confirm_out_of_band(Actor.of(reviewer), req.reference, confirmation(),
                                   now=NOW)
    # The filing was flagged (a new account's first urgent request), on the record.
    assert db.session.scalars(sa.select(Event.payload).where(
        Event.request_id == req.id, Event.kind == "filed")).one()["risk_flags"] == [
        "new_user", "first_urgent", "new_category"]
    token = tokens.create_token(official, "t")[1]
    headers = {"Authorization": f"Bearer {token}"}
    events = client.get(f"/api/v1/requests/{req.reference}/events", headers=headers).json
    kinds = [e["kind"] for e in events["data"]]
    assert "out_of_band_confirmed" not in kinds and "filed" in kinds
    for event in events["data"]:
        assert not {"risk_flags", "assigned_reviewer_id", "second_channel", "ip",
                    "user_agent"} & set(event["payload"])
    detail = client.get(f"/api/v1/requests/{req.reference}", headers=headers)
    assert detail.status_code == 200
    for secret in ("risk", "reviewer", "second_channel", "out_of_band", "filed_"):
        assert secret not in detail.get_data(as_text=True)
    staff_events = client.get(
        f"/api/v1/requests/{req.reference}/events",
        headers={"Authorization": f"Bearer {tokens.create_token(reviewer, 't')[1]}"}).json
    assert any("assigned_reviewer_id" in e["payload"] for e in staff_events["data"])
    assert "out_of_band_confirmed" in [e["kind"] for e in staff_events["data"]]

    sign_in(client, official)
    page = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    for secret in ("Reviewer Rhea", reviewer.email, "second channel", "Mehmet",
                   "may not come from the agency", "out of band"):
        assert secret not in page
    # Staff reading the same page see the confirmation on its timeline.
    staff = client.application.test_client()
    sign_in(staff, reviewer)
    timeline = staff.get(f"/requests/{req.reference}").get_data(as_text=True)
    assert "Confirmed by the agency out of band" in timeline and "Mehmet" in timeline


def test_a_flagged_filing_is_hidden_from_its_filer(world, client):
    req = world.file(by=world.actor(ip=AWAY_IP), priority="urgent")
    assert req.risk_flags == ["new_network"]
    token = tokens.create_token(world.veteran, "t")[1]
    events = client.get(f"/api/v1/requests/{req.reference}/events",
                        headers={"Authorization": f"Bearer {token}"}).json
    assert "risk_flags" not in events["data"][0]["payload"]
    sign_in(client, world.veteran)
    page = client.get(f"/requests/{req.reference}").get_data(as_text=True)
    assert "network" not in page
