"""Command line: ``flask --app wsgi agencies|users|demo|audit|tokens|webhooks|sla ...`` and
``worker`` (``db`` is Flask-Migrate's)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from portal import demo
from portal.extensions import db
from portal.services import accounts, audit_verify
from portal.services.errors import ServiceError, ValidationFailed
from workflows.roles import USER_ROLES

agencies_cli = AppGroup("agencies", help="Register agencies.")
users_cli = AppGroup("users", help="Create user accounts.")
demo_cli = AppGroup("demo", help="Demo data.")
audit_cli = AppGroup("audit", help="Check the audit record.")

#: Where ``demo seed`` may run: the demo itself, and the test suite's settings.
DEMO_ENVIRONMENTS = frozenset({"development", "testing"})


def init_app(app: Flask) -> None:
    """Register the command groups on ``app``."""
    for group in (agencies_cli, users_cli, demo_cli, audit_cli, sla_cli, tokens_cli,
                  webhooks_cli, worker, check):
        app.cli.add_command(group)
    # ``flask report ...``: the transparency exports (portal/report_cli.py), then the
    # publication commands (``dsa-sor``, ``dsa-submit``, ``lumen``) added to the same group.
    from portal.report_cli import report_cli

    app.cli.add_command(report_cli)
    from portal import dsa_cli

    dsa_cli.init_app(app)


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn a service's refusal into a clear message and exit status 1."""
    try:
        yield
    except ValidationFailed as exc:
        lines = [f"  {e.field}: {e.message}" for e in exc.errors]
        raise click.ClickException("refused:\n" + "\n".join(lines)) from None
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None


@agencies_cli.command("create")
@click.argument("name")
@click.option("--country", required=True, help="ISO 3166-1 alpha-2 code, e.g. TR.")
@click.option("--domain", required=True, help="The agency's official e-mail domain.")
@click.option("--verified", is_flag=True, help="Mark verified now (for one year).")
@click.option("--focal-point", is_flag=True, help="The country's focal-point agency.")
def create_agency(name: str, country: str, domain: str, verified: bool,
                  focal_point: bool) -> None:
    """Register agency NAME."""
    from datetime import timedelta

    from portal.models.columns import utcnow

    now = utcnow()
    with service_errors():
        agency = accounts.create_agency(
            name, country=country, domain=domain, verified=verified,
            verified_until=now + timedelta(days=365) if verified else None,
            focal_point=focal_point, now=now,
        )
    click.echo(f"agency {agency.id}: {agency.name} ({agency.country}, "
               f"{agency.official_domain}) {agency.status.value}")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in USER_ROLES]))
@click.option("--agency", "agency_id", type=int, help="Agency id (agency officials only).")
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, role: str, agency_id: int | None, name: str,
                password_stdin: bool) -> None:
    """Create the account EMAIL."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    with service_errors():
        user = accounts.create_user(email, role=role, agency_id=agency_id, name=name,
                                    password=password)
    suffix = "" if password else " (no password yet: it cannot sign in until one is set)"
    click.echo(f"user {user.id}: {user.email} {user.role.value}{suffix}")


@users_cli.command("lead-reviewer")
@click.argument("email")
@click.option("--off", is_flag=True, help="Take the flag away instead.")
def lead_reviewer(email: str, off: bool) -> None:
    """Make legal reviewer EMAIL a lead reviewer (or, with --off, no longer one): a lead
    reviewer may act on requests other reviewers hold and hand them between reviewers."""
    from portal.extensions import db
    from portal.models import User
    from portal.services import users
    from portal.services.actors import SYSTEM

    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {email}")
    with service_errors():
        users.set_lead_reviewer(SYSTEM, user.id, not off)
    click.echo(f"user {user.id}: {user.email} lead reviewer: {'no' if off else 'yes'}")


@users_cli.command("jurisdictions")
@click.argument("email")
@click.argument("codes", nargs=-1)
def jurisdictions(email: str, codes: tuple[str, ...]) -> None:
    """Set the jurisdictions legal reviewer EMAIL covers (ISO codes such as IN TR, or EU):
    they are told of those new requests only. No CODES: every jurisdiction."""
    from portal.extensions import db
    from portal.models import User
    from portal.services import coverage
    from portal.services.actors import SYSTEM

    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {email}")
    with service_errors():
        chosen = coverage.set_coverage(SYSTEM, user.id, codes)
    click.echo(f"user {user.id}: {user.email} covers {', '.join(chosen) or 'every jurisdiction'}")


@users_cli.command("enrolment-code")
@click.argument("email")
def enrolment_code(email: str) -> None:
    """Issue a one-time enrolment code for staff member EMAIL's first second factor (the
    first administrator has no administrator to ask); it is printed once."""
    from portal.extensions import db
    from portal.models import User
    from portal.services import enrolment
    from portal.services.actors import SYSTEM

    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {email}")
    with service_errors():
        issued = enrolment.issue_code(SYSTEM, user.id)
    click.echo(f"enrolment code for {user.email}, valid once until "
               f"{issued.expires_at:%Y-%m-%d %H:%M} UTC; give it to them in person:\n"
               f"{issued.code}")


@demo_cli.command("seed")
def seed_demo() -> None:
    """Create the demo agencies, accounts and requests (idempotent); development only."""
    from flask import current_app

    environment = current_app.config["ENVIRONMENT"]
    if environment not in DEMO_ENVIRONMENTS:
        # The demo's accounts, an administrator among them, share a published password.
        raise click.ClickException(
            f"refused: demo data is for development only, and these are {environment} "
            "settings (the demo accounts, an administrator among them, all have the "
            "password printed in the README); set PORTAL_ENV=development on a machine "
            "of your own")
    with service_errors():
        created = demo.seed()
    if not created:
        click.echo("demo data already present; nothing to do")
    for line in created:
        click.echo(f"created {line}")
    click.echo(f"demo password for every demo account: {demo.DEMO_PASSWORD}")


@audit_cli.command("verify")
@click.option("--anchor", "anchor_file", type=click.File("r", encoding="utf-8"),
              help="An anchor written earlier by `audit anchor` (or the line of its mail): "
                   "also prove nothing recorded before it was rewritten since.")
@click.option("--since", is_flag=True,
              help="Check in full only the requests with events since the newest "
                   "checkpoint, and that nothing before it was rewritten (rows of the "
                   "other requests are not read: docs/OPERATIONS.md).")
@click.option("--checkpoint/--no-checkpoint", default=True, show_default=True,
              help="Store a checkpoint when the record is intact.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Check the requests in this many processes reading one snapshot "
                   "(PostgreSQL only; a full verification).")
def verify(anchor_file: TextIO | None, since: bool, checkpoint: bool, workers: int) -> None:
    """Check the whole audit record against the rows; exit 1 naming what changed.

    Every request's hash chain, its fields, items, messages, internal notes and
    documents against what its newest event recorded, the global event sequence and the
    reference counters; with --anchor, every request's history up to the anchor. An
    intact record is checkpointed for a later --since.
    """
    from portal.models.columns import utcnow
    from portal.services import audit_checkpoint
    from portal.services.audit_checkpoint import CheckpointRefused
    from workflows.audit import Anchor, AnchorError

    if since and anchor_file is not None:
        raise click.UsageError("--anchor reads every event: give it without --since")
    if workers > 1 and (since or db.engine.dialect.name != "postgresql"):
        raise click.UsageError("--workers needs PostgreSQL (one snapshot shared by the "
                               "processes) and a full verification (not --since)")
    start = None
    if since:
        try:
            start = audit_checkpoint.newest()
        except CheckpointRefused as refused:
            raise click.ClickException(str(refused)) from None
    anchor = None
    if anchor_file is not None:
        try:
            anchor = Anchor.from_json(anchor_file.read())
        except AnchorError as exc:
            raise click.ClickException(f"{anchor_file.name}: not a usable anchor: {exc}") \
                from None
    started = time.perf_counter()
    tally = audit_verify.Tally()
    findings = []
    walk = (audit_checkpoint.verify_since(start, tally) if start is not None
            else audit_verify.verify_all(anchor, tally, workers, seal=checkpoint))
    for finding in walk:
        findings.append(finding)
        click.echo(f"CHANGED {finding}", err=True)
    took = time.perf_counter() - started
    read = (f"{tally.requests} requests, {tally.events} events (g#1–g#{tally.last_gseq}), "
            f"{tally.items} items, {tally.messages} messages and notes, "
            f"{tally.documents} documents in {took:.2f} s")
    if start is not None:
        read += (f"; since the checkpoint of {start.taken_at.isoformat()} (g#"
                 f"{start.last_gseq}): {tally.requests - tally.unchanged} changed "
                 f"request(s) checked in full, {tally.unchanged} unchanged by their head")
        if tally.sealed:
            read += f" ({tally.sealed} of them by their seal)"
    if tally.legacy_requests:
        read += (f"; {tally.legacy_requests} request(s) whose newest event predates "
                 "snapshots were checked by their chain, filed list and decisions only")
    if not findings:
        click.echo(f"audit record intact: {read}")
        if anchor is not None:
            click.echo(f"matches the anchor of {anchor.at} (g#{anchor.events}, "
                       f"{anchor.requests} requests, head {anchor.head[:16]}…)")
        if checkpoint:
            saved = audit_checkpoint.save(tally, "since" if since else "full", utcnow())
            click.echo(f"checkpoint {saved.id}: g#{saved.last_gseq}, {saved.requests} "
                       f"requests, head {saved.head[:16]}…")
        return
    references = {f.reference for f in findings if f.reference}
    raise click.ClickException(
        f"the audit record does not match: {len(findings)} finding(s) about "
        f"{len(references)} request(s); read {read}"
    )


@audit_cli.command("anchor")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the anchor to this new file (JSON; never overwritten).")
@click.option("--compact", is_flag=True,
              help="Leave each request's head out of the file: verify can then tell that "
                   "the record before the anchor was rewritten, not which request.")
@click.option("--mail/--no-mail", default=True, show_default=True,
              help="Mail the anchor to AUDIT_ANCHOR_RECIPIENTS through the outbox.")
def anchor(out: Path | None, compact: bool, mail: bool) -> None:
    """Record the audit record's head (global event number, every request's head folded
    into one hash, time) outside the database: in a file, by mail, or both."""
    from portal.models.columns import utcnow
    from portal.services import audit_anchor

    addresses = audit_anchor.recipients() if mail else []
    if out is None and not addresses:
        raise click.ClickException("nowhere to keep the anchor: give --out FILE, or set "
                                   "AUDIT_ANCHOR_RECIPIENTS (and leave --mail on)")
    if out is not None and out.exists():
        raise click.ClickException(f"{out} exists: anchors are kept, never overwritten; "
                                   "choose a new name (e.g. with the date)")
    taken = audit_anchor.take_anchor(utcnow())
    if out is not None:
        temporary = out.with_name(f".{out.name}.tmp")
        temporary.write_text(taken.to_json(with_heads=not compact), encoding="utf-8")
        temporary.replace(out)
        click.echo(f"anchor written to {out}")
    if addresses:
        queued = audit_anchor.mail_anchor(taken, addresses, utcnow())
        click.echo(f"anchor mailed to {len(addresses)} address(es) through the outbox "
                   f"({len(queued)} new)")
    click.echo(taken.to_json(with_heads=False).strip())


tokens_cli = AppGroup("tokens", help="API tokens.")


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, e.g. 'case system'.")
@click.option("--scope", "scopes", multiple=True, default=("read",), show_default=True,
              type=click.Choice(["read", "file", "act"]),
              help="What it may do (repeat for several): read = GET calls only; file = "
                   "also file requests, post messages, manage webhooks; act = also "
                   "lifecycle actions and item decisions.")
@click.option("--days", type=int, default=None,
              help="Days until it expires (default PORTAL_API_TOKEN_DAYS, 90; at most "
                   "PORTAL_API_TOKEN_MAX_DAYS, 365).")
def create_token(email: str, name: str, scopes: tuple[str, ...], days: int | None) -> None:
    """Create an API token for EMAIL; it is printed once and stored only as a hash."""
    from portal.extensions import db
    from portal.models import User
    from portal.services import tokens

    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {email}")
    with service_errors():
        row, token = tokens.create_token(user, name, scopes=scopes, days=days)
    click.echo(f"token {row.id} ({row.name}) for {user.email}, scopes: {row.scopes}, "
               f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC; keep it now, it is not "
               f"shown again:\n{token}")


@tokens_cli.command("list")
@click.argument("email")
def list_tokens(email: str) -> None:
    """List the API tokens of EMAIL: scopes, expiry, last use, and whether revoked."""
    from portal.extensions import db
    from portal.models import User
    from portal.models.columns import utcnow
    from portal.services import tokens

    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {email}")
    now = utcnow()
    rows = tokens.tokens_of(user.id)
    if not rows:
        click.echo(f"{user.email} has no API tokens")
    for row in rows:
        if row.revoked_at is not None:
            state = f"revoked {row.revoked_at:%Y-%m-%d}"
        elif row.expires_at <= now:
            state = f"expired {row.expires_at:%Y-%m-%d}"
        else:
            state = f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
        click.echo(f"{row.id}\t{row.prefix}…\t{row.name}\tscopes: {row.scopes}\t"
                   f"created {row.created_at:%Y-%m-%d}\t{state}\tlast used {used}")


@tokens_cli.command("revoke")
@click.argument("email")
@click.argument("token_id", type=int)
def revoke_token(email: str, token_id: int) -> None:
    """Revoke token TOKEN_ID of EMAIL."""
    from portal.extensions import db
    from portal.models import User
    from portal.services import tokens

    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no user {email}")
    with service_errors():
        tokens.revoke(user.id, token_id)
    click.echo(f"token {token_id} revoked")


webhooks_cli = AppGroup("webhooks", help="Agencies' webhooks.")


@webhooks_cli.command("rotate-secrets")
def rotate_webhook_secrets() -> None:
    """Re-encrypt every webhook secret with the current WEBHOOK_SECRET_KEY (the old key
    must still be listed in WEBHOOK_SECRET_OLD_KEYS); see docs/SECURITY.md."""
    from portal import secret_box
    from portal.services import webhooks

    try:
        count = webhooks.reseal_secrets()
    except secret_box.SecretUnreadable as exc:
        raise click.ClickException(f"{exc}; nothing was changed (is the old key in "
                                   "WEBHOOK_SECRET_OLD_KEYS?)") from None
    click.echo(f"re-encrypted {count} webhook secret(s) with the current key")


sla_cli = AppGroup("sla", help="SLA policies and clocks.")


@sla_cli.command("load-defaults")
def load_default_policies() -> None:
    """Add the default policies that are missing (existing ones are left as edited)."""
    from portal.services import clocks
    from portal.services.transaction import transaction

    with transaction():
        added = clocks.load_defaults()
    click.echo(f"added {len(added)} default policies" + (": " + ", ".join(added) if added
                                                          else " (all present)"))


@sla_cli.command("policies")
def list_policies() -> None:
    """List the policies in the order they are matched: when each is in force (by the time
    of receipt), what it matches, its deadlines with their pause rules, and its source."""
    from portal.extensions import db
    from portal.models import SlaPolicy

    rows = db.session.scalars(sa.select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id))
    for row in rows:
        where = ",".join(row.jurisdictions) if row.jurisdictions else "any"
        what = ",".join(row.categories) if row.categories else "any"
        if row.exclude_categories:
            what += " except " + ",".join(row.exclude_categories)
        prio = ",".join(row.priorities) if row.priorities else "any"
        rules = "; ".join(
            f"{target} {_duration(rule)} {rule['kind']}, pause {rule.get('resume', 'extend')}"
            + (", force majeure pauses" if rule.get("force_majeure") else "")
            for target, rule in row.targets.items()
        )
        state = "" if row.active else " [inactive]"
        citation = ", ".join(part for part in (row.instrument, row.article) if part)
        click.echo(
            f"{row.code}{state} ({row.basis}): {row.name}\n"
            f"  in force: {_validity(row.valid_from, row.valid_to)}\n"
            f"  when: jurisdiction {where}; category {what}; priority {prio}"
            + (f"; actions {','.join(row.actions)}" if row.actions else "") + "\n"
            f"  deadlines: {rules}\n"
            + (f"  calendar: holidays {','.join(row.holiday_categories or ['public'])}"
               + (f", region {row.calendar_subdivision}" if row.calendar_subdivision else "")
               + "\n" if any(r["kind"] != "elapsed" for r in row.targets.values()) else "")
            + (f"  instrument: {citation}\n" if citation else "")
            + f"  source: {row.source}"
            + (f" <{row.source_url}>" if row.source_url else ""))


def _validity(start: datetime | None, end: datetime | None) -> str:
    """When a policy applies, by the time of receipt (UTC; ``end`` not included)."""
    def at(when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    if start and end:
        return f"received from {at(start)} until {at(end)}"
    if start:
        return f"received from {at(start)}"
    if end:
        return f"received before {at(end)}"
    return "always"


def _duration(rule: dict[str, object]) -> str:
    seconds = int(str(rule["seconds"]))
    if rule["kind"] == "end_of_day":
        return f"end of day (cut-off {rule.get('cutoff')})"
    if rule["kind"] == "business":
        return f"{seconds / 28800:g} business day(s)"
    if rule["kind"] == "working_days_after":
        return f"{seconds // 86400} working day(s) after the day of receipt"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


@sla_cli.command("sweep")
@click.option("--batch", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="Requests per transaction.")
@click.option("--now", "at", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z"]), default=None,
              help="Sweep as of this aware time (replaying a period), e.g. "
              "2026-11-18T12:00:00+0000.")
def sweep_once(batch: int, at: datetime | None) -> None:
    """One pass: fire every threshold crossed by now, and alert on every deferred user
    notice that has ended."""
    from portal.services import alerts

    result = alerts.sweep(at, batch=batch)
    click.echo(f"fired {result.alerts} alerts on {result.requests} requests, queued "
               f"{result.notifications} notifications; {result.skipped_busy} busy, left "
               "for the next pass")
    notices = alerts.sweep_notices(at, batch=batch)
    click.echo(f"deferred notices ended: {notices.ended} items on {notices.requests} "
               f"requests, queued {notices.notifications} notifications; "
               f"{notices.skipped_busy} busy, left for the next pass")


@click.command("worker")
@click.option("--interval", type=click.FloatRange(min=0.01), default=None,
              help="Seconds between passes (default: WORKER_INTERVAL).")
@click.option("--max-backoff", type=click.FloatRange(min=0.01), default=None,
              help="Longest wait after failed passes in a row (default: WORKER_MAX_BACKOFF).")
@click.option("--once", is_flag=True, help="Run one pass and exit (status 1 if it failed).")
def worker(interval: float | None, max_backoff: float | None, once: bool) -> None:
    """Sweep SLA clocks, deliver the outbox and close requests after the dispute window,
    in a loop. A failed pass (the database away) is logged and retried with a growing
    wait; SIGTERM or Ctrl-C stops it between passes."""
    from flask import current_app

    from portal import worker as loop

    config = current_app.config
    ok = loop.run(
        interval=interval if interval is not None else float(config["WORKER_INTERVAL"]),
        max_backoff=(max_backoff if max_backoff is not None
                     else float(config["WORKER_MAX_BACKOFF"])),
        once=once, echo=click.echo,
    )
    if once and not ok:
        raise click.ClickException("the pass failed (see the log line above)")


@click.command("check")
def check() -> None:
    """Check the settings and reach every dependency (database, schema, Redis, SMTP, the
    document store, the workers' heartbeats), one line each; exit 1 if any failed.

    Settings that stop the portal (a missing SECRET_KEY, DATABASE_URL ...) stop this
    command too, with the error naming the variable.
    """
    from portal.services import readiness

    results = [*readiness.settings(), readiness.database()]
    schema_ok = False
    if results[-1].ok:
        results.append(readiness.schema())
        schema_ok = results[-1].ok
    results.append(readiness.rate_limit_storage(strict=True))
    results.append(readiness.smtp())
    results.append(readiness.document_store())
    if schema_ok:
        # Before the first worker starts (a new release) there is no heartbeat: a warning.
        found = readiness.worker()
        results.append(found if found.ok else
                       readiness.Check(found.name, "degraded", found.detail))
        results.append(readiness.outbox())
    marks = {"ok": "ok  ", "degraded": "WARN", "fail": "FAIL"}
    for result in results:
        click.echo(f"{marks[result.status]}  {result.name}: {result.detail}")
    failed = [r.name for r in results if r.status == "fail"]
    if failed:
        click.echo(f"check: {len(failed)} failed ({', '.join(failed)})", err=True)
        sys.exit(1)
    click.echo("check: every dependency answered")
