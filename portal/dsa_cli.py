"""Command line for publication: ``flask --app wsgi report dsa-sor|dsa-submit|lumen``.

The commands are plain click commands (:data:`COMMANDS`), attached here to a ``report``
group; another module may attach them to its own ``report`` group instead.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from portal.cli import service_errors
from portal.models.columns import utcnow
from portal.services import dsa_statements, lumen
from portal.services.actors import Actor
from workflows import dsa
from workflows.roles import Role

report_cli = AppGroup("report", help="Reports and publication.")

#: The command line acts as the platform's staff (it runs on the servers).
OPERATOR = Actor(user_id=None, role=Role.ADMIN)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date: write YYYY-MM-DD, e.g. 2026-01-01",
                                 param_hint=option) from None


def _period(since: str, until: str | None) -> tuple[datetime, datetime | None]:
    start = dsa_statements.day_start(_day(since, "--since"))
    end = dsa_statements.day_start(_day(until, "--until")) if until else None
    if end is not None and end <= start:
        raise click.BadParameter("must be after --since", param_hint="--until")
    return start, end


def _stream(period: tuple[datetime, datetime | None],
            refused: list[dsa_statements.Refusal]) -> Iterator[dict[str, Any]]:
    settings = dsa_statements.settings_of(current_app.config)
    since, until = period
    return dsa_statements.stream(OPERATOR, settings, refused, since=since, until=until)


def _report_refused(refused: list[dsa_statements.Refusal], written: int) -> None:
    for refusal in refused:
        click.echo(f"refused {refusal.reference} item {refusal.position} ({refusal.puid}): "
                   f"{refusal.field}: {refusal.message}", err=True)
    click.echo(f"{written} statement(s), {len(refused)} problem(s)", err=True)


def _line(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n"


@click.command("dsa-sor")
@click.option("--since", required=True, help="First day (UTC) effect was given, YYYY-MM-DD.")
@click.option("--until", default=None, help="Day after the last one, YYYY-MM-DD.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output.")
@click.option("--batch", is_flag=True,
              help="Write call bodies of at most 100 statements ({\"statements\": [...]}), "
                   "one per line, instead of one statement per line.")
@with_appcontext
def dsa_sor(since: str, until: str | None, out: str | None, batch: bool) -> None:
    """DSA statements of reasons for items acted on since a day, as JSON lines.

    Every statement is checked against portal/schemas/dsa_statement.schema.json; items
    that cannot give a valid one are listed on standard error with the field, and the
    exit status is 1 when there are any. Statements are written as they are read.
    """
    period = _period(since, until)
    refused: list[dsa_statements.Refusal] = []
    written = 0
    with contextlib.ExitStack() as stack:
        target: TextIO = (stack.enter_context(open(out, "w", encoding="utf-8"))
                          if out else sys.stdout)
        with service_errors():
            statements = _stream(period, refused)
            if batch:
                for body in dsa.batches(statements):
                    target.write(_line(body))
                    written += len(body["statements"])
            else:
                for statement in statements:
                    target.write(_line(statement))
                    written += 1
    _report_refused(refused, written)
    if refused:
        sys.exit(1)


@click.command("dsa-submit")
@click.option("--since", required=True, help="First day (UTC) effect was given, YYYY-MM-DD.")
@click.option("--until", default=None, help="Day after the last one, YYYY-MM-DD.")
@with_appcontext
def dsa_submit(since: str, until: str | None) -> None:
    """Submit the statements since a day to the Transparency Database, 100 per call.

    Needs DSA_SUBMIT_URL and DSA_SUBMIT_TOKEN (docs/OPERATIONS.md). Every statement is
    checked first: nothing is sent if any item fails the schema.
    """
    with service_errors():
        endpoint = dsa_statements.endpoint_of(current_app.config)
    period = _period(since, until)
    refused: list[dsa_statements.Refusal] = []
    with service_errors():
        count = sum(1 for _statement in _stream(period, refused))
    if refused:
        _report_refused(refused, count)
        raise click.ClickException("nothing was submitted: fix the refused items first")
    # Read again as the calls go (constant memory); an item refused now was changed since
    # the check above, and stops the submission before the call that would hold it.
    late: list[dsa_statements.Refusal] = []

    def checked() -> Iterator[dict[str, Any]]:
        for statement in _stream(period, late):
            if late:
                break
            yield statement
        if late:
            _report_refused(late, count)
            raise click.ClickException("an item changed while submitting; the calls before "
                                       "it were accepted: fix it and submit again")

    with service_errors():
        statuses = dsa_statements.submit(endpoint, dsa.batches(checked()))
    click.echo(f"submitted {count} statement(s) in {len(statuses)} call(s)")


@click.command("lumen")
@click.argument("reference")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output.")
@with_appcontext
def lumen_notice(reference: str, out: str | None) -> None:
    """The Lumen-style notice of request REFERENCE, as a reviewer published it."""
    now: datetime = utcnow()
    with service_errors():
        publication = lumen.latest(OPERATOR, reference, now=now)
    text = json.dumps(publication.notice, ensure_ascii=False, indent=2) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


COMMANDS = (dsa_sor, dsa_submit, lumen_notice)
for _command in COMMANDS:
    report_cli.add_command(_command)


def init_app(app: Flask) -> None:
    """Register the ``report`` group (or add these commands to one already there)."""
    existing = app.cli.commands.get("report")
    if isinstance(existing, click.Group):
        for command in COMMANDS:
            existing.add_command(command)
    else:
        app.cli.add_command(report_cli)
