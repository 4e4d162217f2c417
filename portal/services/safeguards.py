"""Urgent-request safeguards against a hijacked official mailbox.

An attacker who holds one official's account can file an "emergency" in a real agency's
name. Three defences, all for urgent and emergency filings only:

- **Flags for the reviewer** (:func:`assess`), from the account's and the agency's own
  history: a new account, the account's first urgent request, the agency's first request of
  this category in 90 days, a filing outside the agency's usual hours (its local time), and a
  network or device the account never filed from. Officials never see the flags (they
  would teach the attacker what to avoid): ``services/access.visible_payload`` hides them.
- **A second channel** (:func:`tell_second_channel`): every other official of the agency
  and the focal point an administrator designated are mailed about **every** urgent
  filing, flagged or not, in their own language; a mail that depends on no flag reveals
  nothing about them either.
- **Out-of-band confirmation** (:func:`confirm_out_of_band`): when nobody but the filer was
  told, the lifecycle's ``out_of_band_confirmed`` guard refuses ``action`` and ``revise``
  until a reviewer records who at the agency confirmed the request, how and when.

What counts as history: a filing is counted (:func:`count_acted_on`) once the platform
first acts on it (``action``, or ``revise`` after a declined outcome). A withdrawn or still
open request is entirely in the filer's hands, so it must not make a network, device,
category or hour familiar; a declined one was not accepted as the agency's genuine order.
Sign-ins do not count either: whoever holds the account can sign in from anywhere and
wait. The history is kept in summary rows (``models/safeguards.py``), so checking a filing
reads a few rows by primary key however many requests the agency has filed.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import (
    AccountHistory,
    Agency,
    AgencyHistory,
    DeliveryStatus,
    LegalRequest,
    Notification,
    OutOfBandConfirmation,
    User,
    outbox_row,
)
from portal.models.columns import UTCDateTime, utcnow
from portal.services.access import get_request
from portal.services.actors import Actor
from portal.services.audit import append_event
from portal.services.errors import Conflict, FieldError, Forbidden, ValidationFailed
from portal.services.signin import network_of
from portal.services.transaction import transaction
from workflows.calendars import country_timezone
from workflows.codes import URGENT_PRIORITIES, Category, ConfirmationChannel, Priority
from workflows.roles import Role
from workflows.states import RequestState

#: Every flag, in the order a reviewer reads them.
FLAGS = ("new_user", "first_urgent", "new_category", "unusual_hour", "new_network",
         "new_device")

#: The device of a filing without a User-Agent header: a value of its own, so leaving
#: the header out is a new device for an account that always sent one.
NO_USER_AGENT = "none"


# -- where a filing comes from ----------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """Where a filing came from: the filer's network and device family (``None`` when
    the service was called without a network, e.g. from the command line)."""

    network: str | None
    device: str


def source_of(actor: Actor) -> Source:
    return Source(network_of(actor.ip_address), device_of(actor.user_agent))


@functools.lru_cache(maxsize=4096)
def device_of(user_agent: str | None) -> str:
    """The family of the browser or client that sent ``user_agent``, without versions
    (browsers update themselves every few weeks): ``"Firefox / Linux"``,
    ``"Mobile Safari / iOS / iPhone"``, ``"Python Requests"``. An agent no rule knows is
    fingerprinted by its text with the digits left out."""
    # Real agents are a few hundred characters; a hostile one is cut short before the
    # parser's regular expressions see it (about 10 ms at this length, once: cached).
    text = (user_agent or "").strip()[:512]
    if not text:
        return NO_USER_AGENT
    # ua-parser's rules load when a sign-in is first fingerprinted, not at start-up.
    from ua_parser import parse as parse_user_agent

    result = parse_user_agent(text)
    parts = [
        part.family for part in (result.user_agent, result.os, result.device)
        if part is not None and part.family and part.family != "Other"
    ]
    if not parts:
        digest = hashlib.sha256(re.sub(r"\d+", "", text).encode()).hexdigest()[:16]
        return f"unknown agent {digest}"
    return " / ".join(dict.fromkeys(parts))[:120]


def local_hour(moment: datetime, country: str) -> int:
    """The hour of the day at ``moment`` in the country's (capital's) time zone."""
    return moment.astimezone(country_timezone(country)).hour


# -- the flags --------------------------------------------------------------------------

# The statements every urgent filing runs, built once (building them for each filing
# cost more than running them).

def _reading(network: bool) -> sa.CompoundSelect[Any]:
    """The filer's creation date, the account's summary rows that bear on a filing (its
    totals, and its network when known, and device) and the agency's (its hours and the
    filing's category), in one statement: ``(source, kind, value, filings, at)``."""
    a, g = AccountHistory, AgencyHistory
    wanted: list[sa.ColumnElement[bool]] = [a.kind.in_(("filings", "priority"))]
    if network:
        wanted.append(sa.and_(a.kind == "network", a.value == sa.bindparam("network")))
    wanted.append(sa.and_(a.kind == "device", a.value == sa.bindparam("device")))
    # The first SELECT gives the columns their types (``at``: an aware UTC time).
    return sa.union_all(
        sa.select(sa.literal("user").label("source"), sa.literal("").label("kind"),
                  sa.literal("").label("value"), sa.literal(0).label("filings"),
                  User.created_at.label("at")).where(User.id == sa.bindparam("user_id")),
        sa.select(sa.literal("account"), a.kind, a.value, a.filings,
                  sa.type_coerce(sa.null(), UTCDateTime)).where(
            a.user_id == sa.bindparam("user_id"), sa.or_(*wanted)),
        sa.select(sa.literal("agency"), g.kind, g.value, g.filings, g.last_at).where(
            g.agency_id == sa.bindparam("agency_id"),
            sa.or_(g.kind == "hour", sa.and_(g.kind == "category",
                                             g.value == sa.bindparam("category")))),
    )


#: With (True) and without the filer's network.
_READING = {network: _reading(network) for network in (True, False)}
#: The filer (first) and the agency's other active officials, in one statement.
_FILER_AND_COLLEAGUES = sa.select(
    User.id, User.name, User.email, User.locale, (User.id == sa.bindparam("user_id")).label("filer")
).where(sa.or_(User.id == sa.bindparam("user_id"),
               sa.and_(User.agency_id == sa.bindparam("agency_id"),
                       User.role == Role.AGENCY_OFFICIAL, User.active.is_(True)))
        ).order_by(sa.desc("filer"), User.id)


def assess(actor: Actor, agency: Agency, *, category: Category, priority: Priority,
           source: Source, now: datetime) -> list[str]:
    """The reasons to double-check this filing (empty for standard priority), in
    :data:`FLAGS` order.

    One statement whatever the history: the filer's creation date, and the account's
    and the agency's summary rows that bear on this filing (``_reading``).
    """
    if priority not in URGENT_PRIORITIES or actor.user_id is None:
        return []
    config = current_app.config
    flags: list[str] = []
    found = db.session.execute(_READING[source.network is not None], {
        "user_id": actor.user_id, "network": source.network, "device": source.device,
        "agency_id": agency.id, "category": category.value}).all()
    created = next((r.at for r in found if r.source == "user"), None)
    if created is not None and created > now - timedelta(days=config["SAFEGUARD_NEW_USER_DAYS"]):
        flags.append("new_user")

    account = {(r.kind, r.value): r.filings for r in found if r.source == "account"}
    if not any(account.get(("priority", p.value)) for p in URGENT_PRIORITIES):
        flags.append("first_urgent")

    rows = [r for r in found if r.source == "agency"]
    last_of_category = next((r.at for r in rows if r.kind == "category"), None)
    window = timedelta(days=config["SAFEGUARD_CATEGORY_DAYS"])
    if last_of_category is None or last_of_category < now - window:
        flags.append("new_category")
    if _outside_usual_hours({int(r.value): r.filings for r in rows if r.kind == "hour"},
                            local_hour(now, agency.country)):
        flags.append("unusual_hour")

    # An account with nothing on record is already flagged as filing its first urgent
    # request; every network and device would be "new" to it.
    if account.get(("filings", "")):
        if source.network is not None and not account.get(("network", source.network)):
            flags.append("new_network")
        if not account.get(("device", source.device)):
            flags.append("new_device")
    return flags


def _outside_usual_hours(by_hour: dict[int, int], hour: int) -> bool:
    """Whether ``hour`` is unusual for an agency whose acted-on filings fell in the local
    hours ``by_hour``: fewer than ``SAFEGUARD_USUAL_HOUR_SHARE`` of them within an hour
    of it. Too little history (``SAFEGUARD_HOURS_MIN_HISTORY``) never flags."""
    config = current_app.config
    total = sum(by_hour.values())
    if total < int(config["SAFEGUARD_HOURS_MIN_HISTORY"]):
        return False
    near = sum(by_hour.get((hour + step) % 24, 0) for step in (-1, 0, 1))
    return near < float(config["SAFEGUARD_USUAL_HOUR_SHARE"]) * total


# -- the second channel -----------------------------------------------------------------

def tell_second_channel(req: LegalRequest, agency: Agency, actor: Actor,
                        now: datetime) -> int:
    """Queue a mail about the urgent request ``req`` to every other active official of
    the agency and to its focal point, each in their own language (in the caller's
    transaction); return how many were queued. Zero means no second channel."""
    people = db.session.execute(
        _FILER_AND_COLLEAGUES, {"agency_id": agency.id, "user_id": actor.user_id}).all()
    filer = next((p for p in people if p.filer), None)
    colleagues = [(p.id, p.email, p.locale) for p in people if not p.filer]
    filer_email = filer.email if filer else ""
    params: dict[str, Any] = {
        "reference": req.reference, "agency": agency.name,
        "filer": f"{filer.name} <{filer.email}>" if filer and filer.name else filer_email,
        "category": req.category.value, "priority": req.priority.value,
        "items": req.item_count, "at": now.isoformat(),
    }
    mails = [outbox_row("urgent_request_filed", dedup_key=f"urgent:{req.reference}:user:{user_id}",
                        recipient=email, params={**params, "audience": "colleague"}, now=now,
                        locale=locale, user_id=user_id, request_id=req.id)
             for user_id, email, locale in colleagues]
    focal = (agency.focal_contact_email or "").strip()
    # The focal point is a second channel only if it is not a mailbox already told, and
    # above all not the filer's own.
    known = {filer_email.lower(), *(email.lower() for _, email, _ in colleagues)}
    if focal and focal.lower() not in known:
        mails.append(outbox_row(
            "urgent_request_filed", dedup_key=f"urgent:{req.reference}:focal",
            recipient=focal, params={**params, "audience": "focal_point",
                                     "focal_name": agency.focal_contact_name},
            now=now, locale=agency.focal_contact_locale, request_id=req.id))
    if mails:
        # One statement for all of them, written now: the filing adds nothing to the
        # session that a later step would have to flush first.
        db.session.execute(sa.insert(cast(sa.Table, Notification.__table__)), mails)
    return len(mails)



@dataclass(frozen=True)
class Told:
    """Who was mailed about an urgent request besides its filer, as the outbox holds it."""

    officials: int
    focal_point: bool

    @property
    def anyone(self) -> bool:
        return bool(self.officials or self.focal_point)


def second_channel_told(req: Any) -> Told:
    """Who the outbox holds a mail for about the urgent request ``req`` (queued or sent,
    not given up): what a page may say was done, rather than what the agency could have
    had. One statement on the outbox's request index."""
    keys = db.session.scalars(sa.select(Notification.dedup_key).where(
        Notification.request_id == req.id, Notification.template == "urgent_request_filed",
        Notification.status != DeliveryStatus.FAILED)).all()
    prefix = f"urgent:{req.reference}:"
    return Told(officials=sum(1 for k in keys if k.startswith(prefix + "user:")),
                focal_point=prefix + "focal" in keys)


# -- the history ------------------------------------------------------------------------

def count_acted_on(req: LegalRequest) -> None:
    """Add ``req`` to its filer's and its agency's history (in the caller's transaction).

    Called once per request, when the platform first acts on it (``lifecycle.fire``).
    Upserts: two requests of one agency acted on at once both count.
    """
    at = req.received_at
    account = [("filings", ""), ("priority", req.priority.value),
               ("device", req.filed_device or NO_USER_AGENT)]
    if req.filed_network:
        account.append(("network", req.filed_network))
    country = db.session.scalar(sa.select(Agency.country).where(Agency.id == req.agency_id))
    agency = [("category", req.category.value),
              ("hour", f"{local_hour(at, country or 'UTC'):02d}")]
    _count(AccountHistory, "user_id", req.filed_by_id, account, at)
    _count(AgencyHistory, "agency_id", req.agency_id, agency, at)


def _count(model: type[AccountHistory] | type[AgencyHistory], owner: str, owner_id: int,
           keys: list[tuple[str, str]], at: datetime) -> None:
    table = cast(sa.Table, model.__table__)
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values([
        {owner: owner_id, "kind": kind, "value": value, "filings": 1, "first_at": at,
         "last_at": at}
        # One order for every writer: concurrent upserts lock rows in the same order.
        for kind, value in sorted(keys)
    ])
    new = statement.excluded
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[owner, "kind", "value"],
        set_={
            "filings": table.c.filings + 1,
            "first_at": sa.case((new.first_at < table.c.first_at, new.first_at),
                                else_=table.c.first_at),
            "last_at": sa.case((new.last_at > table.c.last_at, new.last_at),
                               else_=table.c.last_at),
        },
    ))


# -- out-of-band confirmation -----------------------------------------------------------

#: States in which a confirmation may still matter: ``action`` and ``revise`` leave them.
CONFIRMABLE_STATES = frozenset({RequestState.RECEIVED, RequestState.LEGAL_REVIEW,
                                RequestState.AWAITING_INFO, RequestState.DISPUTED})
#: Clocks differ: a confirmation a few minutes "in the future" is a clock, not a lie.
CLOCK_SKEW = timedelta(minutes=5)
MAX_CONFIRMED_BY = 200
MAX_NOTE = 4000


@dataclass(frozen=True)
class Confirmation:
    """What a reviewer records: who at the agency confirmed the request, through which
    channel, when, and a note (the number dialled and where it came from, say)."""

    confirmed_by: str
    channel: str
    confirmed_at: datetime | None
    note: str


def needs_out_of_band(req: Any) -> bool:
    """Whether ``req`` (a request row, ORM or Core) was filed urgent with nobody but the
    filer told."""
    return bool(req.second_channel_notices == 0)


def _check(data: Confirmation) -> list[FieldError]:
    errors = []
    for name, limit in (("confirmed_by", MAX_CONFIRMED_BY), ("note", MAX_NOTE)):
        text = getattr(data, name).strip()
        if not text:
            errors.append(FieldError(name, "required", "required"))
        elif len(text) > limit:
            errors.append(FieldError(name, f"at most {limit} characters", "too_long"))
        elif "\x00" in text:
            errors.append(FieldError(name, "contains a NUL character", "control_characters"))
    if data.channel not in ConfirmationChannel._value2member_map_:
        errors.append(FieldError("channel", f"unknown channel {data.channel!r}", "choice"))
    if data.confirmed_at is None:
        errors.append(FieldError("confirmed_at", "required", "required"))
    elif data.confirmed_at.tzinfo is None:
        errors.append(FieldError("confirmed_at", "give a time zone", "invalid"))
    return errors


def confirm_out_of_band(actor: Actor, reference: str, data: Confirmation, *,
                        expected_version: int | None = None,
                        now: datetime | None = None) -> OutOfBandConfirmation:
    """Record that the agency confirmed the urgent request ``reference`` through another
    channel than the account that filed it, with an audit event, in one transaction.

    Raises:
        Forbidden: the actor is not a legal reviewer.
        NotFound: no such request.
        ValidationFailed: a field is missing or wrong, or the time is in the future or
            before the request was received; nothing is stored.
        Conflict: the request changed since ``expected_version``, needs no confirmation,
            is already confirmed, or is past the point where one matters.
    """
    now = now or utcnow()
    if actor.role is not Role.LEGAL_REVIEWER or actor.user_id is None:
        raise Forbidden("only a legal reviewer records an out-of-band confirmation")
    errors = _check(data)
    if errors:
        raise ValidationFailed(errors)
    assert data.confirmed_at is not None
    with transaction():
        req = get_request(actor, reference, for_update=True)
        if expected_version is not None and req.version != expected_version:
            raise Conflict(f"{reference} changed since you loaded it; reload and try again")
        if not needs_out_of_band(req):
            raise Conflict(f"{reference} needs no out-of-band confirmation: others at the "
                           "agency were told of it")
        if req.out_of_band_confirmed_at is not None:
            raise Conflict(f"{reference} is already confirmed out of band")
        if req.state not in CONFIRMABLE_STATES:
            raise Conflict(f"{reference} is {req.state.value}; a confirmation no longer "
                           "changes anything")
        if data.confirmed_at > now + CLOCK_SKEW:
            raise ValidationFailed([FieldError("confirmed_at", "in the future", "future")])
        if data.confirmed_at < req.received_at - CLOCK_SKEW:
            raise ValidationFailed([FieldError(
                "confirmed_at", "before the request was received", "before_receipt")])
        record = OutOfBandConfirmation(
            request_id=req.id, confirmed_by=data.confirmed_by.strip(),
            channel=ConfirmationChannel(data.channel), confirmed_at=data.confirmed_at,
            note=data.note.strip(), recorded_by_id=actor.user_id, recorded_at=now)
        db.session.add(record)
        req.out_of_band_confirmed_at = now
        append_event(req, "out_of_band_confirmed", actor=actor, now=now, payload={
            "confirmed_by": record.confirmed_by, "channel": record.channel.value,
            "confirmed_at": data.confirmed_at.isoformat(), "note": record.note,
        })
    return record


def confirmation_of(request_id: int) -> OutOfBandConfirmation | None:
    """The request's out-of-band confirmation, with the reviewer who recorded it."""
    return db.session.scalar(
        sa.select(OutOfBandConfirmation).where(OutOfBandConfirmation.request_id == request_id)
        .options(joinedload(OutOfBandConfirmation.recorded_by)))
