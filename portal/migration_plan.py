"""What a downgrade would drop, read from the migrations themselves, and ``flask db
downgrade`` made forward-only in production.

Downgrading past a migration runs its ``downgrade()``: past the two-factor migration that
wiped every risk flag and network, and ``db downgrade base`` dropped every table, without
a question. Now the command first lists, migration by migration, the tables and columns
each downgrade drops (found in its code: ``op.drop_table``, ``op.drop_column``,
``batch_op.drop_column`` inside ``op.batch_alter_table``) and the SQL it runs; in
production it stops there unless ``--force`` is given.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import click
import sqlalchemy as sa
from alembic.script import Script, ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext


@dataclass
class Undone:
    """One migration a downgrade would undo, and what its ``downgrade()`` drops."""

    revision: str
    message: str
    drops: list[str] = field(default_factory=list)


def _text(node: ast.expr | None) -> str:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else "?"


def drops_of(path: Path) -> list[str]:
    """The tables, columns and SQL statements a migration file's ``downgrade()`` drops
    or runs, in order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    function = next((n for n in tree.body if isinstance(n, ast.FunctionDef)
                     and n.name == "downgrade"), None)
    if function is None:
        return []
    found: list[str] = []

    def visit(nodes: list[ast.stmt], table: str | None) -> None:
        for node in nodes:
            if isinstance(node, ast.With):
                inner = table
                for item in node.items:
                    call = item.context_expr
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr == "batch_alter_table" and call.args):
                        inner = _text(call.args[0])
                visit(node.body, inner)
                continue
            for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
                if not isinstance(call.func, ast.Attribute):
                    continue
                name, args = call.func.attr, call.args
                if name == "drop_table" and args:
                    found.append(f"table {_text(args[0])} (every row in it)")
                elif name == "drop_column" and len(args) >= 2:
                    found.append(f"column {_text(args[0])}.{_text(args[1])}")
                elif name == "drop_column" and args:
                    found.append(f"column {table or '?'}.{_text(args[0])}")
                elif name == "execute" and args:
                    sql = " ".join(_text(args[0]).split())
                    if sql.upper().startswith(("DELETE", "UPDATE", "DROP", "TRUNCATE")):
                        found.append(f"SQL: {sql[:120]}")

    visit(function.body, None)
    return found


def plan(script: ScriptDirectory, current: str | None, target: str) -> list[Undone]:
    """The migrations from ``current`` down to (not including) ``target``: a revision, a
    relative ``-N`` or ``base``.

    Raises:
        click.ClickException: the target is not below the current revision.
    """
    if current is None:
        return []
    if target.startswith("-") and target[1:].isdigit():
        steps = int(target[1:])
        chain = list(script.iterate_revisions(current, "base"))
        undone = chain[:steps]
    else:
        lower = None if target == "base" else target
        try:
            undone = list(script.iterate_revisions(current, lower or "base"))
        except Exception as exc:  # noqa: BLE001 - alembic's errors vary by case
            raise click.ClickException(f"cannot downgrade from {current} to {target}: "
                                       f"{exc}") from None
        if lower is not None:
            undone = [r for r in undone if r.revision != lower]
    result = []
    for revision in undone:
        assert isinstance(revision, Script)
        result.append(Undone(revision.revision, revision.doc.strip().splitlines()[0]
                             if revision.doc else "", drops_of(Path(revision.path))))
    return result


@click.command("downgrade")
@click.option("-d", "--directory", default=None, help="Migration script directory.")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
@click.option("--tag", default=None, help="Arbitrary tag for env.py.")
@click.option("-x", "--x-arg", multiple=True, help="Arguments for env.py.")
@click.option("--force", is_flag=True,
              help="Downgrade in production, dropping what is listed (take a backup first).")
@click.argument("revision", default="-1")
@with_appcontext
def forward_only_downgrade(directory: str | None, sql: bool, tag: str | None,
                           x_arg: tuple[str, ...], force: bool, revision: str) -> None:
    """Revert to a previous version, after listing what it drops (production: only with
    --force)."""
    import flask_migrate

    from portal.extensions import db

    migrate = current_app.extensions["migrate"].migrate
    script = ScriptDirectory.from_config(migrate.get_config(directory))
    current = None
    with db.engine.connect() as conn:
        if sa.inspect(conn).has_table("alembic_version"):
            current = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    undone = plan(script, current, revision)
    if not undone:
        click.echo(f"nothing to downgrade from {current or 'an empty database'} to {revision}")
        return
    click.echo(f"downgrading from {current} to {revision} undoes {len(undone)} migration(s):")
    for step in undone:
        click.echo(f"  {step.revision} {step.message}")
        for drop in step.drops:
            click.echo(f"      drops {drop}")
    production = current_app.config["ENVIRONMENT"] == "production"
    if production and not force:
        raise click.ClickException(
            "refused: migrations only go forward in production. Take a backup "
            "(docs/OPERATIONS.md, Backups), then run again with --force to drop the above")
    flask_migrate.downgrade(directory, revision, sql, tag, list(x_arg) or None)


def init_app() -> None:
    """Put the forward-only downgrade in place of Flask-Migrate's."""
    from flask_migrate.cli import db as db_group

    db_group.add_command(forward_only_downgrade, "downgrade")
