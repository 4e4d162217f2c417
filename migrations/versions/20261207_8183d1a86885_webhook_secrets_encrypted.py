"""webhook secrets encrypted at rest; delivery errors as categories

Revision ID: 8183d1a86885
Revises: 16d1f39c0e97
Create Date: 2026-12-07 09:30:00.000000

Upgrade encrypts every stored webhook secret with the configured key (WEBHOOK_SECRET_KEY,
or one derived from SECRET_KEY: portal/secret_box.py) into the new column
``secret_encrypted`` and drops the plain ``secret``; downgrade decrypts them back. Run
both with the same keys the application uses.

Upgrade also rewrites the delivery errors kept so far, which held exception text
(internal addresses, ports, resolver messages) that GET /api/v1/webhooks showed to the
agency, into the categories recorded from now on; the old text is not kept (downgrade
leaves the categories).
"""
from alembic import op
import sqlalchemy as sa
from flask import current_app

from portal import secret_box


# revision identifiers, used by Alembic.
revision = '8183d1a86885'
down_revision = '16d1f39c0e97'
branch_labels = None
depends_on = None

webhooks = sa.table(
    'webhooks',
    sa.column('id', sa.Integer()),
    sa.column('secret', sa.String(64)),
    sa.column('secret_encrypted', sa.String(255)),
)
deliveries = sa.table(
    'webhook_deliveries',
    sa.column('id', sa.Integer()),
    sa.column('status_code', sa.Integer()),
    sa.column('error', sa.String(500)),
)


def _category(status_code, error):
    """The category an old delivery error falls into (webhook_transport.Failure)."""
    if status_code is not None:
        if 300 <= status_code < 400:
            return 'redirect refused'
        if 400 <= status_code < 500:
            return 'HTTP 4xx'
        if 500 <= status_code < 600:
            return 'HTTP 5xx'
    text = error.lower()
    if 'non-public address' in text or 'does not resolve' in text or 'not an http' in text:
        return 'refused'
    if 'timed out' in text or 'timeout' in text:
        return 'timeout'
    return 'connection failed'


def _add_required_column(name, length):
    """Add a NOT NULL string column to ``webhooks``, to be filled by the caller.

    Not through batch mode on SQLite: it rebuilds the table, and dropping the old
    ``webhooks`` fails its foreign keys once ``webhook_deliveries`` has rows (SQLite
    >= 3.35 alters columns in place). SQLite cannot make a column NOT NULL later, so
    there it comes with an empty default, replaced below.
    """
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"ALTER TABLE webhooks ADD COLUMN {name} VARCHAR({length}) "
                   "NOT NULL DEFAULT ''")
    else:
        op.add_column('webhooks', sa.Column(name, sa.String(length=length), nullable=True))


def _finish(added, length, dropped):
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"ALTER TABLE webhooks DROP COLUMN {dropped}")
    else:
        op.alter_column('webhooks', added, existing_type=sa.String(length=length),
                        nullable=False)
        op.drop_column('webhooks', dropped)


def upgrade():
    config = current_app.config
    conn = op.get_bind()
    _add_required_column('secret_encrypted', 255)
    for row in conn.execute(sa.select(webhooks.c.id, webhooks.c.secret)).all():
        conn.execute(webhooks.update().where(webhooks.c.id == row.id).values(
            secret_encrypted=secret_box.seal(row.secret, config)))
    _finish('secret_encrypted', 255, 'secret')

    rows = conn.execute(sa.select(deliveries.c.id, deliveries.c.status_code,
                                  deliveries.c.error)
                        .where(deliveries.c.error.is_not(None))).all()
    for row in rows:
        category = _category(row.status_code, row.error)
        if category != row.error:
            conn.execute(deliveries.update().where(deliveries.c.id == row.id)
                         .values(error=category))


def downgrade():
    config = current_app.config
    conn = op.get_bind()
    _add_required_column('secret', 64)
    for row in conn.execute(sa.select(webhooks.c.id, webhooks.c.secret_encrypted)).all():
        conn.execute(webhooks.update().where(webhooks.c.id == row.id).values(
            secret=secret_box.unseal(row.secret_encrypted, config)))
    _finish('secret', 64, 'secret_encrypted')
