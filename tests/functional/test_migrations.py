"""The migrations build the schema the models describe, on this run's database."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db
from portal.models import search_index


def test_upgrade_to_head_creates_every_table(app):
    names = set(sa.inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= names
    assert "alembic_version" in names


def test_models_and_migrations_do_not_drift(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True,
                        "include_name": search_index.include_name}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == []
