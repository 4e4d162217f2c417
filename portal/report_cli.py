"""``flask --app wsgi report ...``: the transparency exports from the command line.

The group is the home of every report command (transparency, dsa-orders here; others add
theirs to ``report_cli``). Each command calls the same service as the pages and prints CSV
or JSON to standard output or ``--out``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import click
from flask.cli import AppGroup

from portal.models.columns import utcnow
from portal.services import report_facts
from portal.services.actors import Actor
from portal.services.periods import Period, PeriodError, days, half_year_of, parse_day, parse_period
from workflows.roles import Role

report_cli = AppGroup("report", help="Transparency reports and exports (CSV or JSON).")

#: The reports are the platform's: read as an administrator would.
REPORTER = Actor(user_id=None, role=Role.ADMIN)


def _period(start: str | None, end: str | None, period: str | None) -> Period:
    try:
        if period:
            if start or end:
                raise click.UsageError("give --period, or --from and --to, not both")
            return parse_period(period)
        if bool(start) != bool(end):
            raise click.UsageError("give both --from and --to (or --period, or neither for "
                                   "the current half-year)")
        if start and end:
            return days(parse_day(start, "--from"), parse_day(end, "--to"))
    except PeriodError as exc:
        raise click.BadParameter(str(exc)) from None
    return half_year_of(utcnow())


Writer = Callable[[TextIO], None]


def _write(out: Path | None, write: Writer) -> None:
    if out is None:
        write(sys.stdout)
        return
    with out.open("w", encoding="utf-8", newline="") as stream:
        write(stream)
    click.echo(f"written to {out}", err=True)


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Writer:
    def write(stream: TextIO) -> None:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return write


def _json(body: object) -> Writer:
    def write(stream: TextIO) -> None:
        json.dump(body, stream, ensure_ascii=False, indent=1)
        stream.write("\n")
    return write


@report_cli.command("transparency")
@click.option("--from", "start", metavar="YYYY-MM-DD", help="First day (UTC).")
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Last day, included (UTC).")
@click.option("--period", metavar="2026H1", help="A half-year (or FROM..TO) instead.")
@click.option("--group", default="country", show_default=True,
              help="Comma-separated: country, agency, requester_type, category, "
                   "instrument, priority (empty: totals only).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def transparency_command(start: str | None, end: str | None, period: str | None, group: str,
                         fmt: str, out: Path | None) -> None:
    """The transparency report of a period (the current half-year by default)."""
    from portal.services import transparency

    chosen = _period(start, end, period)
    try:
        groups = transparency.parse_groups(group)
    except transparency.GroupError as exc:
        raise click.BadParameter(str(exc), param_hint="--group") from None
    report = transparency.transparency_report(REPORTER, chosen, groups)
    if fmt == "json":
        _write(out, _json(report.as_dict()))
    else:
        _write(out, _csv(transparency.csv_header(report), transparency.csv_rows(report)))


@report_cli.command("dsa-orders")
@click.option("--period", metavar="2026H1", help="The half-year (default: the current one).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def dsa_orders_command(period: str | None, out: Path | None) -> None:
    """The DSA Art. 15(1)(a) orders table of a half-year, as CSV in the template's
    column order."""
    from portal.services import dsa_orders
    from portal.services.periods import parse_half_year

    try:
        chosen = parse_half_year(period) if period else half_year_of(utcnow())
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    rows = dsa_orders.orders_table(REPORTER, chosen)
    _write(out, _csv(dsa_orders.COLUMNS, dsa_orders.csv_rows(chosen, rows)))


@report_cli.command("refresh-facts")
@click.option("--since", "since", required=True,
              help="Count again the facts of every request changed from this day or time "
                   "(ISO 8601, UTC), e.g. when the migration that made them ran.")
def refresh_facts_command(since: str) -> None:
    """Count the reports' facts again from the requests' rows.

    The facts are kept by every change the portal makes; a change made by the previous
    release while the migration that made them ran (it keeps serving during a release)
    is counted by this command, run once after the restart.
    """
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        raise click.BadParameter(f"{since!r} is not a day or time in ISO 8601 form "
                                 "(2026-12-07 or 2026-12-07T10:00)", param_hint="--since") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    read, changed = report_facts.refresh_since(moment)
    click.echo(f"{read} requests changed since {moment.isoformat()}; "
               f"{changed} had facts to correct")
