"""Notifications (issue 13, part 2): who is told of each event, by mail (read from a real
SMTP server) and in the app; mutes; exactly once; the list page and the header's count.

Before: after a whole lifecycle the outbox held no mail for the question to the official,
the outcome, the dispute or a new emergency request, and there was no in-app notice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import (
    LegalRequest,
    NoticeMute,
    Notification,
    RequestItem,
    SlaClock,
    User,
    UserNotice,
)
from portal.services import alerts, coverage, decisions, lifecycle, notices, outbox, users
from portal.services.actors import Actor
from portal.services.errors import ValidationFailed
from tests.conftest import sign_in
from tests.factories import NOW, World, count_statements, make_agency, make_user
from workflows.decisions import Terms
from workflows.notices import NoticeKind

#: Mail templates of the second channel (the agency's own safeguard, tested in
#: test_safeguards.py): not notifications.
SECOND_CHANNEL = ("urgent_request_filed", "urgent_request_flagged")


@dataclass
class People:
    world: World
    users: dict[str, User]

    def actor(self, name: str) -> Actor:
        return Actor.of(self.users[name])

    def name_of(self, user_id: int) -> str:
        return next(n for n, u in self.users.items() if u.id == user_id)


@pytest.fixture
def people(app, policies) -> People:
    """Everyone who could be told: the filing agency's official and a colleague, an
    inactive official of it, another agency's official, two reviewers and an inactive
    one, a liaison and an inactive one, an administrator."""
    w = World()
    users = {
        "official": w.official, "colleague": make_user("agency_official", w.agency),
        "gone_official": make_user("agency_official", w.agency),
        "stranger": w.stranger,
        "reviewer": w.reviewer, "other_reviewer": make_user("legal_reviewer"),
        "gone_reviewer": make_user("legal_reviewer"),
        "liaison": w.liaison, "gone_liaison": make_user("platform_liaison"),
        "admin": w.admin,
    }
    for name in ("gone_official", "gone_reviewer", "gone_liaison"):
        users[name].active = False
    db.session.commit()
    return People(w, users)


class Recorder:
    """What an event wrote: the notices and mails added after :meth:`mark`, and the
    mails the SMTP server then received."""

    def __init__(self, smtp) -> None:
        self.smtp = smtp
        self.notice_id = 0
        self.mail_id = 0

    def mark(self) -> None:
        outbox.deliver_due()
        self.smtp.messages.clear()
        self.notice_id = db.session.scalar(sa.select(sa.func.max(UserNotice.id))) or 0
        self.mail_id = db.session.scalar(sa.select(sa.func.max(Notification.id))) or 0

    def in_app(self) -> list[tuple[int, NoticeKind]]:
        return [(n.user_id, n.kind) for n in self.notices()]

    def notices(self) -> list[UserNotice]:
        return list(db.session.scalars(
            sa.select(UserNotice).where(UserNotice.id > self.notice_id)))

    def mailed(self) -> list[str]:
        """The addresses the SMTP server received the event's notification mails for."""
        outbox.deliver_due()
        return [m.to for m in self.smtp.sent({n.id for n in self.queued()})]

    def queued(self) -> list[Notification]:
        return list(db.session.scalars(sa.select(Notification).where(
            Notification.id > self.mail_id, Notification.channel == "email",
            Notification.template.not_in(SECOND_CHANNEL))))


def file(p: People, priority: str = "standard") -> LegalRequest:
    return p.world.file(priority=priority, now=NOW)


def in_review(p: People, priority: str = "standard") -> LegalRequest:
    req = file(p, priority)
    p.world.to_review(req.reference, NOW)
    return req


def fire(p: People, who: str, req: LegalRequest, trigger: str, **inputs: str) -> None:
    lifecycle.fire(p.actor(who), req.reference, trigger, inputs=inputs, now=NOW)


def actioned(p: People) -> LegalRequest:
    req = in_review(p)
    p.world.decide_all(req.reference, now=NOW)
    fire(p, "reviewer", req, "action")
    return req


def sweep_at(req: LegalRequest, target: str, fraction: float) -> None:
    clock = db.session.scalar(sa.select(SlaClock).where(SlaClock.request_id == req.id,
                                                        SlaClock.target == target))
    alerts.sweep(clock.started_at + (clock.due_at - clock.started_at) * fraction)


# Each scenario: the setup, then ``mark()``, then the one event whose notices count.
Scenario = Callable[[People, Callable[[], None]], None]


def s_filed(priority: str) -> Scenario:
    return lambda p, mark: (mark(), file(p, priority))


def s_covered(priority: str, covers: dict[str, str], *, all_reviewer: bool = True
              ) -> Scenario:
    """A Turkish request filed once reviewers cover jurisdictions (``covers``: name ->
    codes); ``all_reviewer`` a further reviewer who covers all."""
    def scenario(p, mark):
        if all_reviewer:
            p.users["all_reviewer"] = make_user("legal_reviewer")
        for name, codes in covers.items():
            coverage.set_coverage(p.actor("admin"), p.users[name].id, [codes])
        mark()
        file(p, priority)
    return scenario


#: The reviewer covers Türkiye (and India), the other reviewer only India.
TR_AND_IN = {"reviewer": "TR, IN", "other_reviewer": "IN"}
#: Nobody active covers Türkiye: the inactive reviewer does not count.
NOBODY_ACTIVE = {"reviewer": "IN", "other_reviewer": "DE", "gone_reviewer": "TR"}


def s_question(p, mark):
    req = in_review(p)
    mark()
    fire(p, "reviewer", req, "request_info", question="Which court?")


def s_answer(p, mark):
    req = in_review(p)
    fire(p, "reviewer", req, "request_info", question="Which court?")
    mark()
    fire(p, "official", req, "provide_info", answer="The Ankara court.")


def s_action(p, mark):
    req = in_review(p)
    p.world.decide_all(req.reference, now=NOW)
    mark()
    fire(p, "reviewer", req, "action")


def s_decline(p, mark):
    req = in_review(p)
    mark()
    fire(p, "reviewer", req, "decline", reason="Not unlawful here.",
         no_action_reason="not_unlawful")


def s_dispute(p, mark):
    req = actioned(p)
    mark()
    fire(p, "official", req, "dispute", reason="Item 2 was wrongly decided.")


def s_after_dispute(trigger: str) -> Scenario:
    def scenario(p, mark):
        req = actioned(p)
        fire(p, "official", req, "dispute", reason="Item 2 was wrongly decided.")
        if trigger == "revise":
            first = db.session.scalar(sa.select(RequestItem.id).where(
                RequestItem.request_id == req.id).order_by(RequestItem.position))
            decisions.decide_items(p.actor("reviewer"), req.reference, decision="removed",
                                   reason="per order", terms=Terms(), item_ids=[first],
                                   now=NOW + timedelta(minutes=1))
            mark()
            fire(p, "reviewer", req, "revise")
        else:
            mark()
            fire(p, "reviewer", req, "uphold", reason="The order covers every item.")
    return scenario


def s_close(p, mark):
    req = actioned(p)
    mark()
    fire(p, "liaison", req, "close")


def s_withdraw(p, mark):
    req = in_review(p)
    mark()
    fire(p, "official", req, "withdraw", reason="Filed twice.")


def s_reassign(p, mark):
    req = in_review(p)  # the reviewer holds it
    mark()
    fire(p, "liaison", req, "reassign", reviewer=str(p.users["other_reviewer"].id),
         reason="Balancing the queue")


def s_sla(fraction: float, *, priority: str = "standard", claimed: bool = True) -> Scenario:
    def scenario(p, mark):
        req = in_review(p, priority) if claimed else file(p, priority)
        target = "resolve" if claimed else "acknowledge"
        for earlier in (0.55, 0.8, 0.95):
            if earlier < fraction:
                sweep_at(req, target, earlier)
        mark()
        sweep_at(req, target, fraction)
    return scenario


#: event -> who is told (mail and in-app notice alike), written out.
MATRIX: list[tuple[str, Scenario, NoticeKind, set[str]]] = [
    ("new standard request", s_filed("standard"), NoticeKind.REQUEST_FILED,
     {"reviewer", "other_reviewer"}),
    ("new urgent request", s_filed("urgent"), NoticeKind.URGENT_FILED,
     {"reviewer", "other_reviewer", "liaison"}),
    ("new emergency request", s_filed("emergency"), NoticeKind.EMERGENCY_FILED,
     {"reviewer", "other_reviewer", "liaison"}),
    # Jurisdiction coverage: the reviewers who cover the request's country (TR) and those
    # who cover all; not one who covers only India.
    ("new request, by coverage", s_covered("standard", TR_AND_IN),
     NoticeKind.REQUEST_FILED, {"reviewer", "all_reviewer"}),
    ("new urgent request, by coverage", s_covered("urgent", TR_AND_IN),
     NoticeKind.URGENT_FILED, {"reviewer", "all_reviewer", "liaison"}),
    # An emergency reaches every reviewer, whatever they cover.
    ("new emergency request, whatever the coverage", s_covered("emergency", TR_AND_IN),
     NoticeKind.EMERGENCY_FILED, {"reviewer", "other_reviewer", "all_reviewer", "liaison"}),
    # Nobody active covers it: every active reviewer, so it never goes untold.
    ("new request nobody covers", s_covered("standard", NOBODY_ACTIVE, all_reviewer=False),
     NoticeKind.REQUEST_FILED, {"reviewer", "other_reviewer"}),
    ("question asked", s_question, NoticeKind.INFO_REQUESTED, {"official", "colleague"}),
    ("answer received", s_answer, NoticeKind.INFO_PROVIDED, {"reviewer"}),
    ("actioned", s_action, NoticeKind.OUTCOME, {"official", "colleague"}),
    ("declined", s_decline, NoticeKind.OUTCOME, {"official", "colleague"}),
    ("disputed", s_dispute, NoticeKind.DISPUTED, {"reviewer", "liaison"}),
    ("revised", s_after_dispute("revise"), NoticeKind.OUTCOME, {"official", "colleague"}),
    ("upheld", s_after_dispute("uphold"), NoticeKind.OUTCOME, {"official", "colleague"}),
    ("closed", s_close, NoticeKind.OUTCOME, {"official", "colleague"}),
    ("withdrawn", s_withdraw, NoticeKind.WITHDRAWN, {"reviewer"}),
    # Only the new holder: not the previous one, the liaison who handed it on, the other
    # reviewers or any official.
    ("reassigned", s_reassign, NoticeKind.ASSIGNED, {"other_reviewer"}),
    ("SLA 50 %", s_sla(0.55), NoticeKind.SLA_WARNING, {"reviewer"}),
    ("SLA 75 %", s_sla(0.8), NoticeKind.SLA_WARNING, {"reviewer", "liaison"}),
    ("SLA breach", s_sla(1.01), NoticeKind.SLA_BREACH, {"reviewer", "liaison", "admin"}),
    ("SLA 50 %, emergency", s_sla(0.55, priority="emergency"), NoticeKind.SLA_WARNING,
     {"reviewer", "liaison"}),
    ("SLA 50 %, unclaimed", s_sla(0.55, claimed=False), NoticeKind.SLA_WARNING,
     {"liaison"}),
]


@pytest.mark.parametrize(("event", "scenario", "kind", "expected"), MATRIX,
                         ids=[row[0] for row in MATRIX])
def test_the_notification_matrix(people, smtp, event, scenario, kind, expected):
    recorder = Recorder(smtp)
    scenario(people, recorder.mark)
    told = recorder.in_app()
    assert {people.name_of(uid) for uid, _ in told} == expected, event
    assert {k for _, k in told} == {kind}
    # One each (an unclaimed request's acknowledgement and resolution clocks may cross
    # a threshold together: one notice per clock).
    per_clock = [(n.user_id, n.payload.get("target")) for n in recorder.notices()]
    assert len(per_clock) == len(set(per_clock))
    clocks = len({target for _, target in per_clock})
    mailed = recorder.mailed()
    assert sorted(mailed) == sorted(people.users[n].email for n in expected) * clocks, event
    # Never another agency's official, nor anyone inactive.
    outsiders = {people.users[n].email for n in
                 ("stranger", "gone_official", "gone_reviewer", "gone_liaison")}
    assert not outsiders & set(mailed)


def test_mails_are_in_the_recipients_language_and_link_their_own_page(people, smtp):
    people.users["colleague"].locale = "tr"
    db.session.commit()
    recorder = Recorder(smtp)
    s_question(people, recorder.mark)
    recorder.mailed()
    by_to = {str(m["To"]): m for m in smtp.messages}
    turkish = by_to[people.users["colleague"].email].get_body(("plain",)).get_content()
    english = by_to[people.users["official"].email].get_body(("plain",)).get_content()
    assert "A legal reviewer asked a question" in english
    assert "A legal reviewer asked a question" not in turkish
    reference = db.session.scalar(sa.select(LegalRequest.reference))
    assert f"http://localhost/requests/{reference}" in english
    staff = Recorder(smtp)
    staff.mark()
    fire(people, "official", db.session.scalar(sa.select(LegalRequest)), "provide_info",
         answer="The Ankara court.")
    staff.mailed()
    body = smtp.messages[0].get_body(("plain",)).get_content()
    assert f"http://localhost/review/requests/{reference}" in body


def test_a_covering_reviewer_is_mailed_once_in_their_language(people, smtp):
    """Coverage chooses who is told, not how: one mail through the outbox each, in
    the reader's language; the reviewer of another country gets neither mail nor
    notice."""
    reviewer, other = people.users["reviewer"], people.users["other_reviewer"]
    reviewer.locale = "hi"
    db.session.commit()
    coverage.set_coverage(people.actor("admin"), reviewer.id, ["TR"])
    coverage.set_coverage(people.actor("admin"), other.id, ["IN"])
    recorder = Recorder(smtp)
    recorder.mark()
    req = file(people, "standard")
    assert recorder.in_app() == [(reviewer.id, NoticeKind.REQUEST_FILED)]
    assert recorder.mailed() == [reviewer.email]
    outbox.deliver_due()
    assert recorder.mailed() == [reviewer.email]  # a second pass sends nothing again
    [message] = smtp.messages
    assert str(message["Subject"]) == f"[{req.reference}] {people.world.agency.name} से नया अनुरोध"
    assert "New request from" not in message.get_body(("plain",)).get_content()


def test_a_lead_reviewer_hands_a_request_on_in_the_new_holders_language(people, smtp):
    lead = make_user("legal_reviewer")
    users.set_lead_reviewer(people.actor("admin"), lead.id, True)
    people.users["other_reviewer"].locale = "tr"
    db.session.commit()
    req = in_review(people)
    recorder = Recorder(smtp)
    recorder.mark()
    lifecycle.fire(Actor.of(lead), req.reference, "reassign",
                   inputs={"reviewer": str(people.users["other_reviewer"].id)}, now=NOW)
    assert recorder.in_app() == [(people.users["other_reviewer"].id, NoticeKind.ASSIGNED)]
    assert recorder.mailed() == [people.users["other_reviewer"].email]
    [message] = smtp.messages
    body = message.get_body(("plain",)).get_content()
    assert "size devredildi" in str(message["Subject"])
    assert "was handed to you" not in body
    assert f"http://localhost/review/requests/{req.reference}" in body
    # Handed to themself, the lead is the actor: nobody is told.
    again = Recorder(smtp)
    again.mark()
    lifecycle.fire(Actor.of(lead), req.reference, "reassign",
                   inputs={"reviewer": str(lead.id)}, now=NOW)
    assert again.in_app() == [] and again.queued() == []


def test_a_reviewer_may_mute_requests_handed_to_them(people, smtp):
    notices.set_mutes(people.actor("other_reviewer"), ["assigned"])
    recorder = Recorder(smtp)
    s_reassign(people, recorder.mark)
    assert recorder.in_app() == [] and recorder.mailed() == []


# -- mutes ------------------------------------------------------------------------------

def test_a_muted_kind_is_neither_mailed_nor_listed(people, smtp):
    notices.set_mutes(people.actor("reviewer"), ["request_filed"])
    recorder = Recorder(smtp)
    recorder.mark()
    file(people)
    assert {people.name_of(uid) for uid, _ in recorder.in_app()} == {"other_reviewer"}
    assert recorder.mailed() == [people.users["other_reviewer"].email]


def test_emergencies_cannot_be_muted(people, smtp):
    with pytest.raises(ValidationFailed):
        notices.set_mutes(people.actor("reviewer"), ["emergency_filed"])
    assert notices.muted_kinds(people.users["reviewer"].id) == set()
    # Even a mute written behind the service's back does not silence an emergency, nor
    # the SLA notices of one.
    reviewer = people.users["reviewer"]
    db.session.add_all([NoticeMute(user_id=reviewer.id, kind=NoticeKind.EMERGENCY_FILED),
                        NoticeMute(user_id=reviewer.id, kind=NoticeKind.SLA_BREACH)])
    db.session.commit()
    recorder = Recorder(smtp)
    recorder.mark()
    file(people, "emergency")
    assert reviewer.email in recorder.mailed()
    breach = Recorder(smtp)
    s_sla(1.01, priority="emergency")(people, breach.mark)
    assert (reviewer.id, NoticeKind.SLA_BREACH) in breach.in_app()
    assert reviewer.email in breach.mailed()


def test_a_muted_sla_breach_of_a_standard_request_is_silent(people, smtp):
    notices.set_mutes(people.actor("admin"), ["sla_breach"])
    recorder = Recorder(smtp)
    s_sla(1.01)(people, recorder.mark)
    assert {people.name_of(uid) for uid, _ in recorder.in_app()} == {"reviewer", "liaison"}


def test_a_role_can_mute_only_what_it_receives(people):
    with pytest.raises(ValidationFailed):
        notices.set_mutes(people.actor("official"), ["request_filed"])
    assert notices.set_mutes(people.actor("official"), ["outcome"]) == {NoticeKind.OUTCOME}
    assert notices.set_mutes(people.actor("official"), []) == set()


# -- exactly once -----------------------------------------------------------------------

def test_each_mail_is_sent_once(people, smtp):
    recorder = Recorder(smtp)
    recorder.mark()
    req = file(people, "urgent")
    first = recorder.mailed()
    assert len(first) == 3
    outbox.deliver_due()
    alerts.sweep(NOW + timedelta(minutes=1))  # nothing crossed yet
    assert recorder.mailed() == first  # a second pass sends nothing again
    # The same event cannot be told twice: the dedup keys are unique.
    with pytest.raises(IntegrityError):
        notices.notify(NoticeKind.URGENT_FILED, req, key=f"{req.reference}:1", now=NOW)
        db.session.flush()
    db.session.rollback()


def test_a_refused_transition_tells_nobody(people, smtp):
    req = in_review(people)
    recorder = Recorder(smtp)
    recorder.mark()
    with pytest.raises(Exception):  # noqa: B017,PT011  (the guard's refusal)
        fire(people, "reviewer", req, "action")  # no item decided yet
    assert recorder.in_app() == [] and recorder.queued() == []


def test_a_threshold_swept_twice_notifies_once(people, smtp):
    req = in_review(people)
    recorder = Recorder(smtp)
    recorder.mark()
    sweep_at(req, "resolve", 0.55)
    sweep_at(req, "resolve", 0.56)
    assert len(recorder.in_app()) == 1 and len(recorder.mailed()) == 1


# -- the pages --------------------------------------------------------------------------

def header_count(page: str) -> str | None:
    marker = 'class="badge unread-count">'
    if marker not in page:
        return None
    return page.split(marker, 1)[1].split("<", 1)[0]


def client_of(app, user: User):
    """A client signed in as ``user`` (a signed-in client does not sign in again)."""
    client = app.test_client()
    sign_in(client, user)
    return client


def test_the_header_shows_the_unread_count_on_every_page(people, client, app):
    file(people)
    file(people)
    sign_in(client, people.users["reviewer"])
    for path in ("/", "/review/", "/auth/account", "/notifications/"):
        response = client.get(path)
        if response.status_code == 404:
            continue
        assert header_count(response.get_data(as_text=True)) == "2", path
    liaison = client_of(app, people.users["liaison"])
    assert header_count(liaison.get("/").get_data(as_text=True)) is None


def test_the_header_count_stops_at_99_and_costs_one_statement(people, client):
    reviewer = people.users["reviewer"]
    db.session.execute(sa.insert(UserNotice), [
        {"dedup_key": f"k{n}", "user_id": reviewer.id, "kind": NoticeKind.REQUEST_FILED,
         "payload": {"reference": f"TR-{n}"}, "created_at": NOW} for n in range(120)])
    db.session.commit()
    sign_in(client, reviewer)
    client.get("/review/")
    with count_statements() as statements:
        page = client.get("/review/").get_data(as_text=True)
    assert header_count(page) == "99+"
    assert len([s for s in statements if "user_notices" in s]) == 1


def test_the_list_marks_read_one_or_all_and_opens_the_request(people, client):
    first, second = file(people), file(people, "urgent")
    sign_in(client, people.users["reviewer"])
    page = client.get("/notifications/").get_data(as_text=True)
    assert f"New request {first.reference} from" in page
    assert f"Urgent request {second.reference} from" in page
    mine = db.session.scalars(sa.select(UserNotice).where(
        UserNotice.user_id == people.users["reviewer"].id).order_by(UserNotice.id)).all()
    opened = client.post("/notifications/read", data={"notice": mine[0].id, "open": "1"})
    assert opened.status_code == 302
    assert opened.headers["Location"].endswith(f"/review/requests/{first.reference}")
    db.session.expire_all()
    assert db.session.get(UserNotice, mine[0].id).read_at is not None
    assert header_count(client.get("/").get_data(as_text=True)) == "1"
    unread = client.get("/notifications/?show=unread").get_data(as_text=True)
    assert second.reference in unread and f"New request {first.reference}" not in unread
    client.post("/notifications/read", data={"all": "1"})
    assert header_count(client.get("/").get_data(as_text=True)) is None


def test_nobody_reads_or_marks_another_users_notices(people, client, app):
    file(people)
    theirs = db.session.scalar(sa.select(UserNotice).where(
        UserNotice.user_id == people.users["other_reviewer"].id))
    sign_in(client, people.users["reviewer"])
    client.post("/notifications/read", data={"notice": theirs.id, "open": "1"})
    db.session.expire_all()
    assert db.session.get(UserNotice, theirs.id).read_at is None
    stranger = client_of(app, people.users["stranger"])
    assert "No notifications yet." in stranger.get("/notifications/").get_data(as_text=True)


def test_the_mute_form_saves_and_refuses_emergencies(people, client):
    sign_in(client, people.users["liaison"])
    page = client.get("/notifications/").get_data(as_text=True)
    assert 'value="emergency_filed" disabled' in page
    assert 'value="request_filed"' not in page  # liaisons are not told of those
    client.post("/notifications/mutes", data={"muted": ["disputed", "sla_warning"]})
    assert notices.muted_kinds(people.users["liaison"].id) == {NoticeKind.DISPUTED,
                                                               NoticeKind.SLA_WARNING}
    refused = client.post("/notifications/mutes", data={"muted": ["emergency_filed"]},
                          follow_redirects=True).get_data(as_text=True)
    assert "cannot be turned off" in refused
    assert notices.muted_kinds(people.users["liaison"].id) == {NoticeKind.DISPUTED,
                                                               NoticeKind.SLA_WARNING}


def test_the_list_is_worded_in_the_readers_language(people, client):
    file(people, "emergency")
    people.users["reviewer"].locale = "tr"
    db.session.commit()
    sign_in(client, people.users["reviewer"])
    page = client.get("/notifications/").get_data(as_text=True)
    assert "EMERGENCY request" not in page and "Bildirimler" in page


# -- start pages ------------------------------------------------------------------------

def needs_section(page: str) -> str:
    return page.split('id="needs-heading"', 1)[1].split("</section>", 1)[0]


def test_each_start_page_says_what_needs_that_role_now(people, app):
    waiting = in_review(people)
    fire(people, "reviewer", waiting, "request_info", question="Which court?")
    file(people, "emergency")
    file(people)
    actioned(people)
    disputed = actioned(people)
    fire(people, "official", disputed, "dispute", reason="Item 2.")
    make_agency("ID", verified=False)

    def needs(name: str) -> str:
        page = client_of(app, people.users[name]).get("/").get_data(as_text=True)
        return needs_section(page)

    official = needs("official")
    assert "1 request is waiting for your answer." in official
    assert "2 outcomes of your agency's requests are new to you." in official
    reviewer = needs("reviewer")
    assert "2 new requests are not claimed yet (1 urgent or emergency)." in reviewer
    assert "1 request is disputed by its agency." in needs("liaison")
    assert "1 agency is waiting for verification." in needs("admin")
    assert "Nothing needs you right now." in needs("stranger")


def test_breached_clocks_on_the_liaisons_and_the_reviewers_start_page(people, app):
    req = in_review(people)
    clock = db.session.scalar(sa.select(SlaClock).where(SlaClock.request_id == req.id,
                                                        SlaClock.target == "resolve"))
    clock.open_due_at = clock.due_at = NOW
    db.session.commit()
    liaison = client_of(app, people.users["liaison"]).get("/").get_data(as_text=True)
    assert "1 running deadline has passed." in needs_section(liaison)
    reviewer = client_of(app, people.users["reviewer"]).get("/").get_data(as_text=True)
    assert "1 of your requests is overdue or due within the hour." in needs_section(reviewer)
    other = client_of(app, people.users["other_reviewer"]).get("/").get_data(as_text=True)
    assert "overdue" not in needs_section(other)


# -- the urgent filing's second channel: say what happened -------------------------------

def test_the_review_page_says_only_the_focal_point_was_mailed(people, client):
    # The world's agency has a focal point; its other active official is the colleague,
    # so the filing tells both. Without the colleague, only the focal point is told.
    people.users["colleague"].active = False
    db.session.commit()
    req = file(people, "urgent")
    assert req.second_channel_notices == 1
    sign_in(client, people.users["reviewer"])
    page = client.get(f"/review/requests/{req.reference}").get_data(as_text=True)
    told = page.split('id="second-channel-told">', 1)[1].split("</p>", 1)[0]
    assert "focal point" in told and "no other official of the agency was mailed" in told
    assert "other officials of the agency and" not in page


@pytest.mark.parametrize("value", ["", "x", "0", "-3", "99999999999999999999"])
def test_a_notice_id_no_row_can_have_is_refused_plainly(people, client, value):
    sign_in(client, people.users["reviewer"])
    response = client.post("/notifications/read", data={"notice": value},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Choose a notification." in response.get_data(as_text=True)
