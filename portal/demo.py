"""Demo data drawn from the domain brief: realistic agencies, staff and requests in every
state. Seeding is idempotent: whatever exists already is left as it is."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.intake import PlatformProfile
from portal.models import Agency, LegalRequest, User
from portal.models.columns import utcnow
from portal.platforms import enabled
from portal.services import accounts, clocks, coverage, decisions, lifecycle
from portal.services import agencies as agency_service
from portal.services import users as user_service
from portal.services.actors import Actor
from portal.services.attachments import AttachmentInput
from portal.services.documents import DocumentInput
from portal.services.filing import FilingData, file_request
from portal.services.transaction import transaction
from workflows.codes import DocumentKind
from workflows.roles import Role

#: Every demo account shares this password (development only; shown on the start page).
DEMO_PASSWORD = "demo-password-2026"
PLATFORM_DOMAIN = "platform.example"


@dataclass(frozen=True)
class DemoAgency:
    name: str
    country: str
    domain: str
    official: str
    official_name: str
    locale: str
    timezone: str
    verified: bool = True
    focal_point: bool = False
    # Who hears of every urgent request besides the filer: (name, address, language).
    focal_contact: tuple[str, str, str] | None = None


AGENCIES = (
    DemoAgency("Ministry of Communication and Informatics (Kominfo)", "ID", "kominfo.go.id",
               "pengaduan@kominfo.go.id", "Noor Iza", "id", "Asia/Jakarta", focal_point=True,
               focal_contact=("Biro Hukum", "biro.hukum@kominfo.go.id", "id")),
    DemoAgency("Ministry of Electronics and Information Technology (MeitY)", "IN",
               "meity.gov.in", "blocking.cell@meity.gov.in", "Anita Sharma", "hi",
               "Asia/Kolkata",
               focal_contact=("Cyber Law Division", "cyberlaw@meity.gov.in", "en")),
    # No other official and no focal point: its urgent request shows "no second channel".
    DemoAgency("Ministry of Transport and Infrastructure", "TR", "uab.gov.tr",
               "siber@uab.gov.tr", "Ayşe Demir", "tr", "Europe/Istanbul"),
    DemoAgency("Federal Criminal Police Office (BKA)", "DE", "bka.de", "tco@bka.de",
               "Jonas Weber", "en", "Europe/Berlin",
               focal_contact=("Lagezentrum", "lagezentrum@bka.de", "en")),
    DemoAgency("Communications, Space and Technology Commission", "SA", "cst.gov.sa",
               "content@cst.gov.sa", "Faisal Al-Harbi", "ar", "Asia/Riyadh", verified=False),
)

STAFF = (
    ("reviewer@platform.example", "legal_reviewer", "Maya Chen", "en", "Europe/Dublin"),
    ("reviewer2@platform.example", "legal_reviewer", "Omar Haddad", "ar", "Asia/Dubai"),
    ("liaison@platform.example", "platform_liaison", "Elif Kaya", "tr", "Europe/Istanbul"),
    ("admin@platform.example", "admin", "Sam Admin", "en", "UTC"),
)

#: The demo's lead reviewer (may act on requests the other reviewer holds, and reassign).
#: They cover every jurisdiction.
LEAD_REVIEWER = "reviewer@platform.example"
#: The jurisdictions the other reviewer covers: told of India's and Türkiye's new
#: requests only (and of every emergency).
COVERAGE = {"reviewer2@platform.example": ("IN", "TR")}

_WORDS = (
    "kisan", "voice", "delhi", "punjab", "truth", "news", "live", "update", "farmer",
    "bharat", "jan", "andolan", "sach", "khabar", "desh", "azad", "rally", "tractor",
    "march", "yuva", "aawaz", "real", "daily", "bot", "india", "people", "union", "now",
)


def synthetic_handles(count: int, seed: int) -> list[str]:
    """Plausible, distinct, syntactically valid handles (deterministic for a seed)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    handles: list[str] = []
    while len(handles) < count:
        handle = f"{rng.choice(_WORDS)}_{rng.choice(_WORDS)}{rng.randint(1, 9999)}"[:15]
        if handle.lower() not in seen:
            seen.add(handle.lower())
            handles.append(handle)
    return handles


def demo_logins() -> list[tuple[str, str, str]]:
    """(email, role, name) of the demo accounts that exist, for the start page."""
    wanted = [a.official for a in AGENCIES] + [s[0] for s in STAFF]
    rows = db.session.execute(
        sa.select(User.email, User.role, User.name).where(User.email.in_(wanted))
    ).all()
    order = {email: i for i, email in enumerate(wanted)}
    return sorted(((e, r.value, n) for e, r, n in rows), key=lambda row: order[row[0]])


def _agency(demo: DemoAgency, now: datetime) -> Agency:
    found = db.session.scalar(sa.select(Agency).where(Agency.official_domain == demo.domain))
    if found is not None:
        return found
    agency = accounts.create_agency(
        demo.name, country=demo.country, domain=demo.domain, verified=demo.verified,
        verified_until=now + timedelta(days=365) if demo.verified else None,
        focal_point=demo.focal_point, now=now - timedelta(days=60),
    )
    if demo.focal_contact is not None:
        name, email, locale = demo.focal_contact
        agency = agency_service.set_focal_contact(Actor(None, Role.ADMIN), agency.id,
                                                  name=name, email=email, locale=locale)
    return agency


def _user(email: str, role: str, name: str, locale: str, timezone: str,
          agency_id: int | None = None) -> User:
    found: User | None = db.session.scalar(sa.select(User).where(User.email == email))
    if found is not None:
        return found
    return accounts.create_user(
        email, role=role, agency_id=agency_id, password=DEMO_PASSWORD, name=name,
        locale=locale, timezone=timezone,
    )


def demo_pdf(title: str, lines: tuple[str, ...]) -> bytes:
    """A one-page PDF that shows ``title`` and ``lines`` (plain ASCII text in Helvetica):
    a document a reviewer can open in the demo, with nothing in it but text, so it passes
    the upload checks like any official's file (no script, action or attachment)."""
    def text(value: str) -> bytes:
        plain = value.encode("ascii", "replace")
        return plain.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")

    # pypdf (about 14 MB with cryptography) only when the demo is seeded: the start page
    # imports this module for the demo logins, and every web worker imports the start page.
    from pypdf import PdfWriter
    from pypdf.generic import ContentStream, DictionaryObject, NameObject

    body = [b"BT /F1 16 Tf 72 770 Td (" + text(title) + b") Tj /F1 11 Tf"]
    body += [b"0 -22 Td (" + text(line) + b") Tj" for line in lines]
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    stream = ContentStream(None, writer)
    stream.set_data(b"\n".join([*body, b"ET"]))
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
        NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    page.replace_contents(stream)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@dataclass(frozen=True)
class DemoDocument:
    """A document filed with a demo request: the order or another kind (an annexure, a
    translation), its language, file name and the text on its page."""

    kind: DocumentKind
    language: str
    filename: str
    title: str
    lines: tuple[str, ...]

    def upload(self) -> AttachmentInput:
        return AttachmentInput(self.filename, "application/pdf",
                               demo_pdf(self.title, self.lines))


def with_documents(data: FilingData, documents: tuple[DemoDocument, ...]) -> FilingData:
    """``data`` with the order (the first of kind order) as the filing's attachment and
    every other document beside it."""
    order = next((d for d in documents if d.kind is DocumentKind.ORDER), None)
    others = [DocumentInput(d.upload(), d.kind.value, d.language)
              for d in documents if d is not order]
    if order is None:
        return replace(data, documents=others)
    return replace(data, attachment=order.upload(), order_language=order.language,
                   documents=others)


#: The MeitY blocking order's documents: the order and its annexure listing the accounts.
MEITY_DOCUMENTS = (
    DemoDocument(
        DocumentKind.ORDER, "en", "meity-order-16-4-2026-cles-2.pdf",
        "Government of India - Ministry of Electronics and Information Technology",
        ("Order No. 16(4)/2026-CLES (2), dated 19 November 2026",
         "Under Section 69A of the Information Technology Act, 2000, and the",
         "Information Technology (Procedure and Safeguards for Blocking for Access",
         "of Information by Public) Rules, 2009, the intermediary is directed to",
         "withhold in India the 1,178 accounts listed in Annexure A.",
         "This is a demonstration document of the liaison portal.")),
    DemoDocument(
        DocumentKind.ANNEXURE, "en", "annexure-a-accounts.pdf",
        "Annexure A to Order No. 16(4)/2026-CLES (2)",
        ("The accounts to be withheld in India (1,178), as listed in the request.",
         "Reasons: coordinated automated accounts posting provocative content",
         "about the farmers' protest (Committee meeting of 18 November 2026).",
         "This is a demonstration document of the liaison portal.")),
)


@dataclass(frozen=True)
class DemoRequest:
    agency_domain: str
    order_reference: str
    # The filing, its targets written for the platform profile given.
    data: Callable[[PlatformProfile], FilingData]
    hours_ago: float
    # Steps after filing: (hours after filing, who, trigger, "decide:<decision>" or
    # "notice:deferred", inputs)
    steps: tuple[tuple[float, str, str, dict[str, str]], ...] = ()
    # The platform the order is about, when the portal takes it; else the default one.
    platform: str = "x"
    # The documents filed with it (the order PDF, annexures, translations).
    documents: tuple[DemoDocument, ...] = ()


def _accounts(profile: PlatformProfile, handles: list[str]) -> list[str]:
    """Links to the accounts (or channels) ``handles`` on ``profile``'s platform."""
    return [profile.page_url("@" + h) or "@" + h for h in handles]


def _requests() -> tuple[DemoRequest, ...]:
    return (
        DemoRequest(
            "kominfo.go.id", "B-1043/M.KOMINFO/HK.02/08/2026",
            lambda profile: FilingData(
                category="terrorism", priority="urgent", requested_action="remove",
                legal_statute="Permenkominfo No. 5 of 2020 (MR5)", legal_article="Art. 14(3)",
                issuing_authority="Directorate General of Informatics Applications",
                order_reference="B-1043/M.KOMINFO/HK.02/08/2026",
                order_date=date(2026, 11, 20),
                description="Public channels spreading terrorist propaganda and recruitment "
                "material in Indonesian. Urgent under MR5 Art. 14(3).",
                targets=[f"@{h}" for h in synthetic_handles(24, 2017)],
            ),
            hours_ago=1.5,
            platform="telegram",
        ),
        DemoRequest(
            "meity.gov.in", "No. 16(4)/2026-CLES (2)",
            lambda profile: FilingData(
                category="public_order", priority="urgent",
                requested_action="withhold_in_country",
                legal_statute="Information Technology Act, 2000", legal_article="Section 69A",
                issuing_authority="Ministry of Electronics and Information Technology",
                order_reference="No. 16(4)/2026-CLES (2)", order_date=date(2026, 11, 19),
                description="1,178 accounts said to be automated, spreading provocative "
                "content about the farmers' protest. Block access in India.",
                targets=_accounts(profile, synthetic_handles(1178, 1178)),
            ),
            hours_ago=20,
            steps=((2, "reviewer@platform.example", "begin_review", {}),),
            documents=MEITY_DOCUMENTS,
        ),
        DemoRequest(
            "uab.gov.tr", "2026/5651-0217",
            lambda profile: FilingData(
                category="disinformation", priority="urgent",
                requested_action="withhold_in_country",
                legal_statute="Law No. 5651", legal_article="Art. 8/A",
                issuing_authority="Information and Communication Technologies Authority (BTK)",
                order_reference="2026/5651-0217", order_date=date(2026, 11, 21),
                description="After the earthquake: false emergency reports and fake aid "
                "campaigns collecting donations; accounts impersonating AFAD.",
                targets=[profile.post_url(f"yardim_kamp{n}", 17_900_000_000 + n)
                         for n in range(1, 41)] + [f"@afad_yardim{n}" for n in range(1, 11)],
            ),
            hours_ago=3,
            steps=(
                (0.5, "reviewer2@platform.example", "begin_review", {}),
                (1, "reviewer2@platform.example", "request_info",
                 {"question": "Please attach the BTK decision for the ten AFAD accounts; "
                              "the order lists only the posts."}),
            ),
        ),
        DemoRequest(
            "bka.de", "TCO-DE-2026-0311",
            lambda profile: FilingData(
                category="terrorism", priority="urgent", requested_action="remove",
                legal_statute="Regulation (EU) 2021/784 (TCO)", legal_article="Art. 3",
                issuing_authority="Bundeskriminalamt",
                order_reference="TCO-DE-2026-0311", order_date=date(2026, 11, 18),
                description="Removal order: three posts with a livestream of an attack.",
                targets=[profile.post_url(f"sahel_media{n}", 18_100_000_000 + n)
                         for n in range(1, 4)],
            ),
            hours_ago=30,
            steps=(
                (0.1, "reviewer@platform.example", "begin_review", {}),
                (0.3, "reviewer@platform.example", "decide:removed", {}),
                (0.4, "reviewer@platform.example", "action", {}),
                # The BKA asked for no disclosure for six weeks (TCO Art. 11(3)).
                (0.5, "reviewer@platform.example", "notice:deferred",
                 {"days": "42", "basis": "tco_art_11_3"}),
            ),
        ),
        DemoRequest(
            "meity.gov.in", "No. 16(4)/2026-CLES (1)",
            lambda profile: FilingData(
                category="public_order", priority="urgent",
                requested_action="withhold_in_country",
                legal_statute="Information Technology Act, 2000", legal_article="Section 69A",
                issuing_authority="Ministry of Electronics and Information Technology",
                order_reference="No. 16(4)/2026-CLES (1)", order_date=date(2026, 11, 15),
                description="257 handles and posts about the protest.",
                targets=[f"@{h}" for h in synthetic_handles(257, 257)],
            ),
            hours_ago=170,
            steps=(
                (1, "reviewer@platform.example", "begin_review", {}),
                (3, "reviewer@platform.example", "decide:withheld", {}),
                (3.1, "reviewer@platform.example", "action", {}),
                (40, "blocking.cell@meity.gov.in", "dispute",
                 {"reason": "Notice of non-compliance: the accounts were unblocked hours "
                            "after being withheld."}),
            ),
        ),
        DemoRequest(
            "uab.gov.tr", "2026/5651-0188",
            lambda profile: FilingData(
                category="impersonation", priority="standard", requested_action="remove",
                legal_statute="Law No. 5651", legal_article="Art. 9",
                issuing_authority="Ankara Criminal Judgeship of Peace",
                order_reference="2026/5651-0188", order_date=date(2026, 11, 2),
                description="Accounts impersonating a deputy minister.",
                targets=["@sayan_official", "@omerfatih_sayan"],
            ),
            hours_ago=400,
            steps=(
                (5, "reviewer2@platform.example", "begin_review", {}),
                (30, "reviewer2@platform.example", "decline",
                 {"reason": "Both accounts are labelled parody accounts and do not "
                            "impersonate the minister.", "no_action_reason": "not_unlawful"}),
            ),
        ),
    )


def seed(now: datetime | None = None) -> list[str]:
    """Create whatever demo data is missing; return what was created, one line each."""
    now = now or utcnow()
    created: list[str] = []
    with transaction():
        added = clocks.load_defaults()
    if added:
        created.append(f"{len(added)} default SLA policies")
    agencies: dict[str, Agency] = {}
    for demo in AGENCIES:
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Agency))
        agencies[demo.domain] = _agency(demo, now)
        if db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) != before:
            created.append(f"agency {demo.name}")
    users: dict[str, User] = {}
    for demo in AGENCIES:
        users[demo.official] = _user(demo.official, "agency_official", demo.official_name,
                                     demo.locale, demo.timezone, agencies[demo.domain].id)
    for email, role, name, locale, timezone in STAFF:
        new = db.session.scalar(sa.select(User.id).where(User.email == email)) is None
        users[email] = _user(email, role, name, locale, timezone)
        # Set when the account is made: an administrator's later change stays.
        if new and email in COVERAGE:
            codes = coverage.set_coverage(Actor(None, Role.ADMIN), users[email].id,
                                          COVERAGE[email])
            created.append(f"{email} covers {', '.join(codes)}")
    # One lead reviewer, so the demo shows handing requests between reviewers.
    lead = users[LEAD_REVIEWER]
    if not lead.lead_reviewer:
        users[LEAD_REVIEWER] = user_service.set_lead_reviewer(Actor(None, Role.ADMIN), lead.id,
                                                               True)
        created.append(f"lead reviewer {LEAD_REVIEWER}")
    for demo_request in _requests():
        agency = agencies[demo_request.agency_domain]
        exists = db.session.scalar(
            sa.select(LegalRequest.id).where(
                LegalRequest.agency_id == agency.id,
                LegalRequest.order_reference == demo_request.order_reference,
            )
        )
        if exists:
            continue
        official = next(a.official for a in AGENCIES if a.domain == agency.official_domain)
        filed_at = now - timedelta(hours=demo_request.hours_ago)
        platforms = enabled()
        profile = platforms.get(demo_request.platform)
        # Bare @names are the chosen platform's too (not the portal's default).
        data = with_documents(replace(demo_request.data(profile), service=profile.code),
                              demo_request.documents)
        req = file_request(Actor.of(users[official]), data, now=filed_at)
        for hours, email, step, inputs in demo_request.steps:
            at = filed_at + timedelta(hours=hours)
            actor = Actor.of(users[email])
            if step.startswith("decide:"):
                decisions.decide_items(actor, req.reference, decision=step.split(":")[1],
                                       all_pending=True, now=at)
            elif step == "notice:deferred":
                decisions.record_notice(
                    actor, req.reference, notified=False, all_acted=True, now=at,
                    deferred_until=at + timedelta(days=int(inputs["days"])),
                    basis=inputs["basis"])
            else:
                lifecycle.fire(actor, req.reference, step, inputs=inputs, now=at)
        created.append(f"request {req.reference} ({req.state.value}, {req.item_count} items)")
    return created
